"""Read side of a quiz's results for its trainers: the results list (filter, sort, pages), an
attempt as the trainer reviews it, the essays waiting for a grade, the data of the item analysis,
the Excel export, and the background jobs (export, regrade).

Every read runs a fixed number of statements whatever the number of trainees or attempts: the
list is one aggregated ``SELECT`` (plus its count and one statement for the page's attempts); the
item analysis reads the attempt questions, their versions and their options in three.
"""

from __future__ import annotations

import io
import re
import secrets
import tempfile
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from typing import IO, Any

import sqlalchemy as sa
from flask import url_for
from flask_sqlalchemy.pagination import Pagination
from sqlalchemy.orm import Session

from courses.models import Course, Enrolment, EnrolmentStatus
from lms import jobs, permissions, spreadsheet
from lms.db import utcnow
from lms.errors import PermissionDenied, ServiceError
from lms.i18n import lazy_gettext as _l
from lms.i18n import msgid
from lms.models import Job, Membership, Person, Unit
from lms.spreadsheet import Column
from lms.text import clean, like_pattern, search_terms
from lms.tree import subtree_ids
from quizzes import analysis, grading
from quizzes.models import (
    Attempt,
    AttemptQuestion,
    AttemptState,
    QuestionOption,
    QuestionVersion,
    Quiz,
    QuizGrade,
)

# -- states ---------------------------------------------------------------------------------

NOT_STARTED, IN_PROGRESS, WAITING, PASSED, FAILED = "not_started", "in_progress", "waiting", "passed", "failed"
STATE_LABELS = {
    NOT_STARTED: _l("Chưa làm"),
    IN_PROGRESS: _l("Đang làm"),
    WAITING: _l("Chờ chấm"),
    PASSED: _l("Đạt"),
    FAILED: _l("Không đạt"),
}
SORTS = {
    "name": _l("Họ và tên"),
    "unit": _l("Đơn vị"),
    "grade": _l("Điểm (cao trước)"),
    "finished": _l("Nộp bài gần nhất"),
}
#: Most rows one export writes.
EXPORT_LIMIT = 100_000
#: More finished attempts than this are regraded by a background job.
REGRADE_INLINE_MAX = 200


@dataclass
class ResultFilter:
    q: str = ""
    unit_id: int | None = None
    state: str | None = None
    sort: str = "name"


@dataclass
class ResultRow:
    person_id: int
    full_name: str
    email: str
    unit_name: str | None
    unit_code: str | None
    grade: Decimal | None
    passed: bool
    attempts: int
    state: str
    best: Decimal | None
    last_finished_at: datetime | None
    #: Filled for the rows shown: the last finished attempt's mark, its id and time taken.
    last: Decimal | None = None
    last_attempt_id: int | None = None
    time_taken: timedelta | None = None
    band: str = ""
    attempt_ids: list[int] = field(default_factory=list)


def _bands(quiz: Quiz) -> list[grading.Band]:
    out = []
    for band in quiz.bands or []:
        try:
            out.append(grading.Band(float(band["min"]), str(band["label"])))
        except (KeyError, TypeError, ValueError):
            continue
    return out


def band_of(quiz: Quiz, grade: Decimal | None) -> str:
    return grading.band_of(None if grade is None else float(grade), _bands(quiz))


def _people(quiz: Quiz) -> sa.Subquery:
    """The quiz's trainees: the course's enrolled people (not withdrawn) and anyone who made an
    attempt (a withdrawn trainee's attempts stay visible)."""
    enrolled = sa.select(Enrolment.person_id.label("person_id")).where(
        Enrolment.course_id == quiz.course_id, Enrolment.status != EnrolmentStatus.WITHDRAWN)
    tried = sa.select(Attempt.person_id.label("person_id")).where(Attempt.quiz_id == quiz.id)
    return sa.union(enrolled, tried).subquery("trainees")


