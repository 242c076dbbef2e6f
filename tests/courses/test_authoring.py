"""The trainer's authoring screens ("Giảng dạy"): courses, sections, lessons, materials, preview,
publishing and co-trainers, as trainers use them and as others try to misuse them."""

from __future__ import annotations

import functools
import io
import re
import unicodedata
import zipfile
from decimal import Decimal
from pathlib import Path

import pytest
import sqlalchemy as sa
from flask import current_app

from courses import services
from courses.models import Course, CourseStatus, CourseTrainer, Lesson, LessonProgress, Material, MaterialKind, Section
from lms.actors import SYSTEM
from lms.db import db
from lms.models import AuditEntry
from lms.storage import LocalStorage, StorageError
from tests.conftest import TEST_PASSWORD, count_rows, csrf_from
from tests.courses.conftest import content, convention, pdf_bytes

MB = 1024 * 1024


# -- helpers --------------------------------------------------------------------------------

def text(response) -> str:
    return response.get_data(as_text=True)


def errors(response) -> list[str]:
    """Field messages and form-level alerts on a page."""
    page = text(response)
    found = re.findall(r'invalid-feedback d-block">([^<]+)<', page)
    found += re.findall(r'<div class="alert alert-danger" role="alert">(?:<p class="mb-0">)?([^<]+)<', page)
    return [e.strip() for e in found]


def has_error(response, fragment: str) -> bool:
    return any(fragment in e for e in errors(response))


def stored_files(app) -> list[Path]:
    root = Path(app.config["LMS_STORAGE_PATH"])
    return [p for p in root.rglob("*") if p.is_file()] if root.exists() else []


def snapshot():
    """Everything an authoring screen could change, to prove a refused request changed nothing."""
    db.session.expire_all()
    courses = db.session.execute(sa.select(Course.id, Course.title, Course.summary, Course.status, Course.self_enrol,
                                           Course.open_access, Course.credited_hours).order_by(Course.id)).all()
    sections = db.session.execute(sa.select(Section.id, Section.title, Section.position).order_by(Section.id)).all()
    lessons = db.session.execute(sa.select(Lesson.id, Lesson.title, Lesson.body_source, Lesson.position,
                                           Lesson.required, Lesson.minutes).order_by(Lesson.id)).all()
    materials = db.session.execute(sa.select(Material.id, Material.title).order_by(Material.id)).all()
    trainers = db.session.execute(sa.select(CourseTrainer.course_id, CourseTrainer.person_id)).all()
    return courses, sections, lessons, materials, sorted(trainers)


def login_client(app, person):
    client = app.test_client()
    response = client.post("/login", data={"email": person.email, "password": TEST_PASSWORD})
    assert response.status_code == 302, "login failed"
    return client


def mp4_bytes(size: int = 200) -> bytes:
    head = b"\x00\x00\x00\x18ftypmp42\x00\x00\x00\x00mp42isom" + b"\x00\x00\x00\x08free"
    return head + b"\x00" * max(0, size - len(head))


def docx_bytes() -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        archive.writestr("word/document.xml", "<w:document/>")
    return buf.getvalue()


@functools.lru_cache(maxsize=1)
def zip_bomb() -> bytes:
    """A .docx that inflates to over 300 MB (1.4 MB on disk)."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        with archive.open("word/document.xml", "w", force_zip64=True) as entry:
            chunk = b"\0" * MB
            for _ in range(310):
                entry.write(chunk)
    return buf.getvalue()


def many_entries_docx() -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_STORED) as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        for i in range(5001):
            archive.writestr(f"word/p{i}.xml", "")
    return buf.getvalue()


# -- the world ------------------------------------------------------------------------------

@pytest.fixture
def me(client, auth, trainer):
    """The trainer, logged in on ``client``."""
    auth.login(trainer.email)
    return trainer


@pytest.fixture
def rival(make_person):
    return make_person(name="Trần Văn Bình", email="rival@example.vn", roles=("trainer",))


@pytest.fixture
def draft(make_course):
    """A draft course of the logged-in trainer with one section, two lessons and a PDF."""
    return make_course("Công ước về quyền trẻ em", publish=False, with_pdf=True)


@pytest.fixture
def rivals(make_course, rival):
    """Another trainer's draft and published course, each with a lesson and a PDF."""
    hidden = make_course("Bản nháp của người khác", owner=rival, publish=False, with_pdf=True)
    shown = make_course("Khóa đã xuất bản của người khác", owner=rival, publish=True, with_pdf=True)
    return hidden, shown


def parts(course):
    db.session.expire_all()
    course = db.session.get(Course, course.id)
    section = course.sections[0]
    lesson = section.lessons[0]
    material = lesson.materials[0] if lesson.materials else None
    return section, lesson, material


GOOD_COURSE = {
    "title": "Quyền của người khuyết tật",
    "summary": "Những điều cơ bản về CRPD.",
    "description": "## Mục tiêu\n\nHiểu **CRPD**.",
    "audiences": ["legal_reporter", "key_cadre"],
    "credited_hours": "1,5",
    "counts_toward_target": "y",
    "self_enrol": "y",
}


def course_form(**changes):
    data = {**GOOD_COURSE, "conventions": [str(convention("CRPD").id)], "contents": [str(content(1).id),
                                                                                    str(content(2).id)]}
    data.update(changes)
    return {k: v for k, v in data.items() if v is not None}


# -- who may come in ------------------------------------------------------------------------

def test_anonymous_is_sent_to_login(client):
    response = client.get("/courses/teaching")
    assert response.status_code == 302 and "/login" in response.location


def test_trainee_may_not_author(client, auth, trainee, make_course):
    course = make_course(publish=False)
    auth.login(trainee.email)
    assert client.get("/courses/teaching").status_code == 403
    assert client.get("/courses/teaching/new").status_code == 403
    before = count_rows(Course)
    assert client.post("/courses/teaching/new", data=course_form()).status_code == 403
    assert client.get(f"/courses/teaching/{course.id}/edit").status_code == 403
    assert count_rows(Course) == before


