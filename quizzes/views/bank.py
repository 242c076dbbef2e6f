"""The question bank ("Ngân hàng câu hỏi"), for trainers and administrators (``question.manage``):
the category tree and the questions of a category (search, filters, pages), categories created,
renamed and deleted, questions written and edited (each edit is a new version), previewed as a
trainee sees them, hidden; files imported (upload → preview → confirm, saved by a job) and
categories exported as GIFT or Moodle XML.

Every route needs ``question.manage`` (403 otherwise: the bank is one, shared by all trainers);
an id that does not exist is a 404. Writes go through :mod:`quizzes.services`.
"""

from __future__ import annotations

import io
import re
from datetime import datetime

import sqlalchemy as sa
from flask import abort, flash, redirect, render_template, request, send_file, url_for
from flask_babel import get_locale
from sqlalchemy.orm import selectinload
from wtforms.fields.choices import SelectChoice

from courses.forms import fill_tag_choices
from courses.models import ContentArea, Convention
from lms import permissions, spreadsheet
from lms.db import db, utcnow
from lms.errors import NotFound, PermissionDenied, ServiceError
from lms.i18n import lazy_gettext as _l
from lms.models import ImportBatch
from lms.services import imports as batches
from lms.storage import content_disposition
from lms.text import fold, like_pattern
from lms.views.common import actor, show_errors
from quizzes import importing, services
from quizzes.formats.base import ParsedOption, ParsedQuestion
from quizzes.forms.bank import (
    ADD_ROWS,
    EMPTY_ROWS,
    MAX_ROWS,
    TYPE_HELP,
    TYPE_LABELS,
    CategoryForm,
    ConfirmImportForm,
    ImportForm,
    QuestionForm,
    RenameForm,
    parse_number,
)
from quizzes.models import Question, QuestionCategory, QuestionType
from quizzes.text import option_label, render_text
from quizzes.views import blueprint

importing.register_importer()
importing.register_job()
importing.register_export_job()

managers = permissions.allowed("question.manage")
PER_PAGE = 25
#: Types whose options are rows of the table (true/false has its own two fields).
ROW_TYPES = {"single_choice", "multiple_response", "short_answer", "numerical", "matching"}


# -- helpers --------------------------------------------------------------------------------

def _category(category_id) -> QuestionCategory:
    category = db.session.get(QuestionCategory, category_id) if isinstance(category_id, int) else None
    if category is None:
        abort(404)
    return category


def _question(question_id: int) -> Question:
    question = db.session.get(Question, question_id)
    if question is None:
        abort(404)
    return question


def _tree() -> list[tuple[QuestionCategory, int]]:
    """Every category in tree order (Vietnamese alphabetical order among siblings), with depth."""
    categories = db.session.scalars(sa.select(QuestionCategory)).all()
    children: dict[int | None, list[QuestionCategory]] = {}
    for c in categories:
        children.setdefault(c.parent_id, []).append(c)
    for group in children.values():
        group.sort(key=lambda c: (c.sort_key or b"", c.name))
    out: list[tuple[QuestionCategory, int]] = []

    def walk(parent_id, depth):
        for c in children.get(parent_id, []):
            out.append((c, depth))
            walk(c.id, depth + 1)

    walk(None, 0)
    return out


def _category_choices(tree, blank=None) -> list[SelectChoice]:
    choices = [SelectChoice(0, blank)] if blank is not None else []
    return choices + [SelectChoice(c.id, "\u2003" * depth + c.name) for c, depth in tree]


def _below(category: QuestionCategory) -> list[int]:
    """Ids of ``category`` and every category below it."""
    return list(db.session.scalars(category.with_subcategories()))


def _vi() -> bool:
    return str(get_locale()) == "vi"


@blueprint.app_template_filter("question_text")
def _question_text_filter(text, text_format="html"):
    return render_text(text, text_format)


