"""Courses in the browser: a trainer builds and publishes a course with a lesson and a PDF; a
trainee finds it by a search without diacritics, enrols, opens the PDF, completes the lesson and
sees 100%. axe finds no serious or critical problem on the catalogue, course and lesson pages."""

from __future__ import annotations

import re
from urllib.parse import unquote

import pytest
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import Page, expect

from courses.handout import Handout, HandoutSection, render_pdf
from tests.e2e.conftest import log_in, log_out
from tests.e2e.test_accessibility import blocking_violations, describe

pytestmark = pytest.mark.e2e

TITLE = "Quyền trẻ em trong công tác hộ tịch"
LESSON = "Bốn nguyên tắc của Công ước"
PDF_NAME = "Tài liệu Công ước quyền trẻ em.pdf"


@pytest.fixture(scope="module")
def axe():
    return Axe()


@pytest.fixture
def people(make_unit, make_person):
    department = make_unit(name="Sở Tư pháp", code="STP", kind="department")
    commune = make_unit(name="UBND xã Tam Quang", code="XA-TQ", kind="commune", parent=department)
    trainer = make_person(name="Lê Minh Đức", email="giangvien@example.vn", roles=("trainer",), unit=department)
    trainee = make_person(name="Phạm Thị Lan", email="hocvien@example.vn", unit=commune,
                          category="legal_propagandist")
    return trainer, trainee


def handout_pdf() -> bytes:
    return render_pdf(Handout(title="Công ước về quyền trẻ em", sections=[
        HandoutSection("Bốn nguyên tắc", bullets=["Không phân biệt đối xử", "Lợi ích tốt nhất của trẻ em"])]))


def check_accessible(axe: Axe, page: Page, problems: list[str]) -> None:
    violations = blocking_violations(axe, page)
    if violations:
        problems.append(f"{page.url}:\n{describe(violations)}")


def trainer_builds_and_publishes(page: Page, server) -> None:
    page.goto(server("/courses/teaching"))
    page.get_by_role("link", name="Tạo khóa học").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Tạo khóa học")
    page.get_by_label("Tên khóa học").fill(TITLE)
    page.get_by_label("Tóm tắt").fill("Những điều cán bộ tư pháp – hộ tịch cần biết về quyền trẻ em.")
    page.get_by_label(re.compile(r"^CRC — ")).check()
    page.get_by_label(re.compile(r"^1\. ")).check()
    page.get_by_label("Tuyên truyền viên pháp luật").check()
    page.get_by_label("Số giờ được tính").fill("1,5")
    page.get_by_role("button", name="Tạo khóa học").click()
    expect(page.get_by_role("status")).to_contain_text(f"Đã tạo khóa học “{TITLE}”")

    page.get_by_label("Tên phần").fill("Kiến thức chung")
    page.get_by_role("button", name="Thêm phần").click()
    page.get_by_role("link", name=re.compile(r"^Thêm bài học")).click()
    page.get_by_label("Tên bài học").fill(LESSON)
    page.get_by_label("Nội dung bài học").fill(
        "Công ước dựa trên **bốn nguyên tắc**:\n\n- Không phân biệt đối xử\n- Lợi ích tốt nhất của trẻ em\n"
        "- Quyền được sống và phát triển\n- Tôn trọng ý kiến của trẻ em\n")
    page.get_by_role("button", name="Lưu bài học").click()
    expect(page.get_by_role("status")).to_contain_text(f"Đã thêm bài học “{LESSON}”")

    page.get_by_label("Tệp tài liệu").set_input_files(
        files=[{"name": PDF_NAME, "mimeType": "application/pdf", "buffer": handout_pdf()}])
    page.get_by_role("button", name="Tải lên").click()
    expect(page.get_by_role("status")).to_contain_text(f"Đã tải lên “{PDF_NAME}”")
    expect(page.get_by_role("table")).to_contain_text("Tài liệu Công ước quyền trẻ em")

    page.get_by_role("navigation", name="Đường dẫn").get_by_role("link", name=TITLE).click()
    page.get_by_role("button", name="Xuất bản", exact=True).click()
    expect(page.get_by_role("status")).to_contain_text("Đã xuất bản khóa học")


