"""The courses feature's panels on the home page: what a learner has to do next, and how the
courses a trainer teaches are going (lms/views/main.py collects the panels)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

import sqlalchemy as sa
from sqlalchemy.orm import Session

from courses import permissions as course_permissions  # noqa: F401  (the course rules are registered)
from courses import queries
from courses.models import Course, CourseStatus, CourseTrainer, Enrolment, EnrolmentStatus, LessonProgress
from lms import permissions
from lms.models import Person, Role
from lms.views.main import HomePanel

#: An active enrolment due within this many days is listed under "due soon".
DUE_SOON_DAYS = 14
#: How many courses each list on the home page shows (the full lists are one click away).
SHOWN = 4


@dataclass
class LearnerHome:
    due: list[queries.LearningRow]
    in_progress: list[queries.LearningRow]
    completed: list[queries.LearningRow]
    more_active: int


def learner_home(session: Session, person_id: int, today: date) -> LearnerHome:
    """The learner's enrolments for the home page: overdue or due within ``DUE_SOON_DAYS``
    (soonest first), the other courses in progress, and the latest completed."""
    rows = queries.my_learning(session, person_id, today)
    active = [r for r in rows if not r.completed]
    soon = today + timedelta(days=DUE_SOON_DAYS)
    due = [r for r in active if r.enrolment.due_on is not None and r.enrolment.due_on <= soon]
    others = [r for r in active if r not in due]
    completed = [r for r in rows if r.completed]
    return LearnerHome(due[:SHOWN], others[:SHOWN], completed[:3],
                       max(0, len(due) - SHOWN) + max(0, len(others) - SHOWN))


@dataclass
class TaughtCourse:
    course: Course
    active: int = 0
    not_started: int = 0
    overdue: int = 0
    completed: int = 0
    #: Learners who need a nudge: not started yet, or past their due date (each counted once).
    waiting: int = 0


def taught_courses(session: Session, person_id: int, today: date, limit: int = SHOWN) -> tuple[list[TaughtCourse], int]:
    """Courses ``person_id`` owns or co-teaches (not archived; latest edited first) with their
    learners counted by state, in two statements; and how many such courses there are."""
    co_taught = sa.select(CourseTrainer.course_id).where(CourseTrainer.person_id == person_id)
    mine = sa.and_(sa.or_(Course.owner_id == person_id, Course.id.in_(co_taught)),
                   Course.status != CourseStatus.ARCHIVED)
    total = session.scalar(sa.select(sa.func.count()).select_from(Course).where(mine)) or 0
    courses = list(session.scalars(sa.select(Course).where(mine)
                                   .order_by(Course.updated_at.desc(), Course.id.desc()).limit(limit)))
    if not courses:
        return [], total
    is_active = Enrolment.status == EnrolmentStatus.ACTIVE
    started = sa.exists().where(LessonProgress.course_id == Enrolment.course_id,
                                LessonProgress.person_id == Enrolment.person_id)

    def count(condition) -> sa.ColumnElement:
        return sa.func.coalesce(sa.func.sum(sa.case((condition, 1), else_=0)), 0)

    counts = session.execute(
        sa.select(Enrolment.course_id, count(is_active), count(sa.and_(is_active, ~started)),
                  count(sa.and_(is_active, Enrolment.due_on < today)),
                  count(Enrolment.status == EnrolmentStatus.COMPLETED),
                  count(sa.and_(is_active, sa.or_(~started, Enrolment.due_on < today))))
        .where(Enrolment.course_id.in_([c.id for c in courses]))
        .group_by(Enrolment.course_id)).all()
    by_course = {row[0]: row[1:] for row in counts}
    return [TaughtCourse(c, *(int(n) for n in by_course.get(c.id, (0, 0, 0, 0, 0)))) for c in courses], total


def learner_panel(session: Session, person: Person, today: date) -> HomePanel | None:
    """Shown to trainees, and to anyone else who is enrolled somewhere (a trainer learning too)."""
    home = learner_home(session, person.id, today)
    if not (home.due or home.in_progress or home.completed) and not person.has_role(Role.TRAINEE):
        return None
    return HomePanel("courses/home/learner.html", {"home": home})


def teacher_panel(session: Session, person: Person, today: date) -> HomePanel | None:
    if not permissions.can(session, person, "course.create"):
        return None
    courses, total = taught_courses(session, person.id, today)
    return HomePanel("courses/home/teacher.html", {"courses": courses, "total": total})
