"""Quiz attempts under load, side by side with a floor page on the same stack.

Builds a PostgreSQL database (a fresh ``bench_quiz_…`` database on ``BENCH_PG`` —
default ``postgresql://127.0.0.1:5432`` — dropped afterwards; or ``BENCH_DATABASE_URL``, which
must exist and be empty) with 1,000 trainees enrolled in a course holding a published
10-question quiz (one page of 10 single-choice questions, unlimited attempts), serves the app
with gunicorn (2 workers, production settings, Redis for rate-limit counters) and drives it over
loopback with ``BENCH_CLIENTS`` client processes (default 8), each a logged-in trainee running
complete attempts one after another for ``BENCH_SECONDS`` (default 15):

    start   POST /quizzes/<quiz>/start  (the attempt is created; answered by a redirect)
    page    GET  the attempt page       (10 questions, options in the attempt's order)
    save    POST the page with 10 answers
    submit  POST the submission         (graded on the server; answered by a redirect)

then the same clients for the same time against ``/bench/floor`` (one primary-key query and a
tiny template, ``bench/floor.py``). It prints complete attempts per second, requests per
second, p50/p95/p99 per step and errors, and each step's rate against the floor's.

    .venv/bin/python -m bench.quiz_attempts
    BENCH_CLIENTS=16 BENCH_SECONDS=30 .venv/bin/python -m bench.quiz_attempts
"""

from __future__ import annotations

import http.cookiejar
import json
import multiprocessing
import os
import re
import secrets
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
from datetime import date
from html import unescape
from pathlib import Path

from bench.pages import LEARNERS, PASSWORD, USER_AGENT  # the same accounts and client

SECONDS = int(os.environ.get("BENCH_SECONDS", "15"))
CLIENTS = int(os.environ.get("BENCH_CLIENTS", "8"))
QUESTIONS = int(os.environ.get("BENCH_QUESTIONS", "10"))
PORT = int(os.environ.get("BENCH_PORT", "8766"))
HERE = Path(__file__).resolve().parent
STEPS = ("start", "page", "save", "submit")


# -- the database -------------------------------------------------------------------------------

