"""A trainee's side of a quiz: the quiz page (start or continue, past attempts), one page of an
attempt, the confirmation before submitting, the review of a finished attempt and "Điểm của tôi".

Access: a quiz the person may not take (nor manage) is a 404; an attempt the person may not see
(``attempt.view``) is a 404, and one they see but do not own (a trainer's look at a learner's
attempt) is a 403 on every page that answers it. Every write goes through
:mod:`quizzes.attempts`, which checks ownership, the deadline and the navigation again.

Keys never reach the browser before the review allows them: choices are posted as their index in
the order this attempt shows them (an opaque per-attempt value), never as option ids, and no
fraction, feedback or correctness flag is written into the attempt page.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import datetime

import sqlalchemy as sa
from flask import abort, flash, jsonify, redirect, render_template, request, url_for
from flask_babel import format_datetime, format_decimal
from markupsafe import Markup, escape
from sqlalchemy.orm import selectinload

from courses.models import Convention, Course
from lms import permissions
from lms.db import db, utcnow
from lms.errors import PermissionDenied, ServiceError
from lms.i18n import lazy_gettext as _l
from lms.views.common import actor
from quizzes import attempts, grading, rules
from quizzes.attempts import AttemptClosed
from quizzes.forms.taking import AttemptForm, FinishForm, StartForm
from quizzes.models import Attempt, AttemptQuestion, AttemptState, QuestionVersion, Quiz, QuizGrade
from quizzes.text import option_label as text_label
from quizzes.text import render_text
from quizzes.views import blueprint

GRADING_LABELS = {
    "highest": _l("Lấy điểm cao nhất"),
    "average": _l("Lấy điểm trung bình các lần"),
    "first": _l("Lấy điểm lần làm đầu tiên"),
    "last": _l("Lấy điểm lần làm cuối cùng"),
}
TIME_UP = _l("Đã hết giờ làm bài; bài đã được nộp với các câu trả lời đã lưu.")
CHOICE_TYPES = ("single_choice", "multiple_response", "true_false")
TEXT_TYPES = ("short_answer", "numerical", "essay")


# -- text -----------------------------------------------------------------------------------

def quiz_number(value) -> str:
    """A mark as Vietnamese writes it: 7,5 — 10 — 8,25 (at most two decimals)."""
    if value is None:
        return ""
    return format_decimal(round(float(value), 2), format="#,##0.##")


def _render(template: str, **context):
    attempt = context.get("attempt")
    return render_template(f"quizzes/taking/{template}", quiz_number=quiz_number,
                           numbers=numbers(attempt) if attempt is not None else {}, **context)


# -- loading and access ---------------------------------------------------------------------

def _quiz_for(quiz_id: int) -> tuple[Quiz, Course]:
    quiz = db.session.get(Quiz, quiz_id)
    if quiz is None:
        abort(404)
    me = actor()
    if not (permissions.can(db.session, me, "quiz.take", quiz) or permissions.can(db.session, me, "quiz.manage", quiz)):
        abort(404)
    return quiz, db.session.get(Course, quiz.course_id)


def _attempt_for(attempt_id: int, *, owner: bool = True) -> tuple[Attempt, Quiz]:
    attempt = db.session.scalar(
        sa.select(Attempt).where(Attempt.id == attempt_id)
        .options(selectinload(Attempt.questions).selectinload(AttemptQuestion.version)
                 .selectinload(QuestionVersion.options)))
    if attempt is None or not permissions.can(db.session, actor(), "attempt.view", attempt):
        abort(404)
    if owner and attempt.person_id != actor().id:
        abort(403)
    return attempt, db.session.get(Quiz, attempt.quiz_id)


def _pages(attempt: Attempt) -> int:
    return max((aq.page for aq in attempt.questions), default=0) + 1


def numbers(attempt: Attempt) -> dict[int, int]:
    """Question numbers as the trainee reads them (a description is not a question)."""
    out, n = {}, 0
    for aq in attempt.questions:
        if str(aq.version.type) != "description":
            n += 1
            out[aq.id] = n
    return out


def _minutes_left(attempt: Attempt, now: datetime) -> int | None:
    if attempt.deadline is None:
        return None
    return max(0, math.ceil((attempt.deadline - now).total_seconds() / 60))


def _as_utc(value: datetime) -> datetime:
    from datetime import UTC

    return value if value.tzinfo else value.replace(tzinfo=UTC)


# -- the question as shown ------------------------------------------------------------------

@dataclass
class Shown:
    """A question of an attempt as the page shows it: opaque values only, no key."""

    aq: AttemptQuestion
    type: str
    text: Markup
    name: str
    choices: list[tuple[str, Markup]] = field(default_factory=list)
    selected: set[str] = field(default_factory=set)
    value: str = ""
    subs: list[tuple[str, Markup]] = field(default_factory=list)
    answers: list[tuple[str, str]] = field(default_factory=list)
    matched: dict[str, str] = field(default_factory=dict)

    @property
    def answered(self) -> bool:
        return self.aq.response is not None


def option_label(option, qtype: str) -> Markup:
    """An option as the trainee reads it (true/false options are stored as "true"/"false")."""
    return text_label(option.text, option.text_format, qtype)


def _option_map(aq: AttemptQuestion) -> dict[int, object]:
    return {o.id: o for o in aq.version.options}


def _subs(aq: AttemptQuestion) -> list:
    return [o for o in aq.version.options if o.text.strip()]


def _answers(aq: AttemptQuestion) -> list[str]:
    options = _option_map(aq)
    out: list[str] = []
    for oid in aq.option_order:
        option = options.get(int(oid))
        if option is not None and option.match.strip() and option.match not in out:
            out.append(option.match)
    return out


def _value(aq: AttemptQuestion):
    return aq.response.get("value") if isinstance(aq.response, dict) else None


def shown(aq: AttemptQuestion) -> Shown:
    version = aq.version
    qtype = str(version.type)
    item = Shown(aq, qtype, render_text(version.text, version.text_format), f"q{aq.id}")
    value = _value(aq)
    options = _option_map(aq)
    if qtype in CHOICE_TYPES:
        order = [int(i) for i in aq.option_order]
        item.choices = [(str(i), option_label(options[oid], qtype)) for i, oid in enumerate(order) if oid in options]
        chosen = value if isinstance(value, list) else [value]
        item.selected = {str(order.index(c)) for c in chosen if c in order}
    elif qtype in TEXT_TYPES:
        item.value = value if isinstance(value, str) else ""
    elif qtype == "matching":
        answers = _answers(aq)
        item.answers = [(str(k), text) for k, text in enumerate(answers)]
        for j, sub in enumerate(_subs(aq)):
            item.subs.append((str(j), render_text(sub.text, sub.text_format, inline=True)))
            if isinstance(value, dict) and value.get(str(sub.id)) in answers:
                item.matched[str(j)] = str(answers.index(value[str(sub.id)]))
    return item


def _index(raw: str | None, size: int) -> int | None:
    """An opaque choice value back to its index; anything else (ids, negatives, huge numbers,
    text) is no answer."""
    if raw is None or not raw.isdigit() or len(raw) > 6:
        return None
    number = int(raw)
    return number if number < size else None


def responses_from(form, rows: list[AttemptQuestion]) -> dict[int, object]:
    """The page's answers in the shape :func:`attempts.save` expects (option ids, texts);
    a question of the page with nothing posted is saved as not answered."""
    out: dict[int, object] = {}
    for aq in rows:
        qtype, name = str(aq.version.type), f"q{aq.id}"
        order = [int(i) for i in aq.option_order]
        if qtype in ("single_choice", "true_false"):
            index = _index(form.get(name), len(order))
            out[aq.id] = None if index is None else order[index]
        elif qtype == "multiple_response":
            indexes = [_index(v, len(order)) for v in form.getlist(name)[:len(order) + 1]]
            out[aq.id] = [order[i] for i in dict.fromkeys(indexes) if i is not None]
        elif qtype in TEXT_TYPES:
            out[aq.id] = form.get(name)
        elif qtype == "matching":
            answers = _answers(aq)
            picked = {}
            for j, sub in enumerate(_subs(aq)):
                index = _index(form.get(f"{name}_{j}"), len(answers))
                if index is not None:
                    picked[str(sub.id)] = answers[index]
            out[aq.id] = picked
    return out


# -- the quiz page --------------------------------------------------------------------------

@blueprint.get("/<int:quiz_id>")
@permissions.login
def quiz(quiz_id: int):
    quiz, course = _quiz_for(quiz_id)
    me, now = actor(), utcnow()
    past = attempts.attempts_of(db.session, quiz, me.id)
    current = next((a for a in past if a.state == AttemptState.IN_PROGRESS), None)
    if current is not None and rules.expired(current.deadline, now):
        # its time ran out while the person was away: it is submitted with what was saved
        attempts.finish(db.session, me, current, now)
        db.session.commit()
        current = None
    used = len(past)
    left = rules.attempts_left(quiz.attempts_allowed, used)
    scores = {a.id: _review(quiz, a, now).score for a in past}
    is_open = rules.is_open(quiz.open_at, quiz.close_at, now)
    can_start = current is not None or (is_open and left != 0)
    grade = db.session.scalar(sa.select(QuizGrade).where(QuizGrade.quiz_id == quiz.id, QuizGrade.person_id == me.id))
    show_grade = grade is not None and rules.review_open(str(quiz.review_score), finished=True,
                                                         close_at=quiz.close_at, now=now)
    return _render("quiz.html", quiz=quiz, course=course, past=past, current=current,
                           used=used, left=left, scores=scores, is_open=is_open, can_start=can_start, now=now,
                           grade=grade if show_grade else None, grading_label=GRADING_LABELS.get(
                               str(quiz.grading_method), ""), form=StartForm())


@blueprint.post("/<int:quiz_id>/start")
@permissions.login
def start(quiz_id: int):
    quiz, _ = _quiz_for(quiz_id)
    StartForm().validate_on_submit()  # CSRF is checked for every POST by the platform
    try:
        attempt = attempts.start(db.session, actor(), quiz, utcnow())
    except ServiceError as exc:
        db.session.rollback()
        flash(str(exc.message), "danger")
        return redirect(url_for("quizzes.quiz", quiz_id=quiz.id))
    db.session.commit()
    return redirect(url_for("quizzes.attempt", attempt_id=attempt.id))


# -- an attempt -----------------------------------------------------------------------------

def _closed(attempt: Attempt):
    """After a save or a visit found the time up: the attempt was submitted with what it had."""
    db.session.commit()
    flash(str(TIME_UP), "warning")
    return redirect(url_for("quizzes.review", attempt_id=attempt.id))


def _close_if_expired(attempt: Attempt, now: datetime):
    if attempt.state == AttemptState.IN_PROGRESS and rules.expired(attempt.deadline, now):
        attempts.finish(db.session, actor(), attempt, now)
        return _closed(attempt)
    if attempt.state != AttemptState.IN_PROGRESS:
        return redirect(url_for("quizzes.review", attempt_id=attempt.id))
    return None


def _save_page(attempt: Attempt, quiz: Quiz, now: datetime) -> tuple[int, int]:
    """Save the posted page's answers; returns (page posted, number saved)."""
    page = request.form.get("page", "")
    page = int(page) if page.isdigit() and len(page) < 6 else attempt.page
    if str(quiz.navigation) == "sequential":
        page = attempt.page
    rows = [aq for aq in attempt.questions if aq.page == page]
    saved = attempts.save(db.session, actor(), attempt, responses_from(request.form, rows), now, page=page)
    return page, saved


