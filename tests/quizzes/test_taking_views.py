"""Taking a quiz through the web: the quiz page, an attempt's pages, autosave, submitting, the
review and "Điểm của tôi" — with hostile input, other people's attempts and the clock moved."""

from __future__ import annotations

import contextlib
import re
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
import sqlalchemy as sa
import time_machine
from werkzeug.datastructures import MultiDict

from courses import services as course_services
from lms.db import db
from quizzes import attempts, building
from quizzes import services as bank
from quizzes.formats.base import ParsedOption, ParsedQuestion
from quizzes.models import Attempt, AttemptQuestion, AttemptState, Quiz, QuizGrade
from tests.conftest import TEST_PASSWORD, count_rows, csrf_from

#: 10:00 in Vietnam (UTC+7).
NOW = datetime(2025, 3, 1, 3, 0, tzinfo=UTC)
RIGHT = "Phương án đúng"  # every right option starts with this, then a unique word
FEEDBACK = "Lời giải riêng"


def choice(i: int) -> ParsedQuestion:
    return ParsedQuestion(1, 1, "single_choice", f"Câu {i}", f"Nội dung câu hỏi số {i}?", "plain", (), [
        ParsedOption(f"{RIGHT} Zeta{i}", 1.0, f"{FEEDBACK} Omega{i}"),
        ParsedOption(f"Phương án sai A{i}", 0.0, "Chưa đúng"),
        ParsedOption(f"Phương án sai B{i}", 0.0, "Chưa đúng")], general_feedback=f"Giải thích chung Sigma{i}")


@pytest.fixture
def clock():
    with time_machine.travel(NOW, tick=False) as traveller:
        yield traveller


@pytest.fixture
def quiz_setup(clock, make_course, trainer, trainee):
    course = make_course(lessons=1)
    course_services.self_enrol(db.session, trainee, course, NOW)
    category = bank.create_category(db.session, trainer, "CRC")
    questions = [bank.create_question(db.session, trainer, category, choice(i)) for i in range(1, 5)]
    quiz = building.create_quiz(db.session, trainer, course, building.QuizSettings(
        title="Kiểm tra CRC", time_limit_minutes=20, attempts_allowed=2, questions_per_page=2))
    building.add_questions(db.session, trainer, quiz, [q.id for q in questions])
    building.set_published(db.session, trainer, quiz, True)
    db.session.commit()
    return {"course": course, "quiz": quiz, "questions": questions, "category": category}


def login(auth, person):
    response = auth.login(person.email)
    assert response.status_code in (302, 303), response.status_code


def start(client, quiz) -> Attempt:
    page = client.get(f"/quizzes/{quiz.id}")
    assert page.status_code == 200
    response = client.post(f"/quizzes/{quiz.id}/start", data={"csrf_token": csrf_from(page.text)})
    assert response.status_code == 302, response.text
    attempt_id = int(re.search(r"/quizzes/attempts/(\d+)", response.headers["Location"]).group(1))
    return db.session.get(Attempt, attempt_id)


def rows_of(attempt: Attempt) -> list[AttemptQuestion]:
    db.session.expire_all()
    return list(db.session.scalars(sa.select(AttemptQuestion).where(AttemptQuestion.attempt_id == attempt.id)
                                   .order_by(AttemptQuestion.position)))


def value_of(aq: AttemptQuestion, right: bool = True) -> str:
    """The opaque value the page shows for the right (or a wrong) option of a question."""
    order = [int(i) for i in aq.option_order]
    options = {o.id: o for o in aq.version.options}
    for index, oid in enumerate(order):
        if (options[oid].fraction == 1) == right:
            return str(index)
    raise AssertionError


def post_page(client, attempt, data: dict, **extra):
    page = client.get(f"/quizzes/attempts/{attempt.id}")
    token = csrf_from(page.text) if page.status_code == 200 else "x"
    return client.post(f"/quizzes/attempts/{attempt.id}", data={"csrf_token": token, **data, **extra})


def finish(client, attempt):
    page = client.get(f"/quizzes/attempts/{attempt.id}/submit")
    token = csrf_from(page.text) if page.status_code == 200 else csrf_from(client.get(
        f"/quizzes/{attempt.quiz_id}").text)
    return client.post(f"/quizzes/attempts/{attempt.id}/submit", data={"csrf_token": token})


def response_of(aq_id: int):
    db.session.expire_all()
    return db.session.get(AttemptQuestion, aq_id).response


# -- the whole flow -------------------------------------------------------------------------


