"""Concurrent writers (issue 7): log-ins and self-enrolments while another transaction holds the
write lock, on SQLite (WAL, busy timeout) and on PostgreSQL (run with ``TEST_DATABASE_URL``).

Requests run in parallel threads, each with its own test client, against the test database
file (or PostgreSQL database) while a separate connection keeps a long write transaction open.
Whatever happens, no request fails with 500: each succeeds once the lock is released, or, if it
waited longer than the database allows, is rolled back and answered 503 with ``Retry-After`` and
a Vietnamese page — with nothing of it written.
"""

from __future__ import annotations

import sqlite3
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from datetime import timedelta

import psycopg.errors
import pytest
import sqlalchemy as sa

from courses.models import Enrolment
from lms.db import db, is_lock_conflict, utcnow
from lms.models import LoginSession
from tests.conftest import TEST_PASSWORD, count_rows
from tests.courses.conftest import make_course, trainer  # noqa: F401  (fixtures)
from tests.security import ON_POSTGRES, login

LOGINS = 4
ENROLMENTS = 2


@contextmanager
def write_lock(url: str):
    """A separate connection holding a write transaction on the log-in and enrolment tables until
    the block ends (SQLite: the database's write lock; PostgreSQL: an EXCLUSIVE table lock, which
    lets readers in and keeps every writer out)."""
    if url.startswith("sqlite"):
        raw = sqlite3.connect(sa.make_url(url).database, isolation_level=None, check_same_thread=False)
        raw.execute("BEGIN IMMEDIATE")
        raw.execute("UPDATE login_sessions SET last_seen_at = last_seen_at")
        try:
            yield
        finally:
            raw.execute("COMMIT")
            raw.close()
        return
    engine = sa.create_engine(url)
    with engine.connect() as conn:
        conn.execute(sa.text("LOCK TABLE login_sessions, enrolments IN EXCLUSIVE MODE"))
        try:
            yield
        finally:
            conn.commit()
    engine.dispose()


def engine_options(lock_timeout_ms: int | None) -> dict:
    options = {"pool_pre_ping": True, "hide_parameters": True}
    if ON_POSTGRES and lock_timeout_ms is not None:
        options["connect_args"] = {"options": f"-c lock_timeout={lock_timeout_ms}"}
    return options


@pytest.fixture
def crowd(make_person):
    names = ("An", "Bình", "Chi", "Dũng", "Giang", "Hà", "Khánh", "Lan")
    people = [make_person(name=f"Nguyễn Văn {names[i]}", email=f"hv{i}@example.vn")
              for i in range(LOGINS + ENROLMENTS)]
    return people[:LOGINS], people[LOGINS:]


def run_in_parallel(app, emails, signed_in, course_id):
    """Log-ins with ``emails`` and self-enrolments by the ``signed_in`` clients, all at once
    (plain values only: the test's objects belong to its own thread)."""
    start = threading.Barrier(len(emails) + len(signed_in))
    enrol_url = f"/courses/{course_id}/enrol"

    def log_in(email):
        client = app.test_client()
        start.wait()
        return client.post("/login", data={"email": email, "password": TEST_PASSWORD})

    def enrol(client):
        start.wait()
        return client.post(enrol_url)

    with ThreadPoolExecutor(max_workers=len(emails) + len(signed_in)) as pool:
        futures = [pool.submit(log_in, e) for e in emails] + [pool.submit(enrol, c) for c in signed_in]
        return [f.result(timeout=60) for f in futures]


def busy(response) -> bool:
    return (response.status_code == 503 and response.headers.get("Retry-After", "").isdigit()
            and "Hệ thống đang bận" in response.get_data(as_text=True))


def test_sqlite_connections_use_wal_and_the_configured_busy_timeout(app_factory):
    app = app_factory(LMS_SQLITE_BUSY_TIMEOUT_MS=1234)
    with app.app_context():
        if db.engine.dialect.name != "sqlite":
            pytest.skip("SQLite only: PostgreSQL connections are left as they are")
        with db.engine.connect() as conn:
            assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
            assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar() == 1234
            assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1


