"""Time rules: times are stored in UTC; "today" is a day in the configured time zone."""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

from flask import current_app, has_app_context

DEFAULT_TZ = "Asia/Ho_Chi_Minh"


def zone() -> ZoneInfo:
    name = current_app.config.get("LMS_TIMEZONE", DEFAULT_TZ) if has_app_context() else DEFAULT_TZ
    return ZoneInfo(name)


def local_day(now: datetime, tz: ZoneInfo | None = None) -> date:
    """The calendar day ``now`` falls on in ``tz`` (default: the configured zone)."""
    return now.astimezone(tz or zone()).date()