@blueprint.app_template_filter("option_label")
def _option_label_filter(text, text_format="html", qtype=""):
    return option_label(text, text_format, qtype)


def _fail(form, exc: ServiceError) -> None:
    if isinstance(exc, PermissionDenied):
        db.session.rollback()
        abort(403)
    show_errors(form, exc, {"question": None})


# -- the bank page --------------------------------------------------------------------------

@blueprint.get("/bank")
@managers
def bank():
    tree = _tree()
    counts = dict(db.session.execute(sa.select(Question.category_id, sa.func.count())
                                     .group_by(Question.category_id)).all())
    selected = None
    category_id = request.args.get("category", type=int)
    if category_id:
        selected = _category(category_id)
    # The form sends sub=0 (a hidden field) and sub=1 when the box is ticked.
    sub = "1" in request.args.getlist("sub") or "sub" not in request.args
    q = (request.args.get("q") or "").strip()[:200]
    qtype = request.args.get("type") or ""
    if qtype not in TYPE_LABELS:
        qtype = ""
    convention_id = request.args.get("convention", type=int) or 0
    show_hidden = request.args.get("hidden") == "1"
    conventions = db.session.scalars(sa.select(Convention).order_by(Convention.position, Convention.id)).all()
    stmt = sa.select(Question).options(selectinload(Question.conventions), selectinload(Question.contents))
    if selected is not None:
        ids = _below(selected) if sub else [selected.id]
        stmt = stmt.where(Question.category_id.in_(ids))
    if q:
        stmt = stmt.where(Question.search_text.like(like_pattern(fold(q)), escape="\\"))
    if qtype:
        stmt = stmt.where(Question.type == QuestionType(qtype))
    if convention_id:
        stmt = stmt.where(Question.conventions.any(Convention.id == convention_id))
    if not show_hidden:
        stmt = stmt.where(Question.hidden.is_(False))
    stmt = stmt.order_by(Question.updated_at.desc(), Question.id.desc())
    page = max(1, min(request.args.get("page", 1, type=int), 100000))
    pagination = db.paginate(stmt, page=page, per_page=PER_PAGE, error_out=False, count=True)
    form = CategoryForm(formdata=None)
    form.parent.choices = _category_choices(tree, _l("(Nhóm gốc)"))
    form.parent.data = selected.id if selected else 0
    return render_template("quizzes/bank/index.html", tree=tree, counts=counts, selected=selected, sub=sub, q=q,
                           qtype=qtype, convention_id=convention_id, show_hidden=show_hidden,
                           conventions=conventions, pagination=pagination, form=form,
                           rename_form=RenameForm(formdata=None), TYPE_LABELS=TYPE_LABELS)


# -- categories -----------------------------------------------------------------------------

def _back(category: QuestionCategory | None = None):
    return redirect(url_for("quizzes.bank", category=category.id if category else None))


@blueprint.route("/bank/categories/new", methods=["GET", "POST"])
@managers
def category_new():
    tree = _tree()
    form = CategoryForm()
    form.parent.choices = _category_choices(tree, _l("(Nhóm gốc)"))
    if request.method == "GET":
        form.parent.data = request.args.get("parent", 0, type=int)
    if form.validate_on_submit():
        parent = _category(form.parent.data) if form.parent.data else None
        try:
            category = services.create_category(db.session, actor(), form.name.data, parent)
        except ServiceError as exc:
            _fail(form, exc)
        else:
            db.session.commit()
            flash(_l("Đã tạo nhóm câu hỏi “%(name)s”.", name=category.name), "success")
            return _back(category)
    return render_template("quizzes/bank/category_form.html", form=form, category=None), \
        422 if form.errors or form.form_errors else 200


