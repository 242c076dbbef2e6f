"""Roster import screens: upload → preview → confirm or discard; who may do it; hostile files."""

from __future__ import annotations

import io
import re
from datetime import timedelta

import openpyxl
import pytest
import sqlalchemy as sa

from lms.actors import SYSTEM
from lms.db import db, utcnow
from lms.models import (
    AuditEntry,
    ImportBatch,
    ImportStatus,
    Job,
    JobStatus,
    KeyCadrePeriod,
    Membership,
    Person,
    RoleAssignment,
)
from lms.services import people, units
from lms.timeutil import local_day
from tests.conftest import TEST_PASSWORD, count_rows
from tests.test_roster_import import csv_bytes, encrypted_bytes, million_row_workbook, png_bytes, row, xlsx_bytes


@pytest.fixture
def tree(make_unit):
    root = make_unit(name="Sở Tư pháp", code="STP", kind="department")
    u1 = make_unit(name="Phòng Phổ biến", code="U1", parent=root)
    u2 = make_unit(name="Phòng Hành chính", code="U2", parent=root)
    return {"root": root, "u1": u1, "u2": u2}


@pytest.fixture
def admin(make_person, tree, auth):
    person = make_person(name="Quản Trị", email="admin@example.vn", unit=tree["root"], roles=("admin",))
    auth.login("admin@example.vn")
    return person


def upload(client, content, filename="danh-sach.xlsx"):
    return client.post("/admin/import/", data={"file": (io.BytesIO(content), filename)},
                       content_type="multipart/form-data")


def token_of(response) -> str:
    match = re.search(r'/admin/import/([A-Za-z0-9_-]{20,})/confirm', response.get_data(as_text=True))
    assert match, "no confirm form on the page"
    return match.group(1)


def snapshot():
    return {model.__name__: count_rows(model)
            for model in (Person, Membership, KeyCadrePeriod, RoleAssignment, AuditEntry)}


def test_upload_page_links_the_template(client, admin):
    page = client.get("/admin/import/")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert 'href="/admin/import/template.xlsx"' in html and 'enctype="multipart/form-data"' in html


def test_only_people_managers_may_import(client, auth, make_person, tree):
    assert client.get("/admin/import/").status_code == 302  # to the login page
    make_person(email="trainee@example.vn", unit=tree["u1"])
    auth.login("trainee@example.vn")
    assert client.get("/admin/import/").status_code == 403
    assert client.get("/admin/import/template.xlsx").status_code == 403
    assert upload(client, csv_bytes([row()])).status_code == 403


def test_template_download(client, admin):
    response = client.get("/admin/import/template.xlsx")
    assert response.status_code == 200
    assert response.mimetype == "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    assert "attachment" in response.headers["Content-Disposition"]
    book = openpyxl.load_workbook(io.BytesIO(response.data))
    assert book["Danh sách"]["A1"].value == "Họ và tên"
    codes = {book["Danh mục"].cell(row=r, column=1).value for r in range(2, 10)} - {None}
    assert codes == {"STP", "U1", "U2"}


def test_good_file_preview_then_confirm(client, admin):
    content = xlsx_bytes([row("Nguyễn Văn An", "an@example.vn", "U1", key="Có"),
                          row("Trần Thị Bình", "binh@example.vn", "U2")])
    response = upload(client, content)
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert "Nguyễn Văn An" in html and "Tạo mới" in html
    assert people.find_by_email(db.session, "an@example.vn") is None  # nothing written yet
    token = token_of(response)
    batch = db.session.scalar(sa.select(ImportBatch).where(ImportBatch.token == token))
    assert batch.status == ImportStatus.PENDING and batch.actor_id == admin.id and batch.content == content

    assert client.get(f"/admin/import/{token}").status_code == 200  # the preview can be reopened

    response = client.post(f"/admin/import/{token}/confirm", data={"password": TEST_PASSWORD})
    # the import runs as a background job (at once in the tests); its page shows the result
    assert response.status_code == 302 and "/jobs/" in response.headers["Location"]
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "Đã xong" in page and "Đã nhập: 2 mới, 0 cập nhật, 0 không đổi." in page
    assert 'href="/admin/people/"' in page
    job = db.session.scalar(sa.select(Job))
    assert job.status == JobStatus.DONE and job.actor_id == admin.id
    assert "_password_hash" not in job.params  # the password's hash is not kept
    db.session.expire_all()
    an = people.find_by_email(db.session, "an@example.vn")
    assert an.is_key_cadre and an.must_change_password and an.current_unit.code == "U1"
    assert db.session.scalar(sa.select(AuditEntry).where(AuditEntry.action == "roster.import")).actor_id == admin.id

    # The same batch cannot be applied twice.
    snap = snapshot()
    again = client.post(f"/admin/import/{token}/confirm", data={"password": TEST_PASSWORD})
    assert again.status_code == 409
    assert "đã được nhập rồi" in again.get_data(as_text=True)
    assert snapshot() == snap


