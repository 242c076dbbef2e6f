"""The organisation tree screens (administrators edit; unit administrators see their part).

The tree can be looked at on any day (``?on=2024-12-31``): the units that existed then, under the
parents they had then, with their people and key cadres of that day. Reorganisations — move,
merge, split, consolidation, closing — are dated and keep history (:mod:`lms.services.units`).
"""

from __future__ import annotations

import re
from datetime import date, datetime

import sqlalchemy as sa
from flask import Blueprint, abort, flash, redirect, render_template, request, url_for

from lms import permissions, tree
from lms.db import db
from lms.errors import ServiceError
from lms.forms import CloseUnitForm, ConsolidateForm, MergeUnitForm, MoveUnitForm, NewUnitForm, SplitForm, UnitForm
from lms.i18n import lazy_gettext as _l
from lms.models import KeyCadrePeriod, Membership, Person, Unit
from lms.periods import in_force
from lms.services import units as service
from lms.views.common import actor, get_or_404, show_errors, today, tree_order, unit_choices

bp = Blueprint("units", __name__, url_prefix="/admin/units")
#: New units a split page offers.
SPLIT_PARTS = 3
_NUMBER = re.compile(r"[0-9]{1,10}")


def _people_counts(on: date | None = None) -> dict[int, int]:
    """People per unit: now, or on day ``on``."""
    period = in_force(Membership, on) if on else Membership.valid_to.is_(None)
    rows = db.session.execute(sa.select(Membership.unit_id, sa.func.count()).where(period)
                              .group_by(Membership.unit_id))
    return dict(rows.all())


def _key_cadre_counts(on: date) -> dict[int, int]:
    rows = db.session.execute(
        sa.select(Membership.unit_id, sa.func.count()).join(KeyCadrePeriod, KeyCadrePeriod.person_id ==
                                                            Membership.person_id)
        .where(in_force(Membership, on), in_force(KeyCadrePeriod, on)).group_by(Membership.unit_id))
    return dict(rows.all())


def _fail(form, exc: ServiceError) -> None:
    show_errors(form, exc)


def _day_arg() -> date | None:
    raw = (request.args.get("on") or "")[:10]
    try:
        day = datetime.strptime(raw, "%Y-%m-%d").date() if raw else None
    except ValueError:
        return None
    return day if day is None or 1900 <= day.year <= 2200 else None


@bp.get("/")
@permissions.people_managers
def index():
    show_closed = request.args.get("closed") == "1"
    on = _day_arg()
    within = permissions.managed_unit_ids(db.session, actor())
    if on is not None:
        rows = tree_order(active_only=False, within=within, children=tree.tree_on(db.session, on)[1])
        counts, key_counts = _people_counts(on), _key_cadre_counts(on)
    else:
        rows = tree_order(active_only=not show_closed, within=within)
        counts, key_counts = _people_counts(), _key_cadre_counts(today())
    return render_template("units/index.html", rows=rows, counts=counts, key_counts=key_counts,
                           show_closed=show_closed, on=on, today=today(),
                           may_edit=permissions.may_edit_tree(actor()))


@bp.route("/new", methods=["GET", "POST"])
@permissions.admin_only
def create():
    form = NewUnitForm()
    form.parent.choices = unit_choices(blank=str(_l("— Không (đơn vị gốc) —")), manageable=False)
    if request.method == "GET":
        form.on.data = today()
        parent = request.args.get("parent", type=int)
        if parent:
            form.parent.data = parent
    if form.validate_on_submit():
        parent = db.session.get(Unit, form.parent.data) if form.parent.data else None
        try:
            unit = service.create_unit(db.session, actor(), name=form.name.data, code=form.code.data,
                                       kind=form.kind.data, parent=parent, on=form.on.data,
                                       official_code=form.official_code.data, position=form.position.data)
        except ServiceError as exc:
            _fail(form, exc)
        else:
            db.session.commit()
            flash(_l("Đã tạo đơn vị “%(name)s”.", name=unit.name), "success")
            return redirect(url_for("units.detail", unit_id=unit.id))
    return render_template("units/new.html", form=form), 200 if not form.errors else 422


def _scoped_unit(unit_id: int) -> Unit:
    unit = get_or_404(Unit, unit_id)
    if not permissions.may_manage_unit(db.session, actor(), unit):
        abort(404)
    return unit


def _detail_forms(unit: Unit):
    edit = UnitForm(prefix="edit", obj=unit) if request.method == "GET" else UnitForm(prefix="edit")
    if request.method == "GET":
        edit.kind.data = unit.kind.value
    move = MoveUnitForm(prefix="move")
    merge = MergeUnitForm(prefix="merge")
    close = CloseUnitForm(prefix="close")
    blank = str(_l("— Không (đơn vị gốc) —"))
    move.parent.choices = [c for c in unit_choices(blank=blank, manageable=False) if c.value != unit.id]
    merge.target.choices = [c for c in unit_choices(manageable=False) if c.value != unit.id]
    if request.method == "GET":
        for form in (move, merge, close):
            form.on.data = today()
        move.parent.data = unit.parent_id or 0
    return {"edit": edit, "move": move, "merge": merge, "close": close}


def _render_detail(unit: Unit, forms, status=200):
    people = db.session.scalar(sa.select(sa.func.count()).select_from(Membership).where(
        Membership.unit_id == unit.id, Membership.valid_to.is_(None)))
    came_from, went_to = tree.successions(db.session, unit)
    return render_template(
        "units/detail.html", unit=unit, forms=forms, ancestors=tree.ancestors(unit),
        history=tree.unit_history(db.session, unit), people_count=people, came_from=came_from, went_to=went_to,
        may_edit=permissions.may_edit_tree(actor()),
    ), status


