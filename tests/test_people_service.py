"""People service (lms/services/people.py): validation, edits, moves, key-cadre status,
activation, administrator-set passwords, roles, permissions and the audit trail."""

from __future__ import annotations

import unicodedata
from datetime import date, timedelta

import pytest
import sqlalchemy as sa

from lms.actors import SYSTEM
from lms.db import db
from lms.errors import PermissionDenied, ServiceError
from lms.models import (
    AuditEntry,
    EmploymentType,
    Gender,
    KeyCadrePeriod,
    LoginSession,
    Membership,
    Person,
    Role,
    RoleAssignment,
)
from lms.passwords import verify_password
from lms.services import people as svc
from lms.services.auth import load_session, start_session
from lms.services.people import PersonInput
from lms.services.units import close_unit
from lms.text import fold
from tests.conftest import START, TEST_PASSWORD, count_rows

D1 = date(2024, 3, 1)
D2 = date(2024, 6, 1)
OTHER_PASSWORD = "Cây-Tre-Làng-Việt-2029?"


def snapshot(session) -> dict[str, list[tuple]]:
    """Every row of every table, to show that a refused change left nothing behind."""
    session.expire_all()
    return {table.name: sorted((tuple(r) for r in session.execute(sa.select(table)).all()), key=repr)
            for table in db.metadata.sorted_tables}


def audit_entries(session, action: str, person: Person | None = None) -> list[AuditEntry]:
    stmt = sa.select(AuditEntry).where(AuditEntry.action == action).order_by(AuditEntry.id)
    if person is not None:
        stmt = stmt.where(AuditEntry.object_id == person.id, AuditEntry.object_type == "person")
    return list(session.scalars(stmt))


def memberships_of(session, person) -> list[tuple[int, date, date | None]]:
    rows = session.execute(
        sa.select(Membership.unit_id, Membership.valid_from, Membership.valid_to)
        .where(Membership.person_id == person.id).order_by(Membership.valid_from, Membership.id))
    return [tuple(r) for r in rows]


def key_periods_of(session, person) -> list[tuple[date, date | None]]:
    rows = session.execute(
        sa.select(KeyCadrePeriod.valid_from, KeyCadrePeriod.valid_to)
        .where(KeyCadrePeriod.person_id == person.id).order_by(KeyCadrePeriod.valid_from, KeyCadrePeriod.id))
    return [tuple(r) for r in rows]


def create(session, data: PersonInput, unit, actor=SYSTEM, **kwargs):
    kwargs.setdefault("password", TEST_PASSWORD)
    kwargs.setdefault("on", START)
    return svc.create_person(session, actor, data, unit=unit, **kwargs)


@pytest.fixture
def tree(make_unit):
    """ROOT -> A -> A1, ROOT -> B."""
    root = make_unit(name="Sở Tư pháp", code="ROOT", kind="department")
    a = make_unit(name="Phòng A", code="A", parent=root)
    a1 = make_unit(name="Tổ A1", code="A1", parent=a)
    b = make_unit(name="Phòng B", code="B", parent=root)
    return {"root": root, "a": a, "a1": a1, "b": b}


# -- create: validation -----------------------------------------------------------------------

def test_create_person_normalises_and_records(session, tree):
    name = unicodedata.normalize("NFD", "  Nguyễn   Văn  Đạt ")
    person = create(session, PersonInput(name, " Dat.Nguyen@Example.VN ", "0912 345 678", "  Chuyên viên  ",
                                         "civil_servant", "male"), tree["a"], key_cadre=True, on=D1,
                    roles=(Role.TRAINEE, Role.TRAINER))
    session.commit()
    session.expire_all()
    person = session.get(Person, person.id)
    assert person.full_name == "Nguyễn Văn Đạt"
    assert unicodedata.is_normalized("NFC", person.full_name)
    assert person.email == "Dat.Nguyen@example.vn"
    assert person.email_key == "dat.nguyen@example.vn"
    assert person.phone == "+84912345678"  # one stored form: E.164
    assert person.position == "Chuyên viên"
    assert person.employment_type == EmploymentType.CIVIL_SERVANT and person.gender == Gender.MALE
    assert person.active and person.must_change_password
    assert "nguyen van dat" in person.search_text and "0912345678" in person.search_text
    assert person.role_set == {Role.TRAINEE, Role.TRAINER}
    assert memberships_of(session, person) == [(tree["a"].id, D1, None)]
    assert key_periods_of(session, person) == [(D1, None)]
    assert verify_password(person.password_hash, TEST_PASSWORD)[0]
    created = audit_entries(session, "person.create", person)
    assert len(created) == 1 and created[0].unit_id == tree["a"].id
    assert created[0].details == {"unit": "A", "key_cadre": True, "on": D1.isoformat()}
    assert len(audit_entries(session, "role.grant", person)) == 2


