"""Administrators edit the conventions and contents reference data."""

from __future__ import annotations

import pytest

from courses.models import Convention
from lms.db import db
from tests.conftest import TEST_PASSWORD
from tests.courses.conftest import convention


@pytest.fixture
def admin_client(client, make_person):
    admin = make_person(email="admin@example.vn", roles=("admin",))
    client.post("/login", data={"email": admin.email, "password": TEST_PASSWORD})
    return client


def test_reference_data_is_loaded(app):
    crc = convention("CRC")
    assert (crc.adopted_year, crc.vn_party_year) == (1989, 1990)
    assert db.session.query(Convention).count() == 7


def test_admin_edits_a_convention(admin_client):
    cat = convention("CAT")
    page = admin_client.get("/courses/reference").get_data(as_text=True)
    assert "CAT" in page and "Công ước về quyền trẻ em" in page
    response = admin_client.post(f"/courses/reference/conventions/{cat.id}", data={
        "name_vi": "Công ước chống tra tấn", "name_en": "Convention against Torture", "adopted_year": "1984",
        "adopted_on": "1984-12-10", "vn_party_year": "2015", "vn_party_on": "2015-02-05"})
    assert response.status_code == 302
    db.session.expire_all()
    assert convention("CAT").name_vi == "Công ước chống tra tấn"


@pytest.mark.parametrize("change,message", [
    ({"name_vi": ""}, "Vui lòng nhập tên."),
    ({"adopted_year": "năm"}, "Năm phải là số"),
    ({"adopted_year": "3000"}, "Năm phải từ 1900 đến 2100."),
    ({"vn_party_year": "1950"}, "trước khi công ước được thông qua"),
    ({"adopted_on": "1999-01-01"}, "không khớp với năm"),
    ({"name_en": "x" * 301}, "không được dài quá 300"),
])
def test_bad_reference_edits(admin_client, change, message):
    crc = convention("CRC")
    data = {"name_vi": crc.name_vi, "name_en": crc.name_en, "adopted_year": "1989", "adopted_on": "",
            "vn_party_year": "1990", "vn_party_on": ""}
    response = admin_client.post(f"/courses/reference/conventions/{crc.id}", data={**data, **change})
    assert response.status_code == 422 and message in response.get_data(as_text=True)
    db.session.expire_all()
    assert convention("CRC").adopted_year == 1989 and convention("CRC").name_en == crc.name_en


def test_only_admins_edit_reference(client, make_person):
    trainer = make_person(email="t@example.vn", roles=("trainer",))
    client.post("/login", data={"email": trainer.email, "password": TEST_PASSWORD})
    assert client.get("/courses/reference").status_code == 403
    assert client.post(f"/courses/reference/conventions/{convention('CRC').id}", data={}).status_code == 403


def test_content_edit_and_unknown_ids(admin_client):
    assert admin_client.get("/courses/reference/contents/999999").status_code == 404
    assert admin_client.get("/courses/reference/conventions/999999").status_code == 404


CONTENT_FORM = {"name_vi": "Nội dung", "name_en": "Topic", "short_vi": "Ngắn", "short_en": "Short"}


@pytest.mark.parametrize("data,message", [
    ({"name_vi": ""}, "Vui lòng nhập tên."),
    ({"name_en": "x" * 1001}, "không được dài quá 1000"),
    ({"short_vi": ""}, "Vui lòng nhập tên ngắn."),
    ({"short_en": "x" * 121}, "không được dài quá 120"),
])
def test_bad_content_edits(admin_client, data, message):
    from tests.courses.conftest import content

    item = content(1)
    before = (item.name_vi, item.name_en, item.short_vi, item.short_en)
    response = admin_client.post(f"/courses/reference/contents/{item.id}", data={**CONTENT_FORM, **data})
    assert response.status_code == 422 and message in response.get_data(as_text=True)
    db.session.expire_all()
    assert (content(1).name_vi, content(1).name_en, content(1).short_vi, content(1).short_en) == before


def test_admin_edits_a_content(admin_client):
    from tests.courses.conftest import content

    page = admin_client.get(f"/courses/reference/contents/{content(5).id}").get_data(as_text=True)
    assert 'name="short_vi"' in page and 'name="short_en"' in page and "Đối ngoại về quyền con người" in page
    response = admin_client.post(f"/courses/reference/contents/{content(5).id}", data={
        "name_vi": "Các ưu tiên trong đối ngoại về quyền con người của Việt Nam", "name_en": "Foreign affairs",
        "short_vi": "Đối ngoại", "short_en": "Diplomacy"})
    assert response.status_code == 302
    db.session.expire_all()
    assert (content(5).name_en, content(5).short_vi, content(5).short_en) == ("Foreign affairs", "Đối ngoại",
                                                                              "Diplomacy")


def test_contents_hold_the_plans_full_wording_and_a_short_label(app):
    """Section II of the plan, word for word (content 4 says "quyền con người", not "nhân quyền"),
    each with a short label."""
    from tests.courses.conftest import content

    four = content(4)
    assert four.name_vi.startswith("Các vụ việc, các đối tượng trong nước và nước ngoài, các hành vi lợi dụng "
                                   "quyền tự do, dân chủ, quyền con người để vi phạm pháp luật")
    assert "nhân quyền" not in four.name_vi and four.short_vi == "Đấu tranh với hành vi lợi dụng quyền con người"
    assert "Công ước Chống tra tấn" in content(1).name_vi and "kinh nghiệm quốc tế" in content(1).name_vi
    assert content(3).name_vi.endswith("lòng yêu nước, tự hào dân tộc")
    for number in range(1, 6):
        item = content(number)
        assert item.short_vi and item.short_en and len(item.short_vi) <= 60 < len(item.name_vi)
        assert (item.short_in("en"), item.name_in("en"), item.short_in("vi")) == (item.short_en, item.name_en,
                                                                                 item.short_vi)


def test_reference_list_shows_short_label_and_full_wording(admin_client):
    from tests.courses.conftest import content

    page = admin_client.get("/courses/reference").get_data(as_text=True)
    assert "Thành tựu bảo đảm quyền con người" in page and "để không ai bị bỏ lại phía sau" in page
    assert content(3).name_en in page.replace("&#39;", "'")
