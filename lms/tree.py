"""The dated organisation tree and its people, read "as of day D".

Every feature that asks "which units were under U on day D", "who belonged to U's subtree",
"who were its key cadres" asks here; permissions, services, reports and exports share these
queries rather than writing their own. Nothing here writes.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date

import sqlalchemy as sa
from sqlalchemy.orm import Session

from lms.models import KeyCadrePeriod, LegalTitle, Membership, Person, TitleKind, Unit, UnitLink, UnitSuccession
from lms.periods import in_force

__all__ = ["in_force", "subtree_cte", "subtree_ids", "key_cadres_on", "members_on", "member_ids_select",
           "title_holders_select", "ancestors", "load_tree", "tree_on", "unit_history", "successions"]


def subtree_cte(roots: Iterable[int], on: date | None = None) -> sa.CTE:
    """A recursive CTE of the ids of ``roots`` and every unit below them.

    With ``on``, the tree as it stood on that day (from the dated links); without, as it
    stands now.
    """
    roots = list(roots)
    base = sa.select(Unit.id.label("id")).where(Unit.id.in_(roots))
    if on is None:
        cte = base.cte("subtree", recursive=True)
        return cte.union(sa.select(Unit.id).where(Unit.parent_id == cte.c.id))
    cte = base.cte("subtree_on", recursive=True)
    child = sa.select(UnitLink.unit_id).where(UnitLink.parent_id == cte.c.id, in_force(UnitLink, on))
    return cte.union(child)


def subtree_ids(session: Session, roots: int | Iterable[int], on: date | None = None) -> set[int]:
    if isinstance(roots, int):
        roots = [roots]
    cte = subtree_cte(roots, on)
    return set(session.scalars(sa.select(cte.c.id)))


def member_ids_select(unit_id: int, on: date, *, key_cadres: bool = False,
                      title: TitleKind | None = None) -> sa.Select:
    """SELECT of the ids of people in ``unit_id``'s subtree on day ``on`` (as the tree stood
    then), optionally only its key cadres, or only the holders of ``title``, on that day."""
    cte = subtree_cte([unit_id], on)
    stmt = (sa.select(Membership.person_id)
            .where(Membership.unit_id.in_(sa.select(cte.c.id)), in_force(Membership, on)))
    if key_cadres:
        stmt = stmt.where(sa.exists().where(KeyCadrePeriod.person_id == Membership.person_id,
                                            in_force(KeyCadrePeriod, on)))
    if title is not None:
        stmt = stmt.where(Membership.person_id.in_(title_holders_select(title, on)))
    return stmt


def title_holders_select(title: TitleKind, on: date) -> sa.Select:
    """SELECT of the ids of people who held ``title`` on day ``on``."""
    return sa.select(LegalTitle.person_id).where(LegalTitle.kind == title, in_force(LegalTitle, on))


def _people(session: Session, ids: sa.Select) -> list[Person]:
    return list(session.scalars(sa.select(Person).where(Person.id.in_(ids)).order_by(Person.sort_key, Person.id)))


def key_cadres_on(session: Session, unit_id: int, on: date) -> list[Person]:
    """The key cadres of ``unit_id`` and its subtree on day ``on``, as the tree stood then."""
    return _people(session, member_ids_select(unit_id, on, key_cadres=True))


def members_on(session: Session, unit_id: int, on: date) -> list[Person]:
    """Everyone who belonged to ``unit_id`` or its subtree on day ``on``."""
    return _people(session, member_ids_select(unit_id, on))


def ancestors(unit: Unit) -> list[Unit]:
    """The current chain from the root down to ``unit``'s parent."""
    chain: list[Unit] = []
    seen = {unit.id}
    node = unit.parent
    while node is not None and node.id not in seen:
        chain.append(node)
        seen.add(node.id)
        node = node.parent
    return list(reversed(chain))


def load_tree(session: Session) -> tuple[list[Unit], dict[int | None, list[Unit]]]:
    """All units and a children index as the tree stands now, in one query (for tree screens).
    Siblings are in their display order, then by name."""
    units = list(session.scalars(sa.select(Unit).order_by(Unit.position, Unit.sort_key, Unit.id)))
    children: dict[int | None, list[Unit]] = {}
    for unit in units:
        children.setdefault(unit.parent_id, []).append(unit)
    return units, children


def tree_on(session: Session, on: date) -> tuple[list[Unit], dict[int | None, list[Unit]]]:
    """The units that existed on day ``on`` and a children index as the tree stood that day
    (from the dated links), in two queries."""
    units = list(session.scalars(
        sa.select(Unit).where(Unit.established_on <= on, sa.or_(Unit.closed_on.is_(None), Unit.closed_on > on))
        .order_by(Unit.position, Unit.sort_key, Unit.id)))
    ids = {unit.id for unit in units}
    parents = dict(session.execute(sa.select(UnitLink.unit_id, UnitLink.parent_id).where(in_force(UnitLink, on))).all())
    children: dict[int | None, list[Unit]] = {}
    for unit in units:
        parent = parents.get(unit.id)
        children.setdefault(parent if parent in ids else None, []).append(unit)
    return units, children


def unit_history(session: Session, unit: Unit) -> list[tuple[UnitLink, Unit]]:
    """Every period ``unit`` spent under a parent, oldest first."""
    rows = session.execute(
        sa.select(UnitLink, Unit).join(Unit, Unit.id == UnitLink.parent_id)
        .where(UnitLink.unit_id == unit.id).order_by(UnitLink.valid_from, UnitLink.id)
    )
    return [(link, parent) for link, parent in rows]


def successions(session: Session, unit: Unit) -> tuple[list[UnitSuccession], list[UnitSuccession]]:
    """Where ``unit`` came from (its predecessors) and what it became (its successors)."""
    rows = session.scalars(sa.select(UnitSuccession).where(
        sa.or_(UnitSuccession.predecessor_id == unit.id, UnitSuccession.successor_id == unit.id))
        .order_by(UnitSuccession.on, UnitSuccession.id)).all()
    return [r for r in rows if r.successor_id == unit.id], [r for r in rows if r.predecessor_id == unit.id]
