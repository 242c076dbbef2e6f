"""The people directory query (lms/services/directory.py): search, filters and scope."""

from __future__ import annotations

import unicodedata
from datetime import date

import pytest

from lms.actors import SYSTEM
from lms.models import Role, TitleKind
from lms.services.directory import PeopleFilter, people_query
from lms.services.people import PersonInput, deactivate_person, move_person, update_person

D1 = date(2024, 3, 1)


@pytest.fixture
def world(session, make_unit, make_person, now):
    root = make_unit(name="Sở Tư pháp", code="STP", kind="department")
    a = make_unit(name="Phòng Phổ biến", code="PB", parent=root)
    a1 = make_unit(name="Tổ Tuyên truyền", code="TT", parent=a)
    b = make_unit(name="Phòng Hành chính", code="HC", parent=root)
    people = {
        "admin": make_person(name="Quản Trị Viên", email="qtv@example.vn", unit=root, roles=("admin",)),
        "an": make_person(name="Nguyễn Văn An", email="an.nguyen@example.vn", unit=a, key_cadre=True,
                          category="legal_reporter"),
        "binh": make_person(name="Trần Thị Bình", email="binh@example.vn", unit=a1, roles=("trainee", "trainer")),
        "dat": make_person(name="Lê Đức Đạt", email="dat_le@example.vn", unit=b, key_cadre=True),
        "nguyet": make_person(name="Nguyễn Thị Nguyệt", email="nguyet@example.vn", unit=b,
                              category="legal_propagandist"),
        "unit_admin": make_person(name="Phạm Quản Lý", email="ql@example.vn", unit=a, roles=("unit_admin",)),
        "gone": make_person(name="Võ Văn Nghỉ", email="nghi@example.vn", unit=a1, key_cadre=True),
    }
    update_person(session, SYSTEM, people["an"], PersonInput("Nguyễn Văn An", "an.nguyen@example.vn", "0912 345 678",
                                                           "Trưởng phòng 100% thời gian", "civil_servant"))
    deactivate_person(session, SYSTEM, people["gone"], D1, now)
    session.commit()
    return {"units": {"root": root, "a": a, "a1": a1, "b": b}, **people}


def names(session, actor, **filters) -> list[str]:
    found = session.scalars(people_query(session, actor, PeopleFilter(**filters))).all()
    return [p.full_name for p in found]


# -- search -----------------------------------------------------------------------------------

@pytest.mark.parametrize("q", [
    "nguyen van", "NGUYEN VAN", "Nguyễn Văn", "nguyễn văn an", unicodedata.normalize("NFD", "Nguyễn Văn"),
    "van nguyen", "  an   nguyen ", "an.nguyen@", "0912345678", "0912 345", "truong phong",
])
def test_search_ignores_diacritics_case_and_order(session, world, q):
    assert names(session, SYSTEM, q=q) == ["Nguyễn Văn An"]


def test_search_matches_every_term(session, world):
    assert names(session, SYSTEM, q="NGUYEN") == ["Nguyễn Văn An", "Nguyễn Thị Nguyệt"]
    assert names(session, SYSTEM, q="nguyen thi") == ["Nguyễn Thị Nguyệt"]
    assert names(session, SYSTEM, q="đạt") == ["Lê Đức Đạt"]
    assert names(session, SYSTEM, q="DAT") == ["Lê Đức Đạt"]
    assert names(session, SYSTEM, q="nguyen xyz") == []


@pytest.mark.parametrize("q, expected", [
    ("%", ["Nguyễn Văn An"]),            # only the position that really contains "%"
    ("100%", ["Nguyễn Văn An"]),
    ("%%", []),
    ("_", ["Lê Đức Đạt"]),               # only the e-mail that really contains "_"
    ("dat_", ["Lê Đức Đạt"]),
    ("d_t", []),                          # "_" is not "any character"
    ("ng%en", []),                        # "%" is not "anything"
    ("\\", []),
])
def test_like_wildcards_are_literal(session, world, q, expected):
    assert names(session, SYSTEM, q=q) == expected


def test_empty_query_lists_active_people_by_name(session, world):
    # by given name, in Vietnamese order (Đạt after Bình, before Lý)
    assert names(session, SYSTEM) == [
        "Nguyễn Văn An", "Trần Thị Bình", "Lê Đức Đạt", "Phạm Quản Lý", "Nguyễn Thị Nguyệt", "Quản Trị Viên"]


