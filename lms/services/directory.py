"""Read side of people: the searchable, filterable, scoped list administrators work from."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import sqlalchemy as sa
from sqlalchemy.orm import Session, selectinload

from lms import permissions
from lms.actors import Actor
from lms.models import EmploymentType, KeyCadrePeriod, Membership, Person, Role, RoleAssignment, TitleKind, Unit
from lms.periods import in_force
from lms.text import like_pattern, search_terms
from lms.tree import subtree_ids, title_holders_select


@dataclass
class PeopleFilter:
    q: str = ""
    unit_id: int | None = None
    title: TitleKind | None = None
    employment_type: EmploymentType | None = None
    key_cadre: bool | None = None
    role: Role | None = None
    active: bool | None = True
    #: Titles and key-cadre status as of this day (default: the caller's today).
    on: date | None = None


def people_query(session: Session, actor: Actor, f: PeopleFilter, *, everyone: bool = False) -> sa.Select:
    """People ``actor`` may see that match ``f``, with their current unit loaded, by name.
    ``everyone``: the caller has decided ``actor`` may look for anyone (a course's editors
    choosing whom to enrol)."""
    open_membership = sa.and_(Membership.person_id == Person.id, Membership.valid_to.is_(None))
    stmt = (
        sa.select(Person)
        .outerjoin(Membership, open_membership)
        .outerjoin(Unit, Unit.id == Membership.unit_id)
        .options(selectinload(Person.roles), selectinload(Person.key_cadre_periods), selectinload(Person.titles),
                 selectinload(Person.memberships).joinedload(Membership.unit))
        .order_by(Person.sort_key, Person.id)
    )
    if not everyone:
        scope = permissions.managed_unit_ids(session, actor)
        if scope is not permissions.ALL:
            stmt = stmt.where(Membership.unit_id.in_(sorted(scope)) if scope else sa.false())
    for term in search_terms(f.q):
        stmt = stmt.where(Person.search_text.like(like_pattern(term), escape="\\"))
    if f.unit_id is not None:
        stmt = stmt.where(Membership.unit_id.in_(sorted(subtree_ids(session, f.unit_id))))
    if f.title is not None:
        stmt = stmt.where(Person.id.in_(title_holders_select(f.title, f.on or date.today())))
    if f.employment_type is not None:
        stmt = stmt.where(Person.employment_type == f.employment_type)
    if f.key_cadre is not None:
        if f.on is None:
            exists = sa.exists().where(KeyCadrePeriod.person_id == Person.id, KeyCadrePeriod.valid_to.is_(None))
        else:
            exists = sa.exists().where(KeyCadrePeriod.person_id == Person.id, in_force(KeyCadrePeriod, f.on))
        stmt = stmt.where(exists if f.key_cadre else ~exists)
    if f.role is not None:
        stmt = stmt.where(sa.exists().where(RoleAssignment.person_id == Person.id, RoleAssignment.role == f.role))
    if f.active is not None:
        stmt = stmt.where(Person.active.is_(f.active))
    return stmt
