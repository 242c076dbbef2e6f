"""Read side of enrolment: a course's learners with their progress, for the list and the export.

Everything here reads; the writes are in :mod:`courses.services`. The list runs a bounded number
of queries whatever the number of learners: the rows (with progress aggregated by one
``GROUP BY`` subquery), their count, and the course's lessons.

Who sees whom: the course's editors (and administrators) see every learner; a unit administrator
sees only the people currently in their subtree.
"""

from __future__ import annotations

import io
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import date, datetime
from typing import IO

import sqlalchemy as sa
from flask_sqlalchemy.pagination import Pagination
from sqlalchemy.orm import Session

from courses import completion
from courses.models import Course, Enrolment, EnrolmentSource, EnrolmentStatus, Lesson, LessonProgress
from lms import permissions, spreadsheet
from lms.i18n import lazy_gettext as _l
from lms.i18n import msgid
from lms.labels import EMPLOYMENT_LABELS, TITLE_SHORT
from lms.models import EmploymentType, KeyCadrePeriod, LegalTitle, Membership, Person, TitleKind, Unit
from lms.spreadsheet import Column
from lms.text import clean, email_key, like_pattern, search_terms
from lms.tree import subtree_ids

SOURCE_LABELS = {
    EnrolmentSource.SELF: _l("Tự đăng ký học"),
    EnrolmentSource.INDIVIDUAL: _l("Ghi danh từng người"),
    EnrolmentSource.UNIT: _l("Theo đơn vị"),
    EnrolmentSource.CATEGORY: _l("Theo đối tượng"),
    EnrolmentSource.KEY_CADRES: _l("Cán bộ chủ chốt"),
    EnrolmentSource.IMPORT: _l("Từ tệp danh sách"),
}

STATUS_LABELS = {
    EnrolmentStatus.ACTIVE: _l("Đang học"),
    EnrolmentStatus.COMPLETED: _l("Đã hoàn thành"),
    EnrolmentStatus.WITHDRAWN: _l("Đã rút tên"),
}

#: The one column an e-mail list for enrolment needs (other columns are ignored).
EMAIL_LIST = (Column("email", "Thư điện tử", _l("Thư điện tử"),
                     ("email", "e-mail", "email address", "mail", "địa chỉ thư điện tử"), required=True),)

#: Most people one search shows on the enrolment page.
SEARCH_LIMIT = 50
#: Most rows one export writes (a province has far fewer learners per course).
EXPORT_LIMIT = 100_000


# -- scope ----------------------------------------------------------------------------------

def scope_of(session: Session, actor: Person, course: Course) -> set[int] | None:
    """Units whose people ``actor`` may enrol in / see in ``course``: ``ALL`` (None) for the
    course's editors and administrators, else the units they manage."""
    if permissions.can(session, actor, "course.edit", course):
        return permissions.ALL
    return permissions.managed_unit_ids(session, actor)


def _in_scope(scope: set[int] | None, unit_column) -> sa.ColumnElement[bool]:
    if scope is permissions.ALL:
        return sa.true()
    return unit_column.in_(sorted(scope)) if scope else sa.false()


def visible_enrolment(session: Session, actor: Person, course: Course, enrolment: Enrolment) -> bool:
    """May ``actor`` see this learner of ``course`` (listed, withdrawn)?"""
    scope = scope_of(session, actor, course)
    if scope is permissions.ALL:
        return True
    unit_id = session.scalar(sa.select(Membership.unit_id).where(Membership.person_id == enrolment.person_id,
                                                                 Membership.valid_to.is_(None)))
    return unit_id is not None and unit_id in scope


# -- the learners list ----------------------------------------------------------------------

@dataclass
class LearnerFilter:
    q: str = ""
    unit_id: int | None = None
    status: EnrolmentStatus | None = None


