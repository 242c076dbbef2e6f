"""The organisation tree screens (administrators edit; unit administrators see their part)."""

from __future__ import annotations

import sqlalchemy as sa
from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from lms.i18n import lazy_gettext as _l

from lms import permissions
from lms.db import db
from lms.errors import ServiceError
from lms.forms import CloseUnitForm, MergeUnitForm, MoveUnitForm, NewUnitForm, UnitForm
from lms.models import Membership, Unit
from lms.services import units as service
from lms.views.common import actor, get_or_404, show_errors, today, tree_order, unit_choices

bp = Blueprint("units", __name__, url_prefix="/admin/units")


def _people_counts() -> dict[int, int]:
    rows = db.session.execute(
        sa.select(Membership.unit_id, sa.func.count()).where(Membership.valid_to.is_(None)).group_by(Membership.unit_id)
    )
    return dict(rows.all())


def _fail(form, exc: ServiceError) -> None:
    show_errors(form, exc)


@bp.get("/")
@permissions.people_managers
def index():
    show_closed = request.args.get("closed") == "1"
    within = permissions.managed_unit_ids(db.session, actor())
    rows = tree_order(active_only=not show_closed, within=within)
    return render_template("units/index.html", rows=rows, counts=_people_counts(), show_closed=show_closed,
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
                                       kind=form.kind.data, parent=parent, on=form.on.data)
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
    people = db.session.scalars(
        sa.select(Membership).where(Membership.unit_id == unit.id, Membership.valid_to.is_(None))
    ).all()
    return render_template(
        "units/detail.html", unit=unit, forms=forms, ancestors=service.ancestors(unit),
        history=service.unit_history(db.session, unit), people_count=len(people),
        may_edit=permissions.may_edit_tree(actor()), counts=_people_counts(),
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
                                    kind=form.kind.data)
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
