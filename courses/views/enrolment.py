"""Enrolling people in a course, withdrawing them, the learners list and its Excel export.

Parse → service → commit → redirect. Who may enrol whom is decided by the services (a unit
administrator only people of their subtree, only in published courses); the reads are in
:mod:`courses.learners`.
"""

from __future__ import annotations

import io

import sqlalchemy as sa
from flask import abort, flash, redirect, render_template, request, send_file, url_for
from flask_babel import get_locale

from courses import jobs as course_jobs
from courses import learners as learner_data
from courses import services
from courses.forms import (
    EnrolCategoryForm,
    EnrolFileForm,
    EnrolKeyCadresForm,
    EnrolPeopleForm,
    EnrolUnitForm,
    parse_group,
)
from courses.models import Course, CourseStatus, Enrolment, EnrolmentSource, EnrolmentStatus
from courses.views import blueprint
from lms import permissions, spreadsheet
from lms.db import db, utcnow
from lms.errors import PermissionDenied, ServiceError
from lms.forms import ConfirmForm
from lms.i18n import lazy_gettext as _l
from lms.services.directory import PeopleFilter, people_query
from lms.views.common import actor, get_or_404, today, unit_choices

MODES = ("people", "unit", "category", "key_cadres", "file")
SOURCES = {"people": EnrolmentSource.INDIVIDUAL, "unit": EnrolmentSource.UNIT, "category": EnrolmentSource.CATEGORY,
           "key_cadres": EnrolmentSource.KEY_CADRES, "file": EnrolmentSource.IMPORT}
#: Rows of a file's problems shown on the page (the rest are counted).
PROBLEMS_SHOWN = 200


def _course(course_id: int, action: str) -> Course:
    """The course, or 404 when the person may not see it, 403 when they may not do ``action``."""
    course = get_or_404(Course, course_id)
    who = actor()
    if not permissions.can(db.session, who, "course.view", course):
        abort(404)
    if not permissions.can(db.session, who, action, course):
        abort(403)
    return course


def _is_editor(course: Course) -> bool:
    return permissions.can(db.session, actor(), "course.edit", course)


def _units(course: Course, blank: str | None = None):
    """Units the actor may pick: every active unit for the course's editors, else their subtree."""
    return unit_choices(manageable=not _is_editor(course), blank=blank)


# -- enrolling ------------------------------------------------------------------------------

def _forms(course: Course) -> dict:
    anywhere = str(_l("— Mọi đơn vị bạn được phép —"))
    forms = {
        "people": EnrolPeopleForm(prefix="people"),
        "unit": EnrolUnitForm(prefix="unit"),
        "category": EnrolCategoryForm(prefix="category"),
        "key_cadres": EnrolKeyCadresForm(prefix="key"),
        "file": EnrolFileForm(prefix="file"),
    }
    forms["unit"].unit.choices = _units(course)
    forms["category"].unit.choices = _units(course, blank=anywhere)
    forms["key_cadres"].unit.choices = _units(course, blank=anywhere)
    return forms


def _search(course: Course, q: str):
    """People matching ``q`` (diacritics ignored) whom the actor may enrol, with their status here."""
    if not q.strip():
        return [], {}
    stmt = people_query(db.session, actor(), PeopleFilter(q=q, active=True),
                        everyone=_is_editor(course)).limit(learner_data.SEARCH_LIMIT)  # editors may enrol anyone
    people = list(db.session.scalars(stmt).unique())
    return people, learner_data.enrolled_ids(db.session, course, [p.id for p in people])


def _page(course: Course, forms: dict, status: int = 200, *, result=None, problems=(), problem_count: int = 0,
          errors=()):
    q = (request.args.get("q") or "")[:200]
    people, enrolled = _search(course, q)
    return render_template(
        "courses/enrolment/enrol.html", course=course, forms=forms, q=q, people=people, enrolled=enrolled,
        search_limit=learner_data.SEARCH_LIMIT, result=result, problems=list(problems),
        problem_count=problem_count, errors=list(errors), status_labels=learner_data.STATUS_LABELS,
        max_rows=spreadsheet.max_rows(), max_mb=spreadsheet.max_bytes() // (1024 * 1024),
    ), status


def _summary(result: services.EnrolResult):
    return _l("Kết quả: đã ghi danh %(added)s, đã có %(already)s, không được phép %(refused)s.",
              added=result.added, already=result.already, refused=result.refused)


def _fail(form, message) -> None:
    db.session.rollback()
    form.form_errors.append(message)


def _unit_or_none(value) -> int | None:
    return value or None  # 0 is "every unit I may choose"


