"""File storage (lms/storage.py): local disk and S3 (moto) behave the same way.

Both backends store, measure, open and delete files under generated keys, refuse keys that
could escape their root, and serve files through the app with the right type, ``nosniff``, a
Content-Disposition that keeps Vietnamese names (RFC 6266/5987), ETags and byte ranges.
Files follow the database transaction: one stored in a transaction that rolls back is deleted,
one scheduled for deletion goes only when the transaction commits.
"""

from __future__ import annotations

import errno
import hashlib
import io
import shutil
from urllib.parse import unquote

import pytest
import sqlalchemy as sa
from flask import request
from werkzeug.http import parse_options_header

from courses import services
from courses.models import CourseStatus, Material
from lms.actors import SYSTEM
from lms.db import db
from lms.storage import LocalStorage, S3Storage, StorageError, delete_after_commit, get_storage, track_new
from tests.conftest import TEST_PASSWORD, count_rows
from tests.courses.conftest import NOW, pdf_bytes

BUCKET = "test-bucket"
DATA = bytes(range(256)) * 40  # 10 240 bytes, every byte value
VIETNAMESE_NAME = "Tài liệu Công ước Quyền trẻ em – bản đọc.pdf"
BAD_KEYS = ["../outside.txt", "a/../../outside.txt", "materials/../../x", "/etc/passwd", "/abs/key",
            ".hidden", "a\\b.txt", "a\x00b", "a\nb", "", "a//b"]


def _serve_view():
    """A stand-in for the material views: serve ``key`` with the options in the query string."""
    return get_storage().serve(
        request.args["key"], mimetype=request.args.get("type", "application/pdf"),
        download_name=request.args.get("name", "tep.pdf"), as_attachment=request.args.get("attachment") == "1",
        etag=request.args.get("etag") or None)


def _with_test_route(application):
    application.add_url_rule("/_test/storage", "test_storage_serve", _serve_view)
    return application


@pytest.fixture
def aws_env(monkeypatch, tmp_path):
    """Dummy credentials so boto3 never looks for real ones (moto intercepts every call)."""
    for name in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_SECURITY_TOKEN", "AWS_ENDPOINT_URL"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-aws-config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "no-aws-credentials"))


@pytest.fixture
def s3(aws_env):
    """A moto-mocked S3 with the test bucket; yields a boto3 client to look inside it."""
    import boto3
    from moto import mock_aws

    with mock_aws():
        client = boto3.client("s3", region_name="us-east-1")
        client.create_bucket(Bucket=BUCKET)
        yield client


def _objects(client, bucket=BUCKET) -> list[str]:
    return [o["Key"] for o in client.list_objects_v2(Bucket=bucket).get("Contents", [])]


@pytest.fixture
def s3_app(app_factory, s3):
    application = _with_test_route(app_factory(LMS_STORAGE="s3", LMS_S3_BUCKET=BUCKET, LMS_S3_REGION="us-east-1"))
    with application.app_context():
        yield application


@pytest.fixture(params=["local", "s3"])
def store_app(request, app_factory, tmp_path):
    """The app on each backend, with a test route that serves a stored key."""
    if request.param == "local":
        application = _with_test_route(app_factory(LMS_STORAGE_PATH=str(tmp_path / "files")))
    else:
        request.getfixturevalue("s3")
        application = _with_test_route(app_factory(LMS_STORAGE="s3", LMS_S3_BUCKET=BUCKET,
                                                   LMS_S3_REGION="us-east-1"))
    with application.app_context():
        yield application


@pytest.fixture
def storage(store_app):
    return get_storage()


@pytest.fixture
def stored(storage):
    """A file stored under a generated-looking key; returns the key."""
    key = "materials/ab/Xk3-file.pdf"
    storage.put(key, io.BytesIO(DATA), "application/pdf")
    return key


def fetch(app, key, headers=None, method="get", **options):
    query = {"key": key, **{k: v for k, v in options.items() if v is not None}}
    return getattr(app.test_client(), method)("/_test/storage", query_string=query, headers=headers or {})


