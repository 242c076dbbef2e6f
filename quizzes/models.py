"""Question banks: nested categories, questions tagged by convention and content, and the
immutable versions of each question with their options.

A question is an identity (its category, tags, who made it); what it says lives in versions.
Editing a question never rewrites a version: it adds the next one, so an attempt that showed
version 3 can always be reviewed exactly as shown, whatever the trainer changed later.
"""

from __future__ import annotations

import enum
from datetime import datetime
from decimal import Decimal
from typing import Optional

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from courses.models import ContentArea, Convention
from lms.db import db, str_enum, utcnow
from lms.models import Person


class QuestionType(enum.StrEnum):
    SINGLE_CHOICE = "single_choice"
    MULTIPLE_RESPONSE = "multiple_response"
    TRUE_FALSE = "true_false"
    SHORT_ANSWER = "short_answer"
    NUMERICAL = "numerical"
    MATCHING = "matching"
    ESSAY = "essay"
    DESCRIPTION = "description"


class TextFormat(enum.StrEnum):
    HTML = "html"
    MARKDOWN = "markdown"
    PLAIN = "plain"


question_conventions = sa.Table(
    "question_conventions", db.metadata,
    sa.Column("question_id", sa.ForeignKey("questions.id", ondelete="CASCADE"), primary_key=True),
    sa.Column("convention_id", sa.ForeignKey("conventions.id", ondelete="CASCADE"), primary_key=True),
)

question_contents = sa.Table(
    "question_contents", db.metadata,
    sa.Column("question_id", sa.ForeignKey("questions.id", ondelete="CASCADE"), primary_key=True),
    sa.Column("content_id", sa.ForeignKey("content_areas.id", ondelete="CASCADE"), primary_key=True),
)


