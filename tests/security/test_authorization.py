"""Authorization: IDs outside a unit administrator's subtree, privilege escalation through roles,
accounts beyond one's rights, mass assignment, and rights that end while a session is open."""

from __future__ import annotations

from datetime import date

import pytest
import sqlalchemy as sa

from lms.actors import SYSTEM
from lms.db import db
from lms.models import AuditEntry, ImportBatch, ImportStatus, Person, Role, RoleAssignment
from lms.services import people as people_service
from tests.conftest import TEST_PASSWORD
from tests.security import import_token, login, roster_csv, snapshot, upload, world  # noqa: F401  (fixture)

NEW_PASSWORD = "Một-Mật-Khẩu-Khác-Hẳn-2031"
ACTIONS = ("edit", "move", "key-cadre", "password", "grant", "deactivate", "reactivate")


def _payload(action: str, world, person: Person) -> dict:
    """A form that would succeed if the actor were allowed to act on ``person``."""
    return {
        "edit": {"edit-full_name": "Tên Bị Sửa", "edit-email": "hijacked@example.vn", "edit-employment_type": "civil_servant"},
        "move": {"move-unit": world.u.id, "move-on": "2025-01-02"},
        "key-cadre": {"key-key_cadre": "0" if person.is_key_cadre else "1", "key-on": "2025-01-02"},
        "password": {"pw-password": NEW_PASSWORD},
        "grant": {"role-role": "unit_admin", "role-unit": world.u.id},
        "deactivate": {},
        "reactivate": {},
    }[action]


# -- a unit administrator and IDs outside their subtree ---------------------------------------

def test_person_outside_subtree_is_invisible(app, world):
    client = login(app, world.ua.email)
    assert client.get(f"/admin/people/{world.trainee_v.id}").status_code == 404
    assert client.get(f"/admin/people/{world.admin.id}").status_code == 404
    assert client.get(f"/admin/people/{world.trainee_u1.id}").status_code == 200  # the subtree is visible
    for query in ("", f"?unit={world.v.id}", f"?unit={world.root.id}", "?q=Ngoai", "?active=", "?key=1",
                  "?role=unit_admin"):
        html = client.get("/admin/people/" + query).get_data(as_text=True)
        assert world.trainee_v.full_name not in html and world.trainee_v.email not in html, query
        assert world.ua_v.email not in html, query


def test_every_person_action_refuses_ids_outside_subtree(app, world):
    client = login(app, world.ua.email)
    target = world.trainee_v
    for action in ACTIONS:  # "reactivate" last: it needs a locked account
        if action == "reactivate":
            target.active = False
            db.session.commit()
        before = snapshot()
        response = client.post(f"/admin/people/{target.id}/{action}", data=_payload(action, world, target))
        assert response.status_code == 404, action
        assert snapshot() == before, action


def test_revoke_refuses_ids_outside_subtree_and_mismatched_pairs(app, world):
    client = login(app, world.ua.email)
    before = snapshot()
    outside = world.trainee_v.roles[0]
    admins_role = next(r for r in world.admin.roles if r.role == Role.ADMIN)
    # the person outside the subtree, with their own assignment
    assert client.post(f"/admin/people/{world.trainee_v.id}/roles/{outside.id}/revoke").status_code == 404
    # a person inside the subtree, with someone else's assignment id (IDOR through the second id)
    assert client.post(f"/admin/people/{world.trainee_u.id}/roles/{outside.id}/revoke").status_code == 404
    assert client.post(f"/admin/people/{world.trainee_u.id}/roles/{admins_role.id}/revoke").status_code == 404
    assert client.post(f"/admin/people/{world.ua.id}/roles/{world.ua_v.roles[0].id}/revoke").status_code == 404
    assert snapshot() == before


