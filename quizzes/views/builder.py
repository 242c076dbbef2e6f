"""Building a quiz in a course (trainer side): its settings, its questions (fixed ones picked
from the bank, random draws from a category), publishing; and the quiz panels shown on the
course pages (registered in ``app.extensions["course_panels"]``, see :mod:`courses.panels`).

Every object in a URL is checked: a course or quiz the person may not see is a 404, one they
see but may not edit (``course.edit`` / ``quiz.manage``) a 403; a slot of another quiz a 404.
Every write goes through :mod:`quizzes.building`, which checks the right again.
"""

from __future__ import annotations

from decimal import Decimal

import sqlalchemy as sa
from flask import abort, current_app, flash, redirect, render_template, request, url_for
from sqlalchemy.orm import Session, selectinload
from wtforms.fields.choices import SelectChoice

from courses.models import Convention, Course, Lesson, Section
from courses.panels import CoursePanel
from lms import permissions
from lms.db import db, utcnow
from lms.errors import PermissionDenied, ServiceError
from lms.forms import ConfirmForm
from lms.i18n import lazy_gettext as _l
from lms.text import clean, fold, like_pattern
from lms.views.common import actor, show_errors
from quizzes import building
from quizzes import rules as quiz_rules
from quizzes.forms.builder import (
    BAND_ROWS,
    GRADING_LABELS,
    NAVIGATION_LABELS,
    REVIEW_LABELS,
    AddQuestionsForm,
    MarkForm,
    PublishForm,
    QuizForm,
    RandomForm,
)
from quizzes.models import (
    Attempt,
    AttemptState,
    Question,
    QuestionCategory,
    QuestionType,
    Quiz,
    QuizGrade,
    QuizSlot,
    SlotKind,
)
from quizzes.views import blueprint

TYPE_LABELS = {
    QuestionType.SINGLE_CHOICE: _l("Một lựa chọn"),
    QuestionType.MULTIPLE_RESPONSE: _l("Nhiều lựa chọn"),
    QuestionType.TRUE_FALSE: _l("Đúng/Sai"),
    QuestionType.SHORT_ANSWER: _l("Trả lời ngắn"),
    QuestionType.NUMERICAL: _l("Số"),
    QuestionType.MATCHING: _l("Ghép đôi"),
    QuestionType.ESSAY: _l("Tự luận"),
    QuestionType.DESCRIPTION: _l("Đoạn mô tả"),
}
#: Questions listed at once by the bank picker (narrow with the category and the search).
PICK_LIMIT = 100


# -- loading objects from URLs --------------------------------------------------------------

def _course(course_id: int) -> Course:
    course = db.session.get(Course, course_id)
    if course is None:
        abort(404)
    who = actor()
    if not permissions.can(db.session, who, "course.edit", course):
        abort(403 if permissions.can(db.session, who, "course.view", course) else 404)
    return course


def _quiz(quiz_id: int) -> tuple[Quiz, Course]:
    quiz = db.session.scalar(sa.select(Quiz).where(Quiz.id == quiz_id)
                             .options(selectinload(Quiz.slots).selectinload(QuizSlot.question),
                                      selectinload(Quiz.slots).selectinload(QuizSlot.category)))
    if quiz is None:
        abort(404)
    course = db.session.get(Course, quiz.course_id)
    who = actor()
    if not permissions.can(db.session, who, "quiz.manage", quiz):
        abort(403 if permissions.can(db.session, who, "course.view", course) else 404)
    return quiz, course


def _url(endpoint: str, **values) -> str | None:
    """A link to another part's screen, when that screen exists."""
    if endpoint not in current_app.view_functions:
        return None
    return url_for(endpoint, **values)


def _fail(form, exc: ServiceError, field_of: dict | None = None) -> None:
    if isinstance(exc, PermissionDenied):
        db.session.rollback()
        abort(403)
    show_errors(form, exc, field_of)


# -- settings -------------------------------------------------------------------------------

def _lesson_choices(form: QuizForm, course: Course) -> None:
    lessons = db.session.execute(
        sa.select(Lesson.id, Lesson.title, Section.title).join(Section, Lesson.section_id == Section.id)
        .where(Lesson.course_id == course.id).order_by(Section.position, Lesson.position)).all()
    form.lesson_id.choices = [SelectChoice(0, str(_l("Không gắn với bài học nào")))] + [
        SelectChoice(lesson_id, f"{section_title} › {title}") for lesson_id, title, section_title in lessons]