@blueprint.route("/attempts/<int:attempt_id>", methods=["GET", "POST"])
@permissions.login
def attempt(attempt_id: int):
    attempt, quiz = _attempt_for(attempt_id)
    now = utcnow()
    if (done := _close_if_expired(attempt, now)) is not None:
        return done
    form = AttemptForm()
    error = None
    if request.method == "POST":
        try:
            page, _ = _save_page(attempt, quiz, now)
        except AttemptClosed:
            return _closed(attempt)
        except ServiceError as exc:
            db.session.rollback()
            error = str(exc.message)
        else:
            target = request.form.get("go", "")
            if request.form.get("timeup"):
                # the page's countdown reached zero: submit with what was saved
                attempts.finish(db.session, actor(), attempt, now)
                return _closed(attempt)
            if request.form.get("action") == "finish":
                db.session.commit()
                return redirect(url_for("quizzes.submit", attempt_id=attempt.id))
            if target.isdigit() and len(target) < 6:
                wanted = int(target)
                reached = attempts.go_to_page(db.session, actor(), attempt, wanted, now)
                if reached != wanted and str(quiz.navigation) == "sequential":
                    flash(str(_l("Bài kiểm tra này làm lần lượt từng trang: không thể quay lại hoặc bỏ qua trang.")),
                          "warning")
            db.session.commit()
            if not target:
                flash(str(_l("Đã lưu câu trả lời.")), "success")
            return redirect(url_for("quizzes.attempt", attempt_id=attempt.id))
    page = attempt.page
    rows = [shown(aq) for aq in attempt.questions if aq.page == page]
    pages = _pages(attempt)
    answered_pages = {aq.page for aq in attempt.questions if aq.response is not None}
    status = 422 if error else 200
    return _render("attempt.html", attempt=attempt, quiz=quiz, rows=rows, page=page,
                           pages=pages, answered_pages=answered_pages, form=form, error=error,
                           sequential=str(quiz.navigation) == "sequential", minutes_left=_minutes_left(attempt, now),
                           deadline_iso=_as_utc(attempt.deadline).isoformat() if attempt.deadline else "",
                           now_iso=_as_utc(now).isoformat()), status


