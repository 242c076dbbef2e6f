"""The quiz results screens in a real browser: no serious or critical axe violation on the
results list and the item analysis (and the essay grading page), at desktop and phone widths.

Set ``LMS_SHOTS_DIR`` to keep a screenshot of each screen."""

from __future__ import annotations

import os
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
from playwright.sync_api import expect

from courses import services as course_services
from lms.db import db
from quizzes import attempts, building
from quizzes import services as bank
from quizzes.formats.base import ParsedOption, ParsedQuestion
from quizzes.models import Attempt
from tests.courses.conftest import make_course, trainer  # noqa: F401  (fixtures)
from tests.e2e.conftest import assert_accessible, log_in, shot

pytestmark = pytest.mark.e2e

NOW = datetime(2025, 3, 1, 3, 0, tzinfo=UTC)


@pytest.fixture
def results_world(make_course, make_unit, make_person, trainer):
    root = make_unit(name="Sở Tư pháp", code="STP", kind="department")
    district = make_unit(name="Phòng Tư pháp huyện Đông Anh", code="PDA", kind="district", parent=root)
    people = [make_person(name=name, email=f"hv{n}@example.vn", unit=district if n % 2 else root)
              for n, name in enumerate(("Nguyễn Văn An", "Trần Thị Bình", "Lê Văn Cường", "Phạm Thị Dung"))]
    course = make_course("Quyền trẻ em", lessons=1)
    for person in people:
        course_services.self_enrol(db.session, person, course, NOW)
    category = bank.create_category(db.session, trainer, "CRC")
    questions = [bank.create_question(db.session, trainer, category, ParsedQuestion(
        1, 1, "single_choice", f"Câu {i}", f"Theo Công ước, trẻ em là người dưới bao nhiêu tuổi? ({i})", "plain", (),
        [ParsedOption("18 tuổi", 1.0, ""), ParsedOption("16 tuổi", 0.0, ""), ParsedOption("15 tuổi", 0.0, "")]))
        for i in range(1, 4)]
    essay = bank.create_question(db.session, trainer, category, ParsedQuestion(
        1, 1, "essay", "Tự luận", "Nêu hai quyền cơ bản của trẻ em.", "plain"))
    quiz = building.create_quiz(db.session, trainer, course, building.QuizSettings(
        title="Kiểm tra Công ước về quyền trẻ em", attempts_allowed=2))
    building.add_questions(db.session, trainer, quiz, [q.id for q in questions] + [essay.id])
    building.set_published(db.session, trainer, quiz, True)
    db.session.commit()
    for n, person in enumerate(people[:3]):
        attempt = attempts.start(db.session, person, quiz, NOW)
        answers = {}
        for k, aq in enumerate(attempt.questions):
            if str(aq.version.type) == "essay":
                answers[aq.id] = "Quyền được sống và quyền được học tập."
            else:
                right = next(o.id for o in aq.version.options if o.fraction == 1)
                wrong = next(o.id for o in aq.version.options if o.fraction == 0)
                answers[aq.id] = right if k <= n else wrong
        attempts.save(db.session, person, attempt, answers, NOW)
        attempts.finish(db.session, person, attempt, NOW + timedelta(minutes=5 + n))
        db.session.commit()
    return quiz


@pytest.mark.parametrize("width", [1366, 390])
def test_results_analysis_and_grading_pages_are_accessible(live_server, page, axe, trainer, results_world, width):
    quiz = results_world
    page.set_viewport_size({"width": width, "height": 900})
    log_in(page, live_server, trainer.email)
    attempt_id = db.session.scalar(sa.select(sa.func.min(Attempt.id)).where(Attempt.quiz_id == quiz.id))
    for path, heading in ((f"/quizzes/{quiz.id}/results", "Kết quả bài kiểm tra"),
                          (f"/quizzes/{quiz.id}/analysis", "Phân tích câu hỏi"),
                          (f"/quizzes/{quiz.id}/grading", "Chấm tự luận"),
                          (f"/quizzes/{quiz.id}/results/attempts/{attempt_id}", "Bài làm của Nguyễn Văn An")):
        page.goto(live_server(path))
        expect(page.get_by_role("heading", level=1)).to_have_text(heading)
        assert_accessible(axe, page)
        shot(page, f"{path.split('/')[3] if 'attempts' not in path else 'attempt'}-{width}")


def test_a_trainer_grades_an_essay_in_the_browser(live_server, page, trainer, results_world):
    quiz = results_world
    log_in(page, live_server, trainer.email)
    page.goto(live_server(f"/quizzes/{quiz.id}/grading"))
    expect(page.get_by_text("Có 3 câu tự luận chờ chấm.")).to_be_visible()
    first = page.locator("section.card").first
    first.get_by_label("Điểm").fill("1,5")
    first.get_by_role("button", name="Lưu điểm").click()
    expect(page.get_by_text("Điểm phải từ 0 đến 1 (điểm tối đa của câu này).")).to_be_visible()
    first = page.locator("section.card").first
    first.get_by_label("Điểm").fill("0,5")
    first.get_by_label("Nhận xét").fill("Đúng ý, cần nêu ví dụ.")
    first.get_by_role("button", name="Lưu điểm").click()
    expect(page.get_by_text("Có 2 câu tự luận chờ chấm.")).to_be_visible()
