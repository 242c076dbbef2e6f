"""Outgoing mail, with the standard library only (smtplib and email.message).

:func:`send` sends one plain-text message through the SMTP server the environment names
(``LMS_SMTP_HOST``, ``LMS_SMTP_PORT``, ``LMS_SMTP_SECURITY`` = ``starttls`` / ``ssl`` / ``none``,
``LMS_SMTP_USER``, ``LMS_SMTP_PASSWORD``; sender ``LMS_MAIL_FROM``). Without ``LMS_SMTP_HOST``
(the embedded default) nothing is sent: the message is written as an ``.eml`` file to
``LMS_MAIL_DIR`` (default ``<instance>/mail``) and echoed to the log, so a trial needs no mail
server.

Sending takes a network round trip and may fail: call it from a background job
(:mod:`lms.jobs`), never inside a request.
"""

from __future__ import annotations

import logging
import os
import secrets
import smtplib
import ssl
from datetime import UTC, datetime
from email.message import EmailMessage
from email.utils import formatdate, make_msgid, parseaddr
from pathlib import Path

from flask import current_app

log = logging.getLogger(__name__)

#: Seconds to wait for the SMTP server at each step.
TIMEOUT = 20
_DEFAULT_PORTS = {"starttls": 587, "ssl": 465, "none": 25}


def sender() -> str:
    """``LMS_MAIL_FROM``, or a local placeholder when mails are only written to files."""
    config = current_app.config
    return config.get("MAIL_FROM") or f"{config.get('LMS_AGENCY_NAME') or 'LMS'} <no-reply@localhost>"


def build(to: str, subject: str, text: str) -> EmailMessage:
    """A plain-text UTF-8 message (headers with Vietnamese text are encoded as RFC 2047 asks)."""
    message = EmailMessage()
    from_ = sender()
    message["From"] = from_
    message["To"] = to
    message["Subject"] = subject
    message["Date"] = formatdate(usegmt=True)
    domain = parseaddr(from_)[1].rpartition("@")[2] or "localhost"
    message["Message-ID"] = make_msgid(domain=domain)
    message["Auto-Submitted"] = "auto-generated"  # no out-of-office replies to a robot
    message.set_content(text, charset="utf-8")
    return message


def send(to: str, subject: str, text: str) -> str:
    """Send one message; returns ``"smtp"`` or the path of the file it was written to. Errors of
    the SMTP server (refused, unreachable, authentication) are raised to the caller: a job fails
    and records it."""
    message = build(to, subject, text)
    config = current_app.config
    host = config.get("SMTP_HOST")
    if not host:
        return _write(message, to, text)
    security = config.get("SMTP_SECURITY") or "starttls"
    port = config.get("SMTP_PORT") or _DEFAULT_PORTS[security]
    context = ssl.create_default_context()
    if security == "ssl":
        client: smtplib.SMTP = smtplib.SMTP_SSL(host, port, timeout=TIMEOUT, context=context)
    else:
        client = smtplib.SMTP(host, port, timeout=TIMEOUT)
    with client:
        if security == "starttls":
            client.starttls(context=context)
        if config.get("SMTP_USER"):
            client.login(config["SMTP_USER"], config.get("SMTP_PASSWORD") or "")
        client.send_message(message)
    log.info("mail sent to %s: %s", to, subject)
    return "smtp"


def mail_dir() -> Path:
    return Path(current_app.config.get("MAIL_DIR") or os.path.join(current_app.instance_path, "mail"))


def _write(message: EmailMessage, to: str, text: str) -> str:
    folder = mail_dir()
    folder.mkdir(parents=True, exist_ok=True)
    name = f"{datetime.now(UTC):%Y%m%d-%H%M%S-%f}-{secrets.token_hex(4)}.eml"  # in the order written
    path = folder / name
    # Readable by the owner only: such a mail may carry a password-reset link.
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as file:
        file.write(message.as_bytes())
    log.warning("LMS_SMTP_HOST is not set: mail to %s not sent, written to %s\nSubject: %s\n\n%s",
                to, path, message["Subject"], text)
    return str(path)
