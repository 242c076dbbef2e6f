"""Demo data: an organisation tree modelled on the plan (a provincial Department of Justice,
its divisions, district justice offices and communes) and one account per role."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import sqlalchemy as sa
from sqlalchemy.orm import Session

from lms.models import LearnerCategory, Person, Role, Unit, UnitKind
from lms.services import people as people_service
from lms.services import units as unit_service

DEMO_PASSWORD = "Demo@Quyen-Con-Nguoi-2028"
START = date(2023, 4, 1)

# (code, name, kind, parent code)
UNITS = [
    ("STP", "Sở Tư pháp tỉnh Thái Bình", UnitKind.DEPARTMENT, None),
    ("STP-VP", "Văn phòng Sở", UnitKind.DIVISION, "STP"),
    ("STP-PBGDPL", "Phòng Phổ biến, giáo dục pháp luật", UnitKind.DIVISION, "STP"),
    ("STP-VBQPPL", "Phòng Văn bản quy phạm pháp luật và Theo dõi thi hành pháp luật", UnitKind.DIVISION, "STP"),
    ("STP-TTr", "Thanh tra Sở", UnitKind.DIVISION, "STP"),
    ("TTTGPL", "Trung tâm Trợ giúp pháp lý nhà nước", UnitKind.CENTER, "STP"),
    ("PTP-TPTB", "Phòng Tư pháp thành phố Thái Bình", UnitKind.DISTRICT, "STP"),
    ("PTP-VT", "Phòng Tư pháp huyện Vũ Thư", UnitKind.DISTRICT, "STP"),
    ("PTP-KX", "Phòng Tư pháp huyện Kiến Xương", UnitKind.DISTRICT, "STP"),
    ("XA-TANG", "UBND xã Tam Quang (Vũ Thư)", UnitKind.COMMUNE, "PTP-VT"),
    ("XA-MINHQ", "UBND xã Minh Quang (Vũ Thư)", UnitKind.COMMUNE, "PTP-VT"),
    ("XA-QBINH", "UBND xã Quang Bình (Kiến Xương)", UnitKind.COMMUNE, "PTP-KX"),
    ("PHUONG-TRIEUD", "UBND phường Trần Lãm (TP Thái Bình)", UnitKind.COMMUNE, "PTP-TPTB"),
]


@dataclass
class DemoAccount:
    email: str
    name: str
    unit: str
    roles: tuple[Role, ...]
    category: LearnerCategory
    position: str
    key_cadre: bool = False


ACCOUNTS = [
    DemoAccount("quantri@demo.stp.vn", "Nguyễn Văn Quản", "STP-VP", (Role.ADMIN,), LearnerCategory.OFFICIAL,
                "Chuyên viên công nghệ thông tin"),
    DemoAccount("donvi.vuthu@demo.stp.vn", "Trần Thị Hạnh", "PTP-VT", (Role.UNIT_ADMIN, Role.TRAINEE),
                LearnerCategory.OFFICIAL, "Trưởng phòng Tư pháp", True),
    DemoAccount("giangvien@demo.stp.vn", "Lê Minh Đức", "STP-PBGDPL", (Role.TRAINER,),
                LearnerCategory.LEGAL_REPORTER, "Phó trưởng phòng, báo cáo viên pháp luật tỉnh", True),
    DemoAccount("hocvien@demo.stp.vn", "Phạm Thị Lan", "XA-TANG", (Role.TRAINEE,),
                LearnerCategory.LEGAL_PROPAGANDIST, "Công chức Tư pháp - Hộ tịch"),
]

EXTRA_TRAINEES = [
    ("Hoàng Văn Bình", "PTP-VT", LearnerCategory.OFFICIAL, "Chuyên viên", False),
    ("Đỗ Thị Mai", "XA-MINHQ", LearnerCategory.LEGAL_PROPAGANDIST, "Phó Chủ tịch UBND xã", True),
    ("Vũ Quốc Khánh", "PTP-KX", LearnerCategory.OFFICIAL, "Trưởng phòng Tư pháp", True),
    ("Bùi Thị Thu", "XA-QBINH", LearnerCategory.LEGAL_PROPAGANDIST, "Công chức Tư pháp - Hộ tịch", False),
    ("Ngô Thanh Tùng", "PTP-TPTB", LearnerCategory.OFFICIAL, "Trưởng phòng Tư pháp", True),
    ("Đặng Thị Hương", "STP-VBQPPL", LearnerCategory.LEGAL_REPORTER, "Trưởng phòng", True),
    ("Phan Văn Hải", "STP-TTr", LearnerCategory.OFFICIAL, "Chánh Thanh tra", True),
    ("Lý Thị Ngọc", "TTTGPL", LearnerCategory.EMPLOYEE, "Trợ giúp viên pháp lý", False),
]


def seed_demo(session: Session) -> list[DemoAccount]:
    """Create the demo tree and accounts; does nothing if they already exist."""
    if session.scalar(sa.select(Unit.id).where(Unit.code == "STP")) is not None:
        return ACCOUNTS
    units: dict[str, Unit] = {}
    for code, name, kind, parent in UNITS:
        units[code] = unit_service.create_unit(session, None, name=name, code=code, kind=kind,
                                               parent=units.get(parent), on=START)
    for account in ACCOUNTS:
        person = people_service.create_person(
            session, None,
            people_service.PersonInput(account.name, account.email, None, account.position, account.category),
            unit=units[account.unit], password=DEMO_PASSWORD, key_cadre=account.key_cadre, on=START,
            roles=tuple(r for r in account.roles if r != Role.UNIT_ADMIN), must_change_password=False,
        )
        if Role.UNIT_ADMIN in account.roles:
            people_service.grant_role(session, None, person, Role.UNIT_ADMIN, units[account.unit])
    for i, (name, unit, category, position, key) in enumerate(EXTRA_TRAINEES, start=1):
        people_service.create_person(
            session, None, people_service.PersonInput(name, f"hocvien{i:02d}@demo.stp.vn", None, position, category),
            unit=units[unit], password=DEMO_PASSWORD, key_cadre=key, on=START, must_change_password=False,
        )
    session.flush()
    return ACCOUNTS


def existing_people(session: Session) -> int:
    return session.scalar(sa.select(sa.func.count()).select_from(Person)) or 0
