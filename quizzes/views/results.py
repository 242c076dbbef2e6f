"""A quiz's results for its trainers: the list of trainees' grades and attempts, one attempt in
detail, grading essays by hand, regrading, the Excel export and the item analysis.

Parse → service → commit → redirect. Every screen needs ``quiz.manage`` on the quiz (the
course's editors and administrators): 404 when the person may not even see the course, 403 when
they may see it but not manage the quiz. The reads are in :mod:`quizzes.reporting`.
"""

from __future__ import annotations

from datetime import timedelta

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import get_locale
from werkzeug.routing import BuildError

from courses.models import Course
from lms import permissions
from lms.db import db, utcnow
from lms.errors import PermissionDenied, ServiceError
from lms.forms import ConfirmForm
from lms.i18n import lazy_gettext as _l
from lms.models import Person
from lms.views.common import actor, get_or_404, unit_choices
from quizzes import attempts, reporting
from quizzes.forms.results import GradeForm, format_mark
from quizzes.models import Attempt, AttemptQuestion, AttemptState, Quiz
from quizzes.text import render_text
from quizzes.views import blueprint


def _quiz(quiz_id: int) -> Quiz:
    """The quiz, or 404 when the person may not see its course, 403 when they may not manage it."""
    quiz = get_or_404(Quiz, quiz_id)
    who = actor()
    course = db.session.get(Course, quiz.course_id)
    if course is None or not permissions.can(db.session, who, "course.view", course):
        abort(404)
    if not permissions.can(db.session, who, "quiz.manage", quiz):
        abort(403)
    return quiz


rich = render_text


def duration(value: timedelta | None) -> str:
    if value is None:
        return "—"
    seconds = max(0, int(value.total_seconds()))
    hours, rest = divmod(seconds, 3600)
    minutes, seconds = divmod(rest, 60)
    if hours:
        return str(_l("%(h)s giờ %(m)s phút", h=hours, m=minutes))
    if minutes:
        return str(_l("%(m)s phút %(s)s giây", m=minutes, s=seconds))
    return str(_l("%(s)s giây", s=seconds))


def pct(value: float | None) -> str:
    return "—" if value is None else f"{value * 100:.0f}%"


def num(value: float | None) -> str:
    return "—" if value is None else f"{value:.2f}".replace(".", ",").replace("-", "−")


def maybe_url(endpoint: str, **values) -> str | None:
    """A link to another part's screen, or None while that screen does not exist."""
    try:
        return url_for(endpoint, **values)
    except BuildError:
        return None


def _common(quiz: Quiz) -> dict:
    return {"quiz": quiz, "course": db.session.get(Course, quiz.course_id), "mark": format_mark, "rich": rich,
            "duration": duration, "state_labels": reporting.STATE_LABELS, "maybe_url": maybe_url,
            "pct": pct, "num": num}


# -- the results list -----------------------------------------------------------------------

def _filters(source=None) -> tuple[reporting.ResultFilter, list]:
    args = request.args if source is None else source
    units = unit_choices(manageable=False, blank=str(_l("Tất cả đơn vị")))
    unit_id = args.get("unit", type=int) or None
    if unit_id is not None and unit_id not in {c.value for c in units}:
        unit_id = None
    state = args.get("state") or None
    if state not in reporting.STATE_LABELS:
        state = None
    sort = args.get("sort") or "name"
    if sort not in reporting.SORTS:
        sort = "name"
    return reporting.ResultFilter(q=(args.get("q") or "")[:200], unit_id=unit_id, state=state, sort=sort), units


@blueprint.get("/<int:quiz_id>/results")
@permissions.login
def results(quiz_id: int):
    quiz = _quiz(quiz_id)
    filters, units = _filters()
    page = max(1, min(request.args.get("page", 1, type=int), 100000))
    pagination = reporting.results_page(db.session, quiz, filters, page)
    _, waiting = reporting.waiting_essays(db.session, quiz, limit=0)
    return render_template("quizzes/results/index.html", **_common(quiz), pagination=pagination, filters=filters,
                           units=units, sorts=reporting.SORTS, counts=reporting.state_counts(db.session, quiz),
                           waiting=waiting, finished=reporting.finished_count(db.session, quiz))


@blueprint.post("/<int:quiz_id>/results/export")
@permissions.login
def results_export(quiz_id: int):
    """Export the results (as filtered) in the background; the job's page offers the file."""
    quiz = _quiz(quiz_id)
    ConfirmForm()  # the CSRF token (checked globally)
    filters, _ = _filters(request.form)
    try:
        job = reporting.submit_export(db.session, actor(), quiz, filters, locale=str(get_locale()))
    except PermissionDenied:
        db.session.rollback()
        abort(403)
    db.session.commit()
    return redirect(url_for("jobs.detail", job_id=job.id))


# -- one attempt ----------------------------------------------------------------------------

def _attempt(quiz: Quiz, attempt_id: int) -> Attempt:
    attempt = db.session.get(Attempt, attempt_id)
    if attempt is None or attempt.quiz_id != quiz.id:
        abort(404)
    return attempt


