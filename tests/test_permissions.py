"""Who may manage which units and people (lms/permissions.py)."""

from __future__ import annotations

from datetime import date

import pytest
import sqlalchemy as sa

from lms import permissions as perm
from lms.actors import SYSTEM
from lms.models import Person, Role
from lms.services.people import deactivate_person, grant_role, revoke_role
from lms.services.units import move_unit

D1 = date(2024, 3, 1)


@pytest.fixture
def tree(make_unit):
    """ROOT -> A -> A1 -> A11, ROOT -> B -> B1, and a separate root OTHER."""
    root = make_unit(code="ROOT")
    a = make_unit(code="A", parent=root)
    a1 = make_unit(code="A1", parent=a)
    a11 = make_unit(code="A11", parent=a1)
    b = make_unit(code="B", parent=root)
    b1 = make_unit(code="B1", parent=b)
    other = make_unit(code="OTHER")
    return {u.code: u for u in (root, a, a1, a11, b, b1, other)}


def fresh(session, person) -> Person:
    """The person as a new request would load them (no cached scope)."""
    session.commit()
    perm.forget(person)
    return session.get(Person, person.id)


# -- managed_unit_ids -------------------------------------------------------------------------

def test_administrator_manages_all(session, tree, make_person):
    admin = make_person(unit=tree["A"], roles=("admin",))
    assert perm.managed_unit_ids(session, admin) is perm.ALL
    assert perm.is_admin(admin) and perm.may_edit_tree(admin) and perm.may_manage_people(session, admin)
    assert perm.may_manage_unit(session, admin, tree["OTHER"]) and perm.may_manage_unit(session, admin, None)


def test_unit_admin_manages_their_subtree(session, tree, make_person):
    unit_admin = make_person(unit=tree["A"], roles=("unit_admin",))
    assert perm.managed_unit_ids(session, unit_admin) == {tree["A"].id, tree["A1"].id, tree["A11"].id}
    assert perm.may_manage_unit(session, unit_admin, tree["A11"])
    assert perm.may_manage_unit(session, unit_admin, tree["A1"].id)
    assert not perm.may_manage_unit(session, unit_admin, tree["ROOT"])
    assert not perm.may_manage_unit(session, unit_admin, tree["B"])
    assert not perm.may_manage_unit(session, unit_admin, None)
    assert not perm.may_edit_tree(unit_admin) and not perm.is_admin(unit_admin)
    assert perm.may_manage_people(session, unit_admin) and perm.may_view_audit(session, unit_admin)


def test_unit_admin_with_several_scopes(session, tree, make_person):
    unit_admin = make_person(unit=tree["A"], roles=("unit_admin",), scope=tree["A1"])
    grant_role(session, SYSTEM, unit_admin, Role.UNIT_ADMIN, tree["B"])
    grant_role(session, SYSTEM, unit_admin, Role.UNIT_ADMIN, tree["OTHER"])
    unit_admin = fresh(session, unit_admin)
    assert perm.managed_unit_ids(session, unit_admin) == {
        tree["A1"].id, tree["A11"].id, tree["B"].id, tree["B1"].id, tree["OTHER"].id}


@pytest.mark.parametrize("roles", [("trainer",), ("trainee",), ("trainer", "trainee")])
def test_trainers_and_trainees_manage_nothing(session, tree, make_person, roles):
    person = make_person(unit=tree["A"], roles=roles)
    assert perm.managed_unit_ids(session, person) == set()
    assert not perm.may_manage_people(session, person)
    assert not perm.may_manage_unit(session, person, tree["A"])
    assert not perm.may_view_audit(session, person)


def test_nobody_and_inactive_people_manage_nothing(session, tree, make_person, now):
    assert perm.managed_unit_ids(session, None) == set()
    assert not perm.is_admin(None) and not perm.may_edit_tree(None)
    admin = make_person(unit=tree["A"], roles=("admin",))
    make_person(unit=tree["A"], roles=("admin",))
    unit_admin = make_person(unit=tree["A"], roles=("unit_admin",))
    deactivate_person(session, SYSTEM, admin, D1, now)
    deactivate_person(session, SYSTEM, unit_admin, D1, now)
    admin, unit_admin = fresh(session, admin), fresh(session, unit_admin)
    for person in (admin, unit_admin):
        assert perm.managed_unit_ids(session, person) == set()
        assert not perm.may_manage_people(session, person)
        assert not perm.may_grant(session, person, Role.TRAINEE, None)
    assert not perm.is_admin(admin) and not perm.may_edit_tree(admin)


def test_scope_follows_role_changes(session, tree, make_person):
    unit_admin = make_person(unit=tree["A"], roles=("unit_admin",), scope=tree["A1"])
    assert perm.managed_unit_ids(session, unit_admin) == {tree["A1"].id, tree["A11"].id}
    grant_role(session, SYSTEM, unit_admin, Role.UNIT_ADMIN, tree["B1"])
    assert perm.managed_unit_ids(session, unit_admin) == {tree["A1"].id, tree["A11"].id, tree["B1"].id}
    scoped_a1 = next(r for r in unit_admin.roles if r.unit_id == tree["A1"].id)
    revoke_role(session, SYSTEM, unit_admin, scoped_a1)
    assert perm.managed_unit_ids(session, unit_admin) == {tree["B1"].id}