@blueprint.route("/bank/categories/<int:category_id>/rename", methods=["GET", "POST"])
@managers
def category_rename(category_id: int):
    category = _category(category_id)
    form = RenameForm()
    if request.method == "GET":
        form.name.data = category.name
    if form.validate_on_submit():
        try:
            services.rename_category(db.session, actor(), category, form.name.data)
        except ServiceError as exc:
            _fail(form, exc)
        else:
            db.session.commit()
            flash(_l("Đã đổi tên nhóm câu hỏi."), "success")
            return _back(category)
        category = _category(category_id)
    return render_template("quizzes/bank/category_form.html", form=form, category=category), \
        422 if form.errors or form.form_errors else 200


@blueprint.post("/bank/categories/<int:category_id>/delete")
@managers
def category_delete(category_id: int):
    category = _category(category_id)
    parent = category.parent
    name = category.name
    try:
        services.delete_category(db.session, actor(), category)
    except ServiceError as exc:
        db.session.rollback()
        if isinstance(exc, PermissionDenied):
            abort(403)
        flash(exc.message, "danger")
        return _back(_category(category_id))
    db.session.commit()
    flash(_l("Đã xóa nhóm câu hỏi “%(name)s”.", name=name), "success")
    return _back(parent)


# -- questions ------------------------------------------------------------------------------

def _fill_form(form: QuestionForm, parsed: ParsedQuestion, question: Question) -> None:
    form.name.data = parsed.name
    form.text.data = parsed.text
    form.text_format.data = parsed.text_format if parsed.text_format in ("html", "markdown", "plain") else "plain"
    form.default_mark.data = _number_text(parsed.default_mark)
    form.general_feedback.data = parsed.general_feedback
    form.conventions.data = [c.id for c in question.conventions]
    form.contents.data = [c.id for c in question.contents]
    settings = parsed.settings or {}
    form.shuffle.data = bool(settings.get("shuffle", True))
    form.case_sensitive.data = bool(settings.get("case_sensitive", False))
    form.ignore_diacritics.data = bool(settings.get("ignore_diacritics", False))
    if parsed.type == "true_false":
        by_text = {o.text: o for o in parsed.options}
        form.tf_answer.data = "true" if by_text.get("true") and by_text["true"].fraction > 0.5 else "false"
        form.tf_true_feedback.data = by_text["true"].feedback if "true" in by_text else ""
        form.tf_false_feedback.data = by_text["false"].feedback if "false" in by_text else ""
        return
    while len(form.options.entries):
        form.options.pop_entry()
    rows = parsed.options + [None] * max(0, EMPTY_ROWS - len(parsed.options))
    if len(parsed.options) >= EMPTY_ROWS:
        rows += [None] * ADD_ROWS
    for option in rows[:MAX_ROWS]:
        form.options.append_entry()
        entry = form.options.entries[-1].form
        if option is not None:
            entry.text.data = option.text
            entry.fraction.data = _number_text(option.fraction * 100)
            entry.feedback.data = option.feedback
            entry.match.data = option.match
            entry.tolerance.data = _number_text(option.tolerance) if option.tolerance else ""


def _number_text(value: float) -> str:
    text = f"{round(value, 5):.5f}".rstrip("0").rstrip(".")
    text = "0" if text in ("-0", "") else text
    return text.replace(".", ",") if _vi() else text


