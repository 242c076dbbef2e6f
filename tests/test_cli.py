"""The command line: init, create-admin, seed-demo."""

from __future__ import annotations

import sqlalchemy as sa

from lms.db import db
from lms.models import Person, Role, Unit
from tests.conftest import count_rows


def test_init_is_idempotent(runner):
    result = runner.invoke(args=["lms", "init"])
    assert result.exit_code == 0, result.output
    assert "Cơ sở dữ liệu đã sẵn sàng" in result.output


def test_seed_demo_builds_a_tree_and_accounts_once(runner, client):
    result = runner.invoke(args=["lms", "seed-demo"])
    assert result.exit_code == 0, result.output
    assert "quantri@demo.stp.vn" in result.output and "Demo@" in result.output
    units, people = count_rows(Unit), count_rows(Person)
    assert units >= 10 and people >= 10
    again = runner.invoke(args=["lms", "seed-demo"])
    assert again.exit_code == 0 and (count_rows(Unit), count_rows(Person)) == (units, people)
    from lms.demo import DEMO_PASSWORD

    response = client.post("/login", data={"email": "donvi.vuthu@demo.stp.vn", "password": DEMO_PASSWORD})
    assert response.status_code == 302
    listing = client.get("/admin/people/").get_data(as_text=True)
    assert "Phạm Thị Lan" in listing  # in a commune under Vũ Thư
    assert "Vũ Quốc Khánh" not in listing  # Kiến Xương is outside the scope


def test_create_admin(runner, client):
    result = runner.invoke(args=["lms", "create-admin", "--email", "Boss@Example.vn", "--name", "Trần Quản Trị",
                                 "--password", "Quản-Trị-Viên-Mạnh-1"])
    assert result.exit_code == 0, result.output
    person = db.session.scalar(sa.select(Person).where(Person.email_key == "boss@example.vn"))
    assert person.has_role(Role.ADMIN) and person.current_unit.code == "ROOT"
    assert client.post("/login", data={"email": "boss@example.vn", "password": "Quản-Trị-Viên-Mạnh-1"}).status_code == 302


def test_create_admin_bad_input(runner):
    weak = runner.invoke(args=["lms", "create-admin", "--email", "a@example.vn", "--name", "Ai Đó",
                               "--password", "123456"])
    assert weak.exit_code != 0 and "Mật khẩu phải có ít nhất" in weak.output
    bad = runner.invoke(args=["lms", "create-admin", "--email", "nope", "--name", "<b>x</b>",
                              "--password", "Quản-Trị-Viên-Mạnh-1"])
    assert bad.exit_code != 0
    unknown = runner.invoke(args=["lms", "create-admin", "--email", "a@example.vn", "--name", "Ai Đó",
                                  "--unit", "NOPE", "--password", "Quản-Trị-Viên-Mạnh-1"])
    assert unknown.exit_code != 0 and "NOPE" in unknown.output
    assert count_rows(Person) == 0