def test_trainer_publishes_and_trainee_completes(live_server, page, people, axe):
    trainer, trainee = people
    log_in(page, live_server, trainer.email)
    trainer_builds_and_publishes(page, live_server)
    log_out(page)

    problems: list[str] = []
    log_in(page, live_server, trainee.email)
    page.get_by_role("navigation").get_by_role("link", name="Khóa học", exact=True).first.click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Danh mục khóa học")
    page.get_by_label("Tìm theo tên, nội dung").fill("quyen tre em HO TICH")
    page.get_by_role("button", name="Tìm", exact=True).click()
    expect(page.get_by_role("status")).to_contain_text("Tìm thấy 1 khóa học.")
    check_accessible(axe, page, problems)
    page.get_by_role("link", name=TITLE).click()

    expect(page.get_by_role("heading", level=1)).to_contain_text(TITLE)
    check_accessible(axe, page, problems)
    page.get_by_role("button", name="Đăng ký học").click()
    expect(page.get_by_role("status")).to_contain_text(f"Đã đăng ký học khóa học “{TITLE}”")
    page.get_by_role("link", name="Bắt đầu học").click()

    expect(page.get_by_role("heading", level=1)).to_contain_text(LESSON)
    expect(page.locator(".lms-richtext strong")).to_have_text("bốn nguyên tắc")
    check_accessible(axe, page, problems)

    # the PDF opens in a new tab, served by the app with its Vietnamese name
    open_link = page.get_by_role("link", name=re.compile(r"^Mở "))
    href = open_link.get_attribute("href")
    with page.context.expect_page() as new_tab:
        open_link.click()
    tab = new_tab.value
    tab.wait_for_load_state()
    assert tab.url.endswith(href)
    tab.close()
    response = page.request.get(live_server(href))
    assert response.status == 200
    assert response.headers["content-type"] == "application/pdf"
    assert response.headers["x-content-type-options"] == "nosniff"
    disposition = response.headers["content-disposition"]
    assert disposition.startswith("inline")
    assert unquote(disposition.split("filename*=UTF-8''", 1)[1]) == PDF_NAME
    assert response.body().startswith(b"%PDF-")

    page.get_by_role("button", name="Đánh dấu đã học xong").click()
    expect(page.get_by_role("status")).to_contain_text(f"Chúc mừng! Bạn đã hoàn thành khóa học “{TITLE}”")
    mine = page.get_by_role("region", name="Việc học của bạn")
    expect(mine.get_by_role("progressbar", name="Tiến độ khóa học")).to_have_attribute("value", "100")
    expect(mine).to_contain_text("100%")
    expect(mine).to_contain_text("Đã hoàn thành")
    expect(mine).to_contain_text("Đã học 1/1 bài bắt buộc.")

    page.get_by_role("link", name="Khóa học của tôi").first.click()
    completed = page.get_by_role("table", name="Các khóa học đã hoàn thành")
    expect(completed).to_contain_text(TITLE)
    assert not problems, "axe found serious/critical problems:\n" + "\n".join(problems)


def _course_with_a_pdf(trainer):
    import io

    from courses import services
    from courses.models import Convention, CourseStatus
    from lms.db import db, utcnow

    crc = db.session.query(Convention).filter_by(code="CRC").one()
    course = services.create_course(db.session, trainer, services.CourseInput(
        title=TITLE, summary="Tóm tắt", convention_ids=[crc.id], audiences=["legal_propagandist"], credited_hours=2))
    section = services.add_section(db.session, trainer, course, "Kiến thức chung")
    lesson = services.add_lesson(db.session, trainer, section, services.LessonInput(
        title=LESSON, body="## Nguyên tắc\n\n- Không phân biệt đối xử"), utcnow())
    services.add_file(db.session, trainer, lesson, io.BytesIO(handout_pdf()), PDF_NAME)
    services.add_link(db.session, trainer, lesson, "https://www.ohchr.org/", "Trang của Văn phòng Cao ủy")
    services.set_status(db.session, trainer, course, CourseStatus.PUBLISHED, utcnow())
    db.session.commit()
    return course, lesson


def test_authoring_and_my_learning_screens_are_accessible(live_server, page, people, axe):
    """Beyond the three pages the issue names: the trainer's screens and "My learning"."""
    from courses import services
    from lms.db import db, utcnow

    trainer, trainee = people
    course, lesson = _course_with_a_pdf(trainer)
    services.self_enrol(db.session, trainee, course, utcnow())
    db.session.commit()

    problems: list[str] = []
    log_in(page, live_server, trainer.email)
    for path in ("/courses/teaching", "/courses/teaching/new", f"/courses/teaching/{course.id}",
                 f"/courses/teaching/{course.id}/lessons/{lesson.id}", f"/courses/teaching/{course.id}/preview"):
        page.goto(live_server(path))
        expect(page.get_by_role("heading", level=1)).to_be_visible()
        check_accessible(axe, page, problems)
    page.goto(live_server("/courses/teaching/new"))
    page.get_by_role("button", name="Tạo khóa học").click()  # empty form: errors shown
    expect(page.get_by_text("Vui lòng nhập tiêu đề.").first).to_be_visible()
    check_accessible(axe, page, problems)
    log_out(page)

    log_in(page, live_server, trainee.email)
    page.goto(live_server("/courses/my"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Khóa học của tôi")
    check_accessible(axe, page, problems)
    page.goto(live_server(f"/courses/{course.id}/lessons/{lesson.id}"))
    check_accessible(axe, page, problems)  # with a link material as well as a file
    assert not problems, "axe found serious/critical problems:\n" + "\n".join(problems)
