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


def _flask(*args, tmp_path, extra_env=None):
    """``flask --app app ARGS`` as a person types it from the README: no LMS_ENV, no secret."""
    import os
    import subprocess
    import sys
    from pathlib import Path

    root = Path(__file__).resolve().parent.parent
    env = {k: v for k, v in os.environ.items() if k not in ("LMS_ENV", "SECRET_KEY", "DATABASE_URL")}
    env["DATABASE_URL"] = f"sqlite:///{tmp_path / 'cli.sqlite3'}"
    env.update(extra_env or {})
    flask = Path(sys.executable).parent / "flask"
    return subprocess.run([str(flask), "--app", "app", *args], cwd=root, env=env, capture_output=True, text=True,
                          timeout=120)


def test_documented_commands_answer_help_without_any_environment(tmp_path):
    """`flask --app app lms --help` printed a traceback when LMS_ENV and SECRET_KEY were unset."""
    result = _flask("lms", "--help", tmp_path=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr
    for command in ("init", "create-admin", "seed-demo", "import-users", "import-units", "worker"):
        assert command in result.stdout
    result = _flask("db", "--help", tmp_path=tmp_path)
    assert result.returncode == 0 and "upgrade" in result.stdout, result.stderr


def test_init_runs_before_the_secret_is_set_but_the_web_server_does_not(tmp_path):
    result = _flask("lms", "init", tmp_path=tmp_path)
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "cli.sqlite3").exists()
    # serving pages signs cookies: without a secret, production refuses to start
    result = _flask("run", "--port", "0", tmp_path=tmp_path)
    assert result.returncode != 0 and "SECRET_KEY is not set" in result.stderr