@pytest.mark.parametrize("name, message", [
    ("", "Vui lòng nhập họ và tên."),
    ("   \t ", "Vui lòng nhập họ và tên."),
    ("\u200b\u202e", "Vui lòng nhập họ và tên."),
    (None, "Vui lòng nhập họ và tên."),
    ("A" * 201, "Họ và tên không được dài quá 200 ký tự."),
    ("<script>alert(1)</script>", "Họ và tên có ký tự “<” (U+003C) không được phép. Họ và tên chỉ được gồm"),
    ("Nguyễn Văn 2", "Họ và tên có ký tự “2” (U+0032) không được phép."),
    ("=cmd|' /C calc'!A0", "Họ và tên có ký tự “=” (U+003D) không được phép."),
    ("Trần_Thị", "Họ và tên có ký tự “_” (U+005F) không được phép."),
    ("...", "Vui lòng nhập họ và tên."),
    (12345, "Họ và tên có ký tự “1” (U+0031) không được phép."),
])
def test_create_refuses_bad_names(session, tree, name, message):
    before = snapshot(session)
    with pytest.raises(ServiceError) as exc:
        create(session, PersonInput(name, "ok@example.vn"), tree["a"])
    assert exc.value.field == "full_name"
    assert str(exc.value.message).startswith(message)
    session.rollback()
    assert snapshot(session) == before


@pytest.mark.parametrize("name", ["Nguyễn Thị Minh Khai", "O'Brien Hà", "Hoàng-Anh (Cô)", "Lê Đ. Thọ", "Ê" * 200])
def test_create_accepts_real_names(session, tree, name):
    person = create(session, PersonInput(name, "ok@example.vn"), tree["a"])
    assert person.full_name == name


@pytest.mark.parametrize("email", ["", "   ", None, "khong-co-a-cong", "a@b", "a b@example.vn", "<a>@example.vn",
                                   "a@exa mple.vn", "a@@example.vn", "x" * 250 + "@example.vn", 12345])
def test_create_refuses_bad_emails(session, tree, email):
    before = snapshot(session)
    with pytest.raises(ServiceError) as exc:
        create(session, PersonInput("Nguyễn Văn An", email), tree["a"])
    assert exc.value.field == "email"
    session.rollback()
    assert snapshot(session) == before


@pytest.mark.parametrize("other", ["AN@EXAMPLE.VN", "an@example.vn", " An@Example.Vn ", "an@EXAMPLE.vn"])
def test_emails_differing_only_by_case_are_one_identity(session, tree, other):
    first = create(session, PersonInput("Nguyễn Văn An", "An@example.vn"), tree["a"])
    session.commit()
    before = snapshot(session)
    with pytest.raises(ServiceError) as exc:
        create(session, PersonInput("Người Khác", other), tree["b"])
    assert exc.value.field == "email"
    assert "đã được dùng" in str(exc.value.message)
    session.rollback()
    assert snapshot(session) == before
    assert svc.find_by_email(session, other).id == first.id


@pytest.mark.parametrize("phone, stored", [
    ("0912345678", "+84912345678"),
    ("0912 345 678", "+84912345678"),
    ("+84 912.345.678", "+84912345678"),
    ("024-3825-1234", "+842438251234"),
    ("(024) 3825 1234", "+842438251234"),
    ("+84 (24) 3825 1234", "+842438251234"),
    ("", None),
    ("   ", None),
    (None, None),
])
def test_phone_formats_accepted(session, tree, phone, stored):
    person = create(session, PersonInput("Nguyễn Văn An", "an@example.vn", phone), tree["a"])
    assert person.phone == stored


@pytest.mark.parametrize("phone", ["abc", "12345", "091234567x", "+", "++84912345678", "0912<345>678",
                                   "1" * 21, "1------", "(((((((((", "()-()-()-()", "=1+2345678",
                                   "0912345678 ext 12"])
def test_phone_formats_refused(session, tree, phone):
    with pytest.raises(ServiceError) as exc:
        create(session, PersonInput("Nguyễn Văn An", "an@example.vn", phone), tree["a"])
    assert exc.value.field == "phone"
    session.rollback()
    assert count_rows(Person) == 0


@pytest.mark.parametrize("position", ["=cmd|' /C calc'!A0", "+SUM(A1)", "-2+3", "@SUM(1)", "x" * 201,
                                      "Trưởng\ue000phòng", "Tr\ufffdng phòng", "Phó\U000e0041"])
def test_formula_like_overlong_or_non_text_positions_refused(session, tree, position):
    with pytest.raises(ServiceError) as exc:
        create(session, PersonInput("Nguyễn Văn An", "an@example.vn", None, position), tree["a"])
    assert exc.value.field == "position"
    session.rollback()
    assert count_rows(Person) == 0


@pytest.mark.parametrize("position", ["<b>Trưởng</b>", "{{ 7*7 }}", "a > b", "{Phó}", "Phó & <i>Trưởng</i>"])
def test_markup_characters_in_a_position_are_text(session, tree, position):
    """Issue 7: < > { } & in a position are stored as written (escaped where shown)."""
    person = create(session, PersonInput("Nguyễn Văn An", "an@example.vn", None, position), tree["a"])
    assert person.position == position


