"""Flask-Login wiring: the cookie names a server-side login session, never the person."""

from __future__ import annotations

from flask import Flask
from lms.i18n import lazy_gettext as _l

from lms.db import db, utcnow
from lms.extensions import login_manager


def init_login(app: Flask) -> None:
    login_manager.init_app(app)
    login_manager.login_view = "auth.login"
    login_manager.login_message = _l("Vui lòng đăng nhập để tiếp tục.")
    login_manager.login_message_category = "info"
    login_manager.session_protection = "basic"


@login_manager.user_loader
def _load(token: str):
    from lms.services.auth import load_session

    person = load_session(db.session, token, now=utcnow())
    if person is not None and db.session.dirty:
        db.session.commit()
        person.login_token = token
    return person
