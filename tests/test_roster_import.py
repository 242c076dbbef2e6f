"""Roster import service: reading files (good and hostile), checking rows, applying all-or-nothing."""

from __future__ import annotations

import csv
import io
import unicodedata
import zipfile
from datetime import date, datetime, timedelta

import openpyxl
import pytest
import sqlalchemy as sa
import xlsxwriter

from lms.actors import SYSTEM
from lms.db import db, utcnow
from lms.errors import NotFound, ServiceError
from lms.models import (
    AuditEntry,
    EmploymentType,
    ImportBatch,
    ImportStatus,
    KeyCadrePeriod,
    Membership,
    Person,
    Role,
    RoleAssignment,
    TitleKind,
)
from lms.passwords import hash_password
from lms.services import imports, people, roster, units
from tests.conftest import START, TEST_PASSWORD, count_rows

HEADERS = ["Họ và tên", "Thư điện tử", "Số điện thoại", "Mã đơn vị", "Chức vụ", "Đối tượng", "Cán bộ chủ chốt",
           "Từ ngày", "Vai trò"]
#: The template handed out now: every date in its own column, titles with their decisions.
NEW_HEADERS = ["Họ và tên", "Thư điện tử", "Số điện thoại", "Giới tính", "Mã đơn vị", "Chức vụ", "Đối tượng",
               "Cán bộ chủ chốt", "Ngày vào đơn vị", "Ngày là cán bộ chủ chốt", "Báo cáo viên pháp luật",
               "Số quyết định BCVPL", "Ngày quyết định BCVPL", "Tuyên truyền viên pháp luật", "Số quyết định TTVPL",
               "Ngày quyết định TTVPL", "Vai trò"]
TODAY = date(2025, 3, 1)


# -- file builders (also used by the view and command-line tests) ----------------------------

def xlsx_bytes(rows, headers=HEADERS, formulas=()):
    """A workbook with ``headers`` then ``rows``; dates become real date cells."""
    buffer = io.BytesIO()
    book = xlsxwriter.Workbook(buffer, {"in_memory": True, "strings_to_formulas": False, "strings_to_numbers": False})
    sheet = book.add_worksheet("Danh sách")
    day = book.add_format({"num_format": "dd/mm/yyyy"})
    for col, header in enumerate(headers):
        sheet.write_string(0, col, header)
    for r, row in enumerate(rows, start=1):
        for c, value in enumerate(row):
            if value is None or value == "":
                continue
            if isinstance(value, (date, datetime)):
                sheet.write_datetime(r, c, datetime(value.year, value.month, value.day), day)
            else:
                sheet.write(r, c, value)
    for r, c, formula in formulas:
        sheet.write_formula(r, c, formula)
    book.close()
    return buffer.getvalue()


def csv_bytes(rows, headers=HEADERS, delimiter=",", encoding="utf-8-sig"):
    text = io.StringIO()
    writer = csv.writer(text, delimiter=delimiter, lineterminator="\r\n")
    writer.writerow(headers)
    for row in rows:
        writer.writerow(["" if v is None else v for v in row])
    if encoding == "cp1258":
        return _cp1258(text.getvalue())
    return text.getvalue().encode(encoding)


def _cp1258(text):
    """Windows-1258 as Vietnamese Windows writes it: precomposed letters where the code page has
    them, tone marks as combining characters."""
    out = bytearray()
    for ch in text:
        decomposed = unicodedata.normalize("NFD", ch)
        base, marks = decomposed[:1], decomposed[1:]
        candidates = [ch, *(unicodedata.normalize("NFC", base + m) + marks.replace(m, "") for m in marks), decomposed]
        for candidate in candidates:
            try:
                out += candidate.encode("cp1258")
                break
            except UnicodeEncodeError:
                continue
        else:
            raise UnicodeEncodeError("cp1258", ch, 0, 1, "not representable")
    return bytes(out)


def row(name="Nguyễn Văn An", email="an@example.vn", unit="U1", phone="", position="", category="", key="",
        on="", roles=""):
    return [name, email, phone, unit, position, category, key, on, roles]


def png_bytes():
    return (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00"
            b"\x1f\x15\xc4\x89\x00\x00\x00\rIDATx\x9cc\xf8\xff\xff?\x00\x05\xfe\x02\xfe\xa7\x35\x81\x84"
            b"\x00\x00\x00\x00IEND\xaeB`\x82")


def encrypted_bytes():
    """What Excel writes for a password-protected workbook: an OLE compound file holding an
    ``EncryptedPackage`` stream (the name is in UTF-16LE in the directory)."""
    header = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 504
    directory = "Root Entry".encode("utf-16-le").ljust(128, b"\x00") + \
        "EncryptionInfo".encode("utf-16-le").ljust(128, b"\x00") + \
        "EncryptedPackage".encode("utf-16-le").ljust(128, b"\x00")
    return header + directory + b"\x00" * 1024


def xls_bytes():
    return b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 504 + "Workbook".encode("utf-16-le") + b"\x00" * 2048


