"""The trainee's screens: catalogue, course page, lessons, materials and "My learning"."""

from __future__ import annotations

import hashlib
import io
import re
import zipfile
from datetime import date, timedelta

import pytest
import sqlalchemy as sa

from courses import services
from courses.models import Enrolment, EnrolmentSource, EnrolmentStatus, Lesson, LessonProgress, Material
from lms.db import db
from lms.signals import course_completed
from tests.conftest import count_rows
from tests.courses.conftest import NOW, pdf_bytes


def text(response) -> str:
    return response.get_data(as_text=True)


def titles(response) -> list[str]:
    """The course titles of the catalogue cards on a page."""
    return re.findall(r'<h2 class="h5 card-title"><a href="/courses/\d+">([^<]+)</a>', text(response))


def lessons_of(course) -> list[Lesson]:
    return list(db.session.scalars(sa.select(Lesson).where(Lesson.course_id == course.id).order_by(Lesson.position)))


def enrolments(course, person) -> list[Enrolment]:
    return list(db.session.scalars(sa.select(Enrolment).where(Enrolment.course_id == course.id,
                                                              Enrolment.person_id == person.id)))


def enrol(course, person, due_on=None, by=None):
    services.enrol_people(db.session, by or course.owner, course, [person.id], EnrolmentSource.INDIVIDUAL, due_on,
                          NOW)
    db.session.commit()


def docx_bytes() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("[Content_Types].xml", '<?xml version="1.0"?><Types/>')
        archive.writestr("word/document.xml", '<?xml version="1.0"?><document/>')
    return buffer.getvalue()


@pytest.fixture
def as_trainee(client, auth, trainee):
    auth.login(trainee.email)
    return trainee


@pytest.fixture
def shelf(make_course):
    """Three published courses and a draft."""
    return {
        "crc": make_course("Quyền trẻ em", conventions=("CRC",), contents=(1,), audiences=("legal_reporter",),
                           summary="Những điều cơ bản về Công ước"),
        "cat": make_course("Công ước chống tra tấn", conventions=("CAT",), contents=(1, 2),
                           audiences=("key_cadre",)),
        "women": make_course("Bình đẳng giới và CEDAW", conventions=("CEDAW",), contents=(3,),
                             audiences=("legal_propagandist", "official")),
        "draft": make_course("Bản nháp bí mật", publish=False),
    }


# -- catalogue ------------------------------------------------------------------------------

def test_catalogue_lists_published_courses_with_their_tags(client, as_trainee, shelf):
    response = client.get("/courses/")
    assert response.status_code == 200
    page = text(response)
    assert sorted(titles(response)) == sorted(["Quyền trẻ em", "Công ước chống tra tấn", "Bình đẳng giới và CEDAW"])
    assert "Bản nháp bí mật" not in page
    assert ">CRC</span>" in page and ">CAT</span>" in page
    # contents show their short label, with the plan's full wording in the title
    assert ('title="Nội dung 3: Tình hình, nỗ lực và thành tựu bảo đảm quyền con người trên các lĩnh vực'
            in page and ">Thành tựu bảo đảm quyền con người</span>" in page)
    assert ">3. Thành tựu bảo đảm quyền con người</option>" in page  # the filter
    assert "Báo cáo viên pháp luật" in page and "Cán bộ chủ chốt" in page
    assert "Thời gian được tính: 2,7 tiết (2 giờ)" in page and "2 bài học" in page
    assert "Tìm thấy 3 khóa học." in page


def test_catalogue_tags_and_filter_follow_the_interface_language(client, as_trainee, shelf):
    client.post("/language", data={"locale": "en"})
    page = text(client.get("/courses/"))
    assert ">Achievements in ensuring human rights</span>" in page and "so that no one is left behind" in page
    assert ">4. Countering the abuse of human rights</option>" in page


@pytest.mark.parametrize("q", ["quyen tre em", "QUYEN TRE EM", "Quyền trẻ em", "quyền TRẺ", "tre em quyen",
                               "  quyen   tre  ", "crc"])
