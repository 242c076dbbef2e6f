"""Fixtures for the courses feature: trainers, trainees and courses built through the services."""

from __future__ import annotations

import io
from datetime import UTC, datetime, timezone

import pytest
import sqlalchemy as sa

from courses import services
from courses.models import ContentArea, Convention, CourseStatus
from lms.db import db

NOW = datetime(2025, 3, 1, 3, 0, tzinfo=UTC)


def pdf_bytes(text: str = "Tài liệu") -> bytes:
    """A tiny valid PDF."""
    body = (b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n2 0 obj<</Type/Pages/Count 0/Kids[]>>endobj\n"
            b"trailer<</Root 1 0 R>>\n%%EOF\n")
    return body + f"% {text}\n".encode()


@pytest.fixture
def trainer(make_person):
    return make_person(name="Lê Minh Đức", email="trainer@example.vn", roles=("trainer",))


@pytest.fixture
def trainee(make_person):
    return make_person(name="Phạm Thị Lan", email="trainee@example.vn", roles=("trainee",))


def convention(code: str) -> Convention:
    return db.session.scalar(sa.select(Convention).where(Convention.code == code))


def content(number: int) -> ContentArea:
    return db.session.scalar(sa.select(ContentArea).where(ContentArea.number == number))


@pytest.fixture
def make_course(app, trainer):
    """Build a course: ``make_course(title, lessons=2, publish=True, conventions=("CRC",), ...)``."""

    def make(title="Quyền trẻ em", *, owner=None, lessons=2, publish=True, conventions=("CRC",), contents=(1,),
             audiences=("legal_reporter",), self_enrol=True, open_access=False, required=True, summary="",
             with_pdf=False, hours=2):
        owner = owner or trainer
        course = services.create_course(db.session, owner, services.CourseInput(
            title=title, summary=summary or f"Tóm tắt {title}",
            convention_ids=[convention(c).id for c in conventions], content_ids=[content(n).id for n in contents],
            audiences=list(audiences), credited_hours=hours, self_enrol=self_enrol, open_access=open_access))
        section = services.add_section(db.session, owner, course, "Phần 1")
        for i in range(lessons):
            lesson = services.add_lesson(db.session, owner, section, services.LessonInput(
                title=f"Bài {i + 1}", body=f"Nội dung **bài {i + 1}**", required=required), NOW)
            if with_pdf and i == 0:
                services.add_file(db.session, owner, lesson, io.BytesIO(pdf_bytes()), "Tài liệu bài 1.pdf")
        if publish and lessons:
            services.set_status(db.session, owner, course, CourseStatus.PUBLISHED, NOW)
        db.session.commit()
        return course

    return make
