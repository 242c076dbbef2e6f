"""Navigation entries the courses feature adds to the platform's menu."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from flask import Flask
from flask_login import current_user

from lms import permissions
from lms.db import db
from lms.i18n import lazy_gettext as _l


@dataclass
class NavItem:
    endpoint: str
    label: object
    visible: Callable[[], bool]


def _logged_in() -> bool:
    return current_user.is_authenticated


def _may_author() -> bool:
    return current_user.is_authenticated and permissions.can(db.session, current_user, "course.create")


def _admin() -> bool:
    return current_user.is_authenticated and permissions.is_admin(current_user)


def register_nav(app: Flask) -> None:
    app.extensions.setdefault("lms_nav", []).extend([
        NavItem("courses.catalogue", _l("Khóa học"), _logged_in),
        NavItem("courses.my_learning", _l("Học tập của tôi"), _logged_in),
        NavItem("courses.teaching", _l("Giảng dạy"), _may_author),
        NavItem("courses.reference", _l("Danh mục"), _admin),
    ])
