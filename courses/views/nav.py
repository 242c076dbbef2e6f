"""Navigation entries the courses feature adds to the platform's menu."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from flask import Flask

from lms import permissions
from lms.db import db
from lms.i18n import lazy_gettext as _l


@dataclass
class NavItem:
    endpoint: str
    label: object
    #: ``visible(person)``: whether the logged-in person sees the entry.
    visible: Callable[[object], bool]
    #: Where the entry sits: the top bar (None) or the "Quản trị" (administration) menu.
    group: str | None = None


def _logged_in(me) -> bool:
    return True


def _may_author(me) -> bool:
    return permissions.can(db.session, me, "course.create")


def _admin(me) -> bool:
    return permissions.is_admin(me)


def register_nav(app: Flask) -> None:
    app.extensions.setdefault("lms_nav", []).extend([
        NavItem("courses.catalogue", _l("Khóa học"), _logged_in),
        NavItem("courses.my_learning", _l("Khóa học của tôi"), _logged_in),
        NavItem("courses.teaching", _l("Giảng dạy"), _may_author),
        NavItem("courses.reference", _l("Danh mục công ước, nội dung"), _admin, group="admin"),
    ])
