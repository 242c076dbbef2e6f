"""``lms seed-demo`` grows a living catalogue: one published course per convention, Vietnamese
lessons quoting the reference data, a generated handout PDF in Be Vietnam Pro, and the demo
trainees at every stage of progress. Running it twice adds nothing."""

from __future__ import annotations

from datetime import date

import pytest
import sqlalchemy as sa

from courses import services
from courses.demo import COURSES, TRAINEE_EMAIL, TRAINER_EMAIL
from courses.handout import Handout, HandoutSection, render_pdf
from courses.models import (
    Convention,
    Course,
    CourseStatus,
    Enrolment,
    EnrolmentStatus,
    Lesson,
    LessonProgress,
    Material,
)
from lms.db import db
from lms.demo import DEMO_PASSWORD
from lms.models import Person
from lms.storage import get_storage
from tests.conftest import count_rows

CODES = {"ICCPR", "ICESCR", "CEDAW", "ICERD", "CRC", "CRPD", "CAT"}


@pytest.fixture
def seeded(runner):
    first = runner.invoke(args=["lms", "seed-demo"])
    assert first.exit_code == 0, first.output
    return first


def _counts():
    return tuple(count_rows(model) for model in (Course, Lesson, Material, Enrolment, LessonProgress))


def _demo_courses():
    trainer = db.session.scalar(sa.select(Person).where(Person.email == TRAINER_EMAIL))
    return list(db.session.scalars(sa.select(Course).where(Course.owner_id == trainer.id).order_by(Course.id)))


def test_seeding_twice_adds_nothing(seeded, runner, tmp_path):
    before = _counts()
    files_before = sorted(p for p in (tmp_path / "storage").rglob("*") if p.is_file())
    again = runner.invoke(args=["lms", "seed-demo"])
    assert again.exit_code == 0, again.output
    db.session.expire_all()
    assert _counts() == before
    assert sorted(p for p in (tmp_path / "storage").rglob("*") if p.is_file()) == files_before
    assert before[0] == 7 and before[2] == 7  # seven courses, one handout each


def test_seven_published_courses_one_per_convention(seeded):
    courses = _demo_courses()
    assert len(courses) == 7
    assert all(c.status == CourseStatus.PUBLISHED and c.published_at is not None for c in courses)
    assert sorted(c.conventions[0].code for c in courses) == sorted(CODES)
    assert all(len(c.conventions) == 1 for c in courses)
    for course in courses:
        assert 1 in {content.number for content in course.contents}, course.title
        assert course.audiences, course.title
        assert course.credited_hours > 0
        assert course.self_enrol
        lessons = [lesson for section in course.sections for lesson in section.lessons]
        assert 2 <= len(lessons) <= 3
        assert all(lesson.body_html and "<script" not in lesson.body_html for lesson in lessons)
        assert all(lesson.conventions == course.conventions for lesson in lessons)


def test_search_text_lets_the_catalogue_find_them_without_diacritics(seeded):
    titles = {c.conventions[0].code: c.search_text for c in _demo_courses()}
    assert "quyen tre em" in titles["CRC"]
    assert "nguoi khuyet tat" in titles["CRPD"]


def test_lessons_quote_the_reference_rows_not_fixed_years(seeded):
    """Editing a convention's dates (reference data) changes what a fresh seed writes."""
    courses = {c.conventions[0].code: c for c in _demo_courses()}
    crc = db.session.scalar(sa.select(Convention).where(Convention.code == "CRC"))
    history = courses["CRC"].sections[0].lessons[1]
    assert f"{crc.adopted_on:%d/%m/%Y}" in history.body_source
    assert f"{crc.vn_party_on:%d/%m/%Y}" in history.body_source
    assert "Công ước về quyền trẻ em" in history.body_html

    from courses.demo import COURSES as SPECS
    from courses.demo import lesson_texts

    crc.vn_party_on = None
    crc.vn_party_year = 2099
    spec = next(s for s in SPECS if s.code == "CRC")
    body = lesson_texts(spec, crc)[1][1]
    assert "năm 2099" in body
    db.session.rollback()


def test_each_course_has_three_lessons_in_vietnamese_with_a_handout_first(seeded):
    for course in _demo_courses():
        lessons = course.sections[0].lessons
        first = lessons[0]
        assert [m.kind.value for m in first.materials] == ["file"]
        handout = first.materials[0]
        assert handout.content_type == "application/pdf"
        assert handout.original_name.endswith(".pdf") and "Công ước" in handout.original_name
        assert all(not lesson.materials for lesson in lessons[1:])
        text = " ".join(lesson.body_source for lesson in lessons)
        assert "Việt Nam" in text and "Điều" in text


def test_the_handout_is_a_real_pdf_with_the_font_embedded(seeded):
    storage = get_storage()
    for course in _demo_courses():
        material = course.sections[0].lessons[0].materials[0]
        with storage.open(material.storage_key) as handle:
            data = handle.read()
        assert data.startswith(b"%PDF-")
        assert data.rstrip().endswith(b"%%EOF")
        assert len(data) == material.size
        assert b"BeVietnamPro-Regular" in data and b"BeVietnamPro-Bold" in data
        assert b"/FontFile2" in data  # the TrueType program itself is embedded