@dataclass
class LearnerRow:
    enrolment_id: int
    person_id: int
    full_name: str
    email: str
    employment_type: EmploymentType | None
    #: Titles of legal dissemination held now (abbreviated: BCVPL, TTVPL).
    titles: tuple[TitleKind, ...]
    key_cadre: bool
    unit_name: str | None
    unit_code: str | None
    source: EnrolmentSource
    status: EnrolmentStatus
    due_on: date | None
    enrolled_at: datetime | None
    completed_at: datetime | None
    progress: completion.Progress

    @property
    def percent(self) -> int:
        return self.progress.percent

    def overdue(self, today: date) -> bool:
        return self.status == EnrolmentStatus.ACTIVE and self.due_on is not None and self.due_on < today


@dataclass(frozen=True)
class LessonTotals:
    lessons: int
    required: int


def lesson_totals(session: Session, course: Course) -> LessonTotals:
    row = session.execute(sa.select(sa.func.count(Lesson.id),
                                    sa.func.coalesce(sa.func.sum(sa.case((Lesson.required.is_(True), 1), else_=0)), 0))
                          .where(Lesson.course_id == course.id)).one()
    return LessonTotals(int(row[0] or 0), int(row[1] or 0))


def learners_select(session: Session, actor: Person, course: Course, f: LearnerFilter) -> sa.Select:
    """One row per enrolment of ``course`` that ``actor`` may see and that matches ``f``, with
    the person's current unit and the lessons done (aggregated in one ``GROUP BY``)."""
    done = (
        sa.select(LessonProgress.person_id.label("person_id"),
                  sa.func.count(LessonProgress.id).label("done_total"),
                  sa.func.sum(sa.case((Lesson.required.is_(True), 1), else_=0)).label("required_done"))
        .join(Lesson, Lesson.id == LessonProgress.lesson_id)
        .where(LessonProgress.course_id == course.id, Lesson.course_id == course.id)
        .group_by(LessonProgress.person_id)
        .subquery("done")
    )
    key_cadre = sa.exists().where(KeyCadrePeriod.person_id == Person.id, KeyCadrePeriod.valid_to.is_(None))
    reporter, propagandist = (sa.exists().where(LegalTitle.person_id == Person.id, LegalTitle.kind == kind,
                                                LegalTitle.valid_to.is_(None))
                              for kind in (TitleKind.LEGAL_REPORTER, TitleKind.LEGAL_PROPAGANDIST))
    stmt = (
        sa.select(Enrolment.id, Enrolment.person_id, Person.full_name, Person.email, Person.employment_type,
                  reporter.label("reporter"), propagandist.label("propagandist"), key_cadre.label("key_cadre"), Unit.name, Unit.code, Enrolment.source, Enrolment.status,
                  Enrolment.due_on, Enrolment.enrolled_at, Enrolment.completed_at,
                  sa.func.coalesce(done.c.required_done, 0), sa.func.coalesce(done.c.done_total, 0))
        .select_from(Enrolment)
        .join(Person, Person.id == Enrolment.person_id)
        .outerjoin(Membership, sa.and_(Membership.person_id == Person.id, Membership.valid_to.is_(None)))
        .outerjoin(Unit, Unit.id == Membership.unit_id)
        .outerjoin(done, done.c.person_id == Enrolment.person_id)
        .where(Enrolment.course_id == course.id)
        .where(_in_scope(scope_of(session, actor, course), Membership.unit_id))
        .order_by(Person.sort_key, Person.id)
    )
    for term in search_terms(f.q):
        stmt = stmt.where(Person.search_text.like(like_pattern(term), escape="\\"))
    if f.unit_id is not None:
        stmt = stmt.where(Membership.unit_id.in_(sorted(subtree_ids(session, f.unit_id))))
    if f.status is not None:
        stmt = stmt.where(Enrolment.status == f.status)
    return stmt


