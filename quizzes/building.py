"""Building a quiz in a course: its settings and its slots (fixed questions and random draws).

Write operations take the session and the acting person, check "quiz.manage" on the quiz's
course, flush and never commit. Settings are checked here, so a form and any other caller get
the same Vietnamese messages (``ServiceError.errors`` by field).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal, InvalidOperation

import sqlalchemy as sa
from sqlalchemy.orm import Session

from courses.models import Course, Lesson
from courses.text import render
from lms import audit, permissions
from lms.actors import Actor, is_system
from lms.errors import PermissionDenied, ServiceError
from lms.i18n import lazy_gettext as _l
from lms.text import clean, nfc
from quizzes.models import (
    Attempt,
    GradingMethod,
    Navigation,
    Question,
    QuestionCategory,
    QuestionType,
    Quiz,
    QuizSlot,
    ReviewWhen,
    SlotKind,
    draw_pool,
)

MAX_BANDS = 10


@dataclass
class QuizSettings:
    title: str
    intro: str = ""
    lesson_id: int | None = None
    time_limit_minutes: int | None = None
    attempts_allowed: int = 1
    grading_method: str = "highest"
    max_mark: Decimal = Decimal("10")
    pass_mark: Decimal = Decimal("5")
    bands: list[dict] = field(default_factory=list)
    shuffle_questions: bool = False
    shuffle_options: bool = True
    questions_per_page: int = 5
    navigation: str = "free"
    open_at: datetime | None = None
    close_at: datetime | None = None
    review_score: str = "immediately"
    review_answers: str = "after_close"
    review_feedback: str = "immediately"
    required_for_completion: bool = False


def _check(session: Session, course: Course, s: QuizSettings) -> dict:
    errors: dict[str, object] = {}
    title = clean(s.title)
    if not title:
        errors["title"] = _l("Hãy nhập tên bài kiểm tra.")
    elif len(title) > 255:
        errors["title"] = _l("Tên bài kiểm tra dài quá 255 ký tự.")
    if s.lesson_id is not None and session.scalar(sa.select(Lesson.id).where(
            Lesson.id == s.lesson_id, Lesson.course_id == course.id)) is None:
        errors["lesson_id"] = _l("Bài học không thuộc khóa học này.")
    if s.time_limit_minutes is not None and not (1 <= s.time_limit_minutes <= 24 * 60):
        errors["time_limit_minutes"] = _l("Thời gian làm bài từ 1 đến 1.440 phút (để trống: không giới hạn).")
    if not (0 <= s.attempts_allowed <= 100):
        errors["attempts_allowed"] = _l("Số lần làm bài từ 0 (không giới hạn) đến 100.")
    if s.grading_method not in {m.value for m in GradingMethod}:
        errors["grading_method"] = _l("Cách tính điểm không hợp lệ.")
    try:
        max_mark, pass_mark = Decimal(s.max_mark), Decimal(s.pass_mark)
    except (InvalidOperation, TypeError, ValueError):
        errors["max_mark"] = _l("Điểm phải là số.")
    else:
        if not (Decimal("0") < max_mark <= Decimal("1000")):
            errors["max_mark"] = _l("Thang điểm từ 0 đến 1.000 (thường là 10).")
        elif not (Decimal("0") <= pass_mark <= max_mark):
            errors["pass_mark"] = _l("Điểm đạt phải từ 0 đến thang điểm.")
    if len(s.bands) > MAX_BANDS:
        errors["bands"] = _l("Tối đa %(n)s mức xếp loại.", n=MAX_BANDS)
    else:
        for band in s.bands:
            label = clean(str(band.get("label", "")))
            try:
                low = float(band.get("min"))
            except (TypeError, ValueError):
                low = -1
            if not label or len(label) > 60 or not (0 <= low <= float(s.max_mark or 0)):
                errors["bands"] = _l("Mỗi mức xếp loại cần tên (tối đa 60 ký tự) và điểm từ 0 đến thang điểm.")
                break
    if not (1 <= s.questions_per_page <= 100):
        errors["questions_per_page"] = _l("Số câu mỗi trang từ 1 đến 100.")
    if s.navigation not in {n.value for n in Navigation}:
        errors["navigation"] = _l("Cách chuyển trang không hợp lệ.")
    if s.open_at and s.close_at and s.open_at >= s.close_at:
        errors["close_at"] = _l("Thời điểm đóng phải sau thời điểm mở.")
    for name in ("review_score", "review_answers", "review_feedback"):
        if getattr(s, name) not in {w.value for w in ReviewWhen}:
            errors[name] = _l("Lựa chọn không hợp lệ.")
    if len(s.intro or "") > 100_000:
        errors["intro"] = _l("Hướng dẫn dài quá 100.000 ký tự.")
    return errors


def _apply(quiz: Quiz, s: QuizSettings) -> None:
    quiz.title = clean(s.title)
    quiz.intro_source = nfc(s.intro or "")
    quiz.intro_html = render(s.intro or "")
    quiz.lesson_id = s.lesson_id
    quiz.time_limit_minutes = s.time_limit_minutes
    quiz.attempts_allowed = s.attempts_allowed
    quiz.grading_method = GradingMethod(s.grading_method)
    quiz.max_mark = Decimal(s.max_mark)
    quiz.pass_mark = Decimal(s.pass_mark)
    quiz.bands = sorted(({"min": float(b["min"]), "label": clean(str(b["label"]))} for b in s.bands),
                        key=lambda b: b["min"])
    quiz.shuffle_questions = s.shuffle_questions
    quiz.shuffle_options = s.shuffle_options
    quiz.questions_per_page = s.questions_per_page
    quiz.navigation = Navigation(s.navigation)
    quiz.open_at, quiz.close_at = s.open_at, s.close_at
    quiz.review_score = ReviewWhen(s.review_score)
    quiz.review_answers = ReviewWhen(s.review_answers)
    quiz.review_feedback = ReviewWhen(s.review_feedback)
    quiz.required_for_completion = s.required_for_completion


def _require_course(session: Session, actor: Actor, course: Course) -> None:
    if actor is None or not permissions.can(session, actor, "course.edit", course):
        raise PermissionDenied(_l("Bạn không được sửa khóa học này."))


def create_quiz(session: Session, actor: Actor, course: Course, settings: QuizSettings) -> Quiz:
    _require_course(session, actor, course)
    errors = _check(session, course, settings)
    if errors:
        raise ServiceError(next(iter(errors.values())), errors=errors)
    position = (session.scalar(sa.select(sa.func.max(Quiz.position)).where(Quiz.course_id == course.id)) or 0) + 1
    quiz = Quiz(course_id=course.id, position=position, created_by_id=None if is_system(actor) else actor.id)
    _apply(quiz, settings)
    session.add(quiz)
    session.flush()
    audit.record(session, actor, "quiz.create", object_type="quiz", object_id=quiz.id, summary=quiz.title)
    return quiz


def update_quiz(session: Session, actor: Actor, quiz: Quiz, settings: QuizSettings) -> None:
    course = session.get(Course, quiz.course_id)
    _require_course(session, actor, course)
    errors = _check(session, course, settings)
    if errors:
        raise ServiceError(next(iter(errors.values())), errors=errors)
    _apply(quiz, settings)
    session.flush()
    audit.record(session, actor, "quiz.update", object_type="quiz", object_id=quiz.id, summary=quiz.title)


def set_published(session: Session, actor: Actor, quiz: Quiz, published: bool) -> None:
    _require_course(session, actor, session.get(Course, quiz.course_id))
    if published and not quiz.slots:
        raise ServiceError(_l("Hãy thêm câu hỏi trước khi công bố bài kiểm tra."))
    quiz.published = published
    session.flush()
    audit.record(session, actor, "quiz.published" if published else "quiz.unpublished", object_type="quiz",
                 object_id=quiz.id, summary=quiz.title)


def _next_position(quiz: Quiz) -> int:
    return max((s.position for s in quiz.slots), default=0) + 1


def _mark_value(mark) -> Decimal:
    try:
        value = Decimal(str(mark))
    except (InvalidOperation, ValueError):
        raise ServiceError(_l("Điểm của câu phải là số."), field="mark") from None
    if not (Decimal("0") <= value <= Decimal("1000")) or not value.is_finite():
        raise ServiceError(_l("Điểm của câu từ 0 đến 1.000."), field="mark")
    return value


def add_questions(session: Session, actor: Actor, quiz: Quiz, question_ids: list[int], mark=None) -> int:
    """Add fixed questions (ids checked: existing, not hidden, not already in the quiz)."""
    _require_course(session, actor, session.get(Course, quiz.course_id))
    present = {s.question_id for s in quiz.slots if s.question_id}
    wanted = [i for i in dict.fromkeys(question_ids) if i not in present]
    found = {q.id: q for q in session.scalars(sa.select(Question).where(Question.id.in_(wanted),
                                                                          Question.hidden.is_(False)))}
    missing = [i for i in wanted if i not in found]
    if missing:
        raise ServiceError(_l("Không tìm thấy câu hỏi đã chọn; hãy tải lại trang."))
    position = _next_position(quiz)
    for offset, qid in enumerate(wanted):
        question = found[qid]
        if question.type == QuestionType.DESCRIPTION:
            value = Decimal("0")  # text only: it never weighs in the mark
        else:
            value = _mark_value(mark) if mark is not None else question.current.default_mark
        quiz.slots.append(QuizSlot(position=position + offset, kind=SlotKind.FIXED, question_id=qid, mark=value))
    session.flush()
    return len(wanted)


def add_random(session: Session, actor: Actor, quiz: Quiz, category: QuestionCategory, count: int, *,
               include_subcategories: bool = True, convention_id: int | None = None, mark=1) -> QuizSlot:
    _require_course(session, actor, session.get(Course, quiz.course_id))
    if not (1 <= count <= 500):
        raise ServiceError(_l("Số câu ngẫu nhiên từ 1 đến 500."), field="count")
    fixed = [s.question_id for s in quiz.slots if s.question_id]
    available = available_count(session, category, include_subcategories=include_subcategories,
                                convention_id=convention_id, exclude_ids=fixed)
    if count > available:
        raise ServiceError(_l("Nhóm “%(name)s” chỉ có %(m)s câu hỏi phù hợp (không kể các câu đã chọn sẵn trong bài); "
                              "không lấy được %(n)s câu ngẫu nhiên.",
                              name=category.path, m=available, n=count), field="count")
    slot = QuizSlot(position=_next_position(quiz), kind=SlotKind.RANDOM, category_id=category.id, count=count,
                    include_subcategories=include_subcategories, convention_id=convention_id, mark=_mark_value(mark))
    quiz.slots.append(slot)
    session.flush()
    return slot


def available_count(session: Session, category: QuestionCategory, *, include_subcategories: bool = True,
                    convention_id: int | None = None, exclude_ids=()) -> int:
    """Questions a random slot may draw from (not hidden, not a description, not one of
    ``exclude_ids``: the quiz's fixed questions, which an attempt never draws twice)."""
    where = draw_pool(category, include_subcategories=include_subcategories, convention_id=convention_id)
    if exclude_ids:
        where.append(Question.id.not_in(list(exclude_ids)))
    return session.scalar(sa.select(sa.func.count()).select_from(Question).where(*where)) or 0


def set_slot_mark(session: Session, actor: Actor, quiz: Quiz, slot_id: int, mark) -> None:
    """Change the marks of one slot (each question of a random slot gets them)."""
    _require_course(session, actor, session.get(Course, quiz.course_id))
    slot = next((s for s in quiz.slots if s.id == slot_id), None)
    if slot is None:
        raise ServiceError(_l("Không tìm thấy câu hỏi trong bài kiểm tra; hãy tải lại trang."))
    value = _mark_value(mark)
    if slot.question_id and value and session.get(Question, slot.question_id).type == QuestionType.DESCRIPTION:
        raise ServiceError(_l("Đoạn mô tả không có điểm."), field="mark")
    slot.mark = value
    session.flush()


def remove_slot(session: Session, actor: Actor, quiz: Quiz, slot_id: int) -> None:
    _require_course(session, actor, session.get(Course, quiz.course_id))
    slot = next((s for s in quiz.slots if s.id == slot_id), None)
    if slot is None:
        raise ServiceError(_l("Không tìm thấy câu hỏi trong bài kiểm tra; hãy tải lại trang."))
    quiz.slots.remove(slot)
    session.flush()


def has_attempts(session: Session, quiz: Quiz) -> bool:
    return session.scalar(sa.select(Attempt.id).where(Attempt.quiz_id == quiz.id).limit(1)) is not None
