"""Courses services and the pure completion rule."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
import sqlalchemy as sa

from courses import completion, services
from courses.completion import RequirementResult, register_requirement
from courses.models import Course, CourseStatus, Enrolment, EnrolmentSource, EnrolmentStatus, Lesson, LessonProgress
from lms.db import db
from lms.errors import PermissionDenied, ServiceError
from lms.signals import course_completed
from tests.conftest import count_rows
from tests.courses.conftest import NOW, convention

# -- the pure rule --------------------------------------------------------------------------

def test_rule_needs_every_required_lesson():
    assert not completion.progress_of([1, 2], [1, 2, 3], [1]).complete
    assert completion.progress_of([1, 2], [1, 2, 3], [1, 2]).complete
    assert completion.progress_of([1, 2], [1, 2, 3], [2, 1, 9]).complete  # unknown ids are ignored


def test_rule_with_extra_requirements():
    passed, failed = RequirementResult("quiz", True), RequirementResult("quiz", False)
    assert completion.progress_of([1], [1], [1], [passed]).complete
    assert not completion.progress_of([1], [1], [1], [passed, failed]).complete
    assert completion.progress_of([], [1], [], [passed]).complete  # only a quiz is required


def test_rule_with_nothing_to_do_is_never_complete():
    assert not completion.progress_of([], [], []).complete
    assert not completion.progress_of([], [1, 2], [1, 2]).complete


def test_percent():
    assert completion.progress_of([1, 2, 3, 4], [1, 2, 3, 4], [1]).percent == 25
    assert completion.progress_of([], [1, 2], [1]).percent == 50
    assert completion.progress_of([], [], []).percent == 0


def test_completion_time_is_recorded_once():
    first = datetime(2025, 1, 1, tzinfo=UTC)
    later = first + timedelta(days=3)
    assert completion.completion_time(None, False, later) is None
    assert completion.completion_time(None, True, first) == first
    assert completion.completion_time(first, True, later) == first
    assert completion.completion_time(first, False, later) == first


# -- courses --------------------------------------------------------------------------------

def test_create_course_validates_every_field(app, trainer):
    before = count_rows(Course)
    with pytest.raises(ServiceError) as caught:
        services.create_course(db.session, trainer, services.CourseInput(
            title="", summary="x" * 1001, credited_hours="nhiều", audiences=["kings"], convention_ids=[999999]))
    db.session.rollback()
    assert set(caught.value.errors) >= {"title", "summary", "credited_hours", "audiences", "convention_ids"}
    assert count_rows(Course) == before


def test_only_trainers_and_admins_create_courses(app, trainee, make_person):
    with pytest.raises(PermissionDenied):
        services.create_course(db.session, trainee, services.CourseInput(title="Khóa học"))
    db.session.rollback()
    admin = make_person(email="admin@example.vn", roles=("admin",))
    course = services.create_course(db.session, admin, services.CourseInput(title="  Khóa   học  "))
    assert course.title == "Khóa học" and course.status == CourseStatus.DRAFT


def test_description_is_sanitised_and_search_text_folded(app, trainer):
    course = services.create_course(db.session, trainer, services.CourseInput(
        title="Quyền Trẻ Em", description="<script>alert(1)</script>**Đậm** [x](javascript:alert(1))",
        convention_ids=[convention("CRC").id]))
    assert "<script>" not in course.description_html and "href=\"javascript" not in course.description_html
    assert "<strong>Đậm</strong>" in course.description_html
    assert "quyen tre em" in course.search_text and "crc" in course.search_text


def test_publishing_needs_a_lesson(app, trainer):
    course = services.create_course(db.session, trainer, services.CourseInput(title="Trống"))
    with pytest.raises(ServiceError):
        services.set_status(db.session, trainer, course, "published", NOW)


def test_another_trainer_cannot_edit(app, make_course, make_person):
    course = make_course()
    other = make_person(email="other@example.vn", roles=("trainer",))
    with pytest.raises(PermissionDenied):
        services.update_course(db.session, other, course, services.CourseInput(title="Chiếm"))
    db.session.rollback()
    services.add_co_trainer(db.session, course.owner, course, other)
    services.update_course(db.session, other, course, services.CourseInput(title="Cùng dạy"))
    assert course.title == "Cùng dạy"


def test_co_trainer_must_be_an_active_trainer(app, make_course, trainee):
    course = make_course()
    with pytest.raises(ServiceError):
        services.add_co_trainer(db.session, course.owner, course, trainee)


# -- enrolment and completion ---------------------------------------------------------------

def test_self_enrol_once(app, make_course, trainee):
    course = make_course()
    services.self_enrol(db.session, trainee, course, NOW)
    services.self_enrol(db.session, trainee, course, NOW)
    db.session.commit()
    assert count_rows(Enrolment) == 1


def test_self_enrol_refused_when_closed_or_draft(app, make_course, trainee):
    for course in (make_course("Đóng", self_enrol=False), make_course("Nháp", publish=False)):
        with pytest.raises(ServiceError):
            services.self_enrol(db.session, trainee, course, NOW)
        db.session.rollback()
    assert count_rows(Enrolment) == 0


def test_database_allows_one_enrolment_per_person_and_course(app, make_course, trainee):
    course = make_course()
    db.session.add(Enrolment(course_id=course.id, person_id=trainee.id, source=EnrolmentSource.SELF))
    db.session.commit()
    db.session.add(Enrolment(course_id=course.id, person_id=trainee.id, source=EnrolmentSource.INDIVIDUAL))
    with pytest.raises(sa.exc.IntegrityError):
        db.session.commit()
    db.session.rollback()


def test_completion_recorded_once_with_signal(app, make_course, trainee):
    course = make_course(lessons=2)
    received = []

    def receiver(sender, **kwargs):
        received.append(kwargs["enrolment"].id)

    course_completed.connect(receiver)
    try:
        services.self_enrol(db.session, trainee, course, NOW)
        lessons = db.session.scalars(sa.select(Lesson).where(Lesson.course_id == course.id)
                                     .order_by(Lesson.position)).all()
        assert services.mark_done(db.session, trainee, lessons[0], NOW) is False
        assert services.mark_done(db.session, trainee, lessons[1], NOW + timedelta(hours=1)) is True
        assert services.mark_done(db.session, trainee, lessons[1], NOW + timedelta(hours=2)) is False
        db.session.commit()
    finally:
        course_completed.disconnect(receiver)
    enrolment = db.session.scalar(sa.select(Enrolment))
    assert enrolment.status == EnrolmentStatus.COMPLETED
    assert enrolment.completed_at == NOW + timedelta(hours=1)
    assert received == [enrolment.id]
    assert count_rows(LessonProgress) == 2


def test_optional_lessons_do_not_block_completion(app, make_course, trainee):
    course = make_course(lessons=1)
    section = course.sections[0]
    services.add_lesson(db.session, course.owner, section, services.LessonInput(title="Đọc thêm", required=False), NOW)
    services.self_enrol(db.session, trainee, course, NOW)
    first = section.lessons[0]
    assert services.mark_done(db.session, trainee, first, NOW) is True


def test_requirements_change_recomputes(app, make_course, trainee):
    course = make_course(lessons=2)
    services.self_enrol(db.session, trainee, course, NOW)
    first, second = course.sections[0].lessons
    services.mark_done(db.session, trainee, first, NOW)
    db.session.commit()
    # the trainer makes the second lesson optional: the trainee has now completed the course
    services.update_lesson(db.session, course.owner, second,
                           services.LessonInput(title=second.title, required=False), NOW + timedelta(days=1))
    db.session.commit()
    enrolment = db.session.scalar(sa.select(Enrolment))
    assert enrolment.status == EnrolmentStatus.COMPLETED and enrolment.completed_at == NOW + timedelta(days=1)
    # a new required lesson later does not undo a recorded completion
    services.add_lesson(db.session, course.owner, course.sections[0], services.LessonInput(title="Bài mới"),
                        NOW + timedelta(days=2))
    db.session.commit()
    assert db.session.scalar(sa.select(Enrolment)).completed_at == NOW + timedelta(days=1)


def test_extra_requirement_from_another_package(app, make_course, trainee):
    state = {"passed": False}
    register_requirement(app, lambda session, enrolment: RequirementResult("Bài kiểm tra", state["passed"]))
    course = make_course(lessons=1)
    services.self_enrol(db.session, trainee, course, NOW)
    lesson = course.sections[0].lessons[0]
    assert services.mark_done(db.session, trainee, lesson, NOW) is False
    state["passed"] = True
    assert services.recompute_course(db.session, course, NOW) == 1


def test_mark_done_needs_access(app, make_course, trainee):
    course = make_course()
    with pytest.raises(PermissionDenied):
        services.mark_done(db.session, trainee, course.sections[0].lessons[0], NOW)
    open_course = make_course("Mở", open_access=True)
    services.mark_done(db.session, trainee, open_course.sections[0].lessons[0], NOW)  # no enrolment needed


def test_enrol_people_scope_for_unit_admin(app, make_course, make_unit, make_person):
    root = make_unit(code="ROOT")
    mine = make_unit(code="MINE", parent=root)
    other = make_unit(code="OTHER", parent=root)
    ua = make_person(email="ua@example.vn", unit=mine, roles=("unit_admin",))
    inside = make_person(email="in@example.vn", unit=mine)
    outside = make_person(email="out@example.vn", unit=other)
    course = make_course()
    result = services.enrol_people(db.session, ua, course, [inside.id, outside.id], EnrolmentSource.INDIVIDUAL,
                                   None, NOW)
    assert (result.added, result.refused) == (1, 1)
    draft = make_course("Nháp", publish=False)
    with pytest.raises(PermissionDenied):
        services.enrol_people(db.session, ua, draft, [inside.id], EnrolmentSource.INDIVIDUAL, None, NOW)


def test_people_for_key_cadres_of_a_subtree(app, make_unit, make_person, make_person_admin=None):
    root = make_unit(code="ROOT")
    child = make_unit(code="CHILD", parent=root)
    admin = make_person(email="admin@example.vn", unit=root, roles=("admin",))
    key = make_person(email="k@example.vn", unit=child, key_cadre=True)
    make_person(email="n@example.vn", unit=child)
    assert db.session.scalars(services.people_for(db.session, admin, unit_id=root.id, key_cadres_only=True)).all() \
        == [key.id]
    assert len(db.session.scalars(services.people_for(db.session, admin, unit_id=child.id)).all()) == 2


def test_withdraw_and_re_enrol(app, make_course, trainee, make_person):
    course = make_course()
    services.enrol_people(db.session, course.owner, course, [trainee.id], EnrolmentSource.INDIVIDUAL, None, NOW)
    enrolment = db.session.scalar(sa.select(Enrolment))
    assert services.withdraw(db.session, course.owner, enrolment, NOW) is True
    assert enrolment.status == EnrolmentStatus.WITHDRAWN
    with pytest.raises(PermissionDenied):
        services.mark_done(db.session, trainee, course.sections[0].lessons[0], NOW)
    db.session.rollback()
    services.self_enrol(db.session, trainee, course, NOW)
    assert db.session.scalar(sa.select(Enrolment)).status == EnrolmentStatus.ACTIVE
