"""axe-core finds no serious or critical accessibility problem on the main screens."""

from __future__ import annotations

from datetime import date

import pytest
from playwright.sync_api import Page, expect

from tests.e2e.conftest import assert_accessible, blocking_violations, describe, log_in  # noqa: F401

pytestmark = pytest.mark.e2e

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


def test_home_pages_menu_and_audit_log(live_server, page, axe, make_unit, make_person):
    """The home page of an administrator who also teaches and learns, the grouped
    administration menu (open) and the audit log: nothing serious for axe, and at 1366 px every
    entry of the top bar fits on one line."""
    from courses import services as course_services
    from courses.models import ContentArea, Convention, EnrolmentSource
    from lms.db import db, utcnow

    department = make_unit(name="Sở Tư pháp", code="STP", kind="department")
    admin = make_person(name="Quản Trị Viên", email="admin@example.vn", roles=("admin", "trainer", "trainee"),
                        unit=department)
    course = course_services.create_course(db.session, admin, course_services.CourseInput(
        title="Quyền trẻ em", summary="Tóm tắt", convention_ids=[db.session.query(Convention).first().id],
        content_ids=[db.session.query(ContentArea).first().id], audiences=["legal_reporter"], credited_hours=2,
        self_enrol=True, open_access=False))
    section = course_services.add_section(db.session, admin, course, "Phần 1")
    course_services.add_lesson(db.session, admin, section, course_services.LessonInput(title="Bài 1", body="Nội dung",
                                                                                       required=True), utcnow())
    course_services.set_status(db.session, admin, course, "published", utcnow())
    course_services.enrol_people(db.session, admin, course, [admin.id], EnrolmentSource.INDIVIDUAL,
                                 date.today(), utcnow())
    db.session.commit()
    page.set_viewport_size({"width": 1366, "height": 768})
    log_in(page, live_server, "admin@example.vn")
    page.goto(live_server("/"))
    expect(page.get_by_role("heading", name="Việc học của bạn")).to_be_visible()
    expect(page.get_by_role("heading", name="Khóa học bạn giảng dạy")).to_be_visible()
    heights = page.eval_on_selector_all("#nav-main > ul.me-auto > li > .nav-link",
                                        "links => links.map(l => l.getBoundingClientRect().height)")
    assert heights and max(heights) < 48, heights  # one line each (two lines were ~64 px)
    page.get_by_role("button", name="Quản trị").click()
    expect(page.get_by_role("link", name="Nhật ký hoạt động")).to_be_visible()
    problems = [describe(v) for v in [blocking_violations(axe, page)] if v]
    page.get_by_role("link", name="Nhật ký hoạt động").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Nhật ký hoạt động")
    problems += [describe(v) for v in [blocking_violations(axe, page)] if v]
    assert not problems, "axe found serious/critical problems:\n" + "\n".join(problems)
