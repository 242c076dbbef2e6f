"""The attempt lifecycle, enforced on the server: start, save answers, finish (idempotent),
close when the time is up, grade, and keep each person's quiz grade current.

Every function takes the session, the acting person and ``now``; it flushes and never commits.
Starting and finishing run a fixed number of SQL statements whatever the number of questions
(the benchmark and a test count them).

Parallel requests: two starts race for the same attempt number and the same "one attempt in
progress" slot (unique constraints): one wins, the other gets the winner's attempt. Two finishes
race for one conditional UPDATE: only the request that moved the attempt out of "in progress"
grades it, the others read the result.
"""

from __future__ import annotations

import random
from collections import defaultdict
from collections.abc import Mapping
from datetime import datetime
from decimal import Decimal

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from lms import audit, permissions
from lms.actors import Actor, is_system
from lms.errors import PermissionDenied, ServiceError
from lms.i18n import lazy_gettext as _l
from lms.text import nfc
from quizzes import grading, rules
from quizzes.models import (
    Attempt,
    AttemptQuestion,
    AttemptState,
    Question,
    QuestionCategory,
    QuestionOption,
    QuestionVersion,
    Quiz,
    QuizGrade,
    QuizSlot,
    SlotKind,
    draw_pool,
    question_conventions,
)

#: Longest text answer kept (characters): short answers and numbers, and essays.
MAX_SHORT = 1000
MAX_ESSAY = 50_000
CHOICE_TYPES = ("single_choice", "multiple_response", "true_false")


class AttemptClosed(ServiceError):
    """The attempt is finished (or its time ran out): nothing more is taken."""


# -- reading --------------------------------------------------------------------------------


def in_progress(session: Session, quiz: Quiz, person_id: int) -> Attempt | None:
    return session.scalar(sa.select(Attempt).where(Attempt.quiz_id == quiz.id, Attempt.person_id == person_id,
                                                   Attempt.state == AttemptState.IN_PROGRESS))


def attempts_of(session: Session, quiz: Quiz, person_id: int) -> list[Attempt]:
    return list(session.scalars(sa.select(Attempt).where(Attempt.quiz_id == quiz.id, Attempt.person_id == person_id)
                                .order_by(Attempt.number)))


def _keys(session: Session, version_ids) -> dict[int, tuple[QuestionVersion, grading.QuestionKey]]:
    """Versions with their grading keys, in two statements."""
    versions = {v.id: v for v in session.scalars(sa.select(QuestionVersion).where(QuestionVersion.id.in_(version_ids)))}
    options: dict[int, list[QuestionOption]] = defaultdict(list)
    for option in session.scalars(sa.select(QuestionOption).where(QuestionOption.version_id.in_(version_ids))
                                  .order_by(QuestionOption.version_id, QuestionOption.position)):
        options[option.version_id].append(option)
    out = {}
    for vid, version in versions.items():
        settings = version.settings or {}
        key = grading.QuestionKey(
            str(version.type),
            tuple(grading.OptionKey(o.id, o.text, float(o.fraction), o.match, float(o.tolerance))
                  for o in options[vid]),
            case_sensitive=bool(settings.get("case_sensitive")),
            ignore_diacritics=bool(settings.get("ignore_diacritics")))
        out[vid] = (version, key)
    return out


# -- starting -------------------------------------------------------------------------------


def _pick(session: Session, quiz: Quiz, rng: random.Random) -> list[tuple[int, Decimal]]:
    """(question id, marks) for each question of a new attempt, in quiz order."""
    chosen: list[tuple[int, Decimal]] = []
    taken: set[int] = set()
    for slot in session.scalars(sa.select(QuizSlot).where(QuizSlot.quiz_id == quiz.id).order_by(QuizSlot.position)):
        if slot.kind == SlotKind.FIXED:
            if slot.question_id not in taken:
                chosen.append((slot.question_id, slot.mark))
                taken.add(slot.question_id)
            continue
        category = session.get(QuestionCategory, slot.category_id)
        where = draw_pool(category, include_subcategories=slot.include_subcategories,
                          convention_id=slot.convention_id)
        pool = [qid for qid in session.scalars(sa.select(Question.id).where(*where).order_by(Question.id))
                if qid not in taken]
        if len(pool) < slot.count:
            raise ServiceError(_l("Nhóm “%(name)s” không đủ câu hỏi cho bài kiểm tra (cần %(n)s, có %(m)s). "
                                  "Hãy báo giảng viên.", name=category.path, n=slot.count, m=len(pool)))
        for qid in rng.sample(pool, slot.count):
            chosen.append((qid, slot.mark))
            taken.add(qid)
    return chosen


