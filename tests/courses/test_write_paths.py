"""Write paths at province scale run a fixed number of SQL statements, whatever the number of
enrolments or people: enrolling a whole unit, adding or editing a lesson of a course many people
take, re-evaluating completion after a required lesson goes. (``bench/write_paths.py`` times them
with 20,000 people.)"""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from courses import services
from courses.models import Enrolment, EnrolmentSource, EnrolmentStatus, Lesson, LessonProgress
from lms.actors import SYSTEM
from lms.db import db
from lms.models import AuditEntry
from tests.conftest import count_rows
from tests.courses.conftest import NOW
from tests.courses.test_query_counts import counting


def _people(make_person, unit, n, offset=0):
    return [make_person(email=f"p{offset + i}@example.vn", unit=unit) for i in range(n)]


def _statements(fn) -> int:
    db.session.commit()
    with counting() as statements:
        fn()
    db.session.commit()
    return len(statements)


@pytest.fixture
def unit(make_unit):
    return make_unit(code="XA")


def test_enrolling_a_unit_is_set_based(app, make_course, make_person, make_unit):
    counts = {}
    for n in (3, 15):
        unit = make_unit(code=f"U{n}")
        _people(make_person, unit, n, offset=n * 100)
        course = make_course(f"Khóa {n}")
        people = services.people_for(db.session, course.owner, unit_id=unit.id, course=course)
        counts[n] = _statements(lambda course=course, people=people: services.enrol_people(
            db.session, course.owner, course, people, EnrolmentSource.UNIT, None, NOW))
        assert count_rows(Enrolment) >= n
    print(f"\n[query count] enrol a unit: {counts}")
    assert counts[3] == counts[15]


def test_enrolling_again_counts_who_was_there_and_brings_back_the_withdrawn(app, make_course, make_person, unit):
    people = _people(make_person, unit, 4)
    course = make_course()
    first = services.enrol_people(db.session, course.owner, course, [p.id for p in people[:2]],
                                  EnrolmentSource.INDIVIDUAL, None, NOW)
    assert (first.added, first.already, first.refused) == (2, 0, 0)
    enrolment = db.session.scalar(sa.select(Enrolment).where(Enrolment.person_id == people[0].id))
    services.withdraw(db.session, course.owner, enrolment, NOW)
    db.session.commit()
    again = services.enrol_people(db.session, course.owner, course, services.people_for(
        db.session, course.owner, unit_id=unit.id, course=course), EnrolmentSource.UNIT, None, NOW)
    db.session.commit()
    assert (again.added, again.already, again.refused) == (3, 1, 0)
    statuses = dict(db.session.execute(sa.select(Enrolment.person_id, Enrolment.status)).all())
    assert set(statuses.values()) == {EnrolmentStatus.ACTIVE}
    assert statuses.keys() == {p.id for p in people}


def test_editing_or_adding_a_lesson_does_not_touch_enrolments(app, make_course, make_person, unit):
    course = make_course(lessons=2)
    counts = {}
    enrolled = 0
    for n in (3, 15):
        new = _people(make_person, unit, n - enrolled, offset=enrolled)
        services.enrol_people(db.session, course.owner, course, [p.id for p in new], EnrolmentSource.INDIVIDUAL,
                              None, NOW)
        enrolled = n
        lesson = db.session.scalar(sa.select(Lesson).where(Lesson.course_id == course.id).order_by(Lesson.id))
        data = services.LessonInput(title=f"Bài sửa {n}", body="Nội dung mới")
        edit = _statements(lambda lesson=lesson, data=data: services.update_lesson(
            db.session, course.owner, lesson, data, NOW))
        add = _statements(lambda: services.add_lesson(db.session, course.owner, course.sections[0],
                                                      services.LessonInput(title="Bài thêm"), NOW))
        counts[n] = (edit, add)
    print(f"\n[query count] edit / add a lesson: {counts}")
    assert counts[3] == counts[15]


def test_making_a_lesson_optional_completes_learners_in_a_fixed_number_of_statements(
        app, make_course, make_person, unit):
    counts = {}
    for n in (3, 15):
        course = make_course(f"Khóa {n}", lessons=2)
        people = _people(make_person, unit, n, offset=n * 100)
        services.enrol_people(db.session, course.owner, course, [p.id for p in people], EnrolmentSource.INDIVIDUAL,
                              None, NOW)
        first, second = sorted(course.sections[0].lessons, key=lambda lesson: lesson.position)
        for person in people:
            services.mark_done(db.session, person, first, NOW)
        db.session.commit()
        data = services.LessonInput(title=second.title, required=False)
        counts[n] = _statements(lambda course=course, second=second, data=data: services.update_lesson(
            db.session, course.owner, second, data, NOW))
        done = db.session.scalar(sa.select(sa.func.count()).select_from(Enrolment).where(
            Enrolment.course_id == course.id, Enrolment.status == EnrolmentStatus.COMPLETED))
        assert done == n
    print(f"\n[query count] loosen a requirement: {counts}")
    assert counts[3] == counts[15]


def test_deleting_a_lesson_removes_its_marks_explicitly_and_keeps_completions(app, make_course, make_person, unit):
    course = make_course(lessons=2)
    person = make_person(email="hv@example.vn", unit=unit)
    services.enrol_people(db.session, course.owner, course, [person.id], EnrolmentSource.INDIVIDUAL, None, NOW)
    lessons = sorted(course.sections[0].lessons, key=lambda lesson: lesson.position)
    for lesson in lessons:
        services.mark_done(db.session, person, lesson, NOW)
    db.session.commit()
    assert db.session.scalar(sa.select(Enrolment.status)) == EnrolmentStatus.COMPLETED
    services.delete_lesson(db.session, SYSTEM, lessons[1], NOW)
    db.session.commit()
    assert count_rows(LessonProgress) == 1
    assert db.session.scalar(sa.select(Enrolment.status)) == EnrolmentStatus.COMPLETED
    entry = db.session.scalar(sa.select(AuditEntry).where(AuditEntry.action == "course.lesson_delete"))
    assert entry.details == {"progress_removed": 1}
