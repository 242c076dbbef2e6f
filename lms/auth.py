"""Flask-Login wiring: the cookie names a server-side login session, never the person."""

from __future__ import annotations

from flask import Flask, g, session
from sqlalchemy.exc import DBAPIError

from lms.db import db, is_lock_conflict, utcnow
from lms.extensions import login_manager
from lms.i18n import lazy_gettext as _l


def init_login(app: Flask) -> None:
    login_manager.init_app(app)
    login_manager.login_view = "auth.login"
    login_manager.login_message = _l("Vui lòng đăng nhập để tiếp tục.")
    login_manager.login_message_category = "info"
    login_manager.session_protection = "basic"
    app.after_request(_touch_login_session)


@login_manager.user_loader
def _load(token: str):
    """Read the login session; never writes (a due "last seen" is written after the request)."""
    from lms.services.auth import load_session

    now = utcnow()
    person = load_session(db.session, token, now=now)
    if person is not None and person.login_session_id is not None:
        g.lms_touch_login = (person.login_session_id, now)
    return person


def _touch_login_session(response):
    """After the view is done (its own work committed or abandoned), mark the login session as
    seen in a short transaction of its own."""
    pending = g.pop("lms_touch_login", None)
    if pending is not None:
        from lms.services.auth import touch_session

        db.session.rollback()
        try:
            touch_session(db.session, pending[0], now=pending[1])
            db.session.commit()
        except DBAPIError as exc:
            # Another writer holds the database (an import, say): "last seen" waits for the next
            # request; the page the user asked for is not lost over it.
            db.session.rollback()
            if not is_lock_conflict(exc):
                raise
            return response
        session.modified = True  # the cookie's expiry slides with the login session's
    return response