def test_csv_upload_updates_existing_person(client, admin, make_person, tree):
    existing = make_person(name="Người Cũ", email="Cu@Example.vn", unit=tree["u1"])
    response = upload(client, csv_bytes([row("Người Mới", "cu@example.vn", "U2")]), "ds.csv")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert "Cập nhật" in html and "U1 → U2" in html
    # No new accounts: no password needed.
    response = client.post(f"/admin/import/{token_of(response)}/confirm", data={})
    assert response.status_code == 302
    db.session.expire_all()
    person = db.session.get(Person, existing.id)
    assert person.full_name == "Người Mới" and person.current_unit.code == "U2"


def test_row_problems_give_422_and_store_nothing(client, admin):
    content = csv_bytes([row("Người Tốt", "good@example.vn"), row("<script>alert(1)</script>", "x@example.vn"),
                         row("Người Lạ", "la@example.vn", "KHONGCO")])
    response = upload(client, content)
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert "<script>alert(1)</script>" not in html and "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "Họ và tên chỉ được gồm chữ cái" in html
    assert "Không có đơn vị nào có mã “KHONGCO”." in html
    assert "/confirm" not in html
    assert count_rows(ImportBatch) == 0


@pytest.mark.parametrize("content, message", [
    (b"", "Tệp rỗng"),
    (png_bytes(), "không phải là bảng tính"),
    (encrypted_bytes(), "Tệp được mã hóa/đặt mật khẩu"),
    (xlsx_bytes([row()], formulas=[(1, 0, "=A1")]), "Tệp có chứa công thức"),
    (million_row_workbook(), "Tệp có quá nhiều dòng"),
    (csv_bytes([["An", "an@example.vn"]], headers=["Họ và tên", "Email"]), "Thiếu cột bắt buộc: “Mã đơn vị”"),
])
def test_unusable_files_get_a_clear_message(client, admin, content, message):
    response = upload(client, content)
    assert response.status_code == 422
    assert message in response.get_data(as_text=True)
    assert count_rows(ImportBatch) == 0


def test_too_big_file(app_factory, make_person, tree):
    small = app_factory(LMS_IMPORT_MAX_MB=1)
    make_person(email="admin@example.vn", unit=tree["root"], roles=("admin",))
    client = small.test_client()
    client.post("/login", data={"email": "admin@example.vn", "password": TEST_PASSWORD})
    response = upload(client, b"a,b,c\n" * 200_000)
    assert response.status_code == 422
    assert "Tệp quá lớn: tối đa 1 MB." in response.get_data(as_text=True)


def test_missing_file(client, admin):
    response = client.post("/admin/import/", data={}, content_type="multipart/form-data")
    assert response.status_code == 422
    assert "Vui lòng chọn tệp danh sách để tải lên." in response.get_data(as_text=True)


def test_file_name_is_cleaned(client, admin):
    response = upload(client, csv_bytes([row()]), "..\\..\\" + "ả" * 300 + "\u202e.csv")
    assert response.status_code == 200
    batch = db.session.scalar(sa.select(ImportBatch))
    assert "\\" not in batch.filename and "\u202e" not in batch.filename and len(batch.filename) <= 120


