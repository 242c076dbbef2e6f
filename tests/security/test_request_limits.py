"""Request bodies are held to their limits before they are parsed (issue 7).

An anonymous urlencoded POST of ~19 MB with millions of fields held a worker for seconds on any
URL: werkzeug caps multipart bodies (parts, part size) but reads an urlencoded body whole and
splits every field. Here such bodies are refused with a 413 page in Vietnamese before a field is
split (the parser is spied on), nothing is written, and ordinary forms and the course editors'
large uploads still work.
"""

from __future__ import annotations

import io

import pytest
import sqlalchemy as sa
import werkzeug.formparser

from courses.forms import ENROL_PICK_MAX
from courses.models import Lesson, Material
from lms.config import ConfigError, load_config
from lms.db import db
from lms.models import AuditEntry, LoginSession
from tests.conftest import TEST_PASSWORD, count_rows
from tests.courses.conftest import make_course, trainer  # noqa: F401  (fixtures)
from tests.security import login, world  # noqa: F401  (fixture)

MB = 1024 * 1024
URLENCODED = "application/x-www-form-urlencoded"
MANY_FIELDS = b"&".join(b"f%d=" % i for i in range(200_000))  # 200k fields, ~1.4 MB
HUGE = b"email=x&password=" + b"%41" * (19 * MB // 3)  # ~19 MB, one field


@pytest.fixture
def split_calls(monkeypatch):
    """Every urlencoded body werkzeug splits into fields (it must never see a refused one)."""
    calls = []
    real = werkzeug.formparser.parse_qsl

    def spy(text, *args, **kwargs):
        calls.append(len(text))
        return real(text, *args, **kwargs)

    monkeypatch.setattr(werkzeug.formparser, "parse_qsl", spy)
    return calls


def written():
    return count_rows(AuditEntry), count_rows(LoginSession)


def refused(response) -> bool:
    page = response.get_data(as_text=True)
    return response.status_code == 413 and "Dữ liệu gửi lên quá lớn" in page and "Không có gì được lưu" in page


class CountingStream(io.RawIOBase):
    """A chunked body of ``size`` bytes that counts how much of it was read."""

    def __init__(self, size: int):
        self.left = size
        self.read_bytes = 0

    def readable(self):
        return True

    def readinto(self, buffer):
        n = min(len(buffer), self.left)
        buffer[:n] = b"a" * n
        self.left -= n
        self.read_bytes += n
        return n


def test_anonymous_bodies_are_refused_before_parsing(app, world, split_calls):
    client = app.test_client()
    before = written()
    for body in (MANY_FIELDS, HUGE):
        for path in ("/login", "/", "/no/such/page"):
            response = client.post(path, data=body, content_type=URLENCODED)
            assert refused(response), (path, len(body), response.status_code)
    # refused on the declared length: the body is not even read, let alone split
    assert split_calls == []
    assert written() == before


def test_too_many_fields_are_refused_even_under_the_size_limit(app_factory, world, split_calls):
    roomy = app_factory(LMS_MAX_ANONYMOUS_FORM_KB=4096, LMS_MAX_FORM_KB=4096)
    with roomy.app_context():
        before = written()
        response = roomy.test_client().post("/login", data=MANY_FIELDS, content_type=URLENCODED)
        assert refused(response)
        signed_in = login(roomy, world.trainer.email)
        split_calls.clear()
        after_login = written()
        response = signed_in.post("/courses/teaching/new", data=MANY_FIELDS, content_type=URLENCODED)
        assert refused(response) and split_calls == [] and written() == after_login
        assert after_login[1] == before[1] + 1  # the one log-in; nothing from the refused requests


def test_signed_in_users_get_the_form_limit_not_the_upload_limit(app, world, split_calls):
    """MAX_CONTENT_LENGTH (20 MB) is for uploads; a form of ~19 MB is refused."""
    client = login(app, world.trainer.email)
    split_calls.clear()
    before = written()
    response = client.post("/courses/teaching/new", data=HUGE, content_type=URLENCODED)
    assert refused(response) and split_calls == [] and written() == before
    # other content types are held to the same limit
    response = client.post("/courses/teaching/new", data=b"{}" + b" " * (3 * MB), content_type="application/json")
    assert response.status_code == 413


def test_a_chunked_body_without_length_is_read_only_up_to_the_limit(app, split_calls):
    stream = CountingStream(19 * MB)
    response = app.test_client().post("/login", content_type=URLENCODED, headers={"Transfer-Encoding": "chunked"},
                                      environ_overrides={"wsgi.input": stream, "wsgi.input_terminated": True})
    assert refused(response)
    cap = app.config["LMS_MAX_ANONYMOUS_FORM_KB"] * 1024
    assert stream.read_bytes <= cap + 64 * 1024 and split_calls == []


def test_anonymous_multipart_is_held_to_the_anonymous_limit(app, split_calls):
    body = {"email": "x@example.vn", "file": (io.BytesIO(b"x" * (200 * 1024)), "a.pdf")}
    response = app.test_client().post("/login", data=body, content_type="multipart/form-data")
    assert refused(response)
    many = {f"f{i}": "x" for i in range(app.config["LMS_MAX_ANONYMOUS_FORM_FIELDS"] + 1)}
    response = app.test_client().post("/login", data=many, content_type="multipart/form-data")
    assert response.status_code == 413


def test_ordinary_forms_still_work(app, world, split_calls):
    client = app.test_client()
    response = client.post("/login", data={"email": world.trainer.email, "password": TEST_PASSWORD})
    assert response.status_code == 302 and split_calls
    # a field limit that leaves room for the largest legitimate form: people ticked for enrolment
    assert app.config["LMS_MAX_FORM_FIELDS"] >= ENROL_PICK_MAX + 100
    assert app.config["MAX_FORM_PARTS"] == app.config["LMS_MAX_FORM_FIELDS"]


def test_a_long_vietnamese_lesson_is_still_saved(app, make_course, trainer):  # noqa: F811
    """The longest lesson body (200 000 characters, every one percent-encoded as Vietnamese text
    is) fits the signed-in form limit."""
    course = make_course(publish=False)
    lesson = db.session.scalar(sa.select(Lesson).where(Lesson.course_id == course.id).order_by(Lesson.id))
    body = ("Quyền con người được tôn trọng, bảo đảm. " * 5000)[:200_000]
    client = login(app, trainer.email)
    response = client.post(f"/courses/teaching/{course.id}/lessons/{lesson.id}",
                           data={"title": "Bài dài", "body": body, "minutes": "10", "required": "y"})
    assert response.status_code == 302
    db.session.expire_all()
    assert db.session.get(Lesson, lesson.id).body_source == body


def test_course_editors_large_uploads_still_work(app_factory, trainer, make_course):  # noqa: F811
    big = app_factory(LMS_MAX_UPLOAD_MB=1, LMS_MAX_VIDEO_MB=3, MAX_CONTENT_LENGTH=1 * MB)
    with big.app_context():
        course = make_course(publish=False)
        lesson = db.session.scalar(sa.select(Lesson).where(Lesson.course_id == course.id).order_by(Lesson.id))
        video = b"\x00\x00\x00\x18ftypmp42\x00\x00\x00\x00mp42isom\x00\x00\x00\x08free" + b"\x00" * (2 * MB)
        client = login(big, trainer.email)
        response = client.post(f"/courses/teaching/{course.id}/lessons/{lesson.id}/materials/file",
                               data={"upload-file": (io.BytesIO(video), "bài giảng.mp4")},
                               content_type="multipart/form-data")
        assert response.status_code == 302
        assert count_rows(Material) == 1


def test_limits_are_read_from_the_environment(tmp_path):
    config = load_config(str(tmp_path), env={"LMS_ENV": "development", "LMS_MAX_FORM_KB": "512",
                                             "LMS_MAX_FORM_FIELDS": "3000", "LMS_MAX_ANONYMOUS_FORM_KB": "32",
                                             "LMS_MAX_ANONYMOUS_FORM_FIELDS": "50"})
    assert (config["LMS_MAX_FORM_KB"], config["LMS_MAX_FORM_FIELDS"], config["MAX_FORM_PARTS"],
            config["LMS_MAX_ANONYMOUS_FORM_KB"], config["LMS_MAX_ANONYMOUS_FORM_FIELDS"]) == (512, 3000, 3000, 32, 50)
    with pytest.raises(ConfigError, match="LMS_MAX_FORM_FIELDS"):
        load_config(str(tmp_path), env={"LMS_ENV": "development", "LMS_MAX_FORM_FIELDS": "many"})
