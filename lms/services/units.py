"""The organisation tree: create, rename, move, merge and close units, and the dated queries
"which units were under U on day D" and "who were the key cadres of U's subtree on day D"."""

from __future__ import annotations

import re
from datetime import date
from typing import Iterable

import sqlalchemy as sa
from lms.i18n import lazy_gettext as _l
from sqlalchemy.orm import Session

from lms import audit, permissions
from lms.errors import PermissionDenied, ServiceError
from lms.models import KeyCadrePeriod, Membership, Person, Role, RoleAssignment, Unit, UnitKind, UnitLink
from lms.text import clean, fold

CODE_RE = re.compile(r"^[A-Z0-9][A-Z0-9_.-]{0,31}$")
NAME_MAX = 255


def in_force(model, on: date) -> sa.ColumnElement[bool]:
    """WHERE clause: the dated record ``model`` is in force on day ``on``."""
    return sa.and_(model.valid_from <= on, sa.or_(model.valid_to.is_(None), model.valid_to > on))


def subtree_cte(roots: Iterable[int], on: date | None = None) -> sa.CTE:
    """A recursive CTE of the ids of ``roots`` and every unit below them.

    With ``on``, the tree as it stood on that day (from the dated links); without, as it
    stands now.
    """
    roots = list(roots)
    if on is None:
        base = sa.select(Unit.id.label("id")).where(Unit.id.in_(roots))
        cte = base.cte("subtree", recursive=True)
        child = sa.select(Unit.id).where(Unit.parent_id == cte.c.id)
        return cte.union(child)
    base = sa.select(Unit.id.label("id")).where(Unit.id.in_(roots))
    cte = base.cte("subtree_on", recursive=True)
    child = sa.select(UnitLink.unit_id).where(UnitLink.parent_id == cte.c.id, in_force(UnitLink, on))
    return cte.union(child)


def subtree_ids(session: Session, roots: int | Iterable[int], on: date | None = None) -> set[int]:
    if isinstance(roots, int):
        roots = [roots]
    cte = subtree_cte(roots, on)
    return set(session.scalars(sa.select(cte.c.id)))


def key_cadres_on(session: Session, unit_id: int, on: date) -> list[Person]:
    """The key cadres of ``unit_id`` and its subtree on day ``on``, as the tree stood then."""
    cte = subtree_cte([unit_id], on)
    stmt = (
        sa.select(Person)
        .join(Membership, Membership.person_id == Person.id)
        .join(KeyCadrePeriod, KeyCadrePeriod.person_id == Person.id)
        .where(Membership.unit_id.in_(sa.select(cte.c.id)), in_force(Membership, on), in_force(KeyCadrePeriod, on))
        .order_by(Person.full_name, Person.id)
    )
    return list(session.scalars(stmt).unique())


def members_on(session: Session, unit_id: int, on: date) -> list[Person]:
    """Everyone who belonged to ``unit_id`` or its subtree on day ``on``."""
    cte = subtree_cte([unit_id], on)
    stmt = (
        sa.select(Person)
        .join(Membership, Membership.person_id == Person.id)
        .where(Membership.unit_id.in_(sa.select(cte.c.id)), in_force(Membership, on))
        .order_by(Person.full_name, Person.id)
    )
    return list(session.scalars(stmt).unique())


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
    """All units and a children index, in two queries' worth of work (for tree screens)."""
    units = list(session.scalars(sa.select(Unit).order_by(Unit.name)))
    children: dict[int | None, list[Unit]] = {}
    for unit in units:
        children.setdefault(unit.parent_id, []).append(unit)
    return units, children


# -- validation -----------------------------------------------------------------------------

def _clean_name(name: str) -> str:
    name = clean(name)
    if not name:
        raise ServiceError(_l("Vui lòng nhập tên đơn vị."), "name")
    if len(name) > NAME_MAX:
        raise ServiceError(_l("Tên đơn vị không được dài quá %(n)s ký tự.", n=NAME_MAX), "name")
    return name


