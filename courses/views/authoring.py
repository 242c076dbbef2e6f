"""Trainer side ("Giảng dạy"): build courses, their sections, lessons and materials, preview them
as a trainee would, publish them and invite co-trainers.

Every route needs the ``course.create`` right (trainers and administrators). Every object in a
URL is checked: a course the person may not edit is a 404 when they may not even see it (a
draft of someone else) and a 403 when they may (a published course that is not theirs); a
section, lesson or material that does not belong to the course in the URL is a 404. Every write
goes through :mod:`courses.services`, which checks ``course.edit`` again.
"""

from __future__ import annotations

import sqlalchemy as sa
from flask import abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import get_locale
from flask_login import current_user
from sqlalchemy.orm import joinedload, selectinload

from courses import services
from courses.credit import credit_label
from courses.forms import (
    AUDIENCE_LABELS,
    STATUS_LABELS,
    CoTrainerForm,
    CourseForm,
    LessonForm,
    MaterialFileForm,
    MaterialLinkForm,
    MoveForm,
    SectionForm,
    StatusForm,
    fill_tag_choices,
)
from courses.models import (
    Course,
    CourseStatus,
    CourseTrainer,
    Enrolment,
    EnrolmentStatus,
    Lesson,
    Material,
    Section,
)
from courses.panels import course_panels
from courses.views import blueprint
from lms import permissions
from lms.db import db, utcnow
from lms.errors import PermissionDenied, ServiceError
from lms.forms import ConfirmForm
from lms.i18n import lazy_gettext as _l
from lms.models import Membership, Person, Role, RoleAssignment
from lms.text import clean, fold, like_pattern
from lms.views.common import actor, show_errors

author = permissions.allowed("course.create")

UPLOAD_ENDPOINT = "courses.teaching_material_upload"
#: Service error keys that name a different form field.
_FIELD_OF = {"convention_ids": "conventions", "content_ids": "contents"}
SEARCH_LIMIT = 20


# -- request size for uploads -----------------------------------------------------------------

def _allow_video_body() -> None:
    """Let this request's body be as large as a video may be (``LMS_MAX_VIDEO_MB``); a larger
    body is refused with 413 before it is read. Per-type limits are enforced by the service."""
    request.max_content_length = current_app.config["LMS_MAX_VIDEO_MB"] * 1024 * 1024


@blueprint.url_value_preprocessor
def _upload_body_limit(endpoint, values):
    # URL value preprocessors run before every before_request hook; the CSRF check and the
    # NUL-byte guard read the form in such hooks, so the limit must be raised here, not only
    # in the view. Only the editors of the course in the URL get the larger limit.
    if endpoint != UPLOAD_ENDPOINT or request.method != "POST" or not current_user.is_authenticated:
        return
    course = db.session.get(Course, (values or {}).get("course_id", 0))
    if course is not None and permissions.can(db.session, current_user._get_current_object(), "course.edit", course):
        _allow_video_body()  # only for an editor of this very course


# -- loading objects from URLs --------------------------------------------------------------

def _editable(course_id: int, *options) -> Course:
    """The course, if the acting person may edit it; else 404 (may not see it) or 403."""
    course = db.session.scalar(sa.select(Course).where(Course.id == course_id).options(*options))
    if course is None:
        abort(404)
    who = actor()
    if not permissions.can(db.session, who, "course.edit", course):
        abort(403 if permissions.can(db.session, who, "course.view", course) else 404)
    return course


def _section(course: Course, section_id: int) -> Section:
    section = db.session.get(Section, section_id)
    if section is None or section.course_id != course.id:
        abort(404)
    return section


def _lesson(course: Course, lesson_id: int) -> Lesson:
    lesson = db.session.get(Lesson, lesson_id)
    if lesson is None or lesson.course_id != course.id:
        abort(404)
    return lesson


def _material(course: Course, material_id: int) -> Material:
    material = db.session.get(Material, material_id)
    if material is None or material.lesson.course_id != course.id:
        abort(404)
    return material


_FULL_COURSE = (selectinload(Course.sections).selectinload(Section.lessons).selectinload(Lesson.materials),)


# -- form helpers ---------------------------------------------------------------------------

def _fail(form, exc: ServiceError) -> None:
    """Roll back and put the service's messages on the form's fields."""
    if isinstance(exc, PermissionDenied):
        db.session.rollback()
        abort(403)
    show_errors(form, exc, _FIELD_OF)


