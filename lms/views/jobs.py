"""A background job's page: what it is, how far it got, what it did or why it failed, and the
file it produced. Visible to the person who queued it and to administrators (404 for others)."""

from __future__ import annotations

from flask import Blueprint, abort, render_template, url_for

from lms import jobs, permissions
from lms.db import db, utcnow
from lms.models import Job, JobStatus
from lms.storage import get_storage
from lms.views.common import actor, get_or_404

bp = Blueprint("jobs", __name__, url_prefix="/jobs")


def visible_job(job_id: int) -> Job:
    job = get_or_404(Job, job_id)
    who = actor()
    if job.actor_id != who.id and not permissions.is_admin(who):
        abort(404)
    return job


def _state(job: Job) -> dict:
    done, total = jobs.progress_of(job)
    percent = min(100, round(100 * done / total)) if total else (100 if job.status == JobStatus.DONE else None)
    return {"status": job.status.value, "done": done, "total": total, "percent": percent,
            "finished": job.finished}


@bp.get("/<int:job_id>")
@permissions.login
def detail(job_id: int):
    job = visible_job(job_id)
    registered = jobs.kind_of(job)
    return render_template(
        "jobs/detail.html", job=job, state=_state(job),
        title=registered.title(job) if registered else job.kind,
        summary=registered.summary(job) if registered and registered.summary and job.status == JobStatus.DONE
        else None,
        next_step=registered.next_step(job) if registered and registered.next_step and job.finished else None,
        status_url=url_for("jobs.status", job_id=job.id),
    )


@bp.get("/<int:job_id>/status.json")
@permissions.login
def status(job_id: int):
    job = visible_job(job_id)
    response = _state(job)
    return response


@bp.get("/<int:job_id>/file")
@permissions.login
def download(job_id: int):
    job = visible_job(job_id)
    if job.status != JobStatus.DONE or not job.output_key or job.finished_at < utcnow() - jobs.OUTPUT_TTL:
        abort(404)
    registered = jobs.kind_of(job)
    if registered is not None and registered.may_download is not None and not registered.may_download(
            db.session, actor(), job):
        abort(404)  # no longer allowed (a role revoked since the export was made)
    response = get_storage().serve(job.output_key, mimetype=job.output_type or "application/octet-stream",
                                   download_name=job.output_name or "tep", as_attachment=True, etag=None)
    response.headers["Cache-Control"] = "private, no-store"
    return response