def test_weak_password_keeps_the_batch_for_another_try(client, admin):
    response = upload(client, csv_bytes([row("Nguyễn Văn An", "an@example.vn")]))
    token = token_of(response)
    snap = snapshot()
    response = client.post(f"/admin/import/{token}/confirm", data={"password": "12345678"})
    assert response.status_code == 422
    assert "Mật khẩu" in response.get_data(as_text=True)
    assert snapshot() == snap
    response = client.post(f"/admin/import/{token}/confirm", data={"password": ""})
    assert response.status_code == 422 and "Vui lòng nhập mật khẩu ban đầu." in response.get_data(as_text=True)
    response = client.post(f"/admin/import/{token}/confirm", data={"password": TEST_PASSWORD})
    assert response.status_code == 302
    assert people.find_by_email(db.session, "an@example.vn") is not None


def test_confirm_decision_and_its_errors_come_before_the_rows(client, admin):
    """Thousands of rows may follow: the summary, the password, the buttons and a failed
    submit's error sit above the table, and the reason column comes before the person's columns."""
    content = xlsx_bytes([row(f"Người Thứ {chr(65 + n % 26)}{chr(65 + n // 26)}", f"p{n}@example.vn")
                          for n in range(60)])
    token = token_of(upload(client, content))
    response = client.post(f"/admin/import/{token}/confirm", data={"password": ""})
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    table = html.index("<table")
    summary = html.index("Chưa nhập được danh sách:")
    assert html.index("60 tạo mới") < html.index("0 cập nhật") < html.index("0 dòng lỗi") < summary
    assert summary < html.index('class="alert-link" href="#password">Vui lòng nhập mật khẩu ban đầu.</a>') < table
    assert 'role="alert" id="confirm-errors"' in html[:table]
    assert html.index('id="password"') < html.index('id="password-error"') < table
    assert html.index("Nhập 60 dòng") < table and html.index("Hủy danh sách này") < table
    assert html.count("<table") == 1
    head = html[table:html.index("</thead>", table)]
    assert head.index("Dòng") < head.index("Kết quả") < head.index("Thay đổi") < head.index("Họ và tên")
    # The cancel button (outside the confirm form) still discards the batch.
    assert 'form="import-discard"' in html and f'id="import-discard" method="post" action="/admin/import/{token}/discard"' \
        in html


def test_problem_rows_show_the_reason_before_the_person(client, admin):
    content = csv_bytes([row("Người Một", "mot@example.vn"), row("Người Hai", "MOT@example.vn")])
    response = upload(client, content)
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    table = html.index("<table")
    assert html.index("1 dòng lỗi") < html.index("Có 1 dòng bị lỗi") < html.index("Tải lên tệp khác") < table
    head = html[table:html.index("</thead>", table)]
    assert head.index("Lỗi cần sửa") < head.index("Họ và tên")
    body = html[html.index("<tbody>", table):]
    assert body.index("trùng với địa chỉ ở dòng 2") < body.index("MOT@example.vn</td>")


def test_markup_in_free_text_imports_is_escaped_and_exported_as_text(client, admin):
    """A position with < > { } imports (it used to sink the whole file), is stored as written,
    shown escaped, and written as a text cell by the shared spreadsheet writer."""
    positions = {"mot@example.vn": "<b>Trưởng phòng</b>", "hai@example.vn": "{Phó}", "ba@example.vn": "a > b"}
    content = xlsx_bytes([row(name, email, position=position) for name, (email, position)
                          in zip(("Người Một", "Người Hai", "Người Ba"), positions.items(), strict=True)])
    response = upload(client, content)
    assert response.status_code == 200, response.get_data(as_text=True)
    assert "<b>Trưởng phòng</b>" not in response.get_data(as_text=True)
    response = client.post(f"/admin/import/{token_of(response)}/confirm", data={"password": TEST_PASSWORD})
    assert response.status_code == 302 and "Đã xong" in client.get(response.headers["Location"]).get_data(as_text=True)
    db.session.expire_all()
    stored = {email: people.find_by_email(db.session, email) for email in positions}
    assert {email: person.position for email, person in stored.items()} == positions

    page = client.get(f"/admin/people/{stored['mot@example.vn'].id}").get_data(as_text=True)
    assert "<b>Trưởng phòng</b>" not in page and "&lt;b&gt;Trưởng phòng&lt;/b&gt;" in page
    assert "a &gt; b" in client.get(f"/admin/people/{stored['ba@example.vn'].id}").get_data(as_text=True)
    listing = client.get("/admin/people/?q=tr%C6%B0%E1%BB%9Fng+ph%C3%B2ng").get_data(as_text=True)
    assert "Người Một" in listing and "<b>" not in listing

    from lms.spreadsheet import Column, workbook_bytes

    data = workbook_bytes((Column("full_name", "Họ và tên"), Column("position", "Chức vụ")),
                          [(p.full_name, p.position) for p in stored.values()])
    sheet = openpyxl.load_workbook(io.BytesIO(data)).active
    cells = [r for r in sheet.iter_rows(min_row=2) if r[0].value]
    assert [(c[1].value, c[1].data_type) for c in cells] == [(value, "s") for value in positions.values()]