def test_search_ignores_diacritics_case_and_word_order(client, as_trainee, shelf, q):
    assert titles(client.get("/courses/", query_string={"q": q})) == ["Quyền trẻ em"]


def test_search_matches_the_summary_and_literal_wildcards(client, as_trainee, shelf):
    assert titles(client.get("/courses/?q=nhung+dieu+co+ban")) == ["Quyền trẻ em"]
    assert titles(client.get("/courses/?q=chong+tra+tan")) == ["Công ước chống tra tấn"]
    for wildcard in ("%", "_", "%%", "\\", "q%e", "tr_"):
        response = client.get("/courses/", query_string={"q": wildcard})
        assert response.status_code == 200 and titles(response) == [], wildcard
    page = text(client.get("/courses/?q=khong+co+gi"))
    assert "Không có khóa học nào khớp" in page and "Tìm thấy 0 khóa học." in page


def test_filters_by_convention_content_and_audience(client, as_trainee, shelf):
    assert titles(client.get("/courses/?convention=CAT")) == ["Công ước chống tra tấn"]
    assert sorted(titles(client.get("/courses/?content=1"))) == ["Công ước chống tra tấn", "Quyền trẻ em"]
    assert titles(client.get("/courses/?content=3")) == ["Bình đẳng giới và CEDAW"]
    assert titles(client.get("/courses/?audience=official")) == ["Bình đẳng giới và CEDAW"]
    assert titles(client.get("/courses/?audience=key_cadre&content=2")) == ["Công ước chống tra tấn"]
    assert titles(client.get("/courses/?convention=CRC&audience=key_cadre")) == []
    assert titles(client.get("/courses/?convention=CRC&q=tra+tan")) == []
    assert titles(client.get("/courses/?convention=cat")) == ["Công ước chống tra tấn"]
    page = text(client.get("/courses/?convention=CAT"))
    assert '<option value="CAT" selected>' in page and "Bỏ lọc" in page


def test_catalogue_pages(client, as_trainee, make_course):
    for n in range(14):
        make_course(f"Khóa số {n:02d}", lessons=1)
    first, second = client.get("/courses/"), client.get("/courses/?page=2")
    assert len(titles(first)) == 12 and len(titles(second)) == 2
    assert set(titles(first)).isdisjoint(titles(second))
    assert 'href="/courses/?page=2"' in text(first) and "Tìm thấy 14 khóa học." in text(first)
    assert titles(client.get("/courses/?page=3")) == []


def test_catalogue_card_shows_enrolment_and_progress(client, as_trainee, shelf):
    crc = shelf["crc"]
    enrol(crc, as_trainee)
    services.mark_done(db.session, as_trainee, lessons_of(crc)[0], NOW)
    db.session.commit()
    page = text(client.get("/courses/"))
    card = page.split('href="/courses/%d"' % crc.id)[1].split("</article>")[0]
    assert "Đang học" in card and 'value="50"' in card
    other = page.split('href="/courses/%d"' % shelf["cat"].id)[1].split("</article>")[0]
    assert "Đang học" not in other and "Có thể tự đăng ký học" in other


@pytest.mark.parametrize("query", [
    "q=<script>alert(1)</script>", "q=" + "a" * 5000, "q=%27%20OR%201%3D1--", "q=%F0%9F%98%80",
    "convention=<script>", "convention=' OR '1'='1", "content=abc", "content=99", "content=-1",
    "audience=wizard", "audience=", "page=abc", "page=-5", "page=0", "page=99999999999999999999",
    "page=1e9", "q[]=x", "q=a&q=b", "q=%E2%80%AE%E2%80%8Btest", "convention=crc%20",
])
def test_hostile_query_strings_never_break_the_catalogue(client, as_trainee, shelf, query):
    response = client.get("/courses/?" + query)
    assert response.status_code == 200
    assert "<script>alert" not in text(response) and "<script>\"" not in text(response)