def test_a_trainee_takes_a_quiz_from_start_to_review(client, auth, quiz_setup, trainee, clock):
    quiz = quiz_setup["quiz"]
    login(auth, trainee)
    page = client.get(f"/quizzes/{quiz.id}")
    assert "Kiểm tra CRC" in page.text and "20 phút" in page.text and "Đã làm 0/2 lần" in page.text
    assert "Bắt đầu làm bài" in page.text
    attempt = start(client, quiz)
    rows = rows_of(attempt)

    shown = client.get(f"/quizzes/attempts/{attempt.id}")
    assert shown.status_code == 200
    assert "Trang 1/2" in shown.text and "Nội dung câu hỏi số" in shown.text
    # The deadline in Vietnam time (10:00 + 20 min) and the minutes left, without JavaScript.
    assert "10:20 01/03/2025" in shown.text and "Còn khoảng 20 phút" in shown.text
    assert "attempt.js" in shown.text

    clock.shift(timedelta(minutes=2))
    response = post_page(client, attempt, {"page": "0", f"q{rows[0].id}": value_of(rows[0]),
                                           f"q{rows[1].id}": value_of(rows[1], right=False), "go": "1"})
    assert response.status_code == 302
    assert response_of(rows[0].id) == {"value": right_option_id(rows[0])}
    second = client.get(f"/quizzes/attempts/{attempt.id}")
    assert "Trang 2/2" in second.text and f'name="q{rows[2].id}"' in second.text

    post_page(client, attempt, {"page": "1", f"q{rows[2].id}": value_of(rows[2]), "action": "finish"})
    confirm = client.get(f"/quizzes/attempts/{attempt.id}/submit")
    assert "Bạn còn 1 câu chưa trả lời" in confirm.text and "Câu 4 (trang 2)" in confirm.text
    done = finish(client, attempt)
    assert done.status_code == 302 and done.headers["Location"].endswith(f"/quizzes/attempts/{attempt.id}/review")
    review = client.get(done.headers["Location"])
    assert "Đã nộp bài" in review.text
    assert "5/10" in review.text and "Đạt" in review.text
    db.session.expire_all()
    assert db.session.get(Attempt, attempt.id).state == AttemptState.FINISHED
    # The quiz page now lists the attempt with its score and offers the second attempt.
    again = client.get(f"/quizzes/{quiz.id}")
    assert "Đã làm 1/2 lần" in again.text and "5/10" in again.text and "Làm lại (lần 2)" in again.text


def right_option_id(aq: AttemptQuestion) -> int:
    return next(o.id for o in aq.version.options if o.fraction == 1)


def test_start_again_resumes_the_attempt_in_progress(client, auth, quiz_setup, trainee):
    login(auth, trainee)
    first = start(client, quiz_setup["quiz"])
    assert "Tiếp tục làm bài" in client.get(f"/quizzes/{quiz_setup['quiz'].id}").text
    assert start(client, quiz_setup["quiz"]).id == first.id
    assert count_rows(Attempt) == 1


def test_no_attempts_left_and_closed_quiz_are_explained(client, auth, quiz_setup, trainee, clock):
    quiz = quiz_setup["quiz"]
    quiz.attempts_allowed = 1
    db.session.commit()
    login(auth, trainee)
    attempt = start(client, quiz)
    finish(client, attempt)
    page = client.get(f"/quizzes/{quiz.id}")
    assert "Bạn đã dùng hết số lần làm bài." in page.text and "Bắt đầu làm bài" not in page.text
    response = client.post(f"/quizzes/{quiz.id}/start", data={"csrf_token": csrf_from(page.text)},
                           follow_redirects=True)
    assert "Bạn đã dùng hết số lần làm bài." in response.text
    assert count_rows(Attempt) == 1


# -- hostile answers ------------------------------------------------------------------------


def test_an_option_id_of_another_question_or_a_raw_id_is_no_answer(client, auth, quiz_setup, trainee):
    login(auth, trainee)
    attempt = start(client, quiz_setup["quiz"])
    rows = rows_of(attempt)
    other = right_option_id(rows[2])  # a real option id, of a question on another page
    post_page(client, attempt, {"page": "0", f"q{rows[0].id}": str(other), f"q{rows[1].id}": str(right_option_id(rows[1]))})
    assert response_of(rows[0].id) is None and response_of(rows[1].id) is None
    # A question of another page posted with this page is ignored.
    post_page(client, attempt, {"page": "0", f"q{rows[2].id}": value_of(rows[2])})
    assert response_of(rows[2].id) is None


def test_duplicate_negative_and_huge_values_are_no_answer(client, auth, quiz_setup, trainee):
    login(auth, trainee)
    attempt = start(client, quiz_setup["quiz"])
    rows = rows_of(attempt)
    for bad in ("-1", "99999999999999999999999", "1e3", "", "abc", "3"):
        response = post_page(client, attempt, {"page": "0", f"q{rows[0].id}": bad})
        assert response.status_code == 302, bad
        assert response_of(rows[0].id) is None, bad
    # The same field twice: the first value counts, once.
    page = client.get(f"/quizzes/attempts/{attempt.id}")
    client.post(f"/quizzes/attempts/{attempt.id}", data=MultiDict([
        ("csrf_token", csrf_from(page.text)), ("page", "0"), (f"q{rows[0].id}", value_of(rows[0])),
        (f"q{rows[0].id}", value_of(rows[0], right=False))]))
    assert response_of(rows[0].id) == {"value": right_option_id(rows[0])}
    # Huge page numbers go nowhere.
    response = post_page(client, attempt, {"page": "99999999999", "go": "99999999999999"})
    assert response.status_code == 302


