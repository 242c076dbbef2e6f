"""Administrators edit the reference data: the seven conventions and the five contents."""

from __future__ import annotations

import sqlalchemy as sa
from flask import abort, flash, redirect, render_template, url_for
from flask_wtf import FlaskForm
from wtforms import IntegerField, StringField, TextAreaField
from wtforms.validators import InputRequired, Length, NumberRange, Optional

from courses import services
from courses.models import ContentArea, Convention
from courses.views import blueprint
from lms import permissions
from lms.db import db
from lms.errors import ServiceError
from lms.forms import VNDateField
from lms.i18n import lazy_gettext as _l
from lms.views.common import actor


class _Year(IntegerField):
    def process_formdata(self, valuelist):
        try:
            super().process_formdata(valuelist)
        except ValueError:
            raise ValueError(_l("Năm phải là số (ví dụ 1966).")) from None


def _name(label):
    return StringField(label, validators=[InputRequired(message=_l("Vui lòng nhập tên.")),
                                          Length(max=300, message=_l("Tên không được dài quá %(n)s ký tự.", n=300))])


def _year(label):
    return _Year(label, validators=[InputRequired(message=_l("Vui lòng nhập năm.")),
                                    NumberRange(1900, 2100, message=_l("Năm phải từ 1900 đến 2100."))])


class ConventionForm(FlaskForm):
    name_vi = _name(_l("Tên tiếng Việt"))
    name_en = _name(_l("Tên tiếng Anh"))
    adopted_year = _year(_l("Năm Liên hợp quốc thông qua"))
    adopted_on = VNDateField(_l("Ngày thông qua"), validators=[Optional()])
    vn_party_year = _year(_l("Năm Việt Nam trở thành thành viên"))
    vn_party_on = VNDateField(_l("Ngày Việt Nam trở thành thành viên"), validators=[Optional()])


def _text(label, limit, required_message=_l("Vui lòng nhập tên."), **kwargs):
    return StringField(label, validators=[
        InputRequired(message=required_message),
        Length(max=limit, message=_l("Tên không được dài quá %(n)s ký tự.", n=limit))], **kwargs)


class ContentForm(FlaskForm):
    """A communication content: the plan's full wording and the short label lists show."""

    short_vi = _text(_l("Tên ngắn tiếng Việt"), 120, _l("Vui lòng nhập tên ngắn."),
                     description=_l("Hiện trong danh sách, bộ lọc và nhãn của khóa học."))
    short_en = _text(_l("Tên ngắn tiếng Anh"), 120, _l("Vui lòng nhập tên ngắn."))
    name_vi = TextAreaField(_l("Tên đầy đủ tiếng Việt"), validators=[
        InputRequired(message=_l("Vui lòng nhập tên.")),
        Length(max=1000, message=_l("Tên không được dài quá %(n)s ký tự.", n=1000))],
        description=_l("Theo đúng nội dung truyền thông trong Kế hoạch."), render_kw={"rows": 4})
    name_en = TextAreaField(_l("Tên đầy đủ tiếng Anh"), validators=[
        InputRequired(message=_l("Vui lòng nhập tên.")),
        Length(max=1000, message=_l("Tên không được dài quá %(n)s ký tự.", n=1000))], render_kw={"rows": 4})


@blueprint.get("/reference")
@permissions.admin_only
def reference():
    conventions = db.session.scalars(sa.select(Convention).order_by(Convention.position)).all()
    contents = db.session.scalars(sa.select(ContentArea).order_by(ContentArea.number)).all()
    return render_template("courses/reference/index.html", conventions=conventions, contents=contents)


def _edit(item, form, save, title):
    """Validate ``form``, call ``save`` (a service call), commit and go back to the list."""
    if form.validate_on_submit():
        try:
            save()
        except ServiceError as exc:
            db.session.rollback()
            form[exc.field or "name_vi"].errors.append(exc.message)
        else:
            db.session.commit()
            flash(_l("Đã lưu."), "success")
            return redirect(url_for("courses.reference"))
    return render_template("courses/reference/edit.html", form=form, item=item,
                           title=title), 422 if form.errors else 200


@blueprint.route("/reference/conventions/<int:convention_id>", methods=["GET", "POST"])
@permissions.admin_only
def edit_convention(convention_id: int):
    item = db.session.get(Convention, convention_id) or abort(404)
    form = ConventionForm(obj=item)
    fields = ("name_vi", "name_en", "adopted_year", "adopted_on", "vn_party_year", "vn_party_on")
    return _edit(item, form, lambda: services.update_convention(
        db.session, actor(), item, **{f: form[f].data for f in fields}), item.code)


@blueprint.route("/reference/contents/<int:content_id>", methods=["GET", "POST"])
@permissions.admin_only
def edit_content(content_id: int):
    item = db.session.get(ContentArea, content_id) or abort(404)
    form = ContentForm(obj=item)
    return _edit(item, form, lambda: services.update_content(
        db.session, actor(), item, name_vi=form.name_vi.data, name_en=form.name_en.data,
        short_vi=form.short_vi.data, short_en=form.short_en.data),
        _l("Nội dung %(n)s", n=item.number))