# -- the basic operations -------------------------------------------------------------------

def test_the_backend_is_the_configured_one(store_app):
    kind = store_app.config["LMS_STORAGE"]
    assert isinstance(get_storage(), S3Storage if kind == "s3" else LocalStorage)


def test_put_exists_size_open_delete(storage):
    key = "materials/0f/abc.pdf"
    assert not storage.exists(key)
    storage.put(key, io.BytesIO(DATA), "application/pdf")
    assert storage.exists(key)
    assert storage.size(key) == len(DATA)
    handle = storage.open(key)
    try:
        assert handle.read() == DATA
    finally:
        handle.close()
    storage.delete(key)
    assert not storage.exists(key)
    storage.delete(key)  # deleting what is gone is not an error


def test_put_reads_the_source_from_its_start_and_replaces(storage):
    key = "materials/0f/again.pdf"
    source = io.BytesIO(b"first version")
    source.read()  # the caller has already consumed it (checksumming, sniffing)
    storage.put(key, source, "application/pdf")
    assert storage.size(key) == len(b"first version")
    storage.put(key, io.BytesIO(b"v2"), "application/pdf")
    with storage.open(key) as handle:
        assert handle.read() == b"v2"


def test_an_empty_file_is_stored(storage):
    storage.put("materials/00/empty.pdf", io.BytesIO(b""), "application/pdf")
    assert storage.exists("materials/00/empty.pdf")
    assert storage.size("materials/00/empty.pdf") == 0


@pytest.mark.parametrize("key", BAD_KEYS)
def test_keys_that_could_escape_are_refused(storage, key):
    for operation in (lambda: storage.put(key, io.BytesIO(b"x"), "text/plain"), lambda: storage.exists(key),
                      lambda: storage.open(key), lambda: storage.delete(key), lambda: storage.size(key)):
        with pytest.raises(StorageError):
            operation()


def test_local_keys_never_write_outside_the_root(tmp_path):
    root = tmp_path / "root"
    root.mkdir()
    storage = LocalStorage(root)
    for key in BAD_KEYS:
        with pytest.raises(StorageError):
            storage.put(key, io.BytesIO(b"x"), "text/plain")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["root"]
    assert list(root.rglob("*")) == []