_CT = ('<?xml version="1.0" encoding="UTF-8"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/'
       'content-types"><Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships'
       '+xml"/><Default Extension="xml" ContentType="application/xml"/><Override PartName="/xl/workbook.xml" '
       'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/><Override '
       'PartName="/xl/worksheets/sheet1.xml" ContentType="application/vnd.openxmlformats-officedocument.'
       'spreadsheetml.worksheet+xml"/></Types>')
_RELS = ('<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/'
         'relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/'
         'relationships/officeDocument" Target="xl/workbook.xml"/></Relationships>')
_WB = ('<?xml version="1.0" encoding="UTF-8"?><workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/'
       'main" xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships"><sheets><sheet '
       'name="S" sheetId="1" r:id="rId1"/></sheets></workbook>')
_WB_RELS = ('<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.openxmlformats.org/package/'
            '2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/'
            'relationships/worksheet" Target="worksheets/sheet1.xml"/></Relationships>')


def raw_workbook(sheet_rows, extra_entries=0, pad_bytes=0, tail=b""):
    """A minimal workbook whose sheet XML is written here, streamed: ``sheet_rows`` is an
    iterable of ``<row>`` chunks (bytes). Cheap even for a million rows."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("[Content_Types].xml", _CT)
        archive.writestr("_rels/.rels", _RELS)
        archive.writestr("xl/workbook.xml", _WB)
        archive.writestr("xl/_rels/workbook.xml.rels", _WB_RELS)
        with archive.open("xl/worksheets/sheet1.xml", "w", force_zip64=True) as sheet:
            sheet.write(b'<?xml version="1.0" encoding="UTF-8"?><worksheet xmlns="http://schemas.openxmlformats.org/'
                        b'spreadsheetml/2006/main"><sheetData>')
            for chunk in sheet_rows:
                sheet.write(chunk)
            sheet.write(b"</sheetData>" + tail + b"</worksheet>")
        for n in range(extra_entries):
            archive.writestr(f"xl/media/pad{n}.bin", b"")
        if pad_bytes:
            with archive.open("xl/media/zeros.bin", "w", force_zip64=True) as pad:
                block = b"\x00" * (1024 * 1024)
                for _ in range(pad_bytes // len(block)):
                    pad.write(block)
    return buffer.getvalue()


def million_row_workbook(rows=1_000_000):
    line = b"<row><c><v>1</v></c></row>"

    def chunks():
        block = line * 10_000
        for _ in range(rows // 10_000):
            yield block

    return raw_workbook(chunks())


# -- fixtures -------------------------------------------------------------------------------

@pytest.fixture
def tree(make_unit):
    root = make_unit(name="Sở Tư pháp", code="STP", kind="department")
    u1 = make_unit(name="Phòng Phổ biến", code="U1", parent=root)
    u2 = make_unit(name="Phòng Hành chính", code="U2", parent=root)
    return {"root": root, "u1": u1, "u2": u2}


@pytest.fixture
def admin(make_person, tree):
    return make_person(name="Quản Trị", email="admin@example.vn", unit=tree["root"], roles=("admin",))


def check(actor, content, today=TODAY):
    return roster.check(db.session, actor, content, "danh-sach.xlsx", today=today)


def apply(actor, content, password=TEST_PASSWORD, today=TODAY):
    result = roster.apply(db.session, actor, content, "danh-sach.xlsx", password=password, today=today)
    db.session.commit()
    return result


def messages(preview):
    return "\n".join(preview.messages())


def snapshot():
    return {model.__name__: count_rows(model)
            for model in (Person, Membership, KeyCadrePeriod, RoleAssignment, AuditEntry)}


# -- good files -----------------------------------------------------------------------------

def test_good_xlsx_creates_people_with_dated_unit_key_cadre_and_roles(app, tree, admin):
    content = xlsx_bytes([
        row("Nguyễn Văn An", "an@example.vn", "U1", "0912 345 678", "Trưởng phòng", "Báo cáo viên pháp luật", "Có",
            date(2025, 1, 15), "giảng viên, quản trị đơn vị"),
        row("Trần Thị Bình", "binh@example.vn", "u2", category="nguoi lao dong", key="Không"),
    ])
    preview = check(admin, content)
    assert preview.ok, messages(preview)
    assert [r.action for r in preview.rows] == ["create", "create"]
    assert [r.number for r in preview.rows] == [2, 3]

    result = apply(admin, content)
    assert result == {"rows": 2, "created": 2, "updated": 0, "unchanged": 0}
    an = people.find_by_email(db.session, "an@example.vn")
    assert an.phone == "+84912345678" and an.position == "Trưởng phòng"
    # the previous template's "Đối tượng" of a legal reporter becomes that title, without decision data
    title = an.current_title(TitleKind.LEGAL_REPORTER)
    assert title is not None and title.valid_from == date(2025, 1, 15) and title.decision_number is None
    assert an.employment_type is None
    assert an.current_unit.code == "U1" and an.current_membership.valid_from == date(2025, 1, 15)
    assert an.is_key_cadre and an.current_key_cadre.valid_from == date(2025, 1, 15)
    assert {(r.role, r.unit_id) for r in an.roles} == {(Role.TRAINER, None), (Role.UNIT_ADMIN, tree["u1"].id)}
    assert an.must_change_password
    binh = people.find_by_email(db.session, "binh@example.vn")
    assert binh.employment_type == EmploymentType.WORKER and not binh.is_key_cadre and not binh.titles
    assert binh.current_membership.valid_from == TODAY  # empty "Từ ngày" = today
    assert binh.role_set == {Role.TRAINEE}  # empty "Vai trò" = trainee
    entry = db.session.scalar(sa.select(AuditEntry).where(AuditEntry.action == "roster.import"))
    assert entry.actor_id == admin.id
    assert entry.details["created"] == 2 and entry.details["filename"] == "danh-sach.xlsx"
    assert entry.unit_id == tree["root"].id  # the lowest unit above both rows
    assert db.session.scalar(sa.select(sa.func.count()).select_from(AuditEntry)
                             .where(AuditEntry.action == "person.create")) == 3  # admin + 2


def test_good_csv_with_english_headers_semicolons_and_text_dates(app, tree, admin):
    headers = ["Full name", "E-mail", "Phone", "Unit code", "Position", "Category", "Key cadre", "From", "Roles"]
    content = csv_bytes([
        ["Lê Văn Cường", "cuong@example.vn", "+84 912 000 111", "U1", "Chuyên viên", "legal_propagandist", "yes",
         "05/02/2025", "trainer"],
        ["Phạm Thị Dung", "dung@example.vn", "", "U2", "", "", "", "2025-02-10", ""],
    ], headers=headers, delimiter=";")
    preview = check(admin, content)
    assert preview.ok, messages(preview)
    apply(admin, content)
    cuong = people.find_by_email(db.session, "cuong@example.vn")
    assert cuong.current_title(TitleKind.LEGAL_PROPAGANDIST) is not None and cuong.phone == "+84912000111"
    assert cuong.current_membership.valid_from == date(2025, 2, 5) and cuong.is_key_cadre
    assert cuong.role_set == {Role.TRAINER}
    dung = people.find_by_email(db.session, "dung@example.vn")
    assert dung.current_membership.valid_from == date(2025, 2, 10)
    assert dung.employment_type is None and not dung.titles


def test_headers_are_case_and_diacritic_insensitive(app, tree, admin):
    headers = ["HO VA TEN", "thu dien tu", "Ma Don Vi", "doi tuong", "Ghi chú"]
    content = csv_bytes([["Vũ Thị Em", "em@example.vn", "U1", "BAO CAO VIEN PHAP LUAT", "x"]], headers=headers,
                        encoding="utf-8")
    preview = check(admin, content)
    assert preview.ok, messages(preview)
    assert preview.ignored_columns == ["Ghi chú"]
    assert [(t.kind, t.action) for t in preview.rows[0].plan.titles] == [(TitleKind.LEGAL_REPORTER, "add")]


def test_nfd_names_are_stored_nfc(app, tree, admin):
    name = unicodedata.normalize("NFD", "Nguyễn Thị Hồng Nhung")
    assert name != unicodedata.normalize("NFC", name)
    content = csv_bytes([row(name, "nhung@example.vn")])
    apply(admin, content)
    person = people.find_by_email(db.session, "nhung@example.vn")
    assert person.full_name == unicodedata.normalize("NFC", "Nguyễn Thị Hồng Nhung")


def test_csv_in_windows_vietnamese_code_page_is_read(app, tree, admin):
    content = csv_bytes([row("Đỗ Văn Giang", "giang@example.vn")], encoding="cp1258")
    preview = check(admin, content)
    assert preview.ok, messages(preview)
    assert preview.rows[0].shown["full_name"] == "Đỗ Văn Giang"
    preview = check(admin, csv_bytes([row("Đỗ Văn Giang", "giang@example.vn")], encoding="utf-16"))
    assert preview.ok, messages(preview)
    assert preview.rows[0].shown["full_name"] == "Đỗ Văn Giang"


# -- existing people: update by e-mail ------------------------------------------------------

def test_email_differing_only_by_case_updates_the_existing_person(app, tree, admin, make_person):
    old = make_person(name="Nguyễn Văn Cũ", email="Old.Person@Example.vn", unit=tree["u1"], on=START)
    before = count_rows(Person)
    content = xlsx_bytes([row("Nguyễn Văn Mới", "old.person@example.VN", "U2", phone="0987654321", key="Có",
                              on=date(2025, 2, 1), roles="giảng viên")])
    preview = check(admin, content)
    assert preview.ok, messages(preview)
    assert preview.rows[0].action == "update"

    result = apply(admin, content)
    assert result["updated"] == 1 and result["created"] == 0
    assert count_rows(Person) == before
    db.session.expire_all()
    person = db.session.get(Person, old.id)
    assert person.full_name == "Nguyễn Văn Mới" and person.phone == "+84987654321"
    assert person.current_unit.code == "U2"
    assert [(m.unit.code, m.valid_from, m.valid_to) for m in person.memberships] == [
        ("U1", START, date(2025, 2, 1)), ("U2", date(2025, 2, 1), None)]
    assert person.current_key_cadre.valid_from == date(2025, 2, 1)
    assert person.role_set == {Role.TRAINEE, Role.TRAINER}  # added, never removed
    assert not person.must_change_password  # an update leaves the password alone


def test_unchanged_row_and_empty_cells_keep_existing_values(app, tree, admin, make_person):
    make_person(name="Hoàng Văn Ổn", email="on@example.vn", unit=tree["u1"], category="employee")
    person = people.find_by_email(db.session, "on@example.vn")
    person.phone = "+84911111111"
    db.session.commit()
    preview = check(admin, csv_bytes([row("Hoàng Văn Ổn", "ON@example.vn", "U1")]))
    assert preview.ok, messages(preview)
    assert preview.rows[0].action == "update"  # the e-mail's spelling changes
    preview = check(admin, csv_bytes([row("Hoàng Văn Ổn", "on@example.vn", "U1")]))
    assert preview.rows[0].action == "unchanged"
    assert not preview.has_changes


def test_date_before_the_current_membership_is_a_row_problem(app, tree, admin, make_person):
    make_person(email="moved@example.vn", unit=tree["u1"], on=date(2025, 1, 1))
    preview = check(admin, csv_bytes([row("Người Chuyển", "moved@example.vn", "U2", on="01/12/2024")]))
    assert not preview.ok
    assert "Ngày hiệu lực không được trước ngày bắt đầu của giai đoạn hiện tại (01/01/2025)." in messages(preview)


# -- row problems ---------------------------------------------------------------------------

def test_duplicate_emails_inside_the_file_flag_the_later_rows_naming_the_first(app, tree, admin):
    """Addresses compare by the platform's identity (email_key); the first row stands, each later
    one names it by the spreadsheet's row number (the header is row 1)."""
    content = csv_bytes([row("Người Một", "Same@Example.vn"), row("Người Hai", "other@example.vn"),
                         row("Người Ba", "same@example.VN"), row("Người Bốn", "other@example.vn"),
                         row("Người Năm", " SAME@EXAMPLE.VN ")])
    preview = check(admin, content)
    assert not preview.ok
    assert [r.number for r in preview.problem_rows] == [4, 5, 6]
    text = messages(preview)
    assert "Dòng 2:" not in text and "Dòng 3:" not in text
    assert ("Dòng 4: Thư điện tử: Địa chỉ thư điện tử “same@example.VN” trùng với địa chỉ ở dòng 2; mỗi người chỉ "
            "ghi một dòng.") in text
    assert "Dòng 5: Thư điện tử: Địa chỉ thư điện tử “other@example.vn” trùng với địa chỉ ở dòng 3;" in text
    assert "Dòng 6: Thư điện tử: Địa chỉ thư điện tử “SAME@EXAMPLE.VN” trùng với địa chỉ ở dòng 2;" in text
    assert preview.rows[0].action == "create" and not preview.rows[0].problems