def _row(raw, totals: LessonTotals) -> LearnerRow:
    (enrolment_id, person_id, full_name, email, employment_type, reporter, propagandist, key_cadre, unit_name,
     unit_code, source, status, due_on,
     enrolled_at, completed_at, required_done, done_total) = raw
    progress = completion.Progress(required_total=totals.required, required_done=min(int(required_done or 0),
                                                                                     totals.required),
                                   done_total=min(int(done_total or 0), totals.lessons), lessons_total=totals.lessons)
    titles = tuple(kind for kind, held in ((TitleKind.LEGAL_REPORTER, reporter),
                                           (TitleKind.LEGAL_PROPAGANDIST, propagandist)) if held)
    return LearnerRow(enrolment_id, person_id, full_name, email, employment_type, titles, bool(key_cadre), unit_name,
                      unit_code,
                      source, status, due_on, enrolled_at, completed_at, progress)


class LearnerPage(Pagination):
    """A page of :class:`LearnerRow` (the pager macro's interface)."""

    def _query_items(self) -> list[LearnerRow]:
        args = self._query_args
        rows = args["session"].execute(args["select"].limit(self.per_page).offset(self._query_offset))
        return [_row(r, args["totals"]) for r in rows]

    def _query_count(self) -> int:
        args = self._query_args
        return args["session"].scalar(sa.select(sa.func.count()).select_from(
            args["select"].order_by(None).subquery()))


def learners_page(session: Session, actor: Person, course: Course, f: LearnerFilter, page: int,
                  per_page: int = 50) -> LearnerPage:
    totals = lesson_totals(session, course)
    return LearnerPage(page=page, per_page=per_page, max_per_page=200, error_out=False, session=session,
                       select=learners_select(session, actor, course, f), totals=totals)


def learner_rows(session: Session, actor: Person, course: Course, f: LearnerFilter,
                 limit: int = EXPORT_LIMIT) -> Iterator[LearnerRow]:
    totals = lesson_totals(session, course)
    for raw in session.execute(learners_select(session, actor, course, f).limit(limit)):
        yield _row(raw, totals)


# -- choosing people to enrol ---------------------------------------------------------------

def enrolled_ids(session: Session, course: Course, person_ids: Iterable[int]) -> dict[int, EnrolmentStatus]:
    ids = sorted(set(person_ids))
    if not ids:
        return {}
    return dict(session.execute(sa.select(Enrolment.person_id, Enrolment.status).where(
        Enrolment.course_id == course.id, Enrolment.person_id.in_(ids))).all())


@dataclass
class ListProblem:
    row: int
    email: str
    message: object


@dataclass
class EmailList:
    """The people an e-mail list names: who can be enrolled, and what is wrong with the rest."""

    person_ids: list[int]
    problems: list[ListProblem]
    rows: int


_SHOW = 80


def _cell(value) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return "" if value != value else str(value)  # NaN is an empty cell
    return clean(str(value))


def people_from_emails(session: Session, actor: Person, course: Course,
                       rows: Iterable[tuple[int, str]]) -> EmailList:
    """Resolve ``(row number, e-mail)`` pairs: unknown addresses, locked accounts and people
    outside ``actor``'s scope are reported by row (the service refuses them again anyway)."""
    wanted: list[tuple[int, str, str]] = []
    problems: list[ListProblem] = []
    count = 0
    for number, value in rows:
        count += 1
        text = _cell(value)
        shown = text[:_SHOW]
        if not text:
            problems.append(ListProblem(number, "", _l("Thiếu địa chỉ thư điện tử.")))
            continue
        if "@" not in text or len(text) > 254:
            problems.append(ListProblem(number, shown, _l("Địa chỉ thư điện tử không hợp lệ.")))
            continue
        wanted.append((number, shown, email_key(text)))
    keys = sorted({key for _, _, key in wanted})
    found: dict[str, tuple[int, bool, int | None]] = {}
    for start in range(0, len(keys), 500):
        chunk = keys[start:start + 500]
        stmt = (sa.select(Person.email_key, Person.id, Person.active, Membership.unit_id)
                .outerjoin(Membership, sa.and_(Membership.person_id == Person.id, Membership.valid_to.is_(None)))
                .where(Person.email_key.in_(chunk)))
        for key, person_id, active, unit_id in session.execute(stmt):
            found[key] = (person_id, active, unit_id)
    scope = scope_of(session, actor, course)
    ids: list[int] = []
    seen: set[int] = set()
    for number, shown, key in wanted:
        hit = found.get(key)
        if hit is None:
            problems.append(ListProblem(number, shown, _l("Không có người dùng nào với thư điện tử này.")))
            continue
        person_id, active, unit_id = hit
        if scope is not permissions.ALL and (unit_id is None or unit_id not in scope):
            problems.append(ListProblem(number, shown, _l("Người này không thuộc đơn vị bạn quản lý.")))
            continue
        if not active:
            problems.append(ListProblem(number, shown, _l("Tài khoản đã bị khóa.")))
            continue
        if person_id not in seen:
            seen.add(person_id)
            ids.append(person_id)
    problems.sort(key=lambda p: p.row)
    return EmailList(ids, problems, count)