def test_score_mark_and_fraction_fields_are_ignored(client, auth, quiz_setup, trainee):
    login(auth, trainee)
    attempt = start(client, quiz_setup["quiz"])
    rows = rows_of(attempt)
    post_page(client, attempt, {"page": "0", f"q{rows[0].id}": value_of(rows[0], right=False), "score": "10",
                                "mark": "10", "fraction": "1", f"fraction{rows[0].id}": "1", "state": "finished"})
    finish(client, attempt)
    db.session.expire_all()
    assert db.session.get(Attempt, attempt.id).mark == Decimal("0.00")


def text_quiz(trainer, course, category, qtype="essay", text="Trình bày quyền trẻ em.", options=()):
    question = bank.create_question(db.session, trainer, category, ParsedQuestion(
        1, 1, qtype, "Tự luận", text, "plain", (), list(options)))
    quiz = building.create_quiz(db.session, trainer, course, building.QuizSettings(
        title="Bài viết", time_limit_minutes=None, attempts_allowed=0, questions_per_page=5))
    building.add_questions(db.session, trainer, quiz, [question.id])
    building.set_published(db.session, trainer, quiz, True)
    db.session.commit()
    return quiz


def test_one_megabyte_of_text_is_refused_with_a_message_and_nothing_saved(client, auth, quiz_setup, trainer,
                                                                          trainee):
    quiz = text_quiz(trainer, quiz_setup["course"], quiz_setup["category"])
    login(auth, trainee)
    attempt = start(client, quiz)
    (row,) = rows_of(attempt)
    post_page(client, attempt, {"page": "0", f"q{row.id}": "Bài làm ngắn"})
    assert response_of(row.id) == {"value": "Bài làm ngắn"}
    response = post_page(client, attempt, {"page": "0", f"q{row.id}": "a" * 1_000_000})
    assert response.status_code == 422
    assert "Câu trả lời dài quá 50.000 ký tự." in response.text
    assert response_of(row.id) == {"value": "Bài làm ngắn"}
    # Over the platform's form limit (2 MB once encoded): refused before anything is read.
    too_big = post_page(client, attempt, {"page": "0", f"q{row.id}": "á" * 1_000_000})
    assert too_big.status_code == 413 and "Dữ liệu gửi lên quá lớn" in too_big.text
    assert response_of(row.id) == {"value": "Bài làm ngắn"}


def test_an_essay_is_shown_waiting_for_a_trainer(client, auth, quiz_setup, trainer, trainee):
    quiz = text_quiz(trainer, quiz_setup["course"], quiz_setup["category"])
    login(auth, trainee)
    attempt = start(client, quiz)
    (row,) = rows_of(attempt)
    page = client.get(f"/quizzes/attempts/{attempt.id}")
    assert "<textarea" in page.text
    post_page(client, attempt, {"page": "0", f"q{row.id}": "Quyền được học tập <script>alert(1)</script>"})
    review = client.get(finish(client, attempt).headers["Location"])
    assert "Chờ chấm" in review.text
    assert "<script>alert(1)" not in review.text and "&lt;script&gt;" in review.text


# -- other people ---------------------------------------------------------------------------


def test_another_users_attempt_is_a_404(client, auth, quiz_setup, trainee, make_person):
    login(auth, trainee)
    attempt = start(client, quiz_setup["quiz"])
    rows = rows_of(attempt)
    auth.logout()
    other = make_person(name="Người Khác", email="khac@example.vn")
    course_services.self_enrol(db.session, other, quiz_setup["course"], NOW)
    db.session.commit()
    login(auth, other)
    token = csrf_from(client.get(f"/quizzes/{quiz_setup['quiz'].id}").text)
    for url in (f"/quizzes/attempts/{attempt.id}", f"/quizzes/attempts/{attempt.id}/review",
                f"/quizzes/attempts/{attempt.id}/submit"):
        assert client.get(url).status_code == 404, url
    for url in (f"/quizzes/attempts/{attempt.id}", f"/quizzes/attempts/{attempt.id}/autosave",
                f"/quizzes/attempts/{attempt.id}/submit"):
        response = client.post(url, data={"csrf_token": token, "page": "0", f"q{rows[0].id}": "0"})
        assert response.status_code == 404, url
    assert response_of(rows[0].id) is None
    assert db.session.get(Attempt, attempt.id).state == AttemptState.IN_PROGRESS
    assert client.get("/quizzes/attempts/99999999").status_code == 404


def test_a_quiz_the_person_may_not_take_is_a_404(client, auth, quiz_setup, make_person):
    outsider = make_person(name="Chưa Ghi Danh", email="ngoai@example.vn")
    login(auth, outsider)
    assert client.get(f"/quizzes/{quiz_setup['quiz'].id}").status_code == 404
    token = csrf_from(client.get("/quizzes/my-scores").text)
    assert client.post(f"/quizzes/{quiz_setup['quiz'].id}/start", data={"csrf_token": token}).status_code == 404
    assert count_rows(Attempt) == 0


def test_an_unpublished_quiz_is_a_404_for_trainees(client, auth, quiz_setup, trainer, trainee):
    building.set_published(db.session, trainer, quiz_setup["quiz"], False)
    db.session.commit()
    login(auth, trainee)
    assert client.get(f"/quizzes/{quiz_setup['quiz'].id}").status_code == 404