@pytest.mark.parametrize("who", ["admin_in_u", "ua_high"])
def test_accounts_with_wider_rights_in_the_subtree_are_read_only(app, world, who):
    """An administrator, or the administrator of a unit above, who sits in the unit administrator's
    unit: visible, but no edit, password reset, lock or role change (account takeover)."""
    client = login(app, world.ua.email)
    target = getattr(world, who)
    page = client.get(f"/admin/people/{target.id}")
    assert page.status_code == 200
    assert f"/admin/people/{target.id}/password" not in page.get_data(as_text=True)
    for action in ACTIONS:
        if action == "reactivate":
            target.active = False
            db.session.commit()
        before = snapshot()
        response = client.post(f"/admin/people/{target.id}/{action}", data=_payload(action, world, target))
        assert response.status_code == 403, action
        assert snapshot() == before, action
    for assignment in target.roles:
        assert client.post(f"/admin/people/{target.id}/roles/{assignment.id}/revoke").status_code == 403
    assert snapshot() == before


def test_unit_outside_subtree_is_invisible_and_the_tree_is_read_only(app, world):
    client = login(app, world.ua.email)
    for unit in (world.v, world.root):
        assert client.get(f"/admin/units/{unit.id}").status_code == 404
    assert client.get(f"/admin/units/{world.u1.id}").status_code == 200
    html = client.get("/admin/units/?closed=1").get_data(as_text=True)
    assert world.v.name not in html and f"/admin/units/{world.v.id}" not in html
    before = snapshot()
    for unit in (world.u, world.v):
        assert client.post(f"/admin/units/{unit.id}/edit", data={
            "edit-name": "Đổi Tên", "edit-code": unit.code, "edit-kind": "district"}).status_code == 403
        assert client.post(f"/admin/units/{unit.id}/move", data={"move-parent": 0, "move-on": "2025-01-02"}
                           ).status_code == 403
        assert client.post(f"/admin/units/{unit.id}/merge", data={"merge-target": world.u1.id,
                                                                    "merge-on": "2025-01-02"}).status_code == 403
        assert client.post(f"/admin/units/{unit.id}/close", data={"close-on": "2025-01-02"}).status_code == 403
    assert client.post("/admin/units/new", data={"name": "Mới", "code": "NEW", "kind": "other", "parent": world.u.id,
                                                 "on": "2025-01-02"}).status_code == 403
    assert snapshot() == before


def test_cannot_move_a_person_into_a_unit_outside_subtree(app, world):
    client = login(app, world.ua.email)
    before = snapshot()
    for unit in (world.v, world.root):
        response = client.post(f"/admin/people/{world.trainee_u.id}/move",
                               data={"move-unit": unit.id, "move-on": "2025-01-02"})
        assert response.status_code == 422
    assert snapshot() == before


def test_cannot_create_people_outside_subtree_or_with_admin_rights(app, world):
    client = login(app, world.ua.email)
    base = {"full_name": "Người Mới Tạo", "email": "new@example.vn", "employment_type": "civil_servant", "on": "2025-01-02",
            "password": TEST_PASSWORD}
    before = snapshot()
    for extra in ({"unit": world.v.id, "roles": ["trainee"]}, {"unit": world.root.id, "roles": ["trainee"]},
                  {"unit": world.u.id, "roles": ["admin"]}, {"unit": world.u.id, "roles": ["trainee", "admin"]},
                  {"unit": world.u.id, "roles": ["unit_admin"]}):
        response = client.post("/admin/people/new", data={**base, **extra})
        assert response.status_code == 422, extra
    assert snapshot() == before
    assert people_service.find_by_email(db.session, "new@example.vn") is None


@pytest.mark.parametrize("target", ["ua", "trainee_u"])
def test_no_privilege_escalation_through_grants(app, world, target):
    """A unit administrator cannot make themselves (or anyone) an administrator, nor widen a
    unit administrator's scope beyond their own."""
    client = login(app, world.ua.email)
    person = getattr(world, target)
    before = snapshot()
    for role, unit in (("admin", None), ("admin", "u"), ("unit_admin", "root"), ("unit_admin", "v")):
        response = client.post(f"/admin/people/{person.id}/grant", data={
            "role-role": role, "role-unit": getattr(world, unit).id if unit else 0})
        assert response.status_code in (403, 422), (role, unit)
        assert snapshot() == before, (role, unit)
    # and their rights did not grow: the province root stays out of reach
    assert client.get(f"/admin/units/{world.root.id}").status_code == 404