def test_nul_bytes_are_refused(client, as_trainee, shelf):
    assert client.get("/courses/?q=a%00b").status_code == 400
    assert client.get("/courses/my?x=%00").status_code == 400


def test_hostile_query_is_shown_escaped(client, as_trainee, shelf):
    page = text(client.get("/courses/", query_string={"q": '"><script>alert(1)</script>'}))
    assert "<script>alert(1)</script>" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page


def test_script_in_a_course_title_is_escaped(client, as_trainee, make_course):
    course = make_course("<script>alert('x')</script> Quyền")
    for url in ("/courses/", f"/courses/{course.id}", "/courses/?q=quyen"):
        page = text(client.get(url))
        assert "<script>alert('x')</script>" not in page and "&lt;script&gt;" in page


def test_anonymous_people_are_sent_to_log_in(client, shelf):
    crc = shelf["crc"]
    for url in ("/courses/", "/courses/my", f"/courses/{crc.id}", f"/courses/{crc.id}/lessons/{lessons_of(crc)[0].id}"):
        response = client.get(url)
        assert response.status_code == 302 and "/login" in response.location


# -- the course page ------------------------------------------------------------------------

def test_course_page_shows_description_syllabus_and_enrol_button(client, as_trainee, make_course, trainer):
    course = make_course("Quyền trẻ em", lessons=3)
    services.update_course(db.session, trainer, course, services.CourseInput(
        title=course.title, summary="Tóm tắt", description="## Mục tiêu\n\n**Hiểu** công ước <script>x()</script>",
        convention_ids=[c.id for c in course.conventions], content_ids=[c.id for c in course.contents],
        audiences=["legal_reporter"], credited_hours="1.5"))
    db.session.commit()
    response = client.get(f"/courses/{course.id}")
    assert response.status_code == 200
    page = text(response)
    assert "<strong>Hiểu</strong>" in page and "<script>x()" not in page
    assert "Bài 1" in page and "Bài 2" in page and "Bài 3" in page and "Phần 1" in page
    assert "Đăng ký học</button>" in page and f'action="/courses/{course.id}/enrol"' in page
    assert "<dd>2 tiết (1,5 giờ)</dd>" in page and "Lê Minh Đức" in page
    assert f'href="/courses/{course.id}/lessons/' not in page  # not enrolled: no way into lessons


def test_course_page_for_an_enrolled_trainee(client, as_trainee, make_course):
    course = make_course(lessons=3)
    enrol(course, as_trainee, due_on=date(2030, 1, 1))
    first, second, _ = lessons_of(course)
    services.mark_done(db.session, as_trainee, first, NOW)
    db.session.commit()
    page = text(client.get(f"/courses/{course.id}"))
    assert "Đăng ký học</button>" not in page and "Đang học" in page
    assert 'value="33"' in page and "Đã học 1/3 bài bắt buộc." in page
    assert f'href="/courses/{course.id}/lessons/{second.id}">\n            Học tiếp: Bài 2' in page
    assert page.count("✓ Đã học xong") == 1
    assert "Hạn hoàn thành: 01/01/2030" in page


def test_drafts_are_invisible_to_trainees_but_not_to_their_editors(client, auth, trainee, trainer, make_course):
    draft = make_course("Bản nháp", publish=False)
    lesson = lessons_of(draft)[0]
    auth.login(trainee.email)
    for url in (f"/courses/{draft.id}", f"/courses/{draft.id}/lessons/{lesson.id}"):
        assert client.get(url).status_code == 404
    assert client.post(f"/courses/{draft.id}/enrol").status_code == 404
    assert client.post(f"/courses/{draft.id}/lessons/{lesson.id}/done").status_code == 404
    assert count_rows(Enrolment) == 0 and count_rows(LessonProgress) == 0
    auth.logout()
    auth.login(trainer.email)
    page = text(client.get(f"/courses/{draft.id}"))
    assert "Bản nháp: chỉ người soạn thấy" in page
    assert f'href="/courses/teaching/{draft.id}"' in page  # the way back to editing it
    assert client.get(f"/courses/{draft.id}/lessons/{lesson.id}").status_code == 200


