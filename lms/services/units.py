"""The organisation tree's write side: create, rename, move, merge and close units.

The dated read queries ("which units were under U on day D", "who were its key cadres") are in
:mod:`lms.tree`; the close-and-open rule of dated links is :mod:`lms.periods`."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date

import sqlalchemy as sa
from sqlalchemy.orm import Session

from lms import audit, periods, permissions
from lms.actors import Actor
from lms.errors import PermissionDenied, ServiceError
from lms.i18n import lazy_gettext as _l
from lms.models import Membership, Role, RoleAssignment, SuccessionKind, Unit, UnitKind, UnitLink, UnitSuccession
from lms.text import char_code, clean, fold, invalid_char, sort_key
from lms.tree import subtree_ids

CODE_RE = re.compile(r"^[A-Z0-9][A-Z0-9_.-]{0,31}$")
#: Mã định danh: letters, digits, dots and dashes (e.g. H31.45, 000.00.12.H31).
OFFICIAL_CODE_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")
NAME_MAX = 255
POSITION_MAX = 100_000


# -- validation -----------------------------------------------------------------------------

def _clean_name(name: str) -> str:
    name = clean(name)
    if not name:
        raise ServiceError(_l("Vui lòng nhập tên đơn vị."), "name")
    if len(name) > NAME_MAX:
        raise ServiceError(_l("Tên đơn vị không được dài quá %(n)s ký tự.", n=NAME_MAX), "name")
    # Free text, as a person's position is: only what is not text is refused (lms.text.invalid_char).
    bad = invalid_char(name)
    if bad is not None:
        raise ServiceError(_l("Tên đơn vị có ký tự “%(char)s” (%(code)s) không được phép (ký tự điều khiển, ký tự "
                              "không hiển thị hoặc lỗi bảng mã). Hãy gõ lại tên đơn vị.", char=bad,
                              code=char_code(bad)), "name")
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


def _clean_official_code(session: Session, value: str | None, exclude_id: int | None = None) -> str | None:
    code = clean(value).upper()
    if not code:
        return None
    if not OFFICIAL_CODE_RE.match(code):
        raise ServiceError(_l("Mã định danh chỉ gồm chữ cái không dấu, chữ số và các dấu . - _ (tối đa 64 ký tự)."),
                           "official_code")
    stmt = sa.select(Unit.id).where(Unit.official_code == code)
    if exclude_id is not None:
        stmt = stmt.where(Unit.id != exclude_id)
    if session.scalar(stmt) is not None:
        raise ServiceError(_l("Mã định danh “%(code)s” đã được dùng cho đơn vị khác.", code=code), "official_code")
    return code


def _clean_position(value) -> int:
    try:
        position = int(value or 0)
    except (TypeError, ValueError):
        raise ServiceError(_l("Thứ tự phải là số nguyên."), "position") from None
    if not 0 <= position <= POSITION_MAX:
        raise ServiceError(_l("Thứ tự phải từ 0 đến %(n)s.", n=POSITION_MAX), "position")
    return position


def _clean_kind(kind) -> UnitKind:
    try:
        return UnitKind(kind)
    except ValueError:
        raise ServiceError(_l("Loại đơn vị không hợp lệ."), "kind") from None


def _check_existed(unit: Unit, on: date, field: str = "on") -> None:
    """``unit`` must exist on day ``on``: not before it was established, not once it ended."""
    if on < unit.established_on:
        raise ServiceError(_l("Ngày hiệu lực (%(d)s) trước ngày thành lập đơn vị “%(name)s” (%(since)s).",
                              d=periods.vn_day(on), name=unit.name, since=periods.vn_day(unit.established_on)), field)
    if unit.closed_on is not None and on >= unit.closed_on:
        raise ServiceError(_l("Đơn vị “%(name)s” đã thôi hoạt động từ ngày %(d)s.", name=unit.name,
                              d=periods.vn_day(unit.closed_on)), field)


def _require_tree_editor(actor: Actor) -> None:
    if not permissions.may_edit_tree(actor):
        raise PermissionDenied(_l("Bạn không có quyền sửa cơ cấu tổ chức."))


def _require_active(unit: Unit, field: str = "parent") -> None:
    if not unit.active:
        raise ServiceError(_l("Đơn vị “%(name)s” đã giải thể hoặc sáp nhập.", name=unit.name), field)


def _open_link(session: Session, unit: Unit) -> UnitLink | None:
    return session.scalar(sa.select(UnitLink).where(UnitLink.unit_id == unit.id, UnitLink.valid_to.is_(None)))


def _set_parent(session: Session, unit: Unit, parent: Unit | None, on: date) -> None:
    """Close the open parent link on ``on`` and open a new one (or none, for a root)."""
    link = _open_link(session, unit)
    if link is None:
        # a top-level unit that used to sit under a parent: the new period may not overlap the old
        periods.check_start(session.scalar(sa.select(sa.func.max(UnitLink.valid_to))
                                           .where(UnitLink.unit_id == unit.id)), on)
    if parent is not None:
        earlier = session.scalars(sa.select(UnitLink).where(UnitLink.unit_id == unit.id, UnitLink.valid_to == on))
        periods.replace(session, link, on, lambda: UnitLink(unit_id=unit.id, parent_id=parent.id),
                        previous=earlier, same=lambda old: old.parent_id == parent.id)
    elif link is not None:
        periods.end(session, link, on)
    session.flush()
    unit.parent_id = parent.id if parent is not None else None
    unit.parent = parent


def _index(unit: Unit) -> None:
    # Case folding can lengthen text ("ß" -> "ss"), so cut to the column's size.
    unit.search_text = fold(f"{unit.name} {unit.code}")[:300]
    unit.sort_key = sort_key(unit.name)


# -- operations -----------------------------------------------------------------------------

def create_unit(
    session: Session, actor: Actor, *, name: str, code: str, kind: UnitKind | str,
    parent: Unit | None, on: date, official_code: str | None = None, position: int | str | None = 0,
) -> Unit:
    """Create a unit that exists from day ``on`` (under ``parent`` from that day)."""
    _require_tree_editor(actor)
    errors: dict[str, object] = {}
    values: dict[str, object] = {}
    for name_of, check in (("name", lambda: _clean_name(name)), ("code", lambda: _clean_code(session, code)),
                         ("kind", lambda: _clean_kind(kind)),
                         ("official_code", lambda: _clean_official_code(session, official_code)),
                         ("position", lambda: _clean_position(position))):
        try:
            values[name_of] = check()
        except ServiceError as exc:
            errors[name_of] = exc.message
    if errors:
        first = next(iter(errors))
        raise ServiceError(errors[first], first, errors)
    if parent is not None:
        _require_active(parent)
        _check_existed(parent, on)
    unit = Unit(name=values["name"], code=values["code"], kind=values["kind"], official_code=values["official_code"],
                position=values["position"], established_on=on, active=True)
    _index(unit)
    session.add(unit)
    session.flush()
    _set_parent(session, unit, parent, on)
    session.flush()
    audit.record(session, actor, "unit.create", object_type="unit", object_id=unit.id, unit_id=unit.id,
                 summary=f"{unit.code} {unit.name}",
                 details={"parent": parent.code if parent else None, "on": on.isoformat()})
    return unit


def update_unit(session: Session, actor: Actor, unit: Unit, *, name: str, code: str,
                kind: UnitKind | str, official_code: str | None = None, position: int | str | None = None) -> Unit:
    """Rename, recode or re-kind a unit, or change its official code or place in lists. History
    stays attached to the same unit. ``position=None`` keeps the place."""
    _require_tree_editor(actor)
    name = _clean_name(name)
    code = _clean_code(session, code, exclude_id=unit.id)
    kind = _clean_kind(kind)
    official = _clean_official_code(session, official_code, exclude_id=unit.id)
    place = unit.position if position is None else _clean_position(position)
    before = {"name": unit.name, "code": unit.code, "kind": unit.kind.value, "official_code": unit.official_code,
              "position": unit.position}
    unit.name, unit.code, unit.kind, unit.official_code, unit.position = name, code, kind, official, place
    _index(unit)
    session.flush()
    after = {"name": name, "code": code, "kind": kind.value, "official_code": official, "position": place}
    if before != after:
        audit.record(session, actor, "unit.update", object_type="unit", object_id=unit.id, unit_id=unit.id,
                     summary=f"{before['name']} → {name}", details={"before": before, "after": after})
    return unit


def _is_below(session: Session, node: Unit, unit: Unit, on: date) -> bool:
    """Is ``node`` ``unit`` or below it now, or on some day from ``on`` on (a back-dated move
    must not make the tree of some past day a cycle)? One query: the units reachable from
    ``unit`` through links in force at any time from ``on`` (a superset of every single day's
    subtree, today's included, so a move it allows is safe on every day)."""
    if node.id == unit.id:
        return True
    cte = sa.select(sa.literal(unit.id).label("id")).cte("below_from", recursive=True)
    cte = cte.union(
        sa.select(UnitLink.unit_id).where(UnitLink.parent_id == cte.c.id, periods.overlapping(UnitLink, on, None)))
    return session.scalar(sa.select(sa.func.count()).select_from(cte).where(cte.c.id == node.id)) > 0


def move_unit(session: Session, actor: Actor, unit: Unit, new_parent: Unit | None, on: date) -> Unit:
    """Move ``unit`` and its whole subtree under ``new_parent`` from day ``on``."""
    _require_tree_editor(actor)
    _require_active(unit, "unit")
    if new_parent is not None:
        _require_active(new_parent)
        if _is_below(session, new_parent, unit, on):
            raise ServiceError(_l("Không thể chuyển một đơn vị vào chính nó hoặc đơn vị cấp dưới của nó."), "parent")
    if (new_parent.id if new_parent else None) == unit.parent_id:
        raise ServiceError(_l("Đơn vị đã trực thuộc đơn vị này."), "parent")
    _check_existed(unit, on)
    if new_parent is not None:
        _check_existed(new_parent, on)
    old = unit.parent
    _set_parent(session, unit, new_parent, on)
    permissions.forget(actor)
    session.flush()
    audit.record(session, actor, "unit.move", object_type="unit", object_id=unit.id, unit_id=unit.id,
                 summary=f"{unit.code}: {old.code if old else '—'} → {new_parent.code if new_parent else '—'}",
                 details={"from": old.code if old else None, "to": new_parent.code if new_parent else None,
                          "on": on.isoformat()})
    return unit


def _move_people(session: Session, source: Unit, target: Unit, on: date, person_ids: set[int] | None = None) -> int:
    """Move the people currently in ``source`` (all, or those of ``person_ids``) to ``target``
    from ``on``; their earlier periods are kept."""
    stmt = sa.select(Membership).where(Membership.unit_id == source.id, Membership.valid_to.is_(None))
    if person_ids is not None:
        stmt = stmt.where(Membership.person_id.in_(sorted(person_ids))) if person_ids else stmt.where(sa.false())
    memberships = session.scalars(stmt).all()
    for membership in memberships:
        periods.check_start(membership.valid_from, on)
    for membership in memberships:
        person_id = membership.person_id
        periods.replace(session, membership, on,
                        lambda person_id=person_id: Membership(person_id=person_id, unit_id=target.id))
    session.flush()
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
        periods.end(session, link, on)
    unit.active = False
    unit.closed_on = on


def _revoke_scoped_admins(session: Session, actor: Actor, unit: Unit, logged_under: Unit, reason: str) -> int:
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


def merge_unit(session: Session, actor: Actor, source: Unit, target: Unit, on: date) -> dict[str, int]:
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
    _check_existed(source, on)
    _check_existed(target, on, "target")
    _check_history_ends_by(session, source, on)
    moved_people = _move_people(session, source, target, on)
    children = [c for c in source.children if c.active]
    for child in children:
        _set_parent(session, child, target, on)
    revoked = _revoke_scoped_admins(session, actor, source, target, "merged")
    _end_unit(session, source, on)
    source.merged_into_id = target.id
    session.add(UnitSuccession(predecessor_id=source.id, successor_id=target.id, kind=SuccessionKind.MERGE, on=on))
    session.flush()
    permissions.forget(actor)
    result = {"people": moved_people, "units": len(children), "roles": revoked}
    audit.record(session, actor, "unit.merge", object_type="unit", object_id=source.id, unit_id=target.id,
                 summary=f"{source.code} → {target.code}", details={**result, "on": on.isoformat()})
    return result


def close_unit(session: Session, actor: Actor, unit: Unit, on: date) -> Unit:
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
    _check_existed(unit, on)
    _check_history_ends_by(session, unit, on)
    _end_unit(session, unit, on)
    _revoke_scoped_admins(session, actor, unit, unit, "closed")
    session.flush()
    permissions.forget(actor)
    audit.record(session, actor, "unit.close", object_type="unit", object_id=unit.id, unit_id=unit.id,
                 summary=unit.code, details={"on": on.isoformat()})
    return unit


# -- reorganisations: split and consolidation -------------------------------------------------

@dataclass
class NewUnit:
    """A unit a reorganisation creates."""

    name: str
    code: str
    kind: UnitKind | str
    official_code: str | None = None
    #: Ids of the source's people (split: the people it takes over).
    people: set[int] = field(default_factory=set)
    #: Ids of the source's sub-units it takes over (split).
    units: set[int] = field(default_factory=set)


def split_unit(session: Session, actor: Actor, source: Unit, parts: list[NewUnit], on: date, *,
               keep_source: bool, decision: str | None = None) -> list[Unit]:
    """Chia, tách: new units are created from day ``on`` beside ``source`` (under its parent),
    each taking over the people and sub-units given to it. With ``keep_source`` (tách) the
    source goes on with whoever is left; without (chia) every person and sub-unit must be given
    to a new unit and the source ends that day. History stays: the earlier periods are kept,
    and the lineage is recorded."""
    _require_tree_editor(actor)
    _require_active(source, "unit")
    _check_existed(source, on)
    if not parts:
        raise ServiceError(_l("Hãy nhập ít nhất một đơn vị mới."), "parts")
    if not keep_source and len(parts) < 2:
        raise ServiceError(_l("Chia một đơn vị cần ít nhất hai đơn vị mới; để tách một phần, hãy giữ đơn vị cũ."),
                           "parts")
    current_people = set(session.scalars(sa.select(Membership.person_id).where(
        Membership.unit_id == source.id, Membership.valid_to.is_(None))))
    current_units = {child.id for child in source.children if child.active}
    given_people: set[int] = set()
    given_units: set[int] = set()
    for part in parts:
        if part.people - current_people or part.units - current_units:
            raise ServiceError(_l("Chỉ chuyển được người và đơn vị trực thuộc hiện có của đơn vị bị chia, tách."),
                               "parts")
        if part.people & given_people or part.units & given_units:
            raise ServiceError(_l("Một người hoặc một đơn vị trực thuộc chỉ được chuyển sang một đơn vị mới."),
                               "parts")
        given_people |= part.people
        given_units |= part.units
    if not keep_source and (given_people != current_people or given_units != current_units):
        left = len(current_people - given_people) + len(current_units - given_units)
        raise ServiceError(_l("Còn %(n)s người hoặc đơn vị trực thuộc chưa được chuyển sang đơn vị mới. Khi chia "
                              "đơn vị, mọi người và đơn vị trực thuộc phải được chuyển.", n=left), "parts")
    if not keep_source:
        _check_history_ends_by(session, source, on)
    decision = clean(decision)[:255] or None
    created: list[Unit] = []
    for part in parts:
        unit = create_unit(session, actor, name=part.name, code=part.code, kind=part.kind, parent=source.parent,
                           on=on, official_code=part.official_code, position=source.position)
        _move_people(session, source, unit, on, part.people)
        for child in source.children:
            if child.id in part.units:
                _set_parent(session, child, unit, on)
        session.add(UnitSuccession(predecessor_id=source.id, successor_id=unit.id, kind=SuccessionKind.SPLIT,
                                   on=on, decision=decision))
        created.append(unit)
    revoked = 0
    if not keep_source:
        revoked = _revoke_scoped_admins(session, actor, source, created[0], "split")
        _end_unit(session, source, on)
    session.flush()
    permissions.forget(actor)
    audit.record(session, actor, "unit.split", object_type="unit", object_id=source.id, unit_id=source.id,
                 summary=f"{source.code} → {', '.join(u.code for u in created)}",
                 details={"on": on.isoformat(), "kept": keep_source, "people": len(given_people),
                          "units": len(given_units), "roles": revoked, "decision": decision,
                          "new": [u.code for u in created]})
    return created


def consolidate_units(session: Session, actor: Actor, sources: list[Unit], new: NewUnit, parent: Unit | None,
                      on: date, *, decision: str | None = None) -> Unit:
    """Hợp nhất: ``sources`` (two or more) end on day ``on`` and one new unit, under
    ``parent``, takes over all their people and sub-units from that day."""
    _require_tree_editor(actor)
    sources = list({unit.id: unit for unit in sources}.values())
    if len(sources) < 2:
        raise ServiceError(_l("Hợp nhất cần ít nhất hai đơn vị."), "sources")
    for source in sources:
        _require_active(source, "sources")
        _check_existed(source, on, "sources")
        _check_history_ends_by(session, source, on)
    if parent is not None:
        below = subtree_ids(session, [s.id for s in sources])
        if parent.id in below:
            raise ServiceError(_l("Đơn vị mới không thể trực thuộc một trong các đơn vị được hợp nhất."), "parent")
    unit = create_unit(session, actor, name=new.name, code=new.code, kind=new.kind, parent=parent, on=on,
                       official_code=new.official_code, position=min(s.position for s in sources))
    decision = clean(decision)[:255] or None
    moved = {"people": 0, "units": 0, "roles": 0}
    for source in sources:
        moved["people"] += _move_people(session, source, unit, on)
        for child in [c for c in source.children if c.active]:
            _set_parent(session, child, unit, on)
            moved["units"] += 1
        moved["roles"] += _revoke_scoped_admins(session, actor, source, unit, "consolidated")
        _end_unit(session, source, on)
        source.merged_into_id = unit.id
        session.add(UnitSuccession(predecessor_id=source.id, successor_id=unit.id, kind=SuccessionKind.CONSOLIDATE,
                                   on=on, decision=decision))
    session.flush()
    permissions.forget(actor)
    audit.record(session, actor, "unit.consolidate", object_type="unit", object_id=unit.id, unit_id=unit.id,
                 summary=f"{', '.join(s.code for s in sources)} → {unit.code}",
                 details={**moved, "on": on.isoformat(), "decision": decision, "sources": [s.code for s in sources]})
    return unit