def _parsed(form: QuestionForm, qtype: str) -> ParsedQuestion:
    """The form as a question for the services (which run the same checks as the importers)."""
    mark = parse_number(form.default_mark.data, low=0, high=1000, message="")
    settings: dict = {}
    options: list[ParsedOption] = []
    if qtype in ("single_choice", "multiple_response"):
        settings["shuffle"] = bool(form.shuffle.data)
    if qtype == "short_answer":
        settings["case_sensitive"] = bool(form.case_sensitive.data)
        settings["ignore_diacritics"] = bool(form.ignore_diacritics.data)
    if qtype == "matching":
        settings["shuffle"] = True
    if qtype == "true_false":
        right = form.tf_answer.data == "true"
        options = [ParsedOption("true", 1.0 if right else 0.0, feedback=form.tf_true_feedback.data or ""),
                   ParsedOption("false", 0.0 if right else 1.0, feedback=form.tf_false_feedback.data or "")]
    elif qtype in ROW_TYPES:
        for entry in form.options.entries:
            row = entry.form
            if row.blank:
                continue
            fraction = 0.0 if qtype == "matching" else parse_number(row.fraction.data, low=-100, high=100,
                                                                    message="")
            if fraction is None:
                fraction = 0.0
            tolerance = parse_number(row.tolerance.data, low=0, high=1e12, message="") or 0.0
            text = (row.text.data or "").strip()
            if qtype == "numerical":
                text = text.replace(",", ".") if text.count(",") == 1 and "." not in text else text
            options.append(ParsedOption(text=text, fraction=fraction / 100, feedback=row.feedback.data or "",
                                        text_format="plain" if qtype in ("short_answer", "numerical") else "html",
                                        match=(row.match.data or "").strip() if qtype == "matching" else "",
                                        tolerance=tolerance if qtype == "numerical" else 0.0))
    return ParsedQuestion(index=1, line=0, type=qtype, name=form.name.data or "", text=form.text.data or "",
                          text_format=form.text_format.data or "markdown", options=options,
                          general_feedback=form.general_feedback.data or "",
                          default_mark=0.0 if qtype == "description" else (1.0 if mark is None else mark),
                          settings=settings)


def _tags(form: QuestionForm):
    conventions = db.session.scalars(sa.select(Convention).where(
        Convention.id.in_(form.conventions.data or []))).all()
    contents = db.session.scalars(sa.select(ContentArea).where(ContentArea.id.in_(form.contents.data or []))).all()
    return conventions, contents


def _render_question_form(form, qtype, category, question=None, status=200):
    return render_template("quizzes/bank/question_form.html", form=form, qtype=qtype, category=category,
                           question=question, TYPE_LABELS=TYPE_LABELS, TYPE_HELP=TYPE_HELP,
                           rows=qtype in ROW_TYPES), status


def _adding_rows(form: QuestionForm) -> bool:
    """"Thêm dòng phương án" was pressed: add empty rows and show the form again, saving nothing."""
    if not form.add_rows.data:
        return False
    for _ in range(min(ADD_ROWS, MAX_ROWS - len(form.options.entries))):
        form.options.append_entry()
    return True


@blueprint.route("/bank/questions/new", methods=["GET", "POST"])
@managers
def question_new():
    category = _category(request.args.get("category", type=int))
    qtype = request.args.get("type") or ""
    if qtype not in TYPE_LABELS:
        return render_template("quizzes/bank/choose_type.html", category=category, TYPE_LABELS=TYPE_LABELS,
                               TYPE_HELP=TYPE_HELP)
    form = QuestionForm()
    fill_tag_choices(form)
    if request.method == "POST" and _adding_rows(form):
        return _render_question_form(form, qtype, category)
    if form.validate_on_submit():
        conventions, contents = _tags(form)
        try:
            question = services.create_question(db.session, actor(), category, _parsed(form, qtype),
                                                conventions=conventions, contents=contents)
        except ServiceError as exc:
            _fail(form, exc)
        else:
            db.session.commit()
            flash(_l("Đã lưu câu hỏi “%(name)s”.", name=question.name), "success")
            return redirect(url_for("quizzes.question_preview", question_id=question.id))
        category = _category(category.id)
    return _render_question_form(form, qtype, category,
                                 status=422 if form.errors or form.form_errors else 200)