def test_unit_admin_cannot_edit_courses(app, client, auth, make_person, make_course):
    course = make_course(publish=True)
    unit_admin = make_person(email="ua@example.vn", roles=("unit_admin",))
    auth.login(unit_admin.email)
    before = snapshot()
    assert client.get("/courses/teaching").status_code == 403
    assert client.get("/courses/teaching/new").status_code == 403
    assert client.get(f"/courses/teaching/{course.id}/edit").status_code == 403
    assert client.post(f"/courses/teaching/{course.id}/edit", data=course_form(title="Bị sửa")).status_code == 403
    assert client.post(f"/courses/teaching/{course.id}/status", data={"status": "draft"}).status_code == 403
    assert snapshot() == before


def test_teaching_lists_own_and_co_taught_courses_with_status(app, client, me, rival, make_course):
    own = make_course("Khóa của tôi", publish=False)
    make_course("Khóa của đồng nghiệp", owner=rival, publish=True)
    shared = make_course("Khóa dạy chung", owner=rival, publish=True)
    services.add_co_trainer(db.session, rival, shared, me)
    db.session.commit()
    page = text(client.get("/courses/teaching"))
    assert "Khóa của tôi" in page and "Khóa dạy chung" in page
    assert "Khóa của đồng nghiệp" not in page
    assert "Bản nháp" in page and "Đã xuất bản" in page
    assert "Cùng giảng dạy" in page and "Người tạo" in page
    assert f"/courses/teaching/{own.id}" in page
    drafts = text(client.get("/courses/teaching?status=draft"))
    assert "Khóa của tôi" in drafts and "Khóa dạy chung" not in drafts
    assert client.get("/courses/teaching?status=<script>&page=abc").status_code == 200


def test_administrator_sees_and_edits_every_course(app, make_person, rivals):
    admin = make_person(email="admin@example.vn", roles=("admin",))
    hidden, _ = rivals
    client = login_client(app, admin)
    page = text(client.get("/courses/teaching"))
    assert "Bản nháp của người khác" in page and "Khóa đã xuất bản của người khác" in page
    response = client.post(f"/courses/teaching/{hidden.id}/edit", data=course_form(title="Sửa bởi quản trị"))
    assert response.status_code == 302
    assert db.session.get(Course, hidden.id).title == "Sửa bởi quản trị"


# -- creating and editing a course ----------------------------------------------------------

def test_trainer_creates_a_course(client, me):
    page = text(client.get("/courses/teaching/new"))
    for label in ("ICCPR", "CEDAW", "CAT", "Báo cáo viên pháp luật", "Tuyên truyền viên pháp luật",
                  "Cán bộ chủ chốt", "Người lao động", "Tính vào chỉ tiêu cán bộ chủ chốt được bồi dưỡng (70%)"):
        assert label in page
    response = client.post("/courses/teaching/new", data=course_form(open_access="y"))
    assert response.status_code == 302
    course = db.session.scalar(sa.select(Course))
    assert response.location.endswith(f"/courses/teaching/{course.id}")
    assert course.title == "Quyền của người khuyết tật" and course.status == CourseStatus.DRAFT
    assert course.owner_id == me.id
    assert [c.code for c in course.conventions] == ["CRPD"]
    assert [c.number for c in course.contents] == [1, 2]
    assert {a.value for a in course.audience_set} == {"legal_reporter", "key_cadre"}
    assert course.credited_hours == Decimal("1.5")
    assert course.counts_toward_target and course.self_enrol and course.open_access
    assert "<h2>Mục tiêu</h2>" in course.description_html and "<strong>CRPD</strong>" in course.description_html
    manage = text(client.get(response.location))
    assert "Quyền của người khuyết tật" in manage and "Bản nháp" in manage and "1,5" in manage


def test_content_boxes_show_the_short_label_with_the_full_wording_under_it(client, me):
    page = text(client.get("/courses/teaching/new"))
    box = re.search(r'<input[^>]*id="contents-3"[^>]*>', page).group(0)
    assert 'aria-describedby="contents-3-details"' in box
    assert '<label class="form-check-label" for="contents-3">4. Đấu tranh với hành vi lợi dụng quyền con người</label>' \
        in page
    assert re.search(r'id="contents-3-details"[^>]*>Các vụ việc, các đối tượng trong nước và nước ngoài', page)


def test_unchecked_boxes_are_false(client, me):
    response = client.post("/courses/teaching/new", data=course_form(counts_toward_target=None, self_enrol=None,
                                                                     audiences=None, credited_hours=""))
    assert response.status_code == 302
    course = db.session.scalar(sa.select(Course))
    assert not course.counts_toward_target and not course.self_enrol and not course.open_access
    assert course.audience_set == set() and course.credited_hours == 0


@pytest.mark.parametrize("change,message", [
    ({"title": ""}, "Vui lòng nhập tiêu đề."),
    ({"title": "   \u200b  "}, "Vui lòng nhập tiêu đề."),
    ({"title": "A" * 256}, "Tiêu đề không được dài quá 255 ký tự."),
    ({"summary": "x" * 1001}, "Tóm tắt không được dài quá 1000 ký tự."),
    ({"credited_hours": "abc"}, "Số giờ phải là số từ 0 đến 1000."),
    ({"credited_hours": "-1"}, "Số giờ phải là số từ 0 đến 1000."),
    ({"credited_hours": "5000"}, "Số giờ phải là số từ 0 đến 1000."),
    ({"credited_hours": "NaN"}, "Số giờ phải là số từ 0 đến 1000."),
    ({"conventions": ["abc"]}, "Lựa chọn không hợp lệ."),
    ({"conventions": ["999999"]}, "Lựa chọn không hợp lệ."),
    ({"contents": ["0"]}, "Lựa chọn không hợp lệ."),
    ({"audiences": ["wizard"]}, "Lựa chọn không hợp lệ."),
])
def test_bad_course_input_is_refused(client, me, change, message):
    response = client.post("/courses/teaching/new", data=course_form(**change))
    assert response.status_code == 422
    assert has_error(response, message), errors(response)
    assert count_rows(Course) == 0


def test_script_in_a_course_title_is_shown_escaped(client, me):
    hostile = "<script>alert('x')</script> Quyền"
    response = client.post("/courses/teaching/new", data=course_form(
        title=hostile, description="<script>alert(1)</script><img src=x onerror=alert(2)> **ok**"))
    assert response.status_code == 302
    course = db.session.scalar(sa.select(Course))
    assert course.title == hostile
    assert "<script" not in course.description_html and not re.search(r"<[^>]*onerror", course.description_html)
    for url in ("/courses/teaching", response.location, f"/courses/teaching/{course.id}/preview",
                f"/courses/teaching/{course.id}/edit"):
        page = text(client.get(url))
        assert "<script>alert" not in page, url
        assert "&lt;script&gt;" in page, url