@blueprint.get("/<int:quiz_id>/results/attempts/<int:attempt_id>")
@permissions.login
def results_attempt(quiz_id: int, attempt_id: int):
    """An attempt as the trainer sees it: every response, the key and the marks (read only;
    essays are graded on the grading page)."""
    quiz = _quiz(quiz_id)
    attempt = _attempt(quiz, attempt_id)
    person = db.session.get(Person, attempt.person_id)
    questions = reporting.attempt_view(db.session, attempt)
    forms = {}
    if attempt.state == AttemptState.FINISHED:
        for view in questions:
            if str(view.version.type) == "essay":
                form = GradeForm(prefix=f"g{view.row.id}", formdata=None)
                form.mark.data = format_mark(view.earned) if view.earned is not None else ""
                form.comment.data = view.row.comment
                forms[view.row.id] = form
    return render_template("quizzes/results/attempt.html", **_common(quiz), attempt=attempt, person=person,
                           questions=questions, forms=forms, band=reporting.band_of(quiz, attempt.mark))


# -- grading essays by hand -----------------------------------------------------------------

def _grading_page(quiz: Quiz, forms: dict | None = None, status: int = 200):
    essays, total = reporting.waiting_essays(db.session, quiz)
    forms = dict(forms or {})
    listed = {essay.row.id for essay in essays}
    for answer_id, form in forms.items():
        if answer_id not in listed:  # an answer not waiting any more: say why here
            for error in form.mark.errors + form.comment.errors:
                flash(error, "danger")
    for essay in essays:
        if essay.row.id not in forms:
            form = GradeForm(prefix=f"g{essay.row.id}", formdata=None)
            forms[essay.row.id] = form
    return render_template("quizzes/results/grading.html", **_common(quiz), essays=essays, total=total,
                           forms=forms), status


@blueprint.get("/<int:quiz_id>/grading")
@permissions.login
def grading(quiz_id: int):
    """The essays waiting for a grade ("Chờ chấm"), a form for each."""
    quiz = _quiz(quiz_id)
    return _grading_page(quiz)


@blueprint.post("/<int:quiz_id>/grading/<int:answer_id>")
@permissions.login
def grade_answer(quiz_id: int, answer_id: int):
    quiz = _quiz(quiz_id)
    aq = db.session.get(AttemptQuestion, answer_id)
    attempt = db.session.get(Attempt, aq.attempt_id) if aq is not None else None
    if attempt is None or attempt.quiz_id != quiz.id:
        abort(404)
    back_to_attempt = request.args.get("from") == "attempt"
    form = GradeForm(prefix=f"g{aq.id}")
    form.max_mark = aq.max_mark
    if form.validate_on_submit():
        try:
            fraction = 0.0 if aq.max_mark <= 0 else form.value / float(aq.max_mark)
            attempts.grade_by_hand(db.session, actor(), aq, fraction, form.comment.data or "", utcnow())
        except PermissionDenied:
            db.session.rollback()
            abort(403)
        except ServiceError as exc:
            db.session.rollback()
            form.mark.errors = list(form.mark.errors) + [exc.message]
        else:
            person = db.session.get(Person, attempt.person_id)
            db.session.commit()
            flash(_l("Đã chấm câu %(n)s của %(name)s: %(mark)s/%(max)s điểm.", n=aq.position, name=person.full_name,
                     mark=format_mark(form.value), max=format_mark(aq.max_mark)), "success")
            if back_to_attempt:
                return redirect(url_for("quizzes.results_attempt", quiz_id=quiz.id, attempt_id=attempt.id))
            return redirect(url_for("quizzes.grading", quiz_id=quiz.id))
    db.session.rollback()
    if back_to_attempt:
        flash(_l("Chưa chấm được: %(errors)s", errors=" ".join(str(e) for e in form.mark.errors + form.comment.errors)),
              "danger")
        return redirect(url_for("quizzes.results_attempt", quiz_id=quiz.id, attempt_id=attempt.id))
    return _grading_page(quiz, {aq.id: form}, 422)


# -- regrading ------------------------------------------------------------------------------

@blueprint.route("/<int:quiz_id>/regrade", methods=["GET", "POST"])
@permissions.login
def regrade(quiz_id: int):
    """A confirmation page (how many attempts), then the regrade: in the request for a few
    attempts, as a background job for many."""
    quiz = _quiz(quiz_id)
    count = reporting.finished_count(db.session, quiz)
    form = ConfirmForm()
    if request.method == "POST" and form.validate_on_submit():
        if count == 0:
            flash(_l("Chưa có bài làm nào đã nộp để chấm lại."), "info")
            return redirect(url_for("quizzes.results", quiz_id=quiz.id))
        try:
            if count > reporting.REGRADE_INLINE_MAX:
                job = reporting.submit_regrade(db.session, actor(), quiz, locale=str(get_locale()))
                db.session.commit()
                return redirect(url_for("jobs.detail", job_id=job.id))
            done = attempts.regrade(db.session, actor(), quiz, utcnow())
        except PermissionDenied:
            db.session.rollback()
            abort(403)
        db.session.commit()
        flash(_l("Đã chấm lại %(n)s bài làm theo đáp án hiện hành.", n=done), "success")
        return redirect(url_for("quizzes.results", quiz_id=quiz.id))
    return render_template("quizzes/results/regrade.html", **_common(quiz), form=form, count=count,
                           background=count > reporting.REGRADE_INLINE_MAX)


# -- item analysis --------------------------------------------------------------------------

@blueprint.get("/<int:quiz_id>/analysis")
@permissions.login
def analysis(quiz_id: int):
    quiz = _quiz(quiz_id)
    items = reporting.item_analysis(db.session, quiz)
    return render_template("quizzes/results/analysis.html", **_common(quiz), items=items,
                           finished=reporting.finished_count(db.session, quiz))