def test_position_cleaned(session, tree):
    person = create(session, PersonInput("Nguyễn Văn An", "an@example.vn", None,
                                         unicodedata.normalize("NFD", " Phó\u200b  Trưởng phòng ")), tree["a"])
    assert person.position == "Phó Trưởng phòng"


@pytest.mark.parametrize("value", ["king", 5, "CIVIL_SERVANT", "official"])
def test_unknown_employment_type_refused(session, tree, value):
    with pytest.raises(ServiceError) as exc:
        create(session, PersonInput("Nguyễn Văn An", "an@example.vn", employment_type=value), tree["a"])
    assert exc.value.field == "employment_type"
    session.rollback()


@pytest.mark.parametrize("value", ["x", "FEMALE", 1])
def test_unknown_gender_refused(session, tree, value):
    with pytest.raises(ServiceError) as exc:
        create(session, PersonInput("Nguyễn Văn An", "an@example.vn", gender=value), tree["a"])
    assert exc.value.field == "gender"
    session.rollback()


def test_all_field_errors_are_reported_at_once(session, tree):
    create(session, PersonInput("Người Có Sẵn", "taken@example.vn"), tree["a"])
    session.commit()
    before = snapshot(session)
    with pytest.raises(ServiceError) as exc:
        create(session, PersonInput("", "TAKEN@example.vn", "abc", "=1", "nope", "?"), tree["a"])
    assert set(exc.value.errors) == {"full_name", "email", "phone", "position", "employment_type", "gender"}
    assert exc.value.field == "full_name"
    assert "đã được dùng" in str(exc.value.errors["email"])
    session.rollback()
    assert snapshot(session) == before


@pytest.mark.parametrize("password, message", [
    ("ngan", "Mật khẩu phải có ít nhất"),
    ("matkhau123", "quá phổ biến"),
    ("NguyenVanAn2028", "không được chứa tên"),
])
def test_create_applies_the_password_policy(session, tree, password, message):
    before = snapshot(session)
    with pytest.raises(ServiceError) as exc:
        create(session, PersonInput("Nguyễn Văn An", "an@example.vn"), tree["a"], password=password)
    assert exc.value.field == "password"
    assert message in str(exc.value.message)
    session.rollback()
    assert snapshot(session) == before


def test_create_in_a_closed_unit_refused(session, tree):
    close_unit(session, SYSTEM, tree["a1"], D1)
    session.commit()
    before = snapshot(session)
    with pytest.raises(ServiceError) as exc:
        create(session, PersonInput("Nguyễn Văn An", "an@example.vn"), tree["a1"], on=D2)
    assert exc.value.field == "unit"
    session.rollback()
    assert snapshot(session) == before


def test_nfd_name_is_found_by_folded_search(session, tree):
    person = create(session, PersonInput(unicodedata.normalize("NFD", "Trần Thị Thu Hà"), "ha@example.vn"), tree["a"])
    session.commit()
    for query in ("tran thi", "Trần Thị", unicodedata.normalize("NFD", "Thu Hà")):
        assert session.scalar(sa.select(Person.id).where(Person.search_text.contains(fold(query)))) == person.id


# -- update -----------------------------------------------------------------------------------

def test_update_person_returns_changes_and_audits(session, tree, make_person):
    person = make_person(name="Nguyễn Văn An", email="an@example.vn", unit=tree["a"])
    changed = svc.update_person(session, SYSTEM, person, PersonInput("Nguyễn Văn Ân", "An@Example.vn", "0912 345 678",
                                                                   "Chuyên viên", "worker", "male"))
    session.commit()
    assert changed == ["full_name", "email", "phone", "position", "employment_type", "gender"]
    assert person.email == "An@example.vn" and person.email_key == "an@example.vn"
    assert person.employment_type == EmploymentType.WORKER
    assert "nguyen van an" in person.search_text and "chuyen vien" in person.search_text
    entry = audit_entries(session, "person.update", person)[0]
    assert entry.unit_id == tree["a"].id
    assert entry.details["full_name"] == ["Nguyễn Văn An", "Nguyễn Văn Ân"]
    assert entry.details["phone"] == [None, "+84912345678"]
    assert entry.details["employment_type"] == [None, "worker"]


def test_update_without_change_writes_nothing(session, tree, make_person):
    person = make_person(name="Nguyễn Văn An", email="an@example.vn", unit=tree["a"])
    before = snapshot(session)
    assert svc.update_person(session, SYSTEM, person, PersonInput(" Nguyễn  Văn An ", "an@example.vn")) == []
    session.commit()
    assert snapshot(session) == before