@blueprint.route("/bank/questions/<int:question_id>/edit", methods=["GET", "POST"])
@managers
def question_edit(question_id: int):
    question = _question(question_id)
    qtype = str(question.type)
    form = QuestionForm()
    fill_tag_choices(form)
    if request.method == "GET":
        _fill_form(form, services.as_parsed(question.current), question)
    elif _adding_rows(form):
        return _render_question_form(form, qtype, question.category, question)
    if form.validate_on_submit():
        conventions, contents = _tags(form)
        try:
            version = services.revise_question(db.session, actor(), question, _parsed(form, qtype),
                                               conventions=conventions, contents=contents)
        except ServiceError as exc:
            _fail(form, exc)
        else:
            db.session.commit()
            flash(_l("Đã lưu phiên bản %(n)s của câu hỏi.", n=version.number), "success")
            return redirect(url_for("quizzes.question_preview", question_id=question.id))
        question = _question(question_id)
    return _render_question_form(form, qtype, question.category, question,
                                 status=422 if form.errors or form.form_errors else 200)


@blueprint.get("/bank/questions/<int:question_id>")
@managers
def question_preview(question_id: int):
    question = _question(question_id)
    version = question.current
    number = request.args.get("version", type=int)
    if number:
        version = next((v for v in question.versions if v.number == number), None)
        if version is None:
            abort(404)
    return render_template("quizzes/bank/preview.html", question=question, version=version,
                           TYPE_LABELS=TYPE_LABELS, number=_number_text)


@blueprint.post("/bank/questions/<int:question_id>/hide")
@managers
def question_hide(question_id: int):
    question = _question(question_id)
    try:
        services.set_question_hidden(db.session, actor(), question, not question.hidden)
    except ServiceError:
        db.session.rollback()
        abort(403)
    db.session.commit()
    flash(_l("Đã ẩn câu hỏi: không còn được chọn cho bài kiểm tra mới; các bài đã làm giữ nguyên.")
          if question.hidden else _l("Đã hiện lại câu hỏi."), "success")
    return redirect(url_for("quizzes.question_preview", question_id=question.id))


# -- import ---------------------------------------------------------------------------------

