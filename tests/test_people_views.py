"""The people screens, as administrators and unit administrators use them."""

from __future__ import annotations

import unicodedata

import pytest
import sqlalchemy as sa

from lms.db import db
from lms.models import AuditEntry, KeyCadrePeriod, LoginSession, Membership, Person, RoleAssignment
from tests.conftest import TEST_PASSWORD, count_rows

GOOD = {"full_name": "Nguyễn Thị Hoa", "email": "hoa@example.vn", "phone": "0912 345 678", "position": "Chuyên viên",
        "employment_type": "civil_servant", "gender": "female", "on": "2024-03-01", "password": "Khởi-Tạo-Mật-Khẩu-9", "roles": ["trainee"]}


@pytest.fixture
def tree(make_unit):
    root = make_unit(name="Sở Tư pháp", code="STP", kind="department")
    district = make_unit(name="Phòng Tư pháp huyện Vũ Thư", code="PTP-VT", kind="district", parent=root)
    commune = make_unit(name="UBND xã Tam Quang", code="XA-TQ", kind="commune", parent=district)
    other = make_unit(name="Phòng Tư pháp huyện Kiến Xương", code="PTP-KX", kind="district", parent=root)
    return {"root": root, "district": district, "commune": commune, "other": other}


@pytest.fixture
def admin(client, auth, make_person, tree):
    person = make_person(email="admin@example.vn", unit=tree["root"], roles=("admin",))
    auth.login(person.email)
    return person


@pytest.fixture
def unit_admin(client, auth, make_person, tree):
    person = make_person(email="ua@example.vn", unit=tree["district"], roles=("unit_admin",))
    auth.login(person.email)
    return person


def _errors(response):
    import re

    return re.findall(r'invalid-feedback d-block">([^<]+)<', response.get_data(as_text=True))


def test_admin_creates_a_person(client, admin, tree):
    response = client.post("/admin/people/new", data={**GOOD, "unit": tree["commune"].id, "key_cadre": "y"})
    assert response.status_code == 302
    person = db.session.scalar(sa.select(Person).where(Person.email_key == "hoa@example.vn"))
    assert person.full_name == "Nguyễn Thị Hoa" and person.phone == "+84912345678"
    assert person.must_change_password is True
    assert person.current_unit.code == "XA-TQ" and person.is_key_cadre
    assert str(person.current_membership.valid_from) == "2024-03-01"
    page = client.get(response.location).get_data(as_text=True)
    assert "Nguyễn Thị Hoa" in page and "UBND xã Tam Quang" in page


def test_nfd_name_and_email_case_are_normalised(client, admin, tree, make_person):
    nfd = unicodedata.normalize("NFD", "Trần Văn Đức")
    client.post("/admin/people/new", data={**GOOD, "full_name": nfd, "email": "Duc@Example.VN", "unit": tree["root"].id})
    person = db.session.scalar(sa.select(Person).where(Person.email_key == "duc@example.vn"))
    assert person.full_name == unicodedata.normalize("NFC", "Trần Văn Đức")
    again = client.post("/admin/people/new", data={**GOOD, "email": "DUC@example.vn", "unit": tree["root"].id})
    assert again.status_code == 422
    assert any("đã được dùng" in e for e in _errors(again))