def test_update_refuses_another_persons_email_and_bad_fields(session, tree, make_person):
    make_person(email="taken@example.vn", unit=tree["a"])
    person = make_person(name="Nguyễn Văn An", email="an@example.vn", unit=tree["a"])
    before = snapshot(session)
    with pytest.raises(ServiceError) as exc:
        svc.update_person(session, SYSTEM, person, PersonInput("Nguyễn Văn An", "Taken@Example.vn"))
    assert exc.value.field == "email"
    session.rollback()
    with pytest.raises(ServiceError) as exc:
        svc.update_person(session, SYSTEM, person, PersonInput("<img src=x>", "an@example.vn", position="=HYPERLINK()"))
    assert set(exc.value.errors) == {"full_name", "position"}
    session.rollback()
    assert snapshot(session) == before


# -- move -------------------------------------------------------------------------------------

def test_move_person_closes_and_opens_memberships(session, tree, make_person):
    person = make_person(unit=tree["a"])
    assert svc.move_person(session, SYSTEM, person, tree["b"], D1) is True
    session.commit()
    assert memberships_of(session, person) == [(tree["a"].id, START, D1), (tree["b"].id, D1, None)]
    assert person.current_unit.id == tree["b"].id
    entry = audit_entries(session, "person.move", person)[0]
    assert entry.details == {"from": "A", "to": "B", "on": D1.isoformat()} and entry.unit_id == tree["b"].id
    # already there: nothing happens
    before = snapshot(session)
    assert svc.move_person(session, SYSTEM, person, tree["b"], D2) is False
    session.commit()
    assert snapshot(session) == before


def test_move_person_refusals(session, tree, make_person):
    person = make_person(unit=tree["a"], on=D1)
    close_unit(session, SYSTEM, tree["a1"], D1)
    session.commit()
    before = snapshot(session)
    with pytest.raises(ServiceError) as exc:
        svc.move_person(session, SYSTEM, person, tree["b"], START)
    assert exc.value.field == "on"
    assert str(exc.value.message) == (
        "Ngày hiệu lực không được trước ngày bắt đầu của giai đoạn hiện tại (01/03/2024).")
    session.rollback()
    with pytest.raises(ServiceError) as exc:
        svc.move_person(session, SYSTEM, person, tree["a1"], D2)
    assert "giải thể hoặc sáp nhập" in str(exc.value.message)
    session.rollback()
    assert snapshot(session) == before


# -- key cadre --------------------------------------------------------------------------------

def test_set_key_cadre_on_and_off(session, tree, make_person):
    person = make_person(unit=tree["a"])
    assert svc.set_key_cadre(session, SYSTEM, person, True, D1) is True
    assert svc.set_key_cadre(session, SYSTEM, person, True, D2) is False  # already
    session.commit()
    assert person.is_key_cadre
    assert svc.set_key_cadre(session, SYSTEM, person, False, D2) is True
    assert svc.set_key_cadre(session, SYSTEM, person, False, D2) is False  # already not
    session.commit()
    assert not person.is_key_cadre
    assert key_periods_of(session, person) == [(D1, D2)]
    entries = audit_entries(session, "person.key_cadre", person)
    assert [e.details for e in entries] == [{"key_cadre": True, "on": D1.isoformat()},
                                            {"key_cadre": False, "on": D2.isoformat()}]


def test_key_cadre_dates_must_not_go_back(session, tree, make_person):
    person = make_person(unit=tree["a"], key_cadre=True, on=D1)
    before = snapshot(session)
    with pytest.raises(ServiceError) as exc:
        svc.set_key_cadre(session, SYSTEM, person, False, START)
    assert "Ngày hiệu lực không được trước" in str(exc.value.message)
    session.rollback()
    assert snapshot(session) == before
    svc.set_key_cadre(session, SYSTEM, person, False, D2)
    session.commit()
    before = snapshot(session)
    with pytest.raises(ServiceError) as exc:  # a new period may not start inside the ended one
        svc.set_key_cadre(session, SYSTEM, person, True, D1 + timedelta(days=10))
    assert "01/06/2024" in str(exc.value.message)
    session.rollback()
    assert snapshot(session) == before
    svc.set_key_cadre(session, SYSTEM, person, True, D2)
    session.commit()
    # switching back on the day it ended undoes the ending: one period, not two adjacent ones
    assert key_periods_of(session, person) == [(D1, None)]


def test_key_cadre_for_an_inactive_account_is_refused(session, tree, make_person, now):
    person = make_person(unit=tree["a"])
    svc.deactivate_person(session, SYSTEM, person, D1, now)
    session.commit()
    before = snapshot(session)
    with pytest.raises(ServiceError):
        svc.set_key_cadre(session, SYSTEM, person, True, D2)
    session.rollback()
    assert snapshot(session) == before


# -- deactivate / reactivate ------------------------------------------------------------------