def test_edit_course_prefills_and_saves(client, me, draft):
    page = text(client.get(f"/courses/teaching/{draft.id}/edit"))
    assert 'value="Công ước về quyền trẻ em"' in page
    assert re.search(rf'value="{convention("CRC").id}"[^>]*checked|checked[^>]*value="{convention("CRC").id}"', page)
    response = client.post(f"/courses/teaching/{draft.id}/edit",
                           data=course_form(title="Quyền trẻ em (sửa)", credited_hours="3"))
    assert response.status_code == 302
    course = db.session.get(Course, draft.id)
    assert course.title == "Quyền trẻ em (sửa)" and course.credited_hours == 3
    assert [c.code for c in course.conventions] == ["CRPD"]
    assert db.session.scalar(sa.select(sa.func.count()).select_from(AuditEntry)
                             .where(AuditEntry.action == "course.update")) == 1


def test_bad_edit_leaves_the_course_unchanged(client, me, draft):
    before = snapshot()
    response = client.post(f"/courses/teaching/{draft.id}/edit", data=course_form(title="", summary="x" * 1001))
    assert response.status_code == 422
    assert has_error(response, "Vui lòng nhập tiêu đề.") and has_error(response, "Tóm tắt không được dài quá")
    response = client.post(f"/courses/teaching/{draft.id}/edit", data=course_form(credited_hours="1,2,3"))
    assert response.status_code == 422 and has_error(response, "Số giờ phải là số từ 0 đến 1000.")
    assert snapshot() == before


def test_missing_course_is_404(client, me):
    assert client.get("/courses/teaching/999999").status_code == 404
    assert client.get("/courses/teaching/99999999999999/edit").status_code == 404


# -- another trainer's course ---------------------------------------------------------------

def _hostile_requests(course, section, lesson, material, rival):
    base = f"/courses/teaching/{course.id}"
    return [
        ("get", f"{base}", None),
        ("get", f"{base}/edit", None),
        ("post", f"{base}/edit", course_form(title="Chiếm quyền")),
        ("post", f"{base}/status", {"status": "archived"}),
        ("get", f"{base}/preview", None),
        ("post", f"{base}/sections", {"section-title": "Phần lạ"}),
        ("get", f"{base}/sections/{section.id}/edit", None),
        ("post", f"{base}/sections/{section.id}/edit", {"title": "Đổi tên"}),
        ("post", f"{base}/sections/{section.id}/move", {"direction": "down"}),
        ("get", f"{base}/sections/{section.id}/delete", None),
        ("post", f"{base}/sections/{section.id}/delete", {}),
        ("get", f"{base}/sections/{section.id}/lessons/new", None),
        ("post", f"{base}/sections/{section.id}/lessons/new", {"title": "Bài lạ", "minutes": "5"}),
        ("get", f"{base}/lessons/{lesson.id}", None),
        ("post", f"{base}/lessons/{lesson.id}", {"title": "Bị sửa", "minutes": "5"}),
        ("post", f"{base}/lessons/{lesson.id}/move", {"direction": "down"}),
        ("post", f"{base}/lessons/{lesson.id}/delete", {}),
        ("post", f"{base}/lessons/{lesson.id}/materials/file",
         {"upload-file": (io.BytesIO(pdf_bytes()), "x.pdf")}),
        ("post", f"{base}/lessons/{lesson.id}/materials/link", {"link-url": "https://a.vn", "link-title": "A"}),
        ("post", f"{base}/materials/{material.id}/delete", {}),
        ("get", f"{base}/trainers", None),
        ("post", f"{base}/trainers", {"person_id": str(rival.id)}),
        ("post", f"{base}/trainers/{rival.id}/remove", {}),
    ]


@pytest.mark.parametrize("which,expected", [("draft", 404), ("published", 403)])
def test_another_trainers_course_cannot_be_changed(app, client, me, rival, rivals, make_person, which, expected):
    hidden, shown = rivals
    course = hidden if which == "draft" else shown
    services.add_co_trainer(db.session, rival, course, make_person(email="co@example.vn", roles=("trainer",)))
    db.session.commit()
    section, lesson, material = parts(course)
    files = stored_files(app)
    before = snapshot()
    for method, url, data in _hostile_requests(course, section, lesson, material, me):
        response = getattr(client, method)(url, data=data) if data is not None else getattr(client, method)(url)
        assert response.status_code == expected, (method, url, response.status_code)
    assert snapshot() == before
    assert stored_files(app) == files


def test_objects_of_another_course_cannot_be_reached_through_mine(app, client, me, draft, rivals):
    hidden, _ = rivals
    section, lesson, material = parts(hidden)
    files = stored_files(app)
    before = snapshot()
    base = f"/courses/teaching/{draft.id}"
    for method, url, data in [
        ("get", f"{base}/sections/{section.id}/edit", None),
        ("post", f"{base}/sections/{section.id}/edit", {"title": "Đổi"}),
        ("post", f"{base}/sections/{section.id}/move", {"direction": "up"}),
        ("post", f"{base}/sections/{section.id}/delete", {}),
        ("post", f"{base}/sections/{section.id}/lessons/new", {"title": "Bài", "minutes": "1"}),
        ("get", f"{base}/lessons/{lesson.id}", None),
        ("post", f"{base}/lessons/{lesson.id}", {"title": "Bị sửa", "minutes": "5"}),
        ("post", f"{base}/lessons/{lesson.id}/move", {"direction": "up"}),
        ("post", f"{base}/lessons/{lesson.id}/delete", {}),
        ("post", f"{base}/lessons/{lesson.id}/materials/link", {"link-url": "https://a.vn", "link-title": "A"}),
        ("post", f"{base}/lessons/{lesson.id}/materials/file", {"upload-file": (io.BytesIO(pdf_bytes()), "x.pdf")}),
        ("post", f"{base}/materials/{material.id}/delete", {}),
        ("post", f"{base}/trainers/{hidden.owner_id}/remove", {}),
    ]:
        response = getattr(client, method)(url, data=data) if data is not None else getattr(client, method)(url)
        assert response.status_code == 404, (method, url, response.status_code)
    assert snapshot() == before
    assert stored_files(app) == files


