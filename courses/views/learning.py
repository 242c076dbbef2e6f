"""Trainee side: the catalogue, a course page, lessons, materials and "My learning".

Every view declares its access (logged in) and checks the course rules inside: a course the
person may not see is a 404, a lesson of a course they see but may not learn is a 403, and a
material of a course they may not learn is a 404 (its existence is not revealed).
"""

from __future__ import annotations

from flask import Response, abort, current_app, flash, redirect, render_template, request, url_for
from werkzeug.exceptions import RequestedRangeNotSatisfiable

from courses import queries, services
from courses.completion import progress_of
from courses.credit import credit_label
from courses.forms import AUDIENCE_LABELS
from courses.models import Audience, Course, CourseStatus, EnrolmentStatus, MaterialKind
from courses.panels import course_panels
from courses.permissions import enrolment_of
from courses.uploads import KINDS
from courses.views import blueprint
from lms import permissions
from lms.db import db, utcnow
from lms.errors import PermissionDenied, ServiceError
from lms.i18n import lazy_gettext as _l
from lms.storage import StorageError, get_storage
from lms.text import clean
from lms.views.common import actor, today

#: Files are data, never pages: nothing in them may run, even when a browser shows one inline.
FILE_CSP = "default-src 'none'; sandbox"
_KIND_BY_MIMETYPE = {kind.mimetype: kind for kind in KINDS.values()}


def _render(template: str, status: int = 200, **context):
    # the labels translated once per page, not once per course card that shows them
    labels = {audience: str(label) for audience, label in AUDIENCE_LABELS.items()}
    return render_template(f"courses/learning/{template}", AUDIENCE_LABELS=labels,
                           credit_label=credit_label, **context), status


# -- the catalogue --------------------------------------------------------------------------

def _filters(conventions, contents) -> queries.CatalogueFilter:
    """The query string, read defensively: unknown values are ignored, never an error."""
    q = clean(request.args.get("q", "", type=str))[:queries.MAX_SEARCH_LENGTH]
    convention = request.args.get("convention", "", type=str).strip().upper()
    if convention not in {c.code for c in conventions}:
        convention = None
    content = request.args.get("content", type=int)
    if content not in {c.number for c in contents}:
        content = None
    try:
        audience = Audience(request.args.get("audience", "", type=str))
    except ValueError:
        audience = None
    return queries.CatalogueFilter(q=q, convention=convention, content=content, audience=audience)


def _page() -> int:
    return max(1, min(request.args.get("page", 1, type=int), 100_000))


@blueprint.get("/")
@permissions.login
def catalogue():
    session, me = db.session, actor()
    conventions, contents = queries.conventions(session), queries.contents(session)
    filters = _filters(conventions, contents)
    pagination = queries.catalogue(filters, _page(), conventions, contents)
    ids = [c.id for c in pagination.items]
    totals = queries.lesson_totals(session, ids)
    enrolments = {course_id: e for course_id, e in queries.enrolments_in(session, me.id, ids).items()
                  if e.status != EnrolmentStatus.WITHDRAWN}
    progress = queries.progress_map(session, [(course_id, me.id) for course_id in enrolments], totals)
    return _render("catalogue.html", pagination=pagination, filters=filters, conventions=conventions,
                   contents=contents, totals=totals, enrolments=enrolments,
                   progress={course_id: p for (course_id, _), p in progress.items()})


# -- a course -------------------------------------------------------------------------------

def _visible(course: Course | None) -> Course:
    """The course if the person may see it; otherwise 404 (a draft's existence is not revealed)."""
    if course is None or not permissions.can(db.session, actor(), "course.view", course):
        abort(404)
    return course


def _course_page(course_id: int, status: int = 200, error=None):
    session, me = db.session, actor()
    course = _visible(queries.course_page(session, course_id))
    enrolment = enrolment_of(session, me, course)
    if enrolment is not None and enrolment.status == EnrolmentStatus.WITHDRAWN:
        enrolment = None
    may_learn = permissions.can(session, me, "course.learn", course)
    sections = queries.syllabus(session, course.id)
    lessons = [lesson for section in sections for lesson in section.lessons]
    done = queries.done_lesson_ids(session, me.id, course.id)
    if enrolment is not None:
        progress = services.progress_for(session, enrolment, lessons=[(x.id, x.required) for x in lessons],
                                         done=done)
    else:
        progress = progress_of([x.id for x in lessons if x.required], [x.id for x in lessons], done)
    next_lesson = next((x for x in lessons if x.id not in done), lessons[0] if lessons else None)
    may_enrol = (course.status == CourseStatus.PUBLISHED and course.self_enrol and enrolment is None)
    return _render("course.html", status, course=course, enrolment=enrolment, may_learn=may_learn,
                   may_edit=permissions.can(session, me, "course.edit", course), done=done, progress=progress,
                   sections=sections, lessons=lessons, next_lesson=next_lesson, may_enrol=may_enrol, error=error,
                   today=today(), panels=course_panels(session, course, me, "course"),
                   started=bool(done & {x.id for x in lessons}))


@blueprint.get("/<int:course_id>")
@permissions.login
def course(course_id: int):
    return _course_page(course_id)


@blueprint.post("/<int:course_id>/enrol")
@permissions.login
def enrol(course_id: int):
    """The person enrols themselves (trainers and unit administrators enrol others on the
    learners screens)."""
    session, me = db.session, actor()
    course = _visible(session.get(Course, course_id))
    existing = enrolment_of(session, me, course)
    if existing is not None and existing.status != EnrolmentStatus.WITHDRAWN:
        flash(_l("Bạn đã đăng ký học khóa học này rồi."), "info")
        return redirect(url_for("courses.course", course_id=course.id))
    try:
        services.self_enrol(session, me, course, utcnow())
    except ServiceError as exc:
        session.rollback()
        return _course_page(course_id, 422, error=exc.message)
    session.commit()
    flash(_l("Đã đăng ký học khóa học “%(title)s”. Chúc bạn học tốt!", title=course.title), "success")
    return redirect(url_for("courses.course", course_id=course.id))


