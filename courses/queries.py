"""Read side of the trainee screens: the catalogue, a course page, a lesson page, "My learning".

Every function here runs a fixed number of SQL statements whatever the number of courses,
sections, lessons or enrolments involved: related rows are loaded with ``selectinload`` (one
statement per relationship, not one per row) and progress is counted with ``GROUP BY`` for all
the enrolments of a page at once. ``tests/courses/test_query_counts.py`` counts the statements.

The statements of the busiest pages are built once, at import, with named parameters
(``sa.bindparam``): a statement object remembers its cache key, so reusing it saves building
the statement and hashing it again on every request, which is most of the cost of a small
query (``bench/README.md``).

Nothing here writes; nothing here checks permissions (the views ask :mod:`lms.permissions`).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date

import sqlalchemy as sa
from flask_sqlalchemy.pagination import Pagination
from sqlalchemy.orm import Session, contains_eager, defer, joinedload, selectinload
from sqlalchemy.orm.attributes import set_committed_value

from courses.completion import Progress
from courses.models import (
    Audience,
    ContentArea,
    Convention,
    Course,
    CourseAudience,
    CourseStatus,
    Enrolment,
    EnrolmentStatus,
    Lesson,
    LessonProgress,
    Material,
    Section,
    course_contents,
    course_conventions,
)
from lms.db import db
from lms.text import fold, like_pattern

#: Search words taken from a query (the rest is ignored) and the longest query read.
MAX_SEARCH_WORDS = 8
MAX_SEARCH_LENGTH = 200
PER_PAGE = 12


# -- reference lists ------------------------------------------------------------------------

_CONVENTIONS = sa.select(Convention).order_by(Convention.position, Convention.id)
_CONTENTS = sa.select(ContentArea).order_by(ContentArea.number)


def conventions(session: Session) -> list[Convention]:
    return list(session.scalars(_CONVENTIONS))


def contents(session: Session) -> list[ContentArea]:
    return list(session.scalars(_CONTENTS))


# -- the catalogue --------------------------------------------------------------------------

@dataclass(frozen=True)
class CatalogueFilter:
    """What the trainee asked for; values already checked by the view (unknown → ``None``)."""

    q: str = ""
    convention: str | None = None  #: a convention code, e.g. "CRC"
    content: int | None = None  #: a content number, 1..5
    audience: Audience | None = None

    @property
    def active(self) -> bool:
        return bool(self.q or self.convention or self.content or self.audience)


def search_words(q: str) -> list[str]:
    """The folded words of a query: "Quyền  TRẺ em" → ["quyen", "tre", "em"]."""
    return fold(q[:MAX_SEARCH_LENGTH]).split()[:MAX_SEARCH_WORDS]


def catalogue_statement(filters: CatalogueFilter) -> sa.Select:
    """Published courses matching ``filters``, newest first, with their tags eagerly loaded.

    The search ignores case and diacritics: every folded word of the query must occur in the
    course's folded ``search_text`` (title, summary, convention codes); ``%`` and ``_`` typed by
    the user are matched literally.
    """
    stmt = sa.select(Course).where(Course.status == CourseStatus.PUBLISHED)
    for word in search_words(filters.q):
        stmt = stmt.where(Course.search_text.like(like_pattern(word), escape="\\"))
    if filters.convention:
        stmt = stmt.where(Course.conventions.any(Convention.code == filters.convention))
    if filters.content:
        stmt = stmt.where(Course.contents.any(ContentArea.number == filters.content))
    if filters.audience:
        stmt = stmt.where(Course.audiences.any(CourseAudience.audience == filters.audience))
    return (stmt.options(defer(Course.description_source), defer(Course.description_html))
            .order_by(Course.published_at.desc(), Course.id.desc()))


_COURSE_IDS = sa.bindparam("course_ids", expanding=True)
_TAGS = sa.union_all(
    sa.select(course_conventions.c.course_id, sa.literal("convention"),
              sa.cast(course_conventions.c.convention_id, sa.String))
    .where(course_conventions.c.course_id.in_(_COURSE_IDS)),
    sa.select(course_contents.c.course_id, sa.literal("content"), sa.cast(course_contents.c.content_id, sa.String))
    .where(course_contents.c.course_id.in_(_COURSE_IDS)),
    sa.select(CourseAudience.course_id, sa.literal("audience"), CourseAudience.audience)
    .where(CourseAudience.course_id.in_(_COURSE_IDS)))


def attach_tags(session: Session, courses: list[Course], conventions: list[Convention],
                contents: list[ContentArea]) -> None:
    """Fill ``conventions``, ``contents`` and ``audiences`` of many courses from one statement
    (instead of one per relationship), using the reference rows the page already read. For
    pages that only read the courses."""
    ids = [c.id for c in courses]
    if not ids:
        return
    found: dict[int, dict[str, list]] = {cid: {"convention": [], "content": [], "audience": []} for cid in ids}
    for course_id, kind, value in session.execute(_TAGS, {"course_ids": ids}):
        found[course_id][kind].append(value)
    for course in courses:
        mine = found[course.id]
        set_committed_value(course, "conventions", [c for c in conventions if str(c.id) in mine["convention"]])
        set_committed_value(course, "contents", [c for c in contents if str(c.id) in mine["content"]])
        set_committed_value(course, "audiences", [CourseAudience(course_id=course.id, audience=Audience(v))
                                                  for v in sorted(mine["audience"])])


def catalogue(filters: CatalogueFilter, page: int, conventions: list[Convention], contents: list[ContentArea],
              per_page: int = PER_PAGE) -> Pagination:
    """One page of the catalogue: the page's courses, their tags (one statement, with the
    reference rows the page read) and the total (counted only when the first page is full or a
    later one is asked)."""
    pagination = db.paginate(catalogue_statement(filters), page=page, per_page=per_page, error_out=False,
                             count=False)
    attach_tags(db.session, pagination.items, conventions, contents)
    if pagination.page == 1 and len(pagination.items) < per_page:
        pagination.total = len(pagination.items)
    else:
        pagination.total = db.session.scalar(sa.select(sa.func.count()).select_from(
            catalogue_statement(filters).order_by(None).options().subquery()))
    return pagination


# -- progress, for many enrolments at once --------------------------------------------------

@dataclass(frozen=True)
class Totals:
    """A course's lessons: how many, how many required, and the minutes they take."""

    lessons: int = 0
    required: int = 0
    minutes: int = 0


