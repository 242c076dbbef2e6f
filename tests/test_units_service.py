"""The organisation tree service (lms/services/units.py): validation, rename, move, merge,
close, and the dated queries "which units were under U on day D" / "who were the key cadres
of U's subtree on day D"."""

from __future__ import annotations

import unicodedata
from datetime import date, timedelta

import pytest
import sqlalchemy as sa

from lms import tree
from lms.actors import SYSTEM
from lms.db import db
from lms.errors import PermissionDenied, ServiceError
from lms.models import AuditEntry, KeyCadrePeriod, Membership, Role, RoleAssignment, Unit, UnitKind, UnitLink
from lms.services import units as svc
from lms.services.people import move_person, set_key_cadre
from tests.conftest import START, count_rows

D1 = date(2024, 3, 1)
D2 = date(2024, 6, 1)
D3 = date(2024, 9, 1)


def day_before(d: date) -> date:
    return d - timedelta(days=1)


def snapshot(session) -> dict[str, list[tuple]]:
    """Every row of every table, to show that a refused change left nothing behind."""
    session.expire_all()
    data = {}
    for table in db.metadata.sorted_tables:
        rows = session.execute(sa.select(table)).all()
        data[table.name] = sorted((tuple(r) for r in rows), key=repr)
    return data


def actions(session) -> list[str]:
    return list(session.scalars(sa.select(AuditEntry.action).order_by(AuditEntry.id)))


def links_of(session, unit) -> list[tuple[int, date, date | None]]:
    rows = session.execute(
        sa.select(UnitLink.parent_id, UnitLink.valid_from, UnitLink.valid_to)
        .where(UnitLink.unit_id == unit.id).order_by(UnitLink.valid_from, UnitLink.id)
    )
    return [tuple(r) for r in rows]


def memberships_of(session, person) -> list[tuple[int, date, date | None]]:
    rows = session.execute(
        sa.select(Membership.unit_id, Membership.valid_from, Membership.valid_to)
        .where(Membership.person_id == person.id).order_by(Membership.valid_from, Membership.id)
    )
    return [tuple(r) for r in rows]


def ids(items) -> set[int]:
    return {item.id for item in items}


# -- create -----------------------------------------------------------------------------------

def test_create_unit_normalises_and_records(session, make_unit):
    province = make_unit(name="Sở Tư pháp", code="STP", kind="department")
    nfd_name = unicodedata.normalize("NFD", "  Phòng   Phổ biến,\tgiáo dục pháp luật ")
    unit = svc.create_unit(session, SYSTEM, name=nfd_name, code=" pbgd-01 ", kind="division",
                           parent=province, on=D1)
    session.commit()

    assert unit.name == "Phòng Phổ biến, giáo dục pháp luật"
    assert unicodedata.is_normalized("NFC", unit.name)
    assert unit.code == "PBGD-01"
    assert unit.kind == UnitKind.DIVISION
    assert unit.parent_id == province.id and unit.active
    assert unit.search_text == "phong pho bien, giao duc phap luat pbgd-01"
    assert links_of(session, unit) == [(province.id, D1, None)]
    entry = session.scalars(sa.select(AuditEntry).where(AuditEntry.action == "unit.create",
                                                        AuditEntry.object_id == unit.id)).one()
    assert entry.details == {"parent": "STP", "on": D1.isoformat()}
    assert entry.actor_id is None


def test_create_root_unit_has_no_parent_link(session, make_unit):
    root = make_unit(name="UBND tỉnh", code="TINH", kind="province")
    assert root.parent_id is None
    assert links_of(session, root) == []
    assert tree.subtree_ids(session, root.id, on=START) == {root.id}


def test_html_in_a_unit_name_is_kept_as_text(session, make_unit):
    # Names are text: the templates escape them; the service neither strips nor interprets tags.
    unit = make_unit(name="<b>Phòng</b> & <script>alert(1)</script>", code="HTML")
    session.expire_all()
    assert session.get(Unit, unit.id).name == "<b>Phòng</b> & <script>alert(1)</script>"


@pytest.mark.parametrize("name", ["", "   ", "\u200b\u200f", None, "x" * 256])
def test_create_refuses_bad_names(session, make_unit, name):
    parent = make_unit()
    before = snapshot(session)
    with pytest.raises(ServiceError) as exc:
        svc.create_unit(session, SYSTEM, name=name, code="NEW", kind="division", parent=parent, on=START)
    assert exc.value.field == "name"
    assert "tên đơn vị" in str(exc.value.message).lower()
    session.rollback()
    assert snapshot(session) == before


def test_name_of_exactly_255_characters_is_accepted(session, make_unit):
    unit = make_unit(name="Đ" * 255, code="LONG")
    assert len(unit.name) == 255