@pytest.mark.parametrize("change,message", [
    ({"full_name": ""}, "Vui lòng nhập họ và tên."),
    ({"full_name": "A" * 201}, "Họ và tên không được dài quá 200 ký tự."),
    ({"full_name": "<script>alert(1)</script>"}, "Họ và tên chỉ được gồm chữ cái"),
    ({"email": "not-an-email"}, "không hợp lệ"),
    ({"email": ""}, "Vui lòng nhập địa chỉ thư điện tử."),
    ({"phone": "call me"}, "Số điện thoại “call me” không đúng"),
    ({"position": "=HYPERLINK(\"http://x\")"}, "Chức vụ không được bắt đầu bằng ký tự “=”"),
    ({"position": "Trưởng\ue000phòng"}, "Chức vụ có ký tự “\ue000” (U+E000) không được phép"),
    ({"employment_type": "wizard"}, "Lựa chọn không hợp lệ."),
    ({"gender": "unknown"}, "Lựa chọn không hợp lệ."),
    ({"key_on": "31/02/2024"}, "theo dạng ngày/tháng/năm"),
    ({"unit": "abc"}, "Lựa chọn không hợp lệ."),
    ({"unit": "999999"}, "Lựa chọn không hợp lệ."),
    ({"on": "31/02/2024"}, "theo dạng ngày/tháng/năm"),
    ({"on": ""}, "Vui lòng nhập ngày."),
    ({"password": "123"}, "Mật khẩu phải có ít nhất 10 ký tự."),
    ({"password": "matkhau123"}, "quá phổ biến"),
    ({"roles": ["emperor"]}, "Lựa chọn không hợp lệ."),
])
def test_create_person_bad_input_changes_nothing(client, admin, tree, change, message):
    before = (count_rows(Person), count_rows(Membership), count_rows(AuditEntry))
    response = client.post("/admin/people/new", data={**GOOD, "unit": tree["root"].id, **change})
    assert response.status_code == 422
    assert any(message in e for e in _errors(response)), _errors(response)
    assert (count_rows(Person), count_rows(Membership), count_rows(AuditEntry)) == before


def test_hostile_values_are_escaped_on_pages(client, admin, tree, make_person):
    person = make_person(email="x@example.vn", unit=tree["root"])
    person.position = "<b>boss</b>"
    db.session.commit()
    page = client.get(f"/admin/people/{person.id}").get_data(as_text=True)
    assert "<b>boss</b>" not in page and "&lt;b&gt;boss&lt;/b&gt;" in page


def test_form_takes_markup_characters_in_the_position_as_text(client, admin, tree):
    """< > { } are text in a position (the roster import takes them too): stored as typed, escaped
    when shown."""
    response = client.post("/admin/people/new", data={**GOOD, "unit": tree["root"].id,
                                                      "position": "<b>Trưởng phòng</b> {Phó} a > b"})
    assert response.status_code == 302, _errors(response)
    person = db.session.scalar(sa.select(Person).where(Person.email_key == "hoa@example.vn"))
    assert person.position == "<b>Trưởng phòng</b> {Phó} a > b"
    page = client.get(f"/admin/people/{person.id}").get_data(as_text=True)
    assert "<b>Trưởng phòng</b>" not in page and "&lt;b&gt;Trưởng phòng&lt;/b&gt; {Phó} a &gt; b" in page


def test_unit_admin_creates_only_in_their_subtree(client, unit_admin, tree):
    ok = client.post("/admin/people/new", data={**GOOD, "unit": tree["commune"].id})
    assert ok.status_code == 302
    before = count_rows(Person)
    outside = client.post("/admin/people/new", data={**GOOD, "email": "b@example.vn", "unit": tree["other"].id})
    assert outside.status_code == 422 and count_rows(Person) == before
    admin_role = client.post("/admin/people/new", data={**GOOD, "email": "c@example.vn", "unit": tree["commune"].id,
                                                        "roles": ["admin"]})
    assert admin_role.status_code == 422 and count_rows(Person) == before


def test_unit_admin_cannot_see_or_touch_people_outside(client, unit_admin, tree, make_person):
    inside = make_person(name="Người Trong", email="in@example.vn", unit=tree["commune"])
    outside = make_person(name="Người Ngoài", email="out@example.vn", unit=tree["other"])
    listing = client.get("/admin/people/").get_data(as_text=True)
    assert "Người Trong" in listing and "Người Ngoài" not in listing
    assert client.get(f"/admin/people/{inside.id}").status_code == 200
    assert client.get(f"/admin/people/{outside.id}").status_code == 404
    response = client.post(f"/admin/people/{outside.id}/edit", data={"edit-full_name": "Bị Sửa",
                                                                     "edit-email": "out@example.vn",
                                                                     "edit-employment_type": ""})
    assert response.status_code == 404
    db.session.expire_all()
    assert db.session.get(Person, outside.id).full_name == "Người Ngoài"
    assert client.get("/admin/people/?unit=%d" % tree["other"].id).status_code == 200