@bp.get("/<int:unit_id>")
@permissions.people_managers
def detail(unit_id: int):
    unit = _scoped_unit(unit_id)
    return _render_detail(unit, _detail_forms(unit))


@bp.post("/<int:unit_id>/<any(edit, move, merge, close):action>")
@permissions.admin_only
def change(unit_id: int, action: str):
    unit = get_or_404(Unit, unit_id)
    forms = _detail_forms(unit)
    form = forms[action]
    if form.validate_on_submit():
        try:
            if action == "edit":
                service.update_unit(db.session, actor(), unit, name=form.name.data, code=form.code.data,
                                    kind=form.kind.data, official_code=form.official_code.data,
                                    position=form.position.data)
                message = _l("Đã lưu thông tin đơn vị.")
            elif action == "move":
                parent = db.session.get(Unit, form.parent.data) if form.parent.data else None
                service.move_unit(db.session, actor(), unit, parent, form.on.data)
                message = _l("Đã chuyển đơn vị.")
            elif action == "merge":
                target = get_or_404(Unit, form.target.data)
                result = service.merge_unit(db.session, actor(), unit, target, form.on.data)
                message = _l("Đã sáp nhập vào “%(name)s”: chuyển %(people)s người và %(units)s đơn vị trực thuộc; "
                             "thu hồi %(roles)s quyền quản trị đơn vị.", name=target.name, **result)
            else:
                service.close_unit(db.session, actor(), unit, form.on.data)
                message = _l("Đã giải thể đơn vị.")
        except ServiceError as exc:
            _fail(form, exc)
        else:
            db.session.commit()
            flash(message, "success")
            return redirect(url_for("units.detail", unit_id=unit.id))
    db.session.rollback()
    flash(_l("Chưa lưu được thay đổi. Vui lòng xem các lỗi bên dưới."), "danger")
    return _render_detail(unit, forms, 422)


# -- split and consolidation ------------------------------------------------------------------

def _split_page(unit: Unit, form: SplitForm, chosen: dict[str, str], status: int = 200):
    people = db.session.scalars(
        sa.select(Person).join(Membership, Membership.person_id == Person.id)
        .where(Membership.unit_id == unit.id, Membership.valid_to.is_(None)).order_by(Person.sort_key, Person.id)).all()
    children = [c for c in unit.children if c.active]
    return render_template("units/split.html", unit=unit, form=form, people=people, children=children,
                           chosen=chosen, parts=range(1, SPLIT_PARTS + 1)), status


@bp.route("/<int:unit_id>/split", methods=["GET", "POST"])
@permissions.admin_only
def split(unit_id: int):
    unit = get_or_404(Unit, unit_id)
    if not unit.active:
        abort(404)
    form = SplitForm()
    if request.method == "GET":
        form.on.data = today()
        for n in range(1, SPLIT_PARTS + 1):
            getattr(form, f"kind_{n}").data = unit.kind.value
        return _split_page(unit, form, {})
    chosen = {key: value for key, value in request.form.items() if key.startswith(("person-", "unit-"))}
    if form.validate_on_submit():
        parts: list[service.NewUnit] = []
        numbers: list[int] = []
        for n in range(1, SPLIT_PARTS + 1):
            name, code = getattr(form, f"name_{n}").data, getattr(form, f"code_{n}").data
            if name or code:
                parts.append(service.NewUnit(name or "", code or "", getattr(form, f"kind_{n}").data))
                numbers.append(n)
        for key, value in chosen.items():
            kind, _, raw_id = key.partition("-")
            if not _NUMBER.fullmatch(raw_id) or not _NUMBER.fullmatch(value) or int(value) not in numbers:
                continue  # "0" (stays), or anything that is not one of the new units
            part = parts[numbers.index(int(value))]
            (part.people if kind == "person" else part.units).add(int(raw_id))
        try:
            created = service.split_unit(db.session, actor(), unit, parts, form.on.data,
                                         keep_source=form.keep_source.data, decision=form.decision.data)
        except ServiceError as exc:
            _fail(form, exc)
        else:
            db.session.commit()
            flash(_l("Đã chia, tách đơn vị: %(names)s.", names=", ".join(u.name for u in created)), "success")
            return redirect(url_for("units.detail", unit_id=created[0].id if not form.keep_source.data else unit.id))
    db.session.rollback()
    return _split_page(db.session.get(Unit, unit_id), form, chosen, 422)


@bp.route("/consolidate", methods=["GET", "POST"])
@permissions.admin_only
def consolidate():
    form = ConsolidateForm()
    form.sources.choices = unit_choices(manageable=False)
    form.parent.choices = unit_choices(blank=str(_l("— Không (đơn vị gốc) —")), manageable=False)
    if request.method == "GET":
        form.on.data = today()
        form.sources.data = [v for v in request.args.getlist("unit", type=int)]
    if form.validate_on_submit():
        sources = [u for u in (db.session.get(Unit, i) for i in form.sources.data) if u is not None]
        parent = db.session.get(Unit, form.parent.data) if form.parent.data else None
        try:
            unit = service.consolidate_units(
                db.session, actor(), sources,
                service.NewUnit(form.name.data, form.code.data, form.kind.data, form.official_code.data),
                parent, form.on.data, decision=form.decision.data)
        except ServiceError as exc:
            _fail(form, exc)
        else:
            db.session.commit()
            flash(_l("Đã hợp nhất %(n)s đơn vị thành “%(name)s”.", n=len(sources), name=unit.name), "success")
            return redirect(url_for("units.detail", unit_id=unit.id))
    return render_template("units/consolidate.html", form=form), 200 if not form.errors else 422
