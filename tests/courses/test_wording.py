"""Wording of the course screens: one Vietnamese word that means two things gets a message
context; one verb for enrolling oneself and one for enrolling others; credited time in tiết as
well as hours."""

from __future__ import annotations

import io
import re
import shlex
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import pytest
import sqlalchemy as sa
from babel.messages.catalog import Catalog
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.support import Translations

from courses import services
from courses.credit import credit_label, periods
from courses.models import Enrolment, EnrolmentSource, EnrolmentStatus, Lesson
from lms.db import db
from tests.courses.conftest import NOW

ROOT = Path(__file__).resolve().parents[2]


def text(response) -> str:
    return response.get_data(as_text=True)


# -- message contexts -----------------------------------------------------------------------

def test_extraction_keeps_the_breadcrumb_and_the_link_address_apart(tmp_path):
    """``make extract-messages`` (its own command line) gives "Đường dẫn" twice, once per
    context, so the English can say "Breadcrumb" on one and "Link (URL)" on the other."""
    makefile = (ROOT / "Makefile").read_text(encoding="utf-8")
    line = next(x for x in makefile.splitlines() if "pybabel extract" in x)
    args = shlex.split(line.replace("$(VENV)/bin/pybabel", "pybabel"))
    args[args.index("-o") + 1] = str(tmp_path / "messages.pot")
    pybabel = Path(sys.executable).with_name("pybabel")
    subprocess.run([str(pybabel), *args[1:]], cwd=ROOT, check=True, capture_output=True)
    with open(tmp_path / "messages.pot", "rb") as fp:
        catalog = read_po(fp)
    assert catalog.get("Đường dẫn", context="breadcrumb") is not None
    assert catalog.get("Đường dẫn", context="url") is not None
    assert catalog.get("Đường dẫn") is None  # no context-free "Đường dẫn" left to be translated one way


@pytest.fixture
def english_catalogue(app, monkeypatch):
    """An English catalogue that translates the two "Đường dẫn" differently (the real one is
    filled from the extracted messages by the translators)."""
    catalog = Catalog(locale="en")
    catalog.add("Đường dẫn", "Breadcrumb", context="breadcrumb")
    catalog.add("Đường dẫn", "Link (URL)", context="url")
    buffer = io.BytesIO()
    write_mo(buffer, catalog)
    buffer.seek(0)
    translations = Translations(fp=buffer)
    import flask_babel

    monkeypatch.setattr(flask_babel.Domain, "get_translations", lambda self: translations)
    return translations


def test_link_field_and_breadcrumb_are_translated_by_context(client, auth, trainer, make_course,
                                                             english_catalogue):
    course = make_course("Quyền trẻ em", publish=False)
    lesson = db.session.scalar(sa.select(Lesson).where(Lesson.course_id == course.id))
    auth.login(trainer.email)
    page = text(client.get(f"/courses/teaching/{course.id}/lessons/{lesson.id}"))
    assert '<nav aria-label="Breadcrumb">' in page
    assert re.search(r'<label[^>]*for="link-url"[^>]*>Link \(URL\)</label>', page), page


def test_template_pgettext_and_lazy_pgettext_escape_like_gettext(app):
    from flask import render_template_string

    from lms.i18n import lazy_pgettext, msgid

    with app.test_request_context("/"):
        assert render_template_string("{{ pgettext('breadcrumb', 'Đường dẫn') }}") == "Đường dẫn"
        assert render_template_string("{{ pgettext('x', 'Tên: %(n)s', n='<b>') }}") == "Tên: &lt;b&gt;"
        label = lazy_pgettext("url", "Đường dẫn")
        assert str(label) == "Đường dẫn" and msgid(label) == "Đường dẫn"
        assert render_template_string("{{ v }}", v=lazy_pgettext("x", "<%(n)s>", n="<i>")) == "&lt;&lt;i&gt;&gt;"


