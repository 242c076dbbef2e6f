"""Browser-test fixtures: the app served for real on a free port, and Debian's Chromium.

The app is built by ``app_factory`` (so it uses the test database, which is emptied after each
test) with CSRF protection switched on, exactly as a browser meets it. The browser is the
system Chromium at /usr/bin/chromium (``make browser`` installs it); no downloaded build is used.
The browser is launched once per session by pytest-playwright; every test gets a fresh context
and page.
"""

from __future__ import annotations

import os
import threading
from pathlib import Path

import pytest
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import Page, expect
from werkzeug.serving import make_server

from tests.conftest import TEST_PASSWORD

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
]
TIMEOUT_MS = 10_000


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args):
    """pytest-playwright's launch options (``--headed``, ``--slowmo``...) plus Debian's Chromium."""
    if not (os.path.isfile(CHROMIUM) and os.access(CHROMIUM, os.X_OK)):
        pytest.fail(f"{CHROMIUM} is missing: the browser tests need Debian's Chromium. "
                    "Run `make browser` to install it (never `playwright install`).", pytrace=False)
    args = list(CHROMIUM_ARGS)
    if browser_type_launch_args.get("headless") is False:  # pytest --headed
        args.remove("--headless=new")
    return {**browser_type_launch_args, "executable_path": CHROMIUM, "args": args}


@pytest.fixture(scope="session")
def browser_context_args(browser_context_args):
    """Browse as the platform's users do: Vietnamese, in Vietnam's time zone."""
    return {**browser_context_args, "locale": "vi-VN", "timezone_id": "Asia/Ho_Chi_Minh"}


@pytest.fixture(scope="session")
def base_url():
    """No base URL: every test builds absolute URLs from its own live server.

    (This also replaces pytest-playwright's fallback ``base_url`` fixture, an instance method
    that pytest 9 warns about.)"""
    return None


class LiveServer:
    def __init__(self, app):
        self.app = app
        self._server = make_server("127.0.0.1", 0, app, threaded=True)
        self.port = self._server.socket.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05},
                                        name=f"live-server-{self.port}", daemon=True)

    def start(self):
        self._thread.start()
        return self

    def stop(self):
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)

    def __call__(self, path: str = "/") -> str:
        """The absolute URL of ``path`` on this server."""
        return self.url + path


@pytest.fixture
def live_server(app_factory):
    """The app with real CSRF, served from a background thread on a free port."""
    server = LiveServer(app_factory(WTF_CSRF_ENABLED=True)).start()
    yield server
    server.stop()


@pytest.fixture
def page(page):
    """pytest-playwright's per-test page, with short timeouts so a broken page fails fast."""
    page.set_default_timeout(TIMEOUT_MS)
    page.set_default_navigation_timeout(TIMEOUT_MS)
    return page


# -- steps the tests share ------------------------------------------------------------------

def log_in(page: Page, server: LiveServer, email: str, password: str = TEST_PASSWORD) -> None:
    page.goto(server("/login"))
    page.get_by_label("Thư điện tử", exact=True).fill(email)
    page.get_by_label("Mật khẩu", exact=True).fill(password)
    with page.expect_navigation():  # to the next page, or back to the login form on failure
        page.get_by_role("button", name="Đăng nhập").click()


def log_out(page: Page) -> None:
    with page.expect_navigation():
        page.get_by_role("button", name="Đăng xuất").click()
    expect(page.get_by_role("status").filter(has_text="Bạn đã đăng xuất.")).to_be_visible()


# -- accessibility and screenshots ----------------------------------------------------------

BLOCKING = {"serious", "critical"}
#: Set to a folder to keep full-page screenshots of the screens the tests walk through (looked
#: at by a person before a screen is called done).
SHOTS = os.environ.get("LMS_SHOTS_DIR")


@pytest.fixture(scope="module")
def axe():
    return Axe()


def blocking_violations(axe: Axe, page: Page) -> list[dict]:
    results = axe.run(page)
    return [v for v in results.response["violations"] if v.get("impact") in BLOCKING]


def describe(violations: list[dict]) -> str:
    lines = []
    for v in violations:
        lines.append(f"{v['id']} ({v['impact']}): {v['help']} <{v['helpUrl']}>")
        for node in v["nodes"]:
            lines.append(f"    {', '.join(map(str, node['target']))}: {node['html'][:200]}")
            if node.get("failureSummary"):
                lines.append("      " + node["failureSummary"].replace("\n", "\n      "))
    return "\n".join(lines)


def assert_accessible(axe: Axe, page: Page) -> None:
    violations = blocking_violations(axe, page)
    assert not violations, f"axe found serious/critical problems on {page.url}:\n{describe(violations)}"


def shot(page: Page, name: str) -> None:
    if SHOTS:
        Path(SHOTS).mkdir(parents=True, exist_ok=True)
        page.screenshot(path=f"{SHOTS}/{name}.png", full_page=True)
