"""The audit log: every change to people, units, roles and imports is recorded here by the
service that makes it."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from lms.actors import Actor
from lms.models import AuditEntry


def record(
    session: Session,
    actor: Actor | None,
    action: str,
    *,
    object_type: str | None = None,
    object_id: int | None = None,
    unit_id: int | None = None,
    summary: str = "",
    details: dict[str, Any] | None = None,
) -> AuditEntry:
    entry = AuditEntry(
        actor_id=actor.id if actor is not None else None,  # None: an anonymous visitor (a failed log-in)
        action=action,
        object_type=object_type,
        object_id=object_id,
        unit_id=unit_id,
        summary=summary[:500],
        details=details or None,
    )
    session.add(entry)
    return entry
