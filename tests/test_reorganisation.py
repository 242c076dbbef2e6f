"""Reorganisations keep history: split (chia, tách), consolidation (hợp nhất), the tree on any day,
the import of the tree from a spreadsheet, and the demo's 2025 reorganisation."""

from __future__ import annotations

import csv
import io
from datetime import date

import pytest
import sqlalchemy as sa

from lms import tree
from lms.actors import SYSTEM
from lms.db import db
from lms.errors import ServiceError
from lms.models import Job, JobStatus, Membership, RoleAssignment, SuccessionKind, Unit, UnitSuccession
from lms.services import unit_import
from lms.services import units as svc
from tests.conftest import count_rows

D1 = date(2025, 7, 1)
BEFORE, AFTER = date(2024, 12, 31), date(2025, 12, 31)


def ids(people):
    return {p.id for p in people}


@pytest.fixture
def world(make_unit, make_person):
    root = make_unit(name="Sở Tư pháp", code="STP", kind="department")
    district = make_unit(name="Phòng Tư pháp huyện Vũ Thư", code="PTP-VT", kind="district", parent=root)
    commune = make_unit(name="UBND xã Tam Quang", code="XA-TQ", kind="commune", parent=district)
    head = make_person(name="Trần Thị Hạnh", email="hanh@example.vn", unit=district, key_cadre=True,
                       roles=("unit_admin",))
    clerk = make_person(name="Hoàng Văn Bình", email="binh@example.vn", unit=district)
    return {"root": root, "district": district, "commune": commune, "head": head, "clerk": clerk}


def test_split_off_a_part_keeps_the_source_and_the_history(world):
    district, head = world["district"], world["head"]
    created = svc.split_unit(db.session, SYSTEM, district, [
        svc.NewUnit("Phòng Tư pháp mới", "PTP-MOI", "district", people={head.id}, units={world["commune"].id})],
        D1, keep_source=True, decision="QĐ 1/2025")
    db.session.commit()
    new = created[0]
    assert district.active and new.established_on == D1 and new.parent_id == world["root"].id
    assert ids(tree.key_cadres_on(db.session, district.id, BEFORE)) == {head.id}
    assert tree.key_cadres_on(db.session, district.id, AFTER) == []
    assert ids(tree.key_cadres_on(db.session, new.id, AFTER)) == {head.id}
    assert tree.subtree_ids(db.session, new.id, on=AFTER) == {new.id, world["commune"].id}
    succession = db.session.scalar(sa.select(UnitSuccession))
    assert (succession.kind, succession.on, succession.decision) == (SuccessionKind.SPLIT, D1, "QĐ 1/2025")
    # the clerk stays: the source goes on
    assert world["clerk"].current_unit.id == district.id


def test_dividing_needs_everyone_placed_then_ends_the_source(world):
    district, head, clerk = world["district"], world["head"], world["clerk"]
    parts = [svc.NewUnit("Phòng A", "PA", "district", people={head.id}),
             svc.NewUnit("Phòng B", "PB", "district", people={clerk.id})]
    with pytest.raises(ServiceError) as exc:  # the commune has not been given to a new unit
        svc.split_unit(db.session, SYSTEM, district, parts, D1, keep_source=False)
    assert "chưa được chuyển" in str(exc.value.message)
    db.session.rollback()
    parts[1].units = {world["commune"].id}
    created = svc.split_unit(db.session, SYSTEM, district, parts, D1, keep_source=False)
    db.session.commit()
    assert not district.active and district.closed_on == D1
    assert [u.code for u in created] == ["PA", "PB"]
    # the unit-administrator right over the ended unit is gone
    assert db.session.scalar(sa.select(RoleAssignment).where(RoleAssignment.unit_id == district.id)) is None
    assert ids(tree.members_on(db.session, world["root"].id, BEFORE)) == ids(tree.members_on(
        db.session, world["root"].id, AFTER))


@pytest.mark.parametrize("parts, message", [
    ([], "ít nhất một đơn vị mới"),
    ([svc.NewUnit("", "X1", "district")], "Vui lòng nhập tên đơn vị."),
    ([svc.NewUnit("Phòng X", "STP", "district")], "đã được dùng"),
    ([svc.NewUnit("Phòng X", "X1", "district", people={999999})], "Chỉ chuyển được người"),
])
def test_bad_splits_write_nothing(world, parts, message):
    before = count_rows(Unit), count_rows(Membership), count_rows(UnitSuccession)
    with pytest.raises(ServiceError) as exc:
        svc.split_unit(db.session, SYSTEM, world["district"], parts, D1, keep_source=True)
    assert message in str(exc.value.message)
    db.session.rollback()
    assert (count_rows(Unit), count_rows(Membership), count_rows(UnitSuccession)) == before