def _bands(form: QuizForm) -> list[dict]:
    rows = []
    for entry in form.bands:
        low, label = entry.form.min.data, clean(entry.form.label.data or "")
        if low is None and not label:
            continue
        rows.append({"min": low, "label": label})
    return rows


def _settings(form: QuizForm) -> building.QuizSettings:
    return building.QuizSettings(
        title=form.title.data or "", intro=form.intro.data or "", lesson_id=form.lesson_id.data or None,
        time_limit_minutes=form.time_limit_minutes.data, attempts_allowed=form.attempts_allowed.data,
        grading_method=form.grading_method.data, max_mark=form.max_mark.data, pass_mark=form.pass_mark.data,
        bands=_bands(form), shuffle_questions=bool(form.shuffle_questions.data),
        shuffle_options=bool(form.shuffle_options.data), questions_per_page=form.questions_per_page.data,
        navigation=form.navigation.data, open_at=form.open_at.data, close_at=form.close_at.data,
        review_score=form.review_score.data, review_answers=form.review_answers.data,
        review_feedback=form.review_feedback.data, required_for_completion=bool(form.required_for_completion.data),
    )


def _form_data(quiz: Quiz) -> dict:
    bands = [{"min": Decimal(str(b["min"])), "label": b["label"]} for b in quiz.bands or []]
    bands += [{"min": None, "label": ""}] * max(0, BAND_ROWS - len(bands))
    return {
        "title": quiz.title, "intro": quiz.intro_source, "lesson_id": quiz.lesson_id or 0, "open_at": quiz.open_at,
        "close_at": quiz.close_at, "time_limit_minutes": quiz.time_limit_minutes,
        "attempts_allowed": quiz.attempts_allowed, "grading_method": quiz.grading_method.value,
        "max_mark": quiz.max_mark, "pass_mark": quiz.pass_mark, "bands": bands,
        "shuffle_questions": quiz.shuffle_questions, "shuffle_options": quiz.shuffle_options,
        "questions_per_page": quiz.questions_per_page, "navigation": quiz.navigation.value,
        "review_score": quiz.review_score.value, "review_answers": quiz.review_answers.value,
        "review_feedback": quiz.review_feedback.value, "required_for_completion": quiz.required_for_completion,
    }


def _save_settings(form: QuizForm, course: Course, quiz: Quiz | None):
    """Validate and call the service; the quiz on success, None (errors on the form) otherwise."""
    form.band_errors = []
    if not form.validate_on_submit():
        return None
    try:
        if quiz is None:
            quiz = building.create_quiz(db.session, actor(), course, _settings(form))
        else:
            building.update_quiz(db.session, actor(), quiz, _settings(form))
    except ServiceError as exc:
        if isinstance(exc, PermissionDenied):
            db.session.rollback()
            abort(403)
        errors = dict(exc.errors or {})
        if "bands" in errors:
            form.band_errors.append(errors.pop("bands"))
            exc = ServiceError(exc.message, errors=errors) if errors else None
        if exc is not None:
            show_errors(form, exc)
        else:
            db.session.rollback()
        return None
    db.session.commit()
    return quiz


def _render_settings(form: QuizForm, course: Course, quiz: Quiz | None):
    status = 422 if (form.errors or form.form_errors or getattr(form, "band_errors", None)) else 200
    return render_template("quizzes/builder/settings.html", form=form, course=course, quiz=quiz,
                           attempted=quiz is not None and building.has_attempts(db.session, quiz),
                           links=_links(quiz) if quiz else {}), status


@blueprint.route("/course/<int:course_id>/new", methods=["GET", "POST"])
@permissions.login
def builder_new(course_id: int):
    course = _course(course_id)
    form = QuizForm()
    _lesson_choices(form, course)
    quiz = _save_settings(form, course, None)
    if quiz is not None:
        flash(_l("Đã tạo bài kiểm tra “%(title)s” (chưa công bố). Hãy thêm câu hỏi.", title=quiz.title), "success")
        return redirect(url_for("quizzes.builder_questions", quiz_id=quiz.id))
    return _render_settings(form, db.session.get(Course, course_id), None)