# -- filters ----------------------------------------------------------------------------------

def test_filter_by_unit_subtree(session, world):
    units = world["units"]
    assert names(session, SYSTEM, unit_id=units["a"].id) == ["Nguyễn Văn An", "Trần Thị Bình", "Phạm Quản Lý"]
    assert names(session, SYSTEM, unit_id=units["a1"].id) == ["Trần Thị Bình"]
    assert names(session, SYSTEM, unit_id=units["b"].id) == ["Lê Đức Đạt", "Nguyễn Thị Nguyệt"]
    assert len(names(session, SYSTEM, unit_id=units["root"].id)) == 6


def test_unit_filter_follows_the_current_membership(session, world):
    move_person(session, SYSTEM, world["binh"], world["units"]["b"], D1)
    session.commit()
    assert names(session, SYSTEM, unit_id=world["units"]["a"].id) == ["Nguyễn Văn An", "Phạm Quản Lý"]
    assert "Trần Thị Bình" in names(session, SYSTEM, unit_id=world["units"]["b"].id)


def test_filter_by_category_key_cadre_role_and_active(session, world):
    assert names(session, SYSTEM, title=TitleKind.LEGAL_REPORTER) == ["Nguyễn Văn An"]
    assert names(session, SYSTEM, title=TitleKind.LEGAL_PROPAGANDIST) == ["Nguyễn Thị Nguyệt"]
    assert names(session, SYSTEM, key_cadre=True) == ["Nguyễn Văn An", "Lê Đức Đạt"]
    assert "Lê Đức Đạt" not in names(session, SYSTEM, key_cadre=False)
    assert len(names(session, SYSTEM, key_cadre=False)) == 4
    assert names(session, SYSTEM, role=Role.TRAINER) == ["Trần Thị Bình"]
    assert names(session, SYSTEM, role=Role.UNIT_ADMIN) == ["Phạm Quản Lý"]
    assert names(session, SYSTEM, role=Role.ADMIN) == ["Quản Trị Viên"]
    # inactive people are hidden by default, listed on request; their key-cadre period ended
    assert names(session, SYSTEM, active=False) == ["Võ Văn Nghỉ"]
    assert "Võ Văn Nghỉ" in names(session, SYSTEM, active=None)
    assert names(session, SYSTEM, active=None, key_cadre=True) == ["Nguyễn Văn An", "Lê Đức Đạt"]
    assert names(session, SYSTEM, q="nguyen", key_cadre=True, unit_id=world["units"]["a"].id) == ["Nguyễn Văn An"]


def test_each_person_is_listed_once(session, world):
    found = session.scalars(people_query(session, SYSTEM, PeopleFilter(active=None))).all()
    assert len(found) == len({p.id for p in found}) == 7
    an = next(p for p in found if p.full_name == "Nguyễn Văn An")
    assert an.current_unit.code == "PB" and an.is_key_cadre


# -- scope ------------------------------------------------------------------------------------

def test_unit_admin_sees_only_their_subtree(session, world):
    actor = world["unit_admin"]
    assert names(session, actor) == ["Nguyễn Văn An", "Trần Thị Bình", "Phạm Quản Lý"]
    assert names(session, actor, active=None) == ["Nguyễn Văn An", "Trần Thị Bình", "Phạm Quản Lý", "Võ Văn Nghỉ"]
    assert names(session, actor, q="nguyen") == ["Nguyễn Văn An"]
    assert names(session, actor, q="dat") == []
    # asking for a unit outside the scope does not widen it
    assert names(session, actor, unit_id=world["units"]["b"].id) == []
    assert names(session, actor, unit_id=world["units"]["root"].id) == ["Nguyễn Văn An", "Trần Thị Bình",
                                                                        "Phạm Quản Lý"]


def test_admin_sees_everyone_and_others_see_nobody(session, world):
    assert len(names(session, world["admin"])) == 6
    assert names(session, world["binh"]) == []
    assert names(session, world["an"]) == []


# -- Vietnamese alphabetical order and telephone numbers --------------------------------------