def test_unit_admin_cannot_manage_an_administrator_in_their_unit(client, unit_admin, tree, make_person):
    boss = make_person(name="Quản Trị Tỉnh", email="boss@example.vn", unit=tree["district"], roles=("admin",))
    assert client.get(f"/admin/people/{boss.id}").status_code == 200
    response = client.post(f"/admin/people/{boss.id}/password", data={"pw-password": "Chiếm-Quyền-Quản-Trị-1"})
    assert response.status_code == 403
    grant = client.post(f"/admin/people/{unit_admin.id}/grant", data={"role-role": "admin", "role-unit": "0"})
    assert grant.status_code in (403, 422)
    assert not any(r.role.value == "admin" for r in db.session.get(Person, unit_admin.id).roles)


def test_edit_person(client, admin, tree, make_person):
    person = make_person(name="Lê Văn Tám", email="tam@example.vn", unit=tree["root"])
    response = client.post(f"/admin/people/{person.id}/edit", data={
        "edit-full_name": "Lê Văn Tám Mới", "edit-email": "TAM2@example.vn", "edit-phone": "",
        "edit-position": "Phó phòng", "edit-employment_type": "public_employee"})
    assert response.status_code == 302
    db.session.expire_all()
    person = db.session.get(Person, person.id)
    assert (person.full_name, person.email_key, person.position) == ("Lê Văn Tám Mới", "tam2@example.vn", "Phó phòng")
    bad = client.post(f"/admin/people/{person.id}/edit", data={
        "edit-full_name": "", "edit-email": "x", "edit-employment_type": ""})
    assert bad.status_code == 422
    assert "Vui lòng nhập họ và tên." in _errors(bad)
    db.session.expire_all()
    assert db.session.get(Person, person.id).full_name == "Lê Văn Tám Mới"


def test_move_person_keeps_history(client, admin, tree, make_person):
    person = make_person(email="m@example.vn", unit=tree["commune"])
    response = client.post(f"/admin/people/{person.id}/move", data={"move-unit": tree["other"].id,
                                                                    "move-on": "2025-07-01"})
    assert response.status_code == 302
    rows = db.session.scalars(sa.select(Membership).where(Membership.person_id == person.id)
                              .order_by(Membership.valid_from)).all()
    assert [(r.unit_id, str(r.valid_to)) for r in rows] == [(tree["commune"].id, "2025-07-01"), (tree["other"].id, "None")]
    early = client.post(f"/admin/people/{person.id}/move", data={"move-unit": tree["root"].id, "move-on": "2020-01-01"})
    assert early.status_code == 422
    assert count_rows(Membership) == 3  # the admin's own + two


def test_key_cadre_on_and_off(client, admin, tree, make_person):
    person = make_person(email="k@example.vn", unit=tree["root"])
    client.post(f"/admin/people/{person.id}/key-cadre", data={"key-key_cadre": "1", "key-on": "2024-02-01"})
    client.post(f"/admin/people/{person.id}/key-cadre", data={"key-key_cadre": "0", "key-on": "2025-02-01"})
    periods = db.session.scalars(sa.select(KeyCadrePeriod).where(KeyCadrePeriod.person_id == person.id)).all()
    assert [(str(p.valid_from), str(p.valid_to)) for p in periods] == [("2024-02-01", "2025-02-01")]
    bad = client.post(f"/admin/people/{person.id}/key-cadre", data={"key-key_cadre": "maybe", "key-on": "2025-03-01"})
    assert bad.status_code == 422