@blueprint.route("/<int:quiz_id>/edit", methods=["GET", "POST"])
@permissions.login
def builder_edit(quiz_id: int):
    quiz, course = _quiz(quiz_id)
    form = QuizForm(data=_form_data(quiz)) if request.method == "GET" else QuizForm()
    _lesson_choices(form, course)
    if _save_settings(form, course, quiz) is not None:
        flash(_l("Đã lưu cài đặt bài kiểm tra."), "success")
        return redirect(url_for("quizzes.builder_edit", quiz_id=quiz.id))
    quiz, course = _quiz(quiz_id)
    return _render_settings(form, course, quiz)


# -- questions ------------------------------------------------------------------------------

def _links(quiz: Quiz) -> dict:
    return {"preview": _url("quizzes.quiz", quiz_id=quiz.id), "results": _url("quizzes.results", quiz_id=quiz.id),
            "bank": _url("quizzes.bank")}


def _category_choices() -> list[SelectChoice]:
    rows = db.session.execute(sa.select(QuestionCategory.id, QuestionCategory.path)
                              .order_by(QuestionCategory.path)).all()
    return [SelectChoice(cid, path.replace("/", " › ")) for cid, path in rows]


def _convention_choices() -> list[SelectChoice]:
    rows = db.session.execute(sa.select(Convention.id, Convention.code, Convention.name_vi)
                              .order_by(Convention.position, Convention.id)).all()
    return [SelectChoice(0, str(_l("Mọi công ước")))] + [SelectChoice(cid, f"{code} — {name}")
                                                          for cid, code, name in rows]


def _random_form(formdata=None) -> RandomForm:
    form = RandomForm(formdata=formdata) if formdata is not None else RandomForm(formdata=None)
    form.category_id.choices = _category_choices()
    form.convention_id.choices = _convention_choices()
    return form


def _render_questions(quiz: Quiz, course: Course, *, random_form: RandomForm | None = None, error=None,
                      status: int = 200):
    conventions = dict(db.session.execute(sa.select(Convention.id, Convention.code)).all())
    total = sum(s.mark * (s.count if s.kind == SlotKind.RANDOM else 1) for s in quiz.slots)
    return render_template(
        "quizzes/builder/questions.html", quiz=quiz, course=course, random_form=random_form or _random_form(),
        conventions=conventions, TYPE_LABELS=TYPE_LABELS, error=error, total=total,
        questions=sum(s.count if s.kind == SlotKind.RANDOM else 1 for s in quiz.slots),
        attempted=building.has_attempts(db.session, quiz), links=_links(quiz), confirm=ConfirmForm(),
    ), status


@blueprint.get("/<int:quiz_id>/questions")
@permissions.login
def builder_questions(quiz_id: int):
    quiz, course = _quiz(quiz_id)
    return _render_questions(quiz, course)


@blueprint.post("/<int:quiz_id>/questions/random")
@permissions.login
def builder_random(quiz_id: int):
    quiz, course = _quiz(quiz_id)
    form = _random_form(request.form)
    if form.validate_on_submit():
        category = db.session.get(QuestionCategory, form.category_id.data)
        try:
            building.add_random(db.session, actor(), quiz, category, form.count.data,
                                include_subcategories=bool(form.include_subcategories.data),
                                convention_id=form.convention_id.data or None, mark=form.mark.data)
        except ServiceError as exc:
            _fail(form, exc)
        else:
            db.session.commit()
            flash(_l("Đã thêm %(n)s câu ngẫu nhiên từ nhóm “%(name)s”.", n=form.count.data, name=category.path),
                  "success")
            return redirect(url_for("quizzes.builder_questions", quiz_id=quiz.id, _anchor="slots"))
    db.session.rollback()
    quiz, course = _quiz(quiz_id)
    return _render_questions(quiz, course, random_form=form, status=422)


def _slot(quiz: Quiz, slot_id: int) -> QuizSlot:
    slot = next((s for s in quiz.slots if s.id == slot_id), None)
    if slot is None:
        abort(404)
    return slot


@blueprint.post("/<int:quiz_id>/slots/<int:slot_id>/remove")
@permissions.login
def builder_slot_remove(quiz_id: int, slot_id: int):
    quiz, course = _quiz(quiz_id)
    _slot(quiz, slot_id)
    if not ConfirmForm().validate_on_submit():
        return _render_questions(quiz, course, error=_l("Phiên làm việc đã hết hạn; hãy thử lại."), status=400)
    try:
        building.remove_slot(db.session, actor(), quiz, slot_id)
    except ServiceError as exc:
        db.session.rollback()
        if isinstance(exc, PermissionDenied):
            abort(403)
        quiz, course = _quiz(quiz_id)
        return _render_questions(quiz, course, error=exc.message, status=422)
    db.session.commit()
    flash(_l("Đã bỏ câu hỏi khỏi bài kiểm tra."), "success")
    return redirect(url_for("quizzes.builder_questions", quiz_id=quiz.id, _anchor="slots"))


