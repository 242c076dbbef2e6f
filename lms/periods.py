"""Dated periods: one rule for every record that holds "from day A until day B".

Unit-to-parent links, unit membership, key-cadre status and titles of legal dissemination are
half-open periods ``[valid_from, valid_to)``: in force on day D when ``valid_from <= D`` and
``valid_to`` is empty or after D. A change on day D *closes* the open period on D and *opens* a
new one from D, so history is never rewritten. This module is the one place that rule is written:

* :class:`Period`: the mixin the models share (``valid_from``, ``valid_to``, the period key);
* :func:`in_force`: the WHERE clause "in force on D";
* :func:`end` and :func:`replace`: close, and close-and-open, with the checks that go with them;
* a flush-time guard that refuses two periods of the same kind that overlap (PostgreSQL also has
  an exclusion constraint for each, see migration 0003; SQLite has only this guard).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import date
from itertools import chain
from typing import ClassVar, Optional, TypeVar

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, Session, mapped_column

from lms.errors import ServiceError
from lms.i18n import lazy_gettext as _l

P = TypeVar("P", bound="Period")


class Period:
    """Mixin for a dated record ``[valid_from, valid_to)``.

    ``__period_key__`` names the columns that identify "the same kind of period" (two periods
    with equal keys may not overlap), e.g. ``("person_id",)`` for memberships.
    """

    __period_key__: ClassVar[tuple[str, ...]] = ()
    #: Human name of the record kind, for messages.
    __period_label__: ClassVar[object] = _l("giai đoạn")

    #: First day in force.
    valid_from: Mapped[date] = mapped_column()
    #: First day no longer in force; empty while the period is open.
    valid_to: Mapped[Optional[date]] = mapped_column()

    def in_force_on(self, day: date) -> bool:
        return self.valid_from <= day and (self.valid_to is None or day < self.valid_to)

    @property
    def is_open(self) -> bool:
        return self.valid_to is None


def in_force(model, on: date) -> sa.ColumnElement[bool]:
    """WHERE clause: the dated record ``model`` is in force on day ``on``."""
    return sa.and_(model.valid_from <= on, sa.or_(model.valid_to.is_(None), model.valid_to > on))


def overlapping(model, start: date, end: date | None) -> sa.ColumnElement[bool]:
    """WHERE clause: the record's period shares at least one day with ``[start, end)``."""
    clause = sa.or_(model.valid_to.is_(None), model.valid_to > start)
    if end is not None:
        clause = sa.and_(clause, model.valid_from < end)
    return clause


def vn_day(day: date) -> str:
    return day.strftime("%d/%m/%Y")


def check_start(start: date | None, on: date, field: str = "on") -> None:
    """A change dated ``on`` may not come before the current period began on ``start``."""
    if start is not None and on < start:
        raise ServiceError(
            _l("Ngày hiệu lực không được trước ngày bắt đầu của giai đoạn hiện tại (%(d)s).", d=vn_day(start)),
            field,
        )


def end(session: Session, period: Period, on: date, *, collection: list | None = None, field: str = "on") -> bool:
    """End the open ``period`` on day ``on``: it stays as history ``[from, on)``. A period that
    would then cover no day at all (it began on ``on``) is deleted instead; returns False then.
    ``collection`` is the parent's list the period sits in (so the parent stops seeing it)."""
    check_start(period.valid_from, on, field)
    if period.valid_from == on:
        if collection is not None and period in collection:
            collection.remove(period)
        session.delete(period)
        session.flush()  # before a successor is inserted: one open period at a time
        return False
    period.valid_to = on
    return True


def replace(session: Session, current: P | None, on: date, make: Callable[[], P], *,
            collection: list | None = None, previous: Iterable[P] = (), same: Callable[[P], bool] | None = None,
            field: str = "on") -> P:
    """Close-and-open: the open period ``current`` (if any) ends on ``on`` and a new one starts
    that day. When a period of ``previous`` that ``same`` recognises ended exactly on ``on``
    (the change undoes one made that same day), it is reopened instead of adding a second,
    adjacent period. Returns the period in force from ``on``."""
    if current is not None:
        end(session, current, on, collection=collection, field=field)
    if same is not None:
        for old in previous:
            if old is not current and old.valid_to == on and same(old):
                old.valid_to = None
                return old
    period = make()
    period.valid_from = on
    period.valid_to = None
    if collection is not None:
        collection.append(period)
    else:
        session.add(period)
    return period


# -- the overlap guard ----------------------------------------------------------------------

_FAR = date.max


def _key(obj: Period) -> tuple:
    """The period key of ``obj``; a foreign key not yet set (a new parent) is named by the
    related object itself, so two new periods of one new person are still compared."""
    parts = []
    for name in obj.__period_key__:
        value = getattr(obj, name)
        if value is None and name.endswith("_id"):
            related = getattr(obj, name[:-3], None)
            if related is not None:
                value = related.id if related.id is not None else ("new", id(related))
        parts.append(value)
    return tuple(parts)


def _conflict(rows: list[tuple[date, date | None]]) -> tuple[tuple, tuple] | None:
    rows = sorted(rows, key=lambda r: r[0])
    for (a_from, a_to), (b_from, b_to) in zip(rows, rows[1:], strict=False):
        if b_from < (a_to or _FAR):
            return (a_from, a_to), (b_from, b_to)
    return None


def check_overlaps(session: Session, objects: Iterable[object]) -> None:
    """Refuse (:class:`ServiceError`) when a new or changed period overlaps another of its kind.

    One query per model and flush, whatever the number of periods (keys in chunks of 500)."""
    pending: dict[type, list[Period]] = {}
    for obj in objects:
        if isinstance(obj, Period) and obj.__period_key__ and obj.valid_from is not None:
            pending.setdefault(type(obj), []).append(obj)
    if not pending:
        return
    deleted = {id(o) for o in session.deleted}
    for model, rows in pending.items():
        groups: dict[tuple, dict[object, tuple[date, date | None]]] = {}
        for obj in rows:
            if id(obj) not in deleted:
                groups.setdefault(_key(obj), {})[obj.id if obj.id is not None else ("new", id(obj))] = (
                    obj.valid_from, obj.valid_to)
        first = model.__period_key__[0]
        values = sorted({k[0] for k in groups if isinstance(k[0], int)})
        deleted_ids = {o.id for o in session.deleted if isinstance(o, model) and o.id is not None}
        columns = [getattr(model, name) for name in model.__period_key__]
        with session.no_autoflush:
            for start in range(0, len(values), 500):
                stmt = sa.select(model.id, *columns, model.valid_from, model.valid_to).where(
                    getattr(model, first).in_(values[start:start + 500]))
                for row in session.execute(stmt):
                    key = tuple(row[1:1 + len(columns)])
                    if key in groups and row[0] not in deleted_ids:
                        groups[key].setdefault(row[0], (row[-2], row[-1]))
        for periods in groups.values():
            found = _conflict(list(periods.values()))
            if found is not None:
                (a_from, a_to), (b_from, b_to) = found
                raise ServiceError(_l(
                    "Không thể ghi: %(what)s từ %(b_from)s trùng thời gian với %(what)s đã có "
                    "(%(a_from)s – %(a_to)s).", what=model.__period_label__, b_from=vn_day(b_from),
                    a_from=vn_day(a_from), a_to=vn_day(a_to) if a_to else _l("nay")), "on")


@sa.event.listens_for(Session, "before_flush")
def _guard_overlaps(session: Session, flush_context, instances) -> None:
    check_overlaps(session, chain(session.new, session.dirty))