def _vi() -> bool:
    return str(get_locale()) == "vi"


def _hours(value) -> str:
    return (value or "").strip().replace(",", ".")


def _course_input(form: CourseForm) -> services.CourseInput:
    return services.CourseInput(
        title=form.title.data or "", summary=form.summary.data or "", description=form.description.data or "",
        convention_ids=list(form.conventions.data or []), content_ids=list(form.contents.data or []),
        audiences=list(form.audiences.data or []), credited_hours=_hours(form.credited_hours.data),
        counts_toward_target=bool(form.counts_toward_target.data), self_enrol=bool(form.self_enrol.data),
        open_access=bool(form.open_access.data),
    )


def _lesson_input(form: LessonForm) -> services.LessonInput:
    return services.LessonInput(
        title=form.title.data or "", body=form.body.data or "", required=bool(form.required.data),
        minutes=(form.minutes.data or "0").strip(), convention_ids=list(form.conventions.data or []),
        content_ids=list(form.contents.data or []),
    )


def _status(form) -> int:
    return 422 if form.errors else 200


def _hours_text(value) -> str:
    text = format(value.normalize(), "f") if value is not None else "0"
    return text.replace(".", ",") if _vi() else text


# -- the list -------------------------------------------------------------------------------

@blueprint.get("/teaching")
@author
def teaching():
    who = actor()
    stmt = sa.select(Course).options(joinedload(Course.owner)).order_by(Course.updated_at.desc(), Course.id.desc())
    if not permissions.is_admin(who):
        co_taught = sa.select(CourseTrainer.course_id).where(CourseTrainer.person_id == who.id)
        stmt = stmt.where(sa.or_(Course.owner_id == who.id, Course.id.in_(co_taught)))
    status = request.args.get("status") or ""
    if status in {s.value for s in CourseStatus}:
        stmt = stmt.where(Course.status == CourseStatus(status))
    else:
        status = ""
    page = max(1, min(request.args.get("page", 1, type=int), 100000))
    pagination = db.paginate(stmt, page=page, per_page=25, error_out=False, count=True)
    ids = [c.id for c in pagination.items]
    lessons = dict(db.session.execute(sa.select(Lesson.course_id, sa.func.count()).where(Lesson.course_id.in_(ids))
                                      .group_by(Lesson.course_id)).all()) if ids else {}
    learners = dict(db.session.execute(
        sa.select(Enrolment.course_id, sa.func.count()).where(Enrolment.course_id.in_(ids),
                                                              Enrolment.status != EnrolmentStatus.WITHDRAWN)
        .group_by(Enrolment.course_id)).all()) if ids else {}
    return render_template("courses/authoring/teaching.html", pagination=pagination, lessons=lessons,
                           learners=learners, status=status, STATUS_LABELS=STATUS_LABELS, me=who)


# -- courses --------------------------------------------------------------------------------

@blueprint.route("/teaching/new", methods=["GET", "POST"])
@author
def teaching_new():
    form = CourseForm()
    fill_tag_choices(form)
    if request.method == "GET":
        form.credited_hours.data = "1"
    if form.validate_on_submit():
        try:
            course = services.create_course(db.session, actor(), _course_input(form))
        except ServiceError as exc:
            _fail(form, exc)
        else:
            db.session.commit()
            flash(_l("Đã tạo khóa học “%(title)s” (bản nháp). Hãy thêm phần và bài học.", title=course.title),
                  "success")
            return redirect(url_for("courses.teaching_course", course_id=course.id))
    return render_template("courses/authoring/course_form.html", form=form, course=None), _status(form)


@blueprint.route("/teaching/<int:course_id>/edit", methods=["GET", "POST"])
@author
def teaching_edit(course_id: int):
    course = _editable(course_id)
    form = CourseForm()
    fill_tag_choices(form)
    if request.method == "GET":
        form.title.data = course.title
        form.summary.data = course.summary
        form.description.data = course.description_source
        form.conventions.data = [c.id for c in course.conventions]
        form.contents.data = [c.id for c in course.contents]
        form.audiences.data = [a.value for a in sorted(course.audience_set)]
        form.credited_hours.data = _hours_text(course.credited_hours)
        form.counts_toward_target.data = course.counts_toward_target
        form.self_enrol.data = course.self_enrol
        form.open_access.data = course.open_access
    if form.validate_on_submit():
        try:
            services.update_course(db.session, actor(), course, _course_input(form))
        except ServiceError as exc:
            _fail(form, exc)
        else:
            db.session.commit()
            flash(_l("Đã lưu thông tin khóa học."), "success")
            return redirect(url_for("courses.teaching_course", course_id=course.id))
    course = db.session.get(Course, course_id)
    return render_template("courses/authoring/course_form.html", form=form, course=course), _status(form)