def test_unit_admin_cannot_widen_their_own_reach(app, world):
    """The outside probe: a unit administrator gave herself the trainer role, then searched and
    enrolled people of the whole province. Neither self-grants nor trainer grants are allowed."""
    client = login(app, world.ua.email)
    before = snapshot()
    for role, unit in (("trainer", None), ("trainee", None), ("unit_admin", "u1")):
        response = client.post(f"/admin/people/{world.ua.id}/grant", data={
            "role-role": role, "role-unit": getattr(world, unit).id if unit else 0})
        assert response.status_code in (403, 422), role
        assert snapshot() == before, role
    # granting the trainer role to someone of her unit is refused too, with a message
    response = client.post(f"/admin/people/{world.trainee_u.id}/grant", data={"role-role": "trainer", "role-unit": 0})
    assert response.status_code == 422
    assert "Vai trò" in response.get_data(as_text=True)
    assert snapshot() == before
    # the grant form offers only what she may grant
    page = client.get(f"/admin/people/{world.trainee_u.id}").get_data(as_text=True)
    assert 'value="trainer"' not in page and 'value="admin"' not in page and 'value="trainee"' in page
    # an administrator cannot grant themselves a role either
    admin_client = login(app, world.admin.email)
    before = snapshot()
    response = admin_client.post(f"/admin/people/{world.admin.id}/grant", data={"role-role": "trainer", "role-unit": 0})
    assert response.status_code in (403, 422)
    assert "chính mình" in response.get_data(as_text=True)
    assert snapshot() == before


def test_roster_import_cannot_grant_roles_to_the_importer(app, world):
    from lms.services import roster

    db.session.expire_all()
    ua = db.session.get(Person, world.ua.id)
    csv = ("Họ và tên,Thư điện tử,Mã đơn vị,Vai trò\n"
           f"{ua.full_name},{ua.email},{world.u.code},Giảng viên\n").encode()
    preview = roster.check(db.session, ua, csv, "r.csv", today=date(2026, 1, 5))
    assert preview.rows[0].action == "error"
    assert any("chính mình" in str(p.message) for p in preview.rows[0].problems)
    # someone else of her unit: refused as well, the trainer role being the administrators' to give
    other = db.session.get(Person, world.trainee_u.id)
    csv = ("Họ và tên,Thư điện tử,Mã đơn vị,Vai trò\n"
           f"{other.full_name},{other.email},{world.u.code},Giảng viên\n").encode()
    preview = roster.check(db.session, ua, csv, "r.csv", today=date(2026, 1, 5))
    assert preview.rows[0].action == "error"
    assert any("Giảng viên" in str(p.message) for p in preview.rows[0].problems)


def test_granting_within_scope_still_works(app, world):
    """The refusals above are not a blanket refusal: scoped grants are allowed."""
    client = login(app, world.ua.email)
    response = client.post(f"/admin/people/{world.trainee_u.id}/grant",
                           data={"role-role": "unit_admin", "role-unit": world.u1.id})
    assert response.status_code == 302
    db.session.expire_all()
    assert {(r.role, r.unit_id) for r in db.session.get(Person, world.trainee_u.id).roles} >= {
        (Role.UNIT_ADMIN, world.u1.id)}