@pytest.mark.parametrize("url", [
    "/courses/0", "/courses/999999", "/courses/abc", "/courses/-1", "/courses/99999999999999999999",
    "/courses/1.5", "/courses/%00", "/courses/999999/lessons/1", "/courses/999999/materials/1",
    "/courses/1/lessons/abc", "/courses/1/lessons/999999", "/courses/1/materials/999999",
    "/courses/1/materials/-1",
])
def test_bad_ids_are_not_found(client, as_trainee, make_course, url):
    make_course()
    assert client.get(url).status_code in (404, 400)
    assert client.get(url).status_code != 500


# -- enrolment ------------------------------------------------------------------------------

def test_self_enrolment_once(client, as_trainee, make_course):
    course = make_course()
    response = client.post(f"/courses/{course.id}/enrol")
    assert response.status_code == 302 and response.location.endswith(f"/courses/{course.id}")
    assert "Đã đăng ký học khóa học “Quyền trẻ em”" in text(client.get(response.location))
    again = client.post(f"/courses/{course.id}/enrol", follow_redirects=True)
    assert again.status_code == 200 and "Bạn đã đăng ký học khóa học này rồi." in text(again)
    [enrolment] = enrolments(course, as_trainee)
    assert enrolment.source == EnrolmentSource.SELF and enrolment.status == EnrolmentStatus.ACTIVE
    assert client.get(f"/courses/{course.id}/lessons/{lessons_of(course)[0].id}").status_code == 200


def test_enrolment_refused_when_self_enrolment_is_closed(client, as_trainee, make_course):
    course = make_course(self_enrol=False)
    page = text(client.get(f"/courses/{course.id}"))
    assert "Đăng ký học</button>" not in page and "không nhận tự đăng ký học" in page
    response = client.post(f"/courses/{course.id}/enrol")
    assert response.status_code == 422
    assert "Khóa học này không cho phép tự đăng ký học." in text(response)
    assert count_rows(Enrolment) == 0


def test_withdrawn_trainee_may_enrol_again(client, as_trainee, make_course, trainer):
    course = make_course()
    enrol(course, as_trainee)
    services.withdraw(db.session, trainer, enrolments(course, as_trainee)[0], NOW)
    db.session.commit()
    assert client.get(f"/courses/{course.id}/lessons/{lessons_of(course)[0].id}").status_code == 403
    assert client.post(f"/courses/{course.id}/enrol").status_code == 302
    [enrolment] = enrolments(course, as_trainee)
    db.session.refresh(enrolment)
    assert enrolment.status == EnrolmentStatus.ACTIVE


def test_enrol_needs_post(client, as_trainee, make_course):
    course = make_course()
    assert client.get(f"/courses/{course.id}/enrol").status_code == 405
    assert count_rows(Enrolment) == 0


# -- lessons --------------------------------------------------------------------------------

def test_lessons_need_an_enrolment(client, as_trainee, make_course):
    course = make_course()
    lesson = lessons_of(course)[0]
    assert client.get(f"/courses/{course.id}/lessons/{lesson.id}").status_code == 403
    assert client.post(f"/courses/{course.id}/lessons/{lesson.id}/done").status_code == 403
    assert count_rows(LessonProgress) == 0
    enrol(course, as_trainee)
    response = client.get(f"/courses/{course.id}/lessons/{lesson.id}")
    assert response.status_code == 200
    page = text(response)
    assert "Nội dung <strong>bài 1</strong>" in page and "Bài 1/2" in page
    assert "Đánh dấu đã học xong" in page