def test_scope_follows_the_tree_as_it_stands_now(session, tree, make_person):
    unit_admin = make_person(unit=tree["A"], roles=("unit_admin",))
    move_unit(session, SYSTEM, tree["B"], tree["A11"], D1)
    unit_admin = fresh(session, unit_admin)
    assert perm.managed_unit_ids(session, unit_admin) == {
        tree["A"].id, tree["A1"].id, tree["A11"].id, tree["B"].id, tree["B1"].id}


def test_people_scope_filter(session, tree, make_person):
    from lms.models import Membership

    admin = make_person(unit=tree["A"], roles=("admin",))
    unit_admin = make_person(unit=tree["A1"], roles=("unit_admin",))
    trainee = make_person(unit=tree["B"])

    def visible(actor):
        stmt = sa.select(Membership.person_id).where(
            Membership.valid_to.is_(None), perm.people_scope_filter(session, actor, Membership.unit_id))
        return set(session.scalars(stmt))

    assert visible(admin) == {admin.id, unit_admin.id, trainee.id}
    assert visible(unit_admin) == {unit_admin.id}
    assert visible(trainee) == set()


# -- may_manage_person ------------------------------------------------------------------------

def test_may_manage_person(session, tree, make_person):
    admin = make_person(unit=tree["ROOT"], roles=("admin",))
    actor = make_person(unit=tree["A"], roles=("unit_admin",), scope=tree["A"])
    inside = make_person(unit=tree["A11"])
    outside = make_person(unit=tree["B"])
    admin_inside = make_person(unit=tree["A1"], roles=("admin",))
    wider = make_person(unit=tree["A1"], roles=("unit_admin",), scope=tree["ROOT"])
    elsewhere_scope = make_person(unit=tree["A1"], roles=("unit_admin",), scope=tree["B"])
    peer = make_person(unit=tree["A1"], roles=("unit_admin",), scope=tree["A"])
    narrower = make_person(unit=tree["A1"], roles=("unit_admin",), scope=tree["A11"])
    trainer = make_person(unit=tree["A"], roles=("trainer",))

    everyone = [admin, actor, inside, outside, admin_inside, wider, elsewhere_scope, peer, narrower, trainer]
    assert all(perm.may_manage_person(session, admin, p) for p in everyone)
    assert {p.id for p in everyone if perm.may_manage_person(session, actor, p)} == {
        actor.id, inside.id, peer.id, narrower.id, trainer.id}
    assert not any(perm.may_manage_person(session, trainer, p) for p in everyone)
    assert not any(perm.may_manage_person(session, None, p) for p in everyone)
    # the administrator of A11 manages only the plain member of A11 (not even themself: they sit in A1)
    assert {p.id for p in everyone if perm.may_manage_person(session, narrower, p)} == {inside.id}


def test_a_person_moved_out_of_the_subtree_is_no_longer_managed(session, tree, make_person):
    from lms.services.people import move_person

    actor = make_person(unit=tree["A"], roles=("unit_admin",))
    person = make_person(unit=tree["A1"])
    assert perm.may_manage_person(session, actor, person)
    move_person(session, SYSTEM, person, tree["B"], D1)
    session.commit()
    assert not perm.may_manage_person(session, actor, person)


# -- may_grant --------------------------------------------------------------------------------

def test_may_grant(session, tree, make_person):
    admin = make_person(unit=tree["ROOT"], roles=("admin",))
    unit_admin = make_person(unit=tree["A"], roles=("unit_admin",))
    trainer = make_person(unit=tree["A"], roles=("trainer",))

    for role in Role:
        assert perm.may_grant(session, admin, role, tree["B"].id if role == Role.UNIT_ADMIN else None)

    assert not perm.may_grant(session, unit_admin, Role.ADMIN, None)
    # the trainer's people search spans the province: administrators only
    assert not perm.may_grant(session, unit_admin, Role.TRAINER, None)
    assert perm.may_grant(session, unit_admin, Role.TRAINEE, None)
    assert perm.may_grant(session, unit_admin, Role.UNIT_ADMIN, tree["A"].id)
    assert perm.may_grant(session, unit_admin, Role.UNIT_ADMIN, tree["A11"].id)
    assert not perm.may_grant(session, unit_admin, Role.UNIT_ADMIN, tree["ROOT"].id)
    assert not perm.may_grant(session, unit_admin, Role.UNIT_ADMIN, tree["B1"].id)
    assert not perm.may_grant(session, unit_admin, Role.UNIT_ADMIN, None)

    for role in Role:
        assert not perm.may_grant(session, trainer, role, tree["A"].id if role == Role.UNIT_ADMIN else None)
        assert not perm.may_grant(session, None, role, None)
        # nobody grants themselves anything, administrators included
        scope = tree["A"].id if role == Role.UNIT_ADMIN else None
        assert not perm.may_grant(session, admin, role, scope, admin)
        assert not perm.may_grant(session, unit_admin, role, scope, unit_admin)
    assert perm.may_grant(session, unit_admin, Role.TRAINEE, None, trainer)

    assert perm.grantable_roles(session, admin) == list(Role)
    assert perm.grantable_roles(session, unit_admin) == [Role.UNIT_ADMIN, Role.TRAINEE]
    assert perm.grantable_roles(session, trainer) == []
