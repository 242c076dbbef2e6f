"""The roster import's confirm step in a real browser: the decision is on the first screen and
the reason column is in view, on a 1366 px laptop and on a phone."""

from __future__ import annotations

import re

import pytest
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import Page, expect

from tests.e2e.conftest import log_in
from tests.test_roster_import import xlsx_bytes

pytestmark = pytest.mark.e2e

ROWS = 200


def _person(n: int, email: str | None = None) -> list[str]:
    name = f"Nguyễn Thị Hồng Nhung Số {chr(65 + n % 26)}{chr(65 + n // 26 % 26)}"
    position = "<b>Phó Trưởng phòng</b> {phụ trách} a > b" if n % 3 == 0 else "Chuyên viên chính"
    return [name, email or f"nguyen.thi.hong.nhung.rat.dai.{n}@sotuphap.example.gov.vn", "0912 345 678", "U1",
            position, "Công chức", "Có" if n % 5 == 0 else "Không", "", ""]


def _right_edge(page: Page, header: str) -> float:
    box = page.get_by_role("columnheader", name=header, exact=True).bounding_box()
    assert box is not None, f"no column “{header}”"
    return box["x"] + box["width"]


def _no_page_scroll(page: Page) -> None:
    widths = page.evaluate("() => ({scroll: document.documentElement.scrollWidth,"
                           " client: document.documentElement.clientWidth})")
    assert widths["scroll"] <= widths["client"], f"the page scrolls sideways: {widths}"


def _accessible(page: Page) -> None:
    violations = [v for v in Axe().run(page).response["violations"] if v.get("impact") in {"serious", "critical"}]
    assert not violations, [(v["id"], [n["html"][:120] for n in v["nodes"]][:5]) for v in violations]


def _preview(page: Page, server, path) -> None:
    page.goto(server("/admin/import/"))
    page.get_by_label("Tệp danh sách (.xlsx hoặc .csv)").set_input_files(path)
    with page.expect_navigation():
        page.get_by_role("button", name="Xem trước").click()


def test_confirm_step_puts_the_decision_first_and_keeps_the_reason_in_view(live_server, page, make_unit,
                                                                           make_person, tmp_path):
    root = make_unit(name="Sở Tư pháp", code="STP", kind="department")
    make_unit(name="Phòng Phổ biến, giáo dục pháp luật", code="U1", parent=root)
    make_person(name="Quản Trị Viên", email="admin@example.vn", roles=("admin",), unit=root)
    good = tmp_path / "danh-sach.xlsx"
    good.write_bytes(xlsx_bytes([_person(n) for n in range(ROWS)]))
    bad = tmp_path / "danh-sach-loi.xlsx"
    bad.write_bytes(xlsx_bytes([_person(n, "trung.lap.rat.dai@sotuphap.example.gov.vn" if n in (3, 150) else None)
                                for n in range(ROWS)]))

    page.set_viewport_size({"width": 1366, "height": 768})
    log_in(page, live_server, "admin@example.vn")
    _preview(page, live_server, good)
    # A failed submit (no initial password): its error and the field are on the first screen.
    with page.expect_navigation():
        page.get_by_role("button", name=f"Nhập {ROWS} dòng").click()
    expect(page.get_by_role("alert").filter(has_text="Chưa nhập được danh sách")).to_be_in_viewport()
    password = page.get_by_label("Mật khẩu ban đầu cho các tài khoản mới")
    box = password.bounding_box()
    assert box is not None and box["y"] + box["height"] <= 768, box
    expect(page.get_by_role("button", name=f"Nhập {ROWS} dòng")).to_be_in_viewport()
    expect(page.get_by_role("button", name="Hủy danh sách này")).to_be_in_viewport()
    assert _right_edge(page, "Thay đổi") <= 1366
    _no_page_scroll(page)
    _accessible(page)

    # A phone: the page itself does not scroll sideways; the reason column is in view.
    page.set_viewport_size({"width": 390, "height": 844})
    _no_page_scroll(page)
    assert _right_edge(page, "Thay đổi") <= 390
    expect(password).to_be_visible()

    # A file with problems: the reason, with the row it repeats, is in view at both widths.
    _preview(page, live_server, bad)
    expect(page.get_by_role("cell", name=re.compile("trùng với địa chỉ ở dòng 5"))).to_be_visible()
    assert _right_edge(page, "Lỗi cần sửa") <= 390
    _no_page_scroll(page)
    page.set_viewport_size({"width": 1366, "height": 768})
    assert _right_edge(page, "Lỗi cần sửa") <= 1366
    expect(page.get_by_role("cell", name=re.compile("trùng với địa chỉ ở dòng 5"))).to_be_in_viewport()
    _accessible(page)