def test_consolidation_creates_one_unit_from_several(world, make_unit, make_person):
    other = make_unit(name="UBND xã Minh Quang", code="XA-MQ", kind="commune", parent=world["district"])
    mai = make_person(name="Đỗ Thị Mai", email="mai@example.vn", unit=other, key_cadre=True)
    lan = make_person(name="Phạm Thị Lan", email="lan@example.vn", unit=world["commune"])
    new = svc.consolidate_units(db.session, SYSTEM, [world["commune"], other],
                                svc.NewUnit("UBND xã Vũ Thư", "XA-VUTHU", "commune"), world["root"], D1)
    db.session.commit()
    assert not world["commune"].active and not other.active and other.merged_into_id == new.id
    assert ids(tree.members_on(db.session, new.id, AFTER)) == {mai.id, lan.id}
    assert ids(tree.key_cadres_on(db.session, other.id, BEFORE)) == {mai.id}
    came_from, _ = tree.successions(db.session, new)
    assert {s.predecessor.code for s in came_from} == {"XA-TQ", "XA-MQ"}
    with pytest.raises(ServiceError):
        svc.consolidate_units(db.session, SYSTEM, [world["district"]], svc.NewUnit("X", "X", "district"), None, D1)
    db.session.rollback()


def test_the_tree_on_a_day(world, make_unit):
    svc.consolidate_units(db.session, SYSTEM, [world["commune"], make_unit(code="XA-2", parent=world["district"])],
                          svc.NewUnit("UBND xã Mới", "XA-MOI", "commune"), world["root"], D1)
    db.session.commit()
    _, before = tree.tree_on(db.session, BEFORE)
    _, after = tree.tree_on(db.session, AFTER)
    assert {u.code for u in before[world["district"].id]} == {"XA-TQ", "XA-2"}
    assert "XA-MOI" not in {u.code for units in before.values() for u in units}
    assert world["district"].id not in after or not after[world["district"].id]
    assert "XA-MOI" in {u.code for u in after[world["root"].id]}


# -- the screens ---------------------------------------------------------------------------------

@pytest.fixture
def admin(app, make_person, world):
    person = make_person(email="admin@example.vn", unit=world["root"], roles=("admin",))
    client = app.test_client()
    client.post("/login", data={"email": person.email, "password": "Rất-Khó-Đoán-2028!"})
    return client


def test_tree_screen_on_a_day(admin, world):
    svc.consolidate_units(db.session, SYSTEM, [world["commune"], world["district"]],
                          svc.NewUnit("Phòng Tư pháp hợp nhất", "PTP-HN", "district"), world["root"], D1)
    db.session.commit()
    old = admin.get("/admin/units/?on=2024-12-31").get_data(as_text=True)
    new = admin.get("/admin/units/?on=2025-12-31").get_data(as_text=True)
    assert "Phòng Tư pháp huyện Vũ Thư" in old and "Phòng Tư pháp hợp nhất" not in old
    assert "Phòng Tư pháp hợp nhất" in new and "UBND xã Tam Quang" not in new
    for junk in ("?on=2024-13-45", "?on=abc", "?on=0001-01-01", "?on=" + "9" * 100):
        assert admin.get("/admin/units/" + junk).status_code == 200


def test_split_page(admin, world):
    district = world["district"]
    page = admin.get(f"/admin/units/{district.id}/split")
    assert page.status_code == 200 and "Trần Thị Hạnh" in page.get_data(as_text=True)
    bad = admin.post(f"/admin/units/{district.id}/split", data={"on": "2025-07-01", "keep_source": "y",
                                                                "name_1": "Phòng mới", "code_1": "bad code!",
                                                                "kind_1": "district", "kind_2": "district",
                                                                "kind_3": "district"})
    assert bad.status_code == 422 and "Mã đơn vị chỉ gồm" in bad.get_data(as_text=True)
    assert count_rows(Unit) == 3
    good = admin.post(f"/admin/units/{district.id}/split", data={
        "on": "2025-07-01", "keep_source": "y", "name_1": "Phòng mới", "code_1": "PTP-MOI", "kind_1": "district",
        "kind_2": "district", "kind_3": "district", f"person-{world['head'].id}": "1",
        f"person-{world['clerk'].id}": "0"})
    assert good.status_code == 302
    assert world["head"].current_unit.code == "PTP-MOI" and world["clerk"].current_unit.code == "PTP-VT"


