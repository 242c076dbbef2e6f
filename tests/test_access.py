"""Every route, every role: a route without a declared permission makes this suite fail."""

from __future__ import annotations

import re

import pytest
import sqlalchemy as sa

from lms.actors import SYSTEM
from lms.db import db
from lms.models import Role
from tests.conftest import START

ROLES = ("anonymous", "trainee", "trainer", "unit_admin", "admin")

# Who may use each endpoint: "public", "login" (anyone logged in), "managers" (unit
# administrators and administrators, objects scoped), "admin". A new endpoint must be added
# here, with the access its view declares.
ACCESS = {
    "main.index": "public",
    "main.health": "public",
    "auth.login": "public",
    "auth.set_language": "public",
    "auth.forgot_password": "public",
    "auth.reset_link": "public",
    "auth.reset_password": "public",
    "auth.logout": "login",
    "auth.change_password": "login",
    "units.index": "managers",
    "units.detail": "managers",
    "units.create": "admin",
    "units.change": "admin",
    "units.split": "admin",
    "units.consolidate": "admin",
    "people.index": "managers",
    "people.create": "managers",
    "people.detail": "managers",
    "people.change": "managers",
    "people.revoke": "managers",
    "people.end_title": "managers",
    "audit.index": "managers",
    "imports.upload": "managers",
    "imports.template": "managers",
    "imports.upload_units": "admin",
    "imports.template_units": "admin",
    "imports.preview": "importers",
    "imports.confirm": "importers",
    "imports.discard": "importers",
    # a job's pages: anyone logged in, but only their own jobs (404 otherwise; administrators see all)
    "jobs.detail": "own",
    "jobs.status": "own",
    "jobs.download": "own",
    # courses: learners' screens check the course rules inside
    "courses.catalogue": "login",
    "courses.my_learning": "login",
    "courses.course": "login",
    "courses.enrol": "login",
    "courses.lesson": "login",
    "courses.mark_done": "login",
    "courses.mark_not_done": "login",
    "courses.material": "login",
    # courses: enrolling others and following learners (editors and unit administrators)
    "courses.enrol_people": "enrollers",
    "courses.withdraw": "enrollers",
    "courses.learners": "learners",
    "courses.learners_export": "learners",
    "courses.learners_export_job": "learners",
    # courses: reference data
    "courses.reference": "admin",
    "courses.edit_convention": "admin",
    "courses.edit_content": "admin",
    # courses: authoring (trainers and administrators; the course's editors inside)
    **{f"courses.{name}": "authors" for name in (
        "teaching", "teaching_new", "teaching_course", "teaching_edit", "teaching_status", "teaching_preview",
        "teaching_section_add", "teaching_section_edit", "teaching_section_move", "teaching_section_delete",
        "teaching_lesson_new", "teaching_lesson", "teaching_lesson_move", "teaching_lesson_delete",
        "teaching_material_upload", "teaching_material_link", "teaching_material_delete", "teaching_trainers",
        "teaching_trainer_add", "teaching_trainer_remove")},
    # quizzes: the question bank (trainers and administrators)
    **{f"quizzes.{name}": "bankers" for name in (
        "bank", "category_new", "category_rename", "category_delete", "category_export", "excel_template",
        "import_upload", "import_confirm", "import_discard", "question_new", "question_edit", "question_hide",
        "question_preview")},
    # quizzes: building and results (the course's editors, checked on the quiz inside)
    **{f"quizzes.{name}": "quiz_editors" for name in (
        "builder_new", "builder_edit", "builder_pick", "builder_publish", "builder_questions", "builder_random",
        "builder_slot_mark", "builder_slot_remove", "results", "results_attempt", "results_export", "grading",
        "grade_answer", "regrade", "analysis")},
    # quizzes: taking (people enrolled; an attempt is its owner's: 404, or 403 for the course's editors)
    **{f"quizzes.{name}": "takers" for name in ("quiz", "start", "attempt", "autosave", "submit", "review")},
    "quizzes.my_scores": "login",
}
DECLARED = {"public": "public", "login": "login", "own": "login", "managers": "people-managers", "admin": "admin",
            "importers": "importers", "bankers": "question.manage", "quiz_editors": "login", "takers": "login",
            "authors": "course.create", "enrollers": "course.enrol_others", "learners": "course.learners"}