def _clean_code(session: Session, code: str, exclude_id: int | None = None) -> str:
    code = clean(code).upper()
    if not code:
        raise ServiceError(_l("Vui lòng nhập mã đơn vị."), "code")
    if not CODE_RE.match(code):
        raise ServiceError(
            _l("Mã đơn vị chỉ gồm chữ cái không dấu, chữ số và các dấu - _ . (tối đa 32 ký tự)."), "code"
        )
    stmt = sa.select(Unit.id).where(sa.func.upper(Unit.code) == code)
    if exclude_id is not None:
        stmt = stmt.where(Unit.id != exclude_id)
    if session.scalar(stmt) is not None:
        raise ServiceError(_l("Mã đơn vị “%(code)s” đã được dùng.", code=code), "code")
    return code


def _require_tree_editor(actor: Person | None) -> None:
    if actor is not None and not permissions.may_edit_tree(actor):
        raise PermissionDenied(_l("Bạn không có quyền sửa cơ cấu tổ chức."))


def _require_active(unit: Unit, field: str = "parent") -> None:
    if not unit.active:
        raise ServiceError(_l("Đơn vị “%(name)s” đã giải thể hoặc sáp nhập.", name=unit.name), field)


def _open_link(session: Session, unit: Unit) -> UnitLink | None:
    return session.scalar(sa.select(UnitLink).where(UnitLink.unit_id == unit.id, UnitLink.valid_to.is_(None)))


def _check_not_before(period_start: date | None, on: date, field: str = "on") -> None:
    if period_start is not None and on < period_start:
        raise ServiceError(
            _l("Ngày hiệu lực không được trước ngày bắt đầu của giai đoạn hiện tại (%(d)s).",
               d=period_start.strftime("%d/%m/%Y")),
            field,
        )


def _set_parent(session: Session, unit: Unit, parent: Unit | None, on: date) -> None:
    """Close the open parent link on ``on`` and open a new one (or none, for a root)."""
    link = _open_link(session, unit)
    if link is not None:
        _check_not_before(link.valid_from, on)
        if link.valid_from == on:
            session.delete(link)
        else:
            link.valid_to = on
        session.flush()
    else:
        # a top-level unit that used to sit under a parent: the new period may not overlap the old
        _check_not_before(session.scalar(sa.select(sa.func.max(UnitLink.valid_to)).where(UnitLink.unit_id == unit.id)), on)
    if parent is not None:
        session.add(UnitLink(unit_id=unit.id, parent_id=parent.id, valid_from=on))
    unit.parent_id = parent.id if parent is not None else None
    unit.parent = parent


def _index(unit: Unit) -> None:
    # Case folding can lengthen text ("ß" -> "ss"), so cut to the column's size.
    unit.search_text = fold(f"{unit.name} {unit.code}")[:300]


# -- operations -----------------------------------------------------------------------------

def create_unit(
    session: Session, actor: Person | None, *, name: str, code: str, kind: UnitKind | str,
    parent: Unit | None, on: date,
) -> Unit:
    _require_tree_editor(actor)
    name = _clean_name(name)
    code = _clean_code(session, code)
    try:
        kind = UnitKind(kind)
    except ValueError:
        raise ServiceError(_l("Loại đơn vị không hợp lệ."), "kind") from None
    if parent is not None:
        _require_active(parent)
    unit = Unit(name=name, code=code, kind=kind, active=True)
    _index(unit)
    session.add(unit)
    session.flush()
    _set_parent(session, unit, parent, on)
    session.flush()
    audit.record(session, actor, "unit.create", object_type="unit", object_id=unit.id, unit_id=unit.id,
                 summary=f"{code} {name}", details={"parent": parent.code if parent else None, "on": on.isoformat()})
    return unit


