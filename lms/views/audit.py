"""The audit log, filtered; unit administrators see what concerned their subtree."""

from __future__ import annotations

from datetime import datetime, time, timedelta

import sqlalchemy as sa
from flask import Blueprint, render_template, request
from sqlalchemy.orm import selectinload

from lms import audit, permissions
from lms.db import db
from lms.models import AuditEntry, Person
from lms.text import fold
from lms.timeutil import zone
from lms.views.common import actor

bp = Blueprint("audit", __name__, url_prefix="/admin/audit")


def _date_arg(name):
    raw = (request.args.get(name) or "")[:10]
    try:
        day = datetime.strptime(raw, "%Y-%m-%d").date() if raw else None
    except ValueError:
        return None
    return day if day is None or 1900 <= day.year <= 2200 else None


@bp.get("/")
@permissions.people_managers
def index():
    stmt = sa.select(AuditEntry).options(selectinload(AuditEntry.actor), selectinload(AuditEntry.unit)).order_by(
        AuditEntry.at.desc(), AuditEntry.id.desc())
    scope = permissions.managed_unit_ids(db.session, actor())
    if scope is not permissions.ALL:
        stmt = stmt.where(AuditEntry.unit_id.in_(sorted(scope)) if scope else sa.false())
    action = (request.args.get("action") or "")[:64]
    if action:
        stmt = stmt.where(AuditEntry.action == action)
    who = fold(request.args.get("actor") or "")[:200]
    if who:
        # Match the actor's name only (never e-mail or phone, which the viewer may not see).
        actors = db.session.execute(
            sa.select(Person.id, Person.full_name).where(Person.id.in_(sa.select(AuditEntry.actor_id).distinct()))
        ).all()
        stmt = stmt.where(AuditEntry.actor_id.in_([pid for pid, name in actors if who in fold(name)]))
    start, end = _date_arg("from"), _date_arg("to")
    tz = zone()
    if start:
        stmt = stmt.where(AuditEntry.at >= datetime.combine(start, time.min, tz))
    if end:
        stmt = stmt.where(AuditEntry.at < datetime.combine(end + timedelta(days=1), time.min, tz))
    page = max(1, min(request.args.get("page", 1, type=int), 100000))
    pagination = db.paginate(stmt, page=page, per_page=50, error_out=False)
    return render_template("audit/index.html", pagination=pagination, actions=audit.action_choices(),
                           action_label=audit.action_label, summary_text=audit.summary_text,
                           args={"action": action, "actor": request.args.get("actor", "")[:200],
                                 "from": start.isoformat() if start else "", "to": end.isoformat() if end else ""})