def results_select(session: Session, quiz: Quiz, f: ResultFilter) -> sa.Select:
    """One row per trainee of ``quiz`` matching ``f``, with the attempts aggregated in one
    ``GROUP BY`` and the state computed in SQL (so it filters and counts in the database)."""
    people = _people(quiz)
    finished = Attempt.state == AttemptState.FINISHED
    agg = (
        sa.select(Attempt.person_id.label("person_id"),
                  sa.func.count(Attempt.id).label("n"),
                  sa.func.sum(sa.case((Attempt.state == AttemptState.IN_PROGRESS, 1), else_=0)).label("running"),
                  sa.func.sum(sa.case((sa.and_(finished, Attempt.mark.is_(None)), 1), else_=0)).label("waiting"),
                  sa.func.sum(sa.case((finished, 1), else_=0)).label("done"),
                  sa.func.max(sa.case((finished, Attempt.mark), else_=None)).label("best"),
                  sa.func.max(Attempt.finished_at).label("last_at"))
        .where(Attempt.quiz_id == quiz.id).group_by(Attempt.person_id).subquery("agg"))
    running = sa.func.coalesce(agg.c.running, 0)
    waiting = sa.func.coalesce(agg.c.waiting, 0)
    done = sa.func.coalesce(agg.c.done, 0)
    state = sa.case(
        (waiting > 0, WAITING),
        (running > 0, IN_PROGRESS),
        (QuizGrade.passed.is_(True), PASSED),
        (done > 0, FAILED),
        else_=NOT_STARTED).label("state")
    stmt = (
        sa.select(Person.id, Person.full_name, Person.email, Unit.name, Unit.code, QuizGrade.grade,
                  sa.func.coalesce(QuizGrade.passed, False), sa.func.coalesce(agg.c.n, 0), state, agg.c.best,
                  agg.c.last_at)
        .select_from(people)
        .join(Person, Person.id == people.c.person_id)
        .outerjoin(Membership, sa.and_(Membership.person_id == Person.id, Membership.valid_to.is_(None)))
        .outerjoin(Unit, Unit.id == Membership.unit_id)
        .outerjoin(agg, agg.c.person_id == Person.id)
        .outerjoin(QuizGrade, sa.and_(QuizGrade.quiz_id == quiz.id, QuizGrade.person_id == Person.id))
    )
    for term in search_terms(f.q):
        stmt = stmt.where(Person.search_text.like(like_pattern(term), escape="\\"))
    if f.unit_id is not None:
        stmt = stmt.where(Membership.unit_id.in_(sorted(subtree_ids(session, f.unit_id))))
    if f.state in STATE_LABELS:
        stmt = stmt.where(state == f.state)
    if f.sort == "unit":
        stmt = stmt.order_by(Unit.name.is_(None), Unit.name, Person.sort_key, Person.id)
    elif f.sort == "grade":
        stmt = stmt.order_by(QuizGrade.grade.is_(None), QuizGrade.grade.desc(), Person.sort_key, Person.id)
    elif f.sort == "finished":
        stmt = stmt.order_by(agg.c.last_at.is_(None), agg.c.last_at.desc(), Person.sort_key, Person.id)
    else:
        stmt = stmt.order_by(Person.sort_key, Person.id)
    return stmt


def _row(raw) -> ResultRow:
    person_id, name, email, unit_name, unit_code, grade, passed, n, state, best, last_at = raw
    if best is not None and not isinstance(best, Decimal):
        best = Decimal(str(best)).quantize(Decimal("0.01"))
    return ResultRow(person_id, name, email, unit_name, unit_code, grade, bool(passed), int(n or 0), state, best,
                     last_at)


def _hydrate(session: Session, quiz: Quiz, rows: list[ResultRow]) -> list[ResultRow]:
    """The last finished attempt's mark and duration, and every attempt's id, for ``rows``
    (one statement)."""
    if not rows:
        return rows
    by_person: dict[int, list[Attempt]] = defaultdict(list)
    for attempt in session.scalars(sa.select(Attempt).where(
            Attempt.quiz_id == quiz.id, Attempt.person_id.in_([r.person_id for r in rows]))
            .order_by(Attempt.person_id, Attempt.number)):
        by_person[attempt.person_id].append(attempt)
    for row in rows:
        attempts = by_person.get(row.person_id, [])
        row.attempt_ids = [a.id for a in attempts]
        finished = [a for a in attempts if a.state == AttemptState.FINISHED]
        if finished:
            last = finished[-1]
            row.last, row.last_attempt_id = last.mark, last.id
            row.time_taken = last.finished_at - last.started_at if last.finished_at else None
        elif attempts:
            row.last_attempt_id = attempts[-1].id
        row.band = band_of(quiz, row.grade)
    return rows