def start(session: Session, actor: Actor, quiz: Quiz, now: datetime, rng: random.Random | None = None) -> Attempt:
    """Start an attempt, or return the one already in progress (resume)."""
    if is_system(actor) or not permissions.can(session, actor, "quiz.take", quiz):
        raise PermissionDenied(_l("Bạn không được làm bài kiểm tra này."))
    current = in_progress(session, quiz, actor.id)
    if current is not None:
        if not rules.expired(current.deadline, now):
            return current
        finish(session, actor, current, now)
    if not rules.is_open(quiz.open_at, quiz.close_at, now):
        if quiz.open_at is not None and now < quiz.open_at:
            raise ServiceError(_l("Bài kiểm tra chưa mở."))
        raise ServiceError(_l("Bài kiểm tra đã đóng."))
    used = session.scalar(sa.select(sa.func.coalesce(sa.func.max(Attempt.number), 0)).where(
        Attempt.quiz_id == quiz.id, Attempt.person_id == actor.id)) or 0
    if rules.attempts_left(quiz.attempts_allowed, used) == 0:
        raise ServiceError(_l("Bạn đã dùng hết số lần làm bài."))
    rng = rng or random.SystemRandom()
    picked = _pick(session, quiz, rng)
    if not picked:
        raise ServiceError(_l("Bài kiểm tra chưa có câu hỏi."))
    if quiz.shuffle_questions:
        picked = rules.shuffled(picked, rng)
    current_versions = dict(session.execute(
        sa.select(Question.id, QuestionVersion.id)
        .join(QuestionVersion, sa.and_(QuestionVersion.question_id == Question.id,
                                       QuestionVersion.number == Question.current_number))
        .where(Question.id.in_([qid for qid, _ in picked]))).all())
    keys = _keys(session, list(current_versions.values()))
    attempt = Attempt(quiz_id=quiz.id, person_id=actor.id, number=used + 1, state=AttemptState.IN_PROGRESS,
                      started_at=now, deadline=rules.deadline(now, quiz.time_limit_minutes, quiz.close_at), page=0)
    pages = rules.paginate(len(picked), quiz.questions_per_page)
    rows = []
    for position, ((qid, mark), page) in enumerate(zip(picked, pages, strict=True), start=1):
        version, key = keys[current_versions[qid]]
        order = [o.id for o in key.options]
        if key.type == "matching":
            order = [o.id for o in key.options]  # answers are offered in a shuffled order below
            order = rules.shuffled(order, rng)
        elif key.type in ("single_choice", "multiple_response") and quiz.shuffle_options and \
                (version.settings or {}).get("shuffle", True):
            order = rules.shuffled(order, rng)
        rows.append({"position": position, "page": page, "version_id": version.id, "option_order": order,
                     "max_mark": mark, "comment": ""})
    try:
        with session.begin_nested():
            session.add(attempt)
            session.flush()
            # One executemany for all the questions, whatever their number.
            session.execute(sa.insert(AttemptQuestion), [{"attempt_id": attempt.id, **row} for row in rows])
    except IntegrityError:
        # A parallel request started one first: that one is the attempt.
        winner = in_progress(session, quiz, actor.id)
        if winner is None:
            raise ServiceError(_l("Bạn đã dùng hết số lần làm bài.")) from None
        return winner
    session.expire(attempt, ["questions"])
    return attempt


# -- answering ------------------------------------------------------------------------------


def _owned_open(session: Session, actor: Actor, attempt: Attempt, now: datetime) -> None:
    if is_system(actor) or actor is None or attempt.person_id != actor.id:
        raise PermissionDenied(_l("Đây không phải bài làm của bạn."))
    if attempt.state != AttemptState.IN_PROGRESS:
        raise AttemptClosed(_l("Bài làm đã nộp."))
    if rules.expired(attempt.deadline, now):
        finish(session, actor, attempt, now)
        raise AttemptClosed(_l("Đã hết giờ làm bài; bài làm được nộp với các câu trả lời đã lưu."))