def test_search_text_of_a_long_name_fits_its_column(session, make_unit):
    # Case folding can lengthen text ("ß" -> "ss", "ﬁ" -> "fi"); the folded index must still fit
    # units.search_text (300 characters) or PostgreSQL refuses the row.
    unit = make_unit(name="ß" * 255, code="FOLD")
    assert len(unit.search_text) <= Unit.search_text.type.length
    session.expire_all()
    assert session.get(Unit, unit.id).name == "ß" * 255


@pytest.mark.parametrize("code", ["", "  ", "ĐV1", "A B", "A/B", "-AB", ".AB", "A" * 33, "<script>", "AB;DROP"])
def test_create_refuses_bad_codes(session, make_unit, code):
    before = snapshot(session)
    with pytest.raises(ServiceError) as exc:
        svc.create_unit(session, SYSTEM, name="Phòng mới", code=code, kind="division", parent=None, on=START)
    assert exc.value.field == "code"
    session.rollback()
    assert snapshot(session) == before


def test_code_of_32_characters_and_punctuation_is_accepted(session, make_unit):
    unit = make_unit(code="a" * 28 + "_.-9")
    assert unit.code == "A" * 28 + "_.-9"


@pytest.mark.parametrize("dup", ["STP", "stp", " Stp "])
def test_duplicate_code_is_refused_whatever_the_case(session, make_unit, dup):
    make_unit(code="STP")
    with pytest.raises(ServiceError) as exc:
        svc.create_unit(session, SYSTEM, name="Khác", code=dup, kind="division", parent=None, on=START)
    assert exc.value.field == "code"
    assert "đã được dùng" in str(exc.value.message)
    session.rollback()
    assert count_rows(Unit) == 1


def test_create_refuses_unknown_kind_and_closed_parent(session, make_unit):
    parent = make_unit()
    with pytest.raises(ServiceError) as exc:
        svc.create_unit(session, SYSTEM, name="X", code="X1", kind="galaxy", parent=parent, on=START)
    assert exc.value.field == "kind"
    session.rollback()
    svc.close_unit(session, SYSTEM, parent, D1)
    session.commit()
    with pytest.raises(ServiceError) as exc:
        svc.create_unit(session, SYSTEM, name="X", code="X1", kind="division", parent=parent, on=D2)
    assert exc.value.field == "parent"
    assert "giải thể hoặc sáp nhập" in str(exc.value.message)
    session.rollback()
    assert count_rows(Unit) == 1


def test_only_administrators_edit_the_tree(session, make_unit, make_person):
    root = make_unit(code="ROOT")
    a = make_unit(code="A", parent=root)
    b = make_unit(code="B", parent=root)
    unit_admin = make_person(unit=root, roles=("unit_admin",))
    trainer = make_person(unit=root, roles=("trainer",))
    before = snapshot(session)
    for actor in (unit_admin, trainer):
        with pytest.raises(PermissionDenied):
            svc.create_unit(session, actor, name="X", code="X", kind="division", parent=root, on=D1)
        with pytest.raises(PermissionDenied):
            svc.update_unit(session, actor, a, name="Y", code="A", kind="division")
        with pytest.raises(PermissionDenied):
            svc.move_unit(session, actor, a, b, D1)
        with pytest.raises(PermissionDenied):
            svc.merge_unit(session, actor, a, b, D1)
        with pytest.raises(PermissionDenied):
            svc.close_unit(session, actor, a, D1)
        session.rollback()
    assert snapshot(session) == before
    admin = make_person(unit=root, roles=("admin",))
    unit = svc.create_unit(session, admin, name="X", code="X", kind="division", parent=root, on=D1)
    session.commit()
    assert session.scalars(sa.select(AuditEntry.actor_id).where(AuditEntry.action == "unit.create",
                                                               AuditEntry.object_id == unit.id)).one() == admin.id


# -- update -----------------------------------------------------------------------------------

def test_update_renames_recodes_and_keeps_history(session, make_unit, make_person):
    root = make_unit(code="ROOT")
    unit = make_unit(name="Phòng cũ", code="OLD", parent=root)
    person = make_person(unit=unit, key_cadre=True)
    svc.update_unit(session, SYSTEM, unit, name="Phòng  Mới", code="new", kind="center")
    session.commit()
    assert (unit.name, unit.code, unit.kind) == ("Phòng Mới", "NEW", UnitKind.CENTER)
    assert unit.search_text == "phong moi new"
    assert links_of(session, unit) == [(root.id, START, None)]
    assert ids(tree.key_cadres_on(session, root.id, START)) == {person.id}
    entry = session.scalars(sa.select(AuditEntry).where(AuditEntry.action == "unit.update")).one()
    assert entry.details == {
        "before": {"name": "Phòng cũ", "code": "OLD", "kind": "division", "official_code": None, "position": 0},
        "after": {"name": "Phòng Mới", "code": "NEW", "kind": "center", "official_code": None, "position": 0}}


