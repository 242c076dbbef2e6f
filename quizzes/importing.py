"""From uploaded bytes to read questions: the format (given, or recognised from the content and
the name), the text decoded and NFC-normalised, then the format's reader.

Nothing here touches the database: the preview shows the :class:`ParseResult` and the bank's
services save it only when it has no problem.
"""

from __future__ import annotations

import re
import unicodedata

from lms.text import NotText, decode_text
from quizzes.formats.base import ParseResult, Problem

FORMATS: tuple[str, ...] = ("gift", "aiken", "xml", "xlsx")
#: Largest question file read, in bytes (a bank of thousands of questions is well below).
MAX_BYTES = 10 * 1024 * 1024

_AIKEN_ANSWER = re.compile(r"^\s*ANSWER\s*:", re.MULTILINE)


def detect_format(content: bytes, filename: str = "") -> str | None:
    """"xlsx", "xml", "gift" or "aiken" from the content first, the name second; None if unknown."""
    head = content[:4096].lstrip(b"\xef\xbb\xbf \t\r\n")
    if content.startswith((b"PK\x03\x04", b"PK\x05\x06")):
        return "xlsx"
    if head.startswith(b"<?xml") or head.startswith(b"<quiz"):
        return "xml"
    name = filename.lower()
    if name.endswith((".xlsx", ".csv")):
        return "xlsx"
    if name.endswith(".xml"):
        return "xml"
    if name.endswith(".gift"):
        return "gift"
    try:
        text = decode_text(content[:200_000])
    except NotText:
        return None
    if "{" in text and "}" in text:
        return "gift"
    if _AIKEN_ANSWER.search(text):
        return "aiken"
    return None


def _problem(reason: str) -> ParseResult:
    return ParseResult(problems=[Problem(None, 1, reason)])


def read_questions(content: bytes, fmt: str | None = None, *, filename: str = "",
                   base_category: tuple[str, ...] = ()) -> ParseResult:
    """Read a question file of any supported format. Problems are in Vietnamese."""
    if not content or not content.strip():
        return _problem("Tệp rỗng: không có câu hỏi nào.")
    if len(content) > MAX_BYTES:
        return _problem(f"Tệp quá lớn: tối đa {MAX_BYTES // (1024 * 1024)} MB.")
    fmt = fmt or detect_format(content, filename)
    if fmt not in FORMATS:
        return _problem("Không nhận ra định dạng tệp. Hãy dùng GIFT, Aiken, Moodle XML hoặc tệp Excel mẫu.")
    if fmt == "xlsx":
        from quizzes.formats.excel import read_excel

        return read_excel(content, base_category=base_category)
    if fmt == "xml":
        from quizzes.formats.moodle_xml import read_moodle_xml

        return read_moodle_xml(content, base_category=base_category)
    try:
        text = unicodedata.normalize("NFC", decode_text(content))
    except NotText as exc:
        if exc.binary:
            return _problem("Tệp không phải là văn bản (GIFT hoặc Aiken là tệp văn bản .txt).")
        return _problem("Tệp phải được lưu với bảng mã UTF-8.")
    if fmt == "gift":
        from quizzes.formats.gift import read_gift

        return read_gift(text, base_category=base_category)
    from quizzes.formats.aiken import read_aiken

    return read_aiken(text, base_category=base_category)


# -- the web import: the upload waits in an ImportBatch, a job saves it ---------------------
#
# The trainer's upload is kept as the platform's :class:`~lms.models.ImportBatch` (kind
# ``questions``) between the preview and the confirmation, as the roster import keeps its file, so
# any worker can finish it; confirming queues the ``quizzes.import_questions`` job, which reads the
# file again and saves every question through :func:`quizzes.services.import_questions` or none.

BATCH_KIND = "questions"
JOB_KIND = "quizzes.import_questions"


def _may_import(session, actor) -> bool:
    from lms import permissions

    return permissions.can(session, actor, "question.manage")


def _preview(session, actor, content: bytes, filename: str, *, today=None):
    """The platform importer's preview (only its ``ok`` is used: the bank shows its own page)."""
    from lms.services.imports import Preview, RowResult
    from lms.services.imports import Problem as RowProblem

    result = read_questions(content, filename=filename)
    preview = Preview(kind=BATCH_KIND, filename=filename)
    for q in result.questions:
        preview.rows.append(RowResult(number=q.line, action="create"))
    for p in result.problems:
        preview.rows.append(RowResult(number=p.line, problems=[RowProblem(None, p.reason)]))
    return preview


def _refuse_generic_apply(*_args, **_kwargs):
    from lms.errors import ServiceError
    from lms.i18n import lazy_gettext as _l

    raise ServiceError(_l("Tệp câu hỏi được nhập từ trang Ngân hàng câu hỏi."))


def register_importer() -> None:
    from lms.i18n import lazy_gettext as _l
    from lms.services import imports

    if BATCH_KIND not in imports.IMPORTERS:
        imports.register(imports.Importer(kind=BATCH_KIND, check=_preview, apply=_refuse_generic_apply,
                                          allowed=_may_import, title=_l("Nhập câu hỏi từ tệp"),
                                          done_endpoint="quizzes.bank"))


def submit_import(session, actor, batch, category, *, total: int, locale: str | None = None):
    """Queue the job saving ``batch`` into ``category`` (the caller checked the preview)."""
    from lms import jobs

    job = jobs.submit(session, actor, JOB_KIND, {"batch": batch.id, "category_id": category.id,
                                                 "category": category.path, "filename": batch.filename},
                      locale=locale, total=total)
    batch.job_id = job.id
    session.flush()
    return job