def test_open_course_is_readable_without_enrolment(client, as_trainee, make_course):
    course = make_course("Khóa mở", open_access=True, with_pdf=True)
    lesson = lessons_of(course)[0]
    page = text(client.get(f"/courses/{course.id}"))
    assert f'href="/courses/{course.id}/lessons/{lesson.id}"' in page and "Đây là khóa mở" in page
    assert client.get(f"/courses/{course.id}/lessons/{lesson.id}").status_code == 200
    material = db.session.scalar(sa.select(Material))
    assert client.get(f"/courses/{course.id}/materials/{material.id}").status_code == 200
    response = client.post(f"/courses/{course.id}/lessons/{lesson.id}/done", follow_redirects=True)
    assert "hãy đăng ký học để được ghi nhận hoàn thành" in text(response)
    assert count_rows(LessonProgress) == 1 and count_rows(Enrolment) == 0


def test_lesson_of_another_course_is_not_found(client, as_trainee, make_course):
    mine, other = make_course("Của tôi"), make_course("Khóa khác")
    enrol(mine, as_trainee)
    enrol(other, as_trainee)
    foreign = lessons_of(other)[0]
    assert client.get(f"/courses/{mine.id}/lessons/{foreign.id}").status_code == 404
    assert client.post(f"/courses/{mine.id}/lessons/{foreign.id}/done").status_code == 404
    assert count_rows(LessonProgress) == 0


def test_previous_and_next_lesson(client, as_trainee, make_course):
    course = make_course(lessons=3)
    enrol(course, as_trainee)
    first, second, third = lessons_of(course)
    page = text(client.get(f"/courses/{course.id}/lessons/{second.id}"))
    assert f'rel="prev" href="/courses/{course.id}/lessons/{first.id}"' in page
    assert f'rel="next" href="/courses/{course.id}/lessons/{third.id}"' in page
    page = text(client.get(f"/courses/{course.id}/lessons/{first.id}"))
    assert 'rel="prev"' not in page
    page = text(client.get(f"/courses/{course.id}/lessons/{third.id}"))
    assert 'rel="next"' not in page and "Về trang khóa học" in page


def test_marking_done_completes_the_course_once(client, as_trainee, make_course, app):
    course = make_course(lessons=2)
    enrol(course, as_trainee)
    first, second = lessons_of(course)
    sent = []

    def receiver(sender, **kwargs):
        sent.append((kwargs["enrolment"].id, kwargs["now"]))

    course_completed.connect(receiver)
    try:
        response = client.post(f"/courses/{course.id}/lessons/{first.id}/done")
        assert response.status_code == 302
        assert "Đã đánh dấu bài “Bài 1” là đã học xong." in text(client.get(response.location))
        [enrolment] = enrolments(course, as_trainee)
        assert enrolment.completed_at is None and not sent

        response = client.post(f"/courses/{course.id}/lessons/{second.id}/done")
        assert response.status_code == 302 and response.location.endswith(f"/courses/{course.id}")
        page = text(client.get(response.location))
        assert "Chúc mừng! Bạn đã hoàn thành khóa học “Quyền trẻ em”." in page
        assert 'value="100"' in page and "Đã hoàn thành" in page
        db.session.refresh(enrolment)
        assert enrolment.status == EnrolmentStatus.COMPLETED and enrolment.completed_at is not None
        when = enrolment.completed_at
        assert len(sent) == 1 and sent[0][0] == enrolment.id

        # undo and redo: the completion stays as first recorded, and is not announced again
        assert client.post(f"/courses/{course.id}/lessons/{second.id}/undone").status_code == 302
        assert client.post(f"/courses/{course.id}/lessons/{second.id}/done").status_code == 302
        assert client.post(f"/courses/{course.id}/lessons/{second.id}/done").status_code == 302
        db.session.refresh(enrolment)
        assert enrolment.completed_at == when and len(sent) == 1
        assert count_rows(LessonProgress) == 2
    finally:
        course_completed.disconnect(receiver)


