"""Course models: reference data (conventions, communication contents), courses with their
sections, lessons and materials, enrolments and lesson progress."""

from __future__ import annotations

import enum
from datetime import date, datetime
from decimal import Decimal
from typing import Optional

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from lms.db import db, str_enum, utcnow
from lms.models import Person


class CourseStatus(enum.StrEnum):
    DRAFT = "draft"
    PUBLISHED = "published"
    ARCHIVED = "archived"


class Audience(enum.StrEnum):
    """Who a course is meant for (learner categories, plus key cadres)."""

    LEGAL_REPORTER = "legal_reporter"
    LEGAL_PROPAGANDIST = "legal_propagandist"
    OFFICIAL = "official"
    EMPLOYEE = "employee"
    KEY_CADRE = "key_cadre"
    OTHER = "other"


class MaterialKind(enum.StrEnum):
    FILE = "file"
    LINK = "link"


class EnrolmentSource(enum.StrEnum):
    SELF = "self"
    INDIVIDUAL = "individual"
    UNIT = "unit"
    CATEGORY = "category"
    KEY_CADRES = "key_cadres"
    IMPORT = "import"


class EnrolmentStatus(enum.StrEnum):
    ACTIVE = "active"
    COMPLETED = "completed"
    WITHDRAWN = "withdrawn"


course_conventions = sa.Table(
    "course_conventions", db.metadata,
    sa.Column("course_id", sa.ForeignKey("courses.id", ondelete="CASCADE"), primary_key=True),
    sa.Column("convention_id", sa.ForeignKey("conventions.id", ondelete="CASCADE"), primary_key=True),
)

course_contents = sa.Table(
    "course_contents", db.metadata,
    sa.Column("course_id", sa.ForeignKey("courses.id", ondelete="CASCADE"), primary_key=True),
    sa.Column("content_id", sa.ForeignKey("content_areas.id", ondelete="CASCADE"), primary_key=True),
)

lesson_conventions = sa.Table(
    "lesson_conventions", db.metadata,
    sa.Column("lesson_id", sa.ForeignKey("lessons.id", ondelete="CASCADE"), primary_key=True),
    sa.Column("convention_id", sa.ForeignKey("conventions.id", ondelete="CASCADE"), primary_key=True),
)

lesson_contents = sa.Table(
    "lesson_contents", db.metadata,
    sa.Column("lesson_id", sa.ForeignKey("lessons.id", ondelete="CASCADE"), primary_key=True),
    sa.Column("content_id", sa.ForeignKey("content_areas.id", ondelete="CASCADE"), primary_key=True),
)


class Convention(db.Model):
    """One of the seven core UN human-rights conventions Vietnam is party to (editable)."""

    __tablename__ = "conventions"

    id: Mapped[int] = mapped_column(primary_key=True)
    #: Short code, e.g. ICCPR.
    code: Mapped[str] = mapped_column(sa.String(16), unique=True)
    name_vi: Mapped[str] = mapped_column(sa.String(300))
    name_en: Mapped[str] = mapped_column(sa.String(300))
    #: Year the UN General Assembly adopted it.
    adopted_year: Mapped[int]
    #: Year Vietnam became party.
    vn_party_year: Mapped[int]
    #: Exact dates, when known (reference data, editable by administrators).
    adopted_on: Mapped[Optional[date]]
    vn_party_on: Mapped[Optional[date]]
    position: Mapped[int] = mapped_column(default=0)


class ContentArea(db.Model):
    """One of the plan's five communication contents."""

    __tablename__ = "content_areas"

    id: Mapped[int] = mapped_column(primary_key=True)
    #: 1..5, as numbered in the plan.
    number: Mapped[int] = mapped_column(unique=True)
    #: The plan's full wording (section II), and a faithful English rendering of it.
    name_vi: Mapped[str] = mapped_column(sa.String(1000))
    name_en: Mapped[str] = mapped_column(sa.String(1000))
    #: A short label for lists, filters and tags (the full wording goes in a title or a
    #: details line next to it).
    short_vi: Mapped[str] = mapped_column(sa.String(120))
    short_en: Mapped[str] = mapped_column(sa.String(120))

    def name_in(self, locale: str) -> str:
        """The full wording in the interface language (Vietnamese unless ``locale`` is English)."""
        return self.name_en if str(locale) == "en" else self.name_vi

    def short_in(self, locale: str) -> str:
        """The short label in the interface language."""
        return self.short_en if str(locale) == "en" else self.short_vi