def test_update_without_change_writes_no_audit_entry(session, make_unit):
    unit = make_unit(name="Phòng A", code="PA")
    svc.update_unit(session, SYSTEM, unit, name=" Phòng  A ", code="pa", kind="division")
    session.commit()
    assert "unit.update" not in actions(session)


def test_update_refuses_another_units_code_but_keeps_its_own(session, make_unit):
    make_unit(code="TAKEN")
    unit = make_unit(code="MINE")
    before = snapshot(session)
    with pytest.raises(ServiceError) as exc:
        svc.update_unit(session, SYSTEM, unit, name="X", code="taken", kind="division")
    assert exc.value.field == "code"
    session.rollback()
    assert snapshot(session) == before
    svc.update_unit(session, SYSTEM, unit, name="Tên mới", code="mine", kind="division")
    session.commit()
    assert unit.code == "MINE" and unit.name == "Tên mới"


# -- move -------------------------------------------------------------------------------------

def test_move_subtree_keeps_dated_history(session, make_unit, make_person):
    root = make_unit(code="ROOT")
    old_parent = make_unit(code="OLDP", parent=root)
    new_parent = make_unit(code="NEWP", parent=root)
    unit = make_unit(code="U", parent=old_parent)
    child = make_unit(code="UC", parent=unit)
    cadre = make_person(unit=child, key_cadre=True)
    member = make_person(unit=unit)

    svc.move_unit(session, SYSTEM, unit, new_parent, D1)
    session.commit()

    assert unit.parent_id == new_parent.id
    assert links_of(session, unit) == [(old_parent.id, START, D1), (new_parent.id, D1, None)]
    assert links_of(session, child) == [(unit.id, START, None)]
    # the tree as it stood on each day
    assert tree.subtree_ids(session, old_parent.id, on=day_before(D1)) == {old_parent.id, unit.id, child.id}
    assert tree.subtree_ids(session, old_parent.id, on=D1) == {old_parent.id}
    assert tree.subtree_ids(session, new_parent.id, on=day_before(D1)) == {new_parent.id}
    assert tree.subtree_ids(session, new_parent.id, on=D1) == {new_parent.id, unit.id, child.id}
    assert tree.subtree_ids(session, new_parent.id) == {new_parent.id, unit.id, child.id}
    assert tree.subtree_ids(session, root.id, on=D1) == {root.id, old_parent.id, new_parent.id, unit.id, child.id}
    # key cadres counted under the old parent before the move, the new one from it
    assert ids(tree.key_cadres_on(session, old_parent.id, day_before(D1))) == {cadre.id}
    assert tree.key_cadres_on(session, old_parent.id, D1) == []
    assert tree.key_cadres_on(session, new_parent.id, day_before(D1)) == []
    assert ids(tree.key_cadres_on(session, new_parent.id, D1)) == {cadre.id}
    assert ids(tree.members_on(session, old_parent.id, day_before(D1))) == {cadre.id, member.id}
    assert ids(tree.members_on(session, new_parent.id, D1)) == {cadre.id, member.id}
    assert ids(tree.key_cadres_on(session, root.id, D1)) == {cadre.id}
    entry = session.scalars(sa.select(AuditEntry).where(AuditEntry.action == "unit.move")).one()
    assert entry.details == {"from": "OLDP", "to": "NEWP", "on": D1.isoformat()}


def test_move_refuses_cycles(session, make_unit):
    root = make_unit(code="ROOT")
    unit = make_unit(code="U", parent=root)
    child = make_unit(code="UC", parent=unit)
    grandchild = make_unit(code="UGC", parent=child)
    before = snapshot(session)
    for target in (unit, child, grandchild):
        with pytest.raises(ServiceError) as exc:
            svc.move_unit(session, SYSTEM, unit, target, D1)
        assert exc.value.field == "parent"
        assert "chính nó hoặc đơn vị cấp dưới" in str(exc.value.message)
        session.rollback()
    assert snapshot(session) == before