class ResultPage(Pagination):
    """A page of :class:`ResultRow` (the pager macro's interface)."""

    def _query_items(self) -> list[ResultRow]:
        args = self._query_args
        raw = args["session"].execute(args["select"].limit(self.per_page).offset(self._query_offset))
        return _hydrate(args["session"], args["quiz"], [_row(r) for r in raw])

    def _query_count(self) -> int:
        args = self._query_args
        return args["session"].scalar(sa.select(sa.func.count()).select_from(
            args["select"].order_by(None).subquery()))


def results_page(session: Session, quiz: Quiz, f: ResultFilter, page: int, per_page: int = 50) -> ResultPage:
    return ResultPage(page=page, per_page=per_page, max_per_page=200, error_out=False, session=session,
                      select=results_select(session, quiz, f), quiz=quiz)


def result_rows(session: Session, quiz: Quiz, f: ResultFilter, limit: int = EXPORT_LIMIT,
                chunk: int = 500) -> Iterator[ResultRow]:
    """Every matching row, hydrated a chunk at a time (for the export)."""
    batch: list[ResultRow] = []
    for raw in session.execute(results_select(session, quiz, f).limit(limit)):
        batch.append(_row(raw))
        if len(batch) >= chunk:
            yield from _hydrate(session, quiz, batch)
            batch = []
    yield from _hydrate(session, quiz, batch)


def state_counts(session: Session, quiz: Quiz) -> dict[str, int]:
    stmt = results_select(session, quiz, ResultFilter()).order_by(None).subquery()
    counts = dict(session.execute(sa.select(stmt.c.state, sa.func.count()).group_by(stmt.c.state)).all())
    return {state: int(counts.get(state, 0)) for state in STATE_LABELS}


def finished_count(session: Session, quiz: Quiz) -> int:
    return session.scalar(sa.select(sa.func.count()).select_from(Attempt).where(
        Attempt.quiz_id == quiz.id, Attempt.state == AttemptState.FINISHED)) or 0


# -- one attempt, as a trainer reviews it ---------------------------------------------------

@dataclass
class OptionView:
    id: int
    letter: str
    text: str
    text_format: str
    fraction: float
    match: str
    chosen: bool
    right: bool


@dataclass
class QuestionView:
    row: AttemptQuestion
    version: QuestionVersion
    options: list[OptionView]
    value: Any
    #: Marks earned (None: not graded yet) of :attr:`max_mark`.
    earned: Decimal | None
    max_mark: Decimal
    #: The key used when it was regraded against a corrected version (its number), else None.
    key_number: int | None = None


def _value(aq: AttemptQuestion):
    return aq.response.get("value") if isinstance(aq.response, dict) else None


def attempt_view(session: Session, attempt: Attempt) -> list[QuestionView]:
    """The attempt's questions with the response, the key and the marks (three statements)."""
    rows = list(session.scalars(sa.select(AttemptQuestion).where(AttemptQuestion.attempt_id == attempt.id)
                                .order_by(AttemptQuestion.position)))
    ids = {aq.version_id for aq in rows} | {aq.key_version_id for aq in rows if aq.key_version_id}
    versions = {v.id: v for v in session.scalars(sa.select(QuestionVersion).where(QuestionVersion.id.in_(ids)))}
    options: dict[int, list[QuestionOption]] = defaultdict(list)
    for option in session.scalars(sa.select(QuestionOption).where(QuestionOption.version_id.in_(ids))
                                  .order_by(QuestionOption.version_id, QuestionOption.position)):
        options[option.version_id].append(option)
    out = []
    for aq in rows:
        version = versions[aq.version_id]
        shown = options[aq.version_id]
        key_options = options[aq.key_version_id] if aq.key_version_id else shown
        # The corrected key's fractions, matched by position (as regrading does).
        fractions = {o.id: float(k.fraction) for o, k in zip(shown, key_options, strict=False)}
        value = _value(aq)
        chosen = set()
        if isinstance(value, list):
            chosen = {v for v in value if isinstance(v, int)}
        elif isinstance(value, int) and not isinstance(value, bool):
            chosen = {value}
        order = {oid: n for n, oid in enumerate(aq.option_order or [])}
        if str(version.type) in ("single_choice", "multiple_response", "true_false"):
            listed = sorted(shown, key=lambda o: order.get(o.id, len(order) + o.position))
        else:
            listed = shown
        best = max(fractions.values(), default=0.0)
        views = []
        for position, o in enumerate(listed):  # lettered in the order the trainee saw them
            fraction = fractions.get(o.id, 0.0)
            right = fraction > 0 if str(version.type) == "multiple_response" else (best > 0 and fraction == best)
            views.append(OptionView(o.id, analysis.option_letter(position), o.text, str(o.text_format), fraction,
                                    o.match, o.id in chosen, right))
        earned = None if aq.fraction is None else (aq.fraction * aq.max_mark).quantize(Decimal("0.01"))
        key_number = versions[aq.key_version_id].number if aq.key_version_id else None
        out.append(QuestionView(aq, version, views, value, earned, aq.max_mark, key_number))
    return out


