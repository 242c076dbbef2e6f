"""An administrator creates a unit and an account; the new user sets their own password."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import log_in, log_out

pytestmark = pytest.mark.e2e

INITIAL = "Khởi-Tạo-Ban-Đầu-77"
CHOSEN = "Hoa-Sen-Nở-Giữa-Hồ-2028"


def test_admin_creates_unit_and_person_who_then_changes_password(live_server, page, make_unit, make_person):
    province = make_unit(name="Sở Tư pháp tỉnh", code="STP", kind="department")
    make_person(name="Quản Trị Viên", email="admin@example.vn", roles=("admin",), unit=province)

    log_in(page, live_server, "admin@example.vn")
    expect(page.get_by_role("heading", level=1)).to_have_text("Xin chào, Quản Trị Viên")

    # a new unit under the department
    page.goto(live_server("/admin/units/new"))
    page.get_by_label("Tên đơn vị").fill("Phòng Phổ biến, giáo dục pháp luật")
    page.get_by_label("Mã đơn vị").fill("STP-PBGDPL")
    page.get_by_label("Loại đơn vị").select_option(label="Phòng, ban")
    page.get_by_label("Trực thuộc").select_option(value=str(province.id))
    page.get_by_label("Thành lập từ ngày").fill("2025-03-01")
    page.get_by_role("button", name="Tạo đơn vị").click()
    expect(page.get_by_role("status")).to_contain_text("Đã tạo đơn vị “Phòng Phổ biến, giáo dục pháp luật”.")
    expect(page).to_have_url(re.compile(r"/admin/units/\d+$"))
    unit_id = page.url.rsplit("/", 1)[1]
    expect(page.get_by_role("heading", level=1)).to_contain_text("Phòng Phổ biến, giáo dục pháp luật")

    # a person in that unit, with an initial password
    page.goto(live_server("/admin/people/new"))
    page.get_by_label("Họ và tên").fill("Lê Văn Mới")
    page.get_by_label("Thư điện tử", exact=True).fill("moi@example.vn")
    page.get_by_label("Đối tượng (loại cán bộ)").select_option(value="civil_servant")
    page.get_by_label("Đơn vị", exact=True).select_option(value=unit_id)
    page.get_by_label("Công tác tại đơn vị từ ngày").fill("2025-03-01")
    page.get_by_label("Mật khẩu ban đầu").fill(INITIAL)
    page.get_by_role("button", name="Tạo tài khoản").click()
    expect(page.get_by_role("status")).to_contain_text("Đã tạo tài khoản cho Lê Văn Mới.")
    expect(page.get_by_role("heading", level=1)).to_contain_text("Lê Văn Mới")
    expect(page.locator("dl")).to_contain_text("Phòng Phổ biến, giáo dục pháp luật")
    log_out(page)

    # first login: the initial password only opens the change-password page
    log_in(page, live_server, "moi@example.vn", INITIAL)
    expect(page).to_have_url(live_server("/account/password"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Đổi mật khẩu")
    page.goto(live_server("/"))
    expect(page).to_have_url(live_server("/account/password"))
    page.get_by_label("Mật khẩu hiện tại").fill(INITIAL)
    page.get_by_label("Mật khẩu mới", exact=True).fill(CHOSEN)
    page.get_by_label("Nhập lại mật khẩu mới").fill(CHOSEN)
    page.get_by_role("button", name="Đổi mật khẩu").click()
    expect(page).to_have_url(live_server("/"))
    expect(page.get_by_role("status")).to_contain_text("Đã đổi mật khẩu.")
    expect(page.get_by_role("heading", level=1)).to_have_text("Xin chào, Lê Văn Mới")
    log_out(page)

    # the old password is gone, the new one works
    log_in(page, live_server, "moi@example.vn", INITIAL)
    expect(page.get_by_role("alert")).to_have_text("Thư điện tử hoặc mật khẩu không đúng.")
    log_in(page, live_server, "moi@example.vn", CHOSEN)
    expect(page).to_have_url(live_server("/"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Xin chào, Lê Văn Mới")