def clean_response(qtype: str, raw, version: QuestionVersion, order: list) -> object | None:
    """A response from the browser in the shape grading expects, or None. Ids not shown in this
    attempt, wrong shapes and oversized text are dropped, never stored."""
    shown = {int(i) for i in order}
    if qtype in ("single_choice", "true_false"):
        try:
            choice = int(raw[0] if isinstance(raw, list) and raw else raw)
        except (TypeError, ValueError):
            return None
        return choice if choice in shown else None
    if qtype == "multiple_response":
        items = raw if isinstance(raw, list) else [raw]
        chosen = []
        for item in items:
            try:
                number = int(item)
            except (TypeError, ValueError):
                continue
            if number in shown and number not in chosen:
                chosen.append(number)
        return chosen or None
    if qtype in ("short_answer", "numerical", "essay"):
        text = raw[0] if isinstance(raw, list) and raw else raw
        if not isinstance(text, str):
            return None
        text = nfc(text.replace("\r\n", "\n"))
        limit = MAX_ESSAY if qtype == "essay" else MAX_SHORT
        if len(text) > limit:
            raise ServiceError(_l("Câu trả lời dài quá %(n)s ký tự.", n=f"{limit:,}".replace(",", ".")))
        return text if text.strip() else None
    if qtype == "matching":
        if not isinstance(raw, Mapping):
            return None
        pairs = {str(o.id): o for o in version.options if o.text.strip()}
        answers = {o.match for o in version.options}
        picked = {k: v for k, v in ((str(k), v) for k, v in raw.items())
                  if k in pairs and isinstance(v, str) and v in answers}
        return picked or None
    return None


def save(session: Session, actor: Actor, attempt: Attempt, responses: Mapping[int, object], now: datetime,
         *, page: int | None = None) -> int:
    """Save the responses given for questions of this attempt (by attempt-question id); returns
    how many were saved. With sequential navigation only the current page is taken."""
    _owned_open(session, actor, attempt, now)
    quiz = session.get(Quiz, attempt.quiz_id)
    rows = {aq.id: aq for aq in attempt.questions}
    versions = {v.id: v for v in session.scalars(sa.select(QuestionVersion).where(
        QuestionVersion.id.in_([aq.version_id for aq in rows.values()])))}
    saved = 0
    for aq_id, raw in responses.items():
        aq = rows.get(aq_id)
        if aq is None:
            continue
        if str(quiz.navigation) == "sequential" and aq.page != attempt.page:
            continue
        if page is not None and aq.page != page:
            continue
        version = versions[aq.version_id]
        value = clean_response(str(version.type), raw, version, aq.option_order)
        aq.response = None if value is None else {"value": value}
        aq.saved_at = now
        saved += 1
    session.flush()
    return saved


def go_to_page(session: Session, actor: Actor, attempt: Attempt, page: int, now: datetime) -> int:
    """Move to a page; sequential navigation only moves forward, one page at a time."""
    _owned_open(session, actor, attempt, now)
    quiz = session.get(Quiz, attempt.quiz_id)
    last = max((aq.page for aq in attempt.questions), default=0)
    page = max(0, min(page, last))
    if str(quiz.navigation) == "sequential":
        page = min(max(page, attempt.page), attempt.page + 1)
    attempt.page = page
    session.flush()
    return page


# -- finishing and grading ------------------------------------------------------------------


def finish(session: Session, actor: Actor, attempt: Attempt, now: datetime) -> Attempt:
    """Submit: idempotent, and only one of any number of parallel calls grades."""
    if not is_system(actor) and (actor is None or attempt.person_id != actor.id):
        raise PermissionDenied(_l("Đây không phải bài làm của bạn."))
    if attempt.state != AttemptState.IN_PROGRESS:
        return attempt
    finished_at = rules.finish_time(attempt.deadline, now)
    moved = session.execute(
        sa.update(Attempt).where(Attempt.id == attempt.id, Attempt.state == AttemptState.IN_PROGRESS)
        .values(state=AttemptState.FINISHED, finished_at=finished_at)
        .execution_options(synchronize_session=False)).rowcount
    if moved != 1:
        session.refresh(attempt)
        return attempt
    attempt.state, attempt.finished_at = AttemptState.FINISHED, finished_at
    grade_attempt(session, attempt, now)
    return attempt


def _response_value(aq: AttemptQuestion):
    return aq.response.get("value") if isinstance(aq.response, dict) else None


def grade_attempt(session: Session, attempt: Attempt, now: datetime) -> None:
    """Grade every auto-graded question of a finished attempt (hand grades are kept), set its
    mark and the person's quiz grade."""
    rows = list(attempt.questions)
    keys = _keys(session, {aq.key_version_id or aq.version_id for aq in rows} | {aq.version_id for aq in rows})
    for aq in rows:
        if aq.graded_by_id is not None:
            continue  # a trainer's grade stands until they change it
        value = _response_value(aq)
        if aq.key_version_id:
            value = _translate(value, keys[aq.version_id][1], keys[aq.key_version_id][1])
        result = grading.grade(keys[aq.key_version_id or aq.version_id][1], value)
        aq.fraction = None if result.fraction is None else Decimal(str(round(result.fraction, 7)))
    quiz = session.get(Quiz, attempt.quiz_id)
    attempt.mark = _mark(rows, quiz)
    session.flush()
    update_grade(session, quiz, attempt.person_id, now)