# -- essays waiting for a grade -------------------------------------------------------------

@dataclass
class WaitingEssay:
    row: AttemptQuestion
    attempt: Attempt
    version: QuestionVersion
    person_name: str
    unit_name: str | None


def waiting_essays(session: Session, quiz: Quiz, limit: int = 200) -> tuple[list[WaitingEssay], int]:
    """Finished attempts' essays with no grade yet, oldest submission first, and how many in all."""
    where = (Attempt.quiz_id == quiz.id, Attempt.state == AttemptState.FINISHED, AttemptQuestion.fraction.is_(None))
    base = (sa.select(AttemptQuestion, Attempt, QuestionVersion, Person.full_name, Unit.name)
            .join(Attempt, Attempt.id == AttemptQuestion.attempt_id)
            .join(QuestionVersion, QuestionVersion.id == AttemptQuestion.version_id)
            .join(Person, Person.id == Attempt.person_id)
            .outerjoin(Membership, sa.and_(Membership.person_id == Person.id, Membership.valid_to.is_(None)))
            .outerjoin(Unit, Unit.id == Membership.unit_id)
            .where(*where)
            .order_by(Attempt.finished_at, Attempt.id, AttemptQuestion.position))
    total = session.scalar(sa.select(sa.func.count()).select_from(AttemptQuestion)
                           .join(Attempt, Attempt.id == AttemptQuestion.attempt_id).where(*where)) or 0
    return [WaitingEssay(*row) for row in session.execute(base.limit(limit))], total


# -- item analysis --------------------------------------------------------------------------

@dataclass
class ItemOption:
    letter: str
    text: str
    text_format: str
    right: bool
    count: int
    share: float


@dataclass
class Item:
    question_id: int
    position: int
    name: str
    type: str
    versions: list[int]
    stats: analysis.ItemStats
    options: list[ItemOption]