def _import_page(form, tree, errors=(), status=200):
    return render_template("quizzes/bank/import.html", form=form, errors=list(errors),
                           max_mb=importing.MAX_BYTES // (1024 * 1024)), status


def _import_form(tree) -> ImportForm:
    form = ImportForm()
    form.category.choices = _category_choices(tree)
    return form


@blueprint.route("/bank/import", methods=["GET", "POST"])
@managers
def import_upload():
    tree = _tree()
    form = _import_form(tree)
    if not tree:
        flash(_l("Hãy tạo một nhóm câu hỏi trước khi nhập tệp."), "info")
        return redirect(url_for("quizzes.category_new"))
    if request.method == "GET":
        form.category.data = request.args.get("category", type=int)
    if not form.validate_on_submit():
        return _import_page(form, tree, status=422 if form.errors else 200)
    category = _category(form.category.data)
    storage = form.file.data
    content = storage.stream.read(importing.MAX_BYTES + 1)
    filename = batches.clean_filename(storage.filename)
    if len(content) > importing.MAX_BYTES:
        return _import_page(form, tree, [_l("Tệp quá lớn: tối đa %(n)s MB.", n=importing.MAX_BYTES // (1024 * 1024))],
                            422)
    result = importing.read_questions(content, filename=filename)
    if not result.questions and result.problems and all(p.index is None for p in result.problems):
        return _import_page(form, tree, [p.reason for p in result.problems], 422)
    batch = None
    if not result.problems and result.questions:
        batch = batches.stage(db.session, actor(), importing.BATCH_KIND, filename, content, utcnow())
        db.session.commit()
    return _preview_page(result, category, filename, batch)


def _preview_page(result, category, filename, batch: ImportBatch | None, status=None):
    form = ConfirmImportForm(formdata=None)
    form.category.data = str(category.id)
    if status is None:
        status = 200 if batch is not None else 422
    return render_template("quizzes/bank/import_preview.html", result=result, category=category,
                           filename=filename, batch=batch, form=form, TYPE_LABELS=TYPE_LABELS), status


def _batch(token: str) -> ImportBatch:
    try:
        batch = batches.get_batch(db.session, actor(), token)
    except NotFound:
        abort(404)
    if batch.kind != importing.BATCH_KIND:
        abort(404)
    return batch


@blueprint.post("/bank/import/<token>/confirm")
@managers
def import_confirm(token: str):
    batch = _batch(token)
    form = ConfirmImportForm()
    category_id = int(form.category.data) if (form.category.data or "").isdigit() else None
    category = _category(category_id)
    if not form.validate_on_submit():
        abort(400)
    now = utcnow()
    try:
        batches.require_pending(batch, now)
    except ServiceError as exc:
        db.session.rollback()
        flash(exc.message, "danger")
        return redirect(url_for("quizzes.import_upload", category=category.id))
    running = batches.running_job(db.session, batch)
    if running is not None:
        return redirect(url_for("jobs.detail", job_id=running.id))
    result = importing.read_questions(batch.content, filename=batch.filename)
    if result.problems or not result.questions:
        db.session.rollback()
        return _preview_page(result, category, batch.filename, None, 422)
    job = importing.submit_import(db.session, actor(), batch, category, total=len(result.questions),
                                  locale=str(get_locale()))
    db.session.commit()  # the job starts once this is committed
    return redirect(url_for("jobs.detail", job_id=job.id))


@blueprint.post("/bank/import/<token>/discard")
@managers
def import_discard(token: str):
    batch = _batch(token)
    if batches.discard_batch(db.session, actor(), batch):
        db.session.commit()
        flash(_l("Đã hủy tệp vừa tải lên; chưa có câu hỏi nào được ghi."), "info")
    return redirect(url_for("quizzes.import_upload"))


# -- export and the Excel template ----------------------------------------------------------

_UNSAFE = re.compile(r'[\\/:*?"<>|\x00-\x1f]+')


def export_filename(category: QuestionCategory, extension: str, day: datetime) -> str:
    name = _UNSAFE.sub("-", category.name).strip(" .-") or "cau-hoi"
    return f"{name[:80]} {day:%Y-%m-%d}.{extension}"


@blueprint.post("/bank/categories/<int:category_id>/export")
@managers
def category_export(category_id: int):
    """A POST (with its CSRF token): a large category queues a job."""
    category = _category(category_id)
    fmt = request.form.get("format", "gift")
    if fmt not in ("gift", "xml"):
        abort(404)
    mimetype, extension = importing.EXPORT_TYPES[fmt]
    name = export_filename(category, extension, utcnow())
    count = db.session.scalar(sa.select(sa.func.count()).select_from(Question)
                              .where(Question.category_id.in_(_below(category))))
    if count > importing.EXPORT_INLINE_MAX:  # a large bank is written by a job, then offered there
        job = importing.submit_export(db.session, actor(), category, fmt, questions=count, filename=name,
                                      locale=str(get_locale()))
        db.session.commit()
        return redirect(url_for("jobs.detail", job_id=job.id))
    try:
        content = services.export_category(db.session, actor(), category, fmt)
    except ValueError as exc:  # what GIFT cannot hold (a "->" in a matching pair, say)
        flash(_l("Không xuất được sang GIFT: %(reason)s Hãy xuất sang Moodle XML.", reason=str(exc)), "danger")
        return _back(category)
    response = send_file(io.BytesIO(content), mimetype=mimetype, as_attachment=True, download_name="x", max_age=0)
    response.headers["Content-Disposition"] = content_disposition(name, True)
    return response


@blueprint.get("/bank/template.xlsx")
@managers
def excel_template():
    from quizzes.formats.excel import COLUMNS, HINTS

    buffer = io.BytesIO()
    out = spreadsheet.template_writer(buffer, COLUMNS, HINTS)
    out.close()
    response = send_file(io.BytesIO(buffer.getvalue()), mimetype=spreadsheet.XLSX_MIMETYPE, as_attachment=True,
                         download_name="x", max_age=0)
    response.headers["Content-Disposition"] = content_disposition("mẫu-câu-hỏi.xlsx", True)
    return response

