"""axe-core finds no serious or critical accessibility problem on the main screens."""

from __future__ import annotations

from datetime import date

import pytest
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import Page, expect

from tests.e2e.conftest import log_in

pytestmark = pytest.mark.e2e

BLOCKING = {"serious", "critical"}


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


def test_login_page(live_server, page, axe):
    page.goto(live_server("/login"))
    assert_accessible(axe, page)


def test_login_page_with_an_error(live_server, page, axe):
    page.goto(live_server("/login"))
    page.get_by_role("button", name="Đăng nhập").click()  # empty form: field errors
    page.get_by_text("Vui lòng nhập địa chỉ thư điện tử.").wait_for()
    assert_accessible(axe, page)


def test_admin_screens(live_server, page, axe, make_unit, make_person):
    department = make_unit(name="Sở Tư pháp", code="STP", kind="department")
    division = make_unit(name="Phòng Hành chính", code="STP-HC", parent=department)
    make_person(name="Quản Trị Viên", email="admin@example.vn", roles=("admin",), unit=department)
    person = make_person(name="Nguyễn Văn An", email="an@example.vn", unit=division, key_cadre=True,
                         roles=("trainee", "trainer"))
    make_person(name="Phạm Thị Bình", email="binh@example.vn", unit=division, category="legal_reporter")
    make_person(name="Hoàng Minh Châu", email="chau@example.vn", unit=department, roles=("unit_admin",))
    log_in(page, live_server, "admin@example.vn")

    page.goto(live_server("/admin/people/"))
    expect(page.get_by_role("table").get_by_role("row")).to_have_count(1 + 4)  # header and four people

    from lms.actors import SYSTEM
    from lms.db import db
    from lms.models import Job, JobStatus
    from lms.services.people import TitleInput, add_title

    add_title(db.session, SYSTEM, person, TitleInput("legal_reporter", "provincial", "12/QĐ-UBND"), today=date.today())
    job = Job(kind="imports.apply", params={"kind": "units"}, status=JobStatus.RUNNING, progress_total=40,
              actor_id=person.id)
    db.session.add(job)
    db.session.commit()
    problems = []
    for path in ("/admin/people/", f"/admin/people/{person.id}", "/admin/units/", f"/admin/units/{division.id}",
                 "/admin/units/?on=2024-12-31", f"/admin/units/{division.id}/split", "/admin/units/consolidate",
                 "/admin/import/units/", f"/jobs/{job.id}"):
        page.goto(live_server(path))
        expect(page.get_by_role("heading", level=1)).to_be_visible()
        violations = blocking_violations(axe, page)
        if violations:
            problems.append(f"{path}:\n{describe(violations)}")
    assert not problems, "axe found serious/critical problems:\n" + "\n".join(problems)
