"""Template helpers: labels, local dates, pagination, the navigation."""

from __future__ import annotations

from datetime import date, datetime

from flask import Flask, request, url_for
from flask_babel import format_date, format_datetime, get_locale
from flask_login import current_user

from lms import permissions
from lms.db import db
from lms.labels import (
    EMPLOYMENT_LABELS,
    GENDER_LABELS,
    LEVEL_LABELS,
    ROLE_LABELS,
    SUCCESSION_LABELS,
    TITLE_LABELS,
    TITLE_SHORT,
    UNIT_KIND_LABELS,
)
from lms.text import display_phone

# Vietnamese administrative style is day/month/year with four digits; English uses the
# locale's medium style ("Jan 1, 2024").
_DATE_FORMATS = {"vi": "dd/MM/yyyy"}
_DATETIME_FORMATS = {"vi": "HH:mm dd/MM/yyyy"}


def local_datetime(value: datetime | None) -> str:
    """A UTC timestamp shown in the configured time zone, in the interface language."""
    if not value:
        return ""
    return format_datetime(value, _DATETIME_FORMATS.get(str(get_locale()), "medium"))


def local_date(value: date | None) -> str:
    if not value:
        return ""
    return format_date(value, _DATE_FORMATS.get(str(get_locale()), "medium"))


def url_with(**changes) -> str:
    """The current URL with some query arguments changed (``None`` removes one)."""
    args = request.args.to_dict(flat=True)
    for key, value in changes.items():
        if value is None:
            args.pop(key, None)
        else:
            args[key] = value
    return url_for(request.endpoint, **(request.view_args or {}), **args)


def register(app: Flask) -> None:
    app.jinja_env.filters["dt"] = local_datetime
    app.jinja_env.filters["d"] = local_date
    app.jinja_env.filters["phone"] = display_phone
    app.jinja_env.globals.update(
        ROLE_LABELS=ROLE_LABELS, UNIT_KIND_LABELS=UNIT_KIND_LABELS, EMPLOYMENT_LABELS=EMPLOYMENT_LABELS,
        GENDER_LABELS=GENDER_LABELS, TITLE_LABELS=TITLE_LABELS, TITLE_SHORT=TITLE_SHORT, LEVEL_LABELS=LEVEL_LABELS,
        SUCCESSION_LABELS=SUCCESSION_LABELS,
        url_with=url_with,
    )

    @app.context_processor
    def _nav():
        # Resolved once per page: templates use ``me`` (the logged-in person or None) rather
        # than ``current_user``, whose every use goes through Flask-Login's lookup again.
        user = current_user._get_current_object() if current_user else None
        me = user if user is not None and user.is_authenticated else None
        return {
            "me": me,
            "current_locale": str(get_locale()),
            "may_manage_people": me is not None and permissions.may_manage_people(db.session, me),
            "is_admin": permissions.is_admin(me),
            "nav_items": [item for item in app.extensions.get("lms_nav", []) if me is not None and item.visible(me)],
        }