def test_the_trainer_sees_the_review_but_may_not_answer(client, auth, quiz_setup, trainer, trainee):
    login(auth, trainee)
    attempt = start(client, quiz_setup["quiz"])
    auth.logout()
    login(auth, trainer)
    assert client.get(f"/quizzes/attempts/{attempt.id}").status_code == 403
    assert client.get(f"/quizzes/attempts/{attempt.id}/review").status_code == 403  # still in progress
    auth.logout()
    login(auth, trainee)
    finish(client, attempt)
    auth.logout()
    login(auth, trainer)
    review = client.get(f"/quizzes/attempts/{attempt.id}/review")
    assert review.status_code == 200 and f"{RIGHT} Zeta" in review.text


def test_a_post_without_csrf_is_refused(app_factory, quiz_setup, trainee):
    protected = app_factory(WTF_CSRF_ENABLED=True)
    client = protected.test_client()
    with protected.app_context():
        page = client.get("/login")
        client.post("/login", data={"email": trainee.email, "password": TEST_PASSWORD,
                                    "csrf_token": csrf_from(page.text)})
        quiz_page = client.get(f"/quizzes/{quiz_setup['quiz'].id}")
        assert quiz_page.status_code == 200
        assert client.post(f"/quizzes/{quiz_setup['quiz'].id}/start").status_code == 400
        client.post(f"/quizzes/{quiz_setup['quiz'].id}/start", data={"csrf_token": csrf_from(quiz_page.text)})
    attempt = db.session.scalar(sa.select(Attempt))
    rows = rows_of(attempt)
    with protected.app_context():
        response = client.post(f"/quizzes/attempts/{attempt.id}", data={"page": "0",
                                                                         f"q{rows[0].id}": value_of(rows[0])})
        assert response.status_code == 400
        assert client.post(f"/quizzes/attempts/{attempt.id}/submit").status_code == 400
    assert response_of(rows[0].id) is None
    assert db.session.get(Attempt, attempt.id).state == AttemptState.IN_PROGRESS


# -- time -----------------------------------------------------------------------------------


def test_a_submission_after_the_deadline_saves_nothing_new_and_finishes_with_what_was_saved(
        client, auth, quiz_setup, trainee, clock):
    login(auth, trainee)
    attempt = start(client, quiz_setup["quiz"])
    rows = rows_of(attempt)
    post_page(client, attempt, {"page": "0", f"q{rows[0].id}": value_of(rows[0])})
    token = csrf_from(client.get(f"/quizzes/attempts/{attempt.id}").text)
    clock.shift(timedelta(minutes=25))
    response = client.post(f"/quizzes/attempts/{attempt.id}", data={
        "csrf_token": token, "page": "0", f"q{rows[0].id}": value_of(rows[0]), f"q{rows[1].id}": value_of(rows[1])},
        follow_redirects=True)
    assert "Đã hết giờ làm bài; bài đã được nộp với các câu trả lời đã lưu" in response.text
    assert response_of(rows[1].id) is None
    db.session.expire_all()
    finished = db.session.get(Attempt, attempt.id)
    assert finished.state == AttemptState.FINISHED and finished.finished_at == NOW + timedelta(minutes=20)
    assert finished.mark == Decimal("2.50")
    # The autosave after the deadline is refused the same way.
    late = client.post(f"/quizzes/attempts/{attempt.id}/autosave", data={"csrf_token": token, "page": "0"})
    assert late.status_code == 409 and late.json["closed"]


def test_opening_an_expired_attempt_closes_it(client, auth, quiz_setup, trainee, clock):
    login(auth, trainee)
    attempt = start(client, quiz_setup["quiz"])
    clock.shift(timedelta(hours=2))
    response = client.get(f"/quizzes/attempts/{attempt.id}", follow_redirects=True)
    assert "Đã hết giờ làm bài" in response.text
    db.session.expire_all()
    assert db.session.get(Attempt, attempt.id).finished_at == NOW + timedelta(minutes=20)


def test_the_quiz_page_closes_an_expired_attempt_and_shows_it_finished(client, auth, quiz_setup, trainee, clock):
    login(auth, trainee)
    attempt = start(client, quiz_setup["quiz"])
    clock.shift(timedelta(hours=3))
    login(auth, trainee)
    page = client.get(f"/quizzes/{quiz_setup['quiz'].id}")
    assert "Tiếp tục làm bài" not in page.text and "Làm lại (lần 2)" in page.text
    db.session.expire_all()
    assert db.session.get(Attempt, attempt.id).finished_at == NOW + timedelta(minutes=20)


