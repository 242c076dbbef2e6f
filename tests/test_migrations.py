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