def test_markup_characters_in_free_text_are_stored_as_written(app, tree, admin):
    """< > { } & are text: a position holding them imports, and is stored exactly as typed."""
    positions = ["<b>Trưởng phòng</b>", "{Phó}", "a > b", "Chuyên viên & <i>tập sự</i> {{ 7*7 }} ${x}"]
    content = xlsx_bytes([row(f"Người {name}", f"p{n}@example.vn", position=position)
                          for n, (name, position) in enumerate(zip(("Một", "Hai", "Ba", "Bốn"), positions, strict=True))])
    preview = check(admin, content)
    assert preview.ok, messages(preview)
    apply(admin, content)
    stored = {p.email: p.position for p in db.session.scalars(sa.select(Person).where(Person.email.like("p%")))}
    assert stored == {f"p{n}@example.vn": position for n, position in enumerate(positions)}
    # the people form's cleaner (the same one) takes them too
    assert people.clean_position("<b>Trưởng phòng</b>") == "<b>Trưởng phòng</b>"


def test_truly_invalid_characters_are_refused_naming_row_column_and_character(app, tree, admin):
    content = csv_bytes([
        row("Người Tốt", "good@example.vn", position="Trưởng phòng"),
        row("Nguyễn Văn 2", "digit@example.vn"),
        row("Người <b>", "tag@example.vn"),
        row("Người Ba", "pua@example.vn", position="Trưởng\ue000phòng"),
        row("Người Bốn", "enc@example.vn", position="Tr\ufffdng phòng"),
        row("Người Năm", "tagchar@example.vn", position="Phó\U000e0041 phòng"),
    ])
    snap = snapshot()
    preview = check(admin, content)
    assert [r.number for r in preview.problem_rows] == [3, 4, 5, 6, 7]
    text = messages(preview)
    assert "Dòng 3: Họ và tên: Họ và tên có ký tự “2” (U+0032) không được phép." in text
    assert "Dòng 4: Họ và tên: Họ và tên có ký tự “<” (U+003C) không được phép." in text
    assert "Dòng 5: Chức vụ: Chức vụ có ký tự “\ue000” (U+E000) không được phép" in text
    assert "Dòng 6: Chức vụ: Chức vụ có ký tự “\ufffd” (U+FFFD) không được phép" in text
    assert "Dòng 7: Chức vụ: Chức vụ có ký tự “\U000e0041” (U+E0041) không được phép" in text
    with pytest.raises(ServiceError):
        apply(admin, content)
    db.session.rollback()
    assert snapshot() == snap