def test_consolidate_page(admin, world, make_unit):
    other = make_unit(code="XA-MQ", parent=world["district"], kind="commune")
    bad = admin.post("/admin/units/consolidate", data={"sources": [str(world["commune"].id)], "name": "Xã mới",
                                                       "code": "XA-MOI", "kind": "commune", "parent": "0",
                                                       "on": "2025-07-01"})
    assert bad.status_code == 422 and "ít nhất hai đơn vị" in bad.get_data(as_text=True)
    good = admin.post("/admin/units/consolidate", data={
        "sources": [str(world["commune"].id), str(other.id)], "name": "UBND xã Vũ Thư", "code": "XA-VUTHU",
        "kind": "commune", "parent": str(world["root"].id), "on": "2025-07-01", "decision": "NQ 1666/NQ-UBTVQH15"})
    assert good.status_code == 302
    assert "UBND xã Vũ Thư" in admin.get(good.location).get_data(as_text=True)


# -- importing the tree --------------------------------------------------------------------------

def units_csv(rows, headers=("Mã đơn vị", "Tên đơn vị", "Mã đơn vị cấp trên", "Loại", "Từ ngày")) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(headers)
    writer.writerows(rows)
    return out.getvalue().encode("utf-8-sig")


def test_import_creates_children_before_their_parents_appear(admin, world):
    content = units_csv([
        ["XA-A", "UBND xã A", "PTP-MOI", "Cấp xã", "01/07/2025"],
        ["PTP-MOI", "Phòng Tư pháp mới", "STP", "Cấp huyện", "01/01/2025"],
        ["XA-TQ", "UBND xã Tam Quang (đổi tên)", "", "", ""],
    ])
    preview = unit_import.check(db.session, SYSTEM, content, "cay.csv", today=date(2025, 8, 1))
    assert preview.ok, preview.messages()
    assert [r.action for r in preview.rows] == ["create", "create", "update"]
    result = unit_import.apply(db.session, SYSTEM, content, "cay.csv", today=date(2025, 8, 1))
    db.session.commit()
    assert result == {"rows": 3, "created": 2, "updated": 1, "unchanged": 0}
    a = db.session.scalar(sa.select(Unit).where(Unit.code == "XA-A"))
    assert a.parent.code == "PTP-MOI" and a.established_on == date(2025, 7, 1)
    assert world["commune"].name == "UBND xã Tam Quang (đổi tên)" and world["commune"].parent_id == world[
        "district"].id


@pytest.mark.parametrize("rows, message", [
    ([["A", "Đơn vị A", "B", "", ""], ["B", "Đơn vị B", "A", "", ""]], "vòng tròn"),
    ([["A", "Đơn vị A", "KHONGCO", "", ""]], "Không có đơn vị nào có mã “KHONGCO”"),
    ([["A", "Đơn vị A", "", "", ""], ["a", "Đơn vị A lặp", "", "", ""]], "Mã đơn vị “A” trùng với mã ở dòng 2"),
    ([["A", "Đơn vị \ue000 A", "", "", ""]], "Tên đơn vị có ký tự “\ue000” (U+E000) không được phép"),
    ([["A", "", "", "", ""]], "Vui lòng nhập tên đơn vị."),
    ([["A B", "Đơn vị", "", "", ""]], "Mã đơn vị chỉ gồm"),
    ([["A", "Đơn vị", "", "hành tinh", ""]], "Loại “hành tinh” không hợp lệ"),
    ([["A", "Đơn vị", "", "", "31/02/2025"]], "không hợp lệ"),
    ([["A", "Đơn vị", "STP", "", "01/01/2000"]], "trước ngày thành lập đơn vị cấp trên"),
])
def test_bad_unit_files_list_every_problem_and_write_nothing(world, rows, message):
    before = count_rows(Unit)
    preview = unit_import.check(db.session, SYSTEM, units_csv(rows), "x.csv", today=date(2025, 8, 1))
    assert not preview.ok
    assert message in "\n".join(preview.messages())
    with pytest.raises(ServiceError):
        unit_import.apply(db.session, SYSTEM, units_csv(rows), "x.csv", today=date(2025, 8, 1))
    db.session.rollback()
    assert count_rows(Unit) == before


