"""Import screens, for people (the roster) and for the organisation tree: the template, upload
and preview, then confirm (which queues the job that writes) or discard.

The work (reading, checking, writing) is in :mod:`lms.services.imports` and its importers; the
uploaded file waits in the database between preview and confirmation, so any worker can finish
the job.
"""

from __future__ import annotations

import io

from flask import Blueprint, abort, flash, redirect, render_template, send_file, url_for
from flask_babel import get_locale

from lms import permissions, spreadsheet
from lms.db import db, utcnow
from lms.errors import NotFound, ServiceError
from lms.forms import ImportConfirmForm, ImportUploadForm
from lms.i18n import lazy_gettext as _l
from lms.models import ImportBatch
from lms.services import imports, roster, unit_import
from lms.views.common import actor, today

bp = Blueprint("imports", __name__, url_prefix="/admin/import")

KINDS = {"people": roster, "units": unit_import}
TEMPLATE_NAMES = {"people": "mau-danh-sach-nguoi-dung.xlsx", "units": "mau-co-cau-to-chuc.xlsx"}


def _may_import_something(session, person) -> bool:
    return permissions.may_manage_people(session, person) or permissions.may_edit_tree(person)


importers = permissions.check(_may_import_something, "importers")


def _importer(kind: str) -> imports.Importer:
    importer = imports.importer_for(kind)
    if not importer.allowed(db.session, actor()):
        abort(403)
    return importer


def _upload_page(kind: str, form: ImportUploadForm, errors=(), status: int = 200):
    return render_template("imports/upload.html", kind=kind, importer=imports.importer_for(kind), form=form,
                           template_url=url_for("imports.template_units" if kind == "units" else "imports.template"),
                           errors=list(errors), max_rows=spreadsheet.max_rows(),
                           max_mb=spreadsheet.max_bytes() // (1024 * 1024)), status


def _preview_page(preview: imports.Preview, batch: ImportBatch | None = None, form: ImportConfirmForm | None = None,
                  status: int | None = None):
    if status is None:
        status = 200 if preview.ok else 422
    rows = preview.problem_rows or preview.rows
    importer = imports.importer_for(preview.kind)
    return render_template("imports/preview.html", preview=preview, rows=rows, counts=preview.counts, batch=batch,
                           importer=importer, form=form or ImportConfirmForm(),
                           upload_url=upload_url(preview.kind)), status


def _batch(token: str) -> ImportBatch:
    try:
        batch = imports.get_batch(db.session, actor(), token)
    except NotFound:
        abort(404)
    if batch.kind not in KINDS:
        abort(404)  # another feature's upload (question files): it has its own pages
    _importer(batch.kind)
    return batch


@bp.route("/", methods=["GET", "POST"])
@permissions.people_managers
def upload():
    return _upload("people")


@bp.route("/units/", methods=["GET", "POST"])
@permissions.admin_only
def upload_units():
    return _upload("units")


def upload_url(kind: str) -> str:
    return url_for("imports.upload_units" if kind == "units" else "imports.upload")


def _upload(kind: str):
    importer = _importer(kind)
    form = ImportUploadForm()
    if not form.validate_on_submit():
        return _upload_page(kind, form, status=422 if form.errors else 200)
    storage = form.file.data
    content = storage.stream.read(spreadsheet.max_bytes() + 1)  # never more than the limit in memory
    filename = imports.clean_filename(storage.filename)
    checked = importer.check(db.session, actor(), content, filename, today=today())
    if checked.file_errors:
        db.session.rollback()
        return _upload_page(kind, form, checked.file_errors, 422)
    if not checked.ok or not checked.has_changes:
        db.session.rollback()
        return _preview_page(checked)
    batch = imports.stage(db.session, actor(), kind, filename, content, utcnow())
    db.session.commit()
    return _preview_page(checked, batch)


@bp.get("/template.xlsx")
@permissions.people_managers
def template():
    return _template("people")


@bp.get("/units/template.xlsx")
@permissions.admin_only
def template_units():
    return _template("units")


def _template(kind: str):
    _importer(kind)
    data = KINDS[kind].build_template(db.session, actor())
    return send_file(io.BytesIO(data), mimetype=spreadsheet.XLSX_MIMETYPE, as_attachment=True,
                     download_name=TEMPLATE_NAMES[kind], max_age=0)


def _refused(batch: ImportBatch, exc: ServiceError):
    db.session.rollback()
    return _upload_page(batch.kind, ImportUploadForm(formdata=None), [exc.message], 409)


@bp.get("/<token>")
@importers
def preview(token: str):
    batch = _batch(token)
    try:
        imports.require_pending(batch, utcnow())
    except ServiceError as exc:
        return _refused(batch, exc)
    running = imports.running_job(db.session, batch)
    if running is not None:
        return redirect(url_for("jobs.detail", job_id=running.id))
    result = imports.check_batch(db.session, actor(), batch, today=today())
    db.session.rollback()
    return _preview_page(result, batch if result.ok else None)


@bp.post("/<token>/confirm")
@importers
def confirm(token: str):
    batch = _batch(token)
    form = ImportConfirmForm()
    if form.validate_on_submit():
        try:
            job = imports.confirm(db.session, actor(), batch, password=form.password.data or None, now=utcnow(),
                                  locale=str(get_locale()))
        except imports.ImportRejected as exc:
            db.session.rollback()
            return _preview_page(exc.preview, None, form, 422)
        except ServiceError as exc:
            if exc.field != "password":
                return _refused(batch, exc)
            db.session.rollback()
            form.password.errors = list(form.password.errors) + [exc.message]
        else:
            db.session.commit()  # the job starts once this is committed
            return redirect(url_for("jobs.detail", job_id=job.id))
    batch = _batch(token)
    try:
        imports.require_pending(batch, utcnow())
    except ServiceError as exc:
        return _refused(batch, exc)
    again = imports.check_batch(db.session, actor(), batch, today=today())
    db.session.rollback()
    return _preview_page(again, batch if again.ok else None, form, 422)


@bp.post("/<token>/discard")
@importers
def discard(token: str):
    batch = _batch(token)  # (CSRFProtect checks every POST)
    kind = batch.kind
    if imports.discard_batch(db.session, actor(), batch):
        db.session.commit()
        flash(_l("Đã hủy danh sách vừa tải lên; không có thay đổi nào được ghi."), "info")
    return redirect(upload_url(kind))