def test_every_row_problem_is_listed_with_the_forms_messages(app, tree, admin):
    content = csv_bytes([
        row("<script>alert(1)</script>", "script@example.vn"),
        row("", "khong-hop-le", "U1", phone="abc"),
        row("Người Đơn Vị", "unit@example.vn", "KHONGCO"),
        row("Người Ngày", "date@example.vn", on="31/02/2025"),
        row("Người Vai Trò", "role@example.vn", roles="học viên, thủ thư"),
        row("Người Chủ Chốt", "key@example.vn", key="có lẽ"),
        row("=HYPERLINK(\"http://x\")", "formula@example.vn", position="=1+2"),
        row("Người Đối Tượng", "cat@example.vn", category="sinh viên"),
        row("Người Thiếu Đơn Vị", "nounit@example.vn", ""),
    ])
    preview = check(admin, content)
    assert [r.number for r in preview.problem_rows] == list(range(2, 11))
    text = messages(preview)
    assert ("Dòng 2: Họ và tên: Họ và tên có ký tự “<” (U+003C) không được phép. Họ và tên chỉ được gồm chữ cái, "
            "dấu cách và các dấu . ' - ( ).") in text
    assert "Dòng 3: Họ và tên: Vui lòng nhập họ và tên." in text
    assert "Dòng 3: Thư điện tử: Địa chỉ thư điện tử “khong-hop-le” không hợp lệ." in text
    assert "Dòng 3: Số điện thoại: Số điện thoại “" in text
    assert "Dòng 4: Mã đơn vị: Không có đơn vị nào có mã “KHONGCO”." in text
    assert "Dòng 5: Từ ngày: Ngày “31/02/2025” không hợp lệ" in text
    assert "Dòng 6: Vai trò: Vai trò “thủ thư” không hợp lệ." in text
    assert "Dòng 7: Cán bộ chủ chốt: Cột “Cán bộ chủ chốt” chỉ nhận “Có” hoặc “Không”" in text
    assert "Dòng 8: Họ và tên: Giá trị “=HYPERLINK(\"http://x\")” bắt đầu bằng = + - hoặc @" in text
    assert "Dòng 8: Chức vụ: Giá trị “=1+2” bắt đầu bằng" in text
    assert "Dòng 9: Đối tượng: Đối tượng “sinh viên” không hợp lệ." in text
    assert "Dòng 10: Mã đơn vị: Vui lòng nhập mã đơn vị." in text
    # The form's message is reused word for word.
    with pytest.raises(ServiceError) as raised:
        people.clean_name("<script>")
    assert str(raised.value.message) in text


