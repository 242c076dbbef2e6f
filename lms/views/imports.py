"""Roster import screens: the template, upload and preview, then confirm or discard.

The work (reading, checking, writing) is in :mod:`lms.services.roster`; the uploaded file waits
in the database between preview and confirmation, so any worker can finish the job.
"""

from __future__ import annotations

import io

from flask import Blueprint, abort, flash, redirect, render_template, send_file, url_for
from lms.i18n import lazy_gettext as _l

from lms import permissions
from lms.db import db, utcnow
from lms.errors import NotFound, ServiceError
from lms.forms import ImportConfirmForm, ImportUploadForm
from lms.models import ImportBatch
from lms.services import roster
from lms.views.common import actor, today

bp = Blueprint("imports", __name__, url_prefix="/admin/import")

XLSX_MIMETYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _upload_page(form: ImportUploadForm, errors=(), status: int = 200):
    return render_template("imports/upload.html", form=form, errors=list(errors), max_rows=roster.max_rows(),
                           max_mb=roster.max_bytes() // (1024 * 1024)), status


def _preview_page(preview: roster.Preview, batch: ImportBatch | None = None, form: ImportConfirmForm | None = None,
                  status: int | None = None):
    if status is None:
        status = 200 if preview.ok else 422
    rows = preview.problem_rows or preview.rows
    return render_template("imports/preview.html", preview=preview, rows=rows, counts=preview.counts, batch=batch,
                           form=form or ImportConfirmForm()), status


def _batch(token: str) -> ImportBatch:
    try:
        return roster.get_batch(db.session, actor(), token)
    except NotFound:
        abort(404)


@bp.route("/", methods=["GET", "POST"])
@permissions.people_managers
def upload():
    form = ImportUploadForm()
    if not form.validate_on_submit():
        return _upload_page(form, status=422 if form.errors else 200)
    storage = form.file.data
    limit = roster.max_bytes()
    content = storage.stream.read(limit + 1)  # never more than the limit in memory
    filename = roster.clean_filename(storage.filename)
    checked = roster.check(db.session, actor(), content, filename, today=today())
    if checked.file_errors:
        db.session.rollback()
        return _upload_page(form, checked.file_errors, 422)
    if not checked.ok or not checked.has_changes:
        db.session.rollback()
        return _preview_page(checked)
    batch = roster.stage(db.session, actor(), filename, content, utcnow())
    db.session.commit()
    return _preview_page(checked, batch)


@bp.get("/template.xlsx")
@permissions.people_managers
def template():
    data = roster.build_template(db.session, actor())
    return send_file(io.BytesIO(data), mimetype=XLSX_MIMETYPE, as_attachment=True,
                     download_name="mau-danh-sach-nguoi-dung.xlsx", max_age=0)


def _refused(exc: ServiceError):
    db.session.rollback()
    return _upload_page(ImportUploadForm(formdata=None), [exc.message], 409)


@bp.get("/<token>")
@permissions.people_managers
def preview(token: str):
    batch = _batch(token)
    try:
        roster.require_pending(batch, utcnow())
    except ServiceError as exc:
        return _refused(exc)
    result = roster.check(db.session, actor(), batch.content, batch.filename, today=today())
    db.session.rollback()
    return _preview_page(result, batch if result.ok else None)


@bp.post("/<token>/confirm")
@permissions.people_managers
def confirm(token: str):
    batch = _batch(token)
    form = ImportConfirmForm()
    if form.validate_on_submit():
        try:
            result = roster.apply_batch(db.session, actor(), batch, password=form.password.data or None,
                                        today=today(), now=utcnow())
        except roster.RosterRejected as exc:
            db.session.rollback()
            return _preview_page(exc.preview, None, form, 422)
        except ServiceError as exc:
            if exc.field != "password":
                return _refused(exc)
            db.session.rollback()
            form.password.errors = list(form.password.errors) + [exc.message]
        else:
            db.session.commit()
            flash(_l("Đã nhập danh sách: %(created)s tài khoản mới, %(updated)s người được cập nhật, "
                     "%(unchanged)s người không thay đổi.", **result), "success")
            return redirect(url_for("people.index"))
    batch = _batch(token)
    try:
        roster.require_pending(batch, utcnow())
    except ServiceError as exc:
        return _refused(exc)
    again = roster.check(db.session, actor(), batch.content, batch.filename, today=today())
    db.session.rollback()
    return _preview_page(again, batch if again.ok else None, form, 422)


@bp.post("/<token>/discard")
@permissions.people_managers
def discard(token: str):
    batch = _batch(token)  # (CSRFProtect checks every POST)
    if roster.discard_batch(db.session, actor(), batch):
        db.session.commit()
        flash(_l("Đã hủy danh sách vừa tải lên; không có thay đổi nào được ghi."), "info")
    return redirect(url_for("imports.upload"))