def test_local_disk_full_raises_storage_error_and_leaves_no_temporary_file(tmp_path, monkeypatch):
    storage = LocalStorage(tmp_path)

    def full(*args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(shutil, "copyfileobj", full)
    with pytest.raises(StorageError):
        storage.put("materials/aa/full.pdf", io.BytesIO(DATA), "application/pdf")
    assert [p for p in tmp_path.rglob("*") if p.is_file()] == []


def test_s3_unreachable_bucket_raises_storage_error(app_factory, s3):
    application = app_factory(LMS_STORAGE="s3", LMS_S3_BUCKET="no-such-bucket", LMS_S3_REGION="us-east-1")
    with application.app_context():
        with pytest.raises(StorageError):
            get_storage().put("materials/aa/x.pdf", io.BytesIO(b"x"), "application/pdf")


def test_s3_stores_under_the_prefix_with_the_content_type(app_factory, s3):
    application = app_factory(LMS_STORAGE="s3", LMS_S3_BUCKET=BUCKET, LMS_S3_REGION="us-east-1",
                              LMS_S3_PREFIX="/lms/")
    with application.app_context():
        storage = get_storage()
        storage.put("materials/aa/x.pdf", io.BytesIO(DATA), "application/pdf")
        assert storage.exists("materials/aa/x.pdf")
    assert _objects(s3) == ["lms/materials/aa/x.pdf"]
    assert s3.head_object(Bucket=BUCKET, Key="lms/materials/aa/x.pdf")["ContentType"] == "application/pdf"


# -- serving --------------------------------------------------------------------------------

def test_serve_whole_file(store_app, stored):
    response = fetch(store_app, stored, etag="v1")
    assert response.status_code == 200
    assert response.data == DATA
    assert response.mimetype == "application/pdf"
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Accept-Ranges"] == "bytes"
    assert int(response.headers["Content-Length"]) == len(DATA)


def test_serve_head_gives_the_length_without_the_body(store_app, stored):
    response = fetch(store_app, stored, method="head")
    assert response.status_code == 200
    assert response.data == b""
    assert int(response.headers["Content-Length"]) == len(DATA)


@pytest.mark.parametrize("header, start, stop", [
    ("bytes=0-99", 0, 100),
    ("bytes=100-199", 100, 200),
    ("bytes=10000-", 10000, len(DATA)),
    ("bytes=-40", len(DATA) - 40, len(DATA)),
    ("bytes=10200-99999", 10200, len(DATA)),  # the end is clipped to the file
])
def test_serve_a_byte_range(store_app, stored, header, start, stop):
    response = fetch(store_app, stored, headers={"Range": header})
    assert response.status_code == 206
    assert response.headers["Content-Range"] == f"bytes {start}-{stop - 1}/{len(DATA)}"
    assert int(response.headers["Content-Length"]) == stop - start
    assert response.data == DATA[start:stop]


@pytest.mark.parametrize("header", [f"bytes={len(DATA)}-", f"bytes={len(DATA) + 5}-{len(DATA) + 10}"])
def test_an_unsatisfiable_range_is_416(store_app, stored, header):
    response = fetch(store_app, stored, headers={"Range": header})
    assert response.status_code == 416
    assert response.headers["Content-Range"] == f"bytes */{len(DATA)}"


@pytest.mark.parametrize("header", ["lines=1-2", "bytes=abc", "bytes=0-1,5-6", "bytes=9-3"])
def test_a_range_we_do_not_serve_partially_is_ignored(store_app, stored, header):
    response = fetch(store_app, stored, headers={"Range": header})
    assert response.status_code == 200
    assert response.data == DATA


def test_etag_and_if_none_match(store_app, stored):
    digest = hashlib.sha256(DATA).hexdigest()
    first = fetch(store_app, stored, etag=digest)
    assert first.status_code == 200
    assert first.headers["ETag"] == f'"{digest}"'

    again = fetch(store_app, stored, etag=digest, headers={"If-None-Match": f'"{digest}"'})
    assert again.status_code == 304
    assert again.data == b""

    changed = fetch(store_app, stored, etag=digest, headers={"If-None-Match": '"something-else"'})
    assert changed.status_code == 200
    assert changed.data == DATA


@pytest.mark.parametrize("attachment, kind", [("1", "attachment"), ("0", "inline")])
def test_content_disposition_keeps_the_vietnamese_name(store_app, stored, attachment, kind):
    response = fetch(store_app, stored, name=VIETNAMESE_NAME, attachment=attachment)
    header = response.headers["Content-Disposition"]
    header.encode("latin-1")  # a header must be representable as latin-1: no raw UTF-8 in it
    assert header.split(";")[0] == kind
    assert "filename*=UTF-8''" in header
    encoded = header.split("filename*=UTF-8''", 1)[1].split(";")[0]
    assert unquote(encoded, encoding="utf-8") == VIETNAMESE_NAME
    fallback = header.split('filename="', 1)[1].split('"')[0] if 'filename="' in header else \
        header.split("filename=", 1)[1].split(";")[0]
    assert fallback.isascii() and fallback.endswith(".pdf")
    value, params = parse_options_header(header)
    assert value == kind
    assert params["filename"] == VIETNAMESE_NAME  # werkzeug reads filename* when it is there


def test_content_disposition_with_quotes_and_separators(store_app, stored):
    name = 'Báo cáo "quý 1"; phụ lục, bản/cuối.pdf'
    header = fetch(store_app, stored, name=name, attachment="1").headers["Content-Disposition"]
    header.encode("latin-1")
    _, params = parse_options_header(header)
    assert params["filename"] == name


def test_serving_a_missing_key_is_404(store_app):
    response = fetch(store_app, "materials/zz/never-stored.pdf")
    assert response.status_code == 404


def test_serving_a_bad_key_is_refused(store_app, storage):
    with store_app.test_request_context("/"):
        for key in ("../etc/passwd", "/etc/passwd"):
            with pytest.raises(StorageError):
                storage.serve(key, mimetype="text/plain", download_name="x.txt", as_attachment=True, etag=None)


# -- files follow the transaction -----------------------------------------------------------

def _touch_database():
    """Begin a transaction the way real work does (a query)."""
    db.session.execute(sa.select(1))


def _store(storage, key):
    storage.put(key, io.BytesIO(b"content"), "application/pdf")
    track_new(db.session, key)


def test_a_file_stored_in_a_transaction_that_rolls_back_is_deleted(storage):
    _touch_database()
    _store(storage, "materials/aa/rolled-back.pdf")
    assert storage.exists("materials/aa/rolled-back.pdf")
    db.session.rollback()
    assert not storage.exists("materials/aa/rolled-back.pdf")


def test_a_file_stored_in_a_transaction_that_commits_stays(storage):
    _touch_database()
    _store(storage, "materials/aa/kept.pdf")
    db.session.commit()
    assert storage.exists("materials/aa/kept.pdf")
    db.session.rollback()  # a later rollback does not touch files of a committed transaction
    assert storage.exists("materials/aa/kept.pdf")


def test_track_new_without_a_transaction_still_ties_the_file_to_one(storage):
    db.session.commit()
    _store(storage, "materials/aa/no-tx.pdf")
    db.session.rollback()
    assert not storage.exists("materials/aa/no-tx.pdf")


def test_a_session_closed_without_commit_deletes_the_new_file(storage):
    """What Flask-SQLAlchemy does after a request that failed: close, no rollback call."""
    _touch_database()
    _store(storage, "materials/aa/abandoned.pdf")
    db.session.close()
    assert not storage.exists("materials/aa/abandoned.pdf")


def test_a_savepoint_that_rolls_back_leaves_the_outer_files_alone(storage):
    _touch_database()
    _store(storage, "materials/aa/outer.pdf")
    savepoint = db.session.begin_nested()
    _store(storage, "materials/aa/inner.pdf")
    savepoint.rollback()
    assert storage.exists("materials/aa/outer.pdf")
    assert not storage.exists("materials/aa/inner.pdf")
    db.session.commit()
    assert storage.exists("materials/aa/outer.pdf")


def test_a_released_savepoint_is_not_a_commit(storage):
    _touch_database()
    with db.session.begin_nested():
        _store(storage, "materials/aa/in-savepoint.pdf")
    assert storage.exists("materials/aa/in-savepoint.pdf")
    db.session.rollback()  # the real transaction rolls back: the file goes with it
    assert not storage.exists("materials/aa/in-savepoint.pdf")


def test_delete_after_commit_waits_for_the_commit(storage):
    key = "materials/bb/doomed.pdf"
    storage.put(key, io.BytesIO(b"old"), "application/pdf")
    _touch_database()
    delete_after_commit(db.session, key)
    with db.session.begin_nested():  # a savepoint released on the way is not the commit
        db.session.execute(sa.select(1))
    assert storage.exists(key)
    db.session.commit()
    assert not storage.exists(key)


def test_delete_after_commit_does_nothing_when_the_transaction_rolls_back(storage):
    key = "materials/bb/reprieved.pdf"
    storage.put(key, io.BytesIO(b"old"), "application/pdf")
    _touch_database()
    delete_after_commit(db.session, key)
    db.session.rollback()
    assert storage.exists(key)
    _touch_database()
    db.session.commit()  # the next commit does not remember the cancelled deletion
    assert storage.exists(key)


def test_delete_planned_in_a_savepoint_that_rolls_back_is_cancelled(storage):
    key = "materials/bb/savepoint-reprieve.pdf"
    storage.put(key, io.BytesIO(b"old"), "application/pdf")
    _touch_database()
    savepoint = db.session.begin_nested()
    delete_after_commit(db.session, key)
    savepoint.rollback()
    db.session.commit()
    assert storage.exists(key)


# -- materials on S3 through the courses service --------------------------------------------

def _people_and_lesson():
    from lms.models import Role
    from lms.services.people import PersonInput, create_person
    from lms.services.units import create_unit
    from tests.conftest import START

    unit = create_unit(db.session, SYSTEM, name="Sở Tư pháp", code="STP", kind="department", parent=None, on=START)
    trainer = create_person(db.session, SYSTEM, PersonInput("Lê Minh Đức", "trainer@example.vn"),
                            unit=unit, password=TEST_PASSWORD, key_cadre=False, on=START, roles=(Role.TRAINER,),
                            must_change_password=False)
    course = services.create_course(db.session, trainer, services.CourseInput(title="Công ước quyền trẻ em"))
    section = services.add_section(db.session, trainer, course, "Phần 1")
    lesson = services.add_lesson(db.session, trainer, section, services.LessonInput(title="Bài 1", body="Nội dung"),
                                 NOW)
    db.session.commit()
    return trainer, course, lesson


def test_add_file_on_s3(s3_app, s3):
    trainer, course, lesson = _people_and_lesson()
    content = pdf_bytes("Công ước")
    material = services.add_file(db.session, trainer, lesson, io.BytesIO(content), "Tài liệu Công ước.pdf")
    db.session.commit()

    assert material.original_name == "Tài liệu Công ước.pdf"
    assert material.title == "Tài liệu Công ước"
    assert material.size == len(content)
    assert material.checksum == hashlib.sha256(content).hexdigest()
    assert material.content_type == "application/pdf"
    assert "Tài" not in material.storage_key and material.storage_key.endswith(".pdf")
    assert _objects(s3) == [material.storage_key]
    stored = s3.get_object(Bucket=BUCKET, Key=material.storage_key)
    assert stored["Body"].read() == content
    assert stored["ContentType"] == "application/pdf"

    response = fetch(s3_app, material.storage_key, name=material.original_name, etag=material.checksum,
                     headers={"Range": "bytes=0-3"})
    assert response.status_code == 206
    assert response.data == b"%PDF"

    services.delete_material(db.session, trainer, material)
    assert _objects(s3) == [material.storage_key]  # not before the commit
    db.session.commit()
    assert _objects(s3) == []


def test_add_file_on_s3_rolled_back_leaves_no_object(s3_app, s3):
    trainer, course, lesson = _people_and_lesson()
    services.add_file(db.session, trainer, lesson, io.BytesIO(pdf_bytes()), "Tài liệu.pdf")
    assert len(_objects(s3)) == 1
    db.session.rollback()
    assert _objects(s3) == []
    assert count_rows(Material) == 0


def test_add_file_on_s3_refuses_html_and_stores_nothing(s3_app, s3):
    from lms.errors import ServiceError

    trainer, course, lesson = _people_and_lesson()
    with pytest.raises(ServiceError) as caught:
        services.add_file(db.session, trainer, lesson, io.BytesIO(b"<html><script>alert(1)</script></html>"),
                          "bai-giang.pdf")
    assert caught.value.field == "file"
    db.session.rollback()
    assert _objects(s3) == []
    assert count_rows(Material) == 0


def test_add_file_when_s3_fails_gives_a_clear_message_and_no_row(app_factory, s3):
    from lms.errors import ServiceError

    application = app_factory(LMS_STORAGE="s3", LMS_S3_BUCKET="no-such-bucket", LMS_S3_REGION="us-east-1")
    with application.app_context():
        trainer, course, lesson = _people_and_lesson()
        with pytest.raises(ServiceError) as caught:
            services.add_file(db.session, trainer, lesson, io.BytesIO(pdf_bytes()), "Tài liệu.pdf")
        assert "Không lưu được tệp" in str(caught.value.message)
        db.session.rollback()
        assert count_rows(Material) == 0