#: Pages of other course screens a trainer reaches from a course (shown when they exist).
_RELATED = (("courses.enrol_people", _l("Ghi danh học viên")), ("courses.learners", _l("Học viên và tiến độ")),
            ("courses.course", _l("Trang khóa học")))


def _related(course: Course) -> list[tuple[str, object]]:
    links = []
    for endpoint, label in _RELATED:
        if endpoint in current_app.view_functions:
            if endpoint == "courses.course" and course.status != CourseStatus.PUBLISHED:
                continue
            links.append((url_for(endpoint, course_id=course.id), label))
    return links


def _render_course(course: Course, *, section_form: SectionForm | None = None, error=None, status: int = 200):
    section_form = section_form or SectionForm(prefix="section", formdata=None)
    return render_template(
        "courses/authoring/course.html", course=course, section_form=section_form, error=error,
        STATUS_LABELS=STATUS_LABELS, AUDIENCE_LABELS=AUDIENCE_LABELS, credit=credit_label(course.credited_hours),
        related=_related(course), panels=course_panels(db.session, course, actor(), "teaching"),
    ), status


@blueprint.get("/teaching/<int:course_id>")
@author
def teaching_course(course_id: int):
    return _render_course(_editable(course_id, *_FULL_COURSE))


_STATUS_DONE = {
    CourseStatus.PUBLISHED: _l("Đã xuất bản khóa học. Học viên có thể tìm thấy khóa học trong danh mục."),
    CourseStatus.DRAFT: _l("Đã chuyển khóa học về bản nháp; học viên không còn thấy khóa học."),
    CourseStatus.ARCHIVED: _l("Đã lưu trữ khóa học."),
}


@blueprint.post("/teaching/<int:course_id>/status")
@author
def teaching_status(course_id: int):
    course = _editable(course_id)
    form = StatusForm()
    if not form.validate_on_submit():
        db.session.rollback()
        return _render_course(_editable(course_id, *_FULL_COURSE), error=_l("Lựa chọn không hợp lệ."), status=422)
    status = CourseStatus(form.status.data)
    try:
        services.set_status(db.session, actor(), course, status, utcnow())
    except ServiceError as exc:
        db.session.rollback()
        if isinstance(exc, PermissionDenied):
            abort(403)
        return _render_course(_editable(course_id, *_FULL_COURSE), error=exc.message, status=422)
    db.session.commit()
    flash(_STATUS_DONE[status], "success")
    return redirect(url_for("courses.teaching_course", course_id=course.id))


@blueprint.get("/teaching/<int:course_id>/preview")
@author
def teaching_preview(course_id: int):
    course = _editable(course_id, *_FULL_COURSE)
    return render_template("courses/authoring/preview.html", course=course, AUDIENCE_LABELS=AUDIENCE_LABELS,
                           credit=credit_label(course.credited_hours), material_url=_material_url())


def _material_url():
    """How the preview links a file: through the learners' material route (which checks
    ``course.learn``, true for editors), when that route exists."""
    if "courses.material" not in current_app.view_functions:
        return lambda material: None

    def url(material):
        try:
            return url_for("courses.material", course_id=material.lesson.course_id, material_id=material.id)
        except Exception:  # the route takes other arguments: show the name without a link
            return None

    return url


# -- sections -------------------------------------------------------------------------------

@blueprint.post("/teaching/<int:course_id>/sections")
@author
def teaching_section_add(course_id: int):
    course = _editable(course_id)
    form = SectionForm(prefix="section")
    if form.validate_on_submit():
        try:
            section = services.add_section(db.session, actor(), course, form.title.data)
        except ServiceError as exc:
            _fail(form, exc)
        else:
            db.session.commit()
            flash(_l("Đã thêm phần “%(title)s”.", title=section.title), "success")
            return redirect(url_for("courses.teaching_course", course_id=course.id, _anchor=f"section-{section.id}"))
    db.session.rollback()
    return _render_course(_editable(course_id, *_FULL_COURSE), section_form=form, status=422)