# who may use each kind of endpoint, besides administrators
ALLOWED = {"managers": {"unit_admin"}, "importers": {"unit_admin"}, "authors": {"trainer"},
           "enrollers": {"trainer", "unit_admin"},
           "learners": {"trainer", "unit_admin"}, "admin": set(), "bankers": {"trainer"},
           "quiz_editors": {"trainer"}}
IGNORED = {"static", "bootstrap.static", "quizzes.static"}


@pytest.fixture
def world(make_unit, make_person, course_world):
    root = make_unit(name="Sở Tư pháp", code="STP", kind="department")
    district = make_unit(name="Phòng Tư pháp huyện", code="PTP", kind="district", parent=root)
    people = {
        "trainee": make_person(email="trainee@example.vn", unit=district, roles=("trainee",)),
        "trainer": make_person(email="trainer@example.vn", unit=root, roles=("trainer",)),
        "unit_admin": make_person(email="ua@example.vn", unit=district, roles=("unit_admin",)),
        "admin": make_person(email="admin@example.vn", unit=root, roles=("admin",)),
    }
    target = people["trainee"]
    assignment = target.roles[0]
    from lms.services.people import TitleInput, add_title

    title = add_title(db.session, SYSTEM, target, TitleInput("legal_propagandist", valid_from=START), today=START)
    db.session.commit()
    world = {"unit_id": district.id, "person_id": target.id, "assignment_id": assignment.id, "title_id": title.id,
             "people": people, **course_world(people["trainer"], target)}
    return {**world, **quiz_world(people["trainer"], target, world["course_id"])}


def quiz_world(trainer, learner, course_id):
    """A published quiz of the trainer's course with one question, and the learner's attempt."""
    from courses.models import Course
    from quizzes import attempts, building
    from quizzes import services as bank
    from quizzes.formats.base import ParsedOption, ParsedQuestion
    from tests.courses.conftest import NOW

    category = bank.ensure_path(db.session, trainer, ["Công ước", "CRC"])
    question = bank.create_question(db.session, trainer, category, ParsedQuestion(
        1, 1, "single_choice", "Câu 1", "Trẻ em là người dưới bao nhiêu tuổi?",
        options=[ParsedOption(text="18", fraction=1.0), ParsedOption(text="16")]))
    quiz = building.create_quiz(db.session, trainer, db.session.get(Course, course_id),
                                building.QuizSettings(title="Kiểm tra CRC", attempts_allowed=0))
    building.add_questions(db.session, trainer, quiz, [question.id])
    building.set_published(db.session, trainer, quiz, True)
    attempt = attempts.start(db.session, learner, quiz, NOW)
    db.session.commit()
    return {"category_id": category.id, "question_id": question.id, "quiz_id": quiz.id, "attempt_id": attempt.id}


@pytest.fixture
def course_world(app):
    """An open, published course of the trainer with a section, a lesson, a PDF and an enrolment."""
    import io

    from courses import services
    from courses.models import EnrolmentSource
    from tests.courses.conftest import NOW, pdf_bytes

    def make(trainer, learner):
        course = services.create_course(db.session, trainer, services.CourseInput(title="Quyền trẻ em",
                                                                                  open_access=True))
        section = services.add_section(db.session, trainer, course, "Phần 1")
        lesson = services.add_lesson(db.session, trainer, section, services.LessonInput(title="Bài 1"), NOW)
        material = services.add_file(db.session, trainer, lesson, io.BytesIO(pdf_bytes()), "Tài liệu.pdf")
        services.set_status(db.session, trainer, course, "published", NOW)
        services.enrol_people(db.session, trainer, course, [learner.id], EnrolmentSource.INDIVIDUAL, None, NOW)
        db.session.commit()
        from courses.models import Enrolment

        enrolment = db.session.scalar(sa.select(Enrolment).where(Enrolment.course_id == course.id))
        from courses.models import ContentArea, Convention

        return {"course_id": course.id, "section_id": section.id, "lesson_id": lesson.id,
                "material_id": material.id, "enrolment_id": enrolment.id,
                "convention_id": db.session.scalar(sa.select(Convention.id).limit(1)),
                "content_id": db.session.scalar(sa.select(ContentArea.id).limit(1))}

    return make