def test_back_dated_move_refuses_a_cycle_in_the_past(session, make_unit, make_person):
    # B sat under A until D2. Putting A under B from D1 would make A and B each other's parent
    # between D1 and D2, and their people would drop out of the province's figures.
    root = make_unit(code="ROOT")
    a = make_unit(code="A", parent=root)
    b = make_unit(code="B", parent=a)
    cadre = make_person(unit=b, key_cadre=True)
    svc.move_unit(session, SYSTEM, b, root, D2)
    session.commit()
    assert tree.subtree_ids(session, a.id) == {a.id}  # no cycle in today's tree
    before = snapshot(session)
    with pytest.raises(ServiceError) as exc:
        svc.move_unit(session, SYSTEM, a, b, D1)
    assert exc.value.field == "parent"
    session.rollback()
    assert snapshot(session) == before
    svc.move_unit(session, SYSTEM, a, b, D2)  # from the day B left A, it is fine
    session.commit()
    for day in (START, D1, D2, D3):
        assert ids(tree.key_cadres_on(session, root.id, day)) == {cadre.id}


def test_move_refuses_same_parent_closed_target_and_closed_unit(session, make_unit):
    root = make_unit(code="ROOT")
    unit = make_unit(code="U", parent=root)
    closed = make_unit(code="GONE", parent=root)
    top = make_unit(code="R2")
    svc.close_unit(session, SYSTEM, closed, D1)
    session.commit()
    before = snapshot(session)
    with pytest.raises(ServiceError) as exc:
        svc.move_unit(session, SYSTEM, unit, root, D2)
    assert "đã trực thuộc" in str(exc.value.message)
    session.rollback()
    with pytest.raises(ServiceError) as exc:
        svc.move_unit(session, SYSTEM, unit, closed, D2)
    assert exc.value.field == "parent"
    session.rollback()
    with pytest.raises(ServiceError) as exc:
        svc.move_unit(session, SYSTEM, closed, unit, D2)
    assert exc.value.field == "unit"
    session.rollback()
    with pytest.raises(ServiceError) as exc:  # already at the top level
        svc.move_unit(session, SYSTEM, top, None, D2)
    assert "đã trực thuộc" in str(exc.value.message)
    session.rollback()
    assert snapshot(session) == before
    assert links_of(session, unit) == [(root.id, START, None)]


def test_move_to_the_top_level_ends_the_link(session, make_unit):
    root = make_unit(code="ROOT")
    unit = make_unit(code="U", parent=root)
    svc.move_unit(session, SYSTEM, unit, None, D1)
    session.commit()
    assert unit.parent_id is None
    assert links_of(session, unit) == [(root.id, START, D1)]
    assert tree.subtree_ids(session, root.id, on=D1) == {root.id}
    assert tree.subtree_ids(session, root.id, on=day_before(D1)) == {root.id, unit.id}


def test_move_before_the_open_link_started_is_refused(session, make_unit):
    a = make_unit(code="A")
    b = make_unit(code="B")
    unit = make_unit(code="U", parent=a, on=D2)
    before = snapshot(session)
    with pytest.raises(ServiceError) as exc:
        svc.move_unit(session, SYSTEM, unit, b, D1)
    assert exc.value.field == "on"
    # the unit did not exist yet on that day (and its parent link only starts on 01/06/2024)
    assert str(exc.value.message) == (
        "Ngày hiệu lực (01/03/2024) trước ngày thành lập đơn vị “Đơn vị 3” (01/06/2024).")
    session.rollback()
    assert snapshot(session) == before


def test_moving_a_top_level_unit_back_under_a_parent_may_not_overlap_its_old_period(session, make_unit, make_person):
    root = make_unit(code="ROOT")
    p, q = make_unit(code="P", parent=root), make_unit(code="Q", parent=root)
    unit = make_unit(code="U", parent=p)
    cadre = make_person(unit=unit, key_cadre=True)
    svc.move_unit(session, SYSTEM, unit, None, D2)
    session.commit()
    before = snapshot(session)
    with pytest.raises(ServiceError) as exc:
        svc.move_unit(session, SYSTEM, unit, q, D1)  # it was still under P on D1
    assert "01/06/2024" in str(exc.value.message)
    session.rollback()
    assert snapshot(session) == before
    svc.move_unit(session, SYSTEM, unit, q, D2)
    session.commit()
    assert links_of(session, unit) == [(p.id, START, D2), (q.id, D2, None)]
    for day in (D1, D2, D3):
        assert len(tree.key_cadres_on(session, root.id, day)) == 1
        assert len(tree.key_cadres_on(session, p.id, day)) + len(tree.key_cadres_on(session, q.id, day)) == 1
    assert ids(tree.key_cadres_on(session, q.id, D2)) == {cadre.id}