def test_closed_unit_is_refused(app, tree, admin):
    units.close_unit(db.session, SYSTEM, tree["u2"], date(2025, 1, 1))
    db.session.commit()
    preview = check(admin, csv_bytes([row(unit="U2")]))
    assert "Đơn vị “Phòng Hành chính” đã giải thể hoặc sáp nhập." in messages(preview)


# -- unit administrators: only their subtree ------------------------------------------------

def test_unit_admin_is_limited_to_their_subtree(app, tree, make_person, make_unit):
    below = make_unit(name="Tổ A", code="U1A", parent=tree["u1"])
    boss = make_person(name="Quản Trị Một", email="boss@example.vn", unit=tree["u1"], roles=("unit_admin",))
    make_person(name="Người Ngoài", email="outside@example.vn", unit=tree["u2"])
    content = csv_bytes([
        row("Người Trong", "inside@example.vn", "U1A", roles="học viên, quản trị đơn vị"),
        row("Người Khác", "other@example.vn", "U2"),
        row("Người Ngoài", "outside@example.vn", "U1"),
        row("Người Quyền", "power@example.vn", "U1", roles="quản trị hệ thống"),
        row("Người Giảng", "teach@example.vn", "U1", roles="giảng viên"),
    ])
    preview = check(boss, content)
    assert [r.number for r in preview.problem_rows] == [3, 4, 5, 6]
    text = messages(preview)
    assert "Dòng 3: Mã đơn vị: Bạn không có quyền quản lý người của đơn vị “Phòng Hành chính”." in text
    assert "Dòng 4: Thư điện tử: Thư điện tử “outside@example.vn” thuộc một tài khoản ngoài phạm vi bạn quản lý." \
        in text
    assert "Dòng 5: Vai trò: Bạn không có quyền cấp vai trò “Quản trị hệ thống”." in text
    # the trainer's people search spans the province: only administrators give that role
    assert "Dòng 6: Vai trò: Bạn không có quyền cấp vai trò “Giảng viên”." in text
    assert preview.rows[0].action == "create"

    snap = snapshot()
    with pytest.raises(roster.RosterRejected):
        apply(boss, content)
    db.session.rollback()
    assert snapshot() == snap

    apply(boss, csv_bytes([row("Người Trong", "inside@example.vn", "U1A", roles="quản trị đơn vị")]))
    inside = people.find_by_email(db.session, "inside@example.vn")
    assert {(r.role, r.unit_id) for r in inside.roles} == {(Role.UNIT_ADMIN, below.id)}