def fresh_database() -> tuple[str, callable]:
    """A new, empty PostgreSQL database and a function that drops it."""
    import psycopg

    server = os.environ.get("BENCH_PG", "postgresql://127.0.0.1:5432").rstrip("/")
    name = f"bench_quiz_{secrets.token_hex(4)}"
    with psycopg.connect(server + "/postgres", autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')

    def drop() -> None:
        with psycopg.connect(server + "/postgres", autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    return f"postgresql+psycopg://{server.split('://', 1)[1]}/{name}", drop


def build_database(env: dict) -> dict:
    code = f"""
import sys, json
from datetime import datetime, UTC
import sqlalchemy as sa
sys.path.insert(0, {str(HERE.parent)!r})
from flask_migrate import upgrade
from app import app
from lms.db import db
from bench.generate import generate
from courses import services
from courses.models import EnrolmentSource
from lms.models import Person, RoleAssignment
from quizzes import building, services as bank
from quizzes.formats.base import ParsedOption, ParsedQuestion
now = datetime(2026, 3, 1, tzinfo=UTC)
with app.app_context():
    upgrade()
    for loader in app.extensions.get("lms_reference_loaders", []):
        loader(db.session)
    province, ids = generate(db.session, people={LEARNERS} + 1)
    db.session.execute(sa.insert(RoleAssignment), [{{"person_id": ids[0], "role": "trainer"}}])
    db.session.commit()
    trainer = db.session.get(Person, ids[0])
    course = services.create_course(db.session, trainer, services.CourseInput(title="Công ước về quyền trẻ em (đo tải)",
        summary="Khóa học dùng để đo tải", convention_ids=[], audiences=["official"]))
    section = services.add_section(db.session, trainer, course, "Phần 1")
    services.add_lesson(db.session, trainer, section, services.LessonInput(title="Bài 1", body="Nội dung"), now)
    services.set_status(db.session, trainer, course, "published", now)
    category = bank.ensure_path(db.session, trainer, ["Đo tải"])
    questions = []
    for n in range({QUESTIONS}):
        options = [ParsedOption(text=f"Phương án {{k + 1}} của câu {{n + 1}}", fraction=1.0 if k == 0 else 0.0)
                   for k in range(4)]
        parsed = ParsedQuestion(n + 1, 0, "single_choice", f"Câu {{n + 1}}",
                                f"Theo Công ước, câu hỏi số {{n + 1}} có đáp án nào đúng?", options=options)
        questions.append(bank.create_question(db.session, trainer, category, parsed).id)
    quiz = building.create_quiz(db.session, trainer, course, building.QuizSettings(
        title="Bài kiểm tra (đo tải)", attempts_allowed=0, questions_per_page={QUESTIONS}, time_limit_minutes=30))
    building.add_questions(db.session, trainer, quiz, questions)
    building.set_published(db.session, trainer, quiz, True)
    services.enrol_people(db.session, trainer, course, ids[1:], EnrolmentSource.INDIVIDUAL, None, now)
    db.session.commit()
    emails = [p.email for p in db.session.scalars(sa.select(Person).where(Person.id.in_(ids[1:{CLIENTS} + 1])))]
    print(json.dumps({{"quiz": quiz.id, "learners": emails}}))
"""
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True)
    if out.returncode:
        sys.exit(out.stderr[-4000:])
    return json.loads(out.stdout.strip().splitlines()[-1])


# -- a browser ----------------------------------------------------------------------------------

class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


class Client:
    """A logged-in browser that does not follow redirects (a redirect is a step's answer)."""

    def __init__(self, base: str):
        self.base = base
        self.jar = http.cookiejar.CookieJar()
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(self.jar), NoRedirect)
        self.opener.addheaders = [("User-Agent", USER_AGENT)]

    def get(self, path: str) -> tuple[int, str, str]:
        return self._open(urllib.request.Request(self.base + path))

    def post(self, path: str, fields: list[tuple[str, str]]) -> tuple[int, str, str]:
        return self._open(urllib.request.Request(self.base + path, data=urllib.parse.urlencode(fields).encode()))

    def _open(self, request) -> tuple[int, str, str]:
        try:
            with self.opener.open(request, timeout=30) as response:
                return response.status, response.read().decode(), response.headers.get("Location", "")
        except urllib.error.HTTPError as exc:
            return exc.code, exc.read().decode(errors="replace"), exc.headers.get("Location", "")

    def login(self, email: str) -> None:
        _, page, _ = self.get("/login")
        token = csrf(page)
        status, _, location = self.post("/login", [("email", email), ("password", PASSWORD), ("csrf_token", token)])
        if status != 302 or "/login" in location:
            raise SystemExit(f"{email} could not log in ({status})")


def csrf(page: str) -> str:
    return re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page).group(1)


def path_of(location: str) -> str:
    parts = urllib.parse.urlsplit(location)
    return parts.path + (f"?{parts.query}" if parts.query else "")


_FORM = re.compile(r"<form\b[^>]*>.*?</form>", re.S | re.I)
_INPUT = re.compile(r"<input\b[^>]*>", re.I)
_BUTTON = re.compile(r"<button\b[^>]*>", re.I)


def _attr(tag: str, name: str) -> str | None:
    found = re.search(rf'\b{name}="([^"]*)"', tag)
    return unescape(found.group(1)) if found else None


