"""Logging in, in a real browser with real CSRF tokens."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import log_in

pytestmark = pytest.mark.e2e


def test_trainee_logs_in_and_sees_the_greeting(live_server, page, make_person):
    make_person(name="Trần Thị Học", email="hoc@example.vn")

    log_in(page, live_server, "hoc@example.vn")

    expect(page).to_have_url(live_server("/"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Xin chào, Trần Thị Học")
    expect(page.get_by_role("button", name="Đăng xuất")).to_be_visible()


def test_wrong_password_is_refused_on_the_login_page(live_server, page, make_person):
    make_person(email="hoc@example.vn")

    log_in(page, live_server, "hoc@example.vn", "không-phải-mật-khẩu")

    expect(page).to_have_url(re.compile(r"/login$"))
    expect(page.get_by_role("alert")).to_have_text("Thư điện tử hoặc mật khẩu không đúng.")
    expect(page.get_by_role("heading", level=1)).to_have_text("Đăng nhập")
    expect(page.get_by_role("button", name="Đăng xuất")).to_have_count(0)