def _people_of(course: Course, mode: str, form):
    """The person IDs a form names (for the file mode also the rows that could not be used), or a
    :class:`ServiceError` for the user."""
    who = actor()
    if mode == "people":
        return form.people.data, []
    if mode == "unit":
        return services.people_for(db.session, who, unit_id=form.unit.data, course=course), []
    if mode == "category":
        title, employment = parse_group(form.category.data)
        return services.people_for(db.session, who, unit_id=_unit_or_none(form.unit.data), title=title,
                                   employment_type=employment, course=course, on=today()), []
    if mode == "key_cadres":
        return services.people_for(db.session, who, unit_id=_unit_or_none(form.unit.data), key_cadres_only=True,
                                   course=course), []
    storage = form.file.data
    content = storage.stream.read(spreadsheet.max_bytes() + 1)  # never more than the limit in memory
    table = spreadsheet.read_table(content, learner_data.EMAIL_LIST)  # SpreadsheetError: the file is unusable
    found = learner_data.people_from_emails(db.session, who, course,
                                            ((number, values.get("email")) for number, values in table.rows))
    return found.person_ids, found.problems


@blueprint.route("/<int:course_id>/learners/enrol", methods=["GET", "POST"])
@permissions.allowed("course.enrol_others")
def enrol_people(course_id: int):
    """Enrol others (``POST /courses/<id>/enrol`` is a trainee's own enrolment, in learning.py)."""
    course = _course(course_id, "course.enrol_others")
    forms = _forms(course)
    if request.method == "GET":
        return _page(course, forms)
    mode = request.form.get("mode")
    if mode not in MODES:
        return _page(course, forms, 422, errors=[_l("Vui lòng chọn một cách ghi danh.")])
    form = forms[mode]
    if not form.validate_on_submit():
        db.session.rollback()
        return _page(course, forms, 422)
    try:
        person_ids, problems = _people_of(course, mode, form)
    except spreadsheet.SpreadsheetError as exc:
        db.session.rollback()
        form.file.errors = list(form.file.errors) + [exc.message]
        return _page(course, forms, 422)
    if isinstance(person_ids, list) and not person_ids:
        _fail(form, _l("Không có ai để ghi danh: không tìm thấy người nào phù hợp mà bạn được phép ghi danh.")
              if not problems else _l("Không ghi danh được ai từ tệp này. Xem các dòng có vấn đề bên dưới."))
        return _page(course, forms, 422, problems=problems[:PROBLEMS_SHOWN],
                     problem_count=len(problems))
    if mode != "people":
        return _enrol_in_background(course, forms, mode, form, person_ids, problems)
    try:
        result = services.enrol_people(db.session, actor(), course, person_ids, SOURCES[mode], form.due_on.data,
                                       utcnow())
    except PermissionDenied:
        db.session.rollback()
        abort(403)
    except ServiceError as exc:
        _fail(form, exc.message)
        return _page(course, forms, 422)
    if result.added == 0 and result.already == 0:
        _fail(form, _l("Không ghi danh được ai: những người đã chọn không thuộc đơn vị bạn quản lý, "
                       "không còn tồn tại hoặc tài khoản đã bị khóa.") if result.refused else
              _l("Không có ai để ghi danh: không tìm thấy người nào phù hợp mà bạn được phép ghi danh."))
        return _page(course, forms, 422)
    db.session.commit()
    flash(_summary(result), "success" if not result.refused else "warning")
    return redirect(url_for("courses.learners", course_id=course.id))


def _enrol_in_background(course: Course, forms: dict, mode: str, form, people, problems):
    """A whole unit, a title's holders, the key cadres, a file: checked here, written by a job."""
    if course.status == CourseStatus.ARCHIVED:
        _fail(form, _l("Khóa học đã lưu trữ, không ghi danh thêm được."))
        return _page(course, forms, 422)
    if not isinstance(people, list):
        if not db.session.scalar(sa.select(sa.func.count()).select_from(people.subquery())):
            _fail(form, _l("Không có ai để ghi danh: không tìm thấy người nào phù hợp mà bạn được phép ghi danh."))
            return _page(course, forms, 422)
    notes = [str(_l("Dòng %(n)s (%(email)s): %(message)s", n=p.row, email=p.email or "—", message=p.message))
             for p in problems]
    try:
        job = course_jobs.submit_enrolment(
            db.session, actor(), course, mode, SOURCES[mode], due_on=form.due_on.data,
            unit_id=_unit_or_none(getattr(form, "unit", None) and form.unit.data),
            group=form.category.data if mode == "category" else None, on=today(),
            person_ids=people if isinstance(people, list) else None, problems=notes, locale=str(get_locale()))
    except PermissionDenied:
        db.session.rollback()
        abort(403)
    db.session.commit()  # the job starts once this is committed
    return redirect(url_for("jobs.detail", job_id=job.id))


