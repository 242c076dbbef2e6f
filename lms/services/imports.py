"""Imports from spreadsheets, the same way for every list: upload → preview → confirm → done.

1. An importer (the roster: :mod:`lms.services.roster`; the organisation tree:
   :mod:`lms.services.unit_import`) reads the file with :mod:`lms.spreadsheet` and checks every row
   against the database and the acting person's scope, returning a :class:`Preview`: each row's
   problems, or what it will do (create, update, nothing). Nothing is written.
2. The uploaded bytes wait in an :class:`ImportBatch` (so any worker can apply them): :func:`stage`.
3. Confirming (:func:`confirm`) checks again and queues the ``imports.apply`` job. The job checks
   once more (the database may have changed) and writes every row through the services (which
   check permissions and write their own audit entries) or nothing at all. A large import never
   runs inside a request.

The command line runs the same check and apply in-process, with a progress bar.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from lms import jobs
from lms.actors import Actor
from lms.errors import NotFound, ServiceError
from lms.i18n import lazy_gettext as _l
from lms.models import ImportBatch, ImportStatus, Job, JobStatus
from lms.text import clean, is_formula_like
from lms.timeutil import local_day

#: Pending batches older than this are refused.
BATCH_TTL = timedelta(days=1)
FILENAME_MAX = 120


# -- previews -------------------------------------------------------------------------------

@dataclass
class Problem:
    #: The column concerned (its translatable label), if any.
    column: Any
    message: Any
    #: Position of the column in the template, to list a row's problems left to right.
    order: int = 999

    def __str__(self) -> str:
        return f"{self.column}: {self.message}" if self.column else str(self.message)


@dataclass
class RowResult:
    number: int
    #: What identifies the row on screen (column key → text), in :attr:`Preview.shown` order.
    shown: dict[str, str] = field(default_factory=dict)
    action: str = "error"  # create | update | unchanged | error
    changes: list = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    plan: Any = None

    @property
    def ok(self) -> bool:
        return not self.problems


@dataclass
class Preview:
    kind: str
    filename: str
    #: The columns that identify a row on screen: ``(key, label)``.
    shown: list[tuple[str, Any]] = field(default_factory=list)
    rows: list[RowResult] = field(default_factory=list)
    file_errors: list = field(default_factory=list)
    ignored_columns: list[str] = field(default_factory=list)

    @property
    def problem_rows(self) -> list[RowResult]:
        return [r for r in self.rows if r.problems]

    @property
    def ok(self) -> bool:
        return not self.file_errors and not self.problem_rows and bool(self.rows)

    def count(self, action: str) -> int:
        return sum(1 for r in self.rows if r.action == action and not r.problems)

    @property
    def counts(self) -> dict[str, int]:
        return {"rows": len(self.rows), "create": self.count("create"), "update": self.count("update"),
                "unchanged": self.count("unchanged"), "errors": len(self.problem_rows)}

    @property
    def has_changes(self) -> bool:
        return self.count("create") + self.count("update") > 0

    def messages(self) -> list[str]:
        """Every problem as one line of text (the command line, a failed job's page)."""
        lines = [str(e) for e in self.file_errors]
        for row in self.problem_rows:
            for problem in row.problems:
                lines.append(str(_l("Dòng %(n)s: %(problem)s", n=row.number, problem=str(problem))))
        return lines


class ImportRejected(ServiceError):
    """At least one row has a problem: nothing was written. ``preview`` tells which."""

    def __init__(self, preview: Preview):
        super().__init__(_l("Danh sách còn lỗi nên chưa có thay đổi nào được ghi. Hãy sửa tệp rồi tải lên lại."))
        self.preview = preview

    @property
    def lines(self) -> list[str]:
        return self.preview.messages()


# -- importers ------------------------------------------------------------------------------

@dataclass(frozen=True)
class Importer:
    kind: str
    #: Read and check a file: ``check(session, actor, content, filename, today=...)``.
    check: Callable[..., Preview]
    #: Write a checked file: ``apply(session, actor, content, filename, today=..., password_hash=..., progress=...)``.
    apply: Callable[..., dict[str, int]]
    #: May ``actor`` use this import at all?
    allowed: Callable[[Session, Actor], bool]
    #: New rows need an initial password (people).
    needs_password: bool = False
    #: What the page calls this import.
    title: Any = None
    #: Endpoint of the list the imported rows land in.
    done_endpoint: str = "main.index"


IMPORTERS: dict[str, Importer] = {}


def register(importer: Importer) -> Importer:
    IMPORTERS[importer.kind] = importer
    return importer


def importer_for(kind: str) -> Importer:
    return IMPORTERS[kind]


# -- pending batches ------------------------------------------------------------------------

def clean_filename(name: str | None) -> str:
    name = (name or "").replace("\\", "/").rsplit("/", 1)[-1]
    name = clean(name)
    name = re.sub(r'[<>:"|?*]', "_", name)
    if is_formula_like(name):
        name = "_" + name
    return name[:FILENAME_MAX] or "danh-sach"


def _require(session: Session, actor: Actor, importer: Importer) -> None:
    if not importer.allowed(session, actor):
        from lms.errors import PermissionDenied

        raise PermissionDenied(_l("Bạn không có quyền nhập danh sách này."))


def stage(session: Session, actor: Actor, kind: str, filename: str, content: bytes, now: datetime) -> ImportBatch:
    """Keep an uploaded (and already checked) file until its uploader confirms it."""
    _require(session, actor, importer_for(kind))
    for stale in session.scalars(sa.select(ImportBatch).where(ImportBatch.status == ImportStatus.PENDING,
                                                              ImportBatch.created_at < now - BATCH_TTL).limit(100)):
        session.delete(stale)
    batch = ImportBatch(token=secrets.token_urlsafe(32), kind=kind, actor_id=actor.id,
                        filename=clean_filename(filename), content=content, status=ImportStatus.PENDING,
                        created_at=now)
    session.add(batch)
    session.flush()
    return batch


_TOKEN_RE = re.compile(r"^[A-Za-z0-9_-]{16,64}$")


def get_batch(session: Session, actor: Actor, token: str) -> ImportBatch:
    """The batch with ``token`` uploaded by ``actor``; :class:`NotFound` for anyone else's."""
    if not token or not _TOKEN_RE.match(token):
        raise NotFound(_l("Không tìm thấy danh sách đã tải lên."))
    batch = session.scalar(sa.select(ImportBatch).where(ImportBatch.token == token,
                                                        ImportBatch.actor_id == actor.id))
    if batch is None or batch.kind not in IMPORTERS:
        raise NotFound(_l("Không tìm thấy danh sách đã tải lên."))
    return batch


def require_pending(batch: ImportBatch, now: datetime) -> None:
    if batch.status == ImportStatus.APPLIED:
        raise ServiceError(_l("Danh sách này đã được nhập rồi; không thể nhập lại lần nữa."))
    if batch.status != ImportStatus.PENDING:
        raise ServiceError(_l("Danh sách này đã bị hủy. Hãy tải tệp lên lại."))
    if batch.created_at < now - BATCH_TTL:
        raise ServiceError(_l("Bản xem trước đã quá hạn (hơn một ngày). Hãy tải tệp lên lại."))


def check_batch(session: Session, actor: Actor, batch: ImportBatch, *, today: date) -> Preview:
    return importer_for(batch.kind).check(session, actor, batch.content, batch.filename, today=today)


def running_job(session: Session, batch: ImportBatch) -> Job | None:
    """The job already applying this batch (a second click on "Nhập" finds it)."""
    if batch.job_id is None:
        return None
    job = session.get(Job, batch.job_id)
    return job if job is not None and job.status in (JobStatus.QUEUED, JobStatus.RUNNING) else None


def confirm(session: Session, actor: Actor, batch: ImportBatch, *, password: str | None, now: datetime,
            locale: str | None = None) -> Job:
    """Check the batch again and queue the job that applies it. Raises :class:`ImportRejected`
    (the file no longer passes), or :class:`ServiceError` on ``password``."""
    require_pending(batch, now)
    already = running_job(session, batch)
    if already is not None:
        return already
    importer = importer_for(batch.kind)
    _require(session, actor, importer)
    preview = check_batch(session, actor, batch, today=local_day(now))
    if not preview.ok:
        raise ImportRejected(preview)
    password_hash = None
    if importer.needs_password:
        password_hash = initial_password_hash(preview, password)
    job = jobs.submit(session, actor, "imports.apply",
                      {"batch": batch.id, "kind": batch.kind, "_password_hash": password_hash},
                      locale=locale, total=len(preview.rows))
    batch.job_id = job.id
    session.flush()
    return job


def initial_password_hash(preview: Preview, password: str | None) -> str | None:
    """The argon2 hash of the initial password of the rows that create accounts, after checking
    it against the policy once and against each new person's name and e-mail; None when no row
    creates an account."""
    from lms.passwords import hash_password, personal_problems, shared_password_problems

    creating = [r for r in preview.rows if r.action == "create"]
    if not creating:
        return None
    if not password:
        raise ServiceError(_l("Vui lòng nhập mật khẩu ban đầu."), "password")
    problems = shared_password_problems(password)
    if problems:
        raise ServiceError(problems[0], "password")
    refused: list[int] = []
    for row in creating:
        cleaned = row.plan.cleaned
        if personal_problems(password, (cleaned.full_name, cleaned.email)):
            refused.append(row.number)
    if refused:
        message = _l("Mật khẩu không được chứa tên hoặc địa chỉ thư điện tử của người được nhập (dòng %(rows)s).",
                     rows=", ".join(str(n) for n in refused[:20]) + ("…" if len(refused) > 20 else ""))
        raise ServiceError(message, "password")
    return hash_password(password)


def apply_batch(session: Session, actor: Actor, batch: ImportBatch, *, today: date, now: datetime,
                password_hash: str | None = None, progress: jobs.Progress | None = None) -> dict[str, int]:
    """Apply a pending batch once: the status changes first, with a guarded UPDATE, so two
    workers cannot both apply it (and a failure rolls the status back with everything else)."""
    require_pending(batch, now)
    claimed = session.execute(
        sa.update(ImportBatch)
        .where(ImportBatch.id == batch.id, ImportBatch.status == ImportStatus.PENDING)
        .values(status=ImportStatus.APPLIED, applied_at=now)
        .execution_options(synchronize_session=False)
    ).rowcount
    if claimed != 1:
        raise ServiceError(_l("Danh sách này đã được nhập rồi; không thể nhập lại lần nữa."))
    importer = importer_for(batch.kind)
    result = importer.apply(session, actor, batch.content, batch.filename, today=today, password_hash=password_hash,
                            progress=progress)
    session.refresh(batch)
    batch.result = result
    batch.content = b""  # the rows are in the database now; do not keep a second copy
    session.flush()
    return result


def discard_batch(session: Session, actor: Actor, batch: ImportBatch) -> bool:
    if batch.actor_id != actor.id:
        raise NotFound(_l("Không tìm thấy danh sách đã tải lên."))
    if batch.status != ImportStatus.PENDING or running_job(session, batch) is not None:
        return False
    batch.status = ImportStatus.DISCARDED
    batch.content = b""
    session.flush()
    return True


# -- the job --------------------------------------------------------------------------------

def _job_title(job: Job):
    importer = IMPORTERS.get((job.params or {}).get("kind") or "people")
    return importer.title if importer else _l("Nhập danh sách")


def _job_summary(job: Job):
    result = job.result or {}
    return _l("Đã nhập: %(created)s mới, %(updated)s cập nhật, %(unchanged)s không đổi.",
              created=result.get("created", 0), updated=result.get("updated", 0),
              unchanged=result.get("unchanged", 0))


def _job_next(job: Job):
    from flask import url_for

    importer = IMPORTERS.get((job.params or {}).get("kind") or "people")
    if importer is None:
        return None
    if job.status == JobStatus.FAILED:
        return url_for("imports.upload_units" if importer.kind == "units" else "imports.upload"), \
            _l("Tải lên tệp khác")
    return url_for(importer.done_endpoint), _l("Xem danh sách")


@jobs.kind("imports.apply", title=_job_title, summary=_job_summary, next_step=_job_next)
def _apply_job(ctx: jobs.Context) -> dict[str, Any]:
    from lms.db import utcnow

    batch = ctx.session.get(ImportBatch, ctx.params.get("batch"))
    if batch is None or batch.actor_id != ctx.actor.id:
        raise ServiceError(_l("Không tìm thấy danh sách đã tải lên."))
    now = utcnow()
    result = apply_batch(ctx.session, ctx.actor, batch, today=local_day(now), now=now,
                         password_hash=ctx.params.get("_password_hash"), progress=ctx.progress)
    return {**result, "filename": batch.filename}