def test_template_lists_only_the_units_the_actor_manages(app, tree, make_person, make_unit):
    make_unit(name="=cmd|' /C calc'!A0", code="U1B", parent=tree["u1"])
    boss = make_person(email="boss@example.vn", unit=tree["u1"], roles=("unit_admin",))
    data = roster.build_template(db.session, boss)
    book = openpyxl.load_workbook(io.BytesIO(data))
    assert book.sheetnames == ["Danh sách", "Danh mục"]
    sheet = book["Danh sách"]
    assert [c.value for c in sheet[1]] == NEW_HEADERS
    lists = book["Danh mục"]
    codes = [lists.cell(row=r, column=1).value for r in range(2, lists.max_row + 1)]
    codes = [c for c in codes if c]
    assert codes == ["U1", "U1B"]
    hostile = lists.cell(row=3, column=2)
    assert hostile.data_type == "s" and hostile.quotePrefix  # a string shown literally, never a formula
    employment = [lists.cell(row=r, column=4).value for r in range(2, 8)]
    assert employment == ["Cán bộ", "Công chức", "Viên chức", "Người lao động", "Người hoạt động không chuyên trách",
                          "Khác"]
    validations = {str(v.sqref).split(":")[0]: v for v in sheet.data_validations.dataValidation}
    column = {header: openpyxl.utils.get_column_letter(n) for n, header in enumerate(NEW_HEADERS, start=1)}
    assert validations[column["Đối tượng"] + "2"].type == "list"
    assert "Danh mục" in validations[column["Đối tượng"] + "2"].formula1
    assert "Danh mục" in validations[column["Báo cáo viên pháp luật"] + "2"].formula1
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        for name in archive.namelist():
            if name.startswith("xl/worksheets/"):
                assert b"<f>" not in archive.read(name)

    # The untouched template is accepted as a file (it only has no rows yet) ...
    preview = roster.check(db.session, boss, data, "mau.xlsx", today=TODAY)
    assert [str(e) for e in preview.file_errors] == ["Tệp chưa có dòng dữ liệu nào bên dưới dòng tiêu đề."]
    # ... and filled in by a spreadsheet program, it imports.
    values = {"Họ và tên": "Ngô Văn Hải", "Thư điện tử": "hai@example.vn", "Số điện thoại": "0912345678",
              "Giới tính": "Nam", "Mã đơn vị": "U1B", "Đối tượng": "Người lao động", "Cán bộ chủ chốt": "Có",
              "Ngày vào đơn vị": datetime(2025, 2, 1), "Ngày là cán bộ chủ chốt": datetime(2025, 2, 10),
              "Tuyên truyền viên pháp luật": "Có", "Số quyết định TTVPL": "12/QĐ-UBND",
              "Ngày quyết định TTVPL": datetime(2025, 2, 15), "Vai trò": "học viên"}
    sheet.append([values.get(header) for header in NEW_HEADERS])
    out = io.BytesIO()
    book.save(out)
    preview = roster.check(db.session, boss, out.getvalue(), "mau.xlsx", today=TODAY)
    assert preview.ok, messages(preview)
    plan = preview.rows[0].plan
    assert (plan.on, plan.key_on) == (date(2025, 2, 1), date(2025, 2, 10))
    assert [(t.kind, t.on, t.decision_number) for t in plan.titles] == [
        (TitleKind.LEGAL_PROPAGANDIST, date(2025, 2, 15), "12/QĐ-UBND")]


# -- all or nothing -------------------------------------------------------------------------

def test_one_bad_row_means_nothing_is_written(app, tree, admin, make_person):
    make_person(name="Người Có Sẵn", email="exists@example.vn", unit=tree["u1"])
    content = xlsx_bytes([row("Người Tốt", "good@example.vn"), row("Người Có Sẵn", "exists@example.vn", "U2"),
                          row("Người Xấu", "bad-email")])
    snap = snapshot()
    with pytest.raises(roster.RosterRejected) as raised:
        roster.apply(db.session, admin, content, "x.xlsx", password=TEST_PASSWORD, today=TODAY)
    db.session.rollback()
    assert [r.number for r in raised.value.preview.problem_rows] == [4]
    assert snapshot() == snap
    assert people.find_by_email(db.session, "exists@example.vn").current_unit.code == "U1"


def test_apply_checks_again_what_changed_since_the_preview(app, tree, admin):
    content = csv_bytes([row("Người Một", "one@example.vn", "U2")])
    assert check(admin, content).ok
    units.close_unit(db.session, SYSTEM, tree["u2"], TODAY)
    db.session.commit()
    snap = snapshot()
    with pytest.raises(roster.RosterRejected):
        roster.apply(db.session, admin, content, "x.csv", password=TEST_PASSWORD, today=TODAY)
    db.session.rollback()
    assert snapshot() == snap