def item_analysis(session: Session, quiz: Quiz) -> list[Item]:
    """The analysis of every question the quiz's finished attempts showed, in the order they
    were first shown; three statements (attempt questions, versions, options)."""
    rows = session.execute(
        sa.select(AttemptQuestion.attempt_id, AttemptQuestion.version_id, AttemptQuestion.key_version_id,
                  AttemptQuestion.position, AttemptQuestion.fraction, AttemptQuestion.max_mark,
                  AttemptQuestion.response)
        .join(Attempt, Attempt.id == AttemptQuestion.attempt_id)
        .where(Attempt.quiz_id == quiz.id, Attempt.state == AttemptState.FINISHED)
        .order_by(AttemptQuestion.attempt_id, AttemptQuestion.position)).all()
    if not rows:
        return []
    ids = {r.version_id for r in rows} | {r.key_version_id for r in rows if r.key_version_id}
    versions = {v.id: v for v in session.scalars(sa.select(QuestionVersion).where(QuestionVersion.id.in_(ids)))}
    options: dict[int, list[QuestionOption]] = defaultdict(list)
    for option in session.scalars(sa.select(QuestionOption).where(QuestionOption.version_id.in_(ids))
                                  .order_by(QuestionOption.version_id, QuestionOption.position)):
        options[option.version_id].append(option)
    responses = []
    first_position: dict[int, tuple[float, int]] = {}
    shown_versions: dict[int, set[int]] = defaultdict(set)
    for r in rows:
        version = versions[r.version_id]
        qid = version.question_id
        shown_versions[qid].add(version.number)
        position_of = {o.id: n for n, o in enumerate(options[r.version_id])}
        value = r.response.get("value") if isinstance(r.response, dict) else None
        picked = value if isinstance(value, list) else [value]
        chosen = tuple(sorted({position_of[v] for v in picked
                               if isinstance(v, int) and not isinstance(v, bool) and v in position_of}))
        responses.append(analysis.Response(r.attempt_id, qid, None if r.fraction is None else float(r.fraction),
                                           float(r.max_mark), chosen, blank=value in (None, "", [], {})))
        first_position.setdefault(qid, (r.position, r.attempt_id))
    stats = analysis.analyse(responses)
    latest = {}
    for version in versions.values():
        if version.id in {r.version_id for r in rows}:
            if version.question_id not in latest or version.number > latest[version.question_id].number:
                latest[version.question_id] = version
    items = []
    for qid, item_stats in stats.items():
        version = latest[qid]
        choice = str(version.type) in ("single_choice", "multiple_response", "true_false")
        best = max((float(o.fraction) for o in options[version.id]), default=0.0)
        opts = []
        if choice:
            for n, option in enumerate(options[version.id]):
                count = item_stats.options.get(n, 0)
                right = float(option.fraction) > 0 if str(version.type) == "multiple_response" else \
                    (best > 0 and float(option.fraction) == best)
                opts.append(ItemOption(analysis.option_letter(n), option.text, str(option.text_format), right, count,
                                       count / item_stats.attempts if item_stats.attempts else 0.0))
        items.append(Item(qid, first_position[qid][0], version.name, str(version.type),
                          sorted(shown_versions[qid]), item_stats, opts))
    items.sort(key=lambda i: (i.position, i.question_id))
    return items


# -- the Excel export -----------------------------------------------------------------------

XLSX_MIMETYPE = spreadsheet.XLSX_MIMETYPE
EXPORT_COLUMNS = tuple(Column(key, header, width=width) for key, header, width in (
    ("n", "STT", 6), ("full_name", "Họ và tên", 28), ("email", "Thư điện tử", 30), ("unit", "Đơn vị", 32),
    ("unit_code", "Mã đơn vị", 12), ("attempts", "Số lần làm", 10), ("grade", "Điểm", 10),
    ("best", "Điểm cao nhất", 12), ("last", "Điểm lần cuối", 12), ("result", "Kết quả", 12),
    ("band", "Xếp loại", 14), ("state", "Trạng thái", 14), ("time", "Thời gian làm bài (phút)", 14),
    ("finished_at", "Nộp bài lúc", 18)))


def export_filename(quiz: Quiz) -> str:
    title = re.sub(r'[\\/:*?"<>|]', "_", clean(quiz.title))[:120].strip(" .") or str(quiz.id)
    return f"Kết quả - {title}.xlsx"


def _number(value: Decimal | None):
    return None if value is None else float(value)


def build_export(session: Session, quiz: Quiz, f: ResultFilter, target: IO[bytes] | None = None,
                 progress=None) -> bytes | int:
    """The results (filtered by ``f``) as an .xlsx with the official header, streamed row by row."""
    buffer = target if target is not None else io.BytesIO()
    if progress is not None:
        progress.start(None)
    course = session.get(Course, quiz.course_id)
    with spreadsheet.SheetWriter(buffer, EXPORT_COLUMNS, sheet_name="Kết quả",
                                 title=f"Kết quả bài kiểm tra: {quiz.title}",
                                 subtitle=f"Khóa học: {course.title}" if course else None,
                                 header=spreadsheet.OfficialHeader.configured()) as out:
        for n, row in enumerate(result_rows(session, quiz, f), start=1):
            graded = row.attempts and row.state not in (NOT_STARTED, IN_PROGRESS, WAITING)
            result = msgid(_l("Đạt")) if row.passed else (msgid(_l("Không đạt")) if graded else "")
            minutes = None if row.time_taken is None else round(row.time_taken.total_seconds() / 60, 1)
            out.row([n, row.full_name, row.email, row.unit_name, row.unit_code, row.attempts, _number(row.grade),
                     _number(row.best), _number(row.last), result, row.band, msgid(STATE_LABELS[row.state]),
                     minutes, row.last_finished_at])
            if progress is not None:
                progress.advance()
    return out.rows_written if target is not None else buffer.getvalue()


