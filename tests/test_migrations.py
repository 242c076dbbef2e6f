"""Migrations are the only way the schema is made: they match the models and run both ways."""

from __future__ import annotations

import os

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from lms import create_app
from lms.db import db
from tests.conftest import _config, _features, fresh_pg_database


def test_models_and_migrations_agree(app):
    with db.engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        diff = compare_metadata(context, db.metadata)
    assert diff == [], f"models and migrations disagree; generate a migration: {diff}"


@pytest.fixture
def scratch_url(tmp_path):
    base = os.environ.get("TEST_DATABASE_URL")
    if not base:
        yield f"sqlite:///{tmp_path / 'scratch.sqlite3'}"
        return
    with fresh_pg_database(base, prefix="lms_scratch") as url:
        yield url


def _tables(url):
    engine = sa.create_engine(url)
    try:
        return set(sa.inspect(engine).get_table_names())
    finally:
        engine.dispose()


def test_upgrade_downgrade_upgrade(scratch_url):
    from flask_migrate import downgrade, upgrade

    app = create_app(features=_features(), test_config=_config(scratch_url))
    with app.app_context():
        assert _tables(scratch_url) == set()  # nothing is created at start-up
        upgrade()
        expected = {t.name for t in db.metadata.sorted_tables}
        assert expected <= _tables(scratch_url)
        downgrade(revision="base")
        assert _tables(scratch_url) <= {"alembic_version"}
        upgrade()
        assert expected <= _tables(scratch_url)
        db.engine.dispose()


def test_0007_fills_sort_keys_and_canonical_phones(scratch_url):
    """Existing people get a Vietnamese sort key and an E.164 phone (a number that is not valid
    is kept as it was); units get their key; the downgrade drops the keys."""
    from flask_migrate import downgrade, upgrade

    app = create_app(features=_features(), test_config=_config(scratch_url))
    with app.app_context():
        upgrade(revision="0006")
        with db.engine.begin() as conn:
            conn.execute(sa.text(
                "INSERT INTO units (id, name, code, kind, position, established_on, active, search_text, created_at) "
                "VALUES (1, 'UBND huyện Vũ Thư', 'VT', 'district', 0, '2020-01-01', true, 'x', CURRENT_TIMESTAMP), "
                "(2, 'UBND huyện Đông Hưng', 'DH', 'district', 0, '2020-01-01', true, 'x', CURRENT_TIMESTAMP)"))
            for n, (name, phone) in enumerate([("Vũ Văn An", "0912345678"), ("Đặng Thị Bình", "12345"),
                                               ("Lê Văn Ân", None)], start=1):
                conn.execute(sa.text(
                    "INSERT INTO people (id, full_name, email, email_key, phone, must_change_password, active, "
                    "search_text, created_at, updated_at) VALUES (:id, :name, :email, :email, :phone, false, true, "
                    "'', :now, :now)"), {"id": n, "name": name, "email": f"p{n}@example.vn", "phone": phone,
                                         "now": "2026-01-01 00:00:00"})
        upgrade()
        with db.engine.connect() as conn:
            people = conn.execute(sa.text("SELECT full_name, phone, search_text FROM people ORDER BY sort_key")).all()
            units = conn.execute(sa.text("SELECT code FROM units ORDER BY sort_key")).scalars().all()
        assert [p.full_name for p in people] == ["Vũ Văn An", "Lê Văn Ân", "Đặng Thị Bình"]
        assert [p.phone for p in people] == ["+84912345678", None, "12345"]
        assert "0912345678" in people[0].search_text and "84912345678" in people[0].search_text
        assert units == ["DH", "VT"]
        downgrade(revision="0006")
        engine = sa.create_engine(scratch_url)
        try:
            assert "sort_key" not in {c["name"] for c in sa.inspect(engine).get_columns("people")}
        finally:
            engine.dispose()
        upgrade()
        db.engine.dispose()


def test_0007_gives_contents_the_plans_wording_and_short_labels(scratch_url):
    """Contents still holding the old default text get the plan's full wording; an administrator's
    edit is kept; every content gets its short label. The downgrade puts the old text back."""
    from flask_migrate import downgrade, upgrade

    old_4 = "Các vụ việc, đối tượng lợi dụng tự do, dân chủ, nhân quyền để vi phạm pháp luật"
    app = create_app(features=_features(), test_config=_config(scratch_url))
    with app.app_context():
        upgrade(revision="0006")
        with db.engine.begin() as conn:
            conn.execute(sa.text("INSERT INTO content_areas (id, number, name_vi, name_en) VALUES "
                                 "(1, 4, :old_vi, :old_en), (2, 5, 'Đối ngoại (sửa bởi quản trị)', "
                                 "'Vietnam''s foreign-affairs priorities and contributions on human rights')"),
                         {"old_vi": old_4, "old_en": "Cases and actors abusing freedom, democracy and human rights "
                                                     "to break the law"})
        upgrade()
        with db.engine.connect() as conn:
            rows = conn.execute(sa.text("SELECT number, name_vi, name_en, short_vi, short_en FROM content_areas "
                                        "ORDER BY number")).all()
        four, five = rows
        assert four.name_vi.startswith("Các vụ việc, các đối tượng trong nước và nước ngoài")
        assert "quyền con người" in four.name_vi and "nhân quyền" not in four.name_vi
        assert four.name_en.startswith("Cases, actors at home and abroad")
        assert (four.short_vi, four.short_en) == ("Đấu tranh với hành vi lợi dụng quyền con người",
                                                  "Countering the abuse of human rights")
        assert five.name_vi == "Đối ngoại (sửa bởi quản trị)"  # an administrator's edit is kept
        assert five.name_en.startswith("Vietnam's foreign-affairs priorities on human rights;")
        assert five.short_vi == "Đối ngoại về quyền con người"
        downgrade(revision="0006")
        with db.engine.connect() as conn:
            names = conn.execute(sa.text("SELECT name_vi FROM content_areas ORDER BY number")).scalars().all()
        assert names == [old_4, "Đối ngoại (sửa bởi quản trị)"]
        engine = sa.create_engine(scratch_url)
        try:
            assert "short_vi" not in {c["name"] for c in sa.inspect(engine).get_columns("content_areas")}
        finally:
            engine.dispose()
        upgrade()
        db.engine.dispose()