# -- credited time in tiết and hours --------------------------------------------------------

@pytest.mark.parametrize("hours,expected", [
    (6, "8.0"), ("1.5", "2.0"), (3, "4.0"), (2, "2.7"), ("2.5", "3.3"), (0, "0.0"), (None, "0.0"), ("0.1", "0.1"),
    (Decimal("1000"), "1333.3"),
])
def test_periods_are_45_minutes(hours, expected):
    assert periods(hours) == Decimal(expected)


def test_credit_label_says_tiet_and_hours(app):
    with app.test_request_context("/"):
        assert credit_label(Decimal("6")) == "8 tiết (6 giờ)"
        assert credit_label(Decimal("1.5")) == "2 tiết (1,5 giờ)"
        assert credit_label(Decimal("2")) == "2,7 tiết (2 giờ)"


def test_every_page_showing_credited_time_shows_tiet(client, auth, trainer, trainee, make_course):
    course = make_course("Quyền trẻ em", hours=Decimal("3"))
    services.enrol_people(db.session, trainer, course, [trainee.id], EnrolmentSource.INDIVIDUAL, None, NOW)
    enrolment = db.session.scalar(sa.select(Enrolment).where(Enrolment.course_id == course.id))
    enrolment.status, enrolment.completed_at = EnrolmentStatus.COMPLETED, NOW
    db.session.commit()
    auth.login(trainee.email)
    for url in ("/courses/", f"/courses/{course.id}", "/courses/my"):
        assert "4 tiết (3 giờ)" in text(client.get(url)), url
    auth.logout()
    auth.login(trainer.email)
    for url in (f"/courses/teaching/{course.id}", f"/courses/teaching/{course.id}/preview"):
        assert "4 tiết (3 giờ)" in text(client.get(url)), url
    assert "1 tiết = 45 phút" in text(client.get(f"/courses/teaching/{course.id}/edit"))


# -- one verb for enrolling oneself, one for enrolling others -------------------------------

#: Wordings the courses feature no longer uses: enrolling oneself is "đăng ký học", enrolling
#: others is "ghi danh"; "Học tập của tôi" is "Khóa học của tôi".
RETIRED = ("tự ghi danh", "Ghi danh khóa học", "Đã ghi danh khóa học", "chưa ghi danh:", "Bạn đã ghi danh",
           "Bạn chưa ghi danh", "hãy ghi danh", "và ghi danh", "không cần ghi danh", "Học tập của tôi",
           "Tham gia khóa học", "tham gia khóa học")


def test_courses_use_one_verb_for_each_way_of_enrolling():
    # the menu (courses/views/nav.py) is worded with the rest of the navigation
    sources = [p for p in (ROOT / "courses").rglob("*")
               if p.suffix in {".py", ".html"} and p != ROOT / "courses" / "views" / "nav.py"]
    found = [(p.relative_to(ROOT).as_posix(), phrase) for p in sources
             for phrase in RETIRED if phrase in p.read_text(encoding="utf-8")]
    assert found == []


def test_self_enrolment_says_dang_ky_hoc(client, auth, trainee, make_course):
    course = make_course("Quyền trẻ em")
    auth.login(trainee.email)
    assert ">Có thể tự đăng ký học<" in text(client.get("/courses/"))
    page = text(client.get(f"/courses/{course.id}"))
    assert '<button class="btn btn-primary w-100" type="submit">Đăng ký học</button>' in page
    done = text(client.post(f"/courses/{course.id}/enrol", follow_redirects=True))
    assert "Đã đăng ký học khóa học “Quyền trẻ em”. Chúc bạn học tốt!" in done
    assert ">Đang học</span>" in done
    my = text(client.get("/courses/my"))
    assert "<title>Khóa học của tôi" in my and '<h1 class="h3 mb-0">Khóa học của tôi</h1>' in my
    assert ">Khóa học của tôi</a>" in text(client.get("/courses/"))
