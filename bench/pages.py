"""Pages under load, side by side with a bare page, and log-in throughput.

Builds a database (SQLite in a temporary folder, or ``BENCH_DATABASE_URL`` for an empty
PostgreSQL database) with a course of 1,000 learners, serves the app with gunicorn (2 workers,
production settings, Redis for rate-limit counters as production needs it), and from the same
machine over loopback measures with ``wrk`` (8 connections, ``BENCH_SECONDS`` each):

* the bare page ``/healthz`` (one ``SELECT 1``: the stack's ceiling),
* the home page of a logged-in learner (the page shell alone: log-in session, menu, footer;
  every page costs at least this),
* the catalogue, a course, a lesson and "My learning" of a logged-in learner,

printing requests/s, p50, p95 and the share of the bare page's rate; then log-ins per second
(8 clients in parallel, each GET /login then POST /login, production argon2 cost).

    make bench-tools                    # Debian's wrk
    .venv/bin/python -m bench.pages
    BENCH_DATABASE_URL=postgresql://127.0.0.1:5432/bench_pages .venv/bin/python -m bench.pages
"""

from __future__ import annotations

import http.cookiejar
import os
import re
import secrets
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
import urllib.request
from datetime import UTC, date, datetime
from pathlib import Path

PASSWORD = "Benchmark-Password-2028"
#: The log-in client and wrk send the same browser name: a browser keeps its own, and a
#: changed one makes Flask-Login mark the session "not fresh" (a cookie rewrite per request).
USER_AGENT = "lms-bench/1"
LEARNERS = int(os.environ.get("BENCH_LEARNERS", "1000"))
SECONDS = int(os.environ.get("BENCH_SECONDS", "10"))
CONNECTIONS = 8
PORT = int(os.environ.get("BENCH_PORT", "8765"))
HERE = Path(__file__).resolve().parent
LUA = HERE / "wrk_percentiles.lua"


def build_database(env: dict) -> dict:
    """Migrate and fill the database; returns the ids the pages need."""
    code = f"""
import os, sys, json
from datetime import date, datetime, UTC
import sqlalchemy as sa
sys.path.insert(0, {str(HERE.parent)!r})
from flask_migrate import upgrade
from app import app
from lms.db import db
from lms.actors import SYSTEM
from bench.generate import generate
from courses import services
from courses.models import EnrolmentSource, Lesson
from lms.models import Person, Role, RoleAssignment
now = datetime(2025, 3, 1, tzinfo=UTC)
with app.app_context():
    upgrade()
    for loader in app.extensions.get("lms_reference_loaders", []):
        loader(db.session)
    province, ids = generate(db.session, people={LEARNERS})
    db.session.execute(sa.insert(RoleAssignment), [{{"person_id": ids[0], "role": "trainer"}}])
    db.session.commit()
    trainer = db.session.get(Person, ids[0])
    course = services.create_course(db.session, trainer, services.CourseInput(title="Quyền trẻ em (đo tải)",
        summary="Khóa học dùng để đo tải", convention_ids=[], audiences=["official"]))
    section = services.add_section(db.session, trainer, course, "Phần 1")
    for n in range(6):
        services.add_lesson(db.session, trainer, section, services.LessonInput(title=f"Bài {{n + 1}}",
            body="Nội dung **bài học** " * 40), now)
    services.set_status(db.session, trainer, course, "published", now)
    for n in range(11):
        other = services.create_course(db.session, trainer, services.CourseInput(title=f"Khóa học khác {{n}}"))
        s = services.add_section(db.session, trainer, other, "Phần 1")
        services.add_lesson(db.session, trainer, s, services.LessonInput(title="Bài 1"), now)
        services.set_status(db.session, trainer, other, "published", now)
    services.enrol_people(db.session, trainer, course, ids[1:], EnrolmentSource.INDIVIDUAL, None, now)
    db.session.commit()
    lesson = db.session.scalar(sa.select(Lesson.id).where(Lesson.course_id == course.id).order_by(Lesson.position))
    learner = db.session.get(Person, ids[1])
    print(json.dumps({{"course": course.id, "lesson": lesson, "learner": learner.email,
                      "learners": [p.email for p in db.session.scalars(sa.select(Person).where(Person.id.in_(ids[1:41])))]}}))
"""
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    import json

    return json.loads(out.stdout.strip().splitlines()[-1])


class Client:
    """A logged-in browser: cookies, CSRF token from the log-in form."""

    def __init__(self, base: str):
        self.base = base
        self.jar = http.cookiejar.CookieJar()
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(self.jar))
        self.opener.addheaders = [("User-Agent", USER_AGENT)]

    def login(self, email: str) -> bool:
        page = self.opener.open(self.base + "/login").read().decode()
        token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)
        data = urllib.parse.urlencode({"email": email, "password": PASSWORD, "csrf_token": token}).encode()
        response = self.opener.open(urllib.request.Request(self.base + "/login", data=data))
        return "/login" not in response.geturl()

    def cookie_header(self) -> str:
        return "; ".join(f"{c.name}={c.value}" for c in self.jar)


