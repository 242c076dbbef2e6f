"""``lms seed-demo`` also fills a question bank (read through the GIFT importer) and publishes two
tests that demo trainees have already taken, so the trainer's results and item analysis show
something; the demo trainee has tests left to take. Running it twice adds nothing."""

from __future__ import annotations

import sqlalchemy as sa

from courses.demo import TRAINEE_EMAIL, TRAINER_EMAIL
from lms.db import db
from lms.demo import DEMO_PASSWORD
from lms.models import Person
from quizzes.models import Attempt, AttemptState, Question, QuestionCategory, Quiz
from tests.conftest import count_rows


def _seed(runner):
    result = runner.invoke(args=["lms", "seed-demo"])
    assert result.exit_code == 0, result.output


def _counts():
    return tuple(count_rows(model) for model in (QuestionCategory, Question, Quiz, Attempt))


def test_the_demo_has_a_tagged_bank_two_published_tests_and_finished_attempts(runner):
    _seed(runner)
    paths = set(db.session.scalars(sa.select(QuestionCategory.path)))
    assert {"Đề mẫu/CEDAW", "Đề mẫu/Bảy công ước cốt lõi"} <= paths
    questions = db.session.scalars(sa.select(Question)).all()
    assert len(questions) == 12
    assert {str(q.type) for q in questions} >= {"single_choice", "multiple_response", "true_false",
                                               "short_answer", "numerical", "matching", "essay"}
    assert all(q.conventions for q in questions)  # every demo question is tagged with a convention
    quizzes = db.session.scalars(sa.select(Quiz).order_by(Quiz.id)).all()
    assert [q.published for q in quizzes] == [True, True]
    finished = db.session.scalars(sa.select(Attempt)).all()
    assert len(finished) == 5 and all(a.state == AttemptState.FINISHED for a in finished)
    assert all(a.finished_at > a.started_at for a in finished)
    trainee = db.session.scalar(sa.select(Person).where(Person.email == TRAINEE_EMAIL))
    assert not [a for a in finished if a.person_id == trainee.id]
    # the marks differ (the demo trainees answered more or less well)
    assert len({a.mark for a in finished}) > 1


def test_seeding_twice_adds_nothing(runner):
    _seed(runner)
    before = _counts()
    _seed(runner)
    db.session.expire_all()
    assert _counts() == before


def test_the_demo_trainee_can_take_the_cedaw_test_and_the_trainer_sees_results(runner, app):
    _seed(runner)
    quiz = db.session.scalar(sa.select(Quiz).where(Quiz.title.like("%CEDAW%")))
    client = app.test_client()
    client.post("/login", data={"email": TRAINEE_EMAIL, "password": DEMO_PASSWORD})
    page = client.get(f"/quizzes/{quiz.id}").get_data(as_text=True)
    assert "Bài kiểm tra cuối khóa" in page and "15 phút" in page
    trainer = app.test_client()
    trainer.post("/login", data={"email": TRAINER_EMAIL, "password": DEMO_PASSWORD})
    results = trainer.get(f"/quizzes/{quiz.id}/results")
    assert results.status_code == 200
    assert "Đỗ Thị Mai" in results.get_data(as_text=True)
