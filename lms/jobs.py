"""Background jobs: long work runs outside the request, on huey.

Queue storage follows the deployment (``LMS_JOBS``): huey's SQLite storage in a file under
``instance/`` for the embedded default, Redis when ``REDIS_URL`` is set, and "immediate" in the
test suite (a job runs as soon as its transaction commits, in a context of its own). The worker
is ``flask --app app lms worker``; ``make run`` starts one beside the development server.

A feature registers a kind of job with :func:`kind` and queues one with :func:`submit` inside
its transaction; the job is sent to the queue only once that transaction commits (a rolled-back
request queues nothing). The worker then:

1. claims the job (``queued`` → ``running``, a guarded update, so it runs once);
2. runs it as the person who asked (their permissions apply; the system actor for jobs queued by
   nobody), in their interface language, in one transaction;
3. commits the work together with ``done`` and the result, or rolls everything back and records
   ``failed`` with the reasons: a failed job leaves nothing half-written.

Progress is written to the queue's storage (not the database, whose write lock the job holds on
SQLite), so the page (:mod:`lms.views.jobs`) can show it while the job runs.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import sqlalchemy as sa
from flask import Flask, current_app
from flask_babel import force_locale
from sqlalchemy.orm import Session, scoped_session

from lms.actors import SYSTEM_JOB, Actor
from lms.db import db, utcnow
from lms.errors import ServiceError
from lms.i18n import lazy_gettext as _l
from lms.models import Job, JobStatus, Person

log = logging.getLogger(__name__)

MODES = ("immediate", "sqlite", "redis")
#: Files produced by jobs (exports) are kept this long.
OUTPUT_TTL = timedelta(days=7)


# -- kinds ----------------------------------------------------------------------------------

@dataclass
class Context:
    """What a running job gets: the session, who it acts for, its row and its parameters."""

    session: Session
    actor: Actor
    job: Job
    progress: Progress

    @property
    def params(self) -> dict[str, Any]:
        return self.job.params or {}


@dataclass(frozen=True)
class Kind:
    name: str
    #: The work: returns the result (JSON-able counts) or raises :class:`ServiceError`.
    run: Callable[[Context], dict[str, Any]]
    #: What the page calls it: ``title(job)`` → text.
    title: Callable[[Job], Any]
    #: One line on the finished job: ``summary(job)`` → text (default: none).
    summary: Callable[[Job], Any] | None = None
    #: Where to go from the finished job: ``(url, label)`` or None.
    next_step: Callable[[Job], tuple[str, Any] | None] | None = None
    #: May this person still download the job's file? (checked again at every download)
    may_download: Callable[[Session, Actor, Job], bool] | None = None


_KINDS: dict[str, Kind] = {}


def kind(name: str, *, title: Callable[[Job], Any], summary: Callable[[Job], Any] | None = None,
         next_step: Callable[[Job], tuple[str, Any] | None] | None = None,
         may_download: Callable[[Session, Actor, Job], bool] | None = None):
    """Register the function below as the job kind ``name``."""

    def register(run: Callable[[Context], dict[str, Any]]) -> Callable[[Context], dict[str, Any]]:
        _KINDS[name] = Kind(name, run, title, summary, next_step, may_download)
        return run

    return register


def kind_of(job: Job) -> Kind | None:
    return _KINDS.get(job.kind)


# -- progress -------------------------------------------------------------------------------

@dataclass
class Progress:
    """Counts done / total, published at most a few times a second."""

    job_id: int | None = None
    total: int | None = None
    done: int = 0
    on_change: Callable[[int, int | None], None] | None = None
    _last: float = field(default=0.0, repr=False)

    def start(self, total: int | None) -> None:
        self.total = total
        self._publish(force=True)

    def advance(self, n: int = 1) -> None:
        self.done += n
        self._publish()

    def _publish(self, force: bool = False) -> None:
        if self.on_change is not None:
            self.on_change(self.done, self.total)
        now = time.monotonic()
        if self.job_id is None or (not force and now - self._last < 0.3):
            return
        self._last = now
        try:
            queue().put(_progress_key(self.job_id), (self.done, self.total))
        except Exception:  # pragma: no cover - progress is a courtesy; the job goes on
            log.warning("could not publish the progress of job %s", self.job_id, exc_info=True)


def _progress_key(job_id: int) -> str:
    return f"lms-job-progress-{job_id}"


def progress_of(job: Job) -> tuple[int, int | None]:
    """(done, total) of a job: live while it runs, recorded once it has finished."""
    if job.status == JobStatus.RUNNING:
        try:
            live = queue().get(_progress_key(job.id), peek=True)
        except Exception:  # pragma: no cover
            live = None
        if live:
            return int(live[0]), (int(live[1]) if live[1] is not None else None)
    return job.progress_done, job.progress_total


# -- queueing -------------------------------------------------------------------------------

def _real(session) -> Session:
    return session() if isinstance(session, scoped_session) else session


def submit(session: Session, actor: Actor, name: str, params: dict[str, Any] | None = None, *,
           locale: str | None = None, total: int | None = None) -> Job:
    """Queue a job of kind ``name`` for ``actor``. The row is added to ``session``; the job is
    sent to the worker once the transaction commits (never if it rolls back). Parameters whose
    name starts with ``_`` (a password's hash, say) are dropped when the job ends."""
    if name not in _KINDS:
        raise KeyError(f"unknown job kind {name!r}")
    sweep_stale(session, utcnow())
    params = dict(params or {})
    params["by_system"] = actor.id is None  # a job whose person is gone later must not run as the system
    job = Job(kind=name, status=JobStatus.QUEUED, actor_id=actor.id, params=params, locale=locale,
              progress_total=total, created_at=utcnow())
    session.add(job)
    session.flush()
    real = _real(session)
    real.info.setdefault("lms_jobs_to_send", []).append(job.id)
    return job


@sa.event.listens_for(Session, "after_commit")
def _send_after_commit(session: Session) -> None:
    if session.in_nested_transaction():
        return
    ids = session.info.pop("lms_jobs_to_send", None)
    for job_id in ids or ():
        _send(job_id)


@sa.event.listens_for(Session, "after_rollback")
def _forget_after_rollback(session: Session) -> None:
    if not session.in_nested_transaction():
        session.info.pop("lms_jobs_to_send", None)


def _send(job_id: int) -> None:
    app = current_app._get_current_object()
    app.extensions["lms_run_job"](job_id)


def queue():
    """The app's huey instance."""
    return current_app.extensions["lms_huey"]


# -- running --------------------------------------------------------------------------------

def _public(params: dict | None) -> dict:
    """Parameters without the secret ones (``_name``: used once by the job, never kept)."""
    return {key: value for key, value in (params or {}).items() if not key.startswith("_")}


#: A job still queued or running this long after it was asked for is declared failed (its worker
#: died, or its message was lost) and its secret parameters are dropped.
STALE_AFTER = timedelta(hours=6)


def _fail(session: Session, job_id: int, lines: list[str]) -> None:
    session.rollback()
    params = session.scalar(sa.select(Job.params).where(Job.id == job_id))
    session.execute(sa.update(Job).where(Job.id == job_id).values(
        status=JobStatus.FAILED, errors=[str(line)[:2000] for line in lines[:200]], finished_at=utcnow(),
        params=_public(params)))
    session.commit()


def sweep_stale(session: Session, now) -> int:
    """Fail the jobs nobody will finish (see :data:`STALE_AFTER`); part of the caller's transaction."""
    stale = session.scalars(sa.select(Job).where(Job.status.in_((JobStatus.QUEUED, JobStatus.RUNNING)),
                                                 Job.created_at < now - STALE_AFTER).limit(100)).all()
    for job in stale:
        job.status, job.finished_at, job.params = JobStatus.FAILED, now, _public(job.params)
        job.errors = [str(_l("Công việc không được xử lý xong (tiến trình xử lý đã dừng). Hãy thử lại."))]
    return len(stale)


def execute(app: Flask, job_id: int) -> None:
    """Run job ``job_id`` once, in an application context of its own."""
    with app.app_context():
        session = db.session
        try:
            _execute(app, session, job_id)
        finally:
            session.remove()


def _execute(app: Flask, session: Session, job_id: int) -> None:
    claimed = session.execute(
        sa.update(Job).where(Job.id == job_id, Job.status == JobStatus.QUEUED)
        .values(status=JobStatus.RUNNING, started_at=utcnow())
        .execution_options(synchronize_session=False)).rowcount
    session.commit()
    if claimed != 1:
        return  # someone else ran it, or it is gone
    job = session.get(Job, job_id)
    kind_name = job.kind
    registered = _KINDS.get(kind_name)
    locale = job.locale or app.config["BABEL_DEFAULT_LOCALE"]
    with force_locale(locale):
        if registered is None:
            _fail(session, job_id, [str(_l("Không rõ loại tác vụ “%(kind)s”.", kind=kind_name))])
            return
        actor: Actor = SYSTEM_JOB
        if job.actor_id is not None:
            actor = session.get(Person, job.actor_id)
            if actor is None or not actor.active:
                _fail(session, job_id, [str(_l("Tài khoản yêu cầu tác vụ này không còn hoạt động."))])
                return
        elif not (job.params or {}).get("by_system"):
            # asked by a person whose account is gone: never run it with the system's rights
            _fail(session, job_id, [str(_l("Tài khoản yêu cầu tác vụ này không còn hoạt động."))])
            return
        progress = Progress(job_id=job_id, total=job.progress_total)
        try:
            result = registered.run(Context(session, actor, job, progress))
            job.result = result
            job.params = _public(job.params)
            job.status = JobStatus.DONE
            job.finished_at = utcnow()
            job.progress_done, job.progress_total = progress.done, progress.total
            session.commit()
        except ServiceError as exc:
            lines = [str(exc.message)] + [str(line) for line in getattr(exc, "lines", ())]
            _safe_fail(session, job_id, lines)
        except Exception as exc:
            session.rollback()
            # the type only: a database error's text carries the values it was writing
            log.error("job %s (%s) failed: %s", job_id, kind_name, type(exc).__name__)
            _safe_fail(session, job_id, [str(_l(
                "Tác vụ gặp lỗi hệ thống và đã dừng; không có thay đổi nào được ghi. "
                "Vui lòng thử lại hoặc báo quản trị viên."))])
        finally:
            try:
                queue().get(_progress_key(job_id))  # removes it
            except Exception:  # pragma: no cover
                pass


def _safe_fail(session: Session, job_id: int, lines: list[str]) -> None:
    try:
        _fail(session, job_id, lines)
    except Exception:  # the database itself is failing; the sweep will mark it later
        session.rollback()
        log.error("job %s: could not record its failure", job_id)


# -- wiring ---------------------------------------------------------------------------------

def jobs_mode(config) -> str:
    mode = config.get("LMS_JOBS")
    if mode:
        return mode
    if config.get("TESTING"):
        return "immediate"
    return "redis" if config.get("REDIS_URL") else "sqlite"


def init_jobs(app: Flask) -> None:
    """Create the app's queue and its one task, ``lms.run_job``."""
    from huey import MemoryHuey, RedisHuey, SqliteHuey

    mode = jobs_mode(app.config)
    if mode == "immediate":
        huey = MemoryHuey("lms", immediate=True)
    elif mode == "redis":
        huey = RedisHuey("lms", url=app.config["REDIS_URL"])
    else:
        path = app.config.get("LMS_JOBS_PATH") or os.path.join(app.instance_path, "jobs.sqlite3")
        huey = SqliteHuey("lms", filename=path)

    @huey.task(name="lms.run_job", retries=0)
    def run_job(job_id: int) -> None:
        execute(app, job_id)

    app.extensions["lms_huey"] = huey
    app.extensions["lms_run_job"] = run_job


def cleanup_outputs(session: Session, now) -> int:
    """Forget files produced by jobs longer ago than :data:`OUTPUT_TTL` (the storage keeps
    nothing else of them)."""
    from lms.storage import delete_after_commit

    stale = session.scalars(sa.select(Job).where(Job.output_key.is_not(None),
                                                 Job.finished_at < now - OUTPUT_TTL).limit(200)).all()
    for job in stale:
        delete_after_commit(session, job.output_key)
        job.output_key = None
    return len(stale)