@blueprint.post("/<int:course_id>/enrolments/<int:enrolment_id>/withdraw")
@permissions.allowed("course.enrol_others")
def withdraw(course_id: int, enrolment_id: int):
    course = _course(course_id, "course.enrol_others")
    enrolment = db.session.get(Enrolment, enrolment_id)
    if enrolment is None or enrolment.course_id != course.id:
        abort(404)
    if not learner_data.visible_enrolment(db.session, actor(), course, enrolment):
        abort(404)
    ConfirmForm()  # the CSRF token (checked globally)
    back = redirect(url_for("courses.learners", course_id=course.id))
    name = enrolment.person.full_name
    try:
        changed = services.withdraw(db.session, actor(), enrolment, utcnow())
    except PermissionDenied:
        db.session.rollback()
        abort(403)
    except ServiceError as exc:
        db.session.rollback()
        flash(exc.message, "danger")
        return back
    db.session.commit()
    flash(_l("Đã rút tên %(name)s khỏi khóa học.", name=name) if changed
          else _l("%(name)s đã được rút tên trước đó.", name=name), "success")
    return back


# -- the learners list and its export -------------------------------------------------------

def _filters(course: Course, source=None) -> tuple[learner_data.LearnerFilter, list]:
    args = request.args if source is None else source
    units = _units(course, blank=str(_l("Tất cả đơn vị")))
    unit_id = args.get("unit", type=int) or None
    if unit_id is not None and unit_id not in {c.value for c in units}:
        unit_id = None
    try:
        status = EnrolmentStatus(args.get("status") or "") if args.get("status") else None
    except ValueError:
        status = None
    return learner_data.LearnerFilter(q=(args.get("q") or "")[:200], unit_id=unit_id, status=status), units


def _filter_args(filters: learner_data.LearnerFilter) -> dict:
    return {k: v for k, v in (("q", filters.q), ("unit", filters.unit_id),
                              ("status", filters.status.value if filters.status else None)) if v}


@blueprint.get("/<int:course_id>/learners")
@permissions.allowed("course.learners")
def learners(course_id: int):
    course = _course(course_id, "course.learners")
    filters, units = _filters(course)
    page = max(1, min(request.args.get("page", 1, type=int), 100000))
    pagination = learner_data.learners_page(db.session, actor(), course, filters, page)
    export_args = _filter_args(filters)
    return render_template(
        "courses/enrolment/learners.html", course=course, pagination=pagination, filters=filters, units=units,
        status_labels=learner_data.STATUS_LABELS, source_labels=learner_data.SOURCE_LABELS,
        may_enrol=permissions.can(db.session, actor(), "course.enrol_others", course), today=today(),
        is_editor=_is_editor(course),
        export_url=url_for("courses.learners_export", course_id=course.id, **export_args),
    )


#: Lists longer than this are exported by a background job, not inside the request.
EXPORT_INLINE_MAX = 2000


@blueprint.get("/<int:course_id>/learners.xlsx")
@permissions.allowed("course.learners")
def learners_export(course_id: int):
    course = _course(course_id, "course.learners")
    filters, _ = _filters(course)
    if learner_data.count_learners(db.session, actor(), course, filters) > EXPORT_INLINE_MAX:
        flash(_l("Danh sách dài hơn %(n)s học viên được xuất ở chế độ nền: hãy bấm “Xuất Excel”.",
                 n=EXPORT_INLINE_MAX), "info")
        return redirect(url_for("courses.learners", course_id=course.id, **_filter_args(filters)))
    data = learner_data.build_export(db.session, actor(), course, filters)
    response = send_file(io.BytesIO(data), mimetype=learner_data.XLSX_MIMETYPE, as_attachment=True,
                         download_name=learner_data.export_filename(course), max_age=0)
    response.headers["Cache-Control"] = "private, no-store"
    return response


@blueprint.post("/<int:course_id>/learners/export")
@permissions.allowed("course.learners")
def learners_export_job(course_id: int):
    """Export the learners (as filtered) in the background; the job's page offers the file."""
    course = _course(course_id, "course.learners")
    ConfirmForm()  # the CSRF token (checked globally)
    filters, _ = _filters(course, request.form)
    try:
        job = course_jobs.submit_export(db.session, actor(), course, filters, locale=str(get_locale()))
    except PermissionDenied:
        db.session.rollback()
        abort(403)
    db.session.commit()
    return redirect(url_for("jobs.detail", job_id=job.id))