# -- publishing -----------------------------------------------------------------------------

def test_publish_unpublish_archive(client, me, draft):
    url = f"/courses/teaching/{draft.id}/status"
    page = text(client.get(f"/courses/teaching/{draft.id}"))
    assert 'name="status" value="published"' in page
    assert client.post(url, data={"status": "published"}).status_code == 302
    course = db.session.get(Course, draft.id)
    assert course.status == CourseStatus.PUBLISHED and course.published_at is not None
    assert "Đã xuất bản" in text(client.get("/courses/teaching"))
    assert client.post(url, data={"status": "draft"}).status_code == 302
    assert db.session.get(Course, draft.id).status == CourseStatus.DRAFT
    assert client.post(url, data={"status": "archived"}).status_code == 302
    assert db.session.get(Course, draft.id).status == CourseStatus.ARCHIVED
    assert "Xuất bản lại" in text(client.get(f"/courses/teaching/{draft.id}"))


def test_a_course_without_lessons_cannot_be_published(client, me, make_course):
    empty = make_course("Khóa rỗng", lessons=0, publish=False)
    response = client.post(f"/courses/teaching/{empty.id}/status", data={"status": "published"})
    assert response.status_code == 422
    assert "Khóa học cần có ít nhất một bài học trước khi xuất bản." in text(response)
    assert db.session.get(Course, empty.id).status == CourseStatus.DRAFT


@pytest.mark.parametrize("value", ["", "deleted", "<script>", "PUBLISHED"])
def test_bad_status_is_refused(client, me, draft, value):
    response = client.post(f"/courses/teaching/{draft.id}/status", data={"status": value})
    assert response.status_code == 422
    assert "Lựa chọn không hợp lệ." in text(response)
    assert db.session.get(Course, draft.id).status == CourseStatus.DRAFT


# -- sections -------------------------------------------------------------------------------

def section_titles(course):
    db.session.expire_all()
    return [s.title for s in db.session.get(Course, course.id).sections]


def test_sections_add_rename_move_delete(client, me, draft):
    base = f"/courses/teaching/{draft.id}"
    response = client.post(f"{base}/sections", data={"section-title": "Phần 2"})
    assert response.status_code == 302
    assert section_titles(draft) == ["Phần 1", "Phần 2"]
    first, second = db.session.get(Course, draft.id).sections
    page = text(client.get(base))
    assert "Phần 1: Phần 1" in page and "Phần 2: Phần 2" in page

    assert client.get(f"{base}/sections/{second.id}/edit").status_code == 200
    assert client.post(f"{base}/sections/{second.id}/edit", data={"title": "Thực hành"}).status_code == 302
    assert section_titles(draft) == ["Phần 1", "Thực hành"]

    assert client.post(f"{base}/sections/{second.id}/move", data={"direction": "up"}).status_code == 302
    assert section_titles(draft) == ["Thực hành", "Phần 1"]
    assert client.post(f"{base}/sections/{second.id}/move", data={"direction": "up"}).status_code == 302
    assert section_titles(draft) == ["Thực hành", "Phần 1"]
    assert client.post(f"{base}/sections/{second.id}/move", data={"direction": "down"}).status_code == 302
    assert section_titles(draft) == ["Phần 1", "Thực hành"]

    confirm = client.get(f"{base}/sections/{first.id}/delete")
    assert confirm.status_code == 200
    assert "Xóa phần “Phần 1”?" in text(confirm) and "2 bài học và 1 tài liệu" in text(confirm)
    assert section_titles(draft) == ["Phần 1", "Thực hành"]  # the page alone deletes nothing
    assert client.post(f"{base}/sections/{first.id}/delete").status_code == 302
    assert section_titles(draft) == ["Thực hành"]
    assert count_rows(Lesson) == 0 and count_rows(Material) == 0


def test_deleting_a_section_removes_its_files_after_commit(app, client, me, draft):
    section, _, _ = parts(draft)
    assert len(stored_files(app)) == 1
    client.post(f"/courses/teaching/{draft.id}/sections/{section.id}/delete")
    assert stored_files(app) == []


@pytest.mark.parametrize("title,message", [
    ("", "Vui lòng nhập tiêu đề."),
    ("\u202e\u200b", "Vui lòng nhập tiêu đề."),
    ("P" * 256, "Tiêu đề không được dài quá 255 ký tự."),
])
def test_bad_section_titles(client, me, draft, title, message):
    section, _, _ = parts(draft)
    before = snapshot()
    add = client.post(f"/courses/teaching/{draft.id}/sections", data={"section-title": title})
    assert add.status_code == 422 and has_error(add, message)
    rename = client.post(f"/courses/teaching/{draft.id}/sections/{section.id}/edit", data={"title": title})
    assert rename.status_code == 422 and has_error(rename, message)
    assert snapshot() == before


def test_bad_move_direction(client, me, draft):
    section, lesson, _ = parts(draft)
    before = snapshot()
    for url in (f"/courses/teaching/{draft.id}/sections/{section.id}/move",
                f"/courses/teaching/{draft.id}/lessons/{lesson.id}/move"):
        response = client.post(url, data={"direction": "sideways"})
        assert response.status_code == 422 and "Lựa chọn không hợp lệ." in text(response)
    assert snapshot() == before


def test_script_in_a_section_title_is_escaped(client, me, draft):
    client.post(f"/courses/teaching/{draft.id}/sections", data={"section-title": "<script>alert(1)</script>"})
    page = text(client.get(f"/courses/teaching/{draft.id}"))
    assert "<script>alert(1)" not in page and "&lt;script&gt;alert(1)&lt;/script&gt;" in page


# -- lessons --------------------------------------------------------------------------------

GOOD_LESSON = {"title": "Điều 3: lợi ích tốt nhất của trẻ em", "body": "# Tiêu đề\n\nNội dung **quan trọng**.",
               "required": "y", "minutes": "15"}


