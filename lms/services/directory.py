"""Read side of people: the searchable, filterable, scoped list administrators work from."""

from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.orm import Session, contains_eager, selectinload

from lms import permissions
from lms.models import KeyCadrePeriod, LearnerCategory, Membership, Person, Role, RoleAssignment, Unit
from lms.services.units import subtree_ids
from lms.text import fold, like_pattern


@dataclass
class PeopleFilter:
    q: str = ""
    unit_id: int | None = None
    category: LearnerCategory | None = None
    key_cadre: bool | None = None
    role: Role | None = None
    active: bool | None = True


def people_query(session: Session, actor: Person | None, f: PeopleFilter) -> sa.Select:
    """People ``actor`` may see that match ``f``, with their current unit loaded, by name."""
    open_membership = sa.and_(Membership.person_id == Person.id, Membership.valid_to.is_(None))
    stmt = (
        sa.select(Person)
        .outerjoin(Membership, open_membership)
        .outerjoin(Unit, Unit.id == Membership.unit_id)
        .options(selectinload(Person.roles), selectinload(Person.key_cadre_periods),
                 selectinload(Person.memberships).joinedload(Membership.unit))
        .order_by(Person.full_name, Person.id)
    )
    if actor is not None:
        scope = permissions.managed_unit_ids(session, actor)
        if scope is not permissions.ALL:
            stmt = stmt.where(Membership.unit_id.in_(sorted(scope)) if scope else sa.false())
    for term in fold(f.q).split()[:8]:
        stmt = stmt.where(Person.search_text.like(like_pattern(term), escape="\\"))
    if f.unit_id is not None:
        stmt = stmt.where(Membership.unit_id.in_(sorted(subtree_ids(session, f.unit_id))))
    if f.category is not None:
        stmt = stmt.where(Person.category == f.category)
    if f.key_cadre is not None:
        exists = sa.exists().where(KeyCadrePeriod.person_id == Person.id, KeyCadrePeriod.valid_to.is_(None))
        stmt = stmt.where(exists if f.key_cadre else ~exists)
    if f.role is not None:
        stmt = stmt.where(sa.exists().where(RoleAssignment.person_id == Person.id, RoleAssignment.role == f.role))
    if f.active is not None:
        stmt = stmt.where(Person.active.is_(f.active))
    return stmt