def test_writers_wait_for_a_lock_and_then_succeed(app_factory, database_url, crowd, make_course):  # noqa: F811
    """A lock released well within the busy timeout: every write goes through."""
    app = app_factory(LMS_SQLITE_BUSY_TIMEOUT_MS=10_000, SQLALCHEMY_ENGINE_OPTIONS=engine_options(None))
    with app.app_context():
        course = make_course()
        logins, enrollers = crowd
        signed_in = [login(app, person.email) for person in enrollers]
        sessions = count_rows(LoginSession)
        db.session.commit()
        with ThreadPoolExecutor(max_workers=1) as background:
            with write_lock(database_url):
                pending = background.submit(run_in_parallel, app, [p.email for p in logins], signed_in, course.id)
                time.sleep(0.5)  # every request is now waiting for the lock
                assert not pending.done()
            responses = pending.result(timeout=60)
        assert [r.status_code for r in responses] == [302] * (LOGINS + ENROLMENTS)
        db.session.expire_all()
        assert count_rows(LoginSession) == sessions + LOGINS
        assert count_rows(Enrolment) == ENROLMENTS


def test_a_lock_held_too_long_gives_503_not_500(app_factory, database_url, crowd, make_course):  # noqa: F811
    app = app_factory(LMS_SQLITE_BUSY_TIMEOUT_MS=100, SQLALCHEMY_ENGINE_OPTIONS=engine_options(100))
    with app.app_context():
        course = make_course()
        logins, enrollers = crowd
        signed_in = [login(app, person.email) for person in enrollers]
        reader = login(app, logins[0].email)
        sessions_before = count_rows(LoginSession)
        db.session.commit()
        with write_lock(database_url):
            responses = run_in_parallel(app, [p.email for p in logins], signed_in, course.id)
            # readers are not shut out while the write lock is held
            assert app.test_client().get("/login").status_code == 200
            assert reader.get("/").status_code == 200
        statuses = [r.status_code for r in responses]
        assert 500 not in statuses
        assert all(r.status_code == 302 or busy(r) for r in responses), statuses
        assert statuses.count(503) == LOGINS + ENROLMENTS  # the lock outlived every request
        db.session.expire_all()
        assert count_rows(LoginSession) == sessions_before  # rolled back: nothing half-written
        assert count_rows(Enrolment) == 0
        # once the lock is gone, the same requests go through
        assert app.test_client().post("/login", data={"email": logins[1].email,
                                                       "password": TEST_PASSWORD}).status_code == 302


def test_a_due_last_seen_update_does_not_fail_the_page(app_factory, database_url, crowd):
    """The "last seen" mark written after a signed-in page is skipped while the lock is held."""
    app = app_factory(LMS_SQLITE_BUSY_TIMEOUT_MS=100, SQLALCHEMY_ENGINE_OPTIONS=engine_options(100))
    with app.app_context():
        person = crowd[0][0]
        client = login(app, person.email)
        db.session.execute(sa.update(LoginSession).values(last_seen_at=utcnow() - timedelta(minutes=30)))
        db.session.commit()
        with write_lock(database_url):
            assert client.get("/").status_code == 200
        assert client.get("/").status_code == 200  # and marked afterwards
        db.session.expire_all()
        seen = db.session.scalar(sa.select(sa.func.max(LoginSession.last_seen_at)))
        assert utcnow() - seen < timedelta(minutes=1)


@pytest.mark.parametrize("error", [
    sqlite3.OperationalError("database is locked"),
    sqlite3.OperationalError("database table is locked"),
    psycopg.errors.LockNotAvailable("canceling statement due to lock timeout"),
    psycopg.errors.SerializationFailure("could not serialize access"),
    psycopg.errors.DeadlockDetected("deadlock detected"),
])
def test_what_counts_as_a_lost_race_for_a_lock(error):
    assert is_lock_conflict(sa.exc.OperationalError("UPDATE ...", {}, error))


@pytest.mark.parametrize("error", [
    sqlite3.OperationalError("no such table: x"),
    sqlite3.OperationalError("database or disk is full"),
    psycopg.errors.UndefinedTable("relation does not exist"),
])
def test_other_database_errors_are_not_a_busy_database(error):
    assert not is_lock_conflict(sa.exc.OperationalError("SELECT ...", {}, error))
