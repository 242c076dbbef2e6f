"""Data generator for the benchmarks: a province with districts, communes and many people.

Rows are inserted in bulk (not through the services) so that generating 100,000 people takes
seconds; the shape matches what the services produce (open periods, search text).
"""

from __future__ import annotations

import random
from datetime import date

import sqlalchemy as sa

from lms.models import KeyCadrePeriod, Membership, Person, RoleAssignment, Unit, UnitLink
from lms.passwords import hash_password
from lms.text import fold, person_sort_key, sort_key

SURNAMES = ["Nguyễn", "Trần", "Lê", "Phạm", "Hoàng", "Vũ", "Đặng", "Bùi", "Đỗ", "Hồ", "Ngô", "Dương"]
MIDDLE = ["Văn", "Thị", "Minh", "Quốc", "Thanh", "Hữu", "Ngọc", "Đức"]
GIVEN = ["An", "Bình", "Cường", "Dung", "Hạnh", "Hải", "Lan", "Mai", "Nam", "Phúc", "Quyên", "Sơn", "Tâm", "Uyên"]


def generate(session, people: int = 20_000, districts: int = 12, communes_per_district: int = 45, seed: int = 7):
    rng = random.Random(seed)
    start = date(2023, 4, 1)
    province = Unit(name="Sở Tư pháp (benchmark)", code="BENCH", kind="department", search_text="so tu phap",
                    sort_key=sort_key("Sở Tư pháp (benchmark)"), established_on=start)
    session.add(province)
    session.flush()
    units = [province]
    for d in range(districts):
        district = Unit(name=f"Phòng Tư pháp huyện {d}", code=f"B-D{d}", kind="district", parent_id=province.id,
                        search_text=f"phong tu phap huyen {d}", sort_key=sort_key(f"Phòng Tư pháp huyện {d}"),
                        established_on=start)
        session.add(district)
        session.flush()
        session.add(UnitLink(unit_id=district.id, parent_id=province.id, valid_from=start))
        units.append(district)
        for c in range(communes_per_district):
            commune = Unit(name=f"UBND xã {d}-{c}", code=f"B-D{d}-C{c}", kind="commune", parent_id=district.id,
                           search_text=f"ubnd xa {d}-{c}", sort_key=sort_key(f"UBND xã {d}-{c}"),
                           established_on=start)
            session.add(commune)
            session.flush()
            session.add(UnitLink(unit_id=commune.id, parent_id=district.id, valid_from=start))
            units.append(commune)
    password = hash_password("Benchmark-Password-2028")
    unit_ids = [u.id for u in units]
    batch = []
    for i in range(people):
        name = f"{rng.choice(SURNAMES)} {rng.choice(MIDDLE)} {rng.choice(GIVEN)}"
        email = f"bench{i}@example.vn"
        batch.append({"full_name": name, "email": email, "email_key": email,
                      "password_hash": password, "must_change_password": False, "active": True,
                      "search_text": fold(f"{name} {email}"), "sort_key": person_sort_key(name)})
    session.execute(sa.insert(Person), batch)
    ids = session.scalars(sa.select(Person.id).order_by(Person.id)).all()
    session.execute(sa.insert(Membership), [
        {"person_id": pid, "unit_id": rng.choice(unit_ids), "valid_from": start} for pid in ids])
    session.execute(sa.insert(KeyCadrePeriod), [
        {"person_id": pid, "valid_from": start} for pid in ids if rng.random() < 0.15])
    session.execute(sa.insert(RoleAssignment), [{"person_id": pid, "role": "trainee"} for pid in ids])
    session.flush()
    return province, ids