def test_reset_password_forces_change_and_ends_sessions(app, client, admin, tree, make_person):
    person = make_person(email="r@example.vn", unit=tree["root"])
    their = app.test_client()
    their.post("/login", data={"email": "r@example.vn", "password": TEST_PASSWORD})
    assert their.get("/").status_code == 200
    response = client.post(f"/admin/people/{person.id}/password", data={"pw-password": "Mật-Khẩu-Tạm-Thời-42"})
    assert response.status_code == 302
    assert their.get("/account/password").status_code == 302  # logged out
    fresh = app.test_client()
    assert fresh.post("/login", data={"email": "r@example.vn", "password": "Mật-Khẩu-Tạm-Thời-42"}).location == "/account/password"
    weak = client.post(f"/admin/people/{person.id}/password", data={"pw-password": "abc"})
    assert weak.status_code == 422


def test_roles_grant_scoped_and_revoke(client, admin, tree, make_person):
    person = make_person(email="g@example.vn", unit=tree["district"])
    response = client.post(f"/admin/people/{person.id}/grant", data={"role-role": "unit_admin",
                                                                     "role-unit": tree["district"].id})
    assert response.status_code == 302
    assignment = db.session.scalar(sa.select(RoleAssignment).where(RoleAssignment.person_id == person.id,
                                                                   RoleAssignment.role == "unit_admin"))
    assert assignment.unit_id == tree["district"].id
    missing_unit = client.post(f"/admin/people/{person.id}/grant", data={"role-role": "unit_admin", "role-unit": "0"})
    assert missing_unit.status_code == 422
    assignment_id = assignment.id
    assert client.post(f"/admin/people/{person.id}/roles/{assignment_id}/revoke").status_code == 302
    assert db.session.get(RoleAssignment, assignment_id) is None
    other = make_person(email="o@example.vn", unit=tree["root"])
    foreign = other.roles[0].id
    assert client.post(f"/admin/people/{person.id}/roles/{foreign}/revoke").status_code == 404


def test_last_admin_cannot_lose_the_role_or_be_locked(client, admin, make_person, tree):
    assignment = admin.roles[0]
    response = client.post(f"/admin/people/{admin.id}/roles/{assignment.id}/revoke", follow_redirects=True)
    assert "quản trị hệ thống cuối cùng" in response.get_data(as_text=True)
    assert db.session.get(RoleAssignment, assignment.id) is not None
    assert client.post(f"/admin/people/{admin.id}/deactivate").status_code == 422


def test_deactivate_and_reactivate(app, client, admin, tree, make_person):
    person = make_person(email="d@example.vn", unit=tree["root"], key_cadre=True)
    their = app.test_client()
    their.post("/login", data={"email": "d@example.vn", "password": TEST_PASSWORD})
    assert client.post(f"/admin/people/{person.id}/deactivate").status_code == 302
    db.session.expire_all()
    person = db.session.get(Person, person.id)
    assert person.active is False and not person.is_key_cadre
    assert their.get("/account/password").status_code == 302
    assert count_rows(LoginSession) >= 1
    hidden = client.get("/admin/people/").get_data(as_text=True)
    assert "d@example.vn" not in hidden
    assert "d@example.vn" in client.get("/admin/people/?active=0").get_data(as_text=True)
    assert client.post(f"/admin/people/{person.id}/reactivate").status_code == 302
    db.session.expire_all()
    assert db.session.get(Person, person.id).active is True


def test_unknown_person_and_action(client, admin):
    assert client.get("/admin/people/999999").status_code == 404
    assert client.post("/admin/people/999999/edit").status_code == 404
    assert client.post(f"/admin/people/{admin.id}/explode").status_code == 404