def answer_form(page: str) -> tuple[str, list[tuple[str, str]]]:
    """The attempt page's answer form: its action and fields with the first option of every
    radio group chosen (a trainee answering every question)."""
    form = next(f for f in _FORM.findall(page) if 'type="radio"' in f)
    action = _attr(form[: form.index(">") + 1], "action") or ""
    fields, chosen = [], set()
    for tag in _INPUT.findall(form):
        kind, name, value = _attr(tag, "type") or "text", _attr(tag, "name"), _attr(tag, "value") or ""
        if not name:
            continue
        if kind == "radio":
            if name not in chosen:
                chosen.add(name)
                fields.append((name, value))
        elif kind in ("hidden",):
            fields.append((name, value))
    return action, fields


def finish_form(page: str) -> tuple[str, list[tuple[str, str]]]:
    """The submission page's form: the one whose button finishes the attempt."""
    for form in _FORM.findall(page):
        if "csrf_token" in form and ("submit" in form.lower()):
            action = _attr(form[: form.index(">") + 1], "action") or ""
            fields = [(_attr(t, "name"), _attr(t, "value") or "") for t in _INPUT.findall(form)
                      if _attr(t, "type") == "hidden" and _attr(t, "name")]
            for tag in _BUTTON.findall(form):
                if _attr(tag, "name"):
                    fields.append((_attr(tag, "name"), _attr(tag, "value") or ""))
            return action, fields
    raise AssertionError("no submission form")


# -- the load -----------------------------------------------------------------------------------

def attempt_loop(base: str, email: str, quiz: int, seconds: float, out) -> None:
    """One trainee doing complete attempts until the time is up; puts (timings, errors)."""
    client = Client(base)
    client.login(email)
    _, quiz_page, _ = client.get(f"/quizzes/{quiz}")
    token = csrf(quiz_page)
    timings: dict[str, list[float]] = {step: [] for step in STEPS}
    errors: list[str] = []
    done = 0
    stop = time.monotonic() + seconds
    while time.monotonic() < stop:
        try:
            t0 = time.perf_counter()
            status, _, location = client.post(f"/quizzes/{quiz}/start", [("csrf_token", token)])
            t1 = time.perf_counter()
            assert status in (302, 303) and "/attempts/" in location, f"start: {status}"
            attempt_path = path_of(location)
            status, page, _ = client.get(attempt_path)
            t2 = time.perf_counter()
            assert status == 200, f"page: {status}"
            action, fields = answer_form(page)
            status, _, _ = client.post(path_of(action) or attempt_path, fields)
            t3 = time.perf_counter()
            assert status in (200, 302, 303), f"save: {status}"
            submit_path = attempt_path + "/submit"
            status, _, location = client.post(submit_path, [("csrf_token", token), ("confirm", "1")])
            t4 = time.perf_counter()
            assert status in (302, 303) and "review" in location, f"submit: {status} {location}"
        except (AssertionError, OSError, StopIteration) as exc:
            errors.append(str(exc) or type(exc).__name__)
            continue
        for step, spent in zip(STEPS, (t1 - t0, t2 - t1, t3 - t2, t4 - t3), strict=True):
            timings[step].append(spent * 1000)
        done += 1
    out.put({"timings": timings, "errors": errors, "done": done})


def floor_loop(base: str, email: str, seconds: float, out) -> None:
    client = Client(base)
    client.login(email)
    timings, errors = [], []
    stop = time.monotonic() + seconds
    while time.monotonic() < stop:
        t0 = time.perf_counter()
        status, _, _ = client.get("/bench/floor")
        if status != 200:
            errors.append(str(status))
            continue
        timings.append((time.perf_counter() - t0) * 1000)
    out.put({"timings": {"floor": timings}, "errors": errors, "done": len(timings)})


def run(target, args_of, seconds: float) -> tuple[dict[str, list[float]], list[str], int, float]:
    out = multiprocessing.Queue()
    processes = [multiprocessing.Process(target=target, args=(*args_of(n), seconds, out)) for n in range(CLIENTS)]
    started = time.monotonic()
    for p in processes:
        p.start()
    results = [out.get(timeout=seconds + 120) for _ in processes]
    for p in processes:
        p.join()
    elapsed = time.monotonic() - started
    timings: dict[str, list[float]] = {}
    for result in results:
        for step, values in result["timings"].items():
            timings.setdefault(step, []).extend(values)
    return timings, [e for r in results for e in r["errors"]], sum(r["done"] for r in results), elapsed


def percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    return statistics.quantiles(values, n=100, method="inclusive")[int(q) - 1] if len(values) > 1 else values[0]


def main() -> None:
    folder = Path(tempfile.mkdtemp())
    drop = None
    url = os.environ.get("BENCH_DATABASE_URL")
    if not url:
        url, drop = fresh_database()
    env = {**os.environ, "LMS_ENV": "production", "SECRET_KEY": secrets.token_urlsafe(48), "DATABASE_URL": url,
           "LMS_SECURE_COOKIES": "0", "REDIS_URL": os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/14"),
           "LMS_LOGIN_LIMIT_ACCOUNT": "100000 per minute", "LMS_LOGIN_LIMIT_ADDRESS": "100000 per minute",
           "LMS_STORAGE_PATH": str(folder / "storage"), "LMS_JOBS": "immediate", "PYTHONPATH": str(HERE.parent)}
    server = None
    try:
        ids = build_database(env)
        server = subprocess.Popen([str(Path(sys.executable).parent / "gunicorn"), "bench.floor:app",
                                   "--log-level", "warning", "--workers", "2", "--bind", f"127.0.0.1:{PORT}"],
                                  cwd=str(HERE.parent), env=env)
        base = f"http://127.0.0.1:{PORT}"
        for _ in range(100):
            try:
                urllib.request.urlopen(base + "/healthz", timeout=1)
                break
            except OSError:
                time.sleep(0.2)
        learners = ids["learners"]
        print(f"postgresql, gunicorn x2, {CLIENTS} clients x {SECONDS} s, {LEARNERS} trainees enrolled, "
              f"{QUESTIONS}-question quiz, {date.today()}")
        run(attempt_loop, lambda n: (base, learners[n], ids["quiz"]), 3)  # warm-up
        steps, errors, attempts, elapsed = run(attempt_loop, lambda n: (base, learners[n], ids["quiz"]), SECONDS)
        floor, floor_errors, floor_done, floor_elapsed = run(floor_loop, lambda n: (base, learners[n]), SECONDS)
        floor_rate = floor_done / floor_elapsed
        fl = floor["floor"]
        print(f"{'floor (/bench/floor: 1 PK query, tiny template)':<52} {floor_rate:7.0f} req/s   "
              f"p50 {percentile(fl, 50):6.1f}  p95 {percentile(fl, 95):6.1f}  p99 {percentile(fl, 99):6.1f} ms   "
              f"errors {len(floor_errors)}")
        requests = attempts * len(STEPS)
        print(f"{'complete attempts (start + page + save + submit)':<52} {attempts / elapsed:7.1f} /s     "
              f"({requests / elapsed:.0f} req/s, {100 * requests / elapsed / floor_rate:.0f}% of the floor's rate)   "
              f"errors {len(errors)}")
        for step in STEPS:
            values = steps.get(step, [])
            mean = statistics.fmean(values) if values else float("nan")
            p50, p99 = percentile(values, 50), percentile(values, 99)
            # A step's rate if the server did only that step: clients / mean latency, against the floor's.
            share = 100 * statistics.fmean(fl) / mean if values else float("nan")
            print(f"  {step:<50} p50 {p50:6.1f}  p95 {percentile(values, 95):6.1f}  p99 {p99:6.1f} ms   "
                  f"p99/p50 {p99 / p50:4.1f}   {share:4.0f}% of the floor's rate")
        if errors:
            print("first errors:", errors[:5])
    finally:
        if server is not None:
            server.terminate()
            server.wait(10)
        shutil.rmtree(folder, ignore_errors=True)
        if drop:
            drop()


if __name__ == "__main__":
    main()