@blueprint.post("/attempts/<int:attempt_id>/autosave")
@permissions.login
def autosave(attempt_id: int):
    """The page's answers saved by attempt.js while the trainee works (JSON)."""
    attempt, quiz = _attempt_for(attempt_id)
    now = utcnow()
    if attempt.state != AttemptState.IN_PROGRESS:
        return jsonify(closed=True, message=str(_l("Bài làm đã nộp.")),
                       redirect=url_for("quizzes.review", attempt_id=attempt.id)), 409
    try:
        _, saved = _save_page(attempt, quiz, now)
    except AttemptClosed:
        db.session.commit()
        flash(str(TIME_UP), "warning")
        return jsonify(closed=True, message=str(TIME_UP),
                       redirect=url_for("quizzes.review", attempt_id=attempt.id)), 409
    except ServiceError as exc:
        db.session.rollback()
        return jsonify(error=str(exc.message)), 422
    db.session.commit()
    return jsonify(saved=saved, at=format_datetime(now, "HH:mm"),
                   message=str(_l("Đã lưu lúc %(time)s", time=format_datetime(now, "HH:mm"))))


@blueprint.route("/attempts/<int:attempt_id>/submit", methods=["GET", "POST"])
@permissions.login
def submit(attempt_id: int):
    """The confirmation page (unanswered questions listed), then the submission."""
    attempt, quiz = _attempt_for(attempt_id)
    now = utcnow()
    form = FinishForm()
    if request.method == "POST":
        form.validate_on_submit()
        late = attempt.state == AttemptState.IN_PROGRESS and rules.expired(attempt.deadline, now)
        try:
            attempts.finish(db.session, actor(), attempt, now)
        except PermissionDenied:
            abort(403)
        db.session.commit()
        if late:
            flash(str(TIME_UP), "warning")
        else:
            flash(str(_l("Đã nộp bài.")), "success")
        return redirect(url_for("quizzes.review", attempt_id=attempt.id))
    if (done := _close_if_expired(attempt, now)) is not None:
        return done
    unanswered = [aq for aq in attempt.questions if aq.response is None and str(aq.version.type) != "description"]
    return _render("submit.html", attempt=attempt, quiz=quiz, unanswered=unanswered,
                           form=form, minutes_left=_minutes_left(attempt, now))