def test_unit_admin_of_a_sub_unit_cannot_touch_the_admin_above(app, world, make_person):
    """The administrator of U1 may not reset the password of U's administrator (who sits in U1)."""
    sub = make_person(name="Quản Trị Xã", email="uaxa@example.vn", unit=world.u1, roles=("unit_admin",))
    people_service.move_person(db.session, SYSTEM, world.ua, world.u1, world.ua.current_membership.valid_from)
    db.session.commit()
    client = login(app, sub.email)
    before = snapshot()
    assert client.post(f"/admin/people/{world.ua.id}/password", data={"pw-password": NEW_PASSWORD}
                       ).status_code == 403
    assert client.post(f"/admin/people/{world.ua.id}/deactivate").status_code == 403
    assert snapshot() == before


# -- trainees and trainers --------------------------------------------------------------------

@pytest.mark.parametrize("who", ["trainee_u", "trainer"])
def test_trainee_or_trainer_cannot_manage_even_themselves(app, world, who):
    person = getattr(world, who)
    client = login(app, person.email)
    before = snapshot()
    assert client.post(f"/admin/people/{person.id}/grant", data={"role-role": "admin", "role-unit": 0}
                       ).status_code == 403
    assert client.post(f"/admin/people/{person.id}/edit", data={
        "edit-full_name": "Tên Mới", "edit-email": person.email, "edit-employment_type": "civil_servant"}).status_code == 403
    assert client.post(f"/admin/people/{world.admin.id}/password", data={"pw-password": NEW_PASSWORD}
                       ).status_code == 403
    assert client.post(f"/admin/people/{person.id}/roles/{person.roles[0].id}/revoke").status_code == 403
    assert client.post("/admin/people/new", data={"full_name": "Ai Đó", "email": "x@example.vn",
                                                  "unit": world.u.id, "roles": ["admin"], "on": "2025-01-02",
                                                  "password": TEST_PASSWORD, "employment_type": "civil_servant"}
                       ).status_code == 403
    assert client.get("/admin/import/template.xlsx").status_code == 403
    assert client.get("/admin/audit/").status_code == 403
    assert snapshot() == before


# -- mass assignment --------------------------------------------------------------------------

def test_extra_form_fields_are_ignored_on_edit(app, world):
    client = login(app, world.ua.email)
    target = world.trainee_u
    response = client.post(f"/admin/people/{target.id}/edit", data={
        "edit-full_name": "Học Viên Đổi Tên", "edit-email": target.email, "edit-employment_type": "civil_servant",
        # fields that are not on the form
        "edit-active": "0", "edit-must_change_password": "0", "edit-password_hash": "x", "edit-email_key": "a@b.c",
        "edit-roles": "admin", "edit-role": "admin", "edit-unit": world.v.id, "edit-id": world.admin.id,
        "active": "0", "roles": "admin", "role-role": "admin", "unit": world.v.id, "id": world.admin.id,
        "must_change_password": "1", "search_text": "x",
    })
    assert response.status_code == 302
    db.session.expire_all()
    person = db.session.get(Person, target.id)
    assert person.full_name == "Học Viên Đổi Tên"
    assert person.active and person.must_change_password is False and person.email_key == target.email
    assert person.current_unit.id == world.u.id and person.role_set == {Role.TRAINEE}
    admin = db.session.get(Person, world.admin.id)
    assert admin.full_name == "Quản Trị Tỉnh"


def test_extra_form_fields_are_ignored_on_create(app, world):
    client = login(app, world.ua.email)
    response = client.post("/admin/people/new", data={
        "full_name": "Người Mới Tạo", "email": "new@example.vn", "employment_type": "civil_servant", "unit": world.u.id,
        "on": "2025-01-02", "roles": ["trainee"], "password": TEST_PASSWORD,
        "active": "0", "must_change_password": "0", "password_hash": "x", "role": "admin", "scope": world.root.id,
    })
    assert response.status_code == 302
    db.session.expire_all()
    person = people_service.find_by_email(db.session, "new@example.vn")
    assert person.active and person.must_change_password is True
    assert person.role_set == {Role.TRAINEE} and person.password_hash.startswith("$argon2")


# -- imports ----------------------------------------------------------------------------------

