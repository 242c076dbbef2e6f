"""The courses feature's background jobs (:mod:`lms.jobs`): enrolling a whole group, re-evaluating
completion after the requirements were loosened, and exporting a course's learners."""

from __future__ import annotations

import secrets
import tempfile
from datetime import date, datetime
from typing import Any

from flask import url_for

from courses import learners as learner_data
from courses import services
from courses.models import Course, EnrolmentSource, EnrolmentStatus
from lms import jobs, permissions
from lms.db import utcnow
from lms.errors import PermissionDenied, ServiceError
from lms.i18n import lazy_gettext as _l
from lms.models import Job
from lms.spreadsheet import XLSX_MIMETYPE
from lms.storage import get_storage, track_new


def _course(ctx: jobs.Context) -> Course:
    course = ctx.session.get(Course, ctx.params.get("course_id"))
    if course is None:
        raise ServiceError(_l("Khóa học không còn tồn tại."))
    return course


def _course_title(job: Job, label) -> Any:
    return _l("%(what)s: %(course)s", what=label, course=(job.params or {}).get("course_title", ""))


# -- enrolling a group -----------------------------------------------------------------------

@jobs.kind("courses.enrol",
           title=lambda job: _course_title(job, _l("Ghi danh học viên")),
           summary=lambda job: _l("Kết quả: đã ghi danh %(added)s, đã có %(already)s, không được phép %(refused)s.",
                                  **{k: (job.result or {}).get(k, 0) for k in ("added", "already", "refused")}),
           next_step=lambda job: (url_for("courses.learners", course_id=job.params["course_id"]),
                                  _l("Xem học viên và tiến độ")))
def enrol_group(ctx: jobs.Context) -> dict[str, Any]:
    """Enrol a unit subtree, a title's holders, an employment type, the key cadres, or the people
    a file named (ids resolved by the request). Set-based: a fixed number of statements."""
    from courses.forms import parse_group

    course = _course(ctx)
    params = ctx.params
    due_on = date.fromisoformat(params["due_on"]) if params.get("due_on") else None
    unit_id = params.get("unit_id") or None
    mode = params["mode"]
    if mode == "file":
        people = params.get("person_ids") or []
    elif mode == "unit":
        people = services.people_for(ctx.session, ctx.actor, unit_id=unit_id, course=course)
    elif mode == "category":
        title, employment = parse_group(params["group"])
        people = services.people_for(ctx.session, ctx.actor, unit_id=unit_id, title=title,
                                     employment_type=employment, course=course,
                                     on=date.fromisoformat(params["on"]))
    else:
        people = services.people_for(ctx.session, ctx.actor, unit_id=unit_id, key_cadres_only=True, course=course)
    result = services.enrol_people(ctx.session, ctx.actor, course, people, EnrolmentSource(params["source"]),
                                   due_on, ctx.job.created_at)
    refused = result.refused + len(params.get("problems") or [])
    return {"added": result.added, "already": result.already, "refused": refused,
            "notes": params.get("problems") or []}


def submit_enrolment(session, actor, course: Course, mode: str, source: EnrolmentSource, *, due_on: date | None,
                     unit_id: int | None = None, group: str | None = None, on: date | None = None,
                     person_ids: list[int] | None = None, problems: list[str] | None = None,
                     locale: str | None = None) -> Job:
    """Queue the enrolment of a group (permission checked here and again in the job)."""
    if not permissions.can(session, actor, "course.enrol_others", course):
        raise PermissionDenied(_l("Bạn không có quyền ghi danh học viên vào khóa học này."))
    params = {"course_id": course.id, "course_title": course.title, "mode": mode, "source": source.value,
              "due_on": due_on.isoformat() if due_on else None, "unit_id": unit_id, "group": group,
              "on": on.isoformat() if on else None, "person_ids": person_ids or [],
              "problems": (problems or [])[:200]}
    return jobs.submit(session, actor, "courses.enrol", params, locale=locale)


# -- re-evaluating completion ----------------------------------------------------------------

@jobs.kind("courses.recompute",
           title=lambda job: _course_title(job, _l("Xét lại hoàn thành khóa học")),
           summary=lambda job: _l("Có thêm %(n)s học viên hoàn thành.", n=(job.result or {}).get("completed", 0)))
def recompute(ctx: jobs.Context) -> dict[str, Any]:
    course = _course(ctx)
    when = datetime.fromisoformat(ctx.params["now"]) if ctx.params.get("now") else ctx.job.created_at
    return {"completed": services.recompute_course(ctx.session, course, when)}


# -- exporting the learners ------------------------------------------------------------------

def _may_download_export(session, actor, job: Job) -> bool:
    course = session.get(Course, (job.params or {}).get("course_id"))
    return course is not None and permissions.can(session, actor, "course.learners", course)


@jobs.kind("courses.learners_export",
           may_download=_may_download_export,
           title=lambda job: _course_title(job, _l("Xuất danh sách học viên")),
           summary=lambda job: _l("Đã xuất %(n)s học viên.", n=(job.result or {}).get("rows", 0)),
           next_step=lambda job: (url_for("courses.learners", course_id=job.params["course_id"]),
                                  _l("Về danh sách học viên")))
def export_learners(ctx: jobs.Context) -> dict[str, Any]:
    course = _course(ctx)
    if not permissions.can(ctx.session, ctx.actor, "course.learners", course):
        raise PermissionDenied(_l("Bạn không có quyền xem học viên của khóa học này."))
    params = ctx.params
    status = EnrolmentStatus(params["status"]) if params.get("status") else None
    filters = learner_data.LearnerFilter(q=params.get("q") or "", unit_id=params.get("unit_id"), status=status)
    key = f"exports/{secrets.token_hex(2)}/{secrets.token_urlsafe(24)}.xlsx"
    with tempfile.TemporaryFile() as spool:
        rows = learner_data.build_export(ctx.session, ctx.actor, course, filters, target=spool,
                                         progress=ctx.progress)
        spool.seek(0)
        get_storage().put(key, spool, XLSX_MIMETYPE)
    track_new(ctx.session, key)
    ctx.job.output_key, ctx.job.output_type = key, XLSX_MIMETYPE
    ctx.job.output_name = learner_data.export_filename(course)
    return {"rows": rows}


def submit_export(session, actor, course: Course, filters: learner_data.LearnerFilter, *,
                  locale: str | None = None) -> Job:
    if not permissions.can(session, actor, "course.learners", course):
        raise PermissionDenied(_l("Bạn không có quyền xem học viên của khóa học này."))
    jobs.cleanup_outputs(session, utcnow())
    return jobs.submit(session, actor, "courses.learners_export", {
        "course_id": course.id, "course_title": course.title, "q": filters.q, "unit_id": filters.unit_id,
        "status": filters.status.value if filters.status else None}, locale=locale)