def test_deactivate_ends_key_cadre_and_sessions(session, tree, make_person, now):
    admin = make_person(unit=tree["root"], roles=("admin",))
    person = make_person(unit=tree["a"], key_cadre=True)
    token = start_session(session, person, now=now)
    other_token = start_session(session, person, now=now)
    session.commit()
    assert load_session(session, token, now=now) is not None

    assert svc.deactivate_person(session, admin, person, D1, now) is True
    session.commit()
    assert not person.active
    assert key_periods_of(session, person) == [(START, D1)]
    assert memberships_of(session, person) == [(tree["a"].id, START, None)]  # history and unit kept
    assert load_session(session, token, now=now) is None
    assert load_session(session, other_token, now=now) is None
    assert all(s.revoked_at is not None for s in session.scalars(sa.select(LoginSession)))
    entry = audit_entries(session, "person.deactivate", person)[0]
    assert entry.actor_id == admin.id and entry.details == {"on": D1.isoformat()}
    assert audit_entries(session, "person.key_cadre", person)
    assert svc.deactivate_person(session, admin, person, D2, now) is False


def test_deactivate_on_the_day_key_cadre_started_leaves_no_period(session, tree, make_person, now):
    person = make_person(unit=tree["a"], key_cadre=True, on=D1)
    svc.deactivate_person(session, SYSTEM, person, D1, now)
    session.commit()
    assert key_periods_of(session, person) == []


def test_reactivate(session, tree, make_person, now):
    person = make_person(unit=tree["a"])
    assert svc.reactivate_person(session, SYSTEM, person) is False
    svc.deactivate_person(session, SYSTEM, person, D1, now)
    session.commit()
    assert svc.reactivate_person(session, SYSTEM, person) is True
    session.commit()
    assert person.active
    assert len(audit_entries(session, "person.reactivate", person)) == 1


def test_cannot_deactivate_yourself(session, tree, make_person, now):
    admin = make_person(unit=tree["root"], roles=("admin",))
    make_person(unit=tree["root"], roles=("admin",))
    unit_admin = make_person(unit=tree["a"], roles=("unit_admin",))
    before = snapshot(session)
    for actor in (admin, unit_admin):
        with pytest.raises(ServiceError) as exc:
            svc.deactivate_person(session, actor, actor, D1, now)
        assert "tự khóa" in str(exc.value.message)
        session.rollback()
    assert snapshot(session) == before


def test_last_active_administrator_cannot_be_deactivated(session, tree, make_person, now):
    admin = make_person(unit=tree["root"], roles=("admin",))
    before = snapshot(session)
    with pytest.raises(ServiceError) as exc:
        svc.deactivate_person(session, SYSTEM, admin, D1, now)
    assert "quản trị hệ thống cuối cùng" in str(exc.value.message)
    session.rollback()
    assert snapshot(session) == before
    second = make_person(unit=tree["root"], roles=("admin",))
    assert svc.deactivate_person(session, second, admin, D1, now) is True
    session.commit()
    # now ``second`` is the last active one
    with pytest.raises(ServiceError):
        svc.deactivate_person(session, SYSTEM, second, D1, now)
    session.rollback()
    assert second.active


# -- reset password ---------------------------------------------------------------------------

def test_reset_password(session, tree, make_person, now):
    admin = make_person(unit=tree["root"], roles=("admin",))
    person = make_person(name="Phạm Minh Châu", email="chau@example.vn", unit=tree["a"], must_change=False)
    token = start_session(session, person, now=now)
    session.commit()
    svc.reset_password(session, admin, person, OTHER_PASSWORD, now)
    session.commit()
    assert person.must_change_password
    assert verify_password(person.password_hash, OTHER_PASSWORD)[0]
    assert not verify_password(person.password_hash, TEST_PASSWORD)[0]
    assert load_session(session, token, now=now) is None
    entry = audit_entries(session, "person.reset_password", person)[0]
    assert entry.actor_id == admin.id
    assert OTHER_PASSWORD not in repr(entry.summary) + repr(entry.details)


@pytest.mark.parametrize("password", ["short", "password123", "PhamMinhChau-2028", "chau@example.vn-2028"])
def test_reset_password_applies_policy(session, tree, make_person, now, password):
    person = make_person(name="Phạm Minh Châu", email="chau@example.vn", unit=tree["a"])
    token = start_session(session, person, now=now)
    session.commit()
    before = snapshot(session)
    with pytest.raises(ServiceError) as exc:
        svc.reset_password(session, SYSTEM, person, password, now)
    assert exc.value.field == "password"
    session.rollback()
    assert snapshot(session) == before
    assert load_session(session, token, now=now) is not None


# -- roles ------------------------------------------------------------------------------------

