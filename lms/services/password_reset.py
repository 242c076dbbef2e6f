"""Self-service password reset by e-mail.

1. Someone asks for a link for an e-mail address (:func:`request_reset`). The request does the same
   work whatever the address: it queues one background job and answers the same words, so neither
   the answer nor its timing tells whether the address has an account.
2. The job (:func:`send_reset_link`) looks the address up. Only an active account gets a mail: a
   random token whose SHA-256 alone is stored, valid ``LMS_PASSWORD_RESET_MINUTES``; every older
   link of that person is void from then on.
3. The link lets its holder choose a new password once (:func:`reset_password`), under the same
   password policy as everywhere; every login session of the person ends, as does every other
   link, and the reset is audited.

Nobody is logged in here: the acting person is the anonymous visitor (the audit log records the
person whose password it is once the link has proved their mailbox).
"""

from __future__ import annotations

import hashlib
import secrets
from contextlib import nullcontext
from datetime import datetime, timedelta
from urllib.parse import urlsplit

import sqlalchemy as sa
from flask import current_app
from flask_babel import force_locale
from sqlalchemy.orm import Session

from lms import audit, jobs, mail
from lms.actors import SYSTEM_JOB
from lms.db import utcnow
from lms.errors import ServiceError
from lms.i18n import lazy_gettext as _l
from lms.models import PasswordReset, Person
from lms.passwords import hash_password, password_problems
from lms.services.auth import revoke_all_sessions
from lms.text import email_key

JOB_KIND = "auth.password_reset_mail"
#: Rows of links that ended this long ago are deleted when a new link is made.
KEEP_ENDED = timedelta(days=30)
_TOKEN_MAX = 128

#: What the holder of a link that no longer works is told, by :func:`link_state`.
STATE_MESSAGES = {
    "unknown": _l("Liên kết đặt lại mật khẩu không đúng hoặc không còn hiệu lực. Hãy kiểm tra lại liên kết "
                  "trong thư, hoặc yêu cầu một liên kết mới."),
    "used": _l("Liên kết đặt lại mật khẩu này đã được dùng. Mỗi liên kết chỉ dùng được một lần; nếu cần, "
               "hãy yêu cầu một liên kết mới."),
    "expired": _l("Liên kết đặt lại mật khẩu này đã hết hạn. Hãy yêu cầu một liên kết mới."),
    "replaced": _l("Liên kết này đã hết hiệu lực vì đã có một liên kết mới hơn được gửi đến bạn (hoặc mật khẩu "
                   "đã được đổi theo cách khác). Hãy dùng liên kết trong thư mới nhất."),
}


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


# -- the request ------------------------------------------------------------------------------

def request_reset(session: Session, email: str, *, base_url: str, ip: str | None = None,
                  locale: str | None = None):
    """Queue the job that sends a reset link to ``email`` if it names an active account. Checks
    only the address's form (a look-alike is refused with the people form's message); never
    whether it exists. Returns the queued job."""
    from lms.services.people import clean_email

    clean_email(email)  # ServiceError("email") for an address that could not be anyone's
    return jobs.submit(session, SYSTEM_JOB, JOB_KIND,
                       {"_email": email_key(email)[:254], "_base_url": base_url, "_ip": ip}, locale=locale)


def _job_title(job):
    return _l("Gửi thư đặt lại mật khẩu")


@jobs.kind(JOB_KIND, title=_job_title)
def _send_job(ctx: jobs.Context) -> dict:
    params = ctx.params
    send_reset_link(ctx.session, params.get("_email") or "", now=utcnow(), base_url=params.get("_base_url") or "",
                    ip=params.get("_ip"))
    return {}  # the job's record says nothing about whether the address had an account


def reset_url(base_url: str, token: str) -> str:
    """The link in the mail: the reset page under ``base_url`` (``LMS_PUBLIC_BASE_URL``), built
    without a request (the job has none)."""
    parts = urlsplit(base_url)
    adapter = current_app.url_map.bind(parts.netloc, script_name=parts.path or "/", url_scheme=parts.scheme or "https")
    return adapter.build("auth.reset_link", {"token": token}, force_external=True)


def send_reset_link(session: Session, key: str, *, now: datetime, base_url: str, ip: str | None = None) -> bool:
    """Make a link for the active account whose e-mail key is ``key`` and mail it to the
    account's own address; False (nothing sent) when there is no such active account."""
    person = session.scalar(sa.select(Person).where(Person.email_key == key)) if key else None
    if person is None:
        return False
    if not person.active:
        audit.record(session, None, "auth.password_reset_refused", object_type="person", object_id=person.id,
                     summary=person.email, details={"ip": ip, "reason": "inactive"})
        session.flush()
        return False
    session.execute(sa.delete(PasswordReset).where(PasswordReset.expires_at < now - KEEP_ENDED))
    _void_links(session, person, now)
    minutes = current_app.config.get("PASSWORD_RESET_MINUTES", 60)
    token = secrets.token_urlsafe(32)
    session.add(PasswordReset(person_id=person.id, token_hash=_digest(token), created_at=now,
                              expires_at=now + timedelta(minutes=minutes), ip=ip))
    session.flush()
    audit.record(session, None, "auth.password_reset_request", object_type="person", object_id=person.id,
                 summary=person.email, details={"ip": ip} if ip else None)
    # in the person's own language when they chose one, else in that of the page they asked on
    with force_locale(person.locale) if person.locale else nullcontext():
        subject, text = reset_mail(person, reset_url(base_url, token), minutes)
    mail.send(person.email, subject, text)
    return True


