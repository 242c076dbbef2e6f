"""The catalogue, a course page, a lesson page and "My learning" run a bounded number of SQL
statements: the same number for 2 as for 12 courses, lessons or enrolments.

Statements are counted with a SQLAlchemy ``before_cursor_execute`` listener on the engine for
exactly one request. Run with ``-s`` to see the measured numbers.
"""

from __future__ import annotations

import contextlib
from datetime import date, timedelta

import pytest
import sqlalchemy as sa

from courses import services
from courses.models import EnrolmentSource, Lesson
from lms.db import db
from tests.courses.conftest import NOW

#: Upper bounds (statements per request): no page of the learner's runs more than 10 (today:
#: catalogue 9, course 8, lesson 7, My learning 5). A regression to one statement per row shows
#: up as a difference between 2 and 12 items long before.
BOUNDS = {"catalogue": 10, "course": 10, "lesson": 10, "my_learning": 10}


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


def measure(client, url: str) -> int:
    """Statements one GET of ``url`` runs (after a warm-up request, so that no one-off
    connection set-up is counted)."""
    db.session.commit()
    assert client.get(url).status_code == 200
    with counting() as statements:
        response = client.get(url)
    assert response.status_code == 200, url
    return len(statements)


def report(name: str, counts: dict[int, int]) -> None:
    print(f"\n[query count] {name}: " + ", ".join(f"{n} items → {c} statements" for n, c in counts.items()))


def first_lesson(course) -> Lesson:
    return db.session.scalar(sa.select(Lesson).where(Lesson.course_id == course.id).order_by(Lesson.id))


def enrol_and_progress(course, person, index: int) -> None:
    """Enrol ``person`` with a due date; mark a lesson done, every third course completed."""
    services.enrol_people(db.session, course.owner, course, [person.id], EnrolmentSource.INDIVIDUAL,
                          date(2020, 1, 1) + timedelta(days=400 * index), NOW)
    lessons = list(db.session.scalars(sa.select(Lesson).where(Lesson.course_id == course.id)))
    for lesson in lessons if index % 3 == 0 else lessons[:1]:
        services.mark_done(db.session, person, lesson, NOW)
    db.session.commit()


@pytest.fixture
def logged_in(client, auth, trainee):
    auth.login(trainee.email)
    return trainee


def test_catalogue_does_not_grow_with_courses(client, logged_in, make_course):
    counts = {}
    made = 0
    for n in (2, 12):
        while made < n:
            course = make_course(f"Khóa học số {made}", lessons=2, conventions=("CRC", "CAT"), contents=(1, 2),
                                 audiences=("legal_reporter", "key_cadre"))
            enrol_and_progress(course, logged_in, made)
            made += 1
        counts[n] = measure(client, "/courses/")
    report("catalogue (/courses/)", counts)
    # a first page that is not full needs no count of the total: one statement fewer
    assert counts[12] - counts[2] in (0, 1)
    assert counts[12] <= BOUNDS["catalogue"]


def test_filtered_catalogue_does_not_grow_with_courses(client, logged_in, make_course):
    counts = {}
    made = 0
    for n in (2, 12):
        while made < n:
            make_course(f"Quyền trẻ em {made}", lessons=1, conventions=("CRC",), audiences=("key_cadre",))
            made += 1
        counts[n] = measure(client, "/courses/?q=quyen+tre&convention=CRC&content=1&audience=key_cadre")
    report("catalogue, searched and filtered", counts)
    assert counts[12] - counts[2] in (0, 1) and counts[12] <= BOUNDS["catalogue"]  # the total counted once full


def _course_with(make_course, trainer, lessons: int, sections: int = 2):
    course = make_course(f"Khóa {lessons} bài", lessons=0, publish=False)
    for s in range(sections):
        section = services.add_section(db.session, trainer, course, f"Phần {s + 2}")
        for i in range(lessons // sections):
            services.add_lesson(db.session, trainer, section, services.LessonInput(title=f"Bài {s}.{i}"), NOW)
    services.set_status(db.session, trainer, course, "published", NOW)
    db.session.commit()
    return course


def test_course_page_does_not_grow_with_lessons(client, logged_in, make_course, trainer):
    counts = {}
    for n in (2, 12):
        course = _course_with(make_course, trainer, n)
        enrol_and_progress(course, logged_in, 1)
        counts[n] = measure(client, f"/courses/{course.id}")
    report("course page (/courses/<id>)", counts)
    assert counts[2] == counts[12] <= BOUNDS["course"]


def test_lesson_page_does_not_grow_with_lessons(client, logged_in, make_course, trainer):
    counts = {}
    for n in (2, 12):
        course = _course_with(make_course, trainer, n)
        enrol_and_progress(course, logged_in, 1)
        counts[n] = measure(client, f"/courses/{course.id}/lessons/{first_lesson(course).id}")
    report("lesson page", counts)
    assert counts[2] == counts[12] <= BOUNDS["lesson"]


def test_my_learning_does_not_grow_with_enrolments(client, logged_in, make_course):
    counts = {}
    made = 0
    for n in (2, 12):
        while made < n:
            course = make_course(f"Khóa học số {made}", lessons=3)
            enrol_and_progress(course, logged_in, made)
            made += 1
        counts[n] = measure(client, "/courses/my")
    report("My learning (/courses/my)", counts)
    page = client.get("/courses/my").get_data(as_text=True)
    assert page.count("Học bài “") == 8 and "Quá hạn" in page  # 8 active with a next lesson, 4 completed
    assert counts[2] == counts[12] <= BOUNDS["my_learning"]