def test_same_day_moves_leave_no_zero_length_links(session, make_unit):
    a, b, c = make_unit(code="A"), make_unit(code="B"), make_unit(code="C")
    unit = make_unit(code="U", parent=a)
    # moved on the day it was created: the first link is replaced, not closed on the same day
    svc.move_unit(session, SYSTEM, unit, b, START)
    session.commit()
    assert links_of(session, unit) == [(b.id, START, None)]
    # moved twice on one later day: only the last move of the day remains
    svc.move_unit(session, SYSTEM, unit, c, D1)
    svc.move_unit(session, SYSTEM, unit, a, D1)
    session.commit()
    assert links_of(session, unit) == [(b.id, START, D1), (a.id, D1, None)]
    assert count_rows(UnitLink) == 2
    assert tree.subtree_ids(session, c.id, on=D1) == {c.id}
    assert tree.subtree_ids(session, a.id, on=D1) == {a.id, unit.id}


# -- merge ------------------------------------------------------------------------------------

@pytest.fixture
def merge_setup(session, make_unit, make_person):
    """Two districts; commune S (with sub-unit S1) under the first merges into T under the second."""
    root = make_unit(code="TINH", kind="province")
    p1 = make_unit(code="H1", parent=root, kind="district")
    p2 = make_unit(code="H2", parent=root, kind="district")
    source = make_unit(code="S", parent=p1, kind="commune")
    child = make_unit(code="S1", parent=source)
    target = make_unit(code="T", parent=p2, kind="commune")
    cadre = make_person(name="Cán Bộ A", unit=source, key_cadre=True)
    plain = make_person(name="Nhân Viên B", unit=source)
    child_cadre = make_person(name="Cán Bộ C", unit=child, key_cadre=True)
    source_admin = make_person(name="Quản Trị S", unit=p1, roles=("unit_admin",), scope=source)
    child_admin = make_person(name="Quản Trị S Một", unit=p1, roles=("unit_admin",), scope=child)
    return dict(root=root, p1=p1, p2=p2, source=source, child=child, target=target, cadre=cadre, plain=plain,
                child_cadre=child_cadre, source_admin=source_admin, child_admin=child_admin)


def test_merge_moves_people_and_sub_units_from_the_day(session, merge_setup):
    s = merge_setup
    source, target, child = s["source"], s["target"], s["child"]
    result = svc.merge_unit(session, SYSTEM, source, target, D1)
    session.commit()

    assert result == {"people": 2, "units": 1, "roles": 1}
    assert not source.active and source.closed_on == D1 and source.merged_into_id == target.id
    # earlier periods kept, new ones from the merge date
    assert memberships_of(session, s["cadre"]) == [(source.id, START, D1), (target.id, D1, None)]
    assert memberships_of(session, s["plain"]) == [(source.id, START, D1), (target.id, D1, None)]
    assert memberships_of(session, s["child_cadre"]) == [(child.id, START, None)]
    assert child.parent_id == target.id
    assert links_of(session, child) == [(source.id, START, D1), (target.id, D1, None)]
    assert links_of(session, source) == [(s["p1"].id, START, D1)]
    # unit-admin rights scoped to the merged unit are gone; those of its sub-unit stay
    assert not s["source_admin"].has_role(Role.UNIT_ADMIN)
    assert {(r.role, r.unit_id) for r in s["child_admin"].roles} == {(Role.UNIT_ADMIN, child.id)}
    assert session.scalar(sa.select(sa.func.count()).select_from(RoleAssignment)
                          .where(RoleAssignment.unit_id == source.id)) == 0
    acts = actions(session)
    assert acts[-2:] == ["role.revoke", "unit.merge"]
    merge_entry = session.scalars(sa.select(AuditEntry).where(AuditEntry.action == "unit.merge")).one()
    assert merge_entry.object_id == source.id and merge_entry.unit_id == target.id
    assert merge_entry.details == {"people": 2, "units": 1, "roles": 1, "on": D1.isoformat()}


def test_merge_counts_key_cadres_under_source_before_and_target_after(session, merge_setup):
    s = merge_setup
    source, target = s["source"], s["target"]
    svc.merge_unit(session, SYSTEM, source, target, D1)
    session.commit()
    cadres = {s["cadre"].id, s["child_cadre"].id}
    before, on = day_before(D1), D1
    assert ids(tree.key_cadres_on(session, source.id, before)) == cadres
    assert tree.key_cadres_on(session, source.id, on) == []
    assert tree.key_cadres_on(session, target.id, before) == []
    assert ids(tree.key_cadres_on(session, target.id, on)) == cadres
    assert ids(tree.key_cadres_on(session, s["p1"].id, before)) == cadres
    assert tree.key_cadres_on(session, s["p1"].id, on) == []
    assert ids(tree.key_cadres_on(session, s["p2"].id, on)) == cadres
    # the province counts them on both sides of the date, each once
    for day in (before, on, D3):
        found = tree.key_cadres_on(session, s["root"].id, day)
        assert ids(found) == cadres and len(found) == 2
    assert ids(tree.members_on(session, source.id, before)) == {s["cadre"].id, s["plain"].id, s["child_cadre"].id}
    assert tree.members_on(session, source.id, on) == []
    assert ids(tree.members_on(session, target.id, on)) == {s["cadre"].id, s["plain"].id, s["child_cadre"].id}
    assert tree.subtree_ids(session, s["p1"].id, on=on) == {s["p1"].id}