def test_a_deadline_across_midnight_in_vietnam_is_shown_on_the_next_day(client, auth, quiz_setup, trainee, clock):
    # 23:50 on 1 March in Vietnam is 16:50 UTC; 20 minutes later it is 00:10 on 2 March.
    clock.move_to(datetime(2025, 3, 1, 16, 50, tzinfo=UTC))
    login(auth, trainee)
    attempt = start(client, quiz_setup["quiz"])
    page = client.get(f"/quizzes/attempts/{attempt.id}")
    assert "00:10 02/03/2025" in page.text
    clock.move_to(datetime(2025, 3, 1, 17, 5, tzinfo=UTC))  # 00:05 in Vietnam: still open
    rows = rows_of(attempt)
    assert post_page(client, attempt, {"page": "0", f"q{rows[0].id}": value_of(rows[0])}).status_code == 302
    assert response_of(rows[0].id) is not None
    assert "Còn khoảng 5 phút" in client.get(f"/quizzes/attempts/{attempt.id}").text
    clock.move_to(datetime(2025, 3, 1, 17, 11, tzinfo=UTC))
    assert "Đã hết giờ" in client.get(f"/quizzes/attempts/{attempt.id}", follow_redirects=True).text


def test_the_countdown_submission_finishes_the_attempt(client, auth, quiz_setup, trainee):
    login(auth, trainee)
    attempt = start(client, quiz_setup["quiz"])
    rows = rows_of(attempt)
    response = post_page(client, attempt, {"page": "0", f"q{rows[0].id}": value_of(rows[0]), "timeup": "1"})
    assert response.headers["Location"].endswith("/review")
    db.session.expire_all()
    assert db.session.get(Attempt, attempt.id).state == AttemptState.FINISHED
    assert response_of(rows[0].id) is not None


def test_the_periodic_sweep_closes_overdue_attempts(app, client, auth, quiz_setup, trainee, clock):
    login(auth, trainee)
    attempt = start(client, quiz_setup["quiz"])
    clock.shift(timedelta(hours=1))
    task = app.extensions["quizzes_close_overdue"]
    task.call_local()
    db.session.expire_all()
    assert db.session.get(Attempt, attempt.id).state == AttemptState.FINISHED


# -- navigation -----------------------------------------------------------------------------


def test_sequential_navigation_refuses_to_skip_ahead_or_go_back(client, auth, quiz_setup, trainee):
    quiz = quiz_setup["quiz"]
    quiz.navigation = "sequential"
    quiz.questions_per_page = 1
    db.session.commit()
    login(auth, trainee)
    attempt = start(client, quiz)
    rows = rows_of(attempt)
    page = client.get(f"/quizzes/attempts/{attempt.id}")
    assert "Trang trước" not in page.text and 'name="go" value="3"' not in page.text
    response = post_page(client, attempt, {"page": "0", "go": "3"}, )
    assert response.status_code == 302
    follow = client.get(f"/quizzes/attempts/{attempt.id}")
    assert "Trang 2/4" in follow.text
    db.session.expire_all()
    assert db.session.get(Attempt, attempt.id).page == 1
    # An answer for page 3 posted while on page 2 (or a posted page number) is not taken.
    post_page(client, attempt, {"page": "2", f"q{rows[2].id}": value_of(rows[2])})
    assert response_of(rows[2].id) is None
    post_page(client, attempt, {"page": "1", "go": "0"})
    db.session.expire_all()
    assert db.session.get(Attempt, attempt.id).page == 1


def test_free_navigation_goes_to_any_page_and_saves_first(client, auth, quiz_setup, trainee):
    login(auth, trainee)
    attempt = start(client, quiz_setup["quiz"])
    rows = rows_of(attempt)
    post_page(client, attempt, {"page": "0", "go": "1", f"q{rows[0].id}": value_of(rows[0])})
    post_page(client, attempt, {"page": "1", "go": "0", f"q{rows[3].id}": value_of(rows[3])})
    assert "Trang 1/2" in client.get(f"/quizzes/attempts/{attempt.id}").text
    page = client.get(f"/quizzes/attempts/{attempt.id}").text
    assert re.search(rf'value="{value_of(rows[0])}" checked', page)
    assert response_of(rows[3].id) is not None


# -- submitting -----------------------------------------------------------------------------


def test_double_submit_is_idempotent(client, auth, quiz_setup, trainee, clock):
    login(auth, trainee)
    attempt = start(client, quiz_setup["quiz"])
    token = csrf_from(client.get(f"/quizzes/attempts/{attempt.id}/submit").text)
    first = client.post(f"/quizzes/attempts/{attempt.id}/submit", data={"csrf_token": token})
    clock.shift(timedelta(minutes=3))
    second = client.post(f"/quizzes/attempts/{attempt.id}/submit", data={"csrf_token": token})
    assert first.status_code == second.status_code == 302
    db.session.expire_all()
    assert db.session.get(Attempt, attempt.id).finished_at == NOW
    assert count_rows(QuizGrade) == 1 and count_rows(Attempt) == 1


def test_autosave_returns_the_time_in_vietnam(client, auth, quiz_setup, trainee):
    login(auth, trainee)
    attempt = start(client, quiz_setup["quiz"])
    rows = rows_of(attempt)
    token = csrf_from(client.get(f"/quizzes/attempts/{attempt.id}").text)
    response = client.post(f"/quizzes/attempts/{attempt.id}/autosave", data={
        "csrf_token": token, "page": "0", f"q{rows[0].id}": value_of(rows[0])})
    assert response.status_code == 200
    assert response.json["message"] == "Đã lưu lúc 10:00" and response.json["saved"] == 2
    assert response_of(rows[0].id) == {"value": right_option_id(rows[0])}