def test_import_units_through_the_screens_runs_as_a_job(admin, world):
    response = admin.post("/admin/import/units/", data={"file": (io.BytesIO(units_csv([
        ["XA-MOI", "UBND xã Mới", "STP", "Cấp xã", "01/07/2025"]])), "cay.csv")},
        content_type="multipart/form-data")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert "UBND xã Mới" in html and "Tạo mới" in html
    import re

    token = re.search(r"/admin/import/([A-Za-z0-9_-]{20,})/confirm", html).group(1)
    confirmed = admin.post(f"/admin/import/{token}/confirm", data={})
    assert confirmed.status_code == 302 and "/jobs/" in confirmed.location
    assert "Đã xong" in admin.get(confirmed.location).get_data(as_text=True)
    assert db.session.scalar(sa.select(Job.status)) == JobStatus.DONE
    assert db.session.scalar(sa.select(Unit).where(Unit.code == "XA-MOI")).parent_id == world["root"].id


def test_unit_administrators_may_not_import_the_tree(app, world):
    client = app.test_client()
    client.post("/login", data={"email": world["head"].email, "password": "Rất-Khó-Đoán-2028!"})
    assert client.get("/admin/import/units/").status_code == 403
    assert client.get("/admin/import/units/template.xlsx").status_code == 403


def test_import_units_command(runner, world, tmp_path):
    path = tmp_path / "cay.csv"
    path.write_bytes(units_csv([["XA-MOI", "UBND xã Mới", "STP", "Cấp xã", "01/07/2025"]]))
    dry = runner.invoke(args=["lms", "import-units", str(path), "--dry-run"])
    assert dry.exit_code == 0 and "1 tạo mới" in dry.output and count_rows(Unit) == 3
    done = runner.invoke(args=["lms", "import-units", str(path)])
    assert done.exit_code == 0, done.output
    assert "Đã nhập: 1 tạo mới" in done.output
    bad = tmp_path / "sai.csv"
    bad.write_bytes(units_csv([["A", "Đơn vị A", "B", "", ""], ["B", "Đơn vị B", "A", "", ""]]))
    refused = runner.invoke(args=["lms", "import-units", str(bad)])
    assert refused.exit_code == 1 and "vòng tròn" in refused.output


def test_the_unit_template_downloads(admin):
    import openpyxl

    response = admin.get("/admin/import/units/template.xlsx")
    assert response.status_code == 200
    book = openpyxl.load_workbook(io.BytesIO(response.data))
    assert [c.value for c in book.worksheets[0][1]][:5] == ["Mã đơn vị", "Tên đơn vị", "Mã đơn vị cấp trên", "Loại",
                                                           "Từ ngày"]
    assert "STP" in [c.value for c in book.worksheets[1]["A"]]


# -- the demo lives through 2025 -------------------------------------------------------------------

def test_the_demo_shows_the_2025_reorganisation(runner):
    assert runner.invoke(args=["lms", "seed-demo"]).exit_code == 0
    province = db.session.scalar(sa.select(Unit).where(Unit.code == "STP"))
    old = db.session.scalar(sa.select(Unit).where(Unit.code == "STP-TB"))
    assert province.established_on == D1 and old.closed_on == D1
    before = {p.email for p in tree.key_cadres_on(db.session, old.id, BEFORE)}
    after = {p.email for p in tree.key_cadres_on(db.session, province.id, AFTER)}
    assert "hocvien03@demo.stp.vn" in before and "hocvien03@demo.stp.vn" not in after  # no longer a key cadre
    assert "hocvien09@demo.stp.vn" in after  # came with the consolidated Hưng Yên department
    assert before != after
    _, after_tree = tree.tree_on(db.session, AFTER)
    assert not any(u.kind.value == "district" for units in after_tree.values() for u in units)
    codes = {u.code for u in db.session.scalars(sa.select(Unit))}
    assert {"XA-TAMQUANG", "PHUONG-TRANLAM", "XA-VUTHU"} <= codes and "XA-TANG" not in codes


def test_junk_in_the_split_form_never_crashes(admin, world):
    district = world["district"]
    for junk in ({f"person-{world['head'].id}": "²"}, {"person-²": "1"}, {"unit-abc": "1"},
                 {f"person-{world['head'].id}": "99"}, {"person-" + "9" * 30: "1"}):
        response = admin.post(f"/admin/units/{district.id}/split", data={
            "on": "2025-07-01", "keep_source": "y", "name_1": "Phòng mới", "code_1": "PTP-MOI", "kind_1": "district",
            "kind_2": "district", "kind_3": "district", **junk})
        assert response.status_code in (302, 422), junk
        db.session.rollback()
