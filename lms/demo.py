"""Demo data: an organisation tree modelled on the plan, which lives through the 2025
reorganisation, and one account per role.

From 1 April 2023 the tree is the old one: the Department of Justice of Thái Bình province with its
divisions, three district justice offices and their communes, and the Department of Justice of
Hưng Yên. On 1 July 2025 provinces merge and the district level is dissolved:

* the two departments are consolidated (hợp nhất) into the Department of Justice of the new
  Hưng Yên province (code ``STP``); their divisions and offices move under it;
* the communes Tam Quang and Minh Quang are consolidated into the commune of Vũ Thư, the other
  communes now answer directly to the province;
* the district justice offices are closed once their people have moved: some to the new
  communes (one stays a key cadre there, one does not), one to the department.

So "key cadres on 31/12/2024" and "on 31/12/2025" differ, and the tree screens show either date.
Titles of legal dissemination carry decisions; a district-level legal reporter's title ends
with the district level.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

import sqlalchemy as sa
from sqlalchemy.orm import Session

from lms.actors import SYSTEM
from lms.models import EmploymentType, Gender, Person, ReporterLevel, Role, TitleKind, Unit, UnitKind
from lms.services import people as people_service
from lms.services import units as unit_service

DEMO_PASSWORD = "Demo@Quyen-Con-Nguoi-2028"
START = date(2023, 4, 1)
REORGANISED = date(2025, 7, 1)
DECISION_2025 = "Nghị quyết số 202/2025/QH15 ngày 12/6/2025 của Quốc hội"

K = UnitKind
# (code, name, kind, parent code) — the tree before 1 July 2025.
UNITS = [
    ("STP-TB", "Sở Tư pháp tỉnh Thái Bình", K.DEPARTMENT, None),
    ("STP-VP", "Văn phòng Sở", K.DIVISION, "STP-TB"),
    ("STP-PBGDPL", "Phòng Phổ biến, giáo dục pháp luật", K.DIVISION, "STP-TB"),
    ("STP-VBQPPL", "Phòng Văn bản quy phạm pháp luật và Theo dõi thi hành pháp luật", K.DIVISION, "STP-TB"),
    ("STP-TTR", "Thanh tra Sở", K.DIVISION, "STP-TB"),
    ("TTTGPL", "Trung tâm Trợ giúp pháp lý nhà nước", K.CENTER, "STP-TB"),
    ("PTP-TPTB", "Phòng Tư pháp thành phố Thái Bình", K.DISTRICT, "STP-TB"),
    ("PTP-VT", "Phòng Tư pháp huyện Vũ Thư", K.DISTRICT, "STP-TB"),
    ("PTP-KX", "Phòng Tư pháp huyện Kiến Xương", K.DISTRICT, "STP-TB"),
    ("XA-TAMQUANG", "UBND xã Tam Quang", K.COMMUNE, "PTP-VT"),
    ("XA-MINHQUANG", "UBND xã Minh Quang", K.COMMUNE, "PTP-VT"),
    ("XA-QUANGBINH", "UBND xã Quang Bình", K.COMMUNE, "PTP-KX"),
    ("PHUONG-TRANLAM", "UBND phường Trần Lãm", K.COMMUNE, "PTP-TPTB"),
    ("STP-HY-CU", "Sở Tư pháp tỉnh Hưng Yên (trước hợp nhất)", K.DEPARTMENT, None),
    ("STP-HY-PBGDPL", "Phòng Phổ biến, giáo dục pháp luật (Sở Tư pháp Hưng Yên cũ)", K.DIVISION, "STP-HY-CU"),
]

E = EmploymentType


@dataclass
class Title:
    kind: TitleKind
    level: ReporterLevel | None
    decision: str
    decided: date
    authority: str
    ends: tuple[date, str] | None = None


@dataclass
class DemoPerson:
    email: str
    name: str
    unit: str
    position: str
    employment: EmploymentType
    gender: Gender
    key_cadre: bool = False
    roles: tuple[Role, ...] = (Role.TRAINEE,)
    titles: list[Title] = field(default_factory=list)


@dataclass
class DemoAccount:
    email: str
    name: str
    roles: tuple[Role, ...]


F, M = Gender.FEMALE, Gender.MALE
TB_CHAIR = "Chủ tịch UBND tỉnh Thái Bình"

PEOPLE = [
    DemoPerson("quantri@demo.stp.vn", "Nguyễn Văn Quản", "STP-VP", "Chuyên viên công nghệ thông tin",
               E.CIVIL_SERVANT, M, roles=(Role.ADMIN,)),
    DemoPerson("donvi.vuthu@demo.stp.vn", "Trần Thị Hạnh", "PTP-VT", "Trưởng phòng Tư pháp", E.CIVIL_SERVANT, F,
               key_cadre=True, roles=(Role.TRAINEE,)),
    DemoPerson("giangvien@demo.stp.vn", "Lê Minh Đức", "STP-PBGDPL", "Phó trưởng phòng", E.CIVIL_SERVANT, M,
               key_cadre=True, roles=(Role.TRAINER,),
               titles=[Title(TitleKind.LEGAL_REPORTER, ReporterLevel.PROVINCIAL, "125/QĐ-UBND", date(2021, 3, 15),
                             TB_CHAIR)]),
    DemoPerson("hocvien@demo.stp.vn", "Phạm Thị Lan", "XA-TAMQUANG", "Công chức Tư pháp - Hộ tịch", E.CIVIL_SERVANT,
               F, titles=[Title(TitleKind.LEGAL_PROPAGANDIST, None, "18/QĐ-UBND", date(2022, 5, 10),
                                "Chủ tịch UBND xã Tam Quang")]),
    DemoPerson("hocvien01@demo.stp.vn", "Hoàng Văn Bình", "PTP-VT", "Chuyên viên", E.CIVIL_SERVANT, M),
    DemoPerson("hocvien02@demo.stp.vn", "Đỗ Thị Mai", "XA-MINHQUANG", "Phó Chủ tịch UBND xã", E.CADRE, F,
               key_cadre=True,
               titles=[Title(TitleKind.LEGAL_PROPAGANDIST, None, "09/QĐ-UBND", date(2021, 8, 2),
                             "Chủ tịch UBND xã Minh Quang")]),
    DemoPerson("hocvien03@demo.stp.vn", "Vũ Quốc Khánh", "PTP-KX", "Trưởng phòng Tư pháp", E.CIVIL_SERVANT, M,
               key_cadre=True,
               titles=[Title(TitleKind.LEGAL_REPORTER, ReporterLevel.DISTRICT, "311/QĐ-UBND", date(2020, 9, 1),
                             "Chủ tịch UBND huyện Kiến Xương",
                             ends=(REORGANISED, "Chấm dứt hoạt động cấp huyện"))]),
    DemoPerson("hocvien04@demo.stp.vn", "Bùi Thị Thu", "XA-QUANGBINH", "Công chức Tư pháp - Hộ tịch",
               E.CIVIL_SERVANT, F,
               titles=[Title(TitleKind.LEGAL_PROPAGANDIST, None, "22/QĐ-UBND", date(2023, 2, 20),
                             "Chủ tịch UBND xã Quang Bình")]),
    DemoPerson("hocvien05@demo.stp.vn", "Ngô Thanh Tùng", "PTP-TPTB", "Trưởng phòng Tư pháp", E.CIVIL_SERVANT, M,
               key_cadre=True),
    DemoPerson("hocvien06@demo.stp.vn", "Đặng Thị Hương", "STP-VBQPPL", "Trưởng phòng", E.CIVIL_SERVANT, F,
               key_cadre=True,
               titles=[Title(TitleKind.LEGAL_REPORTER, ReporterLevel.PROVINCIAL, "125/QĐ-UBND", date(2021, 3, 15),
                             TB_CHAIR)]),
    DemoPerson("hocvien07@demo.stp.vn", "Phan Văn Hải", "STP-TTR", "Chánh Thanh tra", E.CIVIL_SERVANT, M,
               key_cadre=True),
    DemoPerson("hocvien08@demo.stp.vn", "Lý Thị Ngọc", "TTTGPL", "Trợ giúp viên pháp lý", E.PUBLIC_EMPLOYEE, F),
    DemoPerson("hocvien09@demo.stp.vn", "Nguyễn Thị Thanh Hoa", "STP-HY-PBGDPL", "Trưởng phòng", E.CIVIL_SERVANT, F,
               key_cadre=True,
               titles=[Title(TitleKind.LEGAL_REPORTER, ReporterLevel.PROVINCIAL, "1450/QĐ-UBND", date(2022, 6, 30),
                             "Chủ tịch UBND tỉnh Hưng Yên")]),
]

ACCOUNTS = [
    DemoAccount("quantri@demo.stp.vn", "Nguyễn Văn Quản", (Role.ADMIN,)),
    DemoAccount("donvi.vuthu@demo.stp.vn", "Trần Thị Hạnh", (Role.UNIT_ADMIN, Role.TRAINEE)),
    DemoAccount("giangvien@demo.stp.vn", "Lê Minh Đức", (Role.TRAINER,)),
    DemoAccount("hocvien@demo.stp.vn", "Phạm Thị Lan", (Role.TRAINEE,)),
]


def seed_demo(session: Session) -> list[DemoAccount]:
    """Create the demo tree, people and the 2025 reorganisation; does nothing if they exist."""
    if session.scalar(sa.select(Unit.id).where(Unit.code.in_(("STP", "STP-TB")))) is not None:
        return ACCOUNTS
    units: dict[str, Unit] = {}
    for code, name, kind, parent in UNITS:
        units[code] = unit_service.create_unit(session, SYSTEM, name=name, code=code, kind=kind,
                                               parent=units.get(parent), on=START)
    people: dict[str, Person] = {}
    for spec in PEOPLE:
        person = people_service.create_person(
            session, SYSTEM,
            people_service.PersonInput(spec.name, spec.email, None, spec.position, spec.employment, spec.gender),
            unit=units[spec.unit], password=DEMO_PASSWORD, key_cadre=spec.key_cadre, on=START, roles=spec.roles,
            must_change_password=False)
        for title in spec.titles:
            record = people_service.add_title(session, SYSTEM, person, people_service.TitleInput(
                title.kind, title.level, title.decision, title.decided, title.authority), today=START)
            if title.ends:
                people_service.end_title(session, SYSTEM, person, record, *title.ends)
        people[spec.email] = person
    people_service.grant_role(session, SYSTEM, people["donvi.vuthu@demo.stp.vn"], Role.UNIT_ADMIN, units["PTP-VT"])
    _reorganise_2025(session, units, people)
    session.flush()
    return ACCOUNTS


def _reorganise_2025(session: Session, units: dict[str, Unit], people: dict[str, Person]) -> None:
    on = REORGANISED
    new = unit_service.NewUnit
    province = unit_service.consolidate_units(
        session, SYSTEM, [units["STP-TB"], units["STP-HY-CU"]],
        new("Sở Tư pháp tỉnh Hưng Yên", "STP", K.DEPARTMENT), None, on, decision=DECISION_2025)
    vu_thu = unit_service.consolidate_units(
        session, SYSTEM, [units["XA-TAMQUANG"], units["XA-MINHQUANG"]],
        new("UBND xã Vũ Thư", "XA-VUTHU", K.COMMUNE), province, on, decision=DECISION_2025)
    for code in ("XA-QUANGBINH", "PHUONG-TRANLAM"):
        unit_service.move_unit(session, SYSTEM, units[code], province, on)
    # The district offices' people go where the work went, then the offices close.
    hanh = people["donvi.vuthu@demo.stp.vn"]
    people_service.move_person(session, SYSTEM, hanh, vu_thu, on)
    _new_position(session, hanh, "Phó Chủ tịch UBND xã")
    people_service.move_person(session, SYSTEM, people["hocvien01@demo.stp.vn"], units["STP-PBGDPL"], on)
    khanh = people["hocvien03@demo.stp.vn"]
    people_service.move_person(session, SYSTEM, khanh, units["XA-QUANGBINH"], on)
    people_service.set_key_cadre(session, SYSTEM, khanh, False, on)
    _new_position(session, khanh, "Công chức Văn phòng - Thống kê")
    people_service.move_person(session, SYSTEM, people["hocvien05@demo.stp.vn"], units["PHUONG-TRANLAM"], on)
    for code in ("PTP-VT", "PTP-KX", "PTP-TPTB"):
        unit_service.close_unit(session, SYSTEM, units[code], on)
    people_service.grant_role(session, SYSTEM, hanh, Role.UNIT_ADMIN, vu_thu)


def _new_position(session: Session, person: Person, position: str) -> None:
    people_service.update_person(session, SYSTEM, person, people_service.PersonInput(
        person.full_name, person.email, person.phone, position, person.employment_type, person.gender))


def existing_people(session: Session) -> int:
    return session.scalar(sa.select(sa.func.count()).select_from(Person)) or 0
