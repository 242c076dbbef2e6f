"""The attempt lifecycle on the server: start, answer, deadline, finish once, grades, completion."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
import sqlalchemy as sa

from courses import services as course_services
from courses.models import Enrolment, EnrolmentStatus
from lms.actors import SYSTEM
from lms.db import db
from lms.errors import PermissionDenied, ServiceError
from lms.models import AuditEntry
from quizzes import attempts, building
from quizzes import services as bank
from quizzes.attempts import AttemptClosed
from quizzes.formats.base import ParsedOption, ParsedQuestion
from quizzes.models import Attempt, AttemptQuestion, AttemptState, QuizGrade
from tests.conftest import count_rows

NOW = datetime(2025, 3, 1, 3, 0, tzinfo=UTC)


def choice(name, right="Đúng", wrong=("Sai 1", "Sai 2")) -> ParsedQuestion:
    return ParsedQuestion(1, 1, "single_choice", name, f"{name}?", "plain", (),
                          [ParsedOption(right, 1.0, "Chính xác"), *(ParsedOption(w, 0.0, "Chưa đúng") for w in wrong)],
                          general_feedback="Giải thích")


@pytest.fixture
def quiz_setup(make_course, trainer, trainee):
    course = make_course(lessons=1)
    course_services.self_enrol(db.session, trainee, course, NOW)
    category = bank.create_category(db.session, trainer, "CRC")
    questions = [bank.create_question(db.session, trainer, category, choice(f"Câu {i}")) for i in range(1, 5)]
    essay = bank.create_question(db.session, trainer, category, ParsedQuestion(
        1, 1, "essay", "Tự luận", "Trình bày quyền trẻ em.", "plain"))
    quiz = building.create_quiz(db.session, trainer, course, building.QuizSettings(
        title="Kiểm tra CRC", time_limit_minutes=20, attempts_allowed=2, questions_per_page=2))
    building.add_questions(db.session, trainer, quiz, [q.id for q in questions])
    building.set_published(db.session, trainer, quiz, True)
    db.session.commit()
    return {"course": course, "quiz": quiz, "questions": questions, "essay": essay, "category": category}


def right_option(aq: AttemptQuestion) -> int:
    return next(o.id for o in aq.version.options if o.fraction == 1)


def wrong_option(aq: AttemptQuestion) -> int:
    return next(o.id for o in aq.version.options if o.fraction == 0)


def test_an_attempt_fixes_its_questions_pages_and_deadline(quiz_setup, trainee):
    quiz = quiz_setup["quiz"]
    attempt = attempts.start(db.session, trainee, quiz, NOW, random.Random(1))
    db.session.commit()
    assert attempt.number == 1 and attempt.state == AttemptState.IN_PROGRESS
    assert attempt.deadline == NOW + timedelta(minutes=20)
    assert [aq.page for aq in attempt.questions] == [0, 0, 1, 1]
    for aq in attempt.questions:
        assert sorted(aq.option_order) == sorted(o.id for o in aq.version.options)
    # Starting again resumes the same attempt.
    assert attempts.start(db.session, trainee, quiz, NOW + timedelta(minutes=1)).id == attempt.id


def test_the_deadline_never_passes_the_close_time(quiz_setup, trainer, trainee):
    quiz = quiz_setup["quiz"]
    quiz.close_at = NOW + timedelta(minutes=5)
    db.session.commit()
    attempt = attempts.start(db.session, trainee, quiz, NOW)
    assert attempt.deadline == NOW + timedelta(minutes=5)


def test_answers_are_saved_graded_once_and_the_grade_kept(quiz_setup, trainee):
    quiz = quiz_setup["quiz"]
    attempt = attempts.start(db.session, trainee, quiz, NOW)
    rows = attempt.questions
    answers = {rows[0].id: str(right_option(rows[0])), rows[1].id: str(right_option(rows[1])),
               rows[2].id: str(wrong_option(rows[2]))}
    assert attempts.save(db.session, trainee, attempt, answers, NOW + timedelta(minutes=2)) == 3
    db.session.commit()
    attempts.finish(db.session, trainee, attempt, NOW + timedelta(minutes=3))
    db.session.commit()
    assert attempt.state == AttemptState.FINISHED and attempt.mark == Decimal("5.00")
    assert attempt.finished_at == NOW + timedelta(minutes=3)
    grade = db.session.scalar(sa.select(QuizGrade))
    assert grade.grade == Decimal("5.00") and grade.passed
    # Finishing again changes nothing; answers after finishing are refused.
    attempts.finish(db.session, trainee, attempt, NOW + timedelta(minutes=9))
    assert attempt.finished_at == NOW + timedelta(minutes=3)
    with pytest.raises(AttemptClosed):
        attempts.save(db.session, trainee, attempt, {rows[3].id: str(right_option(rows[3]))}, NOW)


def test_after_the_deadline_answers_are_ignored_and_the_attempt_closes_at_the_deadline(quiz_setup, trainee):
    quiz = quiz_setup["quiz"]
    attempt = attempts.start(db.session, trainee, quiz, NOW)
    rows = attempt.questions
    attempts.save(db.session, trainee, attempt, {rows[0].id: right_option(rows[0])}, NOW + timedelta(minutes=19))
    db.session.commit()
    late = NOW + timedelta(minutes=20, seconds=1)
    with pytest.raises(AttemptClosed, match="hết giờ"):
        attempts.save(db.session, trainee, attempt, {rows[1].id: right_option(rows[1])}, late)
    db.session.commit()
    assert attempt.state == AttemptState.FINISHED
    assert attempt.finished_at == NOW + timedelta(minutes=20)
    assert attempt.questions[1].response is None
    assert attempt.mark == Decimal("2.50")


def test_overdue_attempts_are_swept_at_their_deadline(quiz_setup, trainee):
    attempt = attempts.start(db.session, trainee, quiz_setup["quiz"], NOW)
    db.session.commit()
    assert attempts.close_overdue(db.session, NOW + timedelta(minutes=10)) == 0
    assert attempts.close_overdue(db.session, NOW + timedelta(hours=3)) == 1
    db.session.commit()
    assert attempt.state == AttemptState.FINISHED and attempt.finished_at == NOW + timedelta(minutes=20)


def test_attempts_allowed_are_enforced(quiz_setup, trainee):
    quiz = quiz_setup["quiz"]
    for minute in (0, 30):
        attempt = attempts.start(db.session, trainee, quiz, NOW + timedelta(minutes=minute))
        attempts.finish(db.session, trainee, attempt, NOW + timedelta(minutes=minute + 1))
        db.session.commit()
    with pytest.raises(ServiceError, match="hết số lần"):
        attempts.start(db.session, trainee, quiz, NOW + timedelta(hours=2))
    assert count_rows(Attempt) == 2


def test_the_quiz_window_is_enforced(quiz_setup, trainee):
    quiz = quiz_setup["quiz"]
    quiz.open_at, quiz.close_at = NOW + timedelta(days=1), NOW + timedelta(days=2)
    db.session.commit()
    with pytest.raises(ServiceError, match="chưa mở"):
        attempts.start(db.session, trainee, quiz, NOW)
    with pytest.raises(ServiceError, match="đã đóng"):
        attempts.start(db.session, trainee, quiz, NOW + timedelta(days=3))


def test_responses_from_the_browser_are_never_trusted(quiz_setup, trainee, make_person):
    quiz = quiz_setup["quiz"]
    attempt = attempts.start(db.session, trainee, quiz, NOW)
    rows = attempt.questions
    other_question_option = right_option(rows[1])
    saved = attempts.save(db.session, trainee, attempt, {
        rows[0].id: str(other_question_option),   # an option of another question
        rows[1].id: ["-1", "9" * 40],              # negative and huge ids
        rows[2].id: {"score": 10},                 # a wrong shape
        rows[3].id: "x" * 2000,                    # text for a choice
        999_999: str(right_option(rows[0])),       # not a question of this attempt
    }, NOW)
    assert saved == 4
    assert all(aq.response is None for aq in rows)
    stranger = make_person(roles=("trainee",))
    with pytest.raises(PermissionDenied):
        attempts.save(db.session, stranger, attempt, {rows[0].id: right_option(rows[0])}, NOW)
    with pytest.raises(PermissionDenied):
        attempts.finish(db.session, stranger, attempt, NOW)
    assert attempt.state == AttemptState.IN_PROGRESS


def test_people_not_enrolled_cannot_start(quiz_setup, make_person):
    outsider = make_person(roles=("trainee",))
    with pytest.raises(PermissionDenied):
        attempts.start(db.session, outsider, quiz_setup["quiz"], NOW)
    with pytest.raises(PermissionDenied):
        attempts.start(db.session, SYSTEM, quiz_setup["quiz"], NOW)


def test_an_unpublished_quiz_cannot_be_started_by_trainees(quiz_setup, trainer, trainee):
    building.set_published(db.session, trainer, quiz_setup["quiz"], False)
    db.session.commit()
    with pytest.raises(PermissionDenied):
        attempts.start(db.session, trainee, quiz_setup["quiz"], NOW)


def test_sequential_navigation_takes_only_the_current_page(quiz_setup, trainee):
    quiz = quiz_setup["quiz"]
    quiz.navigation = "sequential"
    db.session.commit()
    attempt = attempts.start(db.session, trainee, quiz, NOW)
    rows = attempt.questions
    # Skipping ahead: page 1's answer is not taken while on page 0.
    attempts.save(db.session, trainee, attempt, {rows[2].id: right_option(rows[2])}, NOW)
    assert rows[2].response is None
    assert attempts.go_to_page(db.session, trainee, attempt, 5, NOW) == 1
    assert attempts.go_to_page(db.session, trainee, attempt, 0, NOW) == 1  # no going back
    attempts.save(db.session, trainee, attempt, {rows[2].id: right_option(rows[2]),
                                                 rows[0].id: right_option(rows[0])}, NOW)
    assert rows[2].response is not None and rows[0].response is None


def test_an_essay_waits_for_a_trainer_then_counts(quiz_setup, trainer, trainee):
    quiz = quiz_setup["quiz"]
    building.add_questions(db.session, trainer, quiz, [quiz_setup["essay"].id])
    db.session.commit()
    attempt = attempts.start(db.session, trainee, quiz, NOW)
    rows = attempt.questions
    essay_row = next(aq for aq in rows if str(aq.version.type) == "essay")
    attempts.save(db.session, trainee, attempt, {essay_row.id: "Trẻ em có quyền được bảo vệ."}, NOW)
    attempts.finish(db.session, trainee, attempt, NOW + timedelta(minutes=1))
    db.session.commit()
    assert attempt.mark is None
    assert db.session.scalar(sa.select(QuizGrade)).grade is None
    with pytest.raises(PermissionDenied):
        attempts.grade_by_hand(db.session, trainee, essay_row, 1.0, "", NOW)
    with pytest.raises(ServiceError, match="từ 0"):
        attempts.grade_by_hand(db.session, trainer, essay_row, 1.5, "", NOW)
    attempts.grade_by_hand(db.session, trainer, essay_row, 1.0, "Tốt", NOW + timedelta(hours=1))
    db.session.commit()
    assert attempt.mark == Decimal("2.00")  # 1 of 5 marks
    entry = db.session.scalar(sa.select(AuditEntry).where(AuditEntry.action == "attempt.grade"))
    assert entry.details == {"before": None, "after": 1.0}


def test_passing_a_required_quiz_completes_the_course(quiz_setup, trainer, trainee):
    quiz, course = quiz_setup["quiz"], quiz_setup["course"]
    quiz.required_for_completion = True
    db.session.commit()
    lesson = course.sections[0].lessons[0]
    course_services.mark_done(db.session, trainee, lesson, NOW)
    db.session.commit()
    enrolment = db.session.scalar(sa.select(Enrolment))
    assert enrolment.status == EnrolmentStatus.ACTIVE  # the quiz is still to pass
    attempt = attempts.start(db.session, trainee, quiz, NOW)
    attempts.save(db.session, trainee, attempt, {aq.id: right_option(aq) for aq in attempt.questions}, NOW)
    attempts.finish(db.session, trainee, attempt, NOW + timedelta(minutes=5))
    db.session.commit()
    db.session.refresh(enrolment)
    assert enrolment.status == EnrolmentStatus.COMPLETED
    assert enrolment.completed_at == NOW + timedelta(minutes=5)


def test_regrading_after_a_key_is_fixed_uses_the_corrected_version(quiz_setup, trainer, trainee):
    quiz = quiz_setup["quiz"]
    attempt = attempts.start(db.session, trainee, quiz, NOW)
    first = attempt.questions[0]
    chosen = wrong_option(first)
    attempts.save(db.session, trainee, attempt, {first.id: chosen}, NOW)
    attempts.finish(db.session, trainee, attempt, NOW)
    db.session.commit()
    assert attempt.mark == Decimal("0.00")
    # The trainer finds the key was wrong: the option the trainee chose was the right one.
    question = first.version.question
    fixed = bank.as_parsed(question.current)
    position = [o.id for o in first.version.options].index(chosen)
    for i, option in enumerate(fixed.options):
        option.fraction = 1.0 if i == position else 0.0
    bank.revise_question(db.session, trainer, question, fixed)
    db.session.commit()
    assert attempts.regrade(db.session, trainer, quiz, NOW + timedelta(days=1)) == 1
    db.session.commit()
    assert attempt.mark == Decimal("2.50")
    assert first.version_id != first.key_version_id  # it still shows what it showed
    entry = db.session.scalar(sa.select(AuditEntry).where(AuditEntry.action == "quiz.regrade"))
    assert entry.details["changed"] == [{"attempt": attempt.id, "before": "0.00", "after": "2.50"}]
    with pytest.raises(PermissionDenied):
        attempts.regrade(db.session, trainee, quiz, NOW)


def test_random_slots_draw_distinct_questions_and_refuse_a_short_category(quiz_setup, trainer, trainee):
    quiz = quiz_setup["quiz"]
    for slot in list(quiz.slots):
        building.remove_slot(db.session, trainer, quiz, slot.id)
    building.add_random(db.session, trainer, quiz, quiz_setup["category"], 4)
    db.session.commit()
    attempt = attempts.start(db.session, trainee, quiz, NOW, random.Random(7))
    questions = [aq.version.question_id for aq in attempt.questions]
    assert len(set(questions)) == 4
    attempts.finish(db.session, trainee, attempt, NOW)
    building.add_random(db.session, trainer, quiz, quiz_setup["category"], 3)
    db.session.commit()
    with pytest.raises(ServiceError, match="không đủ câu hỏi"):
        attempts.start(db.session, trainee, quiz, NOW + timedelta(minutes=1))


def test_the_versions_an_attempt_showed_stay_when_the_question_changes(quiz_setup, trainer, trainee):
    quiz = quiz_setup["quiz"]
    attempt = attempts.start(db.session, trainee, quiz, NOW)
    db.session.commit()
    shown = [(aq.version_id, list(aq.option_order)) for aq in attempt.questions]
    for question in quiz_setup["questions"]:
        changed = bank.as_parsed(question.current)
        changed.text = "Đã sửa"
        bank.revise_question(db.session, trainer, question, changed)
    db.session.commit()
    db.session.expire_all()
    again = db.session.get(Attempt, attempt.id)
    assert [(aq.version_id, aq.option_order) for aq in again.questions] == shown
    assert all(aq.version.text != "Đã sửa" for aq in again.questions)


@pytest.mark.parametrize(("field", "value", "message"), [
    ("title", "  ", "tên bài kiểm tra"),
    ("time_limit_minutes", 0, "Thời gian làm bài"),
    ("attempts_allowed", -1, "Số lần làm bài"),
    ("pass_mark", Decimal("11"), "Điểm đạt"),
    ("max_mark", Decimal("0"), "Thang điểm"),
    ("questions_per_page", 0, "Số câu mỗi trang"),
    ("grading_method", "best", "Cách tính điểm"),
    ("bands", [{"min": 20, "label": "Giỏi"}], "xếp loại"),
    ("lesson_id", 999_999, "Bài học không thuộc"),
])
def test_bad_quiz_settings_are_refused_with_a_message(make_course, trainer, field, value, message):
    course = make_course()
    settings = building.QuizSettings(title="Bài kiểm tra")
    setattr(settings, field, value)
    with pytest.raises(ServiceError) as caught:
        building.create_quiz(db.session, trainer, course, settings)
    assert field in caught.value.errors and message in str(caught.value.errors[field])
    db.session.rollback()
    from quizzes.models import Quiz

    assert count_rows(Quiz) == 0


# -- real parallel requests (PostgreSQL: several writers at once) -------------------------------


def _parallel(app, n, work):
    """Run ``work(session)`` in ``n`` threads at once, each in its own session and transaction;
    returns what each ended with."""
    import threading

    from sqlalchemy.orm import Session as OrmSession

    # One connection per thread, outside the app's pool (which holds fewer than 20), so every
    # thread reaches the barrier and they really write at the same moment.
    engine = sa.create_engine(db.engine.url.render_as_string(hide_password=False), poolclass=sa.pool.NullPool)
    barrier = threading.Barrier(n, timeout=30)
    results: list = []

    def run():
        with app.app_context():
            session = OrmSession(engine)
            try:
                session.execute(sa.text("SET lock_timeout = '20s'"))
                barrier.wait()
                value = work(session)
                session.commit()
                results.append(("ok", value))
            except Exception as exc:  # noqa: BLE001  (every outcome is looked at by the test)
                session.rollback()
                results.append(("error", repr(exc)))
            finally:
                session.close()

    threads = [threading.Thread(target=run) for _ in range(n)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    engine.dispose()
    assert len(results) == n
    return results


@pytest.fixture
def postgres_only(session):
    if session.get_bind().dialect.name != "postgresql":
        pytest.skip("parallel writers are a PostgreSQL matter (SQLite has one writer at a time)")


def test_parallel_starts_make_one_attempt(app, postgres_only, quiz_setup, trainee):
    quiz_id, person_id = quiz_setup["quiz"].id, trainee.id

    def start(session):
        from lms.models import Person
        from quizzes.models import Quiz

        return attempts.start(session, session.get(Person, person_id), session.get(Quiz, quiz_id), NOW).id

    results = _parallel(app, 10, start)
    assert {kind for kind, _ in results} == {"ok"}, results
    assert len({value for _, value in results}) == 1
    assert count_rows(Attempt) == 1


def test_parallel_starts_after_the_last_allowed_attempt_never_exceed_it(app, postgres_only, quiz_setup, trainee):
    quiz = quiz_setup["quiz"]
    quiz.attempts_allowed = 1
    db.session.commit()
    quiz_id, person_id = quiz.id, trainee.id

    def start_and_finish(session):
        from lms.models import Person
        from quizzes.models import Quiz

        person = session.get(Person, person_id)
        attempt = attempts.start(session, person, session.get(Quiz, quiz_id), NOW)
        attempts.finish(session, person, attempt, NOW)
        return attempt.id

    results = _parallel(app, 8, start_and_finish)
    assert count_rows(Attempt) == 1
    refused = [value for kind, value in results if kind == "error"]
    assert all("hết số lần" in value or "Bài làm đã nộp" in value for value in refused), refused


def test_twenty_parallel_submissions_give_one_grade(app, postgres_only, quiz_setup, trainee):
    attempt = attempts.start(db.session, trainee, quiz_setup["quiz"], NOW)
    rows = attempt.questions
    attempts.save(db.session, trainee, attempt, {rows[0].id: right_option(rows[0])}, NOW)
    db.session.commit()
    attempt_id, person_id = attempt.id, trainee.id

    def submit(session):
        from lms.models import Person

        done = attempts.finish(session, session.get(Person, person_id), session.get(Attempt, attempt_id),
                               NOW + timedelta(minutes=1))
        return str(done.mark)

    results = _parallel(app, 20, submit)
    assert {kind for kind, _ in results} == {"ok"}, results
    assert {value for _, value in results} == {"2.50"}
    assert count_rows(QuizGrade) == 1
    db.session.expire_all()
    assert db.session.get(Attempt, attempt_id).finished_at == NOW + timedelta(minutes=1)