class Course(db.Model):
    __tablename__ = "courses"

    id: Mapped[int] = mapped_column(primary_key=True)
    #: Title, NFC, plain text.
    title: Mapped[str] = mapped_column(sa.String(255))
    #: Short summary shown in the catalogue (plain text).
    summary: Mapped[str] = mapped_column(sa.String(1000), default="")
    #: Description as written (Markdown) and as shown (sanitised HTML).
    description_source: Mapped[str] = mapped_column(sa.Text, default="")
    description_html: Mapped[str] = mapped_column(sa.Text, default="")
    status: Mapped[CourseStatus] = mapped_column(str_enum(CourseStatus, "course_status"), default=CourseStatus.DRAFT,
                                                 index=True)
    #: Trainees may enrol themselves (only in published courses).
    self_enrol: Mapped[bool] = mapped_column(default=True)
    #: Open course: anyone logged in may read it without enrolling.
    open_access: Mapped[bool] = mapped_column(default=False)
    #: Completing it counts toward the 70% key-cadre target.
    counts_toward_target: Mapped[bool] = mapped_column(default=True)
    credited_hours: Mapped[Decimal] = mapped_column(sa.Numeric(5, 1), default=Decimal("0"))
    #: Who created it; co-trainers are in :class:`CourseTrainer`.
    owner_id: Mapped[int] = mapped_column(sa.ForeignKey("people.id"), index=True)
    search_text: Mapped[str] = mapped_column(sa.String(1500), default="", index=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    published_at: Mapped[Optional[datetime]]

    owner: Mapped[Person] = relationship()
    conventions: Mapped[list[Convention]] = relationship(secondary=course_conventions, order_by=Convention.position)
    contents: Mapped[list[ContentArea]] = relationship(secondary=course_contents, order_by=ContentArea.number)
    audiences: Mapped[list["CourseAudience"]] = relationship(cascade="all, delete-orphan")
    trainers: Mapped[list["CourseTrainer"]] = relationship(cascade="all, delete-orphan")
    sections: Mapped[list["Section"]] = relationship(cascade="all, delete-orphan", order_by="Section.position",
                                                     back_populates="course")

    __table_args__ = (sa.CheckConstraint("credited_hours >= 0", name="hours_not_negative"),)

    @property
    def audience_set(self) -> set[Audience]:
        return {a.audience for a in self.audiences}

    @property
    def is_published(self) -> bool:
        return self.status == CourseStatus.PUBLISHED


class CourseAudience(db.Model):
    __tablename__ = "course_audiences"

    course_id: Mapped[int] = mapped_column(sa.ForeignKey("courses.id", ondelete="CASCADE"), primary_key=True)
    audience: Mapped[Audience] = mapped_column(str_enum(Audience, "course_audience"), primary_key=True)


class CourseTrainer(db.Model):
    """A co-trainer of a course (the owner is on the course itself)."""

    __tablename__ = "course_trainers"

    course_id: Mapped[int] = mapped_column(sa.ForeignKey("courses.id", ondelete="CASCADE"), primary_key=True)
    person_id: Mapped[int] = mapped_column(sa.ForeignKey("people.id", ondelete="CASCADE"), primary_key=True,
                                           index=True)
    added_at: Mapped[datetime] = mapped_column(default=utcnow)

    person: Mapped[Person] = relationship()


class Section(db.Model):
    __tablename__ = "sections"

    id: Mapped[int] = mapped_column(primary_key=True)
    course_id: Mapped[int] = mapped_column(sa.ForeignKey("courses.id", ondelete="CASCADE"), index=True)
    title: Mapped[str] = mapped_column(sa.String(255))
    position: Mapped[int] = mapped_column(default=0)

    course: Mapped[Course] = relationship(back_populates="sections")
    lessons: Mapped[list["Lesson"]] = relationship(cascade="all, delete-orphan", order_by="Lesson.position",
                                                   back_populates="section")


class Lesson(db.Model):
    __tablename__ = "lessons"

    id: Mapped[int] = mapped_column(primary_key=True)
    section_id: Mapped[int] = mapped_column(sa.ForeignKey("sections.id", ondelete="CASCADE"), index=True)
    #: Denormalised for queries that count a course's lessons.
    course_id: Mapped[int] = mapped_column(sa.ForeignKey("courses.id", ondelete="CASCADE"), index=True)
    title: Mapped[str] = mapped_column(sa.String(255))
    #: Lesson text as written (Markdown) and as shown (sanitised HTML; no script survives).
    body_source: Mapped[str] = mapped_column(sa.Text, default="")
    body_html: Mapped[str] = mapped_column(sa.Text, default="")
    position: Mapped[int] = mapped_column(default=0)
    #: Required lessons must be done for the course to be complete.
    required: Mapped[bool] = mapped_column(default=True)
    #: Estimated reading/viewing time in minutes.
    minutes: Mapped[int] = mapped_column(default=10)

    section: Mapped[Section] = relationship(back_populates="lessons")
    materials: Mapped[list["Material"]] = relationship(cascade="all, delete-orphan", order_by="Material.position",
                                                       back_populates="lesson")
    conventions: Mapped[list[Convention]] = relationship(secondary=lesson_conventions, order_by=Convention.position)
    contents: Mapped[list[ContentArea]] = relationship(secondary=lesson_contents, order_by=ContentArea.number)

    __table_args__ = (sa.CheckConstraint("minutes >= 0", name="minutes_not_negative"),)


class Material(db.Model):
    """A file uploaded to a lesson (stored under a generated key) or a link."""

    __tablename__ = "materials"

    id: Mapped[int] = mapped_column(primary_key=True)
    lesson_id: Mapped[int] = mapped_column(sa.ForeignKey("lessons.id", ondelete="CASCADE"), index=True)
    kind: Mapped[MaterialKind] = mapped_column(str_enum(MaterialKind, "material_kind"))
    title: Mapped[str] = mapped_column(sa.String(255))
    position: Mapped[int] = mapped_column(default=0)
    #: Link target (links only): http(s) URLs.
    url: Mapped[Optional[str]] = mapped_column(sa.String(2000))
    #: Files only: the uploader's file name (NFC, cleaned) kept as metadata.
    original_name: Mapped[Optional[str]] = mapped_column(sa.String(255))
    #: Files only: the generated storage key (never derived from the user's file name).
    storage_key: Mapped[Optional[str]] = mapped_column(sa.String(128), unique=True)
    size: Mapped[Optional[int]] = mapped_column(sa.BigInteger)
    #: SHA-256 of the content, hex.
    checksum: Mapped[Optional[str]] = mapped_column(sa.String(64))
    #: The type we decided from the content (never the browser's claim).
    content_type: Mapped[Optional[str]] = mapped_column(sa.String(128))
    uploaded_by_id: Mapped[Optional[int]] = mapped_column(sa.ForeignKey("people.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    lesson: Mapped[Lesson] = relationship(back_populates="materials")

    __table_args__ = (
        sa.CheckConstraint(
            "(kind = 'file' AND storage_key IS NOT NULL AND size IS NOT NULL AND checksum IS NOT NULL) OR "
            "(kind = 'link' AND url IS NOT NULL AND storage_key IS NULL)",
            name="file_or_link",
        ),
    )


class Enrolment(db.Model):
    """A person's place in a course: one per person and course. History: never deleted by a
    cascade (the foreign keys are ``RESTRICT``)."""

    __tablename__ = "enrolments"

    id: Mapped[int] = mapped_column(primary_key=True)
    course_id: Mapped[int] = mapped_column(sa.ForeignKey("courses.id", ondelete="RESTRICT"), index=True)
    person_id: Mapped[int] = mapped_column(sa.ForeignKey("people.id", ondelete="RESTRICT"), index=True)
    source: Mapped[EnrolmentSource] = mapped_column(str_enum(EnrolmentSource, "enrolment_source"))
    status: Mapped[EnrolmentStatus] = mapped_column(str_enum(EnrolmentStatus, "enrolment_status"),
                                                    default=EnrolmentStatus.ACTIVE, index=True)
    due_on: Mapped[Optional[date]]
    enrolled_at: Mapped[datetime] = mapped_column(default=utcnow)
    enrolled_by_id: Mapped[Optional[int]] = mapped_column(sa.ForeignKey("people.id", ondelete="SET NULL"))
    #: Recorded once, when the completion rule is first satisfied.
    completed_at: Mapped[Optional[datetime]]
    withdrawn_at: Mapped[Optional[datetime]]

    course: Mapped[Course] = relationship()
    person: Mapped[Person] = relationship(foreign_keys=[person_id])

    __table_args__ = (
        sa.UniqueConstraint("course_id", "person_id"),
        sa.CheckConstraint("status <> 'completed' OR completed_at IS NOT NULL", name="completed_has_time"),
    )


class LessonProgress(db.Model):
    """A lesson a person marked as done. Only removed explicitly (the learner unmarks it, or the
    trainer deletes the lesson: :func:`courses.services.delete_lesson`), never by a cascade."""

    __tablename__ = "lesson_progress"

    id: Mapped[int] = mapped_column(primary_key=True)
    lesson_id: Mapped[int] = mapped_column(sa.ForeignKey("lessons.id", ondelete="RESTRICT"), index=True)
    person_id: Mapped[int] = mapped_column(sa.ForeignKey("people.id", ondelete="RESTRICT"), index=True)
    course_id: Mapped[int] = mapped_column(sa.ForeignKey("courses.id", ondelete="RESTRICT"), index=True)
    completed_at: Mapped[datetime] = mapped_column(default=utcnow)

    __table_args__ = (sa.UniqueConstraint("lesson_id", "person_id"),)