def test_add_lesson_with_tags(client, me, draft):
    section, _, _ = parts(draft)
    url = f"/courses/teaching/{draft.id}/sections/{section.id}/lessons/new"
    page = text(client.get(url))
    assert "Thêm bài học" in page and "CRC" in page
    response = client.post(url, data={**GOOD_LESSON, "conventions": [str(convention("CRC").id)],
                                      "contents": [str(content(3).id)]})
    assert response.status_code == 302
    lesson = db.session.scalar(sa.select(Lesson).where(Lesson.title == GOOD_LESSON["title"]))
    assert response.location.endswith(f"/courses/teaching/{draft.id}/lessons/{lesson.id}")
    assert lesson.required and lesson.minutes == 15 and lesson.position == 2
    assert [c.code for c in lesson.conventions] == ["CRC"] and [c.number for c in lesson.contents] == [3]
    assert "<h2>Tiêu đề</h2>" in lesson.body_html and "<strong>quan trọng</strong>" in lesson.body_html


def test_optional_lesson(client, me, draft):
    section, _, _ = parts(draft)
    data = {**GOOD_LESSON, "minutes": "0"}
    del data["required"]
    assert client.post(f"/courses/teaching/{draft.id}/sections/{section.id}/lessons/new", data=data).status_code == 302
    lesson = db.session.scalar(sa.select(Lesson).where(Lesson.title == GOOD_LESSON["title"]))
    assert lesson.required is False and lesson.minutes == 0


@pytest.mark.parametrize("change,message", [
    ({"title": ""}, "Vui lòng nhập tiêu đề."),
    ({"title": "T" * 256}, "Tiêu đề không được dài quá 255 ký tự."),
    ({"minutes": "abc"}, "Thời lượng phải là số phút từ 0 đến 10000."),
    ({"minutes": "-5"}, "Thời lượng phải là số phút từ 0 đến 10000."),
    ({"minutes": "99999"}, "Thời lượng phải là số phút từ 0 đến 10000."),
    ({"minutes": "1.5"}, "Thời lượng phải là số phút từ 0 đến 10000."),
    ({"body": "x" * 200_001}, "Nội dung bài học quá dài"),
    ({"conventions": ["abc"]}, "Lựa chọn không hợp lệ."),
    ({"contents": ["424242"]}, "Lựa chọn không hợp lệ."),
])
def test_bad_lesson_input(client, me, draft, change, message):
    section, lesson, _ = parts(draft)
    before = snapshot()
    new = client.post(f"/courses/teaching/{draft.id}/sections/{section.id}/lessons/new",
                      data={**GOOD_LESSON, **change})
    assert new.status_code == 422 and has_error(new, message), errors(new)
    edit = client.post(f"/courses/teaching/{draft.id}/lessons/{lesson.id}", data={**GOOD_LESSON, **change})
    assert edit.status_code == 422 and has_error(edit, message), errors(edit)
    assert snapshot() == before


def test_edit_lesson(client, me, draft):
    _, lesson, _ = parts(draft)
    url = f"/courses/teaching/{draft.id}/lessons/{lesson.id}"
    page = text(client.get(url))
    assert "Bài 1" in page and "Nội dung **bài 1**" in page and "Tài liệu bài 1" in page
    response = client.post(url, data={**GOOD_LESSON, "title": "Bài 1 (sửa)", "minutes": "20"})
    assert response.status_code == 302
    db.session.expire_all()
    lesson = db.session.get(Lesson, lesson.id)
    assert lesson.title == "Bài 1 (sửa)" and lesson.minutes == 20 and lesson.conventions == []


def test_script_in_lesson_text_does_not_survive(client, me, draft):
    _, lesson, _ = parts(draft)
    hostile = ("<script>alert('x')</script>\n\n[bấm](javascript:alert(1)) <img src=x onerror=alert(1)>\n\n"
               "<iframe src='https://evil.example'></iframe> **an toàn**")
    url = f"/courses/teaching/{draft.id}/lessons/{lesson.id}"
    assert client.post(url, data={**GOOD_LESSON, "body": hostile}).status_code == 302
    db.session.expire_all()
    lesson = db.session.get(Lesson, lesson.id)
    for bad in ("<script", 'href="javascript:', "<iframe", "<img"):
        assert bad not in lesson.body_html
    assert not re.search(r"<[^>]*onerror", lesson.body_html)
    assert "<strong>an toàn</strong>" in lesson.body_html
    preview = text(client.get(f"/courses/teaching/{draft.id}/preview"))
    assert "<strong>an toàn</strong>" in preview
    assert "<script>alert" not in preview and "<iframe" not in preview and 'href="javascript:' not in preview


def lesson_titles(section):
    db.session.expire_all()
    return [lesson.title for lesson in db.session.get(Section, section.id).lessons]


def test_move_and_delete_lessons(client, me, draft):
    section, first, _ = parts(draft)
    base = f"/courses/teaching/{draft.id}"
    assert client.post(f"{base}/lessons/{first.id}/move", data={"direction": "down"}).status_code == 302
    assert lesson_titles(section) == ["Bài 2", "Bài 1"]
    assert client.post(f"{base}/lessons/{first.id}/move", data={"direction": "up"}).status_code == 302
    assert lesson_titles(section) == ["Bài 1", "Bài 2"]
    confirm = client.get(f"{base}/lessons/{first.id}/delete")
    assert confirm.status_code == 200 and "Xóa bài học “Bài 1”?" in text(confirm)
    assert lesson_titles(section) == ["Bài 1", "Bài 2"]
    assert client.post(f"{base}/lessons/{first.id}/delete").status_code == 302
    assert lesson_titles(section) == ["Bài 2"]
    assert count_rows(Material) == 0
    assert db.session.get(Section, section.id).lessons[0].position == 0


# -- materials ------------------------------------------------------------------------------

def upload(client, course, lesson, data: bytes, name: str, title: str = ""):
    return client.post(f"/courses/teaching/{course.id}/lessons/{lesson.id}/materials/file",
                       data={"upload-file": (io.BytesIO(data), name), "upload-title": title},
                       content_type="multipart/form-data")


