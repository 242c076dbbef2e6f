"""Who may do what to which object. Every view and every service asks here.

Rules:

* An administrator may do everything; so may the system actor (the command line and jobs,
  :mod:`lms.actors`). ``None`` is nobody: it may do nothing.
* A unit administrator manages the units of the subtrees their role is scoped to (as the tree
  stands now) and the people currently in them, except people who hold rights beyond that
  scope (administrators, or unit administrators of a unit outside it).
* Nobody widens their own reach: no one grants a role to themselves, and a unit administrator
  grants only what stays inside their subtree — the trainee role, and the unit administrator
  role for a unit of their subtree. The trainer role (whose people search spans the province)
  is granted and revoked by administrators only.
* Trainers and trainees manage only their own account here; feature packages add their rules.

Views declare their access with :func:`public`, :func:`login` or :func:`roles`; the test
suite walks ``app.url_map`` and fails on a view that declares nothing.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from functools import wraps

import sqlalchemy as sa
from flask import abort
from flask_login import current_user
from sqlalchemy.orm import Session

from lms.actors import is_system
from lms.models import Person, Role, Unit
from lms.tree import subtree_ids

ALL = None  # "every unit", for administrators


def is_admin(person: Person | None) -> bool:
    """An active administrator, or the system actor."""
    if person is None:
        return False
    return is_system(person) or (person.active and person.has_role(Role.ADMIN))


def managed_unit_ids(session: Session, person: Person | None) -> set[int] | None:
    """Units ``person`` may manage: ``None`` for all (administrator), else a set (maybe empty).

    Cached on the person object for the rest of the request.
    """
    if person is None or not person.active:
        return set()
    if is_admin(person):
        return ALL
    cached = getattr(person, "_managed_unit_ids", None)
    if cached is not None:
        return cached
    roots = [r.unit_id for r in person.roles if r.role == Role.UNIT_ADMIN and r.unit_id is not None]
    ids: set[int] = subtree_ids(session, roots) if roots else set()
    person._managed_unit_ids = ids
    return ids


def forget(person: Person | None) -> None:
    """Drop cached scope after roles or the tree changed."""
    if person is not None and not is_system(person) and hasattr(person, "_managed_unit_ids"):
        del person._managed_unit_ids


def may_manage_people(session: Session, person: Person | None) -> bool:
    ids = managed_unit_ids(session, person)
    return ids is ALL or bool(ids)


def may_manage_unit(session: Session, person: Person | None, unit: Unit | int | None) -> bool:
    """May ``person`` put people in, or see the people of, ``unit``?"""
    if unit is None:
        return is_admin(person)
    unit_id = unit if isinstance(unit, int) else unit.id
    ids = managed_unit_ids(session, person)
    return ids is ALL or unit_id in ids


def may_edit_tree(person: Person | None) -> bool:
    return is_admin(person)


def may_manage_person(session: Session, actor: Person | None, person: Person) -> bool:
    """May ``actor`` edit, deactivate, reset the password of and assign roles to ``person``?"""
    ids = managed_unit_ids(session, actor)
    if ids is ALL:
        return True
    if not ids or actor is None:
        return False
    unit = person.current_unit
    if unit is None or unit.id not in ids:
        return False
    for assignment in person.roles:
        if assignment.role == Role.ADMIN:
            return False
        if assignment.role == Role.UNIT_ADMIN and assignment.unit_id not in ids:
            return False
    return True


def may_grant(session: Session, actor: Person | None, role: Role, unit_id: int | None,
              person: Person | None = None) -> bool:
    """May ``actor`` grant or revoke ``role`` (scoped to ``unit_id`` for unit administrators)
    — to ``person``, when given: never to themselves, whoever they are (the system aside)."""
    if actor is None:
        return False
    if person is not None and person.id is not None and person.id == actor.id and not is_system(actor):
        return False
    ids = managed_unit_ids(session, actor)
    if ids is ALL:
        return True
    if role in (Role.ADMIN, Role.TRAINER):
        return False
    if role == Role.UNIT_ADMIN:
        return unit_id is not None and unit_id in ids
    return bool(ids)


def grantable_roles(session: Session, actor: Person | None) -> list[Role]:
    """The roles ``actor`` may hand out at all (a unit administrator's within their subtree)."""
    ids = managed_unit_ids(session, actor)
    if ids is ALL:
        return list(Role)
    return [Role.UNIT_ADMIN, Role.TRAINEE] if ids else []


def may_view_audit(session: Session, person: Person | None) -> bool:
    return may_manage_people(session, person)


def people_scope_filter(session: Session, actor: Person | None, unit_column: sa.ColumnElement):
    """A WHERE clause limiting ``unit_column`` to what ``actor`` manages."""
    ids = managed_unit_ids(session, actor)
    if ids is ALL:
        return sa.true()
    return unit_column.in_(sorted(ids)) if ids else sa.false()


# -- rules registered by feature packages ---------------------------------------------------

Rule = Callable[[Session, "Person | None", object], bool]
_RULES: dict[str, Rule] = {}


def rule(action: str) -> Callable[[Rule], Rule]:
    """Register the rule answering "may this person do ``action`` to this object?".

    Feature packages register theirs here (``courses.permissions``), so every permission
    question goes through this module: ``can(session, person, "course.edit", course)``.
    """

    def register(fn: Rule) -> Rule:
        _RULES[action] = fn
        return fn

    return register


def can(session: Session, person: Person | None, action: str, obj: object = None) -> bool:
    if is_system(person):
        return True
    if person is None or not getattr(person, "is_authenticated", False) or not person.active:
        return action in _RULES and _RULES[action](session, None, obj)
    return _RULES[action](session, person, obj)


def allowed(action: str) -> Callable[[Callable], Callable]:
    """The view needs a logged-in person for whom rule ``action`` (without an object) holds."""
    return check(lambda session, person: can(session, person, action), action)


# -- view declarations ----------------------------------------------------------------------

def public(view: Callable) -> Callable:
    """Anyone may open this view."""
    view.access = "public"
    return view


def login(view: Callable) -> Callable:
    """Any logged-in person may open this view (object checks happen inside)."""

    @wraps(view)
    def wrapper(*args, **kwargs):
        if not current_user.is_authenticated:
            from lms.extensions import login_manager

            return login_manager.unauthorized()
        return view(*args, **kwargs)

    wrapper.access = "login"
    return wrapper


def check(allowed: Callable[[Session, Person], bool], name: str) -> Callable[[Callable], Callable]:
    """The view needs a logged-in person for whom ``allowed(session, person)`` holds."""

    def decorate(view: Callable) -> Callable:
        @wraps(view)
        def wrapper(*args, **kwargs):
            if not current_user.is_authenticated:
                from lms.extensions import login_manager

                return login_manager.unauthorized()
            from lms.db import db

            if not allowed(db.session, current_user._get_current_object()):
                abort(403)
            return view(*args, **kwargs)

        wrapper.access = name
        return wrapper

    return decorate


def roles(*wanted: Role) -> Callable[[Callable], Callable]:
    """The view needs one of ``wanted`` roles."""
    wanted_set = set(wanted)
    return check(lambda session, person: bool(person.role_set & wanted_set), "roles:" + ",".join(sorted(wanted_set)))


admin_only = check(lambda session, person: is_admin(person), "admin")
people_managers = check(may_manage_people, "people-managers")


def role_labels(values: Iterable[Role]) -> list[str]:
    from lms.labels import ROLE_LABELS

    return [str(ROLE_LABELS[r]) for r in values]