def test_people_sort_by_given_name_in_vietnamese_order(session, make_unit, make_person):
    """Code-point order put "Đặng" after "Vũ" and "Nguyễn" before "Ngô"; people are listed by
    given name (tên) first, letters a ă â b c d đ e ê …, tones after the letters."""
    unit = make_unit(name="Phòng Thử", code="THU")
    for name in ("Vũ Văn Ánh", "Đặng Thị Anh", "Nguyễn Văn Ngô", "Ngô Văn Nguyễn", "Lê Thị Ân", "Trần Văn Ăn",
                 "Bùi Văn Dũng", "Hồ Thị Đào", "Phạm Văn Anh", "Dương Thị Ơn", "Lý Văn Ôn", "Đỗ Văn On"):
        make_person(name=name, unit=unit)
    assert names(session, SYSTEM, unit_id=unit.id) == [
        "Đặng Thị Anh", "Phạm Văn Anh",  # same given name: then by the rest, Đ after D... and before P
        "Vũ Văn Ánh",  # tones after the letter
        "Trần Văn Ăn", "Lê Thị Ân",  # ă, then â
        "Bùi Văn Dũng", "Hồ Thị Đào",  # đ after d
        "Nguyễn Văn Ngô", "Ngô Văn Nguyễn",  # "Ngô" before "Nguyễn"
        "Đỗ Văn On", "Lý Văn Ôn", "Dương Thị Ơn",  # o ô ơ
    ]


def test_units_sort_in_vietnamese_order(session, make_unit):
    from lms.tree import load_tree

    parent = make_unit(name="Tỉnh Thử", code="TINH", kind="department")
    for name, code in (("UBND huyện Vũ Thư", "VT"), ("UBND huyện Đông Hưng", "DH"),
                       ("UBND huyện Dương Kinh", "DK"), ("UBND huyện An Lão", "AL")):
        make_unit(name=name, code=code, parent=parent)
    session.expire_all()
    assert [u.code for u in session.get(type(parent), parent.id).children] == ["AL", "DK", "DH", "VT"]
    assert [u.code for u in load_tree(session)[1][parent.id]] == ["AL", "DK", "DH", "VT"]


@pytest.mark.parametrize("typed, stored", [
    ("0584 123 456", "+84584123456"), ("0912.345.678", "+84912345678"), ("+84 912 345 678", "+84912345678"),
    ("(0227) 3831 234", "+842273831234"), ("0084 912 345 678", "+84912345678"), ("+33 1 23 45 67 89", "+33123456789"),
])
def test_phone_numbers_are_stored_in_one_form(session, make_unit, typed, stored):
    from lms.services.people import create_person

    person = create_person(session, SYSTEM, PersonInput("Phan Văn Số", "so@example.vn", typed), unit=make_unit(),
                           password="Rất-Khó-Đoán-2028!", on=D1)
    assert person.phone == stored


@pytest.mark.parametrize("q", ["0584123456", "0584 123 456", "+84 584 123 456", "+84584123456", "584 123",
                               "84584123456"])
def test_a_person_is_found_by_phone_however_it_is_typed(session, make_unit, make_person, q):
    from lms.services.people import create_person

    unit = make_unit()
    make_person(name="Người Khác", unit=unit)
    create_person(session, SYSTEM, PersonInput("Phan Văn Số", "so@example.vn", "0584 123 456"), unit=unit,
                  password="Rất-Khó-Đoán-2028!", on=D1)
    assert names(session, SYSTEM, q=q) == ["Phan Văn Số"]


@pytest.mark.parametrize("typed", ["12345", "0123 456 789 012 345", "phone", "+84 12", "0912-ABC-678"])
def test_numbers_that_are_not_numbers_are_refused(session, make_unit, typed):
    from lms.errors import ServiceError
    from lms.models import Person
    from lms.services.people import create_person

    unit = make_unit()
    with pytest.raises(ServiceError) as exc:
        create_person(session, SYSTEM, PersonInput("Phan Văn Số", "so@example.vn", typed), unit=unit,
                      password="Rất-Khó-Đoán-2028!", on=D1)
    assert exc.value.field == "phone" and "ví dụ 0912 345 678" in str(exc.value.message)
    session.rollback()
    assert session.query(Person).filter_by(email_key="so@example.vn").first() is None
