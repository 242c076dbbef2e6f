"""Interface language and time zone: Vietnamese by default, English on request."""

from __future__ import annotations

from flask import current_app, session
from flask_login import current_user


def available_locales() -> tuple[str, ...]:
    return current_app.config["LMS_LOCALES"]


def select_locale() -> str:
    if current_user and getattr(current_user, "is_authenticated", False) and current_user.locale in available_locales():
        return current_user.locale
    chosen = session.get("locale")
    if chosen in available_locales():
        return chosen
    return current_app.config["BABEL_DEFAULT_LOCALE"]


def select_timezone() -> str:
    return current_app.config["LMS_TIMEZONE"]