class QuestionCategory(db.Model):
    """A folder of the shared question bank; categories nest without limit."""

    __tablename__ = "question_categories"

    id: Mapped[int] = mapped_column(primary_key=True)
    parent_id: Mapped[Optional[int]] = mapped_column(sa.ForeignKey("question_categories.id"), index=True)
    #: NFC, plain text; "/" is allowed (it is doubled in :attr:`path`).
    name: Mapped[str] = mapped_column(sa.String(255))
    #: Full path from the top, names joined with "/" (a "/" inside a name written "//"), unique:
    #: two categories of one parent never share a name. Kept by the services on rename and move.
    path: Mapped[str] = mapped_column(sa.String(2000), unique=True)
    description: Mapped[str] = mapped_column(sa.Text, default="")
    #: ICU collation key of the name, for Vietnamese alphabetical order.
    sort_key: Mapped[bytes] = mapped_column(sa.LargeBinary(1024), default=b"")
    #: None when the system made it (the command line).
    created_by_id: Mapped[Optional[int]] = mapped_column(sa.ForeignKey("people.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    parent: Mapped[Optional["QuestionCategory"]] = relationship(remote_side=[id])

    @property
    def depth(self) -> int:
        return len(split_path(self.path)) - 1

    def with_subcategories(self) -> sa.Select:
        """``SELECT id`` of this category and every category below it (one statement to embed)."""
        cls = type(self)
        return sa.select(cls.id).where(sa.or_(cls.id == self.id, cls.path.startswith(self.path + "/", autoescape=True)))


def draw_pool(category: QuestionCategory, *, include_subcategories: bool, convention_id: int | None) -> list:
    """Conditions on :class:`Question` for the questions a random slot may draw: not hidden, not a
    description, in the category (and below it), tagged with the convention when one is given."""
    where = [Question.hidden.is_(False), Question.type != QuestionType.DESCRIPTION,
             Question.category_id.in_(category.with_subcategories()) if include_subcategories
             else Question.category_id == category.id]
    if convention_id:
        where.append(Question.id.in_(sa.select(question_conventions.c.question_id).where(
            question_conventions.c.convention_id == convention_id)))
    return where


class Question(db.Model):
    """A question of the bank; what it says is in its versions (the latest is the current one)."""

    __tablename__ = "questions"

    id: Mapped[int] = mapped_column(primary_key=True)
    category_id: Mapped[int] = mapped_column(sa.ForeignKey("question_categories.id"), index=True)
    #: Number of the current (latest) version; versions are numbered 1, 2, …
    current_number: Mapped[int] = mapped_column(default=1)
    #: Copies of the current version's type and name, for lists and filters without a join.
    type: Mapped[QuestionType] = mapped_column(str_enum(QuestionType, "question_type"), index=True)
    name: Mapped[str] = mapped_column(sa.String(255))
    #: Folded (no diacritics, lower case) name and text, for search.
    search_text: Mapped[str] = mapped_column(sa.Text, default="")
    #: Hidden questions stay for the attempts that used them but are not offered any more.
    hidden: Mapped[bool] = mapped_column(default=False)
    #: None when the system made it (the command line).
    created_by_id: Mapped[Optional[int]] = mapped_column(sa.ForeignKey("people.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    category: Mapped[QuestionCategory] = relationship()
    created_by: Mapped[Optional[Person]] = relationship()
    conventions: Mapped[list[Convention]] = relationship(secondary=question_conventions,
                                                         order_by=Convention.position)
    contents: Mapped[list[ContentArea]] = relationship(secondary=question_contents, order_by=ContentArea.number)
    versions: Mapped[list["QuestionVersion"]] = relationship(
        back_populates="question", order_by="QuestionVersion.number", cascade="all, delete-orphan")

    __table_args__ = (sa.CheckConstraint("current_number >= 1", name="question_number_positive"),)

    @property
    def current(self) -> "QuestionVersion":
        return next(v for v in self.versions if v.number == self.current_number)


class QuestionVersion(db.Model):
    """What a question said at one time. Never changed once written."""

    __tablename__ = "question_versions"

    id: Mapped[int] = mapped_column(primary_key=True)
    question_id: Mapped[int] = mapped_column(sa.ForeignKey("questions.id", ondelete="CASCADE"))
    number: Mapped[int]
    type: Mapped[QuestionType] = mapped_column(str_enum(QuestionType, "question_type"))
    name: Mapped[str] = mapped_column(sa.String(255))
    #: The text as written, in :attr:`text_format`; shown only after sanitising.
    text: Mapped[str] = mapped_column(sa.Text)
    text_format: Mapped[TextFormat] = mapped_column(str_enum(TextFormat, "text_format"), default=TextFormat.HTML)
    general_feedback: Mapped[str] = mapped_column(sa.Text, default="")
    default_mark: Mapped[Decimal] = mapped_column(sa.Numeric(9, 3), default=Decimal("1"))
    #: Per-type settings: shuffle, case_sensitive, ignore_diacritics, correct_feedback,
    #: partial_feedback, incorrect_feedback.
    settings: Mapped[dict] = mapped_column(sa.JSON, default=dict)
    #: None when the system made it (the command line).
    created_by_id: Mapped[Optional[int]] = mapped_column(sa.ForeignKey("people.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    question: Mapped[Question] = relationship(back_populates="versions")
    options: Mapped[list["QuestionOption"]] = relationship(
        order_by="QuestionOption.position", cascade="all, delete-orphan")

    __table_args__ = (
        sa.UniqueConstraint("question_id", "number", name="uq_question_version_number"),
        sa.CheckConstraint("default_mark >= 0", name="question_mark_not_negative"),
    )


class QuestionOption(db.Model):
    """A choice, an accepted answer, a numeric answer or a matching pair (see formats/base.py)."""

    __tablename__ = "question_options"

    id: Mapped[int] = mapped_column(primary_key=True)
    version_id: Mapped[int] = mapped_column(sa.ForeignKey("question_versions.id", ondelete="CASCADE"), index=True)
    position: Mapped[int]
    text: Mapped[str] = mapped_column(sa.Text, default="")
    text_format: Mapped[TextFormat] = mapped_column(str_enum(TextFormat, "text_format"), default=TextFormat.HTML)
    #: Share of the question's marks, -1 … 1.
    fraction: Mapped[Decimal] = mapped_column(sa.Numeric(9, 7), default=Decimal("0"))
    feedback: Mapped[str] = mapped_column(sa.Text, default="")
    #: Matching: the answer paired with the sub-question in :attr:`text`.
    match: Mapped[str] = mapped_column(sa.Text, default="")
    #: Numerical: ± accepted around the value in :attr:`text`.
    tolerance: Mapped[float] = mapped_column(sa.Float, default=0.0)

    __table_args__ = (
        sa.CheckConstraint("fraction >= -1 AND fraction <= 1", name="option_fraction_range"),
        sa.CheckConstraint("tolerance >= 0", name="option_tolerance_not_negative"),
    )


class ReviewWhen(enum.StrEnum):
    """When a finished attempt's score, right answers or feedback may be shown to the trainee."""

    IMMEDIATELY = "immediately"
    AFTER_CLOSE = "after_close"
    NEVER = "never"


class GradingMethod(enum.StrEnum):
    HIGHEST = "highest"
    AVERAGE = "average"
    FIRST = "first"
    LAST = "last"


class Navigation(enum.StrEnum):
    FREE = "free"
    SEQUENTIAL = "sequential"


class AttemptState(enum.StrEnum):
    IN_PROGRESS = "in_progress"
    FINISHED = "finished"


class SlotKind(enum.StrEnum):
    FIXED = "fixed"
    RANDOM = "random"


class Quiz(db.Model):
    """A quiz of a course, optionally attached to one of its lessons."""

    __tablename__ = "quizzes"

    id: Mapped[int] = mapped_column(primary_key=True)
    course_id: Mapped[int] = mapped_column(sa.ForeignKey("courses.id", ondelete="RESTRICT"), index=True)
    lesson_id: Mapped[Optional[int]] = mapped_column(sa.ForeignKey("lessons.id", ondelete="SET NULL"), index=True)
    title: Mapped[str] = mapped_column(sa.String(255))
    #: Instructions as written (Markdown) and as shown (sanitised HTML).
    intro_source: Mapped[str] = mapped_column(sa.Text, default="")
    intro_html: Mapped[str] = mapped_column(sa.Text, default="")
    #: Trainees see and take only published quizzes.
    published: Mapped[bool] = mapped_column(default=False)
    #: Minutes per attempt; None: no limit.
    time_limit_minutes: Mapped[Optional[int]]
    #: Attempts each trainee may start; 0: unlimited.
    attempts_allowed: Mapped[int] = mapped_column(default=1)
    grading_method: Mapped[GradingMethod] = mapped_column(str_enum(GradingMethod, "grading_method"),
                                                          default=GradingMethod.HIGHEST)
    #: The scale of the marks (10 points by default) and the mark that passes (Đạt).
    max_mark: Mapped[Decimal] = mapped_column(sa.Numeric(7, 2), default=Decimal("10"))
    pass_mark: Mapped[Decimal] = mapped_column(sa.Numeric(7, 2), default=Decimal("5"))
    #: Optional grade bands: [{"min": 8, "label": "Giỏi"}, …] on the quiz's scale.
    bands: Mapped[list] = mapped_column(sa.JSON, default=list)
    shuffle_questions: Mapped[bool] = mapped_column(default=False)
    shuffle_options: Mapped[bool] = mapped_column(default=True)
    questions_per_page: Mapped[int] = mapped_column(default=5)
    navigation: Mapped[Navigation] = mapped_column(str_enum(Navigation, "quiz_navigation"), default=Navigation.FREE)
    #: Attempts may start from ``open_at`` and until ``close_at`` (UTC); either may be empty.
    open_at: Mapped[Optional[datetime]]
    close_at: Mapped[Optional[datetime]]
    review_score: Mapped[ReviewWhen] = mapped_column(str_enum(ReviewWhen, "review_score_when"),
                                                     default=ReviewWhen.IMMEDIATELY)
    review_answers: Mapped[ReviewWhen] = mapped_column(str_enum(ReviewWhen, "review_answers_when"),
                                                       default=ReviewWhen.AFTER_CLOSE)
    review_feedback: Mapped[ReviewWhen] = mapped_column(str_enum(ReviewWhen, "review_feedback_when"),
                                                        default=ReviewWhen.IMMEDIATELY)
    #: Passing it is needed to complete the course (a completion requirement).
    required_for_completion: Mapped[bool] = mapped_column(default=False)
    position: Mapped[int] = mapped_column(default=0)
    created_by_id: Mapped[Optional[int]] = mapped_column(sa.ForeignKey("people.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    slots: Mapped[list["QuizSlot"]] = relationship(order_by="QuizSlot.position", cascade="all, delete-orphan")

    __table_args__ = (
        sa.CheckConstraint("attempts_allowed >= 0", name="quiz_attempts_not_negative"),
        sa.CheckConstraint("time_limit_minutes IS NULL OR time_limit_minutes > 0", name="quiz_limit_positive"),
        sa.CheckConstraint("max_mark > 0 AND pass_mark >= 0 AND pass_mark <= max_mark", name="quiz_marks"),
        sa.CheckConstraint("questions_per_page >= 1", name="quiz_page_size"),
        sa.CheckConstraint("open_at IS NULL OR close_at IS NULL OR open_at < close_at", name="quiz_window"),
    )


class QuizSlot(db.Model):
    """A place in a quiz: one fixed question, or N questions drawn at random from a category."""

    __tablename__ = "quiz_slots"

    id: Mapped[int] = mapped_column(primary_key=True)
    quiz_id: Mapped[int] = mapped_column(sa.ForeignKey("quizzes.id", ondelete="CASCADE"), index=True)
    position: Mapped[int]
    kind: Mapped[SlotKind] = mapped_column(str_enum(SlotKind, "slot_kind"))
    #: Fixed: the question (its current version when an attempt starts).
    question_id: Mapped[Optional[int]] = mapped_column(sa.ForeignKey("questions.id", ondelete="RESTRICT"),
                                                       index=True)
    #: Random: where to draw from, whether sub-categories count, an optional convention filter.
    category_id: Mapped[Optional[int]] = mapped_column(sa.ForeignKey("question_categories.id", ondelete="RESTRICT"))
    include_subcategories: Mapped[bool] = mapped_column(default=True)
    convention_id: Mapped[Optional[int]] = mapped_column(sa.ForeignKey("conventions.id", ondelete="SET NULL"))
    count: Mapped[int] = mapped_column(default=1)
    #: Marks of each question of the slot (before scaling to the quiz's maximum).
    mark: Mapped[Decimal] = mapped_column(sa.Numeric(9, 3), default=Decimal("1"))

    question: Mapped[Optional[Question]] = relationship()
    category: Mapped[Optional[QuestionCategory]] = relationship()

    __table_args__ = (
        sa.CheckConstraint(
            "(kind = 'fixed' AND question_id IS NOT NULL AND category_id IS NULL) OR "
            "(kind = 'random' AND category_id IS NOT NULL AND question_id IS NULL)",
            name="slot_fixed_or_random"),
        sa.CheckConstraint("count >= 1 AND count <= 500", name="slot_count"),
        sa.CheckConstraint("mark >= 0", name="slot_mark_not_negative"),
    )


class Attempt(db.Model):
    """One try at a quiz by one person. The questions, versions and option order it showed are
    fixed when it starts (:class:`AttemptQuestion`)."""

    __tablename__ = "quiz_attempts"

    id: Mapped[int] = mapped_column(primary_key=True)
    quiz_id: Mapped[int] = mapped_column(sa.ForeignKey("quizzes.id", ondelete="RESTRICT"), index=True)
    person_id: Mapped[int] = mapped_column(sa.ForeignKey("people.id", ondelete="RESTRICT"), index=True)
    #: 1, 2, … per person and quiz: the unique pair makes parallel starts count correctly.
    number: Mapped[int]
    state: Mapped[AttemptState] = mapped_column(str_enum(AttemptState, "attempt_state"),
                                                default=AttemptState.IN_PROGRESS)
    started_at: Mapped[datetime] = mapped_column(default=utcnow)
    #: When it closes by itself: start + time limit, capped by the quiz's close time (UTC).
    deadline: Mapped[Optional[datetime]]
    finished_at: Mapped[Optional[datetime]]
    #: The page the trainee is on (sequential navigation never goes back before it).
    page: Mapped[int] = mapped_column(default=0)
    #: On the quiz's scale; None while an essay waits for a trainer.
    mark: Mapped[Optional[Decimal]] = mapped_column(sa.Numeric(7, 2))

    questions: Mapped[list["AttemptQuestion"]] = relationship(order_by="AttemptQuestion.position",
                                                              cascade="all, delete-orphan")

    __table_args__ = (
        sa.UniqueConstraint("quiz_id", "person_id", "number", name="uq_attempt_number"),
        # At most one attempt in progress per person and quiz, whatever runs in parallel.
        sa.Index("uq_attempt_in_progress", "quiz_id", "person_id", unique=True,
                 sqlite_where=sa.text("state = 'in_progress'"), postgresql_where=sa.text("state = 'in_progress'")),
        sa.CheckConstraint("state <> 'finished' OR finished_at IS NOT NULL", name="attempt_finished_has_time"),
    )


class AttemptQuestion(db.Model):
    """A question as one attempt showed it: the exact version, the order of its options, the
    response saved and how it was graded."""

    __tablename__ = "attempt_questions"

    id: Mapped[int] = mapped_column(primary_key=True)
    attempt_id: Mapped[int] = mapped_column(sa.ForeignKey("quiz_attempts.id", ondelete="CASCADE"), index=True)
    position: Mapped[int]
    page: Mapped[int]
    version_id: Mapped[int] = mapped_column(sa.ForeignKey("question_versions.id", ondelete="RESTRICT"), index=True)
    #: The version whose key grades the response when a trainer regraded against a corrected
    #: key (a later version of the same question); None: the version shown.
    key_version_id: Mapped[Optional[int]] = mapped_column(sa.ForeignKey("question_versions.id", ondelete="RESTRICT"))
    #: Option ids in the order shown (choices), or the answers' order (matching).
    option_order: Mapped[list] = mapped_column(sa.JSON, default=list)
    #: Marks of this question in the attempt (from its slot).
    max_mark: Mapped[Decimal] = mapped_column(sa.Numeric(9, 3))
    #: The response as saved (see grading.py for its shape per type); None: not answered.
    response: Mapped[Optional[dict]] = mapped_column(sa.JSON)
    saved_at: Mapped[Optional[datetime]]
    #: 0..1 of :attr:`max_mark`; None until graded (an essay waits for a trainer).
    fraction: Mapped[Optional[Decimal]] = mapped_column(sa.Numeric(9, 7))
    #: A trainer's comment and who graded by hand (essays, overrides).
    comment: Mapped[str] = mapped_column(sa.Text, default="")
    graded_by_id: Mapped[Optional[int]] = mapped_column(sa.ForeignKey("people.id", ondelete="SET NULL"))
    graded_at: Mapped[Optional[datetime]]

    version: Mapped[QuestionVersion] = relationship(foreign_keys=[version_id])

    __table_args__ = (sa.UniqueConstraint("attempt_id", "position", name="uq_attempt_question_position"),)


class QuizGrade(db.Model):
    """A person's grade for a quiz, from their finished attempts by the quiz's grading method;
    kept current by the attempt services (completion and reports read it)."""

    __tablename__ = "quiz_grades"

    id: Mapped[int] = mapped_column(primary_key=True)
    quiz_id: Mapped[int] = mapped_column(sa.ForeignKey("quizzes.id", ondelete="RESTRICT"), index=True)
    person_id: Mapped[int] = mapped_column(sa.ForeignKey("people.id", ondelete="RESTRICT"), index=True)
    grade: Mapped[Optional[Decimal]] = mapped_column(sa.Numeric(7, 2))
    passed: Mapped[bool] = mapped_column(default=False)
    #: When it was last found passing (a regrade that fails it clears it).
    passed_at: Mapped[Optional[datetime]]
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    __table_args__ = (sa.UniqueConstraint("quiz_id", "person_id", name="uq_quiz_grade_person"),)


def split_path(path: str) -> list[str]:
    """"a/b//c/d" -> ["a", "b/c", "d"] (a doubled slash is a slash inside a name)."""
    parts: list[str] = []
    current = ""
    i = 0
    while i < len(path):
        if path[i] == "/":
            if path[i + 1:i + 2] == "/":
                current += "/"
                i += 2
                continue
            parts.append(current)
            current = ""
        else:
            current += path[i]
        i += 1
    parts.append(current)
    return parts


def join_path(names) -> str:
    return "/".join(name.replace("/", "//") for name in names)