def test_mark_not_done(client, as_trainee, make_course):
    course = make_course(lessons=2)
    enrol(course, as_trainee)
    lesson = lessons_of(course)[0]
    client.post(f"/courses/{course.id}/lessons/{lesson.id}/done")
    page = text(client.get(f"/courses/{course.id}/lessons/{lesson.id}"))
    assert "✓ Đã học xong" in page and "Đánh dấu chưa học xong" in page and 'value="50"' in page
    response = client.post(f"/courses/{course.id}/lessons/{lesson.id}/undone", follow_redirects=True)
    assert "Đã bỏ đánh dấu bài “Bài 1”." in text(response) and 'value="0"' in text(response)
    assert count_rows(LessonProgress) == 0


def test_mark_done_needs_post(client, as_trainee, make_course):
    course = make_course()
    enrol(course, as_trainee)
    lesson = lessons_of(course)[0]
    assert client.get(f"/courses/{course.id}/lessons/{lesson.id}/done").status_code == 405
    assert count_rows(LessonProgress) == 0


def test_lesson_lists_materials(client, as_trainee, make_course, trainer):
    course = make_course(with_pdf=True)
    lesson = lessons_of(course)[0]
    services.add_link(db.session, trainer, lesson, "https://www.ohchr.org/en/instruments", "Văn bản gốc")
    services.add_file(db.session, trainer, lesson, io.BytesIO(docx_bytes()), "Bài tập.docx")
    db.session.commit()
    enrol(course, as_trainee)
    pdf, link, docx = db.session.scalars(sa.select(Material).order_by(Material.position))
    page = text(client.get(f"/courses/{course.id}/lessons/{lesson.id}"))
    assert 'href="https://www.ohchr.org/en/instruments" target="_blank" rel="noopener noreferrer"' in page
    assert f'href="/courses/{course.id}/materials/{pdf.id}" target="_blank" rel="noopener"' in page
    assert f'href="/courses/{course.id}/materials/{pdf.id}?download=1"' in page
    assert f'href="/courses/{course.id}/materials/{docx.id}"' not in page  # Office files are only downloaded
    assert f'href="/courses/{course.id}/materials/{docx.id}?download=1"' in page
    assert "Tài liệu bài 1.pdf" in page and "Bài tập.docx" in page


# -- materials ------------------------------------------------------------------------------

@pytest.fixture
def pdf_course(make_course, as_trainee):
    course = make_course(with_pdf=True)
    enrol(course, as_trainee)
    return course, db.session.scalar(sa.select(Material))


def test_material_is_served_with_its_type_name_and_etag(client, pdf_course):
    course, material = pdf_course
    response = client.get(f"/courses/{course.id}/materials/{material.id}")
    assert response.status_code == 200
    assert response.data == pdf_bytes()
    assert response.headers["Content-Type"] == "application/pdf"
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Content-Security-Policy"] == "default-src 'none'; sandbox"
    assert response.headers["ETag"] == f'"{hashlib.sha256(pdf_bytes()).hexdigest()}"'
    assert response.headers["Accept-Ranges"] == "bytes"
    # RFC 6266 / 5987: an ASCII fallback for old clients and the exact Vietnamese name
    assert response.headers["Content-Disposition"] == (
        "inline; filename=\"Tai lieu bai 1.pdf\"; filename*=UTF-8''T%C3%A0i%20li%E1%BB%87u%20b%C3%A0i%201.pdf")
    assert "no-store" in response.headers["Cache-Control"]
    again = client.get(f"/courses/{course.id}/materials/{material.id}",
                       headers={"If-None-Match": response.headers["ETag"]})
    assert again.status_code == 304 and again.data == b""


def test_material_download_is_an_attachment(client, pdf_course):
    course, material = pdf_course
    response = client.get(f"/courses/{course.id}/materials/{material.id}?download=1")
    assert response.status_code == 200
    assert response.headers["Content-Disposition"].startswith("attachment;")
    assert "T%C3%A0i%20li%E1%BB%87u%20b%C3%A0i%201.pdf" in response.headers["Content-Disposition"]