_REQUIRED_ONE = sa.case((Lesson.required.is_(True), 1), else_=0)
_LESSON_TOTALS = (
    sa.select(Lesson.course_id, sa.func.count(Lesson.id), sa.func.coalesce(sa.func.sum(_REQUIRED_ONE), 0),
              sa.func.coalesce(sa.func.sum(Lesson.minutes), 0))
    .where(Lesson.course_id.in_(_COURSE_IDS)).group_by(Lesson.course_id))


def lesson_totals(session: Session, course_ids: Iterable[int]) -> dict[int, Totals]:
    """Lesson counts of many courses in one statement (``GROUP BY course_id``)."""
    ids = sorted(set(course_ids))
    if not ids:
        return {}
    rows = session.execute(_LESSON_TOTALS, {"course_ids": ids})
    return {course_id: Totals(int(n), int(required), int(minutes)) for course_id, n, required, minutes in rows}


_DONE_COUNTS = (
    sa.select(Lesson.course_id, LessonProgress.person_id, sa.func.count(LessonProgress.id),
              sa.func.coalesce(sa.func.sum(_REQUIRED_ONE), 0))
    .join(Lesson, Lesson.id == LessonProgress.lesson_id)
    .where(Lesson.course_id.in_(_COURSE_IDS), LessonProgress.person_id.in_(sa.bindparam("person_ids", expanding=True)))
    .group_by(Lesson.course_id, LessonProgress.person_id))