def test_other_users_token_is_not_found(client, admin, auth, make_person, tree):
    token = token_of(upload(client, csv_bytes([row()])))
    auth.logout()
    make_person(email="admin2@example.vn", unit=tree["root"], roles=("admin",))
    auth.login("admin2@example.vn")
    assert client.get(f"/admin/import/{token}").status_code == 404
    assert client.post(f"/admin/import/{token}/confirm", data={"password": TEST_PASSWORD}).status_code == 404
    assert client.post(f"/admin/import/{token}/discard").status_code == 404
    assert client.post("/admin/import/nonexistent-token/confirm", data={}).status_code == 404
    assert people.find_by_email(db.session, "an@example.vn") is None
    assert db.session.scalar(sa.select(ImportBatch)).status == ImportStatus.PENDING


def test_discard(client, admin):
    token = token_of(upload(client, csv_bytes([row()])))
    response = client.post(f"/admin/import/{token}/discard")
    assert response.status_code == 302
    batch = db.session.scalar(sa.select(ImportBatch))
    db.session.refresh(batch)
    assert batch.status == ImportStatus.DISCARDED and batch.content == b""
    response = client.post(f"/admin/import/{token}/confirm", data={"password": TEST_PASSWORD})
    assert response.status_code == 409
    assert people.find_by_email(db.session, "an@example.vn") is None


def test_stale_batch_is_refused(client, admin):
    token = token_of(upload(client, csv_bytes([row()])))
    batch = db.session.scalar(sa.select(ImportBatch))
    batch.created_at = batch.created_at - timedelta(days=2)
    db.session.commit()
    response = client.post(f"/admin/import/{token}/confirm", data={"password": TEST_PASSWORD})
    assert response.status_code == 409 and "quá hạn" in response.get_data(as_text=True)
    assert people.find_by_email(db.session, "an@example.vn") is None


def test_changes_between_preview_and_confirm_are_caught(client, admin, tree):
    token = token_of(upload(client, csv_bytes([row("Người Một", "one@example.vn", "U2"),
                                               row("Người Hai", "two@example.vn", "U1")])))
    units.close_unit(db.session, SYSTEM, tree["u2"], local_day(utcnow()))
    db.session.commit()
    snap = snapshot()
    response = client.post(f"/admin/import/{token}/confirm", data={"password": TEST_PASSWORD})
    assert response.status_code == 422
    assert "đã giải thể hoặc sáp nhập" in response.get_data(as_text=True)
    assert snapshot() == snap


def test_unit_admin_imports_only_into_their_subtree(client, auth, make_person, tree):
    make_person(name="Quản Trị Một", email="boss@example.vn", unit=tree["u1"], roles=("unit_admin",))
    auth.login("boss@example.vn")
    template = openpyxl.load_workbook(io.BytesIO(client.get("/admin/import/template.xlsx").data))
    codes = {template["Danh mục"].cell(row=r, column=1).value for r in range(2, 10)} - {None}
    assert codes == {"U1"}

    response = upload(client, csv_bytes([row("Người Ngoài", "out@example.vn", "U2")]))
    assert response.status_code == 422
    assert "Bạn không có quyền quản lý người của đơn vị “Phòng Hành chính”." in response.get_data(as_text=True)

    response = upload(client, csv_bytes([row("Người Trong", "in@example.vn", "U1")]))
    assert response.status_code == 200
    response = client.post(f"/admin/import/{token_of(response)}/confirm", data={"password": TEST_PASSWORD})
    assert response.status_code == 302
    assert people.find_by_email(db.session, "in@example.vn").current_unit.code == "U1"
