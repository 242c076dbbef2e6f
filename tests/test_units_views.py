"""The organisation tree screens."""

from __future__ import annotations

import re

import pytest
import sqlalchemy as sa

from lms.db import db
from lms.models import Membership, Unit, UnitLink
from tests.conftest import count_rows


@pytest.fixture
def tree(make_unit):
    root = make_unit(name="Sở Tư pháp", code="STP", kind="department")
    a = make_unit(name="Phòng Tư pháp huyện A", code="PTP-A", kind="district", parent=root)
    b = make_unit(name="Phòng Tư pháp huyện B", code="PTP-B", kind="district", parent=root)
    commune = make_unit(name="UBND xã C", code="XA-C", kind="commune", parent=a)
    return {"root": root, "a": a, "b": b, "commune": commune}


@pytest.fixture
def admin(auth, make_person, tree):
    person = make_person(email="admin@example.vn", unit=tree["root"], roles=("admin",))
    auth.login(person.email)
    return person


def _errors(response):
    return re.findall(r'invalid-feedback d-block">([^<]+)<', response.get_data(as_text=True))


def test_tree_page_lists_units_in_order(client, admin, tree):
    page = client.get("/admin/units/").get_data(as_text=True)
    positions = [page.index(name) for name in ("Sở Tư pháp", "Phòng Tư pháp huyện A", "UBND xã C",
                                               "Phòng Tư pháp huyện B")]
    assert positions == sorted(positions)


def test_create_unit(client, admin, tree):
    response = client.post("/admin/units/new", data={"name": "  Phòng   Tư pháp  huyện D ", "code": "ptp-d",
                                                     "kind": "district", "parent": tree["root"].id, "on": "2025-07-01"})
    assert response.status_code == 302
    unit = db.session.scalar(sa.select(Unit).where(Unit.code == "PTP-D"))
    assert unit.name == "Phòng Tư pháp huyện D" and unit.parent_id == tree["root"].id


@pytest.mark.parametrize("change,message", [
    ({"name": ""}, "Vui lòng nhập tên đơn vị."),
    ({"name": "x" * 256}, "không được dài quá 255"),
    ({"code": ""}, "Vui lòng nhập mã đơn vị."),
    ({"code": "mã có dấu"}, "Mã đơn vị chỉ gồm"),
    ({"code": "stp"}, "đã được dùng"),
    ({"code": "<script>"}, "Mã đơn vị chỉ gồm"),
    ({"kind": "empire"}, "Lựa chọn không hợp lệ."),
    ({"parent": "12345678"}, "Lựa chọn không hợp lệ."),
    ({"parent": "x"}, "Lựa chọn không hợp lệ."),
    ({"on": "2024-02-30"}, "theo dạng ngày/tháng/năm"),
])
def test_create_unit_bad_input_changes_nothing(client, admin, tree, change, message):
    before = count_rows(Unit), count_rows(UnitLink)
    data = {"name": "Đơn vị mới", "code": "NEW", "kind": "division", "parent": tree["root"].id, "on": "2025-01-01"}
    response = client.post("/admin/units/new", data={**data, **change})
    assert response.status_code == 422
    assert any(message in e for e in _errors(response)), _errors(response)
    assert (count_rows(Unit), count_rows(UnitLink)) == before


def test_rename_move_merge_close(client, admin, tree, make_person):
    person = make_person(email="p@example.vn", unit=tree["commune"], key_cadre=True)
    a, b, commune = tree["a"], tree["b"], tree["commune"]
    assert client.post(f"/admin/units/{a.id}/edit", data={"edit-name": "Phòng Tư pháp thị xã A", "edit-code": "PTP-A",
                                                         "edit-kind": "district"}).status_code == 302
    assert client.post(f"/admin/units/{commune.id}/move", data={"move-parent": b.id, "move-on": "2025-01-01"}).status_code == 302
    merged = client.post(f"/admin/units/{b.id}/merge", data={"merge-target": a.id, "merge-on": "2025-07-01"},
                         follow_redirects=True)
    assert "Đã sáp nhập" in merged.get_data(as_text=True)
    db.session.expire_all()
    b = db.session.get(Unit, b.id)
    assert not b.active and b.merged_into_id == a.id and str(b.closed_on) == "2025-07-01"
    assert db.session.get(Unit, commune.id).parent_id == a.id
    assert db.session.get(Unit, a.id).name == "Phòng Tư pháp thị xã A"
    # the person stayed in the commune; the commune's history shows A, then B, then A
    history = client.get(f"/admin/units/{commune.id}").get_data(as_text=True)
    assert history.count("Phòng Tư pháp thị xã A") >= 2 and "Phòng Tư pháp huyện B" in history
    refused = client.post(f"/admin/units/{commune.id}/close", data={"close-on": "2025-08-01"})
    assert refused.status_code == 422 and "Đơn vị còn 1 người" in refused.get_data(as_text=True)
    client.post(f"/admin/people/{person.id}/move", data={"move-unit": a.id, "move-on": "2025-08-01"})
    assert client.post(f"/admin/units/{commune.id}/close", data={"close-on": "2025-08-02"}).status_code == 302
    assert not db.session.get(Unit, commune.id).active


def test_tree_changes_refused_with_a_message(client, admin, tree):
    root, a, commune = tree["root"], tree["a"], tree["commune"]
    cycle = client.post(f"/admin/units/{a.id}/move", data={"move-parent": commune.id, "move-on": "2025-01-01"})
    assert cycle.status_code == 422 and "đơn vị cấp dưới" in cycle.get_data(as_text=True)
    into_child = client.post(f"/admin/units/{a.id}/merge", data={"merge-target": commune.id, "merge-on": "2025-01-01"})
    assert into_child.status_code == 422
    before_period = client.post(f"/admin/units/{commune.id}/move", data={"move-parent": root.id, "move-on": "2000-01-01"})
    assert before_period.status_code == 422 and "trước ngày thành lập" in before_period.get_data(as_text=True)
    self_merge = client.post(f"/admin/units/{a.id}/merge", data={"merge-target": a.id, "merge-on": "2025-01-01"})
    assert self_merge.status_code == 422
    db.session.expire_all()
    assert db.session.get(Unit, a.id).active and db.session.get(Unit, commune.id).parent_id == a.id


def test_unit_admin_sees_their_part_and_cannot_edit(client, auth, make_person, tree):
    ua = make_person(email="ua@example.vn", unit=tree["a"], roles=("unit_admin",))
    auth.login(ua.email)
    page = client.get("/admin/units/").get_data(as_text=True)
    assert "UBND xã C" in page and "Phòng Tư pháp huyện B" not in page
    assert client.get(f"/admin/units/{tree['b'].id}").status_code == 404
    assert client.get(f"/admin/units/{tree['commune'].id}").status_code == 200
    response = client.post(f"/admin/units/{tree['commune'].id}/edit", data={"edit-name": "X", "edit-code": "X",
                                                                          "edit-kind": "commune"})
    assert response.status_code == 403
    assert client.get("/admin/units/new").status_code == 403


def test_unknown_unit(client, admin):
    assert client.get("/admin/units/424242").status_code == 404
    assert client.post("/admin/units/424242/close", data={"close-on": "2025-01-01"}).status_code == 404