# -- no key before the review ---------------------------------------------------------------


def test_the_attempt_page_reveals_no_key_fraction_or_feedback(client, auth, quiz_setup, trainee):
    login(auth, trainee)
    attempt = start(client, quiz_setup["quiz"])
    rows = rows_of(attempt)
    pages = [client.get(f"/quizzes/attempts/{attempt.id}").text]
    post_page(client, attempt, {"page": "0", "go": "1"})
    pages.append(client.get(f"/quizzes/attempts/{attempt.id}").text)
    pages.append(client.get(f"/quizzes/attempts/{attempt.id}/submit").text)
    option_ids = {o.id for aq in rows for o in aq.version.options}
    for html in pages:
        assert FEEDBACK not in html and "Omega" not in html and "Sigma" not in html
        assert "fraction" not in html.lower() and "correct" not in html.lower()
        # The right option is shown (it is a choice) but never marked: its value is its place.
        for value in re.findall(r'name="q\d+" id="[^"]+" value="([^"]*)"', html):
            assert value.isdigit() and int(value) < 3
        for number in re.findall(r'value="(\d+)"', html):
            assert int(number) not in option_ids or int(number) < 3


# -- the review -----------------------------------------------------------------------------


def answer_and_finish(client, attempt):
    rows = rows_of(attempt)
    post_page(client, attempt, {"page": "0", f"q{rows[0].id}": value_of(rows[0]),
                                f"q{rows[1].id}": value_of(rows[1], right=False)})
    return client.get(finish(client, attempt).headers["Location"]).text


def test_the_review_shows_only_what_the_settings_allow(client, auth, quiz_setup, trainee):
    quiz = quiz_setup["quiz"]
    quiz.review_score, quiz.review_answers, quiz.review_feedback = "never", "never", "never"
    db.session.commit()
    login(auth, trainee)
    attempt = start(client, quiz)
    html = answer_and_finish(client, attempt)
    assert "Điểm chưa được công bố." in html and "/10" not in html
    assert "Đáp án đúng" not in html and FEEDBACK not in html and "Sigma" not in html
    assert ">Đúng<" not in html and ">Sai<" not in html
    assert "Chưa công bố" in client.get(f"/quizzes/{quiz.id}").text


def test_the_review_shows_score_answers_and_feedback_when_allowed(client, auth, quiz_setup, trainee):
    quiz = quiz_setup["quiz"]
    quiz.review_score, quiz.review_answers, quiz.review_feedback = "immediately", "immediately", "immediately"
    db.session.commit()
    login(auth, trainee)
    attempt = start(client, quiz)
    html = answer_and_finish(client, attempt)
    assert "2,5/10" in html and "Đáp án đúng" in html and f"{FEEDBACK} Omega" in html and "Sigma" in html


def test_after_close_answers_show_once_the_quiz_closes(client, auth, quiz_setup, trainee, clock):
    quiz = quiz_setup["quiz"]
    quiz.review_answers, quiz.review_feedback = "after_close", "never"
    quiz.close_at = NOW + timedelta(days=1)
    db.session.commit()
    login(auth, trainee)
    attempt = start(client, quiz)
    html = answer_and_finish(client, attempt)
    assert "Đáp án đúng" not in html and "2,5/10" in html
    clock.shift(timedelta(days=2))
    login(auth, trainee)  # the session of two days ago has ended
    assert "Đáp án đúng" in client.get(f"/quizzes/attempts/{attempt.id}/review").text


# -- my scores ------------------------------------------------------------------------------


def test_my_scores_per_quiz_and_per_convention(client, auth, quiz_setup, trainee):
    from tests.courses.conftest import convention

    for question in quiz_setup["questions"][:2]:
        question.conventions = [convention("CRC")]
    for question in quiz_setup["questions"][2:]:
        question.conventions = [convention("CEDAW")]
    db.session.commit()
    login(auth, trainee)
    attempt = start(client, quiz_setup["quiz"])
    rows = rows_of(attempt)
    tags = {aq.id: aq.version.question.conventions[0].code for aq in rows}
    post_page(client, attempt, {"page": "0", **{f"q{aq.id}": value_of(aq, right=tags[aq.id] == "CRC")
                                                  for aq in rows[:2]}, "go": "1"})
    post_page(client, attempt, {"page": "1", **{f"q{aq.id}": value_of(aq, right=tags[aq.id] == "CRC")
                                                  for aq in rows[2:]}})
    finish(client, attempt)
    html = client.get("/quizzes/my-scores").text
    assert "Kiểm tra CRC" in html and "5/10" in html
    crc = html.index(">CRC<")
    cedaw = html.index(">CEDAW<")
    assert "100%" in html[crc:crc + 400] and "0%" in html[cedaw:cedaw + 400]


def test_my_scores_hide_unpublished_scores(client, auth, quiz_setup, trainee):
    quiz = quiz_setup["quiz"]
    quiz.review_score = "never"
    db.session.commit()
    login(auth, trainee)
    answer_and_finish(client, start(client, quiz))
    html = client.get("/quizzes/my-scores").text
    assert "Chưa công bố" in html and "/10" not in html and "Chưa có điểm theo công ước." in html