def test_merge_on_the_day_people_joined_leaves_no_zero_length_period(session, make_unit, make_person):
    source, target = make_unit(code="S"), make_unit(code="T")
    child = make_unit(code="S1", parent=source, on=D1)
    newcomer = make_person(unit=source, on=D1, key_cadre=True)
    svc.merge_unit(session, SYSTEM, source, target, D1)
    session.commit()
    assert memberships_of(session, newcomer) == [(target.id, D1, None)]
    assert links_of(session, child) == [(target.id, D1, None)]
    assert ids(tree.key_cadres_on(session, target.id, D1)) == {newcomer.id}
    assert tree.key_cadres_on(session, source.id, D1) == []


def test_merge_refusals(session, merge_setup, make_unit):
    s = merge_setup
    source, target, child = s["source"], s["target"], s["child"]
    closed = make_unit(code="GONE")
    svc.close_unit(session, SYSTEM, closed, D1)
    session.commit()
    before = snapshot(session)
    cases = [
        (source, source, "chính nó"),
        (source, child, "cấp dưới"),
        (s["p1"], source, "cấp dưới"),
        (source, closed, "giải thể hoặc sáp nhập"),
        (closed, target, "giải thể hoặc sáp nhập"),
    ]
    for src, dst, text in cases:
        with pytest.raises(ServiceError) as exc:
            svc.merge_unit(session, SYSTEM, src, dst, D2)
        assert text in str(exc.value.message)
        session.rollback()
    assert snapshot(session) == before


def test_merge_before_a_members_start_is_refused_and_changes_nothing(session, merge_setup, make_person):
    s = merge_setup
    make_person(unit=s["source"], on=D2)
    before = snapshot(session)
    with pytest.raises(ServiceError) as exc:
        svc.merge_unit(session, SYSTEM, s["source"], s["target"], D1)
    assert "Ngày hiệu lực không được trước" in str(exc.value.message)
    session.rollback()
    assert snapshot(session) == before


def test_merge_before_a_sub_units_link_started_is_refused(session, merge_setup, make_unit):
    s = merge_setup
    make_unit(code="LATE", parent=s["source"], on=D2)
    before = snapshot(session)
    with pytest.raises(ServiceError):
        svc.merge_unit(session, SYSTEM, s["source"], s["target"], D1)
    session.rollback()
    assert snapshot(session) == before


def test_merge_dated_before_someone_left_the_source_is_refused(session, make_unit, make_person):
    # The person was in S until D2; merging S away on D1 would leave them, between D1 and D2,
    # in a unit that no longer sits anywhere in the tree (counted under nobody).
    parent = make_unit(code="P")
    source, target, elsewhere = (make_unit(code=c, parent=parent) for c in ("S", "T", "E"))
    person = make_person(unit=source, key_cadre=True)
    move_person(session, SYSTEM, person, elsewhere, D2)
    session.commit()
    before = snapshot(session)
    with pytest.raises(ServiceError) as exc:
        svc.merge_unit(session, SYSTEM, source, target, D1)
    assert exc.value.field == "on"
    session.rollback()
    assert snapshot(session) == before
    for day in (START, D1, D2, D3):
        assert ids(tree.key_cadres_on(session, parent.id, day)) == {person.id}
    svc.merge_unit(session, SYSTEM, source, target, D2)
    session.commit()
    for day in (START, D1, D2, D3):
        assert ids(tree.key_cadres_on(session, parent.id, day)) == {person.id}


# -- close ------------------------------------------------------------------------------------

