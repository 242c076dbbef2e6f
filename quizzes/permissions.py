"""The quizzes feature's rules, registered with the platform's permissions module.

* The question bank is shared by the province's trainers: every trainer and administrator may
  read, write and import questions in any category (a bank is the Department's, not a person's).
"""

from __future__ import annotations

from lms import permissions
from lms.models import Role


@permissions.rule("question.manage")
def may_manage_questions(session, person, _=None) -> bool:
    return person is not None and (person.has_role(Role.TRAINER) or permissions.is_admin(person))


def _course(session, quiz):
    from courses.models import Course

    return session.get(Course, quiz.course_id)


@permissions.rule("quiz.manage")
def may_manage_quiz(session, person, quiz=None) -> bool:
    """Build a quiz, see its results, grade and regrade: the course's editors."""
    return quiz is not None and permissions.can(session, person, "course.edit", _course(session, quiz))


@permissions.rule("quiz.take")
def may_take(session, person, quiz=None) -> bool:
    """Start and answer attempts: people enrolled in the published course (not withdrawn) when the
    quiz is published; the course's editors too (to try their own quiz)."""
    from courses.models import CourseStatus, EnrolmentStatus
    from courses.permissions import enrolment_of

    if person is None or quiz is None:
        return False
    course = _course(session, quiz)
    if permissions.can(session, person, "course.edit", course):
        return True
    if not quiz.published or course.status != CourseStatus.PUBLISHED:
        return False
    enrolment = enrolment_of(session, person, course)
    return enrolment is not None and enrolment.status != EnrolmentStatus.WITHDRAWN


@permissions.rule("attempt.view")
def may_view_attempt(session, person, attempt=None) -> bool:
    """An attempt is seen by its owner and by the course's editors, nobody else."""
    if person is None or attempt is None:
        return False
    if attempt.person_id == person.id:
        return True
    from quizzes.models import Quiz

    return may_manage_quiz(session, person, session.get(Quiz, attempt.quiz_id))