@blueprint.post("/<int:quiz_id>/slots/<int:slot_id>/mark")
@permissions.login
def builder_slot_mark(quiz_id: int, slot_id: int):
    quiz, course = _quiz(quiz_id)
    _slot(quiz, slot_id)
    form = MarkForm()
    error = None
    if form.validate_on_submit():
        try:
            building.set_slot_mark(db.session, actor(), quiz, slot_id, form.mark.data)
        except ServiceError as exc:
            db.session.rollback()
            if isinstance(exc, PermissionDenied):
                abort(403)
            error = exc.message
        else:
            db.session.commit()
            flash(_l("Đã đổi điểm của câu hỏi."), "success")
            return redirect(url_for("quizzes.builder_questions", quiz_id=quiz.id, _anchor=f"slot-{slot_id}"))
    else:
        db.session.rollback()
        error = next(iter(form.errors.values()), [_l("Phiên làm việc đã hết hạn; hãy thử lại.")])[0]
    quiz, course = _quiz(quiz_id)
    return _render_questions(quiz, course, error=_l("Điểm của câu: %(msg)s", msg=error), status=422)


@blueprint.post("/<int:quiz_id>/publish")
@permissions.login
def builder_publish(quiz_id: int):
    quiz, course = _quiz(quiz_id)
    form = PublishForm()
    if not form.validate_on_submit():
        db.session.rollback()
        return _render_questions(quiz, course, error=_l("Lựa chọn không hợp lệ."), status=422)
    published = form.published.data == "1"
    try:
        building.set_published(db.session, actor(), quiz, published)
    except ServiceError as exc:
        db.session.rollback()
        if isinstance(exc, PermissionDenied):
            abort(403)
        quiz, course = _quiz(quiz_id)
        return _render_questions(quiz, course, error=exc.message, status=422)
    db.session.commit()
    flash(_l("Đã công bố bài kiểm tra; học viên của khóa học đã thấy bài.") if published
          else _l("Đã ngừng công bố bài kiểm tra; học viên không còn thấy bài."), "success")
    return redirect(url_for("quizzes.builder_questions", quiz_id=quiz.id))


# -- picking questions from the bank --------------------------------------------------------

def _pick_list(category_id: int | None, q: str) -> tuple[list[Question], bool]:
    stmt = sa.select(Question).where(Question.hidden.is_(False)).options(selectinload(Question.category))
    if category_id:
        category = db.session.get(QuestionCategory, category_id)
        if category is None:
            return [], False
        inside = sa.select(QuestionCategory.id).where(sa.or_(
            QuestionCategory.id == category.id,
            QuestionCategory.path.startswith(category.path + "/", autoescape=True)))
        stmt = stmt.where(Question.category_id.in_(inside))
    term = fold(q)
    if term:
        stmt = stmt.where(Question.search_text.like(like_pattern(term), escape="\\"))
    rows = list(db.session.scalars(stmt.order_by(Question.category_id, Question.name, Question.id)
                                   .limit(PICK_LIMIT + 1)))
    return rows[:PICK_LIMIT], len(rows) > PICK_LIMIT


@blueprint.route("/<int:quiz_id>/questions/pick", methods=["GET", "POST"])
@permissions.login
def builder_pick(quiz_id: int):
    quiz, course = _quiz(quiz_id)
    category_id = request.args.get("category", 0, type=int)
    q = clean(request.args.get("q", "", type=str))[:200]
    form = AddQuestionsForm()
    if request.method == "POST" and form.validate_on_submit():
        if not form.question_ids.data:
            form.question_ids.errors = [_l("Hãy đánh dấu ít nhất một câu hỏi.")]
        else:
            try:
                added = building.add_questions(db.session, actor(), quiz, form.question_ids.data,
                                               mark=form.mark.data)
            except ServiceError as exc:
                _fail(form, exc)
            else:
                db.session.commit()
                flash(_l("Đã thêm %(n)s câu hỏi vào bài kiểm tra.", n=added) if added
                      else _l("Các câu đã chọn đều có trong bài kiểm tra rồi."), "success" if added else "info")
                return redirect(url_for("quizzes.builder_questions", quiz_id=quiz.id, _anchor="slots"))
        db.session.rollback()
        quiz, course = _quiz(quiz_id)
    questions, more = _pick_list(category_id, q)
    present = {s.question_id for s in quiz.slots if s.question_id}
    status = 422 if request.method == "POST" else 200
    return render_template("quizzes/builder/pick.html", quiz=quiz, course=course, form=form, questions=questions,
                           more=more, present=present, categories=_category_choices(), category_id=category_id,
                           q=q, TYPE_LABELS=TYPE_LABELS, limit=PICK_LIMIT, links=_links(quiz)), status