@blueprint.route("/teaching/<int:course_id>/sections/<int:section_id>/edit", methods=["GET", "POST"])
@author
def teaching_section_edit(course_id: int, section_id: int):
    course = _editable(course_id)
    section = _section(course, section_id)
    form = SectionForm(obj=section) if request.method == "GET" else SectionForm()
    if form.validate_on_submit():
        try:
            services.rename_section(db.session, actor(), section, form.title.data)
        except ServiceError as exc:
            _fail(form, exc)
        else:
            db.session.commit()
            flash(_l("Đã đổi tên phần."), "success")
            return redirect(url_for("courses.teaching_course", course_id=course.id, _anchor=f"section-{section.id}"))
    section = db.session.get(Section, section_id)
    return render_template("courses/authoring/section_form.html", form=form, course=section.course,
                           section=section), _status(form)


def _move(course: Course, item) -> object:
    form = MoveForm()
    if not form.validate_on_submit():
        db.session.rollback()
        return _render_course(_editable(course.id, *_FULL_COURSE), error=_l("Lựa chọn không hợp lệ."), status=422)
    try:
        services.move(db.session, actor(), item, -1 if form.direction.data == "up" else 1)
    except ServiceError as exc:
        db.session.rollback()
        if isinstance(exc, PermissionDenied):
            abort(403)
        return _render_course(_editable(course.id, *_FULL_COURSE), error=exc.message, status=422)
    db.session.commit()
    flash(_l("Đã đổi thứ tự."), "success")
    anchor = f"section-{item.id}" if isinstance(item, Section) else f"lesson-{item.id}"
    return redirect(url_for("courses.teaching_course", course_id=course.id, _anchor=anchor))


@blueprint.post("/teaching/<int:course_id>/sections/<int:section_id>/move")
@author
def teaching_section_move(course_id: int, section_id: int):
    course = _editable(course_id)
    return _move(course, _section(course, section_id))


@blueprint.route("/teaching/<int:course_id>/sections/<int:section_id>/delete", methods=["GET", "POST"])
@author
def teaching_section_delete(course_id: int, section_id: int):
    course = _editable(course_id)
    section = _section(course, section_id)
    form = ConfirmForm()
    if form.validate_on_submit():
        title = section.title
        try:
            services.delete_section(db.session, actor(), section, utcnow())
        except ServiceError as exc:
            _fail(form, exc)
        else:
            db.session.commit()
            flash(_l("Đã xóa phần “%(title)s” cùng các bài học và tài liệu của phần.", title=title), "success")
            return redirect(url_for("courses.teaching_course", course_id=course.id))
    materials = sum(len(lesson.materials) for lesson in section.lessons)
    return render_template("courses/authoring/confirm_delete.html", form=form, course=course, what="section",
                           item=section, lessons=len(section.lessons), materials=materials,
                           back=url_for("courses.teaching_course", course_id=course.id)), _status(form)


# -- lessons --------------------------------------------------------------------------------

@blueprint.route("/teaching/<int:course_id>/sections/<int:section_id>/lessons/new", methods=["GET", "POST"])
@author
def teaching_lesson_new(course_id: int, section_id: int):
    course = _editable(course_id)
    section = _section(course, section_id)
    form = LessonForm()
    fill_tag_choices(form)
    if request.method == "GET":
        form.conventions.data = [c.id for c in course.conventions]
        form.contents.data = [c.id for c in course.contents]
    if form.validate_on_submit():
        try:
            lesson = services.add_lesson(db.session, actor(), section, _lesson_input(form), utcnow())
        except ServiceError as exc:
            _fail(form, exc)
        else:
            db.session.commit()
            flash(_l("Đã thêm bài học “%(title)s”. Bạn có thể tải tài liệu lên cho bài học ở bên dưới.",
                     title=lesson.title), "success")
            return redirect(url_for("courses.teaching_lesson", course_id=course.id, lesson_id=lesson.id))
    section = db.session.get(Section, section_id)
    return render_template("courses/authoring/lesson_new.html", form=form, course=section.course,
                           section=section), _status(form)


def _lesson_forms(lesson: Lesson | None = None):
    form = LessonForm(formdata=None) if lesson is not None else LessonForm()
    fill_tag_choices(form)
    if lesson is not None:
        form.title.data = lesson.title
        form.body.data = lesson.body_source
        form.required.data = lesson.required
        form.minutes.data = str(lesson.minutes)
        form.conventions.data = [c.id for c in lesson.conventions]
        form.contents.data = [c.id for c in lesson.contents]
    return form