def test_import_tokens_of_another_uploader_are_not_usable(app, world):
    other = login(app, world.ua_v.email)
    response = upload(other, roster_csv(("Người Mới", "moi@example.vn", "V", "", "")))
    token = import_token(response)
    client = login(app, world.ua.email)
    boss = login(app, world.admin.email)
    before = snapshot()
    assert client.get(f"/admin/import/{token}").status_code == 404
    assert client.post(f"/admin/import/{token}/confirm", data={"password": TEST_PASSWORD}).status_code == 404
    assert client.post(f"/admin/import/{token}/discard").status_code == 404
    # an administrator cannot use someone else's pending upload either
    assert boss.post(f"/admin/import/{token}/confirm", data={"password": TEST_PASSWORD}).status_code == 404
    assert snapshot() == before
    assert db.session.scalar(sa.select(ImportBatch.status).where(ImportBatch.token == token)) == ImportStatus.PENDING


def test_import_rows_cannot_reach_outside_the_subtree_or_escalate(app, world):
    client = login(app, world.ua.email)
    before = snapshot()
    content = roster_csv(
        ("Tên Mới Của Người Ngoài", world.trainee_v.email, "U", "", ""),  # a person outside the subtree
        ("Quản Trị Ngồi Huyện", world.admin_in_u.email, "U", "", ""),  # an administrator inside it
        ("Người Mới Một", "moi1@example.vn", "V", "", ""),  # a unit outside it
        ("Người Mới Hai", "moi2@example.vn", "U", "quản trị hệ thống", ""),  # the administrator role
        ("Người Mới Ba", "moi3@example.vn", "U", "quản trị đơn vị", ""),  # fine on its own
        ("Học Viên Một", world.trainee_u.email, "U", "admin", ""),  # escalate an existing person
        ("Quản Trị Huyện Một", world.ua.email, "R", "", ""),  # move oneself above one's scope
    )
    response = upload(client, content)
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert "/confirm" not in html
    assert html.count("ngoài phạm vi bạn quản lý") == 2
    assert html.count("Bạn không có quyền cấp vai trò") == 2
    assert snapshot() == before


def test_import_template_lists_only_units_in_scope(app, world):
    import io

    import openpyxl

    client = login(app, world.ua.email)
    book = openpyxl.load_workbook(io.BytesIO(client.get("/admin/import/template.xlsx").data))
    sheet = book["Danh mục"]
    codes = {sheet.cell(row=r, column=1).value for r in range(2, sheet.max_row + 1)} - {None}
    names = {sheet.cell(row=r, column=2).value for r in range(2, sheet.max_row + 1)} - {None}
    assert codes == {"U", "U1"}
    assert world.v.name not in names and world.root.name not in names


# -- the audit log ----------------------------------------------------------------------------

def test_audit_log_shows_only_the_subtree(app, world):
    boss = login(app, world.admin.email)
    boss.post(f"/admin/people/{world.trainee_v.id}/edit", data={
        "edit-full_name": "Tên Bí Mật Ngoài", "edit-email": world.trainee_v.email, "edit-employment_type": "civil_servant"})
    assert db.session.scalar(sa.select(sa.func.count()).select_from(AuditEntry)
                             .where(AuditEntry.action == "person.update")) == 1
    client = login(app, world.ua.email)
    for query in ("", "?action=person.update", "?actor=Quan Tri Tinh", "?action=auth.failed"):
        html = client.get("/admin/audit/" + query).get_data(as_text=True)
        assert "Tên Bí Mật Ngoài" not in html and world.trainee_v.email not in html, query