def test_people_list_search_filters_and_pages(client, admin, tree, make_person):
    make_person(name="Nguyễn Văn Quyền", email="q@example.vn", unit=tree["commune"], key_cadre=True,
                category="legal_reporter")
    letters = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
    for i in range(30):
        make_person(name=f"Phạm Thị Mẫu {letters[i // 26]}{letters[i % 26]}", email=f"mau{i}@example.vn",
                    unit=tree["other"])
    found = client.get("/admin/people/?q=nguyen+van+QUYEN").get_data(as_text=True)
    assert "Nguyễn Văn Quyền" in found and "Tìm thấy 1 người." in found
    assert "Nguyễn Văn Quyền" in client.get("/admin/people/?q=" + unicodedata.normalize("NFD", "quyền")).get_data(as_text=True)
    subtree = client.get(f"/admin/people/?unit={tree['district'].id}").get_data(as_text=True)
    assert "Nguyễn Văn Quyền" in subtree and "Phạm Thị Mẫu" not in subtree
    assert "Tìm thấy 1 người." in client.get("/admin/people/?key=1").get_data(as_text=True)
    assert "Tìm thấy 1 người." in client.get("/admin/people/?title=legal_reporter").get_data(as_text=True)
    assert "Tìm thấy 1 người." in client.get("/admin/people/?role=admin").get_data(as_text=True)
    page1 = client.get("/admin/people/?q=mau").get_data(as_text=True)
    page2 = client.get("/admin/people/?q=mau&page=2").get_data(as_text=True)
    assert "Tìm thấy 30 người." in page1
    assert "Mẫu AA" in page1 and "Mẫu BD" not in page1 and "Mẫu BD" in page2
    for junk in ["?page=-5", "?page=abc", "?unit=abc", "?category=x", "?key=maybe", "?role=nobody", "?q=%25%25",
                 "?q=" + "a" * 5000, "?page=99999999999999999999"]:
        assert client.get("/admin/people/" + junk).status_code == 200, junk
    nul = client.get("/admin/people/?role=%00")
    assert nul.status_code == 400 and "Yêu cầu không hợp lệ" in nul.get_data(as_text=True)


def test_audit_log_records_and_filters(client, admin, tree, make_person):
    client.post("/admin/people/new", data={**GOOD, "unit": tree["root"].id})
    page = client.get("/admin/audit/").get_data(as_text=True)
    # labels, not codes; the filter offers every action by its label, grouped
    assert "<td>Tạo tài khoản</td>" in page and "Nguyễn Thị Hoa" in page and "<td>person.create" not in page
    assert '<option value="role.grant" >Cấp vai trò</option>' in page
    assert '<optgroup label="Khóa học">' in page  # the courses package registers its own
    filtered = client.get("/admin/audit/?action=unit.create").get_data(as_text=True)
    assert "<td>Tạo tài khoản</td>" not in filtered
    assert "<td>Tạo tài khoản</td>" in client.get("/admin/audit/?action=person.create").get_data(as_text=True)
    for junk in ["?from=yesterday", "?to=2024-99-99", "?actor=%25", "?page=0", "?action=" + "x" * 200]:
        assert client.get("/admin/audit/" + junk).status_code == 200


def test_audit_log_shows_role_names_in_the_interface_language(client, admin, tree, make_person):
    person = make_person(name="Lê Văn Cấp", email="cap@example.vn", unit=tree["root"])
    assert client.post(f"/admin/people/{person.id}/grant", data={"role-role": "trainer", "role-unit": 0}
                       ).status_code == 302
    page = client.get("/admin/audit/?action=role.grant").get_data(as_text=True)
    assert "<td>Cấp vai trò</td>" in page and "Lê Văn Cấp: Giảng viên" in page and ": trainer" not in page
    client.post("/language", data={"locale": "en"})
    page = client.get("/admin/audit/?action=role.grant").get_data(as_text=True)
    assert "<td>Grant role</td>" in page and "Lê Văn Cấp: Trainer" in page


def test_unit_admin_sees_only_their_audit_entries(client, unit_admin, tree, make_person):
    make_person(name="Trong Pham Vi", email="in@example.vn", unit=tree["commune"])
    make_person(name="Ngoai Pham Vi", email="out@example.vn", unit=tree["other"])
    page = client.get("/admin/audit/").get_data(as_text=True)
    assert "Trong Pham Vi" in page and "Ngoai Pham Vi" not in page