def _render_lesson(course_id: int, lesson_id: int, *, form=None, upload=None, link=None, status=200):
    course = _editable(course_id)
    lesson = _lesson(course, lesson_id)
    return render_template(
        "courses/authoring/lesson.html", course=course, lesson=lesson,
        form=form or _lesson_forms(lesson),
        upload=upload or MaterialFileForm(prefix="upload", formdata=None),
        link=link or MaterialLinkForm(prefix="link", formdata=None),
        max_upload=current_app.config["LMS_MAX_UPLOAD_MB"], max_video=current_app.config["LMS_MAX_VIDEO_MB"],
        material_url=_material_url(),
    ), status


@blueprint.route("/teaching/<int:course_id>/lessons/<int:lesson_id>", methods=["GET", "POST"])
@author
def teaching_lesson(course_id: int, lesson_id: int):
    course = _editable(course_id)
    lesson = _lesson(course, lesson_id)
    if request.method == "GET":
        return _render_lesson(course_id, lesson_id)
    form = _lesson_forms()
    if form.validate_on_submit():
        try:
            services.update_lesson(db.session, actor(), lesson, _lesson_input(form), utcnow())
        except ServiceError as exc:
            _fail(form, exc)
        else:
            db.session.commit()
            flash(_l("Đã lưu bài học."), "success")
            return redirect(url_for("courses.teaching_lesson", course_id=course.id, lesson_id=lesson.id))
    db.session.rollback()
    return _render_lesson(course_id, lesson_id, form=form, status=422)


@blueprint.post("/teaching/<int:course_id>/lessons/<int:lesson_id>/move")
@author
def teaching_lesson_move(course_id: int, lesson_id: int):
    course = _editable(course_id)
    return _move(course, _lesson(course, lesson_id))


@blueprint.route("/teaching/<int:course_id>/lessons/<int:lesson_id>/delete", methods=["GET", "POST"])
@author
def teaching_lesson_delete(course_id: int, lesson_id: int):
    course = _editable(course_id)
    lesson = _lesson(course, lesson_id)
    form = ConfirmForm()
    if form.validate_on_submit():
        title = lesson.title
        try:
            services.delete_lesson(db.session, actor(), lesson, utcnow())
        except ServiceError as exc:
            _fail(form, exc)
        else:
            db.session.commit()
            flash(_l("Đã xóa bài học “%(title)s” cùng các tài liệu của bài.", title=title), "success")
            return redirect(url_for("courses.teaching_course", course_id=course.id))
    return render_template("courses/authoring/confirm_delete.html", form=form, course=course, what="lesson",
                           item=lesson, lessons=1, materials=len(lesson.materials),
                           back=url_for("courses.teaching_lesson", course_id=course.id,
                                        lesson_id=lesson.id)), _status(form)


# -- materials ------------------------------------------------------------------------------

@blueprint.post("/teaching/<int:course_id>/lessons/<int:lesson_id>/materials/file")
@author
def teaching_material_upload(course_id: int, lesson_id: int):
    # Before anything reads the body (the URL value preprocessor above already did this for
    # the hooks that run before the view).
    _allow_video_body()
    course = _editable(course_id)
    lesson = _lesson(course, lesson_id)
    form = MaterialFileForm(prefix="upload")
    if form.validate_on_submit():
        upload = form.file.data
        try:
            material = services.add_file(db.session, actor(), lesson, upload.stream, upload.filename or "",
                                         title=clean(form.title.data) or None)
        except ServiceError as exc:
            _fail(form, exc)
        else:
            db.session.commit()
            flash(_l("Đã tải lên “%(name)s”.", name=material.original_name), "success")
            return redirect(url_for("courses.teaching_lesson", course_id=course.id, lesson_id=lesson.id,
                                    _anchor="materials"))
    db.session.rollback()
    return _render_lesson(course_id, lesson_id, upload=form, status=422)


@blueprint.post("/teaching/<int:course_id>/lessons/<int:lesson_id>/materials/link")
@author
def teaching_material_link(course_id: int, lesson_id: int):
    course = _editable(course_id)
    lesson = _lesson(course, lesson_id)
    form = MaterialLinkForm(prefix="link")
    if form.validate_on_submit():
        try:
            material = services.add_link(db.session, actor(), lesson, form.url.data, form.title.data)
        except ServiceError as exc:
            _fail(form, exc)
        else:
            db.session.commit()
            flash(_l("Đã thêm liên kết “%(title)s”.", title=material.title), "success")
            return redirect(url_for("courses.teaching_lesson", course_id=course.id, lesson_id=lesson.id,
                                    _anchor="materials"))
    db.session.rollback()
    return _render_lesson(course_id, lesson_id, link=form, status=422)