def test_upload_a_pdf(app, client, me, draft):
    _, lesson, _ = parts(draft)
    name = unicodedata.normalize("NFD", "Công ước quyền trẻ em.pdf")
    response = upload(client, draft, lesson, pdf_bytes("CRC"), name)
    assert response.status_code == 302 and response.location.endswith("#materials")
    material = db.session.scalar(sa.select(Material).order_by(Material.id.desc()))
    assert material.kind == MaterialKind.FILE and material.content_type == "application/pdf"
    assert material.original_name == "Công ước quyền trẻ em.pdf"  # NFC kept as metadata
    assert material.title == "Công ước quyền trẻ em" and material.size == len(pdf_bytes("CRC"))
    assert "trẻ" not in material.storage_key and material.storage_key.startswith("materials/")
    root = Path(app.config["LMS_STORAGE_PATH"])
    assert (root / material.storage_key).read_bytes() == pdf_bytes("CRC")
    assert len(stored_files(app)) == 2
    page = text(client.get(f"/courses/teaching/{draft.id}/lessons/{lesson.id}"))
    assert "Công ước quyền trẻ em" in page and "Đã tải lên" in page


@pytest.mark.parametrize("name,data", [
    ("ghi chú.docx", docx_bytes()),
    ("bài giảng.mp4", mp4_bytes()),
    ("ảnh.png", b"\x89PNG\r\n\x1a\n" + b"\x00" * 64),
])
def test_upload_other_kinds(app, client, me, draft, name, data):
    _, lesson, _ = parts(draft)
    response = upload(client, draft, lesson, data, name, title="Tên riêng")
    assert response.status_code == 302
    material = db.session.scalar(sa.select(Material).where(Material.original_name == name))
    assert material.title == "Tên riêng"


