"""Security regression tests: the running app is probed through Flask's test client.

Shared pieces live here (this folder has no conftest of its own): a small organisation with
people on both sides of a unit administrator's scope, log-in helpers and a database snapshot.

A test for a vulnerability that is still open asserts the safe behaviour and is marked
``xfail(strict=True, reason="VULN: ...")``; remove the mark when the fix lands.
"""

from __future__ import annotations

import io
import os
import re
from dataclasses import dataclass

import pytest
import sqlalchemy as sa

from lms.db import db
from lms.models import AuditEntry, ImportBatch, KeyCadrePeriod, LoginSession, Membership, Person, RoleAssignment, Unit
from tests.conftest import TEST_PASSWORD, count_rows

ON_POSTGRES = bool(os.environ.get("TEST_DATABASE_URL"))


@dataclass
class World:
    """Province root R; unit U (with child U1) managed by ``ua``; unit V managed by ``ua_v``.

    ``admin_in_u`` is an administrator who sits in U and ``ua_high`` a unit administrator of R
    who sits in U: both are inside ``ua``'s units but hold rights beyond them.
    """

    root: Unit
    u: Unit
    u1: Unit
    v: Unit
    admin: Person
    ua: Person
    ua_v: Person
    trainee_u: Person
    trainee_u1: Person
    trainee_v: Person
    trainer: Person
    admin_in_u: Person
    ua_high: Person


@pytest.fixture
def world(make_unit, make_person) -> World:
    root = make_unit(name="Sở Tư pháp", code="R", kind="department")
    u = make_unit(name="Phòng Tư pháp huyện Một", code="U", kind="district", parent=root)
    u1 = make_unit(name="Xã Một", code="U1", kind="commune", parent=u)
    v = make_unit(name="Phòng Tư pháp huyện Hai", code="V", kind="district", parent=root)
    return World(
        root=root, u=u, u1=u1, v=v,
        admin=make_person(name="Quản Trị Tỉnh", email="admin@example.vn", unit=root, roles=("admin",)),
        ua=make_person(name="Quản Trị Huyện Một", email="ua@example.vn", unit=u, roles=("unit_admin",)),
        ua_v=make_person(name="Quản Trị Huyện Hai", email="uav@example.vn", unit=v, roles=("unit_admin",)),
        trainee_u=make_person(name="Học Viên Một", email="hv1@example.vn", unit=u),
        trainee_u1=make_person(name="Học Viên Xã", email="hvx@example.vn", unit=u1),
        trainee_v=make_person(name="Người Ngoài Phạm Vi", email="outside@example.vn", unit=v, key_cadre=True),
        trainer=make_person(name="Giảng Viên", email="gv@example.vn", unit=u, roles=("trainer",)),
        admin_in_u=make_person(name="Quản Trị Ngồi Huyện", email="admin2@example.vn", unit=u, roles=("admin",)),
        ua_high=make_person(name="Quản Trị Cấp Trên", email="uahigh@example.vn", unit=u, roles=("unit_admin",),
                            scope=root),
    )


def login(app, email: str, password: str = TEST_PASSWORD, **kwargs):
    """A fresh client logged in as ``email``."""
    client = app.test_client()
    response = client.post("/login", data={"email": email, "password": password}, **kwargs)
    assert response.status_code == 302, (email, response.status_code)
    return client


def csrf_token(client, path: str = "/login") -> str:
    html = client.get(path).get_data(as_text=True)
    match = re.search(r'name="csrf_token" (?:type="hidden" )?value="([^"]+)"', html)
    assert match, f"no CSRF token on {path}"
    return match.group(1)


def snapshot() -> dict:
    """Everything a state-changing request could touch, in a comparable form."""
    db.session.expire_all()
    people = db.session.execute(sa.select(
        Person.id, Person.full_name, Person.email, Person.phone, Person.position, Person.employment_type, Person.active,
        Person.must_change_password, Person.password_hash).order_by(Person.id)).all()
    units = db.session.execute(sa.select(Unit.id, Unit.name, Unit.code, Unit.parent_id, Unit.active)
                               .order_by(Unit.id)).all()
    return {
        "people": [tuple(r) for r in people],
        "units": [tuple(r) for r in units],
        "roles": sorted(tuple(r) for r in db.session.execute(
            sa.select(RoleAssignment.person_id, RoleAssignment.role, RoleAssignment.unit_id)).all()),
        "memberships": sorted(tuple(r) for r in db.session.execute(
            sa.select(Membership.person_id, Membership.unit_id, Membership.valid_from, Membership.valid_to)).all()),
        "key_cadre": count_rows(KeyCadrePeriod),
        "revoked_sessions": db.session.scalar(sa.select(sa.func.count()).select_from(LoginSession)
                                              .where(LoginSession.revoked_at.is_not(None))),
        "batches": sorted(tuple(r) for r in db.session.execute(sa.select(ImportBatch.token, ImportBatch.status)).all()),
        "audit": count_rows(AuditEntry),
    }


def upload(client, content: bytes, filename: str = "danh-sach.csv"):
    return client.post("/admin/import/", data={"file": (io.BytesIO(content), filename)},
                       content_type="multipart/form-data")


def roster_csv(*rows, headers=("Họ và tên", "Thư điện tử", "Mã đơn vị", "Vai trò", "Từ ngày")) -> bytes:
    lines = [",".join(headers)] + [",".join(r) for r in rows]
    return ("\r\n".join(lines) + "\r\n").encode("utf-8")


def import_token(response) -> str:
    match = re.search(r'/admin/import/([A-Za-z0-9_-]{20,})/confirm', response.get_data(as_text=True))
    assert match, "no confirm form on the page"
    return match.group(1)
