"""People screens: list with search and filters, create, view, edit, roles, passwords."""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for

from lms import permissions
from lms.db import db, utcnow
from lms.errors import ServiceError
from lms.forms import (
    ConfirmForm,
    EndTitleForm,
    GrantRoleForm,
    KeyCadreForm,
    MovePersonForm,
    NewPersonForm,
    PersonForm,
    ResetPasswordForm,
    TitleForm,
    role_choices,
)
from lms.i18n import lazy_gettext as _l
from lms.models import EmploymentType, LegalTitle, Person, Role, RoleAssignment, TitleKind, Unit
from lms.services import people as service
from lms.services.directory import PeopleFilter, people_query
from lms.text import display_phone
from lms.views.common import actor, get_or_404, show_errors, today, unit_choices

bp = Blueprint("people", __name__, url_prefix="/admin/people")


def _enum_arg(name, enum_cls):
    value = request.args.get(name) or None
    try:
        return enum_cls(value) if value else None
    except ValueError:
        return None


def _bool_arg(name, default=None):
    value = request.args.get(name)
    return {"1": True, "0": False}.get(value, default if value is None else None)


def _fail(form, exc: ServiceError) -> None:
    show_errors(form, exc)


@bp.get("/")
@permissions.people_managers
def index():
    units = unit_choices(active_only=False, blank=str(_l("Tất cả đơn vị")))
    unit_id = request.args.get("unit", type=int) or None
    if unit_id is not None and unit_id not in {c.value for c in units}:
        unit_id = None
    filters = PeopleFilter(
        q=(request.args.get("q") or "")[:200], unit_id=unit_id, title=_enum_arg("title", TitleKind),
        employment_type=_enum_arg("employment", EmploymentType), on=today(),
        key_cadre=_bool_arg("key"), role=_enum_arg("role", Role), active=_bool_arg("active", True),
    )
    page = max(1, min(request.args.get("page", 1, type=int), 100000))
    pagination = db.paginate(people_query(db.session, actor(), filters), page=page,
                             per_page=25, error_out=False, count=True)
    return render_template("people/index.html", pagination=pagination, filters=filters, units=units,
                           active_arg=request.args.get("active", "1"))


@bp.route("/new", methods=["GET", "POST"])
@permissions.people_managers
def create():
    form = NewPersonForm()
    form.unit.choices = unit_choices()
    grantable = permissions.grantable_roles(db.session, actor())
    form.roles.choices = [c for c in role_choices(grantable) if c.value != Role.UNIT_ADMIN.value]
    if request.method == "GET":
        form.on.data = today()
        form.roles.data = [Role.TRAINEE.value]
        form.unit.data = request.args.get("unit", type=int)
    if form.validate_on_submit():
        unit = get_or_404(Unit, form.unit.data)
        data = _person_input(form)
        try:
            person = service.create_person(
                db.session, actor(), data, unit=unit, password=form.password.data, key_cadre=form.key_cadre.data,
                on=form.on.data, key_on=form.key_on.data, roles=tuple(Role(r) for r in form.roles.data),
            )
        except ServiceError as exc:
            _fail(form, exc)
        else:
            db.session.commit()
            flash(_l("Đã tạo tài khoản cho %(name)s. Người này sẽ phải đổi mật khẩu ở lần đăng nhập đầu tiên.",
                     name=person.full_name), "success")
            return redirect(url_for("people.detail", person_id=person.id))
    return render_template("people/new.html", form=form), 200 if not form.errors else 422


def _person_input(form) -> service.PersonInput:
    return service.PersonInput(form.full_name.data, form.email.data, form.phone.data, form.position.data,
                               form.employment_type.data or None, form.gender.data or None)


def _visible_person(person_id: int) -> Person:
    person = get_or_404(Person, person_id)
    scope = permissions.managed_unit_ids(db.session, actor())
    if scope is not permissions.ALL:
        unit = person.current_unit
        if unit is None or unit.id not in scope:
            abort(404)
    return person


def _forms(person: Person):
    get = request.method == "GET"
    edit = PersonForm(prefix="edit", obj=person) if get else PersonForm(prefix="edit")
    move = MovePersonForm(prefix="move")
    key = KeyCadreForm(prefix="key")
    password = ResetPasswordForm(prefix="pw")
    grant = GrantRoleForm(prefix="role")
    confirm = ConfirmForm(prefix="confirm")
    title = TitleForm(prefix="title")
    end_title = EndTitleForm(prefix="end")
    move.unit.choices = unit_choices()
    grant.role.choices = role_choices(permissions.grantable_roles(db.session, actor()))
    grant.unit.choices = unit_choices(blank=str(_l("— Không áp dụng —")))
    if get:
        edit.phone.data = display_phone(person.phone)
        edit.employment_type.data = person.employment_type.value if person.employment_type else ""
        edit.gender.data = person.gender.value if person.gender else ""
        move.unit.data = person.current_unit.id if person.current_unit else None
        key.key_cadre.data = "0" if person.is_key_cadre else "1"
        move.on.data = key.on.data = end_title.on.data = today()
    return {"edit": edit, "move": move, "key-cadre": key, "password": password, "grant": grant, "confirm": confirm,
            "title": title, "end-title": end_title}


