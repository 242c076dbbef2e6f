"""A trainer imports the Moodle GIFT sample into the question bank in Chromium: the preview lists
every question before anything is saved, the confirmation imports them; axe finds no serious or
critical problem on the bank page and the preview, at desktop and phone width."""

from __future__ import annotations

import os

import pytest
from playwright.sync_api import expect

from lms.db import db
from quizzes import services
from quizzes.models import Question
from tests.conftest import count_rows
from tests.courses.conftest import trainer  # noqa: F401  (the fixture)
from tests.e2e.conftest import assert_accessible, log_in, shot
from tests.quizzes.conftest import interop_file

pytestmark = pytest.mark.e2e

@pytest.mark.parametrize("width", [1366, 390])
def test_a_trainer_imports_the_moodle_gift_sample(live_server, page, axe, trainer, width):
    sample = interop_file("moodle", "gift", "questions.gift.txt")
    services.create_category(db.session, trainer, "Công ước")
    db.session.commit()
    page.set_viewport_size({"width": width, "height": 900})
    log_in(page, live_server, trainer.email)

    page.goto(live_server("/quizzes/bank"))
    expect(page.get_by_role("heading", name="Ngân hàng câu hỏi", level=1)).to_be_visible()
    assert_accessible(axe, page)
    shot(page, f"bank-empty-{width}")

    page.get_by_role("link", name="Nhập câu hỏi từ tệp").first.click()
    assert_accessible(axe, page)
    shot(page, f"import-upload-{width}")
    page.get_by_label("Tệp câu hỏi").set_input_files(str(sample))
    page.get_by_label("Nhập vào nhóm").select_option(label="Công ước")
    page.get_by_role("button", name="Xem trước").click()

    expect(page.get_by_role("heading", name="Xem trước câu hỏi sẽ nhập")).to_be_visible()
    expect(page.get_by_text("9 câu hỏi đọc được")).to_be_visible()
    rows = page.get_by_role("table").get_by_role("row")
    expect(rows).to_have_count(1 + 9)
    expect(page.get_by_role("cell", name="Ghép đôi").first).to_be_visible()
    assert count_rows(Question) == 0  # nothing saved before the confirmation
    assert_accessible(axe, page)
    shot(page, f"import-preview-{width}")

    with page.expect_navigation():
        page.get_by_role("button", name="Nhập 9 câu hỏi").click()
    shot(page, f"import-job-{width}")
    expect(page.get_by_text("Đã nhập 9 câu hỏi")).to_be_visible()
    assert count_rows(Question) == 9

    page.goto(live_server("/quizzes/bank"))
    page.get_by_role("link", name="Công ước").first.click()
    expect(page.get_by_role("paragraph").filter(has_text="9 câu hỏi")).to_be_visible()
    assert_accessible(axe, page)
    shot(page, f"bank-list-{width}")
    page.get_by_role("table").get_by_role("link").first.click()
    expect(page.get_by_role("heading", name="Học viên sẽ thấy")).to_be_visible()
    assert_accessible(axe, page)
    shot(page, f"question-preview-{width}")
    page.get_by_role("link", name="Sửa câu hỏi").click()
    expect(page.get_by_text("Sửa sẽ tạo phiên bản mới; bài đã làm giữ nguyên câu hỏi cũ")).to_be_visible()
    assert_accessible(axe, page)
    shot(page, f"question-edit-{width}")


@pytest.mark.parametrize("width", [1366, 390])
def test_a_trainer_writes_a_question_without_javascript_help(live_server, page, axe, trainer, width):
    top = services.create_category(db.session, trainer, "Công ước")
    services.create_category(db.session, trainer, "Quyền trẻ em", services.create_category(db.session, trainer,
                                                                                            "CRC", top))
    db.session.commit()
    page.set_viewport_size({"width": width, "height": 900})
    log_in(page, live_server, trainer.email)
    page.goto(live_server("/quizzes/bank"))
    page.get_by_role("link", name="CRC").click()
    shot(page, f"bank-tree-{width}")
    page.get_by_role("link", name="Thêm câu hỏi").click()
    page.get_by_role("link", name="Nhiều lựa chọn").click()
    page.get_by_label("Nội dung câu hỏi").fill("Những văn kiện nào là công ước Việt Nam đã tham gia?")
    page.locator("#options-0-text").fill("CRC")
    page.locator("#options-0-fraction").fill("50")
    page.locator("#options-1-text").fill("CEDAW")
    page.locator("#options-1-fraction").fill("30")
    page.locator("#options-2-fraction").fill("năm mươi")
    page.get_by_role("button", name="Lưu câu hỏi").click()
    expect(page.get_by_text("Tỷ lệ điểm phải là số từ -100 đến 100.")).to_be_visible()
    assert_accessible(axe, page)
    page.locator("#options-2-fraction").fill("")
    page.get_by_role("button", name="Lưu câu hỏi").click()
    expect(page.get_by_role("alert").filter(has_text="Tổng tỷ lệ điểm của các phương án đúng phải bằng 100%.")).to_be_visible()
    assert count_rows(Question) == 0
    shot(page, f"question-errors-{width}")
    page.locator("#options-1-fraction").fill("50")
    page.get_by_role("button", name="Thêm dòng phương án").click()
    expect(page.locator("#options-8-text")).to_be_visible()
    page.locator("#options-8-text").fill("Hiến chương")
    page.locator("#options-8-fraction").fill("-100")
    page.get_by_role("button", name="Lưu câu hỏi").click()
    expect(page.get_by_role("heading", name="Học viên sẽ thấy")).to_be_visible()
    assert count_rows(Question) == 1