# -- statements -----------------------------------------------------------------------------


@contextlib.contextmanager
def counting():
    statements: list[str] = []

    def count(conn, cursor, statement, parameters, context, executemany):
        statements.append(statement)

    sa.event.listen(db.engine, "before_cursor_execute", count)
    try:
        yield statements
    finally:
        sa.event.remove(db.engine, "before_cursor_execute", count)


def measure(client, auth, trainer, trainee, course, category, n: int, email: str, make_person) -> tuple[int, int]:
    questions = [bank.create_question(db.session, trainer, category, choice(100 * n + i)) for i in range(n)]
    quiz = building.create_quiz(db.session, trainer, course, building.QuizSettings(
        title=f"Bài {n} câu", attempts_allowed=0, questions_per_page=5))
    building.add_questions(db.session, trainer, quiz, [q.id for q in questions])
    building.set_published(db.session, trainer, quiz, True)
    db.session.commit()
    token = csrf_from(client.get(f"/quizzes/{quiz.id}").text)
    client.post(f"/quizzes/{quiz.id}/start", data={"csrf_token": token})  # warm-up
    warm = db.session.scalar(sa.select(Attempt).where(Attempt.quiz_id == quiz.id))
    client.post(f"/quizzes/attempts/{warm.id}/submit", data={"csrf_token": token})
    with counting() as started:
        response = client.post(f"/quizzes/{quiz.id}/start", data={"csrf_token": token})
    assert response.status_code == 302
    attempt = db.session.scalar(sa.select(Attempt).where(Attempt.quiz_id == quiz.id,
                                                         Attempt.state == AttemptState.IN_PROGRESS))
    with counting() as submitted:
        response = client.post(f"/quizzes/attempts/{attempt.id}/submit", data={"csrf_token": token})
    assert response.status_code == 302
    return len(started), len(submitted)


def test_start_and_submit_run_the_same_number_of_statements_for_5_and_20_questions(
        client, auth, quiz_setup, trainer, trainee, make_person):
    login(auth, trainee)
    course, category = quiz_setup["course"], quiz_setup["category"]
    small = measure(client, auth, trainer, trainee, course, category, 5, "a", make_person)
    large = measure(client, auth, trainer, trainee, course, category, 20, "b", make_person)
    print(f"\n[query count] start/submit: 5 questions → {small}, 20 questions → {large}")
    assert small == large


# -- parallel submissions (PostgreSQL) ------------------------------------------------------