def test_grant_and_revoke_roles(session, tree, make_person):
    person = make_person(unit=tree["a"])
    assignment = svc.grant_role(session, SYSTEM, person, "trainer")
    assert assignment is not None and assignment.unit_id is None
    assert svc.grant_role(session, SYSTEM, person, Role.TRAINER) is None  # already held
    scoped = svc.grant_role(session, SYSTEM, person, Role.UNIT_ADMIN, tree["a1"])
    session.commit()
    assert scoped.unit_id == tree["a1"].id
    assert person.role_set == {Role.TRAINEE, Role.TRAINER, Role.UNIT_ADMIN}
    # a second scope is a second assignment
    svc.grant_role(session, SYSTEM, person, Role.UNIT_ADMIN, tree["b"])
    session.commit()
    assert sorted(r.unit_id for r in person.roles if r.role == Role.UNIT_ADMIN) == sorted([tree["a1"].id, tree["b"].id])
    grants = audit_entries(session, "role.grant", person)
    assert [e.summary.split(": ")[1] for e in grants[-3:]] == ["trainer", "unit_admin A1", "unit_admin B"]
    assert grants[-2].unit_id == tree["a1"].id
    svc.revoke_role(session, SYSTEM, person, scoped)
    session.commit()
    assert {(r.role, r.unit_id) for r in person.roles} == {(Role.TRAINEE, None), (Role.TRAINER, None),
                                                          (Role.UNIT_ADMIN, tree["b"].id)}
    revoke = audit_entries(session, "role.revoke", person)[0]
    assert revoke.summary.endswith("unit_admin A1") and revoke.unit_id == tree["a1"].id


def test_grant_role_refusals(session, tree, make_person):
    person = make_person(unit=tree["a"])
    other = make_person(unit=tree["a"], roles=("trainer",))
    close_unit(session, SYSTEM, tree["a1"], D1)
    session.commit()
    before = snapshot(session)
    with pytest.raises(ServiceError) as exc:
        svc.grant_role(session, SYSTEM, person, "superuser")
    assert exc.value.field == "role"
    session.rollback()
    with pytest.raises(ServiceError) as exc:
        svc.grant_role(session, SYSTEM, person, Role.UNIT_ADMIN)
    assert exc.value.field == "unit"
    session.rollback()
    with pytest.raises(ServiceError) as exc:
        svc.grant_role(session, SYSTEM, person, Role.UNIT_ADMIN, tree["a1"])
    assert "giải thể" in str(exc.value.message)
    session.rollback()
    with pytest.raises(ServiceError) as exc:
        svc.revoke_role(session, SYSTEM, person, other.roles[0])
    assert exc.value.field == "role"
    session.rollback()
    assert snapshot(session) == before


def test_last_admin_role_cannot_be_revoked(session, tree, make_person):
    admin = make_person(unit=tree["root"], roles=("admin",))
    admin_role = next(r for r in admin.roles if r.role == Role.ADMIN)
    before = snapshot(session)
    with pytest.raises(ServiceError) as exc:
        svc.revoke_role(session, SYSTEM, admin, admin_role)
    assert "cuối cùng" in str(exc.value.message)
    session.rollback()
    assert snapshot(session) == before
    make_person(unit=tree["root"], roles=("admin",))
    svc.revoke_role(session, SYSTEM, admin, admin_role)
    session.commit()
    assert not admin.has_role(Role.ADMIN)


def test_granting_admin_to_someone_makes_them_manageable_by_admins_only(session, tree, make_person):
    unit_admin = make_person(unit=tree["a"], roles=("unit_admin",))
    person = make_person(unit=tree["a1"])
    svc.update_person(session, unit_admin, person, PersonInput("Tên Mới", person.email))
    svc.grant_role(session, SYSTEM, person, Role.ADMIN)
    session.commit()
    with pytest.raises(PermissionDenied):
        svc.update_person(session, unit_admin, person, PersonInput("Tên Khác", person.email))
    session.rollback()


# -- permissions ------------------------------------------------------------------------------

@pytest.fixture
def scoped(session, tree, make_person):
    """A unit administrator of A (A and A1) with people around them."""
    return {
        "actor": make_person(name="Quản Trị A", unit=tree["a"], roles=("unit_admin",)),
        "inside": make_person(name="Người Trong", unit=tree["a1"]),
        "outside": make_person(name="Người Ngoài", unit=tree["b"]),
        "admin_inside": make_person(name="Quản Trị Hệ Thống", unit=tree["a1"], roles=("admin",)),
        "wider": make_person(name="Quản Trị Sở", unit=tree["a"], roles=("unit_admin",), scope=tree["root"]),
        "peer": make_person(name="Quản Trị A Khác", unit=tree["a1"], roles=("unit_admin",), scope=tree["a"]),
        "narrower": make_person(name="Quản Trị A Một", unit=tree["a1"], roles=("unit_admin",), scope=tree["a1"]),
    }


