"""Logging in and out: password checks, server-side login sessions, password changes."""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timedelta

import sqlalchemy as sa
from flask import current_app
from sqlalchemy.orm import Session, joinedload

from lms import audit
from lms.errors import ServiceError
from lms.i18n import lazy_gettext as _l
from lms.models import LoginSession, PasswordReset, Person
from lms.passwords import hash_password, password_problems, verify_password
from lms.text import clean, email_key, nfc

SEEN_EVERY = timedelta(minutes=5)


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def authenticate(session: Session, email: str, password: str, *, now: datetime, ip: str | None = None) -> Person | None:
    """The active person with this e-mail and password, or None. Failures are audited."""
    key = email_key(email)
    person = session.scalar(sa.select(Person).where(Person.email_key == key)) if key else None
    ok, rehash = verify_password(person.password_hash if person else None, password)
    if not ok or person is None or not person.active:
        audit.record(session, None, "auth.failed", object_type="person", object_id=person.id if person else None,
                     summary=key[:200], details={"ip": ip} if ip else None)
        return None
    if rehash:
        person.password_hash = hash_password(password)
    return person


def start_session(session: Session, person: Person, *, now: datetime, ip: str | None = None,
                  user_agent: str | None = None) -> str:
    """Open a login session; returns the raw token for the cookie (only its hash is stored)."""
    token = secrets.token_urlsafe(32)
    hours = current_app.config.get("SESSION_HOURS", 8)
    session.add(LoginSession(person_id=person.id, token_hash=_digest(token), created_at=now, last_seen_at=now,
                             expires_at=now + timedelta(hours=hours), ip=ip,
                             user_agent=clean(user_agent)[:255]))
    person.last_login_at = now
    person.login_token = token
    session.flush()
    audit.record(session, person, "auth.login", object_type="person", object_id=person.id,
                 summary=person.email, details={"ip": ip} if ip else None)
    return token


#: One statement per request: the live session, its person and their roles (every page asks).
#: Built once: a statement object remembers its cache key, so reusing it saves building the
#: statement and hashing it on every request (most of the cost of a small query).
_LIVE_SESSION = (
    sa.select(LoginSession.id, LoginSession.last_seen_at, Person)
    .join(Person, Person.id == LoginSession.person_id)
    .options(joinedload(Person.roles))
    .where(LoginSession.token_hash == sa.bindparam("token_hash"), LoginSession.revoked_at.is_(None),
           LoginSession.expires_at > sa.bindparam("now"), Person.active.is_(True))
)


def load_session(session: Session, token: str, *, now: datetime) -> Person | None:
    """The person of a live login session, or None if it is unknown, ended or expired. Reads
    only; when the session is due to be marked as seen, ``person.login_session_id`` is set and
    the caller calls :func:`touch_session` in a transaction of its own (after the request)."""
    if not token or len(token) > 128:
        return None
    row = session.execute(_LIVE_SESSION, {"token_hash": _digest(token), "now": now}).unique().first()
    if row is None:
        return None
    login_id, last_seen, person = row
    person.login_token = token
    person.login_session_id = login_id if now - last_seen > SEEN_EVERY else None
    return person


def touch_session(session: Session, login_id: int, *, now: datetime) -> None:
    """Mark a login session as seen now and slide its expiry (sessions end after
    ``SESSION_HOURS`` without activity)."""
    hours = current_app.config.get("SESSION_HOURS", 8)
    session.execute(sa.update(LoginSession).where(LoginSession.id == login_id, LoginSession.revoked_at.is_(None))
                    .values(last_seen_at=now, expires_at=now + timedelta(hours=hours)))


def end_session(session: Session, token: str | None, *, now: datetime) -> None:
    if not token:
        return
    session.execute(
        sa.update(LoginSession).where(LoginSession.token_hash == _digest(token), LoginSession.revoked_at.is_(None))
        .values(revoked_at=now)
    )


def revoke_all_sessions(session: Session, person: Person, now: datetime) -> None:
    """End every login session of ``person``, and void every password-reset link not yet used
    (after a password change, a reset by an administrator or a deactivation, an older link must
    not set the password again)."""
    session.execute(
        sa.update(LoginSession).where(LoginSession.person_id == person.id, LoginSession.revoked_at.is_(None))
        .values(revoked_at=now)
    )
    session.execute(
        sa.update(PasswordReset).where(PasswordReset.person_id == person.id, PasswordReset.used_at.is_(None),
                                       PasswordReset.revoked_at.is_(None))
        .values(revoked_at=now)
    )


def change_password(session: Session, person: Person, current: str, new: str, *, now: datetime) -> None:
    """The person changes their own password: every session of theirs ends (the caller opens
    a fresh one for this browser)."""
    ok, _ = verify_password(person.password_hash, current)
    if not ok:
        raise ServiceError(_l("Mật khẩu hiện tại không đúng."), "current_password")
    if nfc(new) == nfc(current):
        raise ServiceError(_l("Mật khẩu mới phải khác mật khẩu hiện tại."), "new_password")
    problems = password_problems(new, user_inputs=(person.full_name, person.email))
    if problems:
        raise ServiceError(problems[0], "new_password")
    person.password_hash = hash_password(new)
    person.must_change_password = False
    revoke_all_sessions(session, person, now)
    session.flush()
    audit.record(session, person, "auth.password_change", object_type="person", object_id=person.id,
                 summary=person.email)


def set_locale(session: Session, person: Person, locale: str) -> None:
    person.locale = locale
    session.flush()