def _render(person: Person, forms, status=200):
    return render_template(
        "people/detail.html", person=person, forms=forms,
        may_manage=permissions.may_manage_person(db.session, actor(), person),
        is_self=person.id == actor().id,
    ), status


@bp.get("/<int:person_id>")
@permissions.people_managers
def detail(person_id: int):
    person = _visible_person(person_id)
    return _render(person, _forms(person))


@bp.post("/<int:person_id>/<any(edit, move, 'key-cadre', password, grant, title, deactivate, reactivate):action>")
@permissions.people_managers
def change(person_id: int, action: str):
    person = _visible_person(person_id)
    if not permissions.may_manage_person(db.session, actor(), person):
        abort(403)
    forms = _forms(person)
    form = forms.get(action, forms["confirm"])
    if form.validate_on_submit():
        try:
            message = _apply(person, action, form)
        except ServiceError as exc:
            _fail(form, exc)
        else:
            db.session.commit()
            if message:
                flash(message, "success")
            return redirect(url_for("people.detail", person_id=person.id))
    db.session.rollback()
    flash(_l("Chưa lưu được thay đổi. Vui lòng xem các lỗi bên dưới."), "danger")
    return _render(db.session.get(Person, person_id), forms, 422)


def _apply(person: Person, action: str, form):
    session, who = db.session, actor()
    if action == "edit":
        changed = service.update_person(session, who, person, _person_input(form))
        return _l("Đã lưu thông tin.") if changed else _l("Không có thay đổi nào.")
    if action == "move":
        unit = get_or_404(Unit, form.unit.data)
        moved = service.move_person(session, who, person, unit, form.on.data)
        return _l("Đã chuyển sang đơn vị “%(name)s”.", name=unit.name) if moved else _l("Không có thay đổi nào.")
    if action == "key-cadre":
        value = form.key_cadre.data == "1"
        changed = service.set_key_cadre(session, who, person, value, form.on.data)
        if not changed:
            return _l("Không có thay đổi nào.")
        return _l("Đã ghi nhận là cán bộ chủ chốt.") if value else _l("Đã thôi ghi nhận là cán bộ chủ chốt.")
    if action == "password":
        service.reset_password(session, who, person, form.password.data, utcnow())
        return _l("Đã đặt mật khẩu mới. Người dùng sẽ phải đổi mật khẩu khi đăng nhập.")
    if action == "grant":
        role = Role(form.role.data)
        unit = session.get(Unit, form.unit.data) if form.unit.data else None
        granted = service.grant_role(session, who, person, role, unit)
        return _l("Đã cấp vai trò.") if granted else _l("Người này đã có vai trò đó.")
    if action == "title":
        service.add_title(session, who, person, service.TitleInput(
            form.kind.data, form.level.data or None, form.decision_number.data, form.decision_date.data,
            form.issuing_authority.data, form.valid_from.data), today=today())
        return _l("Đã ghi nhận chức danh.")
    if action == "deactivate":
        service.deactivate_person(session, who, person, today(), utcnow())
        return _l("Đã khóa tài khoản.")
    service.reactivate_person(session, who, person)
    return _l("Đã mở khóa tài khoản.")


@bp.post("/<int:person_id>/roles/<int:assignment_id>/revoke")
@permissions.people_managers
def revoke(person_id: int, assignment_id: int):
    person = _visible_person(person_id)
    assignment = db.session.get(RoleAssignment, assignment_id)
    if assignment is None or assignment.person_id != person.id:
        abort(404)
    if not permissions.may_manage_person(db.session, actor(), person):
        abort(403)
    ConfirmForm()
    try:
        service.revoke_role(db.session, actor(), person, assignment)
    except ServiceError as exc:
        db.session.rollback()
        flash(exc.message, "danger")
        return redirect(url_for("people.detail", person_id=person.id))
    db.session.commit()
    flash(_l("Đã thu hồi vai trò."), "success")
    return redirect(url_for("people.detail", person_id=person.id))


@bp.post("/<int:person_id>/titles/<int:title_id>/end")
@permissions.people_managers
def end_title(person_id: int, title_id: int):
    person = _visible_person(person_id)
    title = db.session.get(LegalTitle, title_id)
    if title is None or title.person_id != person.id:
        abort(404)
    if not permissions.may_manage_person(db.session, actor(), person):
        abort(403)
    forms = _forms(person)
    form = forms["end-title"]
    if form.validate_on_submit():
        try:
            ended = service.end_title(db.session, actor(), person, title, form.on.data, form.reason.data)
        except ServiceError as exc:
            _fail(form, exc)
        else:
            db.session.commit()
            flash(_l("Đã ghi nhận thôi chức danh.") if ended else _l("Chức danh này đã kết thúc trước đó."), "success")
            return redirect(url_for("people.detail", person_id=person.id))
    db.session.rollback()
    flash(_l("Chưa lưu được thay đổi. Vui lòng xem các lỗi bên dưới."), "danger")
    return _render(db.session.get(Person, person_id), forms, 422)
