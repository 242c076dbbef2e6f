"""``flask lms import-users FILE``: the roster import from the command line."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from lms.db import db
from lms.models import AuditEntry, KeyCadrePeriod, Membership, Person, Role, RoleAssignment
from lms.services import people
from tests.conftest import TEST_PASSWORD, count_rows
from tests.test_roster_import import csv_bytes, png_bytes, row, xlsx_bytes


@pytest.fixture
def tree(make_unit):
    root = make_unit(name="Sở Tư pháp", code="STP", kind="department")
    u1 = make_unit(name="Phòng Phổ biến", code="U1", parent=root)
    return {"root": root, "u1": u1}


def snapshot():
    return {model.__name__: count_rows(model)
            for model in (Person, Membership, KeyCadrePeriod, RoleAssignment, AuditEntry)}


def write(tmp_path, name, content):
    path = tmp_path / name
    path.write_bytes(content)
    return str(path)


def test_happy_path(runner, tree, tmp_path):
    path = write(tmp_path, "ds.xlsx", xlsx_bytes([
        row("Nguyễn Văn An", "an@example.vn", "U1", key="Có", roles="quản trị hệ thống"),
        row("Trần Thị Bình", "binh@example.vn", "STP"),
    ]))
    result = runner.invoke(args=["lms", "import-users", path, "--initial-password", TEST_PASSWORD])
    assert result.exit_code == 0, result.output
    assert "2 dòng: 2 tạo mới, 0 cập nhật, 0 không đổi." in result.output
    assert "Đã nhập: 2 tạo mới" in result.output
    an = people.find_by_email(db.session, "an@example.vn")
    assert an.role_set == {Role.ADMIN} and an.is_key_cadre and an.must_change_password
    entry = db.session.scalar(sa.select(AuditEntry).where(AuditEntry.action == "roster.import"))
    assert entry.actor_id is None and entry.details["created"] == 2


def test_password_from_the_environment_and_the_prompt(runner, tree, tmp_path):
    path = write(tmp_path, "a.csv", csv_bytes([row("Nguyễn Văn An", "an@example.vn")]))
    result = runner.invoke(args=["lms", "import-users", path], env={"LMS_IMPORT_PASSWORD": TEST_PASSWORD})
    assert result.exit_code == 0, result.output
    path = write(tmp_path, "b.csv", csv_bytes([row("Trần Thị Bình", "binh@example.vn")]))
    result = runner.invoke(args=["lms", "import-users", path], input=f"{TEST_PASSWORD}\n{TEST_PASSWORD}\n")
    assert result.exit_code == 0, result.output
    assert TEST_PASSWORD not in result.output  # the prompt hides it
    assert people.find_by_email(db.session, "binh@example.vn") is not None


def test_dry_run_writes_nothing(runner, tree, tmp_path):
    path = write(tmp_path, "ds.csv", csv_bytes([row()]))
    snap = snapshot()
    result = runner.invoke(args=["lms", "import-users", path, "--dry-run"])
    assert result.exit_code == 0, result.output
    assert "1 dòng: 1 tạo mới" in result.output and "Chạy thử" in result.output
    assert snapshot() == snap


def test_every_problem_is_printed_and_nothing_written(runner, tree, tmp_path, make_person):
    make_person(email="exists@example.vn", unit=tree["u1"])
    path = write(tmp_path, "ds.csv", csv_bytes([
        row("Người Tốt", "good@example.vn"),
        row("Người Có Sẵn", "exists@example.vn", "STP"),
        row("Người Xấu", "khong-hop-le"),
        row("Người Lạ", "la@example.vn", "KHONGCO"),
        row("Người Trùng", "GOOD@example.vn"),
    ]))
    snap = snapshot()
    result = runner.invoke(args=["lms", "import-users", path, "--initial-password", TEST_PASSWORD])
    assert result.exit_code == 1
    assert "Dòng 4: Thư điện tử: Địa chỉ thư điện tử “khong-hop-le” không hợp lệ." in result.output
    assert "Dòng 5: Mã đơn vị: Không có đơn vị nào có mã “KHONGCO”." in result.output
    # The first row with an address stands; the later one names it.
    assert ("Dòng 6: Thư điện tử: Địa chỉ thư điện tử “GOOD@example.vn” trùng với địa chỉ ở dòng 2; mỗi người chỉ "
            "ghi một dòng.") in result.output
    assert "Dòng 2:" not in result.output
    assert "Có 3 dòng lỗi; chưa ghi gì." in result.output
    assert snapshot() == snap
    assert people.find_by_email(db.session, "exists@example.vn").current_unit.code == "U1"


def test_unusable_file_and_weak_password_fail(runner, tree, tmp_path):
    result = runner.invoke(args=["lms", "import-users", write(tmp_path, "x.xlsx", png_bytes()),
                                 "--initial-password", TEST_PASSWORD])
    assert result.exit_code == 1 and "không phải là bảng tính" in result.output
    snap = snapshot()
    result = runner.invoke(args=["lms", "import-users", write(tmp_path, "a.csv", csv_bytes([row()])),
                                 "--initial-password", "123456"])
    assert result.exit_code == 1 and "Mật khẩu" in result.output
    assert snapshot() == snap
