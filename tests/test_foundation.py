"""The platform's foundations: dated periods never overlap, history is never deleted by a
cascade, the system actor is explicit (``None`` is nobody), the login loader writes nothing."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
import sqlalchemy as sa

from lms import tree
from lms.actors import SYSTEM
from lms.db import db, utcnow
from lms.errors import PermissionDenied, ServiceError
from lms.models import KeyCadrePeriod, LoginSession, Membership, Person, Unit, UnitLink
from lms.services import people as people_service
from lms.services import units as unit_service
from lms.services.auth import SEEN_EVERY, load_session, start_session
from tests.conftest import START, count_rows

D1 = date(2024, 6, 1)
D2 = date(2024, 9, 1)


def test_an_overlapping_membership_is_refused_with_a_message(session, make_unit, make_person):
    unit = make_unit()
    person = make_person(unit=unit)
    before = count_rows(Membership)
    session.add(Membership(person_id=person.id, unit_id=unit.id, valid_from=START - timedelta(days=10),
                           valid_to=START + timedelta(days=10)))
    with pytest.raises(ServiceError) as exc:
        session.flush()
    assert "trùng thời gian" in str(exc.value.message)
    assert "01/01/2024" in str(exc.value.message)
    session.rollback()
    assert count_rows(Membership) == before


def test_two_new_periods_of_one_new_person_are_compared_too(session, make_unit):
    unit = make_unit()
    person = Person(full_name="Người Mới", email="moi@example.vn", email_key="moi@example.vn")
    person.memberships.append(Membership(unit=unit, unit_id=unit.id, valid_from=D1))
    person.memberships.append(Membership(unit=unit, unit_id=unit.id, valid_from=D2))
    session.add(person)
    with pytest.raises(ServiceError):
        session.flush()
    session.rollback()


def test_adjacent_periods_are_not_an_overlap(session, make_unit, make_person):
    unit = make_unit()
    person = make_person(unit=unit)
    key = session.scalar(sa.select(KeyCadrePeriod).where(KeyCadrePeriod.person_id == person.id))
    assert key is None
    session.add(KeyCadrePeriod(person_id=person.id, valid_from=D1, valid_to=D2))
    session.add(KeyCadrePeriod(person_id=person.id, valid_from=D2))
    session.commit()
    assert count_rows(KeyCadrePeriod) == 2


def test_postgresql_refuses_an_overlap_even_behind_the_service(session, make_unit, make_person):
    """Two workers could each pass the service check; the exclusion constraint stops the second."""
    if db.engine.dialect.name != "postgresql":
        pytest.skip("the exclusion constraint is PostgreSQL's; SQLite has one writer at a time")
    unit = make_unit()
    person = make_person(unit=unit)
    with pytest.raises(sa.exc.IntegrityError):
        session.execute(sa.text("INSERT INTO memberships (person_id, unit_id, valid_from) VALUES (:p, :u, :d)"),
                        {"p": person.id, "u": unit.id, "d": D1})
    session.rollback()


@pytest.mark.parametrize("table", ["people", "units"])
def test_history_is_never_deleted_by_a_cascade(session, make_unit, make_person, table):
    parent = make_unit(code="CHA")
    unit = make_unit(code="CON", parent=parent)
    person = make_person(unit=unit, key_cadre=True)
    before = count_rows(Membership), count_rows(KeyCadrePeriod), count_rows(UnitLink)
    target = person.id if table == "people" else unit.id
    with pytest.raises(sa.exc.IntegrityError):
        session.execute(sa.text(f"DELETE FROM {table} WHERE id = :id"), {"id": target})
        session.flush()
    session.rollback()
    assert (count_rows(Membership), count_rows(KeyCadrePeriod), count_rows(UnitLink)) == before


def test_moving_back_on_the_same_day_leaves_one_membership(session, make_unit, make_person):
    a, b = make_unit(code="A"), make_unit(code="B")
    person = make_person(unit=a)
    people_service.move_person(session, SYSTEM, person, b, D1)
    people_service.move_person(session, SYSTEM, person, a, D1)
    session.commit()
    rows = session.execute(sa.select(Membership.unit_id, Membership.valid_from, Membership.valid_to)
                           .where(Membership.person_id == person.id)).all()
    assert rows == [(a.id, START, None)]


def test_moving_a_unit_back_on_the_same_day_leaves_one_link(session, make_unit):
    a, b = make_unit(code="A"), make_unit(code="B")
    unit = make_unit(code="U", parent=a)
    unit_service.move_unit(session, SYSTEM, unit, b, D1)
    unit_service.move_unit(session, SYSTEM, unit, a, D1)
    session.commit()
    assert [(link.valid_from, link.valid_to, p.code) for link, p in tree.unit_history(session, unit)] == [
        (START, None, "A")]


def test_the_cycle_check_is_one_query(session, make_unit):
    root = make_unit(code="ROOT")
    chain = [root]
    for n in range(8):
        chain.append(make_unit(code=f"L{n}", parent=chain[-1]))
    _ = chain[-1].id, root.id  # loaded before counting
    statements = []
    listener = lambda *args: statements.append(args[2])  # noqa: E731
    sa.event.listen(db.engine, "before_cursor_execute", listener)
    try:
        below = unit_service._is_below(session, chain[-1], root, D1)
    finally:
        sa.event.remove(db.engine, "before_cursor_execute", listener)
    assert below is True
    assert len(statements) == 1, statements
    with pytest.raises(ServiceError) as exc:
        unit_service.move_unit(session, SYSTEM, root, chain[-1], D1)
    assert exc.value.field == "parent"


def test_a_back_dated_move_may_not_make_a_past_cycle(session, make_unit):
    a, b = make_unit(code="A"), make_unit(code="B")
    unit_service.move_unit(session, SYSTEM, b, a, D2)  # B under A from D2
    session.commit()
    # A under B from D1 would make A -> B -> A on every day from D2
    with pytest.raises(ServiceError):
        unit_service.move_unit(session, SYSTEM, a, b, D1)
    session.rollback()


# -- the acting person is explicit ---------------------------------------------------------

def test_none_is_nobody_not_the_system(session, make_unit, make_person):
    unit = make_unit()
    person = make_person(unit=unit)
    with pytest.raises(PermissionDenied):
        unit_service.create_unit(session, None, name="Đơn vị X", code="X", kind="division", parent=None, on=D1)
    with pytest.raises(PermissionDenied):
        people_service.set_key_cadre(session, None, person, True, D1)
    session.rollback()
    assert session.scalar(sa.select(Unit.id).where(Unit.code == "X")) is None


def test_the_system_actor_may_act_and_is_logged_as_nobody(session, make_unit):
    from lms.models import AuditEntry

    unit = unit_service.create_unit(session, SYSTEM, name="Đơn vị Y", code="Y", kind="division", parent=None, on=D1)
    session.commit()
    entry = session.scalar(sa.select(AuditEntry).where(AuditEntry.action == "unit.create",
                                                       AuditEntry.object_id == unit.id))
    assert entry.actor_id is None


# -- the login loader reads only -----------------------------------------------------------

def test_loading_a_login_session_writes_nothing(app, session, make_person):
    person = make_person()
    now = utcnow()
    token = start_session(session, person, now=now)
    session.commit()
    later = now + SEEN_EVERY + timedelta(minutes=1)
    loaded = load_session(session, token, now=later)
    assert loaded is not None and loaded.login_session_id is not None
    assert not session.dirty and not session.new
    session.rollback()


def test_a_request_marks_the_session_seen_after_the_view(app, client, auth, make_person):
    person = make_person(email="seen@example.vn")
    assert auth.login(person.email).status_code == 302
    past = utcnow() - SEEN_EVERY - timedelta(minutes=5)
    db.session.execute(sa.update(LoginSession).values(last_seen_at=past))
    db.session.commit()
    response = client.get("/")
    assert response.status_code == 200
    db.session.expire_all()
    seen = db.session.scalar(sa.select(LoginSession.last_seen_at))
    assert seen > past + timedelta(minutes=4)
    # the browser's cookie slides with it; a page in between leaves the cookie alone
    assert "lms_session=" in response.headers.get("Set-Cookie", "")
    again = client.get("/")
    assert again.status_code == 200 and "Set-Cookie" not in again.headers