def wrk(url: str, cookie: str | None) -> dict:
    command = ["wrk", "-t2", f"-c{CONNECTIONS}", f"-d{SECONDS}s", "--timeout", "5s", "-s", str(LUA),
               "-H", f"User-Agent: {USER_AGENT}", url]
    if cookie:
        command[1:1] = ["-H", f"Cookie: {cookie}"]
    out = subprocess.run(command, capture_output=True, text=True, check=True).stdout
    figures = dict(re.findall(r"^(p50|p95|rps|errors|non2xx)=([\d.]+)$", out, re.M))
    return {key: float(value) for key, value in figures.items()}


def logins_per_second(base: str, emails: list[str], seconds: int) -> tuple[float, int]:
    done, failed = [], []
    stop = time.monotonic() + seconds

    def worker(n: int) -> None:
        i = n
        while time.monotonic() < stop:
            ok = Client(base).login(emails[i % len(emails)])
            (done if ok else failed).append(1)
            i += CONNECTIONS

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(CONNECTIONS)]
    started = time.monotonic()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return len(done) / (time.monotonic() - started), len(failed)


def main() -> None:
    if shutil.which("wrk") is None:
        sys.exit("wrk is needed: make bench-tools (Debian's package)")
    folder = Path(tempfile.mkdtemp())
    url = os.environ.get("BENCH_DATABASE_URL") or f"sqlite:///{folder}/bench.sqlite3"
    env = {**os.environ, "LMS_ENV": "production", "SECRET_KEY": secrets.token_urlsafe(48), "DATABASE_URL": url,
           "LMS_SECURE_COOKIES": "0", "REDIS_URL": os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/14"),
           "LMS_LOGIN_LIMIT_ACCOUNT": "100000 per minute", "LMS_LOGIN_LIMIT_ADDRESS": "100000 per minute",
           "LMS_STORAGE_PATH": str(folder / "storage"), "LMS_JOBS": "immediate", "PYTHONPATH": str(HERE.parent),
           "LMS_BIND": f"127.0.0.1:{PORT}", "WEB_CONCURRENCY": "2"}
    ids = build_database(env)
    server = subprocess.Popen([str(Path(sys.executable).parent / "gunicorn"), "app:app", "--log-level", "warning",
                               "--workers", "2", "--bind", f"127.0.0.1:{PORT}"], cwd=str(HERE.parent), env=env)
    base = f"http://127.0.0.1:{PORT}"
    try:
        for _ in range(100):
            try:
                urllib.request.urlopen(base + "/healthz", timeout=1)
                break
            except OSError:
                time.sleep(0.2)
        learner = Client(base)
        assert learner.login(ids["learner"]), "the learner could not log in"
        cookie = learner.cookie_header()
        pages = [("bare page (/healthz, SELECT 1)", "/healthz", None),
                 ("home page (logged in: the shell)", "/", cookie),
                 ("catalogue", "/courses/", cookie),
                 (f"course page ({LEARNERS} learners)", f"/courses/{ids['course']}", cookie),
                 ("lesson page", f"/courses/{ids['course']}/lessons/{ids['lesson']}", cookie),
                 ("My learning", "/courses/my", cookie)]
        dialect = url.split(":", 1)[0]
        print(f"{dialect}, gunicorn x2, wrk {CONNECTIONS} connections x {SECONDS} s, {date.today()}")
        bare = None
        for label, path, with_cookie in pages:
            check = urllib.request.Request(base + path, headers={"Cookie": with_cookie} if with_cookie else {})
            opened = urllib.request.urlopen(check)
            assert opened.status == 200 and "/login" not in opened.geturl(), path  # the real page, logged in
            warm_up = ["wrk", "-t1", "-c2", "-d2s", "-H", f"User-Agent: {USER_AGENT}", base + path]
            subprocess.run(warm_up + (["-H", f"Cookie: {with_cookie}"] if with_cookie else []), capture_output=True)
            result = wrk(base + path, with_cookie)
            bare = bare or result["rps"]
            share = f"{100 * result['rps'] / bare:5.0f}%"
            print(f"{label:<36} {result['rps']:8.0f} req/s   p50 {result['p50']:6.1f} ms   "
                  f"p95 {result['p95']:6.1f} ms   {share} of bare   non-2xx {int(result.get('non2xx', 0))}")
        rate, failed = logins_per_second(base, ids["learners"], SECONDS)
        print(f"{'log-in (GET form + POST, argon2id)':<36} {rate:8.1f} /s   failed {failed}")
    finally:
        server.terminate()
        server.wait(10)
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    started = datetime.now(UTC)
    main()