def _translate(value, shown: grading.QuestionKey, key: grading.QuestionKey):
    """A response given to one version, in the option ids of another (same type, same number of
    options: the corrected version of the same question), matched by position."""
    if shown.type != key.type or len(shown.options) != len(key.options):
        return value
    ids = {old.id: new.id for old, new in zip(shown.options, key.options, strict=True)}
    if isinstance(value, list):
        return [ids.get(v, v) for v in value]
    if isinstance(value, dict):
        return {str(ids.get(int(k), k)) if str(k).isdigit() else k: v for k, v in value.items()}
    if isinstance(value, int) and not isinstance(value, bool):
        return ids.get(value, value)
    return value


def _mark(rows, quiz: Quiz) -> Decimal | None:
    pairs = [(float(aq.max_mark), None if aq.fraction is None else float(aq.fraction)) for aq in rows]
    value = grading.attempt_mark(pairs, quiz_max=float(quiz.max_mark))
    return None if value is None else Decimal(str(value)).quantize(Decimal("0.01"))


def update_grade(session: Session, quiz: Quiz, person_id: int, now: datetime) -> QuizGrade:
    """Recompute the person's grade for the quiz from their finished attempts, then let the
    course's completion rule look again."""
    marks = [None if m is None else float(m) for m in session.scalars(
        sa.select(Attempt.mark).where(Attempt.quiz_id == quiz.id, Attempt.person_id == person_id,
                                      Attempt.state == AttemptState.FINISHED).order_by(Attempt.number))]
    value = grading.quiz_grade(marks, str(quiz.grading_method))
    row = session.scalar(sa.select(QuizGrade).where(QuizGrade.quiz_id == quiz.id, QuizGrade.person_id == person_id))
    if row is None:
        row = QuizGrade(quiz_id=quiz.id, person_id=person_id)
        session.add(row)
    passed = grading.passed(value, float(quiz.pass_mark))
    row.grade = None if value is None else Decimal(str(value)).quantize(Decimal("0.01"))
    if passed and not row.passed:
        row.passed_at = now
    elif not passed:
        row.passed_at = None
    row.passed = passed
    row.updated_at = now
    session.flush()
    if passed and quiz.required_for_completion:
        _evaluate_completion(session, quiz, person_id, now)
    return row


def _evaluate_completion(session: Session, quiz: Quiz, person_id: int, now: datetime) -> None:
    from courses.models import Enrolment
    from courses.services import evaluate

    enrolment = session.scalar(sa.select(Enrolment).where(Enrolment.course_id == quiz.course_id,
                                                          Enrolment.person_id == person_id))
    if enrolment is not None:
        evaluate(session, enrolment, now)


def close_overdue(session: Session, now: datetime, limit: int = 500) -> int:
    """Finish attempts whose time ran out (a periodic job): each is closed at its deadline."""
    from lms.actors import SYSTEM_JOB

    overdue = list(session.scalars(sa.select(Attempt).where(
        Attempt.state == AttemptState.IN_PROGRESS, Attempt.deadline.is_not(None), Attempt.deadline <= now)
        .order_by(Attempt.deadline).limit(limit)))
    for attempt in overdue:
        finish(session, SYSTEM_JOB, attempt, now)
    return len(overdue)


# -- hand grading ---------------------------------------------------------------------------


def grade_by_hand(session: Session, actor: Actor, aq: AttemptQuestion, fraction: float, comment: str,
                  now: datetime) -> None:
    """A trainer grades one question of a finished attempt (an essay, or an override)."""
    attempt = session.get(Attempt, aq.attempt_id)
    quiz = session.get(Quiz, attempt.quiz_id)
    if not permissions.can(session, actor, "quiz.manage", quiz):
        raise PermissionDenied(_l("Bạn không được chấm bài kiểm tra này."))
    if attempt.state != AttemptState.FINISHED:
        raise ServiceError(_l("Chỉ chấm được bài đã nộp."))
    if not (0.0 <= fraction <= 1.0):
        raise ServiceError(_l("Điểm phải từ 0 đến điểm tối đa của câu."), field="mark")
    before = None if aq.fraction is None else float(aq.fraction)
    aq.fraction = Decimal(str(round(fraction, 7)))
    aq.comment = nfc(comment or "")[:20_000]
    aq.graded_by_id = None if is_system(actor) else actor.id
    aq.graded_at = now
    attempt.mark = _mark(list(attempt.questions), quiz)
    session.flush()
    update_grade(session, quiz, attempt.person_id, now)
    audit.record(session, actor, "attempt.grade", object_type="attempt", object_id=attempt.id,
                 summary=f"{quiz.title} — câu {aq.position}", details={"before": before, "after": fraction})