def progress_map(session: Session, pairs: Iterable[tuple[int, int]],
                 totals: dict[int, Totals] | None = None) -> dict[tuple[int, int], Progress]:
    """Lesson progress of many ``(course_id, person_id)`` pairs in two statements.

    Only lessons are counted here (the percentage shown in lists); whether an enrolment is
    complete is what its recorded status says.
    """
    pairs = set(pairs)
    if not pairs:
        return {}
    course_ids = sorted({c for c, _ in pairs})
    person_ids = sorted({p for _, p in pairs})
    if totals is None:
        totals = lesson_totals(session, course_ids)
    done_rows = session.execute(_DONE_COUNTS, {"course_ids": course_ids, "person_ids": person_ids})
    done = {(course_id, person_id): (int(n), int(required)) for course_id, person_id, n, required in done_rows}
    result = {}
    for pair in pairs:
        total = totals.get(pair[0], Totals())
        done_total, required_done = done.get(pair, (0, 0))
        result[pair] = Progress(required_total=total.required, required_done=required_done,
                                done_total=done_total, lessons_total=total.lessons)
    return result


@dataclass(frozen=True)
class NextLesson:
    id: int
    course_id: int
    title: str


def _next_lessons_statement() -> sa.Select:
    done = sa.exists().where(LessonProgress.lesson_id == Lesson.id,
                             LessonProgress.person_id == sa.bindparam("person_id"))
    rank = sa.func.row_number().over(partition_by=Lesson.course_id,
                                     order_by=(Section.position, Section.id, Lesson.position, Lesson.id))
    ranked = (sa.select(Lesson.id, Lesson.course_id, Lesson.title, rank.label("rank"))
              .join(Section, Section.id == Lesson.section_id)
              .where(Lesson.course_id.in_(_COURSE_IDS), ~done)
              .subquery())
    return sa.select(ranked.c.id, ranked.c.course_id, ranked.c.title).where(ranked.c.rank == 1)


_NEXT_LESSONS = _next_lessons_statement()


def next_lessons(session: Session, person_id: int, course_ids: Iterable[int]) -> dict[int, NextLesson]:
    """For each course, the first lesson (in syllabus order) ``person_id`` has not done; one statement."""
    ids = sorted(set(course_ids))
    if not ids:
        return {}
    rows = session.execute(_NEXT_LESSONS, {"person_id": person_id, "course_ids": ids})
    return {course_id: NextLesson(lesson_id, course_id, title) for lesson_id, course_id, title in rows}


_ENROLMENTS_IN = sa.select(Enrolment).where(Enrolment.person_id == sa.bindparam("person_id"),
                                            Enrolment.course_id.in_(_COURSE_IDS))


def enrolments_in(session: Session, person_id: int, course_ids: Iterable[int]) -> dict[int, Enrolment]:
    """``person_id``'s enrolments in the given courses (withdrawn ones included), by course id."""
    ids = sorted(set(course_ids))
    if not ids:
        return {}
    rows = session.scalars(_ENROLMENTS_IN, {"person_id": person_id, "course_ids": ids})
    return {e.course_id: e for e in rows}


# -- a course, a lesson, a material ---------------------------------------------------------

@dataclass(frozen=True)
class SyllabusLesson:
    id: int
    title: str
    required: bool
    minutes: int


@dataclass(frozen=True)
class SyllabusSection:
    id: int
    title: str
    lessons: list[SyllabusLesson]


_SYLLABUS = (
    sa.select(Section.id, Section.title, Lesson.id, Lesson.title, Lesson.required, Lesson.minutes)
    .outerjoin(Lesson, Lesson.section_id == Section.id)
    .where(Section.course_id == sa.bindparam("course_id"))
    .order_by(Section.position, Section.id, Lesson.position, Lesson.id))


def syllabus(session: Session, course_id: int) -> list[SyllabusSection]:
    """A course's sections and lessons (titles only), in order, in one statement of plain rows."""
    rows = session.execute(_SYLLABUS, {"course_id": course_id})
    sections: dict[int, SyllabusSection] = {}
    for section_id, section_title, lesson_id, title, required, minutes in rows:
        section = sections.setdefault(section_id, SyllabusSection(section_id, section_title, []))
        if lesson_id is not None:
            section.lessons.append(SyllabusLesson(lesson_id, title, required, minutes))
    return list(sections.values())


_COURSE_PAGE = (sa.select(Course).where(Course.id == sa.bindparam("course_id"))
                .options(defer(Course.description_source), joinedload(Course.owner)))