def test_initial_password_follows_the_policy(app, tree, admin):
    content = csv_bytes([row("Nguyễn Văn An", "an@example.vn")])
    snap = snapshot()
    for weak in ("", "123456", "nguyenvanan-2025"):
        with pytest.raises(ServiceError) as raised:
            roster.apply(db.session, admin, content, "x.csv", password=weak, today=TODAY)
        db.session.rollback()
        assert raised.value.field == "password"
    assert snapshot() == snap


# -- hostile and unusable files -------------------------------------------------------------

def file_error(admin, content, **config):
    preview = check(admin, content)
    assert not preview.ok and not preview.rows
    assert len(preview.file_errors) == 1
    return str(preview.file_errors[0])


def test_empty_files(app, tree, admin):
    assert file_error(admin, b"") == "Tệp rỗng: không có dữ liệu nào."
    assert file_error(admin, b"\xef\xbb\xbf \r\n\r\n") == "Tệp rỗng: không có dữ liệu nào."
    assert "chưa có dòng dữ liệu" in file_error(admin, csv_bytes([]))
    assert "chưa có dòng dữ liệu" in file_error(admin, xlsx_bytes([]))


def test_png_named_xlsx_is_not_a_spreadsheet(app, tree, admin):
    assert "không phải là bảng tính" in file_error(admin, png_bytes())
    assert "không phải là bảng tính" in file_error(admin, b"\x00\x01\x02binary\x00")


def test_zip_that_is_not_a_workbook(app, tree, admin):
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("word/document.xml", "<w:document/>")
    assert "không phải là bảng tính" in file_error(admin, buffer.getvalue())
    assert "Không đọc được tệp bảng tính" in file_error(admin, b"PK\x03\x04 truncated")


def test_encrypted_workbook(app, tree, admin):
    assert "Tệp được mã hóa/đặt mật khẩu" in file_error(admin, encrypted_bytes())


def test_old_xls_asks_for_xlsx(app, tree, admin):
    assert "lưu lại dưới dạng .xlsx" in file_error(admin, xls_bytes())


def test_workbook_with_formulas(app, tree, admin):
    content = xlsx_bytes([row()], formulas=[(1, 2, "=1+2")])
    message = file_error(admin, content)
    assert "Tệp có chứa công thức (ví dụ ô C2)" in message and "Dán giá trị" in message


def test_formulas_outside_the_cells_are_not_mistaken_for_formulas(app, tree, admin):
    """Excel keeps cross-sheet drop-down lists in an extension after the cells, as ``<xm:f>``."""
    def cell(ref, text):
        return f'<c r="{ref}" t="inlineStr"><is><t>{text}</t></is></c>'.encode()

    rows = [b'<row r="1">' + cell("A1", "Họ và tên") + cell("B1", "Thư điện tử") + cell("C1", "Mã đơn vị") + b"</row>",
            b'<row r="2">' + cell("A2", "Nguyễn Văn An") + cell("B2", "an@example.vn") + cell("C2", "U1") + b"</row>"]
    tail = (b'<extLst><ext uri="{CCE6A557-97BC-4b89-ADB6-D9C93CAAB3DF}" xmlns:x14="http://schemas.microsoft.com/'
            b'office/spreadsheetml/2009/9/main"><x14:dataValidations count="1" xmlns:xm="http://schemas.microsoft.com/'
            b'office/excel/2006/main"><x14:dataValidation type="list"><x14:formula1>'
            b"<xm:f>'Danh m\xe1\xbb\xa5c'!$A$2:$A$9"
            b'</xm:f></x14:formula1><xm:sqref>C2:C5001</xm:sqref></x14:dataValidation></x14:dataValidations></ext>'
            b'</extLst>')
    preview = check(admin, raw_workbook(rows, tail=tail))
    assert preview.ok, messages(preview)


def test_zip_bombs_are_refused_before_reading(app, tree, admin):
    many = raw_workbook([b'<row r="1"><c r="A1"><v>1</v></c></row>'], extra_entries=2001)
    assert "Tệp nén bất thường" in file_error(admin, many)
    huge = raw_workbook([b'<row r="1"><c r="A1"><v>1</v></c></row>'], pad_bytes=60 * 1024 * 1024)
    assert len(huge) < 1024 * 1024  # small on disk, 60 MB inflated
    assert "Tệp nén bất thường" in file_error(admin, huge)


def test_million_row_workbook_is_refused_quickly(app, tree, admin):
    content = million_row_workbook()
    assert len(content) < 5 * 1024 * 1024
    assert "Tệp có quá nhiều dòng: mỗi lần chỉ nhập được tối đa 5000 người." in file_error(admin, content)


def test_million_line_csv_is_refused_quickly(app, tree, admin):
    content = "Họ và tên,Thư điện tử,Mã đơn vị\n".encode() + b"a\n" * 1_000_000
    assert len(content) < 5 * 1024 * 1024
    assert "Tệp có quá nhiều dòng" in file_error(admin, content)


def test_far_away_cell_cannot_blow_up_the_parser(app, tree, admin):
    content = raw_workbook([b'<row r="1"><c r="A1" t="inlineStr"><is><t>x</t></is></c></row>',
                            b'<row r="1000000"><c r="A1000000"><v>1</v></c></row>'])
    assert "Tệp có quá nhiều dòng" in file_error(admin, content)
    wide = raw_workbook([b'<row r="1"><c r="XFD1"><v>1</v></c></row>'])
    assert "Tệp có quá nhiều cột" in file_error(admin, wide)


