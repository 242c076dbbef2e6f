"""The audit log: every change to people, units, roles and imports is recorded here by the
service that makes it.

Actions are codes (``role.grant``) in the database and labels on screen: each package registers
the labels of the actions it records with :func:`register_actions` (the platform's below).
"""

from __future__ import annotations

import re
from typing import Any

from sqlalchemy.orm import Session

from lms.actors import Actor
from lms.i18n import lazy_gettext as _l
from lms.labels import ROLE_LABELS
from lms.models import AuditEntry, Role

#: action code -> label (lazy: Vietnamese, or English in the English interface).
ACTION_LABELS: dict[str, Any] = {}
#: the first part of an action code -> the group it is listed under in the filter.
GROUP_LABELS: dict[str, Any] = {}


def register_actions(labels: dict[str, Any], groups: dict[str, Any] | None = None) -> None:
    """Labels of the actions a package records (and of their groups, by code prefix)."""
    ACTION_LABELS.update(labels)
    GROUP_LABELS.update(groups or {})


def action_label(action: str) -> str:
    """The label of ``action``; an unknown code (a package since removed) is shown as is."""
    label = ACTION_LABELS.get(action)
    return str(label) if label is not None else action


def action_choices() -> list[tuple[str, list[tuple[str, str]]]]:
    """The registered actions for a filter, grouped and in label order: [(group, [(code, label)])]."""
    groups: dict[str, list[tuple[str, str]]] = {}
    for code in ACTION_LABELS:
        prefix = code.split(".", 1)[0]
        group = str(GROUP_LABELS.get(prefix, prefix))
        groups.setdefault(group, []).append((code, action_label(code)))
    return [(group, sorted(items, key=lambda item: item[1])) for group, items in groups.items()]


_ROLE_CODE = re.compile(r": (%s)(?= |$)" % "|".join(re.escape(r.value) for r in Role))


def summary_text(entry: AuditEntry) -> str:
    """An entry's summary as shown: role codes written by earlier versions ("An: trainer U1")
    become the role's label."""
    summary = entry.summary or ""
    if entry.action.startswith("role."):
        summary = _ROLE_CODE.sub(lambda m: ": " + str(ROLE_LABELS[Role(m.group(1))]), summary)
    return summary


register_actions({
    "auth.login": _l("Đăng nhập"),
    "auth.failed": _l("Đăng nhập không thành công"),
    "auth.password_change": _l("Đổi mật khẩu"),
    "auth.password_reset_request": _l("Yêu cầu đặt lại mật khẩu"),
    "auth.password_reset": _l("Đặt lại mật khẩu qua thư điện tử"),
    "auth.password_reset_refused": _l("Không gửi thư đặt lại mật khẩu (tài khoản đã khóa)"),
    "person.create": _l("Tạo tài khoản"),
    "person.update": _l("Sửa thông tin cá nhân"),
    "person.move": _l("Chuyển đơn vị"),
    "person.key_cadre": _l("Thay đổi cán bộ chủ chốt"),
    "person.reset_password": _l("Đặt lại mật khẩu"),
    "person.deactivate": _l("Khóa tài khoản"),
    "person.reactivate": _l("Mở khóa tài khoản"),
    "person.title_add": _l("Ghi nhận chức danh BCVPL/TTVPL"),
    "person.title_end": _l("Thôi chức danh BCVPL/TTVPL"),
    "role.grant": _l("Cấp vai trò"),
    "role.revoke": _l("Thu hồi vai trò"),
    "roster.import": _l("Nhập danh sách người dùng"),
    "units.import": _l("Nhập cơ cấu tổ chức"),
    "unit.create": _l("Tạo đơn vị"),
    "unit.update": _l("Sửa đơn vị"),
    "unit.move": _l("Chuyển đơn vị cấp trên"),
    "unit.merge": _l("Sáp nhập đơn vị"),
    "unit.split": _l("Chia tách đơn vị"),
    "unit.consolidate": _l("Hợp nhất đơn vị"),
    "unit.close": _l("Giải thể đơn vị"),
}, {
    "auth": _l("Đăng nhập và mật khẩu"),
    "person": _l("Người dùng"),
    "role": _l("Vai trò"),
    "roster": _l("Nhập dữ liệu"),
    "units": _l("Nhập dữ liệu"),
    "unit": _l("Đơn vị"),
})


def record(
    session: Session,
    actor: Actor | None,
    action: str,
    *,
    object_type: str | None = None,
    object_id: int | None = None,
    unit_id: int | None = None,
    summary: str = "",
    details: dict[str, Any] | None = None,
) -> AuditEntry:
    entry = AuditEntry(
        actor_id=actor.id if actor is not None else None,  # None: an anonymous visitor (a failed log-in)
        action=action,
        object_type=object_type,
        object_id=object_id,
        unit_id=unit_id,
        summary=summary[:500],
        details=details or None,
    )
    session.add(entry)
    return entry
