"""The login page fits a phone screen."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

pytestmark = pytest.mark.e2e


def test_login_page_fits_a_phone(live_server, page):
    page.set_viewport_size({"width": 375, "height": 740})
    page.goto(live_server("/login"))

    widths = page.evaluate("() => ({scroll: document.documentElement.scrollWidth,"
                           " client: document.documentElement.clientWidth})")
    assert widths["scroll"] <= widths["client"], f"horizontal scroll on a 375 px screen: {widths}"

    toggler = page.locator(".navbar-toggler")
    expect(toggler).to_be_visible()
    expect(page.get_by_role("link", name="Đăng nhập")).to_be_hidden()
    toggler.click()
    expect(toggler).to_have_attribute("aria-expanded", "true")
    expect(page.get_by_role("link", name="Đăng nhập")).to_be_visible()
    expect(page.get_by_label("Thư điện tử", exact=True)).to_be_visible()