def test_twenty_parallel_http_submissions_grade_once(app, quiz_setup, trainee):
    import threading

    if db.engine.dialect.name != "postgresql":
        pytest.skip("parallel writers are a PostgreSQL matter (SQLite has one writer at a time)")
    from tests.conftest import Auth

    quiz = quiz_setup["quiz"]
    clients = []
    for _ in range(20):
        c = app.test_client()
        Auth(c).login(trainee.email)
        clients.append(c)
    attempt_id = start(clients[0], quiz).id
    rows = rows_of(db.session.get(Attempt, attempt_id))
    post_page(clients[0], db.session.get(Attempt, attempt_id), {"page": "0", f"q{rows[0].id}": value_of(rows[0])})
    tokens = [csrf_from(c.get(f"/quizzes/attempts/{attempt_id}/submit").text) for c in clients]
    db.session.commit()
    barrier = threading.Barrier(20, timeout=30)
    statuses: list = []

    def submit(c, token):
        try:
            barrier.wait()
            statuses.append(c.post(f"/quizzes/attempts/{attempt_id}/submit", data={"csrf_token": token}).status_code)
        except Exception as exc:  # noqa: BLE001  (the test looks at every outcome)
            statuses.append(repr(exc))

    threads = [threading.Thread(target=submit, args=(c, t)) for c, t in zip(clients, tokens, strict=True)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert statuses == [302] * 20, statuses
    db.session.expire_all()
    attempt = db.session.get(Attempt, attempt_id)
    assert attempt.state == AttemptState.FINISHED and attempt.mark == Decimal("2.50")
    assert count_rows(QuizGrade) == 1
    assert db.session.scalar(sa.select(QuizGrade.grade)) == Decimal("2.50")
    assert attempts.in_progress(db.session, db.session.get(Quiz, quiz.id), trainee.id) is None


# -- every type -----------------------------------------------------------------------------


def every_type(trainer, category) -> list:
    specs = [
        ParsedQuestion(1, 1, "description", "Giới thiệu", "Đọc kỹ **đoạn sau**.", "markdown", default_mark=0.0),
        ParsedQuestion(1, 1, "true_false", "Đúng sai", "Việt Nam là thành viên CRC.", "plain", (), [
            ParsedOption("true", 1.0), ParsedOption("false", 0.0)]),
        ParsedQuestion(1, 1, "multiple_response", "Nhiều đáp án", "<p>Chọn các <b>quyền</b><script>x()</script></p>",
                       "html", (), [ParsedOption("Quyền sống", 0.5), ParsedOption("Quyền học tập", 0.5),
                                    ParsedOption("Quyền đánh thuế", -1.0)]),
        ParsedQuestion(1, 1, "short_answer", "Điền từ", "Viết tắt của Công ước quyền trẻ em?", "plain", (), [
            ParsedOption("CRC", 1.0)]),
        ParsedQuestion(1, 1, "numerical", "Năm", "Việt Nam phê chuẩn CRC năm nào?", "plain", (), [
            ParsedOption("1990", 1.0)]),
        ParsedQuestion(1, 1, "matching", "Ghép", "Ghép công ước với năm thông qua.", "plain", (), [
            ParsedOption("CRC", 1.0, match="1989"), ParsedOption("CEDAW", 1.0, match="1979"),
            ParsedOption("", 0.0, match="2006")]),
    ]
    return [bank.create_question(db.session, trainer, category, spec) for spec in specs]


def test_every_type_is_shown_and_saved(client, auth, quiz_setup, trainer, trainee):
    questions = every_type(trainer, quiz_setup["category"])
    quiz = building.create_quiz(db.session, trainer, quiz_setup["course"], building.QuizSettings(
        title="Đủ loại", attempts_allowed=0, questions_per_page=10, review_answers="immediately"))
    building.add_questions(db.session, trainer, quiz, [q.id for q in questions])
    building.set_published(db.session, trainer, quiz, True)
    db.session.commit()
    login(auth, trainee)
    attempt = start(client, quiz)
    rows = {str(aq.version.type): aq for aq in rows_of(attempt)}
    html = client.get(f"/quizzes/attempts/{attempt.id}").text
    assert "<strong>đoạn sau</strong>" in html and "<b>quyền</b>" in html and "<script>x()" not in html
    assert ">Đúng</label>" in html and ">Sai</label>" in html and ">true<" not in html
    assert 'type="checkbox"' in html and 'inputmode="decimal"' in html and "<select" in html
    assert ">2006</option>" in html and "— Chọn —" in html

    def index_of(aq, text):
        options = {o.id: o for o in aq.version.options}
        return str([options[int(i)].text for i in aq.option_order].index(text))

    matching = rows["matching"]
    answers = re.findall(rf'name="q{matching.id}_0" id="[^"]+">\s*<option value="">[^<]*</option>(.*?)</select>',
                         html, re.S)[0]
    labels = dict(re.findall(r'<option value="(\d+)">([^<]+)</option>', answers))
    by_text = {text: value for value, text in labels.items()}
    subs = [o.text for o in matching.version.options if o.text]
    post_page(client, attempt, {
        "page": "0", f"q{rows['true_false'].id}": index_of(rows["true_false"], "true"),
        f"q{rows['multiple_response'].id}": [index_of(rows["multiple_response"], "Quyền sống"),
                                             index_of(rows["multiple_response"], "Quyền học tập")],
        f"q{rows['short_answer'].id}": "crc", f"q{rows['numerical'].id}": "1990",
        f"q{matching.id}_0": by_text["1989" if subs[0] == "CRC" else "1979"],
        f"q{matching.id}_1": by_text["1979" if subs[1] == "CEDAW" else "1989"],
        f"q{rows['description'].id}": "bỏ qua"})
    assert response_of(rows["short_answer"].id) == {"value": "crc"}
    assert response_of(rows["description"].id) is None
    assert len(response_of(rows["multiple_response"].id)["value"]) == 2
    again = client.get(f"/quizzes/attempts/{attempt.id}").text
    assert 'value="crc"' in again and 'value="1990"' in again and again.count(" selected>") == 2
    review = client.get(finish(client, attempt).headers["Location"]).text
    db.session.expire_all()
    assert db.session.get(Attempt, attempt.id).mark == Decimal("10.00")
    assert "CRC → 1989" in review and "Đáp án đúng" in review


def test_autosave_of_an_oversized_essay_is_refused_in_vietnamese(client, auth, quiz_setup, trainer, trainee):
    quiz = text_quiz(trainer, quiz_setup["course"], quiz_setup["category"])
    login(auth, trainee)
    attempt = start(client, quiz)
    (row,) = rows_of(attempt)
    token = csrf_from(client.get(f"/quizzes/attempts/{attempt.id}").text)
    response = client.post(f"/quizzes/attempts/{attempt.id}/autosave", data={
        "csrf_token": token, "page": "0", f"q{row.id}": "x" * 60_000})
    assert response.status_code == 422 and response.json["error"] == "Câu trả lời dài quá 50.000 ký tự."
    assert response_of(row.id) is None


def test_open_and_close_times_are_shown_in_vietnam_time(client, auth, quiz_setup, trainee):
    quiz = quiz_setup["quiz"]
    quiz.open_at = datetime(2025, 2, 28, 17, 0, tzinfo=UTC)  # 00:00 on 1 March in Vietnam
    quiz.close_at = datetime(2025, 3, 1, 16, 59, tzinfo=UTC)  # 23:59 on 1 March in Vietnam
    db.session.commit()
    login(auth, trainee)
    page = client.get(f"/quizzes/{quiz.id}").text
    assert "00:00 01/03/2025" in page and "23:59 01/03/2025" in page