def test_unit_admin_manages_people_inside_their_subtree(session, tree, scoped, now):
    actor, inside = scoped["actor"], scoped["inside"]
    person = create(session, PersonInput("Người Mới", "moi@example.vn"), tree["a1"], actor=actor,
                    roles=(Role.TRAINEE, Role.UNIT_ADMIN))
    assert {(r.role, r.unit_id) for r in person.roles} == {(Role.TRAINEE, None), (Role.UNIT_ADMIN, tree["a1"].id)}
    svc.update_person(session, actor, inside, PersonInput("Người Trong Sửa", inside.email))
    svc.move_person(session, actor, inside, tree["a"], D1)
    svc.set_key_cadre(session, actor, inside, True, D1)
    svc.reset_password(session, actor, inside, OTHER_PASSWORD, now)
    svc.grant_role(session, actor, inside, Role.UNIT_ADMIN, tree["a1"])
    svc.deactivate_person(session, actor, scoped["peer"], D1, now)  # same scope: allowed
    svc.revoke_role(session, actor, scoped["narrower"],
                    next(r for r in scoped["narrower"].roles if r.role == Role.UNIT_ADMIN))
    session.commit()
    assert inside.full_name == "Người Trong Sửa" and inside.is_key_cadre
    assert not scoped["peer"].active
    acted = session.scalars(sa.select(AuditEntry.action).where(AuditEntry.actor_id == actor.id)).all()
    assert set(acted) >= {"person.create", "role.grant", "person.update", "person.move", "person.key_cadre",
                          "person.reset_password", "person.deactivate", "role.revoke"}


def test_unit_admin_is_refused_outside_their_scope(session, tree, scoped, now):
    actor = scoped["actor"]
    before = snapshot(session)
    refused = [
        # outside the subtree
        lambda: create(session, PersonInput("Người Mới", "moi@example.vn"), tree["b"], actor=actor),
        lambda: create(session, PersonInput("Người Mới", "moi@example.vn"), tree["root"], actor=actor),
        lambda: svc.update_person(session, actor, scoped["outside"], PersonInput("X Y", scoped["outside"].email)),
        lambda: svc.move_person(session, actor, scoped["outside"], tree["a"], D1),
        lambda: svc.move_person(session, actor, scoped["inside"], tree["b"], D1),
        lambda: svc.set_key_cadre(session, actor, scoped["outside"], True, D1),
        lambda: svc.deactivate_person(session, actor, scoped["outside"], D1, now),
        lambda: svc.reset_password(session, actor, scoped["outside"], OTHER_PASSWORD, now),
        # the admin role
        lambda: create(session, PersonInput("Người Mới", "moi@example.vn"), tree["a"], actor=actor,
                       roles=(Role.TRAINEE, Role.ADMIN)),
        lambda: svc.grant_role(session, actor, scoped["inside"], Role.ADMIN),
        lambda: svc.grant_role(session, actor, scoped["inside"], Role.UNIT_ADMIN, tree["root"]),
        lambda: svc.grant_role(session, actor, scoped["inside"], Role.UNIT_ADMIN, tree["b"]),
        # the trainer role reaches the whole province; and nothing for oneself
        lambda: svc.grant_role(session, actor, scoped["inside"], Role.TRAINER),
        lambda: create(session, PersonInput("Người Mới", "moi@example.vn"), tree["a"], actor=actor,
                       roles=(Role.TRAINEE, Role.TRAINER)),
        lambda: svc.grant_role(session, actor, actor, Role.TRAINEE),
        lambda: svc.grant_role(session, actor, actor, Role.UNIT_ADMIN, tree["a1"]),
        # administrators and unit administrators of a wider scope
        lambda: svc.update_person(session, actor, scoped["admin_inside"], PersonInput("X Y", "x@example.vn")),
        lambda: svc.deactivate_person(session, actor, scoped["admin_inside"], D1, now),
        lambda: svc.reset_password(session, actor, scoped["admin_inside"], OTHER_PASSWORD, now),
        lambda: svc.revoke_role(session, actor, scoped["admin_inside"], scoped["admin_inside"].roles[0]),
        lambda: svc.deactivate_person(session, actor, scoped["wider"], D1, now),
        lambda: svc.set_key_cadre(session, actor, scoped["wider"], True, D1),
        lambda: svc.revoke_role(session, actor, scoped["wider"],
                                next(r for r in scoped["wider"].roles if r.role == Role.UNIT_ADMIN)),
    ]
    for attempt in refused:
        with pytest.raises(PermissionDenied):
            attempt()
        session.rollback()
    assert snapshot(session) == before


def test_narrower_unit_admin_cannot_manage_wider_one(session, tree, scoped, now):
    narrower, actor = scoped["narrower"], scoped["actor"]
    before = snapshot(session)
    with pytest.raises(PermissionDenied):
        svc.deactivate_person(session, narrower, scoped["peer"], D1, now)  # peer is in A1 but admin of A
    session.rollback()
    with pytest.raises(PermissionDenied):
        svc.move_person(session, narrower, actor, tree["a1"], D1)
    session.rollback()
    assert snapshot(session) == before


def test_trainer_manages_nobody(session, tree, make_person, now):
    trainer = make_person(unit=tree["a"], roles=("trainer",))
    person = make_person(unit=tree["a"])
    before = snapshot(session)
    with pytest.raises(PermissionDenied):
        create(session, PersonInput("Người Mới", "moi@example.vn"), tree["a"], actor=trainer)
    session.rollback()
    with pytest.raises(PermissionDenied):
        svc.update_person(session, trainer, person, PersonInput("X Y", person.email))
    session.rollback()
    with pytest.raises(PermissionDenied):
        svc.grant_role(session, trainer, person, Role.TRAINER)
    session.rollback()
    assert snapshot(session) == before


