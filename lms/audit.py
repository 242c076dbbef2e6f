"""The audit log: every change to people, units, roles and imports is recorded here by the
service that makes it."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from lms.models import AuditEntry, Person


def record(
    session: Session,
    actor: Person | None,
    action: str,
    *,
    object_type: str | None = None,
    object_id: int | None = None,
    unit_id: int | None = None,
    summary: str = "",
    details: dict[str, Any] | None = None,
) -> AuditEntry:
    entry = AuditEntry(
        actor_id=actor.id if actor is not None else None,
        action=action,
        object_type=object_type,
        object_id=object_id,
        unit_id=unit_id,
        summary=summary[:500],
        details=details or None,
    )
    session.add(entry)
    return entry
