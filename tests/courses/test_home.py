"""The home page tells each person what to do next: a trainee their courses due, in progress and
recently completed; a trainer how the courses they teach are going."""

from __future__ import annotations

from datetime import date, timedelta

import sqlalchemy as sa

from courses import services
from courses.models import EnrolmentSource, Lesson
from lms.db import db, utcnow
from lms.timeutil import local_day
from tests.courses.conftest import NOW
from tests.courses.test_enrolment import login


def _lessons(course):
    return list(db.session.scalars(sa.select(Lesson).where(Lesson.course_id == course.id).order_by(Lesson.id)))


def test_a_trainee_sees_what_is_due_what_is_in_progress_and_what_is_done(app, make_course, trainer, trainee):
    today = local_day(utcnow())
    due = make_course("Quyền trẻ em", conventions=("CRC",))
    going = make_course("Quyền của người khuyết tật", conventions=("CRPD",))
    done = make_course("Chống tra tấn", conventions=("CAT",), lessons=1)
    make_course("Khóa học không ghi danh", conventions=("CEDAW",))
    services.enrol_people(db.session, trainer, due, [trainee.id], EnrolmentSource.INDIVIDUAL, today + timedelta(days=3),
                          NOW)
    services.enrol_people(db.session, trainer, going, [trainee.id], EnrolmentSource.INDIVIDUAL, None, NOW)
    services.enrol_people(db.session, trainer, done, [trainee.id], EnrolmentSource.INDIVIDUAL, None, NOW)
    services.mark_done(db.session, trainee, _lessons(going)[0], NOW)
    services.mark_done(db.session, trainee, _lessons(done)[0], NOW)
    db.session.commit()

    page = login(app, trainee.email).get("/").get_data(as_text=True)
    assert "Việc học của bạn" in page
    due_at, going_at, done_at = (page.index(t) for t in ("Sắp đến hạn", "Đang học</h3>", "Vừa hoàn thành"))
    assert due_at < page.index("Quyền trẻ em") < going_at < page.index("Quyền của người khuyết tật") < done_at
    assert page.index("Chống tra tấn") > done_at
    assert "Khóa học không ghi danh" not in page
    # the next step is one click away
    assert f"/courses/{going.id}/lessons/{_lessons(going)[1].id}" in page
    assert "Học tiếp: Bài 2" in page
    # a trainee teaches nothing: no teaching panel
    assert "Khóa học bạn giảng dạy" not in page


def test_an_overdue_course_says_so(app, make_course, trainer, trainee):
    course = make_course("Quyền trẻ em")
    services.enrol_people(db.session, trainer, course, [trainee.id], EnrolmentSource.INDIVIDUAL, date(2025, 1, 10),
                          NOW)
    db.session.commit()
    page = login(app, trainee.email).get("/").get_data(as_text=True)
    assert "Quá hạn: hạn hoàn thành là 10/01/2025" in page


def test_a_trainee_with_nothing_yet_is_pointed_to_the_catalogue(app, trainee):
    page = login(app, trainee.email).get("/").get_data(as_text=True)
    assert "Bạn chưa được ghi danh khóa học nào." in page and 'href="/courses/"' in page


def test_a_trainer_sees_their_courses_and_the_learners_waiting(app, make_course, make_person, trainer):
    today = local_day(utcnow())
    course = make_course("Quyền trẻ em")
    other_trainer = make_person(name="Giảng Viên Khác", email="gv2@example.vn", roles=("trainer",))
    make_course("Khóa của người khác", owner=other_trainer)
    learners = [make_person(name=f"Học Viên {n}", email=f"hv{i}@example.vn") for i, n in enumerate("ABCD")]
    services.enrol_people(db.session, trainer, course, [p.id for p in learners[:2]], EnrolmentSource.INDIVIDUAL,
                          today - timedelta(days=1), NOW)  # overdue, and not started
    services.enrol_people(db.session, trainer, course, [p.id for p in learners[2:]], EnrolmentSource.INDIVIDUAL,
                          None, NOW)
    for lesson in _lessons(course):
        services.mark_done(db.session, learners[3], lesson, NOW)
    services.mark_done(db.session, learners[2], _lessons(course)[0], NOW)
    db.session.commit()

    page = login(app, trainer.email).get("/").get_data(as_text=True)
    assert "Khóa học bạn giảng dạy" in page and "Khóa của người khác" not in page
    row = page[page.index("Quyền trẻ em</a>"):]
    row = row[:row.index("</li>")]
    counts = [c.split("<strong>")[1].split("</strong>")[0] for c in row.split("</span>")[:4]]
    assert counts == ["3", "2", "2", "1"]  # in progress, not started, overdue, completed
    assert "2 học viên cần nhắc" in row  # the two overdue ones, who have not started either: each counted once
    assert f"/courses/{course.id}/learners?status=active" in row


def test_a_new_trainer_is_invited_to_create_a_course(app, trainer):
    page = login(app, trainer.email).get("/").get_data(as_text=True)
    assert "Bạn chưa có khóa học nào." in page and 'href="/courses/teaching/new"' in page
    # a trainer who is not a learner anywhere is not told to enrol
    assert "Việc học của bạn" not in page