@pytest.mark.parametrize("name,data,message", [
    ("virus.exe", b"MZ\x90\x00" + b"\x00" * 200, "Không nhận loại tệp này"),
    ("tài liệu.pdf", b"MZ\x90\x00\x03\x00\x00\x00" + b"\x00" * 200, "Nội dung tệp không khớp với phần mở rộng .pdf"),
    ("trang.html", b"<html><script>alert(1)</script></html>", "Không nhận loại tệp này"),
    ("trang.pdf", b"<html><script>alert(1)</script></html>", "Nội dung tệp không khớp"),
    ("hinh.svg", b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>', "Không nhận loại tệp này"),
    ("hinh.png", b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>', "Nội dung tệp không khớp"),
    ("bom.docx", None, "zip bomb"),
    ("nhieu.docx", "many", "quá nhiều thành phần"),
    ("gia.docx", b"PK\x03\x04" + b"\x00" * 100, "Tệp bị hỏng"),
    ("rong.pdf", b"", "Tệp rỗng."),
    ("khong-duoi", pdf_bytes(), "Không nhận loại tệp này"),
    ("../../..", pdf_bytes(), "Không nhận loại tệp này"),
])
def test_refused_uploads_leave_nothing_behind(app, client, me, draft, name, data, message):
    _, lesson, _ = parts(draft)
    if data is None:
        data = zip_bomb()
    elif data == "many":
        data = many_entries_docx()
    files = stored_files(app)
    rows = count_rows(Material)
    response = upload(client, draft, lesson, data, name)
    assert response.status_code == 422
    assert has_error(response, message), errors(response)
    assert "Chưa tải lên được tệp" in text(response)
    assert count_rows(Material) == rows
    assert stored_files(app) == files


def test_upload_without_a_file(app, client, me, draft):
    _, lesson, _ = parts(draft)
    response = client.post(f"/courses/teaching/{draft.id}/lessons/{lesson.id}/materials/file",
                           data={"upload-title": "Không có tệp"}, content_type="multipart/form-data")
    assert response.status_code == 422 and has_error(response, "Vui lòng chọn tệp để tải lên.")
    assert count_rows(Material) == 1


def test_upload_title_too_long(app, client, me, draft):
    _, lesson, _ = parts(draft)
    files = stored_files(app)
    response = upload(client, draft, lesson, pdf_bytes(), "a.pdf", title="T" * 256)
    assert response.status_code == 422 and has_error(response, "Tiêu đề không được dài quá 255 ký tự.")
    assert count_rows(Material) == 1 and stored_files(app) == files


def test_disk_full_leaves_no_row_and_no_file(app, client, me, draft, monkeypatch):
    _, lesson, _ = parts(draft)
    files = stored_files(app)

    def full(self, key, source, content_type):
        raise StorageError("[Errno 28] No space left on device")

    monkeypatch.setattr(LocalStorage, "put", full)
    response = upload(client, draft, lesson, pdf_bytes(), "đầy.pdf")
    assert response.status_code == 422
    assert has_error(response, "Không lưu được tệp (bộ nhớ đầy hoặc lỗi lưu trữ)")
    assert count_rows(Material) == 1 and stored_files(app) == files


def test_failure_after_the_file_was_stored_removes_it(app, client, me, draft, monkeypatch):
    """The database refuses the row after the file went to storage: the file goes too."""
    _, lesson, _ = parts(draft)
    files = stored_files(app)
    from lms import audit

    def broken(*args, **kwargs):
        raise services.ServiceError("Lỗi ghi nhật ký.", "file")

    monkeypatch.setattr(audit, "record", broken)
    response = upload(client, draft, lesson, pdf_bytes(), "sau.pdf")
    assert response.status_code == 422 and has_error(response, "Lỗi ghi nhật ký.")
    assert count_rows(Material) == 1 and stored_files(app) == files


@pytest.mark.parametrize("name,kept", [
    ("../../../../etc/passwd.pdf", "passwd.pdf"),
    ("..\\..\\windows\\system32\\evil.pdf", None),
    ("/tmp/abs.pdf", "abs.pdf"),
    ("tai\x07lieu\u202e\u200b.pdf", "tailieu.pdf"),
    ("dòng\tmới\x7f.pdf", "dòng mới.pdf"),
])
def test_path_traversal_and_control_characters_in_file_names(app, client, me, draft, tmp_path, name, kept):
    _, lesson, _ = parts(draft)
    response = upload(client, draft, lesson, pdf_bytes(), name)
    assert response.status_code == 302
    material = db.session.scalar(sa.select(Material).order_by(Material.id.desc()))
    if kept is not None:
        assert material.original_name == kept
    assert "/" not in material.original_name and "\\" not in material.original_name
    root = Path(app.config["LMS_STORAGE_PATH"]).resolve()
    stored = (root / material.storage_key).resolve()
    assert root in stored.parents and stored.is_file()
    assert not any(p.name == material.original_name for p in tmp_path.rglob("*"))


def test_a_body_larger_than_the_video_limit_gets_413(app_factory, trainer, make_course):
    small = app_factory(LMS_MAX_UPLOAD_MB=1, LMS_MAX_VIDEO_MB=1, MAX_CONTENT_LENGTH=1 * MB)
    with small.app_context():
        course = make_course(publish=False)
        _, lesson, _ = parts(course)
        client = login_client(small, trainer)
        response = upload(client, course, lesson, mp4_bytes(MB + 200 * 1024), "lớn.mp4")
        assert response.status_code == 413
        assert "Tệp quá lớn" in text(response)
        assert count_rows(Material) == 0 and stored_files(small) == []


def test_video_may_exceed_the_general_request_limit_but_other_files_may_not(app_factory, trainer, make_course):
    """MAX_CONTENT_LENGTH is 1 MB; the upload route takes bodies up to the 3 MB video limit, and
    the service holds other types to their own limit."""
    small = app_factory(LMS_MAX_UPLOAD_MB=1, LMS_MAX_VIDEO_MB=3, MAX_CONTENT_LENGTH=1 * MB)
    with small.app_context():
        course = make_course(publish=False)
        _, lesson, _ = parts(course)
        client = login_client(small, trainer)
        response = upload(client, course, lesson, mp4_bytes(2 * MB), "video.mp4")
        assert response.status_code == 302
        assert count_rows(Material) == 1
        big_pdf = pdf_bytes() + b"%" * (2 * MB)
        response = upload(client, course, lesson, big_pdf, "dày.pdf")
        assert response.status_code == 422
        assert has_error(response, "Tệp quá lớn: tối đa 1 MB cho loại tệp này.")
        assert count_rows(Material) == 1 and len(stored_files(small)) == 1
        # Any other route keeps the general limit.
        other = client.post(f"/courses/teaching/{course.id}/lessons/{lesson.id}/materials/link",
                            data={"link-url": "https://x.vn", "link-title": "x" * (2 * MB)})
        assert other.status_code == 413


def test_large_video_upload_passes_the_csrf_check(app_factory, trainer, make_course):
    """With CSRF on, the token is read from the body in a before-request hook: the larger limit
    must already hold there."""
    strict = app_factory(LMS_MAX_UPLOAD_MB=1, LMS_MAX_VIDEO_MB=3, MAX_CONTENT_LENGTH=1 * MB, WTF_CSRF_ENABLED=True)
    with strict.app_context():
        course = make_course(publish=False)
        _, lesson, _ = parts(course)
        client = strict.test_client()
        token = csrf_from(text(client.get("/login")))
        client.post("/login", data={"email": trainer.email, "password": TEST_PASSWORD, "csrf_token": token})
        page = text(client.get(f"/courses/teaching/{course.id}/lessons/{lesson.id}"))
        token = csrf_from(page)
        url = f"/courses/teaching/{course.id}/lessons/{lesson.id}/materials/file"
        response = client.post(url, data={"upload-file": (io.BytesIO(mp4_bytes(2 * MB)), "v.mp4"),
                                          "upload-csrf_token": token, "csrf_token": token},
                               content_type="multipart/form-data")
        assert response.status_code == 302
        refused = client.post(url, data={"upload-file": (io.BytesIO(pdf_bytes()), "a.pdf")},
                              content_type="multipart/form-data")
        assert refused.status_code == 400
        assert count_rows(Material) == 1


def test_anonymous_and_trainees_do_not_get_the_large_upload_limit(app_factory, make_person, make_course):
    small = app_factory(LMS_MAX_UPLOAD_MB=1, LMS_MAX_VIDEO_MB=3, MAX_CONTENT_LENGTH=1 * MB)
    with small.app_context():
        course = make_course(publish=False)
        _, lesson, _ = parts(course)
        url = f"/courses/teaching/{course.id}/lessons/{lesson.id}/materials/file"
        body = {"upload-file": (io.BytesIO(mp4_bytes(2 * MB)), "v.mp4")}
        assert small.test_client().post(url, data=body, content_type="multipart/form-data").status_code == 413
        learner = login_client(small, make_person(email="hv@example.vn", roles=("trainee",)))
        body = {"upload-file": (io.BytesIO(mp4_bytes(2 * MB)), "v.mp4")}
        assert learner.post(url, data=body, content_type="multipart/form-data").status_code == 413
        assert count_rows(Material) == 0


def test_add_a_link(client, me, draft):
    _, lesson, _ = parts(draft)
    url = f"/courses/teaching/{draft.id}/lessons/{lesson.id}/materials/link"
    response = client.post(url, data={"link-url": "https://www.ohchr.org/vi/crc", "link-title": "Văn bản CRC"})
    assert response.status_code == 302
    link = db.session.scalar(sa.select(Material).where(Material.kind == MaterialKind.LINK))
    assert link.url == "https://www.ohchr.org/vi/crc" and link.title == "Văn bản CRC" and link.storage_key is None
    page = text(client.get(f"/courses/teaching/{draft.id}/preview"))
    assert 'href="https://www.ohchr.org/vi/crc"' in page


@pytest.mark.parametrize("data,message", [
    ({"link-url": "", "link-title": "A"}, "Vui lòng nhập đường dẫn."),
    ({"link-url": "javascript:alert(1)", "link-title": "A"}, "Đường dẫn phải bắt đầu bằng http:// hoặc https://."),
    ({"link-url": "data:text/html,<script>alert(1)</script>", "link-title": "A"}, "Đường dẫn phải bắt đầu bằng"),
    ({"link-url": "ftp://files.vn/a", "link-title": "A"}, "Đường dẫn phải bắt đầu bằng"),
    ({"link-url": "https://", "link-title": "A"}, "Đường dẫn phải bắt đầu bằng"),
    ({"link-url": "https://a.vn/" + "x" * 2000, "link-title": "A"}, "Đường dẫn không được dài quá 2000 ký tự."),
    ({"link-url": "https://a.vn", "link-title": ""}, "Vui lòng nhập tiêu đề."),
])
def test_bad_links(client, me, draft, data, message):
    _, lesson, _ = parts(draft)
    before = snapshot()
    response = client.post(f"/courses/teaching/{draft.id}/lessons/{lesson.id}/materials/link", data=data)
    assert response.status_code == 422 and has_error(response, message), errors(response)
    assert "<script>alert" not in text(response)
    assert snapshot() == before


def test_delete_a_material_with_confirmation(app, client, me, draft):
    _, lesson, material = parts(draft)
    url = f"/courses/teaching/{draft.id}/materials/{material.id}/delete"
    confirm = client.get(url)
    assert confirm.status_code == 200 and "Xóa tài liệu “Tài liệu bài 1”?" in text(confirm)
    assert count_rows(Material) == 1 and len(stored_files(app)) == 1
    response = client.post(url)
    assert response.status_code == 302
    assert count_rows(Material) == 0 and stored_files(app) == []


# -- preview --------------------------------------------------------------------------------

def test_preview_shows_the_course_as_a_trainee_would_without_recording_progress(client, me, draft):
    _, lesson, material = parts(draft)
    response = client.get(f"/courses/teaching/{draft.id}/preview")
    assert response.status_code == 200
    page = text(response)
    assert "Bản xem trước" in page and "Không ghi nhận tiến độ" in page
    assert "Công ước về quyền trẻ em" in page
    assert "Nội dung <strong>bài 1</strong>" in page and "Nội dung <strong>bài 2</strong>" in page
    assert "Tài liệu bài 1" in page
    if "courses.material" in current_app.view_functions:  # opened through the learners' file route
        assert f'href="/courses/{draft.id}/materials/{material.id}"' in page
    assert "/done" not in page and "<textarea" not in page
    assert count_rows(LessonProgress) == 0
    assert 'style="' not in page and "onclick" not in page


# -- co-trainers ----------------------------------------------------------------------------

def test_invite_and_remove_a_co_trainer(app, client, me, draft, make_person):
    colleague = make_person(name="Lê Thị Hồng Nhung", email="nhung@example.vn", roles=("trainer",))
    make_person(name="Lê Thị Hồng Nhạn", email="nhan@example.vn", roles=("trainee",))
    locked = make_person(name="Lê Thị Hồng Nga", email="nga@example.vn", roles=("trainer",))
    from lms.db import utcnow
    from lms.services.people import deactivate_person
    from lms.views.common import today
    deactivate_person(db.session, SYSTEM, locked, today(), utcnow())
    db.session.commit()

    url = f"/courses/teaching/{draft.id}/trainers"
    found = text(client.get(url + "?q=le thi hong"))
    assert "Lê Thị Hồng Nhung" in found
    assert "Lê Thị Hồng Nhạn" not in found  # a trainee
    assert "Lê Thị Hồng Nga" not in found  # locked
    assert f'name="person_id" value="{me.id}"' not in text(client.get(url + "?q=duc"))  # the owner is in
    assert "Không tìm thấy giảng viên nào" in text(client.get(url + "?q=zzz%25_"))

    assert client.post(url, data={"person_id": str(colleague.id)}).status_code == 302
    assert db.session.scalar(sa.select(CourseTrainer.person_id).where(CourseTrainer.course_id == draft.id)) \
        == colleague.id
    again = client.post(url, data={"person_id": str(colleague.id)}, follow_redirects=True)
    assert "đã là giảng viên của khóa học" in text(again)
    assert count_rows(CourseTrainer) == 1

    other = login_client(app, colleague)
    listing = text(other.get("/courses/teaching"))
    assert "Công ước về quyền trẻ em" in listing and "Cùng giảng dạy" in listing
    assert other.post(f"/courses/teaching/{draft.id}/sections", data={"section-title": "Phần của Nhung"}) \
        .status_code == 302

    assert client.post(f"{url}/{colleague.id}/remove").status_code == 302
    assert count_rows(CourseTrainer) == 0
    assert other.get(f"/courses/teaching/{draft.id}").status_code == 404
    assert client.post(f"{url}/{colleague.id}/remove").status_code == 404


@pytest.mark.parametrize("value,message", [
    ("", "Vui lòng chọn giảng viên."),
    ("abc", "Không tìm thấy giảng viên này."),
    ("999999", "Không tìm thấy giảng viên này."),
    ("99999999999999999999", "Không tìm thấy giảng viên này."),
    ("trainee", "Chỉ mời được người có vai trò giảng viên và đang hoạt động."),
])
def test_bad_co_trainer_invitations(client, me, draft, trainee, value, message):
    response = client.post(f"/courses/teaching/{draft.id}/trainers",
                           data={"person_id": str(trainee.id) if value == "trainee" else value})
    assert response.status_code == 422 and message in text(response)
    assert count_rows(CourseTrainer) == 0


def test_co_trainer_search_ignores_diacritics_and_case_and_escapes_wildcards(client, me, draft, make_person):
    make_person(name="Nguyễn Đình Quý", email="quy@example.vn", roles=("trainer",))
    url = f"/courses/teaching/{draft.id}/trainers"
    assert "Nguyễn Đình Quý" in text(client.get(url + "?q=NGUYEN DINH"))
    assert "Nguyễn Đình Quý" in text(client.get(url + "?q=đình quý"))
    assert "Nguyễn Đình Quý" not in text(client.get(url + "?q=%25"))
    assert "Nguyễn Đình Quý" not in text(client.get(url + "?q=_"))
    page = text(client.get(url + "?q=<script>alert(1)</script>"))
    assert "<script>alert(1)" not in page


# -- the pages hold together ----------------------------------------------------------------

def test_pages_have_no_inline_script_or_style(client, me, draft):
    section, lesson, material = parts(draft)
    base = f"/courses/teaching/{draft.id}"
    for url in ("/courses/teaching", "/courses/teaching/new", base, f"{base}/edit", f"{base}/preview",
                f"{base}/sections/{section.id}/edit", f"{base}/sections/{section.id}/delete",
                f"{base}/sections/{section.id}/lessons/new", f"{base}/lessons/{lesson.id}",
                f"{base}/lessons/{lesson.id}/delete", f"{base}/materials/{material.id}/delete", f"{base}/trainers"):
        response = client.get(url)
        assert response.status_code == 200, url
        page = text(response)
        assert 'style="' not in page and " onclick=" not in page and "<script>" not in page, url
        assert page.count("<h1") == 1, url