# -- lessons --------------------------------------------------------------------------------

def _learnable(course_id: int, lesson_id: int):
    """The course and its lesson: 404 if either is unknown or the course is hidden (or the lesson
    belongs to another course), 403 if the person sees the course but may not learn it."""
    session = db.session
    course = _visible(session.get(Course, course_id))
    lesson = queries.lesson_in_course(session, course.id, lesson_id)
    if lesson is None:
        abort(404)
    if not permissions.can(session, actor(), "course.learn", course):
        abort(403)
    return course, lesson


@blueprint.get("/<int:course_id>/lessons/<int:lesson_id>")
@permissions.login
def lesson(course_id: int, lesson_id: int):
    session, me = db.session, actor()
    course, lesson = _learnable(course_id, lesson_id)
    items = queries.outline(session, course.id)
    position = next(i for i, item in enumerate(items) if item.id == lesson.id)
    done = queries.done_lesson_ids(session, me.id, course.id)
    progress = progress_of([i.id for i in items if i.required], [i.id for i in items], done)
    enrolment = enrolment_of(session, me, course)
    return _render("lesson.html", course=course, lesson=lesson, done=done, progress=progress,
                   previous=items[position - 1] if position > 0 else None,
                   next=items[position + 1] if position + 1 < len(items) else None,
                   position=position + 1, count=len(items), enrolment=enrolment, kinds=_KIND_BY_MIMETYPE,
                   panels=course_panels(session, course, me, "lesson", lesson))


@blueprint.post("/<int:course_id>/lessons/<int:lesson_id>/done")
@permissions.login
def mark_done(course_id: int, lesson_id: int):
    session, me = db.session, actor()
    course, lesson = _learnable(course_id, lesson_id)
    try:
        completed = services.mark_done(session, me, lesson, utcnow())
    except PermissionDenied:
        session.rollback()
        abort(403)
    session.commit()
    if completed:
        flash(_l("Chúc mừng! Bạn đã hoàn thành khóa học “%(title)s”.", title=course.title), "success")
        return redirect(url_for("courses.course", course_id=course.id))
    flash(_l("Đã đánh dấu bài “%(title)s” là đã học xong.", title=lesson.title), "success")
    if (course.open_access and course.self_enrol and course.status == CourseStatus.PUBLISHED
            and enrolment_of(session, me, course) is None
            and not permissions.can(session, me, "course.edit", course)):
        flash(_l("Bạn đang học khóa mở mà chưa đăng ký học: hãy đăng ký học để được ghi nhận hoàn thành khóa học."),
              "info")
    return redirect(url_for("courses.lesson", course_id=course.id, lesson_id=lesson.id))


@blueprint.post("/<int:course_id>/lessons/<int:lesson_id>/undone")
@permissions.login
def mark_not_done(course_id: int, lesson_id: int):
    session, me = db.session, actor()
    course, lesson = _learnable(course_id, lesson_id)
    services.mark_not_done(session, me, lesson)
    session.commit()
    flash(_l("Đã bỏ đánh dấu bài “%(title)s”.", title=lesson.title), "success")
    return redirect(url_for("courses.lesson", course_id=course.id, lesson_id=lesson.id))


# -- materials ------------------------------------------------------------------------------

@blueprint.get("/<int:course_id>/materials/<int:material_id>")
@permissions.login
def material(course_id: int, material_id: int):
    """A lesson file, through the app: permission checked, stored type, nosniff, a sandboxing CSP,
    RFC 6266 disposition keeping the Vietnamese name, ETag = checksum, HTTP ranges (video)."""
    session = db.session
    course = session.get(Course, course_id)
    if course is None or not permissions.can(session, actor(), "course.learn", course):
        abort(404)
    item = queries.material_in_course(session, course.id, material_id)
    if item is None or item.kind != MaterialKind.FILE or not item.storage_key:
        abort(404)
    kind = _KIND_BY_MIMETYPE.get(item.content_type or "")
    mimetype = kind.mimetype if kind else "application/octet-stream"
    as_attachment = kind is None or not kind.inline or request.args.get("download") == "1"
    storage = get_storage()
    try:
        if not storage.exists(item.storage_key):
            raise StorageError(f"missing file {item.storage_key}")
        response = storage.serve(item.storage_key, mimetype=mimetype, download_name=item.original_name or "tep",
                                 as_attachment=as_attachment, etag=item.checksum)
    except RequestedRangeNotSatisfiable:
        response = Response(status=416, mimetype="text/plain",
                            headers={"Content-Range": f"bytes */{item.size}", "Accept-Ranges": "bytes"})
    except (StorageError, OSError) as exc:
        current_app.logger.warning("material %s: stored file unavailable: %s", item.id, exc)
        abort(404)
    response.headers["Content-Security-Policy"] = FILE_CSP
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Cross-Origin-Resource-Policy"] = "same-origin"
    return response


# -- My learning ----------------------------------------------------------------------------

@blueprint.get("/my")
@permissions.login
def my_learning():
    rows = queries.my_learning(db.session, actor().id, today())
    active = [r for r in rows if not r.completed]
    completed = [r for r in rows if r.completed]
    return _render("my.html", active=active, completed=completed, today=today())