def _job_next(job):
    from flask import url_for

    from lms.i18n import lazy_gettext as _l

    return url_for("quizzes.bank", category=(job.params or {}).get("category_id")), _l("Về ngân hàng câu hỏi")


def register_job() -> None:
    from lms import jobs
    from lms.i18n import lazy_gettext as _l

    @jobs.kind(JOB_KIND,
               title=lambda job: _l("Nhập câu hỏi: %(name)s", name=(job.params or {}).get("filename", "")),
               summary=lambda job: _l("Đã nhập %(n)s câu hỏi vào nhóm “%(category)s”.",
                                      n=(job.result or {}).get("created", 0),
                                      category=(job.params or {}).get("category", "")),
               next_step=_job_next)
    def import_job(ctx: jobs.Context) -> dict:
        import sqlalchemy as sa

        from lms.db import utcnow
        from lms.errors import ServiceError
        from lms.models import ImportBatch, ImportStatus
        from lms.services.imports import require_pending
        from quizzes import services
        from quizzes.models import QuestionCategory, split_path

        batch = ctx.session.get(ImportBatch, ctx.params.get("batch"))
        if batch is None or batch.actor_id != getattr(ctx.actor, "id", None) or batch.kind != BATCH_KIND:
            raise ServiceError(_l("Không tìm thấy tệp đã tải lên."))
        category = ctx.session.get(QuestionCategory, ctx.params.get("category_id"))
        if category is None:
            raise ServiceError(_l("Nhóm câu hỏi không còn tồn tại."))
        now = utcnow()
        require_pending(batch, now)
        claimed = ctx.session.execute(
            sa.update(ImportBatch).where(ImportBatch.id == batch.id, ImportBatch.status == ImportStatus.PENDING)
            .values(status=ImportStatus.APPLIED, applied_at=now).execution_options(synchronize_session=False)
        ).rowcount
        if claimed != 1:
            raise ServiceError(_l("Tệp này đã được nhập rồi; không thể nhập lại lần nữa."))
        result = read_questions(batch.content, filename=batch.filename)
        ctx.progress.start(len(result.questions))
        outcome = services.import_questions(ctx.session, ctx.actor, result, split_path(category.path))
        ctx.progress.advance(outcome.created)
        ctx.session.refresh(batch)
        batch.result = {"created": outcome.created}
        batch.content = b""
        ctx.session.flush()
        return {"created": outcome.created, "categories": len(outcome.categories)}



# -- the export job: a large category is written outside the request -----------------------

EXPORT_JOB_KIND = "quizzes.export_questions"
#: Categories with more questions than this are exported by a job (the file is then offered on
#: the job's page); smaller ones download at once.
EXPORT_INLINE_MAX = 300
EXPORT_TYPES = {"gift": ("text/plain; charset=utf-8", "gift.txt"), "xml": ("application/xml", "xml")}


def _may_download_export(session, actor, job) -> bool:
    return _may_import(session, actor)


def register_export_job() -> None:
    from lms import jobs
    from lms.i18n import lazy_gettext as _l

    @jobs.kind(EXPORT_JOB_KIND, may_download=_may_download_export,
               title=lambda job: _l("Xuất câu hỏi: %(category)s", category=(job.params or {}).get("category", "")),
               summary=lambda job: _l("Đã xuất %(n)s câu hỏi.", n=(job.result or {}).get("questions", 0)),
               next_step=_job_next)
    def export_job(ctx: jobs.Context) -> dict:
        import io
        import secrets

        from lms.errors import ServiceError
        from lms.storage import get_storage, track_new
        from quizzes import services
        from quizzes.models import QuestionCategory

        category = ctx.session.get(QuestionCategory, ctx.params.get("category_id"))
        if category is None:
            raise ServiceError(_l("Nhóm câu hỏi không còn tồn tại."))
        fmt = ctx.params.get("format")
        if fmt not in EXPORT_TYPES:
            raise ServiceError(_l("Định dạng xuất không hợp lệ."))
        try:
            content = services.export_category(ctx.session, ctx.actor, category, fmt)
        except ValueError as exc:
            raise ServiceError(_l("Không xuất được sang GIFT: %(reason)s Hãy xuất sang Moodle XML.",
                                  reason=str(exc))) from None
        mimetype, extension = EXPORT_TYPES[fmt]
        key = f"exports/{secrets.token_hex(2)}/{secrets.token_urlsafe(24)}.{extension.rsplit('.', 1)[-1]}"
        get_storage().put(key, io.BytesIO(content), mimetype)
        track_new(ctx.session, key)
        ctx.job.output_key, ctx.job.output_type = key, mimetype
        ctx.job.output_name = ctx.params.get("filename") or f"cau-hoi.{extension}"
        return {"questions": ctx.params.get("questions", 0), "bytes": len(content)}


def submit_export(session, actor, category, fmt: str, *, questions: int, filename: str, locale: str | None = None):
    from lms import jobs
    from lms.db import utcnow

    if not _may_import(session, actor):
        from lms.errors import PermissionDenied
        from lms.i18n import lazy_gettext as _l

        raise PermissionDenied(_l("Bạn không có quyền quản lý ngân hàng câu hỏi."))
    jobs.cleanup_outputs(session, utcnow())
    return jobs.submit(session, actor, EXPORT_JOB_KIND, {
        "category_id": category.id, "category": category.path, "format": fmt, "questions": questions,
        "filename": filename}, locale=locale)