def test_handout_rendering_is_deterministic_and_survives_markup_like_text():
    handout = Handout(title="Tài liệu <b>& thử", sections=[HandoutSection("Đề mục", ["Đoạn <i>văn"], ["Ý 1"])],
                      when=date(2025, 1, 1))
    first, second = render_pdf(handout), render_pdf(handout)
    assert first == second and first.startswith(b"%PDF-")


def test_demo_trainees_are_at_different_stages(seeded):
    trainee = db.session.scalar(sa.select(Person).where(Person.email == TRAINEE_EMAIL))
    rows = db.session.scalars(sa.select(Enrolment).where(Enrolment.person_id == trainee.id)).all()
    assert len(rows) == 3
    percents = sorted(services.progress_for(db.session, e).percent for e in rows)
    assert percents[0] == 0 and 0 < percents[1] < 100 and percents[2] == 100
    completed = [e for e in rows if e.status == EnrolmentStatus.COMPLETED]
    assert len(completed) == 1 and completed[0].completed_at is not None

    everyone = db.session.scalars(sa.select(Enrolment)).all()
    statuses = {e.status for e in everyone}
    assert statuses == {EnrolmentStatus.ACTIVE, EnrolmentStatus.COMPLETED}
    assert sum(e.status == EnrolmentStatus.COMPLETED for e in everyone) >= 5


def test_completions_agree_with_the_rule(seeded):
    for enrolment in db.session.scalars(sa.select(Enrolment)):
        progress = services.progress_for(db.session, enrolment)
        assert (enrolment.status == EnrolmentStatus.COMPLETED) == progress.complete


def test_seeding_without_the_platform_demo_does_nothing(app):
    from courses.demo import seed_courses

    assert seed_courses(db.session) == []
    db.session.commit()
    assert count_rows(Course) == 0


def test_every_spec_names_a_known_convention():
    assert {spec.code for spec in COURSES} == CODES


def test_the_demo_trainee_sees_my_learning(seeded, client, auth):
    response = auth.login(TRAINEE_EMAIL, DEMO_PASSWORD)
    assert response.status_code == 302
    page = client.get("/courses/my")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    if "Quyền trẻ em: Công ước CRC" in html:  # the real page (not a placeholder)
        assert "Bình đẳng giới: Công ước CEDAW" in html
        assert "Quyền dân sự và chính trị: Công ước ICCPR" in html



def test_descriptions_state_the_contents_the_course_is_tagged_with(seeded):
    """Each course says which of the five contents it belongs to, from its own tags (not one
    fixed sentence for all)."""
    for course in _demo_courses():
        numbers = [c.number for c in course.contents]
        named = [f"{c.number} ({c.short_vi})" for c in course.contents]
        listed = named[0] if len(named) == 1 else f"{', '.join(named[:-1])} và {named[-1]}"
        assert f"nội dung truyền thông số {listed} của Kế hoạch" in course.description_source, course.title
        assert "thuộc nội dung 1 của" not in course.description_source
        missing = set(range(1, 6)) - set(numbers)
        assert all(f" {n} (" not in course.description_source.split("Khóa học thuộc")[1] for n in missing)
    icescr = next(c for c in _demo_courses() if c.conventions[0].code == "ICESCR")
    assert ("các nội dung truyền thông số 1 (Luật pháp quốc tế về quyền con người), 2 (Chủ trương, chính sách, "
            "pháp luật về quyền con người) và 3 (Thành tựu bảo đảm quyền con người)") in icescr.description_source


def test_contents_sentence_for_one_content_and_none(app):
    from courses.demo import contents_sentence
    from tests.courses.conftest import content

    assert contents_sentence([content(4)]) == (
        "Khóa học thuộc nội dung truyền thông số 4 (Đấu tranh với hành vi lợi dụng quyền con người) của Kế hoạch "
        "triển khai Đề án truyền thông về quyền con người ở Việt Nam.")
    assert contents_sentence([]) == ""


def test_demo_law_is_current():
    """The Constitution as amended in 2025; juvenile procedure under the Law on Juvenile Justice
    2024 (in force from 1 January 2026)."""
    import re

    texts = [line for spec in COURSES for line in (*spec.domestic, *spec.asks, *spec.protects, spec.note)]
    constitution = [line for line in texts if "Hiến pháp" in line]
    assert len(constitution) >= 7
    assert all(re.search(r"Hiến pháp năm 2013 \(được sửa đổi, bổ sung năm 2025\)", line) for line in constitution)
    crc = next(spec for spec in COURSES if spec.code == "CRC")
    assert any("Luật Tư pháp người chưa thành niên số 59/2024/QH15, có hiệu lực từ ngày 01/01/2026" in line
               for line in crc.domestic)
    assert not any("dưới 18 tuổi" in line and "Tố tụng hình sự" in line for line in texts)


def test_demo_hours_are_whole_tiet():
    from courses.credit import periods

    assert all(periods(spec.hours) == periods(spec.hours).to_integral_value() for spec in COURSES)