def test_every_change_by_an_actor_is_audited_with_that_actor(session, tree, make_person, now):
    admin = make_person(unit=tree["root"], roles=("admin",))
    session.commit()
    last_id = session.scalar(sa.select(sa.func.max(AuditEntry.id)))
    person = create(session, PersonInput("Đỗ Thị Lan", "lan@example.vn"), tree["a"], actor=admin)
    svc.update_person(session, admin, person, PersonInput("Đỗ Thị Lan Anh", "lan@example.vn"))
    svc.move_person(session, admin, person, tree["b"], D1)
    svc.set_key_cadre(session, admin, person, True, D1)
    svc.grant_role(session, admin, person, Role.TRAINER)
    svc.reset_password(session, admin, person, OTHER_PASSWORD, now)
    svc.deactivate_person(session, admin, person, D2, now)
    svc.reactivate_person(session, admin, person)
    svc.revoke_role(session, admin, person, next(r for r in person.roles if r.role == Role.TRAINER))
    session.commit()
    entries = session.scalars(sa.select(AuditEntry).where(AuditEntry.id > last_id).order_by(AuditEntry.id)).all()
    assert [e.action for e in entries] == [
        "person.create", "role.grant", "person.update", "person.move", "person.key_cadre", "role.grant",
        "person.reset_password", "person.key_cadre", "person.deactivate", "person.reactivate", "role.revoke"]
    assert {e.actor_id for e in entries} == {admin.id}
    assert {e.object_id for e in entries} == {person.id}
    assert count_rows(RoleAssignment) == 2


# -- the last administrator, under concurrency -------------------------------------------------

def _race(app, first, second):
    """Run ``first`` in one transaction and, while it is still open, ``second`` in another
    (another worker); returns what ``second`` ended with."""
    import threading

    from sqlalchemy.orm import Session as OrmSession

    s1, s2 = OrmSession(db.engine), OrmSession(db.engine)
    s2.execute(sa.text("SET lock_timeout = '20s'"))
    outcome = {}

    def run_second():
        with app.app_context():
            try:
                second(s2)
                s2.commit()
                outcome["done"] = True
            except ServiceError as exc:
                s2.rollback()
                outcome["refused"] = str(exc.message)

    try:
        first(s1)
        thread = threading.Thread(target=run_second)
        thread.start()
        thread.join(1.0)  # with row locks it waits here for the first transaction
        s1.commit()
        thread.join(30)
        assert not thread.is_alive()
    finally:
        s1.close()
        s2.close()
    return outcome


@pytest.fixture
def two_admins(session, tree, make_person):
    if session.get_bind().dialect.name != "postgresql":
        pytest.skip("concurrent writers are a PostgreSQL matter (SQLite has one writer at a time)")
    first = make_person(unit=tree["root"], roles=("admin",))
    second = make_person(unit=tree["root"], roles=("admin",))
    session.commit()
    return first.id, second.id


def _admins_left(session) -> int:
    session.expire_all()
    return session.scalar(sa.select(sa.func.count()).select_from(Person)
                          .join(RoleAssignment, RoleAssignment.person_id == Person.id).where(RoleAssignment.role == Role.ADMIN, Person.active.is_(True)))


def test_two_workers_locking_the_last_two_administrators_leave_one(app, session, two_admins, now):
    a, b = two_admins
    outcome = _race(app, lambda s: svc.deactivate_person(s, SYSTEM, s.get(Person, a), D1, now),
                    lambda s: svc.deactivate_person(s, SYSTEM, s.get(Person, b), D1, now))
    assert "cuối cùng" in outcome.get("refused", "")
    assert _admins_left(session) == 1


def test_two_workers_revoking_the_last_two_admin_roles_leave_one(app, session, two_admins):
    a, b = two_admins

    def revoke(person_id):
        def run(s):
            person = s.get(Person, person_id)
            svc.revoke_role(s, SYSTEM, person, next(r for r in person.roles if r.role == Role.ADMIN))
        return run

    outcome = _race(app, revoke(a), revoke(b))
    assert "cuối cùng" in outcome.get("refused", "")
    assert _admins_left(session) == 1


def test_locking_one_admin_while_another_loses_the_role_leaves_one(app, session, two_admins, now):
    a, b = two_admins

    def revoke_b(s):
        person = s.get(Person, b)
        svc.revoke_role(s, SYSTEM, person, next(r for r in person.roles if r.role == Role.ADMIN))

    outcome = _race(app, lambda s: svc.deactivate_person(s, SYSTEM, s.get(Person, a), D1, now), revoke_b)
    assert "cuối cùng" in outcome.get("refused", "")
    assert _admins_left(session) == 1
