"""A trainee takes a timed quiz in Chromium: two pages, a reload in the middle (autosave kept the
answers), the submission and the score; no answer key in the page before; axe on the pages."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from courses import services as course_services
from lms.db import db, utcnow
from quizzes import building
from quizzes import services as bank
from quizzes.formats.base import ParsedOption, ParsedQuestion
from tests.courses.conftest import make_course, trainee, trainer  # noqa: F401  (the course fixtures)
from tests.e2e.conftest import assert_accessible, log_in, shot

pytestmark = pytest.mark.e2e

@pytest.fixture
def timed_quiz(make_course, trainer, trainee):
    course = make_course(title="Quyền trẻ em", lessons=1)
    course_services.self_enrol(db.session, trainee, course, utcnow())
    category = bank.create_category(db.session, trainer, "CRC")
    specs = [ParsedQuestion(1, 1, "single_choice", f"Câu {i}", f"Nội dung câu hỏi số {i}?", "plain", (), [
        ParsedOption(f"Đáp án Kappa{i}", 1.0, f"Lời giải Omega{i}"), ParsedOption(f"Phương án khác {i}", 0.0)],
        general_feedback=f"Giải thích Sigma{i}") for i in (1, 2, 3)]
    specs.append(ParsedQuestion(1, 1, "short_answer", "Điền", "Viết tắt của Công ước về quyền trẻ em?", "plain",
                                (), [ParsedOption("CRC", 1.0, "Chính xác Omega4")]))
    questions = [bank.create_question(db.session, trainer, category, spec) for spec in specs]
    quiz = building.create_quiz(db.session, trainer, course, building.QuizSettings(
        title="Kiểm tra cuối khóa", time_limit_minutes=30, attempts_allowed=2, questions_per_page=2,
        shuffle_options=False, review_answers="immediately"))
    building.add_questions(db.session, trainer, quiz, [q.id for q in questions])
    building.set_published(db.session, trainer, quiz, True)
    db.session.commit()
    return quiz


def choose_right(page: Page, numbers) -> None:
    for i in numbers:
        page.get_by_label(f"Đáp án Kappa{i}").check()


def no_key(html: str) -> None:
    assert "Omega" not in html and "Sigma" not in html and "fraction" not in html.lower()
    # options are identified by their place in this attempt, never by an id or a flag
    assert not re.search(r'data-(correct|right|fraction)', html)


def test_a_trainee_takes_a_timed_quiz(live_server, page: Page, axe, timed_quiz, trainee):
    log_in(page, live_server, trainee.email)
    page.goto(live_server(f"/quizzes/{timed_quiz.id}"))
    expect(page.get_by_role("heading", name="Kiểm tra cuối khóa")).to_be_visible()
    expect(page.get_by_text("30 phút")).to_be_visible()
    shot(page, "quiz-1366")
    page.get_by_role("button", name="Bắt đầu làm bài").click()

    expect(page.get_by_text("Trang 1/2", exact=False).first).to_be_visible()
    expect(page.locator("#quiz-timer-left")).to_contain_text("Còn lại")  # the live countdown
    no_key(page.content())
    choose_right(page, (1,))
    expect(page.locator("#autosave-status")).to_contain_text("Đã lưu lúc", timeout=8000)
    assert_accessible(axe, page)
    shot(page, "attempt-1366")
    page.get_by_role("button", name=re.compile("Lưu và sang trang sau")).click()

    expect(page.get_by_text("Trang 2/2", exact=False).first).to_be_visible()
    no_key(page.content())
    choose_right(page, (3,))
    page.get_by_label("Câu trả lời").fill("CRC")
    expect(page.locator("#autosave-status")).to_contain_text("Đã lưu lúc", timeout=8000)
    page.reload()
    expect(page.get_by_label("Đáp án Kappa3")).to_be_checked()
    expect(page.get_by_label("Câu trả lời")).to_have_value("CRC")

    page.set_viewport_size({"width": 390, "height": 844})
    assert_accessible(axe, page)
    shot(page, "attempt-390")
    page.get_by_role("button", name="Nộp bài").click()
    expect(page.get_by_text("Câu 2 (trang 1)")).to_be_visible()  # the one left unanswered
    shot(page, "submit-390")
    page.get_by_role("button", name="Nộp bài").click()

    expect(page.locator("#attempt-score")).to_contain_text("7,5/10")
    expect(page.get_by_text("Lời giải Omega1")).to_be_visible()
    assert_accessible(axe, page)
    shot(page, "review-390")
    page.set_viewport_size({"width": 1366, "height": 900})
    assert_accessible(axe, page)
    shot(page, "review-1366")
    page.goto(live_server("/quizzes/my-scores"))
    expect(page.get_by_text("7,5/10")).to_be_visible()
    assert_accessible(axe, page)
    shot(page, "my-scores-1366")


def test_the_countdown_submits_the_attempt_when_time_is_up(live_server, page: Page, timed_quiz, trainee):
    from datetime import timedelta

    timed_quiz.close_at = utcnow() + timedelta(seconds=8)  # the attempt's deadline is the close time
    db.session.commit()
    log_in(page, live_server, trainee.email)
    page.goto(live_server(f"/quizzes/{timed_quiz.id}"))
    page.get_by_role("button", name="Bắt đầu làm bài").click()
    choose_right(page, (1,))
    # no button pressed: autosave keeps the answer, the countdown submits at the deadline
    expect(page.get_by_text("Đã hết giờ làm bài; bài đã được nộp với các câu trả lời đã lưu")).to_be_visible(
        timeout=15_000)
    expect(page.locator("#attempt-score")).to_contain_text("2,5/10")


def test_every_question_type_is_accessible_on_a_phone(live_server, page: Page, axe, timed_quiz, trainer, trainee):
    from quizzes.models import QuestionCategory

    category = db.session.scalar(db.select(QuestionCategory))
    specs = [
        ParsedQuestion(1, 1, "description", "Giới thiệu", "Đọc kỹ **tình huống** sau.", "markdown", default_mark=0.0),
        ParsedQuestion(1, 1, "true_false", "Đúng sai", "Việt Nam là thành viên CRC.", "plain", (), [
            ParsedOption("true", 1.0), ParsedOption("false", 0.0)]),
        ParsedQuestion(1, 1, "multiple_response", "Nhiều đáp án", "Chọn các quyền của trẻ em.", "plain", (), [
            ParsedOption("Quyền sống", 0.5), ParsedOption("Quyền học tập", 0.5), ParsedOption("Quyền bầu cử", -1.0)]),
        ParsedQuestion(1, 1, "numerical", "Năm", "Việt Nam phê chuẩn CRC năm nào?", "plain", (), [
            ParsedOption("1990", 1.0)]),
        ParsedQuestion(1, 1, "matching", "Ghép", "Ghép công ước với năm được thông qua.", "plain", (), [
            ParsedOption("Công ước về quyền trẻ em (CRC)", 1.0, match="1989"),
            ParsedOption("Công ước về xóa bỏ phân biệt đối xử với phụ nữ (CEDAW)", 1.0, match="1979")]),
        ParsedQuestion(1, 1, "essay", "Tự luận", "Nêu một việc làm bảo vệ quyền trẻ em ở địa phương.", "plain"),
    ]
    questions = [bank.create_question(db.session, trainer, category, spec) for spec in specs]
    quiz = building.create_quiz(db.session, trainer, _course(timed_quiz), building.QuizSettings(
        title="Đủ các loại câu hỏi", time_limit_minutes=45, questions_per_page=10))
    building.add_questions(db.session, trainer, quiz, [q.id for q in questions])
    building.set_published(db.session, trainer, quiz, True)
    db.session.commit()
    page.set_viewport_size({"width": 390, "height": 844})
    log_in(page, live_server, trainee.email)
    page.goto(live_server(f"/quizzes/{quiz.id}"))
    page.get_by_role("button", name="Bắt đầu làm bài").click()
    expect(page.get_by_label("Đúng", exact=True)).to_be_visible()
    page.get_by_label("Quyền sống").check()
    page.get_by_label("Công ước về quyền trẻ em (CRC)").select_option("1989")
    page.get_by_label("Bài làm").fill("Tổ chức tuyên truyền Luật Trẻ em tại trường học.")
    assert_accessible(axe, page)
    shot(page, "every-type-390")
    page.get_by_role("button", name="Nộp bài").click()
    page.get_by_role("button", name="Nộp bài").click()
    expect(page.locator("#attempt-score")).to_contain_text("Chờ chấm")
    assert_accessible(axe, page)
    shot(page, "every-type-review-390")


def _course(quiz):
    from courses.models import Course

    return db.session.get(Course, quiz.course_id)