# -- the export -----------------------------------------------------------------------------

XLSX_MIMETYPE = spreadsheet.XLSX_MIMETYPE

EXPORT_COLUMNS = tuple(Column(key, header, width=width) for key, header, width in (
    ("n", "STT", 6), ("full_name", "Họ và tên", 28), ("email", "Thư điện tử", 30), ("unit", "Đơn vị", 32),
    ("unit_code", "Mã đơn vị", 12), ("employment", "Đối tượng", 20), ("titles", "Chức danh PBGDPL", 16),
    ("key_cadre", "Cán bộ chủ chốt", 14),
    ("source", "Hình thức ghi danh", 20), ("status", "Trạng thái", 14), ("due_on", "Hạn hoàn thành", 14),
    ("required", "Bài bắt buộc đã học", 16), ("percent", "Tiến độ (%)", 11), ("enrolled_at", "Ngày ghi danh", 18),
    ("completed_at", "Hoàn thành lúc", 18)))
HEADERS = tuple(c.header for c in EXPORT_COLUMNS)


def export_filename(course: Course) -> str:
    """``Học viên - <course title>.xlsx``: Vietnamese kept, characters file systems refuse removed."""
    title = re.sub(r'[\\/:*?"<>|]', "_", clean(course.title))[:120].strip(" .") or str(course.id)
    return f"Học viên - {title}.xlsx"


def build_export(session: Session, actor: Person, course: Course, f: LearnerFilter,
                 target: IO[bytes] | None = None, progress=None) -> bytes | int:
    """The learners of ``course`` (as ``actor`` may see them, filtered by ``f``) as an .xlsx with
    the official header, streamed row by row: into ``target`` (returns the number of rows), or
    returned as bytes."""
    buffer = target if target is not None else io.BytesIO()
    if progress is not None:
        progress.start(None)
    with spreadsheet.SheetWriter(buffer, EXPORT_COLUMNS, sheet_name="Học viên",
                                 title=f"Danh sách học viên: {course.title}",
                                 header=spreadsheet.OfficialHeader.configured()) as out:
        for n, learner in enumerate(learner_rows(session, actor, course, f), start=1):
            progress_ = learner.progress
            out.row([n, learner.full_name, learner.email, learner.unit_name, learner.unit_code,
                     msgid(EMPLOYMENT_LABELS[learner.employment_type]) if learner.employment_type else "",
                     ", ".join(msgid(TITLE_SHORT[t]) for t in learner.titles), learner.key_cadre,
                     msgid(SOURCE_LABELS[learner.source]), msgid(STATUS_LABELS[learner.status]), learner.due_on,
                     f"{progress_.required_done}/{progress_.required_total}", learner.percent,
                     learner.enrolled_at, learner.completed_at])
            if progress is not None:
                progress.advance()
    return out.rows_written if target is not None else buffer.getvalue()


def count_learners(session: Session, actor: Person, course: Course, f: LearnerFilter) -> int:
    return session.scalar(sa.select(sa.func.count()).select_from(
        learners_select(session, actor, course, f).order_by(None).subquery())) or 0
