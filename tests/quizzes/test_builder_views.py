"""The quiz builder's screens: settings, questions, publishing, and the quiz panels on the course pages."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest
import sqlalchemy as sa

from courses import services as course_services
from lms.db import db
from quizzes import attempts, building
from quizzes import services as bank
from quizzes.formats.base import ParsedOption, ParsedQuestion
from quizzes.models import Quiz, QuizSlot
from tests.conftest import TEST_PASSWORD, count_rows, csrf_from
from tests.courses.conftest import NOW, convention
from tests.courses.test_query_counts import counting

GOOD = {
    "title": "Kiểm tra cuối khóa CRC", "intro": "Đọc kỹ **từng câu**.", "lesson_id": "0",
    "open_at": "", "close_at": "", "time_limit_minutes": "20", "attempts_allowed": "2",
    "grading_method": "highest", "max_mark": "10", "pass_mark": "5", "questions_per_page": "5",
    "navigation": "free", "review_score": "immediately", "review_answers": "after_close",
    "review_feedback": "immediately", "shuffle_options": "y",
}


def choice(name, right="Đúng", wrong=("Sai 1", "Sai 2")) -> ParsedQuestion:
    return ParsedQuestion(1, 1, "single_choice", name, f"{name}?", "plain", (),
                          [ParsedOption(right, 1.0, ""), *(ParsedOption(w, 0.0, "") for w in wrong)])


def text(response) -> str:
    return response.get_data(as_text=True)


@pytest.fixture
def setup(make_course, trainer):
    course = make_course(lessons=2)
    category = bank.create_category(db.session, trainer, "Quyền trẻ em")
    sub = bank.create_category(db.session, trainer, "Điều 1-10", category)
    questions = [bank.create_question(db.session, trainer, category, choice(f"Câu CRC {i}"),
                                      conventions=[convention("CRC")]) for i in range(1, 4)]
    questions += [bank.create_question(db.session, trainer, sub, choice(f"Câu con {i}")) for i in range(1, 3)]
    db.session.commit()
    return {"course": course, "category": category, "sub": sub, "questions": questions}


@pytest.fixture
def as_trainer(client, auth, trainer):
    auth.login(trainer.email)
    return client


def make_quiz(course, trainer, **settings) -> Quiz:
    quiz = building.create_quiz(db.session, trainer, course, building.QuizSettings(
        title=settings.pop("title", "Kiểm tra giữa khóa"), **settings))
    db.session.commit()
    return quiz


# -- settings -------------------------------------------------------------------------------

def test_a_trainer_creates_a_quiz_with_times_in_vietnam_time(as_trainer, setup):
    course = setup["course"]
    page = as_trainer.get(f"/quizzes/course/{course.id}/new")
    assert page.status_code == 200 and "Thêm bài kiểm tra" in text(page)
    lesson = course.sections[0].lessons[1]
    response = as_trainer.post(f"/quizzes/course/{course.id}/new", data={
        **GOOD, "lesson_id": str(lesson.id), "open_at": "01/12/2026 07:30", "close_at": "31/12/2026 23:59",
        "bands-0-min": "8", "bands-0-label": "Giỏi", "bands-1-min": "6,5", "bands-1-label": "Khá"})
    assert response.status_code == 302
    quiz = db.session.scalar(sa.select(Quiz))
    assert response.headers["Location"].endswith(f"/quizzes/{quiz.id}/questions")
    assert quiz.close_at == datetime(2026, 12, 31, 16, 59, tzinfo=UTC)
    assert quiz.open_at == datetime(2026, 12, 1, 0, 30, tzinfo=UTC)
    assert quiz.lesson_id == lesson.id and quiz.time_limit_minutes == 20 and quiz.attempts_allowed == 2
    assert quiz.bands == [{"min": 6.5, "label": "Khá"}, {"min": 8.0, "label": "Giỏi"}]
    assert not quiz.published and "<strong>từng câu</strong>" in quiz.intro_html
    # the settings come back in Vietnam time
    edit = text(as_trainer.get(f"/quizzes/{quiz.id}/edit"))
    assert 'value="31/12/2026 23:59"' in edit and 'value="01/12/2026 07:30"' in edit
    assert 'value="6,5"' in edit and 'value="Giỏi"' in edit


def test_unlimited_attempts_and_no_time_limit(as_trainer, setup):
    course = setup["course"]
    response = as_trainer.post(f"/quizzes/course/{course.id}/new",
                               data={**GOOD, "attempts_allowed": "0", "time_limit_minutes": ""})
    assert response.status_code == 302
    quiz = db.session.scalar(sa.select(Quiz))
    assert quiz.attempts_allowed == 0 and quiz.time_limit_minutes is None


BAD = [
    ({"title": "   "}, "Hãy nhập tên bài kiểm tra."),
    ({"pass_mark": "11"}, "Điểm đạt phải từ 0 đến thang điểm."),
    ({"pass_mark": "năm"}, "Hãy nhập một số, ví dụ 7,5."),
    ({"max_mark": "0"}, "Thang điểm từ 0 đến 1.000"),
    ({"open_at": "02/01/2027 08:00", "close_at": "01/01/2027 08:00"}, "Thời điểm đóng phải sau thời điểm mở."),
    ({"close_at": "31/02/2027 08:00"}, "Thời điểm phải ghi theo dạng ngày/tháng/năm giờ:phút"),
    ({"close_at": "31/12/2027"}, "Thời điểm phải ghi theo dạng ngày/tháng/năm giờ:phút"),
    ({"time_limit_minutes": "0"}, "Thời gian làm bài từ 1 đến 1.440 phút"),
    ({"time_limit_minutes": "-5"}, "Thời gian làm bài từ 1 đến 1.440 phút"),
    ({"time_limit_minutes": "99999999999"}, "Thời gian làm bài từ 1 đến 1.440 phút"),
    ({"time_limit_minutes": "mười"}, "Vui lòng nhập một số nguyên."),
    ({"attempts_allowed": "-1"}, "Số lần làm bài từ 0 (không giới hạn) đến 100."),
    ({"grading_method": "best"}, "Lựa chọn không hợp lệ."),
    ({"questions_per_page": "0"}, "Số câu mỗi trang từ 1 đến 100."),
    ({"bands-0-min": "12", "bands-0-label": "Giỏi"}, "Mỗi mức xếp loại cần tên"),
    ({"bands-0-min": "8", "bands-0-label": ""}, "Mỗi mức xếp loại cần tên"),
    ({"lesson_id": "abc"}, "Lựa chọn không hợp lệ."),
]


@pytest.mark.parametrize(("change", "message"), BAD)
def test_bad_settings_are_refused_next_to_the_field(as_trainer, setup, change, message):
    course = setup["course"]
    response = as_trainer.post(f"/quizzes/course/{course.id}/new", data={**GOOD, **change})
    assert response.status_code == 422
    assert message in text(response)
    assert "invalid-feedback" in text(response)
    assert count_rows(Quiz) == 0


def test_a_lesson_of_another_course_is_refused(as_trainer, setup, make_course):
    other = make_course("Khóa khác", lessons=1)
    lesson = other.sections[0].lessons[0]
    response = as_trainer.post(f"/quizzes/course/{setup['course'].id}/new", data={**GOOD, "lesson_id": str(lesson.id)})
    assert response.status_code == 422 and "Bài học không thuộc khóa học này." in text(response)
    assert count_rows(Quiz) == 0


def test_editing_with_bad_input_changes_nothing(as_trainer, setup, trainer):
    quiz = make_quiz(setup["course"], trainer, title="Bài cũ")
    response = as_trainer.post(f"/quizzes/{quiz.id}/edit", data={**GOOD, "title": "Bài mới", "pass_mark": "20"})
    assert response.status_code == 422 and "Điểm đạt phải từ 0 đến thang điểm." in text(response)
    db.session.expire_all()
    assert db.session.get(Quiz, quiz.id).title == "Bài cũ"
    ok = as_trainer.post(f"/quizzes/{quiz.id}/edit", data={**GOOD, "title": "Bài mới"})
    assert ok.status_code == 302
    db.session.expire_all()
    assert db.session.get(Quiz, quiz.id).title == "Bài mới"


# -- permissions ----------------------------------------------------------------------------

def test_other_trainers_and_trainees_may_not_build(client, auth, setup, make_person, make_course, trainer, trainee):
    course = setup["course"]  # published
    draft = make_course("Bản nháp", publish=False)
    quiz = make_quiz(course, trainer)
    draft_quiz = make_quiz(draft, trainer)
    other = make_person(name="Trần Văn Khác", email="other@example.vn", roles=("trainer",))
    for person, published_status in ((other, 403), (trainee, 403)):
        auth.login(person.email)
        assert client.get(f"/quizzes/course/{course.id}/new").status_code == published_status
        assert client.post(f"/quizzes/course/{course.id}/new", data=GOOD).status_code == published_status
        assert client.get(f"/quizzes/course/{draft.id}/new").status_code == 404
        assert client.get(f"/quizzes/{quiz.id}/edit").status_code == published_status
        assert client.post(f"/quizzes/{quiz.id}/edit", data={**GOOD, "title": "x"}).status_code == published_status
        assert client.get(f"/quizzes/{draft_quiz.id}/edit").status_code == 404
        assert client.get(f"/quizzes/{quiz.id}/questions").status_code == published_status
        assert client.post(f"/quizzes/{quiz.id}/publish", data={"published": "1"}).status_code == published_status
        assert client.get(f"/quizzes/{quiz.id}/questions/pick").status_code == published_status
        assert client.get("/quizzes/999999/edit").status_code == 404
        assert client.get("/quizzes/course/999999/new").status_code == 404
        auth.logout()
    assert count_rows(Quiz) == 2
    db.session.expire_all()
    assert db.session.get(Quiz, quiz.id).title == "Kiểm tra giữa khóa"


def test_a_slot_of_another_quiz_is_not_found(as_trainer, setup, trainer):
    quiz = make_quiz(setup["course"], trainer)
    other = make_quiz(setup["course"], trainer, title="Bài khác")
    building.add_questions(db.session, trainer, other, [setup["questions"][0].id])
    db.session.commit()
    slot = other.slots[0]
    assert as_trainer.post(f"/quizzes/{quiz.id}/slots/{slot.id}/remove").status_code == 404
    assert as_trainer.post(f"/quizzes/{quiz.id}/slots/{slot.id}/mark", data={"mark": "3"}).status_code == 404
    assert count_rows(QuizSlot) == 1


def test_a_post_without_csrf_token_is_refused(app_factory, trainer, make_course):
    strict = app_factory(WTF_CSRF_ENABLED=True)
    with strict.app_context():
        course = make_course()
        client = strict.test_client()
        token = csrf_from(text(client.get("/login")))
        client.post("/login", data={"email": trainer.email, "password": TEST_PASSWORD, "csrf_token": token})
        assert client.post(f"/quizzes/course/{course.id}/new", data=GOOD).status_code == 400
        assert count_rows(Quiz) == 0
        token = csrf_from(text(client.get(f"/quizzes/course/{course.id}/new")))
        assert client.post(f"/quizzes/course/{course.id}/new", data={**GOOD, "csrf_token": token}).status_code == 302
        quiz = db.session.scalar(sa.select(Quiz))
        assert client.post(f"/quizzes/{quiz.id}/publish", data={"published": "1"}).status_code == 400


# -- questions ------------------------------------------------------------------------------

def test_add_questions_from_the_bank_change_marks_and_remove(as_trainer, setup, trainer):
    quiz = make_quiz(setup["course"], trainer)
    q1, q2, q3, c1, _ = setup["questions"]
    page = text(as_trainer.get(f"/quizzes/{quiz.id}/questions/pick?category={setup['sub'].id}"))
    assert "Câu con 1" in page and "Câu CRC 1" not in page
    found = text(as_trainer.get(f"/quizzes/{quiz.id}/questions/pick?q=cau+crc+2"))
    assert "Câu CRC 2" in found and "Câu CRC 1" not in found
    response = as_trainer.post(f"/quizzes/{quiz.id}/questions/pick", data={"question_ids": [q1.id, q2.id, c1.id]})
    assert response.status_code == 302
    questions = text(as_trainer.get(f"/quizzes/{quiz.id}/questions"))
    assert "Câu CRC 1" in questions and "Câu con 1" in questions and "3 câu, tổng 3 điểm gốc" in questions
    # the same question twice is added once
    as_trainer.post(f"/quizzes/{quiz.id}/questions/pick", data={"question_ids": [q1.id]})
    assert count_rows(QuizSlot) == 3
    db.session.expire_all()
    slots = db.session.get(Quiz, quiz.id).slots
    assert as_trainer.post(f"/quizzes/{quiz.id}/slots/{slots[0].id}/mark", data={"mark": "2,5"}).status_code == 302
    db.session.expire_all()
    assert db.session.get(QuizSlot, slots[0].id).mark == Decimal("2.5")
    bad = as_trainer.post(f"/quizzes/{quiz.id}/slots/{slots[0].id}/mark", data={"mark": "-1"})
    assert bad.status_code == 422 and "Điểm của câu từ 0 đến 1.000." in text(bad)
    assert as_trainer.post(f"/quizzes/{quiz.id}/slots/{slots[1].id}/remove").status_code == 302
    assert count_rows(QuizSlot) == 2
    assert "Câu CRC 2" not in text(as_trainer.get(f"/quizzes/{quiz.id}/questions"))


def test_picking_nothing_or_an_unknown_question_is_refused(as_trainer, setup, trainer):
    quiz = make_quiz(setup["course"], trainer)
    nothing = as_trainer.post(f"/quizzes/{quiz.id}/questions/pick", data={})
    assert nothing.status_code == 422 and "Hãy đánh dấu ít nhất một câu hỏi." in text(nothing)
    unknown = as_trainer.post(f"/quizzes/{quiz.id}/questions/pick", data={"question_ids": ["987654"]})
    assert unknown.status_code == 422 and "Không tìm thấy câu hỏi đã chọn" in text(unknown)
    garbage = as_trainer.post(f"/quizzes/{quiz.id}/questions/pick", data={"question_ids": ["x"]})
    assert garbage.status_code == 422 and "Lựa chọn không hợp lệ." in text(garbage)
    big_mark = as_trainer.post(f"/quizzes/{quiz.id}/questions/pick",
                               data={"question_ids": [setup["questions"][0].id], "mark": "1e9"})
    assert big_mark.status_code == 422 and "Điểm của câu từ 0 đến 1.000." in text(big_mark)
    assert count_rows(QuizSlot) == 0


def test_random_questions(as_trainer, setup, trainer):
    quiz = make_quiz(setup["course"], trainer)
    category = setup["category"]
    data = {"category_id": str(category.id), "include_subcategories": "y", "convention_id": "0", "count": "4",
            "mark": "1"}
    assert as_trainer.post(f"/quizzes/{quiz.id}/questions/random", data=data).status_code == 302
    page = text(as_trainer.get(f"/quizzes/{quiz.id}/questions"))
    assert "4 câu ngẫu nhiên từ nhóm Quyền trẻ em" in page and "(gồm nhóm con)" in page
    crc = convention("CRC")
    ok = as_trainer.post(f"/quizzes/{quiz.id}/questions/random",
                         data={**data, "count": "3", "convention_id": str(crc.id), "include_subcategories": ""})
    assert ok.status_code == 302 and "công ước CRC" in text(as_trainer.get(f"/quizzes/{quiz.id}/questions"))
    assert count_rows(QuizSlot) == 2


@pytest.mark.parametrize(("change", "message"), [
    ({"count": "6"}, "chỉ có 5 câu hỏi phù hợp (không kể các câu đã chọn sẵn trong bài); không lấy được 6 câu ngẫu nhiên"),
    ({"count": "3", "include_subcategories": ""}, None),
    ({"count": "4", "include_subcategories": ""}, "chỉ có 3 câu hỏi phù hợp"),
    ({"count": "0"}, "Số câu ngẫu nhiên từ 1 đến 500."),
    ({"count": "abc"}, "Vui lòng nhập một số nguyên."),
    ({"category_id": "999999"}, "Lựa chọn không hợp lệ."),
    ({"convention_id": "999999"}, "Lựa chọn không hợp lệ."),
    ({"mark": "-2"}, "Điểm của câu từ 0 đến 1.000."),
])
def test_bad_random_draws_are_refused(as_trainer, setup, trainer, change, message):
    quiz = make_quiz(setup["course"], trainer)
    data = {"category_id": str(setup["category"].id), "include_subcategories": "y", "convention_id": "0",
            "count": "1", "mark": "1", **change}
    response = as_trainer.post(f"/quizzes/{quiz.id}/questions/random", data=data)
    if message is None:
        assert response.status_code == 302 and count_rows(QuizSlot) == 1
        return
    assert response.status_code == 422 and message in text(response)
    assert count_rows(QuizSlot) == 0


def test_a_random_draw_does_not_count_the_fixed_questions(as_trainer, setup, trainer):
    quiz = make_quiz(setup["course"], trainer)
    building.add_questions(db.session, trainer, quiz, [q.id for q in setup["questions"][:3]])
    db.session.commit()
    data = {"category_id": str(setup["category"].id), "include_subcategories": "y", "convention_id": "0",
            "count": "3", "mark": "1"}
    refused = as_trainer.post(f"/quizzes/{quiz.id}/questions/random", data=data)
    assert refused.status_code == 422 and "chỉ có 2 câu hỏi phù hợp" in text(refused)
    assert count_rows(QuizSlot) == 3
    assert as_trainer.post(f"/quizzes/{quiz.id}/questions/random", data={**data, "count": "2"}).status_code == 302


def test_publishing_an_empty_quiz_is_refused(as_trainer, setup, trainer):
    quiz = make_quiz(setup["course"], trainer)
    refused = as_trainer.post(f"/quizzes/{quiz.id}/publish", data={"published": "1"})
    assert refused.status_code == 422 and "Hãy thêm câu hỏi trước khi công bố bài kiểm tra." in text(refused)
    db.session.expire_all()
    assert not db.session.get(Quiz, quiz.id).published
    assert as_trainer.post(f"/quizzes/{quiz.id}/publish", data={"published": "maybe"}).status_code == 422
    building.add_questions(db.session, trainer, quiz, [setup["questions"][0].id])
    db.session.commit()
    assert as_trainer.post(f"/quizzes/{quiz.id}/publish", data={"published": "1"}).status_code == 302
    db.session.expire_all()
    assert db.session.get(Quiz, quiz.id).published
    assert "Ngừng công bố" in text(as_trainer.get(f"/quizzes/{quiz.id}/questions"))
    assert as_trainer.post(f"/quizzes/{quiz.id}/publish", data={"published": "0"}).status_code == 302
    db.session.expire_all()
    assert not db.session.get(Quiz, quiz.id).published


def test_changing_an_attempted_quiz_warns(as_trainer, setup, trainer, trainee):
    course = setup["course"]
    quiz = make_quiz(course, trainer)
    building.add_questions(db.session, trainer, quiz, [q.id for q in setup["questions"][:2]])
    building.set_published(db.session, trainer, quiz, True)
    course_services.self_enrol(db.session, trainee, course, NOW)
    attempts.start(db.session, trainee, quiz, NOW)
    db.session.commit()
    for url in (f"/quizzes/{quiz.id}/questions", f"/quizzes/{quiz.id}/edit"):
        assert "Bài kiểm tra đã có người làm." in text(as_trainer.get(url))


# -- panels on the course pages -------------------------------------------------------------

def test_the_trainer_course_page_lists_the_quizzes(as_trainer, setup, trainer):
    course = setup["course"]
    lesson = course.sections[0].lessons[0]
    quiz = make_quiz(course, trainer, title="Kiểm tra bài 1", lesson_id=lesson.id)
    building.add_questions(db.session, trainer, quiz, [setup["questions"][0].id])
    building.add_random(db.session, trainer, quiz, setup["category"], 3)
    db.session.commit()
    make_quiz(course, trainer, title="Kiểm tra cuối khóa")
    page = text(as_trainer.get(f"/courses/teaching/{course.id}"))
    assert "Thêm bài kiểm tra" in page and f"/quizzes/course/{course.id}/new" in page
    assert "Kiểm tra bài 1" in page and "Bài học: Bài 1" in page and "4 câu hỏi" in page and "0 lượt làm" in page
    assert "Kiểm tra cuối khóa" in page and "Cả khóa học" in page and "Chưa công bố" in page
    assert f"/quizzes/{quiz.id}/edit" in page


def test_the_learner_sees_published_quizzes_with_their_state(client, auth, setup, trainer, trainee):
    course = setup["course"]
    lesson = course.sections[0].lessons[0]
    course_services.self_enrol(db.session, trainee, course, NOW)
    done = make_quiz(course, trainer, title="Bài đã làm", lesson_id=lesson.id)
    todo = make_quiz(course, trainer, title="Bài chưa làm")
    hidden = make_quiz(course, trainer, title="Bài nháp")
    for quiz in (done, todo, hidden):
        building.add_questions(db.session, trainer, quiz, [q.id for q in setup["questions"][:2]])
    for quiz in (done, todo):
        building.set_published(db.session, trainer, quiz, True)
    db.session.commit()
    attempt = attempts.start(db.session, trainee, done, NOW)
    answers = {aq.id: str(next(o.id for o in aq.version.options if o.fraction == 1)) for aq in attempt.questions}
    attempts.save(db.session, trainee, attempt, answers, NOW)
    attempts.finish(db.session, trainee, attempt, NOW)
    db.session.commit()
    auth.login(trainee.email)
    page = text(client.get(f"/courses/{course.id}"))
    assert "Bài đã làm" in page and "Đạt: 10 điểm" in page
    assert "Bài chưa làm" in page and "Chưa làm" in page
    assert "Bài nháp" not in page
    lesson_page = text(client.get(f"/courses/{course.id}/lessons/{lesson.id}"))
    assert "Bài đã làm" in lesson_page and "Bài chưa làm" not in lesson_page
    other_lesson = course.sections[0].lessons[1]
    assert "Bài kiểm tra" not in text(client.get(f"/courses/{course.id}/lessons/{other_lesson.id}"))


def test_a_score_not_yet_reviewable_is_not_shown(client, auth, setup, trainer, trainee):
    course = setup["course"]
    course_services.self_enrol(db.session, trainee, course, NOW)
    quiz = make_quiz(course, trainer, title="Điểm xem sau", review_score="never")
    building.add_questions(db.session, trainer, quiz, [setup["questions"][0].id])
    building.set_published(db.session, trainer, quiz, True)
    db.session.commit()
    attempt = attempts.start(db.session, trainee, quiz, NOW)
    attempts.finish(db.session, trainee, attempt, NOW)
    db.session.commit()
    auth.login(trainee.email)
    page = text(client.get(f"/courses/{course.id}"))
    assert "Đã nộp bài" in page and "điểm</span>" not in page and "Chưa đạt" not in page


def _measure(client, url: str) -> int:
    db.session.commit()
    assert client.get(url).status_code == 200
    with counting() as statements:
        assert client.get(url).status_code == 200
    return len(statements)


def test_the_quiz_panels_run_a_constant_number_of_statements(client, auth, setup, trainer, trainee):
    course = setup["course"]
    lesson = course.sections[0].lessons[0]
    course_services.self_enrol(db.session, trainee, course, NOW)
    db.session.commit()
    counts: dict[str, list[int]] = {"teaching": [], "course": [], "lesson": []}
    made = 0
    for n in (1, 6):
        while made < n:
            quiz = make_quiz(course, trainer, title=f"Bài kiểm tra {made}", lesson_id=lesson.id)
            building.add_questions(db.session, trainer, quiz, [q.id for q in setup["questions"][:2]])
            building.set_published(db.session, trainer, quiz, True)
            db.session.commit()
            if made % 2 == 0:
                attempts.start(db.session, trainee, quiz, NOW)
                db.session.commit()
            made += 1
        auth.login(trainer.email)
        counts["teaching"].append(_measure(client, f"/courses/teaching/{course.id}"))
        auth.logout()
        auth.login(trainee.email)
        counts["course"].append(_measure(client, f"/courses/{course.id}"))
        counts["lesson"].append(_measure(client, f"/courses/{course.id}/lessons/{lesson.id}"))
        auth.logout()
    for place, (few, many) in counts.items():
        assert few == many, (place, counts)
    assert counts["course"][1] <= 10 and counts["lesson"][1] <= 10