def regrade(session: Session, actor: Actor, quiz: Quiz, now: datetime, *, latest_key: bool = True) -> int:
    """Grade every finished attempt of the quiz again. With ``latest_key`` a question edited
    since (a key fixed: its current version has the same type and number of options) grades the
    saved responses with the corrected key; the attempt still shows the version it showed.
    Hand grades stay. Audited with the attempts whose mark changed. Returns the number of
    attempts regraded."""
    if not permissions.can(session, actor, "quiz.manage", quiz):
        raise PermissionDenied(_l("Bạn không được chấm lại bài kiểm tra này."))
    attempts = list(session.scalars(sa.select(Attempt).where(Attempt.quiz_id == quiz.id,
                                                             Attempt.state == AttemptState.FINISHED)
                                    .order_by(Attempt.id)))
    latest: dict[int, int] = {}
    if latest_key:
        latest = dict(session.execute(
            sa.select(QuestionVersion.id, sa.select(QuestionVersion.id).where(
                QuestionVersion.question_id == Question.id, QuestionVersion.number == Question.current_number)
                .correlate(Question).scalar_subquery())
            .join(Question, Question.id == QuestionVersion.question_id)
            .where(QuestionVersion.id.in_(sa.select(AttemptQuestion.version_id).join(
                Attempt, Attempt.id == AttemptQuestion.attempt_id).where(Attempt.quiz_id == quiz.id)))).all())
    changed = []
    for attempt in attempts:
        before = attempt.mark
        for aq in attempt.questions:
            newest = latest.get(aq.version_id)
            aq.key_version_id = newest if newest and newest != aq.version_id else None
        grade_attempt(session, attempt, now)
        if attempt.mark != before:
            changed.append({"attempt": attempt.id, "before": None if before is None else str(before),
                            "after": None if attempt.mark is None else str(attempt.mark)})
    audit.record(session, actor, "quiz.regrade", object_type="quiz", object_id=quiz.id,
                 summary=f"{quiz.title}: {len(attempts)} bài làm, {len(changed)} thay đổi điểm",
                 details={"changed": changed[:1000]})
    return len(attempts)


def requirement_hook(session: Session, enrolment) -> object | None:
    """The course completion requirement: every required quiz of the course passed."""
    from courses.completion import RequirementResult

    required = list(session.scalars(sa.select(Quiz.id).where(Quiz.course_id == enrolment.course_id,
                                                             Quiz.required_for_completion.is_(True),
                                                             Quiz.published.is_(True))))
    if not required:
        return None
    passed = session.scalar(sa.select(sa.func.count()).select_from(QuizGrade).where(
        QuizGrade.quiz_id.in_(required), QuizGrade.person_id == enrolment.person_id,
        QuizGrade.passed.is_(True))) or 0
    label = str(_l("Đạt các bài kiểm tra bắt buộc (%(done)s/%(total)s)", done=passed, total=len(required)))
    return RequirementResult(label, passed >= len(required))



# -- a trainee's scores ---------------------------------------------------------------------


def convention_scores(session: Session, attempt_ids) -> list[tuple[int, float, float]]:
    """(convention id, marks earned, marks possible) over the graded questions of the given
    attempts tagged with each convention, in one statement (questions awaiting a trainer are
    left out until graded)."""
    ids = list(attempt_ids)
    if not ids:
        return []
    rows = session.execute(
        sa.select(question_conventions.c.convention_id,
                  sa.func.sum(AttemptQuestion.fraction * AttemptQuestion.max_mark),
                  sa.func.sum(AttemptQuestion.max_mark))
        .join(QuestionVersion, QuestionVersion.id == AttemptQuestion.version_id)
        .join(question_conventions, question_conventions.c.question_id == QuestionVersion.question_id)
        .where(AttemptQuestion.attempt_id.in_(ids), AttemptQuestion.fraction.is_not(None),
               AttemptQuestion.max_mark > 0)
        .group_by(question_conventions.c.convention_id)).all()
    return [(cid, float(earned or 0), float(possible or 0)) for cid, earned, possible in rows]