def _url(rule, world):
    values = {}
    for arg in rule.arguments:
        if arg in world:
            values[arg] = world[arg]
        elif arg == "action":
            values[arg] = re.search(r"any\(([^)]*)\)", rule.rule).group(1).split(",")[0].strip(" '") \
                if "any(" in rule.rule else "edit"
        elif arg == "token":
            values[arg] = "x" * 43
        elif arg in ("title_id", "job_id", "slot_id", "answer_id"):
            values[arg] = 1
        else:
            raise AssertionError(f"test_access does not know how to fill <{arg}> in {rule.rule}")
    path = rule.rule
    for key, value in values.items():
        path = re.sub(rf"<(?:[^:<>]+:)?{key}(?:\([^)]*\))?>", str(value), path)
    return path


def _rules(app):
    return [r for r in app.url_map.iter_rules() if r.endpoint not in IGNORED]


def test_every_route_declares_its_access(app):
    missing = sorted({r.endpoint for r in _rules(app)} - set(ACCESS))
    assert not missing, f"routes with no entry in ACCESS (declare their permission): {missing}"
    for rule in _rules(app):
        view = app.view_functions[rule.endpoint]
        declared = getattr(view, "access", None)
        assert declared == DECLARED[ACCESS[rule.endpoint]], (rule.endpoint, declared)


@pytest.mark.parametrize("role", ROLES)
def test_every_route_answers_each_role_as_declared(app, world, role):
    failures = []
    for rule in _rules(app):
        method = "GET" if "GET" in rule.methods else "POST"
        client = app.test_client()
        if role != "anonymous":
            login = client.post("/login", data={"email": world["people"][role].email,
                                                "password": "Rất-Khó-Đoán-2028!"})
            assert login.status_code == 302, role
        url = _url(rule, world)
        response = client.open(url, method=method)
        status = response.status_code
        access = ACCESS[rule.endpoint]
        if status >= 500:
            failures.append(f"{method} {url}: {status}")
            continue
        if access == "public":
            ok = status in (200, 302)
        elif role == "anonymous":
            ok = status == 302 and "/login" in response.location
        elif access == "login":
            ok = status in (200, 302)
        elif access == "own":
            ok = status in (200, 302, 404)
        elif access == "takers":
            # the trainee's own quiz and attempt; the course's trainer may look (or is refused),
            # anybody else never learns the attempt exists
            ok = status in (200, 302) if role == "trainee" else status in (200, 302, 403, 404)
        elif access == "quiz_editors":
            ok = status in (200, 302, 404, 422) if role in ("trainer", "admin") else status in (403, 404)
        elif role == "admin" or role in ALLOWED[access]:
            ok = status in (200, 302, 404, 422)
        else:
            ok = status == 403
        if not ok:
            failures.append(f"{role} {method} {url}: {status}")
        db.session.rollback()
    assert not failures, failures


def test_every_state_change_needs_a_csrf_token(app_factory, make_person):
    app = app_factory(WTF_CSRF_ENABLED=True)
    admin = make_person(email="admin@example.vn", roles=("admin",))
    client = app.test_client()
    page = client.get("/login").get_data(as_text=True)
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)
    assert client.post("/login", data={"email": admin.email, "password": "Rất-Khó-Đoán-2028!",
                                       "csrf_token": token}).status_code == 302
    world = {"unit_id": admin.current_unit.id, "person_id": admin.id, "assignment_id": admin.roles[0].id,
             "course_id": 1, "section_id": 1, "lesson_id": 1, "material_id": 1, "enrolment_id": 1,
             "convention_id": 1, "content_id": 1, "quiz_id": 1, "attempt_id": 1, "category_id": 1, "question_id": 1}
    checked = 0
    for rule in _rules(app):
        if "POST" not in rule.methods or rule.endpoint == "auth.logout":
            continue
        response = client.post(_url(rule, world), data={})
        assert response.status_code == 400, rule.endpoint
        assert "Phiên làm việc của biểu mẫu đã hết hạn" in response.get_data(as_text=True)
        checked += 1
    assert client.post("/logout").status_code == 400
    assert client.get("/account/password").status_code == 200  # still logged in
    assert checked >= 8