def update_unit(session: Session, actor: Person | None, unit: Unit, *, name: str, code: str,
                kind: UnitKind | str) -> Unit:
    """Rename, recode or re-kind a unit. History stays attached to the same unit."""
    _require_tree_editor(actor)
    name = _clean_name(name)
    code = _clean_code(session, code, exclude_id=unit.id)
    try:
        kind = UnitKind(kind)
    except ValueError:
        raise ServiceError(_l("Loại đơn vị không hợp lệ."), "kind") from None
    before = {"name": unit.name, "code": unit.code, "kind": unit.kind.value}
    unit.name, unit.code, unit.kind = name, code, kind
    _index(unit)
    session.flush()
    after = {"name": name, "code": code, "kind": kind.value}
    if before != after:
        audit.record(session, actor, "unit.update", object_type="unit", object_id=unit.id, unit_id=unit.id,
                     summary=f"{before['name']} → {name}", details={"before": before, "after": after})
    return unit


def _is_below(session: Session, node: Unit, unit: Unit, on: date) -> bool:
    """Is ``node`` ``unit`` or below it now, or on any day from ``on`` (a back-dated move must
    not make the tree of some past day a cycle)? The dated tree only changes on the days a
    link starts or ends, so those days are enough."""
    if node.id in subtree_ids(session, unit.id):
        return True
    days = {on}
    days.update(session.scalars(sa.select(UnitLink.valid_from).where(UnitLink.valid_from > on)))
    days.update(session.scalars(sa.select(UnitLink.valid_to).where(UnitLink.valid_to > on)))
    return any(node.id in subtree_ids(session, unit.id, on=day) for day in sorted(days))


def move_unit(session: Session, actor: Person | None, unit: Unit, new_parent: Unit | None, on: date) -> Unit:
    """Move ``unit`` and its whole subtree under ``new_parent`` from day ``on``."""
    _require_tree_editor(actor)
    _require_active(unit, "unit")
    if new_parent is not None:
        _require_active(new_parent)
        if _is_below(session, new_parent, unit, on):
            raise ServiceError(_l("Không thể chuyển một đơn vị vào chính nó hoặc đơn vị cấp dưới của nó."), "parent")
    if (new_parent.id if new_parent else None) == unit.parent_id:
        raise ServiceError(_l("Đơn vị đã trực thuộc đơn vị này."), "parent")
    old = unit.parent
    _set_parent(session, unit, new_parent, on)
    permissions.forget(actor)
    session.flush()
    audit.record(session, actor, "unit.move", object_type="unit", object_id=unit.id, unit_id=unit.id,
                 summary=f"{unit.code}: {old.code if old else '—'} → {new_parent.code if new_parent else '—'}",
                 details={"from": old.code if old else None, "to": new_parent.code if new_parent else None,
                          "on": on.isoformat()})
    return unit


def _move_people(session: Session, source: Unit, target: Unit, on: date) -> int:
    memberships = session.scalars(
        sa.select(Membership).where(Membership.unit_id == source.id, Membership.valid_to.is_(None))
    ).all()
    for membership in memberships:
        _check_not_before(membership.valid_from, on)
    for membership in memberships:
        if membership.valid_from == on:
            membership.unit_id = target.id
        else:
            membership.valid_to = on
            session.flush()
            session.add(Membership(person_id=membership.person_id, unit_id=target.id, valid_from=on))
    return len(memberships)


def _check_history_ends_by(session: Session, unit: Unit, on: date) -> None:
    """Refuse to end ``unit`` on ``on`` when a person or a sub-unit was recorded in it after that
    day (a back-dated closure or merge would leave them, for those days, outside the tree)."""
    latest = max(
        (d for d in (
            session.scalar(sa.select(sa.func.max(Membership.valid_to))
                           .where(Membership.unit_id == unit.id, Membership.valid_to > on)),
            session.scalar(sa.select(sa.func.max(UnitLink.valid_to))
                           .where(UnitLink.parent_id == unit.id, UnitLink.valid_to > on)),
        ) if d is not None),
        default=None,
    )
    if latest is not None:
        raise ServiceError(
            _l("Đơn vị còn người hoặc đơn vị trực thuộc đến ngày %(d)s. Ngày hiệu lực không được trước ngày đó.",
               d=latest.strftime("%d/%m/%Y")),
            "on",
        )