# -- background jobs ------------------------------------------------------------------------

def _quiz(ctx: jobs.Context) -> Quiz:
    quiz = ctx.session.get(Quiz, ctx.params.get("quiz_id"))
    if quiz is None:
        raise ServiceError(_l("Bài kiểm tra không còn tồn tại."))
    return quiz


def _title(job: Job, label) -> Any:
    return _l("%(what)s: %(quiz)s", what=label, quiz=(job.params or {}).get("quiz_title", ""))


def _may_download(session, actor, job: Job) -> bool:
    quiz = session.get(Quiz, (job.params or {}).get("quiz_id"))
    return quiz is not None and permissions.can(session, actor, "quiz.manage", quiz)


def _back(job: Job):
    return url_for("quizzes.results", quiz_id=job.params["quiz_id"]), _l("Về kết quả bài kiểm tra")


@jobs.kind("quizzes.results_export", may_download=_may_download,
           title=lambda job: _title(job, _l("Xuất kết quả bài kiểm tra")),
           summary=lambda job: _l("Đã xuất %(n)s học viên.", n=(job.result or {}).get("rows", 0)),
           next_step=_back)
def export_results(ctx: jobs.Context) -> dict[str, Any]:
    quiz = _quiz(ctx)
    if not permissions.can(ctx.session, ctx.actor, "quiz.manage", quiz):
        raise PermissionDenied(_l("Bạn không có quyền xem kết quả bài kiểm tra này."))
    params = ctx.params
    f = ResultFilter(q=params.get("q") or "", unit_id=params.get("unit_id"), state=params.get("state"),
                     sort=params.get("sort") or "name")
    key = f"exports/{secrets.token_hex(2)}/{secrets.token_urlsafe(24)}.xlsx"
    from lms.storage import get_storage, track_new

    with tempfile.TemporaryFile() as spool:
        rows = build_export(ctx.session, quiz, f, target=spool, progress=ctx.progress)
        spool.seek(0)
        get_storage().put(key, spool, XLSX_MIMETYPE)
    track_new(ctx.session, key)
    ctx.job.output_key, ctx.job.output_type = key, XLSX_MIMETYPE
    ctx.job.output_name = export_filename(quiz)
    return {"rows": rows}


def submit_export(session: Session, actor, quiz: Quiz, f: ResultFilter, *, locale: str | None = None) -> Job:
    if not permissions.can(session, actor, "quiz.manage", quiz):
        raise PermissionDenied(_l("Bạn không có quyền xem kết quả bài kiểm tra này."))
    jobs.cleanup_outputs(session, utcnow())
    return jobs.submit(session, actor, "quizzes.results_export", {
        "quiz_id": quiz.id, "quiz_title": quiz.title, "q": f.q, "unit_id": f.unit_id, "state": f.state,
        "sort": f.sort}, locale=locale)


@jobs.kind("quizzes.regrade",
           title=lambda job: _title(job, _l("Chấm lại bài kiểm tra")),
           summary=lambda job: _l("Đã chấm lại %(n)s bài làm.", n=(job.result or {}).get("attempts", 0)),
           next_step=_back)
def regrade_job(ctx: jobs.Context) -> dict[str, Any]:
    from quizzes import attempts

    quiz = _quiz(ctx)
    return {"attempts": attempts.regrade(ctx.session, ctx.actor, quiz, ctx.job.created_at)}


def submit_regrade(session: Session, actor, quiz: Quiz, *, locale: str | None = None) -> Job:
    if not permissions.can(session, actor, "quiz.manage", quiz):
        raise PermissionDenied(_l("Bạn không được chấm lại bài kiểm tra này."))
    return jobs.submit(session, actor, "quizzes.regrade", {"quiz_id": quiz.id, "quiz_title": quiz.title},
                       locale=locale)
