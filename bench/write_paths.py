"""Write paths at province scale: enrol 20,000 people in one course, then edit a lesson of that
course, add one, and make one optional (which re-evaluates completion, as a job).

Prints the time and the number of SQL statements of each; both should stay flat as the number
of people grows (``BENCH_PEOPLE``).

    .venv/bin/python -m bench.write_paths
    BENCH_DATABASE_URL=postgresql+psycopg://127.0.0.1/bench_empty .venv/bin/python -m bench.write_paths
"""

from __future__ import annotations

import os
import tempfile
import time
from contextlib import contextmanager
from datetime import UTC, datetime

os.environ.setdefault("LMS_ENV", "testing")


@contextmanager
def measured(label: str, engine):
    import sqlalchemy as sa

    statements: list[str] = []

    def count(*args):
        statements.append(args[2])

    sa.event.listen(engine, "before_cursor_execute", count)
    t0 = time.perf_counter()
    try:
        yield
    finally:
        elapsed = time.perf_counter() - t0
        sa.event.remove(engine, "before_cursor_execute", count)
        print(f"{label:<58} {elapsed * 1000:9.0f} ms   {len(statements):4d} statements")


def main() -> None:
    import sqlalchemy as sa
    from flask_migrate import upgrade

    from bench.generate import generate
    from courses import services
    from courses.models import Enrolment, EnrolmentSource, EnrolmentStatus, Lesson, LessonProgress
    from lms.db import db
    from lms.models import Person, Role, RoleAssignment
    from tests.conftest import _features

    people = int(os.environ.get("BENCH_PEOPLE", "20000"))
    url = os.environ.get("BENCH_DATABASE_URL") or f"sqlite:///{tempfile.mkdtemp()}/bench.sqlite3"
    from lms import create_app

    app = create_app(features=_features(), test_config={"SQLALCHEMY_DATABASE_URI": url})
    now = datetime(2025, 3, 1, tzinfo=UTC)
    with app.app_context():
        upgrade()
        province, ids = generate(db.session, people=people)
        db.session.execute(sa.insert(RoleAssignment), [{"person_id": ids[0], "role": Role.ADMIN.value}])
        db.session.commit()
        admin = db.session.get(Person, ids[0])
        course = services.create_course(db.session, admin, services.CourseInput(title="Khóa học đo tải"))
        section = services.add_section(db.session, admin, course, "Phần 1")
        for n in range(3):
            services.add_lesson(db.session, admin, section, services.LessonInput(title=f"Bài {n + 1}"), now)
        services.set_status(db.session, admin, course, "published", now)
        db.session.commit()
        print(f"{people} people on {db.engine.dialect.name}")

        with measured(f"enrol {people} people (a whole province)", db.engine):
            result = services.enrol_people(db.session, admin, course, services.people_for(
                db.session, admin, unit_id=province.id, course=course), EnrolmentSource.UNIT, None, now)
            db.session.commit()
        print(f"  added {result.added}, already {result.already}, refused {result.refused}")
        with measured("enrol the same province again (all already there)", db.engine):
            services.enrol_people(db.session, admin, course, services.people_for(
                db.session, admin, unit_id=province.id, course=course), EnrolmentSource.UNIT, None, now)
            db.session.commit()

        lessons = list(db.session.scalars(sa.select(Lesson).where(Lesson.course_id == course.id)
                                          .order_by(Lesson.position)))
        with measured(f"edit a lesson of a course with {people} enrolments", db.engine):
            services.update_lesson(db.session, admin, lessons[0], services.LessonInput(
                title="Bài 1 (sửa)", body="Nội dung mới"), now)
            db.session.commit()
        with measured("add a lesson to that course", db.engine):
            services.add_lesson(db.session, admin, section, services.LessonInput(title="Bài thêm", required=False),
                                now)
            db.session.commit()
        # half of the learners did the first two lessons: making the third optional completes them
        half = ids[: people // 2]
        for start in range(0, len(half), 5000):
            db.session.execute(sa.insert(LessonProgress), [
                {"lesson_id": lesson.id, "person_id": pid, "course_id": course.id, "completed_at": now}
                for pid in half[start:start + 5000] for lesson in lessons[:2]])
        db.session.commit()
        with measured("make a lesson optional: re-evaluate every enrolment (job)", db.engine):
            services.update_lesson(db.session, admin, lessons[2], services.LessonInput(
                title=lessons[2].title, required=False), now)
            db.session.commit()  # the job runs at once here (immediate mode)
        done = db.session.scalar(sa.select(sa.func.count()).select_from(Enrolment).where(
            Enrolment.course_id == course.id, Enrolment.status == EnrolmentStatus.COMPLETED))
        print(f"  completed: {done}")


if __name__ == "__main__":
    main()