# -- panels on the course pages -------------------------------------------------------------

def _teaching_panel(session: Session, course: Course) -> CoursePanel:
    """Every quiz of the course with its lesson, questions and attempts: one statement."""
    questions = (sa.select(sa.func.coalesce(sa.func.sum(
        sa.case((QuizSlot.kind == SlotKind.RANDOM, QuizSlot.count), else_=1)), 0))
        .where(QuizSlot.quiz_id == Quiz.id).scalar_subquery())
    tried = sa.select(sa.func.count(Attempt.id)).where(Attempt.quiz_id == Quiz.id).scalar_subquery()
    rows = session.execute(
        sa.select(Quiz, Lesson.title, questions, tried).outerjoin(Lesson, Lesson.id == Quiz.lesson_id)
        .where(Quiz.course_id == course.id).order_by(Quiz.position, Quiz.id)).all()
    items = [{"quiz": quiz, "lesson": lesson, "questions": int(n or 0), "attempts": int(a or 0),
              "edit": url_for("quizzes.builder_edit", quiz_id=quiz.id),
              "questions_url": url_for("quizzes.builder_questions", quiz_id=quiz.id),
              "results": _url("quizzes.results", quiz_id=quiz.id)} for quiz, lesson, n, a in rows]
    return CoursePanel("quizzes/builder/teaching_panel.html",
                       {"course": course, "items": items, "new": url_for("quizzes.builder_new", course_id=course.id)})


def _learner_panel(session: Session, course: Course, person, lesson=None) -> CoursePanel | None:
    """The published quizzes of the course (or of one lesson) with the person's state: one statement."""
    running = sa.exists().where(Attempt.quiz_id == Quiz.id, Attempt.person_id == person.id,
                                Attempt.state == AttemptState.IN_PROGRESS)
    finished = sa.exists().where(Attempt.quiz_id == Quiz.id, Attempt.person_id == person.id,
                                 Attempt.state == AttemptState.FINISHED)
    stmt = (sa.select(Quiz, QuizGrade.grade, QuizGrade.passed, running, finished)
            .outerjoin(QuizGrade, sa.and_(QuizGrade.quiz_id == Quiz.id, QuizGrade.person_id == person.id))
            .where(Quiz.course_id == course.id, Quiz.published.is_(True)).order_by(Quiz.position, Quiz.id))
    if lesson is not None:
        stmt = stmt.where(Quiz.lesson_id == lesson.id)
    rows = session.execute(stmt).all()
    if not rows:
        return None
    now = utcnow()
    items = []
    for quiz, grade, passed, is_running, is_finished in rows:
        score_shown = quiz_rules.review_open(quiz.review_score.value, finished=True, close_at=quiz.close_at, now=now)
        if is_running:
            state = "running"
        elif is_finished and grade is None:
            state = "waiting"
        elif is_finished and not score_shown:
            state = "submitted"
        elif is_finished:
            state = "passed" if passed else "failed"
        else:
            state = "new"
        closed = quiz.close_at is not None and now >= quiz.close_at
        items.append({"quiz": quiz, "state": state, "grade": grade if score_shown else None, "closed": closed,
                      "url": _url("quizzes.quiz", quiz_id=quiz.id)})
    return CoursePanel("quizzes/builder/learner_panel.html", {"items": items, "lesson": lesson})


def course_panel(session: Session, course: Course, person, place: str, lesson=None) -> CoursePanel | None:
    """Registered in ``app.extensions["course_panels"]`` (see :mod:`courses.panels`)."""
    if person is None or not getattr(person, "is_authenticated", False):
        return None
    if place == "teaching":
        return _teaching_panel(session, course)
    return _learner_panel(session, course, person, lesson if place == "lesson" else None)


__all__ = ["course_panel", "GRADING_LABELS", "NAVIGATION_LABELS", "REVIEW_LABELS"]