def _end_unit(session: Session, unit: Unit, on: date) -> None:
    link = _open_link(session, unit)
    if link is not None:
        _check_not_before(link.valid_from, on)
        if link.valid_from == on:
            session.delete(link)
        else:
            link.valid_to = on
    unit.active = False
    unit.closed_on = on


def _revoke_scoped_admins(session: Session, actor: Person | None, unit: Unit, logged_under: Unit, reason: str) -> int:
    """Revoke every unit-administrator role scoped to ``unit`` (it is going away)."""
    assignments = session.scalars(
        sa.select(RoleAssignment).where(RoleAssignment.role == Role.UNIT_ADMIN, RoleAssignment.unit_id == unit.id)
    ).all()
    for assignment in assignments:
        audit.record(session, actor, "role.revoke", object_type="person", object_id=assignment.person_id,
                     unit_id=logged_under.id, summary=f"unit_admin {unit.code} ({reason})")
        holder = assignment.person
        if assignment in holder.roles:
            holder.roles.remove(assignment)
        session.delete(assignment)
        permissions.forget(holder)
    return len(assignments)


def merge_unit(session: Session, actor: Person | None, source: Unit, target: Unit, on: date) -> dict[str, int]:
    """Merge ``source`` into ``target`` from day ``on``: its people and sub-units move to
    ``target`` (their earlier periods kept), unit-administrator rights scoped to it are
    revoked, and it is closed."""
    _require_tree_editor(actor)
    _require_active(source, "unit")
    _require_active(target, "target")
    if source.id == target.id:
        raise ServiceError(_l("Không thể sáp nhập một đơn vị vào chính nó."), "target")
    if target.id in subtree_ids(session, source.id):
        raise ServiceError(_l("Không thể sáp nhập một đơn vị vào đơn vị cấp dưới của nó."), "target")
    _check_history_ends_by(session, source, on)
    moved_people = _move_people(session, source, target, on)
    children = [c for c in source.children if c.active]
    for child in children:
        _set_parent(session, child, target, on)
    revoked = _revoke_scoped_admins(session, actor, source, target, "merged")
    _end_unit(session, source, on)
    source.merged_into_id = target.id
    session.flush()
    permissions.forget(actor)
    result = {"people": moved_people, "units": len(children), "roles": revoked}
    audit.record(session, actor, "unit.merge", object_type="unit", object_id=source.id, unit_id=target.id,
                 summary=f"{source.code} → {target.code}", details={**result, "on": on.isoformat()})
    return result


def close_unit(session: Session, actor: Person | None, unit: Unit, on: date) -> Unit:
    """Close an empty unit from day ``on``. People and active sub-units must be moved first."""
    _require_tree_editor(actor)
    _require_active(unit, "unit")
    people = session.scalar(
        sa.select(sa.func.count()).select_from(Membership)
        .where(Membership.unit_id == unit.id, Membership.valid_to.is_(None))
    )
    if people:
        raise ServiceError(
            _l("Đơn vị còn %(n)s người. Hãy chuyển họ sang đơn vị khác hoặc sáp nhập đơn vị.", n=people), "unit"
        )
    if any(child.active for child in unit.children):
        raise ServiceError(_l("Đơn vị còn đơn vị trực thuộc đang hoạt động. Hãy chuyển hoặc giải thể chúng trước."), "unit")
    _check_history_ends_by(session, unit, on)
    _end_unit(session, unit, on)
    _revoke_scoped_admins(session, actor, unit, unit, "closed")
    session.flush()
    permissions.forget(actor)
    audit.record(session, actor, "unit.close", object_type="unit", object_id=unit.id, unit_id=unit.id,
                 summary=unit.code, details={"on": on.isoformat()})
    return unit


def unit_history(session: Session, unit: Unit) -> list[tuple[UnitLink, Unit]]:
    """Every period ``unit`` spent under a parent, oldest first."""
    rows = session.execute(
        sa.select(UnitLink, Unit).join(Unit, Unit.id == UnitLink.parent_id)
        .where(UnitLink.unit_id == unit.id).order_by(UnitLink.valid_from, UnitLink.id)
    )
    return [(link, parent) for link, parent in rows]