def test_close_refused_with_people_or_active_children(session, make_unit, make_person):
    root = make_unit(code="ROOT")
    unit = make_unit(code="U", parent=root)
    child = make_unit(code="UC", parent=unit)
    person = make_person(unit=unit)
    before = snapshot(session)
    with pytest.raises(ServiceError) as exc:
        svc.close_unit(session, SYSTEM, unit, D1)
    assert str(exc.value.message).startswith("Đơn vị còn 1 người.")
    session.rollback()
    assert snapshot(session) == before

    move_person(session, SYSTEM, person, root, D1)
    session.commit()
    before = snapshot(session)
    with pytest.raises(ServiceError) as exc:
        svc.close_unit(session, SYSTEM, unit, D2)
    assert "đơn vị trực thuộc" in str(exc.value.message)
    session.rollback()
    assert snapshot(session) == before

    svc.close_unit(session, SYSTEM, child, D2)
    svc.close_unit(session, SYSTEM, unit, D2)  # a closed child does not block
    session.commit()
    assert not unit.active and unit.closed_on == D2
    assert links_of(session, unit) == [(root.id, START, D2)]
    assert tree.subtree_ids(session, root.id, on=day_before(D2)) == {root.id, unit.id, child.id}
    assert tree.subtree_ids(session, root.id, on=D2) == {root.id}
    assert actions(session)[-2:] == ["unit.close", "unit.close"]
    with pytest.raises(ServiceError):
        svc.close_unit(session, SYSTEM, unit, D3)
    session.rollback()


def test_close_revokes_unit_admin_rights_scoped_to_it(session, make_unit, make_person):
    root = make_unit(code="ROOT")
    unit = make_unit(code="U", parent=root)
    admin_of_unit = make_person(unit=root, roles=("unit_admin",), scope=unit)
    svc.close_unit(session, SYSTEM, unit, D1)
    session.commit()
    assert not admin_of_unit.has_role(Role.UNIT_ADMIN)
    assert "role.revoke" in actions(session)


def test_close_before_the_link_started_is_refused(session, make_unit):
    root = make_unit(code="ROOT")
    unit = make_unit(code="U", parent=root, on=D2)
    before = snapshot(session)
    with pytest.raises(ServiceError) as exc:
        svc.close_unit(session, SYSTEM, unit, D1)
    assert "Ngày hiệu lực" in str(exc.value.message)
    session.rollback()
    assert snapshot(session) == before


def test_close_dated_before_someone_left_is_refused(session, make_unit, make_person):
    parent = make_unit(code="P")
    unit, other = make_unit(code="U", parent=parent), make_unit(code="O", parent=parent)
    person = make_person(unit=unit, key_cadre=True)
    move_person(session, SYSTEM, person, other, D2)
    session.commit()
    before = snapshot(session)
    with pytest.raises(ServiceError) as exc:
        svc.close_unit(session, SYSTEM, unit, D1)
    assert exc.value.field == "on"
    assert "02/06/2024" not in str(exc.value.message) and "01/06/2024" in str(exc.value.message)
    session.rollback()
    assert snapshot(session) == before
    svc.close_unit(session, SYSTEM, unit, D2)
    session.commit()
    assert not unit.active


def test_close_dated_before_a_sub_unit_left_is_refused(session, make_unit):
    parent = make_unit(code="P")
    unit = make_unit(code="U", parent=parent)
    child = make_unit(code="UC", parent=unit)
    svc.move_unit(session, SYSTEM, child, parent, D2)
    session.commit()
    with pytest.raises(ServiceError):
        svc.close_unit(session, SYSTEM, unit, D1)
    session.rollback()
    svc.close_unit(session, SYSTEM, unit, D3)
    session.commit()
    assert unit.closed_on == D3


def test_key_cadres_around_a_closure(session, make_unit, make_person):
    root = make_unit(code="ROOT")
    p, q = make_unit(code="P", parent=root), make_unit(code="Q", parent=root)
    unit = make_unit(code="U", parent=p)
    cadre = make_person(unit=unit, key_cadre=True)
    move_person(session, SYSTEM, cadre, q, D1)
    svc.close_unit(session, SYSTEM, unit, D2)
    session.commit()
    assert ids(tree.key_cadres_on(session, p.id, day_before(D1))) == {cadre.id}
    assert ids(tree.key_cadres_on(session, unit.id, day_before(D1))) == {cadre.id}
    assert tree.key_cadres_on(session, p.id, D1) == []
    assert ids(tree.key_cadres_on(session, q.id, D1)) == {cadre.id}
    assert tree.key_cadres_on(session, unit.id, D3) == []
    assert tree.subtree_ids(session, p.id, on=D2) == {p.id}
    assert ids(tree.key_cadres_on(session, root.id, D3)) == {cadre.id}


# -- dated people history ---------------------------------------------------------------------