def test_audit_actor_filter_is_not_an_oracle_for_other_peoples_contact_details(app, world):
    people_service.update_person(db.session, SYSTEM, world.admin, people_service.PersonInput(
        world.admin.full_name, world.admin.email, "0912 345 678", "Giám đốc Sở", "civil_servant"))
    db.session.commit()
    boss = login(app, world.admin.email)
    boss.post(f"/admin/people/{world.trainee_u.id}/key-cadre", data={"key-key_cadre": "1", "key-on": "2025-01-02"})
    client = login(app, world.ua.email)
    hit = client.get("/admin/audit/?actor=Quan Tri Tinh").get_data(as_text=True)
    assert "<td>Thay đổi cán bộ chủ chốt</td>" in hit  # the unit administrator may see who acted in their units
    # ... but the filter must not reveal data the unit administrator cannot see: the phone number
    # and e-mail address of an administrator outside their units.
    for probe, miss in (("0912345678", "0000000000"), ("admin@example", "zzzzz@example")):
        found = "<td>Thay đổi cán bộ chủ chốt</td>" in client.get(f"/admin/audit/?actor={probe}").get_data(as_text=True)
        not_found = "<td>Thay đổi cán bộ chủ chốt</td>" in client.get(f"/admin/audit/?actor={miss}").get_data(as_text=True)
        assert found == not_found, probe


# -- rights that end while a session is open --------------------------------------------------

def test_revoked_role_takes_effect_on_the_next_request(app, world):
    client = login(app, world.ua.email)
    assert client.get("/admin/people/").status_code == 200
    boss = login(app, world.admin.email)
    assignment = next(r for r in world.ua.roles if r.role == Role.UNIT_ADMIN)
    assert boss.post(f"/admin/people/{world.ua.id}/roles/{assignment.id}/revoke").status_code == 302
    assert client.get("/admin/people/").status_code == 403
    assert client.get(f"/admin/people/{world.trainee_u.id}").status_code == 403
    assert client.post(f"/admin/people/{world.trainee_u.id}/deactivate").status_code == 403
    db.session.expire_all()
    assert db.session.get(Person, world.trainee_u.id).active


def test_scope_follows_the_tree_when_a_unit_is_moved_away(app, world):
    client = login(app, world.ua.email)
    assert client.get(f"/admin/people/{world.trainee_u1.id}").status_code == 200
    boss = login(app, world.admin.email)
    assert boss.post(f"/admin/units/{world.u1.id}/move", data={"move-parent": world.v.id, "move-on": "2025-01-02"}
                     ).status_code == 302
    assert client.get(f"/admin/people/{world.trainee_u1.id}").status_code == 404
    assert client.post(f"/admin/people/{world.trainee_u1.id}/deactivate").status_code == 404


def test_role_assignment_ids_are_not_reused_for_other_people(app, world):
    """Revoking through the UI only ever deletes the row it names."""
    client = login(app, world.ua.email)
    target = world.trainee_u
    assignment = target.roles[0]
    assert client.post(f"/admin/people/{target.id}/roles/{assignment.id}/revoke").status_code == 302
    remaining = db.session.scalars(sa.select(RoleAssignment.person_id)).all()
    assert target.id not in remaining and world.trainee_v.id in remaining and world.admin.id in remaining


def test_a_pending_import_is_checked_again_against_the_scope_at_confirmation(app, world):
    """Upload while U1 is in scope, lose U1 (moved under V), confirm: nothing is written."""
    client = login(app, world.ua.email)
    response = upload(client, roster_csv(("Người Mới Xã", "moixa@example.vn", "U1", "", ""),
                                         ("Học Viên Xã", world.trainee_u1.email, "U1", "quản trị đơn vị", "")))
    token = import_token(response)
    boss = login(app, world.admin.email)
    assert boss.post(f"/admin/units/{world.u1.id}/move", data={"move-parent": world.v.id, "move-on": "2025-01-02"}
                     ).status_code == 302
    before = snapshot()
    response = client.post(f"/admin/import/{token}/confirm", data={"password": TEST_PASSWORD})
    assert response.status_code in (409, 422)
    after = snapshot()
    for state in (before, after):
        state.pop("batches")  # (the batch itself may be marked as used)
    assert after == before
    assert people_service.find_by_email(db.session, "moixa@example.vn") is None
    assert Role.UNIT_ADMIN not in db.session.get(Person, world.trainee_u1.id).role_set