@blueprint.route("/teaching/<int:course_id>/materials/<int:material_id>/delete", methods=["GET", "POST"])
@author
def teaching_material_delete(course_id: int, material_id: int):
    course = _editable(course_id)
    material = _material(course, material_id)
    lesson_id = material.lesson_id
    form = ConfirmForm()
    if form.validate_on_submit():
        title = material.title
        try:
            services.delete_material(db.session, actor(), material)
        except ServiceError as exc:
            _fail(form, exc)
        else:
            db.session.commit()
            flash(_l("Đã xóa tài liệu “%(title)s”.", title=title), "success")
            return redirect(url_for("courses.teaching_lesson", course_id=course.id, lesson_id=lesson_id,
                                    _anchor="materials"))
    return render_template("courses/authoring/confirm_delete.html", form=form, course=course, what="material",
                           item=material, lessons=0, materials=1,
                           back=url_for("courses.teaching_lesson", course_id=course.id,
                                        lesson_id=lesson_id)), _status(form)


# -- co-trainers ----------------------------------------------------------------------------

def _candidates(course: Course, q: str) -> list[Person]:
    """Active trainers whose name (or e-mail) matches ``q`` ignoring diacritics and case."""
    term = fold(q)[:100]
    if not term:
        return []
    taken = {course.owner_id} | {t.person_id for t in course.trainers}
    is_trainer = sa.exists().where(RoleAssignment.person_id == Person.id, RoleAssignment.role == Role.TRAINER)
    stmt = (sa.select(Person).where(Person.active.is_(True), is_trainer,
                                    Person.search_text.like(like_pattern(term), escape="\\"),
                                    Person.id.not_in(sorted(taken)))
            .options(selectinload(Person.memberships).joinedload(Membership.unit))
            .order_by(Person.sort_key, Person.id).limit(SEARCH_LIMIT))
    return list(db.session.scalars(stmt))


def _render_trainers(course: Course, *, form=None, status=200):
    q = (request.args.get("q") or "")[:100]
    return render_template("courses/authoring/trainers.html", course=course, q=q,
                           candidates=_candidates(course, q), form=form or CoTrainerForm(formdata=None),
                           limit=SEARCH_LIMIT), status


@blueprint.get("/teaching/<int:course_id>/trainers")
@author
def teaching_trainers(course_id: int):
    course = _editable(course_id, selectinload(Course.trainers).joinedload(CourseTrainer.person))
    return _render_trainers(course)


@blueprint.post("/teaching/<int:course_id>/trainers")
@author
def teaching_trainer_add(course_id: int):
    course = _editable(course_id)
    form = CoTrainerForm()
    if form.validate_on_submit():
        raw = (form.person_id.data or "").strip()
        person = db.session.get(Person, int(raw)) if raw.isdigit() and int(raw) < 2**31 else None
        if person is None:
            form.person_id.errors = list(form.person_id.errors) + [_l("Không tìm thấy giảng viên này.")]
        else:
            try:
                added = services.add_co_trainer(db.session, actor(), course, person)
            except ServiceError as exc:
                _fail(form, exc)
            else:
                db.session.commit()
                if added:
                    flash(_l("Đã mời %(name)s cùng giảng dạy khóa học.", name=person.full_name), "success")
                else:
                    flash(_l("%(name)s đã là giảng viên của khóa học.", name=person.full_name), "info")
                return redirect(url_for("courses.teaching_trainers", course_id=course.id))
    db.session.rollback()
    return _render_trainers(_editable(course_id), form=form, status=422)


@blueprint.post("/teaching/<int:course_id>/trainers/<int:person_id>/remove")
@author
def teaching_trainer_remove(course_id: int, person_id: int):
    course = _editable(course_id)
    ConfirmForm()
    trainer = next((t for t in course.trainers if t.person_id == person_id), None)
    if trainer is None:
        abort(404)
    name = trainer.person.full_name
    try:
        services.remove_co_trainer(db.session, actor(), course, person_id)
    except ServiceError:
        db.session.rollback()
        abort(403)
    db.session.commit()
    flash(_l("%(name)s không còn cùng giảng dạy khóa học.", name=name), "success")
    if person_id == actor().id:
        return redirect(url_for("courses.teaching"))
    return redirect(url_for("courses.teaching_trainers", course_id=course.id))