def test_row_and_size_limits_follow_the_configuration(app_factory, tree):
    small = app_factory(LMS_IMPORT_MAX_ROWS=2, LMS_IMPORT_MAX_MB=1)
    with small.app_context():
        actor = db.session.scalar(sa.select(Person).limit(1))  # none needed: run as the system
        assert actor is None
        three = csv_bytes([row(email=f"p{n}@example.vn") for n in range(3)])
        preview = roster.check(db.session, SYSTEM, three, "x.csv", today=TODAY)
        assert "tối đa 2 người" in str(preview.file_errors[0])
        big = b"a" * (1024 * 1024 + 1)
        preview = roster.check(db.session, SYSTEM, big, "x.csv", today=TODAY)
        assert str(preview.file_errors[0]) == "Tệp quá lớn: tối đa 1 MB."


def test_missing_required_columns_are_named(app, tree, admin):
    content = csv_bytes([["Nguyễn Văn An", "0912345678"]], headers=["Họ và tên", "Số điện thoại"])
    message = file_error(admin, content)
    assert message.startswith("Thiếu cột bắt buộc: “Thư điện tử”, “Mã đơn vị”.")


def test_duplicated_header_is_refused(app, tree, admin):
    content = csv_bytes([["A", "a@example.vn", "U1", "b@example.vn"]],
                        headers=["Họ và tên", "Email", "Mã đơn vị", "Thư điện tử"])
    assert "Dòng tiêu đề có cột bị lặp: Thư điện tử." in file_error(admin, content)


def test_title_rows_above_the_header_are_skipped(app, tree, admin):
    content = ("DANH SÁCH CÁN BỘ\n\n" + csv_bytes([row()]).decode("utf-8-sig")).encode()
    preview = check(admin, content)
    assert preview.ok, messages(preview)
    assert preview.rows[0].number == 4


# -- pending batches ------------------------------------------------------------------------

def test_batches_are_private_single_use_and_expire(app, tree, admin, make_person):
    other = make_person(email="other-admin@example.vn", unit=tree["root"], roles=("admin",))
    content = csv_bytes([row()])
    now = utcnow()
    batch = imports.stage(db.session, admin, "people", "../../dữ liệu\u202e.csv", content, now)
    db.session.commit()
    assert batch.filename == "dữ liệu.csv" and len(batch.token) >= 40
    with pytest.raises(NotFound):
        imports.get_batch(db.session, other, batch.token)
    same = imports.get_batch(db.session, admin, batch.token)
    imports.apply_batch(db.session, admin, same, password_hash=hash_password(TEST_PASSWORD), today=TODAY, now=now)
    db.session.commit()
    assert same.status == ImportStatus.APPLIED and same.content == b"" and same.result["created"] == 1
    snap = snapshot()
    with pytest.raises(ServiceError, match="đã được nhập rồi"):
        imports.apply_batch(db.session, admin, imports.get_batch(db.session, admin, batch.token),
                            password_hash=hash_password(TEST_PASSWORD), today=TODAY, now=now)
    db.session.rollback()
    assert snapshot() == snap

    old = imports.stage(db.session, admin, "people", "cu.csv", csv_bytes([row(email="late@example.vn")]), now - timedelta(days=2))
    db.session.commit()
    with pytest.raises(ServiceError, match="quá hạn"):
        imports.apply_batch(db.session, admin, old, password_hash=hash_password(TEST_PASSWORD), today=TODAY, now=now)
    db.session.rollback()
    # Staging a new batch clears stale pending ones.
    imports.stage(db.session, admin, "people", "moi.csv", content, now)
    db.session.commit()
    assert db.session.scalar(sa.select(ImportBatch).where(ImportBatch.filename == "cu.csv")) is None


def test_failed_apply_leaves_the_batch_pending(app, tree, admin):
    batch = imports.stage(db.session, admin, "people", "x.csv", csv_bytes([row()]), utcnow())
    db.session.commit()
    with pytest.raises(ServiceError):
        imports.apply_batch(db.session, admin, batch, password_hash=None, today=TODAY, now=utcnow())
    db.session.rollback()
    assert db.session.get(ImportBatch, batch.id).status == ImportStatus.PENDING


def test_trainees_may_not_import(app, tree, make_person):
    trainee = make_person(email="t@example.vn", unit=tree["u1"])
    with pytest.raises(ServiceError):
        roster.check(db.session, trainee, csv_bytes([row()]), "x.csv", today=TODAY)


def test_locked_account_cannot_become_key_cadre(app, tree, admin, make_person):
    person = make_person(email="locked@example.vn", unit=tree["u1"])
    people.deactivate_person(db.session, SYSTEM, person, date(2025, 1, 1), utcnow())
    db.session.commit()
    preview = check(admin, csv_bytes([row("Người Bị Khóa", "locked@example.vn", "U1", key="Có")]))
    assert "Tài khoản đã bị khóa. Hãy mở khóa trước khi đặt là cán bộ chủ chốt." in messages(preview)