def test_person_moved_counts_in_old_unit_before_and_new_unit_from_the_day(session, make_unit, make_person):
    root = make_unit(code="ROOT")
    old, new = make_unit(code="OLD", parent=root), make_unit(code="NEW", parent=root)
    cadre = make_person(unit=old, key_cadre=True)
    move_person(session, SYSTEM, cadre, new, D1)
    session.commit()
    assert memberships_of(session, cadre) == [(old.id, START, D1), (new.id, D1, None)]
    assert ids(tree.key_cadres_on(session, old.id, day_before(D1))) == {cadre.id}
    assert tree.key_cadres_on(session, old.id, D1) == []
    assert tree.key_cadres_on(session, new.id, day_before(D1)) == []
    assert ids(tree.key_cadres_on(session, new.id, D1)) == {cadre.id}
    assert ids(tree.members_on(session, old.id, day_before(D1))) == {cadre.id}
    assert tree.members_on(session, old.id, D1) == []
    assert ids(tree.members_on(session, new.id, D1)) == {cadre.id}
    assert tree.key_cadres_on(session, root.id, day_before(START)) == []


def test_key_cadre_period_ended_and_started_later(session, make_unit, make_person):
    unit = make_unit(code="U")
    ended = make_person(unit=unit, key_cadre=True)
    later = make_person(unit=unit)
    set_key_cadre(session, SYSTEM, ended, False, D1)
    set_key_cadre(session, SYSTEM, later, True, D2)
    session.commit()
    assert ids(tree.key_cadres_on(session, unit.id, day_before(D1))) == {ended.id}
    assert tree.key_cadres_on(session, unit.id, D1) == []
    assert tree.key_cadres_on(session, unit.id, day_before(D2)) == []
    assert ids(tree.key_cadres_on(session, unit.id, D2)) == {later.id}
    assert ids(tree.members_on(session, unit.id, D2)) == {ended.id, later.id}


def test_same_day_person_changes_leave_no_zero_length_rows(session, make_unit, make_person):
    a, b, c = make_unit(code="A"), make_unit(code="B"), make_unit(code="C")
    person = make_person(unit=a)
    # two moves on one day: only the last remains
    move_person(session, SYSTEM, person, b, D1)
    move_person(session, SYSTEM, person, c, D1)
    # made key cadre and taken off again on one day: nothing remains
    set_key_cadre(session, SYSTEM, person, True, D2)
    set_key_cadre(session, SYSTEM, person, False, D2)
    session.commit()
    assert memberships_of(session, person) == [(a.id, START, D1), (c.id, D1, None)]
    assert tree.members_on(session, b.id, D1) == []
    assert session.scalars(sa.select(KeyCadrePeriod).where(KeyCadrePeriod.person_id == person.id)).all() == []
    assert tree.key_cadres_on(session, c.id, D2) == []
    zero = sa.select(sa.func.count()).select_from(Membership).where(Membership.valid_to == Membership.valid_from)
    assert session.scalar(zero) == 0


def test_key_cadre_off_then_on_the_same_day_counts_once(session, make_unit, make_person):
    unit = make_unit(code="U")
    cadre = make_person(unit=unit, key_cadre=True)
    set_key_cadre(session, SYSTEM, cadre, False, D1)
    set_key_cadre(session, SYSTEM, cadre, True, D1)
    session.commit()
    rows = session.execute(sa.select(KeyCadrePeriod.valid_from, KeyCadrePeriod.valid_to)
                           .where(KeyCadrePeriod.person_id == cadre.id).order_by(KeyCadrePeriod.valid_from)).all()
    assert all(to is None or to > start for start, to in rows)
    for day in (START, day_before(D1), D1, D3):
        found = tree.key_cadres_on(session, unit.id, day)
        assert [p.id for p in found] == [cadre.id]


def test_deep_tree_rolls_up_and_dates_before_creation_are_empty(session, make_unit, make_person):
    root = make_unit(code="ROOT")
    level1 = make_unit(code="L1", parent=root)
    level2 = make_unit(code="L2", parent=level1, on=D1)
    level3 = make_unit(code="L3", parent=level2, on=D1)
    cadre = make_person(unit=level3, key_cadre=True, on=D1)
    assert tree.subtree_ids(session, root.id, on=START) == {root.id, level1.id}
    assert tree.subtree_ids(session, root.id, on=D1) == {root.id, level1.id, level2.id, level3.id}
    assert tree.key_cadres_on(session, root.id, START) == []
    assert ids(tree.key_cadres_on(session, root.id, D1)) == {cadre.id}
    assert tree.subtree_ids(session, [level2.id, level1.id]) == {level1.id, level2.id, level3.id}


def test_unit_history_lists_every_parent_period(session, make_unit):
    a, b = make_unit(code="A"), make_unit(code="B")
    unit = make_unit(code="U", parent=a)
    svc.move_unit(session, SYSTEM, unit, b, D1)
    session.commit()
    assert [(link.valid_from, link.valid_to, parent.code) for link, parent in tree.unit_history(session, unit)] == [
        (START, D1, "A"), (D1, None, "B")]
    assert [u.code for u in tree.ancestors(unit)] == ["B"]