# -- review ---------------------------------------------------------------------------------

def _review(quiz: Quiz, attempt: Attempt, now: datetime) -> rules.Review:
    if attempt.person_id != actor().id and permissions.can(db.session, actor(), "quiz.manage", quiz):
        return rules.Review(True, True, True)
    return rules.review_for(str(quiz.review_score), str(quiz.review_answers), str(quiz.review_feedback),
                            finished=attempt.state == AttemptState.FINISHED, close_at=quiz.close_at, now=now)


@dataclass
class Reviewed:
    item: Shown
    response: list[Markup]
    right: list[Markup]
    feedback: list[Markup]
    state: str  # "right", "partial", "wrong", "pending", "blank", "info"
    mark: float | None


def _reviewed(aq: AttemptQuestion, review: rules.Review) -> Reviewed:
    item = shown(aq)
    version, value = aq.version, _value(aq)
    options = _option_map(aq)
    qtype = item.type
    response: list[Markup] = []
    right: list[Markup] = []
    feedback: list[Markup] = []
    if qtype in CHOICE_TYPES:
        chosen = value if isinstance(value, list) else ([value] if value is not None else [])
        response = [option_label(options[c], qtype) for c in chosen if c in options]
        right = [option_label(o, qtype) for o in version.options if float(o.fraction) > 0]
        feedback = [render_text(options[c].feedback, "html") for c in chosen if c in options and options[c].feedback]
    elif qtype in TEXT_TYPES:
        if isinstance(value, str):
            response = [render_text(value, "plain")]
        if qtype != "essay":
            right = [escape(o.text) + (Markup(" ± {}").format(f"{o.tolerance:g}") if o.tolerance else "")
                     for o in version.options if float(o.fraction) >= 1 and o.text.strip() != "*"]
            key = grading.QuestionKey(qtype, tuple(grading.OptionKey(o.id, o.text, float(o.fraction), o.match,
                                                                     float(o.tolerance)) for o in version.options),
                                      case_sensitive=bool((version.settings or {}).get("case_sensitive")),
                                      ignore_diacritics=bool((version.settings or {}).get("ignore_diacritics")))
            matched = grading.grade(key, value).chosen
            feedback = [render_text(options[c].feedback, "html") for c in matched if c in options and options[c].feedback]
    elif qtype == "matching":
        subs = {str(o.id): o for o in _subs(aq)}
        if isinstance(value, dict):
            response = [Markup("{} → {}").format(render_text(subs[k].text, subs[k].text_format, inline=True), v)
                        for k, v in value.items() if k in subs]
        right = [Markup("{} → {}").format(render_text(o.text, o.text_format, inline=True), o.match)
                 for o in subs.values()]
    if qtype == "description":
        state = "info"
    elif aq.fraction is None:
        state = "pending" if qtype == "essay" and value is not None else ("blank" if value is None else "pending")
    elif float(aq.fraction) >= 0.9999999:
        state = "right"
    elif float(aq.fraction) > 0:
        state = "partial"
    else:
        state = "wrong" if value is not None else "blank"
    settings = version.settings or {}
    if review.feedback:
        extra = {"right": settings.get("correct_feedback"), "partial": settings.get("partial_feedback"),
                 "wrong": settings.get("incorrect_feedback")}.get(state)
        if extra:
            feedback.append(render_text(extra, "html"))
        if version.general_feedback:
            feedback.append(render_text(version.general_feedback, version.text_format))
        if aq.comment:
            feedback.append(render_text(aq.comment, "plain"))
    mark = None if aq.fraction is None else float(aq.fraction) * float(aq.max_mark)
    return Reviewed(item, response, right if review.answers else [], feedback if review.feedback else [],
                    state, mark)