def course_page(session: Session, course_id: int) -> Course | None:
    """A course with its owner, tags and audiences, in four plain statements (relationship
    loaders such as ``selectinload`` cost several times more Python per page, and this is the
    busiest page of the site); its syllabus is :func:`syllabus`."""
    course = session.scalar(_COURSE_PAGE, {"course_id": course_id})
    if course is None:
        return None
    attach_tags(session, [course], conventions(session), contents(session))
    return course


_DONE_LESSON_IDS = sa.select(LessonProgress.lesson_id).where(
    LessonProgress.course_id == sa.bindparam("course_id"), LessonProgress.person_id == sa.bindparam("person_id"))


def done_lesson_ids(session: Session, person_id: int, course_id: int) -> set[int]:
    return set(session.scalars(_DONE_LESSON_IDS, {"course_id": course_id, "person_id": person_id}))


_LESSON_IN_COURSE = (
    sa.select(Lesson).where(Lesson.id == sa.bindparam("lesson_id"), Lesson.course_id == sa.bindparam("course_id"))
    .options(joinedload(Lesson.section), selectinload(Lesson.materials)))


def lesson_in_course(session: Session, course_id: int, lesson_id: int) -> Lesson | None:
    """The lesson, only if it belongs to ``course_id`` (an id from another course → ``None``)."""
    return session.scalar(_LESSON_IN_COURSE, {"lesson_id": lesson_id, "course_id": course_id})


@dataclass(frozen=True)
class OutlineItem:
    id: int
    title: str
    section_title: str
    required: bool


_OUTLINE = (
    sa.select(Lesson.id, Lesson.title, Section.title, Lesson.required)
    .join(Section, Section.id == Lesson.section_id)
    .where(Lesson.course_id == sa.bindparam("course_id"))
    .order_by(Section.position, Section.id, Lesson.position, Lesson.id))


def outline(session: Session, course_id: int) -> list[OutlineItem]:
    """Every lesson of a course in syllabus order (for previous / next navigation); one statement."""
    rows = session.execute(_OUTLINE, {"course_id": course_id})
    return [OutlineItem(*row) for row in rows]


def material_in_course(session: Session, course_id: int, material_id: int) -> Material | None:
    """The material, only if its lesson belongs to ``course_id``."""
    return session.scalar(
        sa.select(Material).join(Lesson, Lesson.id == Material.lesson_id)
        .where(Material.id == material_id, Lesson.course_id == course_id))


# -- My learning ----------------------------------------------------------------------------

@dataclass(frozen=True)
class LearningRow:
    enrolment: Enrolment
    course: Course
    progress: Progress
    next_lesson: NextLesson | None
    overdue: bool

    @property
    def completed(self) -> bool:
        return self.enrolment.status == EnrolmentStatus.COMPLETED


_MY_ENROLMENTS = (
    sa.select(Enrolment).join(Course, Course.id == Enrolment.course_id)
    .where(Enrolment.person_id == sa.bindparam("person_id"), Enrolment.status != EnrolmentStatus.WITHDRAWN)
    .options(contains_eager(Enrolment.course))
    .order_by(Enrolment.enrolled_at.desc(), Enrolment.id.desc()))


def my_learning(session: Session, person_id: int, today: date) -> list[LearningRow]:
    """The person's active and completed enrolments with progress and next lesson (4 statements).

    Active ones first (soonest due first, then newest), then completed ones (latest first).
    """
    enrolments = list(session.scalars(_MY_ENROLMENTS, {"person_id": person_id}))
    progress = progress_map(session, [(e.course_id, person_id) for e in enrolments])
    active_ids = [e.course_id for e in enrolments if e.status == EnrolmentStatus.ACTIVE]
    upcoming = next_lessons(session, person_id, active_ids)
    rows = [LearningRow(e, e.course, progress[(e.course_id, person_id)], upcoming.get(e.course_id),
                        e.status == EnrolmentStatus.ACTIVE and e.due_on is not None and e.due_on < today)
            for e in enrolments]
    active = sorted((r for r in rows if not r.completed),
                    key=lambda r: (r.enrolment.due_on is None, r.enrolment.due_on or date.max))
    done = sorted((r for r in rows if r.completed), key=lambda r: r.enrolment.completed_at, reverse=True)
    return active + done
