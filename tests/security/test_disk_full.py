"""A full temporary folder (or database disk) during an upload or an import (issue 7).

It used to give a generic 500; now the user reads the same clear message as for a full storage
folder, and nothing is written: no row, no stored file, no staged import. The temporary folder is
"filled" by making every temporary file refuse writes with ENOSPC: werkzeug spools an upload of
over 500 KB to one while parsing the form, and the material service spools every upload to one.
"""

from __future__ import annotations

import errno
import io
import sqlite3
import tempfile
from pathlib import Path

import psycopg.errors
import pytest
import sqlalchemy as sa

from courses.models import Material
from lms.db import is_storage_full
from lms.models import AuditEntry, ImportBatch, Person
from lms.services import imports
from tests.conftest import count_rows
from tests.courses.conftest import make_course, pdf_bytes, trainer  # noqa: F401  (fixtures)
from tests.security import login, world  # noqa: F401  (fixture)
from tests.test_roster_import import csv_bytes, row

STORAGE_FULL = "Không lưu được tệp (bộ nhớ đầy hoặc lỗi lưu trữ)"


class FullFile(io.BytesIO):
    """A temporary file on a full disk: every write fails with ENOSPC."""

    def write(self, data):
        raise OSError(errno.ENOSPC, "No space left on device")


@pytest.fixture
def full_tmp(monkeypatch):
    monkeypatch.setattr(tempfile, "TemporaryFile", lambda *args, **kwargs: FullFile())


def stored_files(app) -> list[Path]:
    root = Path(app.config["LMS_STORAGE_PATH"])
    return sorted(p for p in root.rglob("*") if p.is_file()) if root.exists() else []


def written():
    return count_rows(Material), count_rows(ImportBatch), count_rows(AuditEntry), count_rows(Person)


def said_full(response, status) -> bool:
    return response.status_code == status and STORAGE_FULL in response.get_data(as_text=True)


@pytest.fixture
def lesson_url(app, make_course):  # noqa: F811
    course = make_course(publish=False)
    lesson = course.sections[0].lessons[0]
    return f"/courses/teaching/{course.id}/lessons/{lesson.id}/materials/file"


def test_a_full_temporary_folder_while_the_upload_is_received(app, trainer, lesson_url, full_tmp):  # noqa: F811
    """Over 500 KB, werkzeug writes the upload to a temporary file while parsing the form."""
    client = login(app, trainer.email)
    before, files = written(), stored_files(app)
    big = pdf_bytes() + b"%" * (600 * 1024)
    response = client.post(lesson_url, data={"upload-file": (io.BytesIO(big), "lớn.pdf")},
                           content_type="multipart/form-data")
    assert said_full(response, 507)
    assert written() == before and stored_files(app) == files


def test_a_full_temporary_folder_while_the_material_is_checked(app, trainer, lesson_url, full_tmp):  # noqa: F811
    """A small upload stays in memory; the material service's own spool file is the one that fails:
    the message shows on the form."""
    client = login(app, trainer.email)
    before, files = written(), stored_files(app)
    response = client.post(lesson_url, data={"upload-file": (io.BytesIO(pdf_bytes()), "nhỏ.pdf")},
                           content_type="multipart/form-data")
    assert said_full(response, 422)
    assert written() == before and stored_files(app) == files


def test_a_full_temporary_folder_during_a_roster_import(app, world, full_tmp):
    client = login(app, world.admin.email)
    before = written()
    content = csv_bytes([row(name=f"Người Số {i}", email=f"nguoi.so.{i}@example.vn", unit="U",
                             position="Chuyên viên phổ biến, giáo dục pháp luật") for i in range(5000)])
    assert len(content) > 500 * 1024
    response = client.post("/admin/import/", data={"file": (io.BytesIO(content), "danh-sach.csv")},
                           content_type="multipart/form-data")
    assert said_full(response, 507)
    assert written() == before


def test_a_full_database_disk_while_staging_an_import(app, world, monkeypatch):
    def full(*args, **kwargs):
        raise sa.exc.OperationalError("INSERT INTO import_batch ...", {}, sqlite3.OperationalError(
            "database or disk is full"))

    monkeypatch.setattr(imports, "stage", full)
    client = login(app, world.admin.email)
    before = written()
    response = client.post("/admin/import/", data={"file": (io.BytesIO(csv_bytes([row(unit="U")])), "a.csv")},
                           content_type="multipart/form-data")
    assert said_full(response, 507)
    assert written() == before


def test_what_counts_as_a_full_disk():
    assert is_storage_full(OSError(errno.ENOSPC, "No space left on device"))
    assert is_storage_full(OSError(errno.EDQUOT, "Disk quota exceeded"))
    assert not is_storage_full(OSError(errno.EACCES, "Permission denied"))
    wrap = sa.exc.OperationalError
    assert is_storage_full(wrap("x", {}, sqlite3.OperationalError("database or disk is full")))
    assert is_storage_full(wrap("x", {}, psycopg.errors.DiskFull("could not extend file")))
    assert not is_storage_full(wrap("x", {}, sqlite3.OperationalError("database is locked")))