@blueprint.get("/attempts/<int:attempt_id>/review")
@permissions.login
def review(attempt_id: int):
    attempt, quiz = _attempt_for(attempt_id, owner=False)
    now = utcnow()
    if attempt.state == AttemptState.IN_PROGRESS:
        if attempt.person_id == actor().id:
            if (done := _close_if_expired(attempt, now)) is not None:
                return done
            return redirect(url_for("quizzes.attempt", attempt_id=attempt.id))
        abort(403)
    allowed = _review(quiz, attempt, now)
    items = [_reviewed(aq, allowed) for aq in attempt.questions]
    pending = any(i.state == "pending" for i in items)
    course = db.session.get(Course, quiz.course_id)
    sum_max = sum(float(aq.max_mark) for aq in attempt.questions)
    scale = float(quiz.max_mark) / sum_max if sum_max else 0.0
    return _render("review.html", attempt=attempt, quiz=quiz, course=course, items=items,
                           allowed=allowed, pending=pending, scale=scale, own=attempt.person_id == actor().id,
                           passed=attempt.mark is not None and grading.passed(float(attempt.mark),
                                                                              float(quiz.pass_mark)))


# -- my scores ------------------------------------------------------------------------------

@blueprint.get("/my-scores")
@permissions.login
def my_scores():
    me, now = actor(), utcnow()
    rows = db.session.execute(
        sa.select(Attempt, Quiz, Course).join(Quiz, Quiz.id == Attempt.quiz_id).join(Course, Course.id == Quiz.course_id)
        .where(Attempt.person_id == me.id).order_by(Course.title, Quiz.position, Quiz.id, Attempt.number)).all()
    grades = {g.quiz_id: g for g in db.session.scalars(sa.select(QuizGrade).where(QuizGrade.person_id == me.id))}
    quizzes: dict[int, dict] = {}
    visible_attempts: list[int] = []
    for attempt, quiz_row, course in rows:
        entry = quizzes.setdefault(quiz_row.id, {"quiz": quiz_row, "course": course, "attempts": 0, "finished": 0,
                                                 "in_progress": None, "show": False, "grade": None})
        entry["attempts"] += 1
        if attempt.state == AttemptState.IN_PROGRESS:
            entry["in_progress"] = attempt
            continue
        entry["finished"] += 1
        if rules.review_open(str(quiz_row.review_score), finished=True, close_at=quiz_row.close_at, now=now):
            entry["show"] = True
            visible_attempts.append(attempt.id)
    for quiz_id, entry in quizzes.items():
        entry["grade"] = grades.get(quiz_id) if entry["show"] else None
    conventions = {c.id: c for c in db.session.scalars(sa.select(Convention))}
    by_convention = [(conventions[cid], earned, possible)
                     for cid, earned, possible in attempts.convention_scores(db.session, visible_attempts)
                     if cid in conventions and possible > 0]
    by_convention.sort(key=lambda row: row[0].position)
    return _render("my_scores.html", quizzes=list(quizzes.values()),
                           by_convention=by_convention)


# -- closing overdue attempts ---------------------------------------------------------------

def close_overdue_now(app) -> int:
    """Close the attempts whose time ran out (the periodic job; also ``flask`` shell-callable)."""
    with app.app_context():
        closed = attempts.close_overdue(db.session, utcnow())
        db.session.commit()
        return closed


@blueprint.record_once
def _register_sweep(state) -> None:
    """Every minute, the job queue's worker closes the attempts whose time ran out (an attempt
    opened after its deadline is also closed at once by the pages above)."""
    app = state.app
    huey = app.extensions.get("lms_huey")
    if huey is None:
        return
    from huey import crontab

    @huey.periodic_task(crontab(minute="*"), name="quizzes.close_overdue")
    def close_overdue_attempts() -> None:
        closed = close_overdue_now(app)
        if closed:
            app.logger.info("closed %s overdue quiz attempts", closed)

    app.extensions["quizzes_close_overdue"] = close_overdue_attempts
