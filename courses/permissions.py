"""The courses feature's rules, registered with the platform's permissions module.

* Trainers and administrators create courses; a course is edited by its owner, its co-trainers
  and administrators.
* A published course is visible to everyone logged in; a draft only to its editors; an archived
  one to its editors and the people enrolled in it (they keep reading what they took).
* Lessons and materials are open to editors, and to people enrolled in a published course (or
  to everyone logged in when the course is open).
* People are enrolled by the course's editors (anyone) and by unit administrators (people in
  their subtree, in published courses).
"""

from __future__ import annotations

import sqlalchemy as sa

from courses.models import Course, CourseStatus, CourseTrainer, Enrolment, EnrolmentStatus
from lms import permissions
from lms.models import Role


def _editor(session, person, course: Course) -> bool:
    """Administrators, and the owner and co-trainers while they still hold the trainer role."""
    if person is None:
        return False
    if permissions.is_admin(person):
        return True
    if not person.has_role(Role.TRAINER):
        return False
    if course.owner_id == person.id:
        return True
    return session.scalar(sa.select(CourseTrainer.person_id).where(
        CourseTrainer.course_id == course.id, CourseTrainer.person_id == person.id)) is not None


@permissions.rule("course.create")
def may_create(session, person, _=None) -> bool:
    return person is not None and (person.has_role(Role.TRAINER) or permissions.is_admin(person))


@permissions.rule("course.edit")
def may_edit(session, person, course: Course) -> bool:
    return _editor(session, person, course)


@permissions.rule("course.view")
def may_view(session, person, course: Course) -> bool:
    if person is None:
        return False
    if course.status == CourseStatus.PUBLISHED or _editor(session, person, course):
        return True
    # an archived course stays readable for the people who took it
    return course.status == CourseStatus.ARCHIVED and _enrolled(session, person, course)


def _enrolled(session, person, course: Course) -> bool:
    enrolment = enrolment_of(session, person, course)
    return enrolment is not None and enrolment.status != EnrolmentStatus.WITHDRAWN


_ENROLMENT = sa.select(Enrolment).where(Enrolment.course_id == sa.bindparam("course_id"),
                                        Enrolment.person_id == sa.bindparam("person_id"))


def enrolment_of(session, person, course: Course) -> Enrolment | None:
    """The person's enrolment in the course (withdrawn ones too), read once per transaction: a
    page asks several rules that need it. Any write (flush) or end of the transaction forgets it."""
    if person is None or person.id is None:
        return None
    cache = _real(session).info.setdefault("lms_enrolments", {})
    key = (course.id, person.id)
    if key not in cache:
        cache[key] = session.scalar(_ENROLMENT, {"course_id": course.id, "person_id": person.id})
    return cache[key]


def _real(session):
    from sqlalchemy.orm import scoped_session

    return session() if isinstance(session, scoped_session) else session


@sa.event.listens_for(sa.orm.Session, "after_flush")
@sa.event.listens_for(sa.orm.Session, "after_transaction_end")
def _forget_enrolments(session, *args) -> None:
    session.info.pop("lms_enrolments", None)


@sa.event.listens_for(sa.orm.Session, "do_orm_execute")
def _forget_enrolments_on_bulk_writes(state) -> None:
    if state.is_insert or state.is_update or state.is_delete:
        state.session.info.pop("lms_enrolments", None)


@permissions.rule("course.learn")
def may_learn(session, person, course: Course) -> bool:
    """May read the lessons and open the materials."""
    if person is None:
        return False
    if _editor(session, person, course):
        return True
    if course.status == CourseStatus.DRAFT:
        return False
    if course.status == CourseStatus.PUBLISHED and course.open_access:
        return True
    return _enrolled(session, person, course)


@permissions.rule("course.enrol_others")
def may_enrol_others(session, person, course: Course | None = None) -> bool:
    """Without a course: may enrol people in some course at all (for the menu)."""
    if person is None:
        return False
    if course is None:
        return may_create(session, person) or permissions.may_manage_people(session, person)
    if _editor(session, person, course):
        return True
    return course.status == CourseStatus.PUBLISHED and permissions.may_manage_people(session, person)


@permissions.rule("course.learners")
def may_see_learners(session, person, course: Course | None = None) -> bool:
    """Without a course: may see the learners of some course at all (for the view's decorator)."""
    if course is None:
        return may_enrol_others(session, person, None)
    return _editor(session, person, course) or (
        course.status != CourseStatus.DRAFT and permissions.may_manage_people(session, person))