def test_office_files_are_always_attachments(client, as_trainee, make_course, trainer):
    course = make_course()
    lesson = lessons_of(course)[0]
    material = services.add_file(db.session, trainer, lesson, io.BytesIO(docx_bytes()), "Đề cương ôn tập.docx")
    db.session.commit()
    enrol(course, as_trainee)
    response = client.get(f"/courses/{course.id}/materials/{material.id}")
    assert response.status_code == 200 and response.data == docx_bytes()
    assert response.headers["Content-Type"] == \
        "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
    disposition = response.headers["Content-Disposition"]
    assert disposition.startswith("attachment;")
    assert "filename*=UTF-8''%C4%90%E1%BB%81%20c%C6%B0%C6%A1ng%20%C3%B4n%20t%E1%BA%ADp.docx" in disposition
    assert response.headers["Content-Security-Policy"] == "default-src 'none'; sandbox"


def test_range_requests(client, pdf_course):
    course, material = pdf_course
    url = f"/courses/{course.id}/materials/{material.id}"
    size = len(pdf_bytes())
    response = client.get(url, headers={"Range": "bytes=0-9"})
    assert response.status_code == 206
    assert response.data == pdf_bytes()[:10] and len(response.data) == 10
    assert response.headers["Content-Range"] == f"bytes 0-9/{size}"
    assert response.headers["Content-Length"] == "10"
    tail = client.get(url, headers={"Range": "bytes=-5"})
    assert tail.status_code == 206 and tail.data == pdf_bytes()[-5:]
    middle = client.get(url, headers={"Range": f"bytes=20-{size + 100}"})
    assert middle.status_code == 206 and middle.data == pdf_bytes()[20:]
    assert middle.headers["Content-Range"] == f"bytes 20-{size - 1}/{size}"
    head = client.head(url)
    assert head.status_code == 200 and head.data == b"" and head.headers["Content-Length"] == str(size)


def test_hostile_query_strings_on_course_lesson_and_material(client, pdf_course):
    course, material = pdf_course
    lesson = lessons_of(course)[0]
    for url in (f"/courses/{course.id}", f"/courses/{course.id}/lessons/{lesson.id}",
                f"/courses/{course.id}/materials/{material.id}", "/courses/my"):
        for query in ("?x=<script>alert(1)</script>", "?download=<script>", "?page=-1&q=%27", "?download=1&download=0"):
            response = client.get(url + query)
            assert response.status_code == 200, url + query
            assert b"<script>alert(1)" not in response.data


@pytest.mark.parametrize("header", ["bytes=100000-200000", "bytes=99999-"])
def test_unsatisfiable_range_is_416(client, pdf_course, header):
    course, material = pdf_course
    response = client.get(f"/courses/{course.id}/materials/{material.id}", headers={"Range": header})
    assert response.status_code == 416
    assert response.headers["Content-Range"] == f"bytes */{len(pdf_bytes())}"


@pytest.mark.parametrize("header", ["bytes=abc", "pages=1-2", "bytes=5-1", "bytes=", "bytes=0-1,,,"])
def test_malformed_range_is_ignored(client, pdf_course, header):
    course, material = pdf_course
    response = client.get(f"/courses/{course.id}/materials/{material.id}", headers={"Range": header})
    assert response.status_code in (200, 416)
    if response.status_code == 200:
        assert response.data == pdf_bytes()