def reset_mail(person: Person, link: str, minutes: int) -> tuple[str, str]:
    """The subject and text of the mail, in the current language."""
    agency = current_app.config.get("LMS_AGENCY_NAME") or "Sở Tư pháp"
    subject = _l("Đặt lại mật khẩu tài khoản bồi dưỡng trực tuyến")
    paragraphs = [
        _l("Kính gửi Ông/Bà %(name)s,", name=person.full_name),
        _l("Hệ thống bồi dưỡng trực tuyến của %(agency)s vừa nhận được yêu cầu đặt lại mật khẩu cho tài khoản "
           "%(email)s.", agency=agency, email=person.email),
        _l("Để đặt mật khẩu mới, đề nghị Ông/Bà mở liên kết dưới đây. Liên kết chỉ dùng được một lần và hết hiệu "
           "lực sau %(minutes)s phút:", minutes=minutes),
        link,
        _l("Khi mật khẩu mới được đặt, mọi phiên đăng nhập trước đó của tài khoản sẽ kết thúc."),
        _l("Nếu Ông/Bà không yêu cầu đặt lại mật khẩu, xin bỏ qua thư này; mật khẩu hiện tại vẫn giữ nguyên. "
           "Nếu thư như thế này đến nhiều lần mà Ông/Bà không yêu cầu, đề nghị báo cho quản trị đơn vị."),
        _l("Đây là thư gửi tự động, xin đừng trả lời thư này."),
        agency,
    ]
    return str(subject), "\n\n".join(str(p) for p in paragraphs) + "\n"


def _void_links(session: Session, person: Person, now: datetime) -> None:
    session.execute(sa.update(PasswordReset).where(
        PasswordReset.person_id == person.id, PasswordReset.used_at.is_(None), PasswordReset.revoked_at.is_(None)
    ).values(revoked_at=now))


# -- the link ---------------------------------------------------------------------------------

def link_state(reset: PasswordReset | None, *, now: datetime) -> str:
    """``valid``, or why the link no longer works: ``unknown`` (no such link, or its account is
    disabled), ``used``, ``replaced`` (a newer link, or the password changed another way),
    ``expired``."""
    if reset is None or not reset.person.active:
        return "unknown"
    if reset.used_at is not None:
        return "used"
    if reset.revoked_at is not None:
        return "replaced"
    if reset.expires_at <= now:
        return "expired"
    return "valid"


def find_link(session: Session, token: str | None) -> PasswordReset | None:
    if not token or len(token) > _TOKEN_MAX:
        return None
    return session.scalar(sa.select(PasswordReset).where(PasswordReset.token_hash == _digest(token)))


def check_link(session: Session, token: str | None, *, now: datetime) -> str:
    """The state of the link with ``token`` (see :func:`link_state`). Reads only."""
    return link_state(find_link(session, token), now=now)


def reset_password(session: Session, token: str | None, new: str, *, now: datetime, ip: str | None = None) -> Person:
    """Set the password of the link's person to ``new``: the link is used up, every login
    session of theirs ends and every other link is void. Raises :class:`ServiceError` with field
    ``token`` when the link no longer works, ``new_password`` when the policy refuses it."""
    reset = find_link(session, token)
    state = link_state(reset, now=now)
    if state != "valid":
        raise ServiceError(STATE_MESSAGES[state], "token")
    person = reset.person
    problems = password_problems(new, user_inputs=(person.full_name, person.email))
    if problems:
        raise ServiceError(problems[0], "new_password")
    # A guarded update claims the link, so two submissions racing each other use it once.
    claimed = session.execute(sa.update(PasswordReset).where(
        PasswordReset.id == reset.id, PasswordReset.used_at.is_(None), PasswordReset.revoked_at.is_(None)
    ).values(used_at=now).execution_options(synchronize_session=False)).rowcount
    if claimed != 1:
        raise ServiceError(STATE_MESSAGES["used"], "token")
    person.password_hash = hash_password(new)
    person.must_change_password = False
    revoke_all_sessions(session, person, now)  # and every other link of theirs
    session.flush()
    audit.record(session, person, "auth.password_reset", object_type="person", object_id=person.id,
                 summary=person.email, details={"ip": ip} if ip else None)
    return person