def test_guessing_another_courses_material_is_not_found(client, auth, trainee, make_course, make_person, trainer):
    secret = make_course("Khóa của người khác", with_pdf=True)
    material = db.session.scalar(sa.select(Material))
    mine = make_course("Khóa của tôi")
    enrol(mine, trainee)
    auth.login(trainee.email)
    assert client.get(f"/courses/{secret.id}/materials/{material.id}").status_code == 404
    assert client.get(f"/courses/{mine.id}/materials/{material.id}").status_code == 404  # wrong course in URL
    assert client.get(f"/courses/{secret.id}/materials/{material.id}?download=1").status_code == 404
    assert client.get(f"/courses/{secret.id}/materials/{material.id + 1000}").status_code == 404
    # a draft's material, even for someone enrolled before it was unpublished
    enrol(secret, trainee)
    assert client.get(f"/courses/{secret.id}/materials/{material.id}").status_code == 200
    services.set_status(db.session, trainer, secret, "draft", NOW)
    db.session.commit()
    assert client.get(f"/courses/{secret.id}/materials/{material.id}").status_code == 404


def test_material_of_withdrawn_trainee_is_not_found(client, pdf_course, trainer, as_trainee):
    course, material = pdf_course
    services.withdraw(db.session, trainer, enrolments(course, as_trainee)[0], NOW)
    db.session.commit()
    assert client.get(f"/courses/{course.id}/materials/{material.id}").status_code == 404


def test_links_and_missing_files_are_not_served(client, pdf_course, trainer, app):
    course, material = pdf_course
    lesson = lessons_of(course)[0]
    link = services.add_link(db.session, trainer, lesson, "https://example.org/x", "Liên kết")
    db.session.commit()
    assert client.get(f"/courses/{course.id}/materials/{link.id}").status_code == 404
    from lms.storage import get_storage

    get_storage().delete(material.storage_key)
    assert client.get(f"/courses/{course.id}/materials/{material.id}").status_code == 404


def test_editor_may_open_materials_of_a_draft(client, auth, trainer, make_course):
    course = make_course(with_pdf=True, publish=False)
    material = db.session.scalar(sa.select(Material))
    auth.login(trainer.email)
    assert client.get(f"/courses/{course.id}/materials/{material.id}").status_code == 200


# -- My learning ----------------------------------------------------------------------------

def test_my_learning(client, as_trainee, make_course, trainer):
    overdue = make_course("Khóa quá hạn", lessons=2)
    current = make_course("Khóa đang học", lessons=3)
    finished = make_course("Khóa đã xong", lessons=1)
    withdrawn = make_course("Khóa đã rút", lessons=1)
    make_course("Khóa chưa ghi danh")
    enrol(overdue, as_trainee, due_on=date(2020, 1, 1))
    enrol(current, as_trainee, due_on=date.today() + timedelta(days=400))
    enrol(finished, as_trainee)
    enrol(withdrawn, as_trainee)
    services.withdraw(db.session, trainer, enrolments(withdrawn, as_trainee)[0], NOW)
    first, second, third = lessons_of(current)
    services.mark_done(db.session, as_trainee, first, NOW)
    services.mark_done(db.session, as_trainee, lessons_of(finished)[0], NOW)
    db.session.commit()

    response = client.get("/courses/my")
    assert response.status_code == 200
    page = text(response)
    active, done = page.split('id="completed-heading"')
    assert "Khóa quá hạn" in active and "Khóa đang học" in active and "Khóa đã xong" not in active
    assert "Quá hạn: hạn hoàn thành là 01/01/2020" in active and "border-danger" in active
    assert active.index("Khóa quá hạn") < active.index("Khóa đang học")
    card = active.split(f'href="/courses/{current.id}"')[1].split("</article>")[0]
    assert 'value="33"' in card and "Đã học 1/3 bài bắt buộc." in card
    assert f'href="/courses/{current.id}/lessons/{second.id}">Học bài “Bài 2”' in card
    assert "Khóa đã xong" in done and "01/03/2025" in done  # completed at NOW, shown in local time
    assert "Khóa đã rút" not in page and "Khóa chưa ghi danh" not in page


def test_my_learning_when_empty(client, as_trainee):
    page = text(client.get("/courses/my"))
    assert "Bạn chưa có khóa học nào đang học." in page and "Bạn chưa hoàn thành khóa học nào." in page
