"""Shared fixtures: the app is composed the way ``app.py`` composes it, on a fresh database.

The suite runs on SQLite by default. Set ``TEST_DATABASE_URL`` to a PostgreSQL server URL
(for example ``postgresql://127.0.0.1:5432/test``) to run it on PostgreSQL: a uniquely named
database is created on that server for the run and dropped afterwards; the named database is
only used to connect.
"""

from __future__ import annotations

import contextlib
import contextvars
import os
import re
import secrets
import uuid
from datetime import date

import pytest
import sqlalchemy as sa

from lms.actors import SYSTEM

# app.py builds its app at import; in the test process that app is a testing one.
os.environ["LMS_ENV"] = "testing"

from flask import has_app_context
from flask.testing import FlaskClient

from lms import create_app
from lms.db import db, utcnow

TEST_PASSWORD = "Rất-Khó-Đoán-2028!"


def _features():
    import app as composition_root

    return composition_root.FEATURES


def _pg_admin_url(url: str) -> sa.URL:
    parsed = sa.make_url(url)
    return parsed.set(drivername="postgresql+psycopg")


@contextlib.contextmanager
def fresh_pg_database(base: str, prefix: str = "lms_test"):
    """A new, uniquely named PostgreSQL database on the server of ``base``, dropped afterwards."""
    admin_url = _pg_admin_url(base)
    name = f"{prefix}_{os.getpid()}_{uuid.uuid4().hex[:8]}"
    engine = sa.create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    try:
        yield admin_url.set(database=name).render_as_string(hide_password=False)
    finally:
        with engine.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        engine.dispose()


@pytest.fixture(scope="session")
def database_url(tmp_path_factory):
    base = os.environ.get("TEST_DATABASE_URL")
    if not base:
        url = f"sqlite:///{tmp_path_factory.mktemp('db') / 'test.sqlite3'}"
        _migrate(url)
        yield url
        return
    with fresh_pg_database(base) as url:
        _migrate(url)
        yield url


def _config(url: str, **extra):
    config = {
        "LMS_ENV": "testing",
        "SECRET_KEY": secrets.token_urlsafe(32),
        "SQLALCHEMY_DATABASE_URI": url,
        "WTF_CSRF_ENABLED": False,
        "RATELIMIT_ENABLED": False,
        "SERVER_NAME": None,
    }
    config.update(extra)
    return config


def _migrate(url: str) -> None:
    from flask_migrate import upgrade

    app = create_app(features=_features(), test_config=_config(url))
    with app.app_context():
        upgrade()
        db.engine.dispose()


def _truncate(url: str) -> None:
    engine = sa.create_engine(url)
    tables = [t.name for t in reversed(db.metadata.sorted_tables)]
    with engine.begin() as conn:
        # DELETE, children first: a test leaves a handful of rows, and DELETE takes ~4 ms where
        # PostgreSQL's TRUNCATE of every table takes ~130 ms (ids are not reset; no test needs it).
        if engine.dialect.name == "postgresql":
            conn.execute(sa.text(";".join(f'DELETE FROM "{t}"' for t in tables)))
        else:
            for table in tables:
                conn.execute(sa.text(f'DELETE FROM "{table}"'))
    engine.dispose()


class IsolatedClient(FlaskClient):
    """A test client whose every request runs in a context of its own, as in production.

    The ``app`` fixture keeps an application context open for the test's own database work;
    without this, requests would share it (and ``g``, where Flask-Login caches the user) with
    each other and with the test. Pending test work is committed first so the request sees it.
    """

    def open(self, *args, **kwargs):
        if has_app_context():
            db.session.commit()
        return contextvars.Context().run(super().open, *args, **kwargs)


@pytest.fixture
def app_factory(database_url, tmp_path):
    """Build apps on the test database with extra config; the database is emptied after the test.

    Reference data (conventions, contents) is loaded; uploaded files go to a fresh folder.
    """
    made = []
    storage_dir = tmp_path / "storage"

    def make(**extra):
        extra.setdefault("LMS_STORAGE_PATH", str(storage_dir))
        extra.setdefault("MAIL_DIR", str(tmp_path / "mail"))  # mails of the tests, never instance/mail
        application = create_app(features=_features(), test_config=_config(database_url, **extra))
        application.test_client_class = IsolatedClient
        made.append(application)
        with application.app_context():
            for loader in application.extensions.get("lms_reference_loaders", []):
                loader(db.session)
            db.session.commit()
        return application

    yield make
    for application in made:
        with application.app_context():
            db.session.remove()
            db.engine.dispose()
    _truncate(database_url)


@pytest.fixture
def app(app_factory):
    application = app_factory()
    with application.app_context():
        yield application


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def runner(app):
    return app.test_cli_runner()


@pytest.fixture
def session(app):
    return db.session


# -- builders -------------------------------------------------------------------------------

START = date(2024, 1, 1)


@pytest.fixture
def make_unit(app):
    from lms.services.units import create_unit

    counter = iter(range(1, 10_000))

    def make(name=None, code=None, parent=None, kind="division", on=START):
        n = next(counter)
        unit = create_unit(db.session, SYSTEM, name=name or f"Đơn vị {n}", code=code or f"U{n}", kind=kind,
                           parent=parent, on=on)
        db.session.commit()
        return unit

    return make


@pytest.fixture
def make_person(app, make_unit):
    from lms.models import Role
    from lms.services.people import PersonInput, TitleInput, add_title, create_person, grant_role

    counter = iter(range(1, 10_000))

    def make(name=None, email=None, unit=None, roles=("trainee",), key_cadre=False, on=START,
             password=TEST_PASSWORD, must_change=False, scope=None, category=None, employment=None, gender=None):
        """``category``: a shorthand of the tests — ``legal_reporter`` / ``legal_propagandist``
        give that title from ``on``; ``employee`` the employment type "worker"."""
        n = next(counter)
        unit = unit or make_unit()
        plain = tuple(Role(r) for r in roles if r != "unit_admin")
        person = create_person(
            db.session, SYSTEM, PersonInput(name or f"Người Thử {chr(65 + n % 26)}", email or f"user{n}@example.vn",
                                          None, None, employment or ("worker" if category == "employee" else None),
                                          gender),
            unit=unit, password=password, key_cadre=key_cadre, on=on, roles=plain,
            must_change_password=must_change,
        )
        if category in ("legal_reporter", "legal_propagandist"):
            add_title(db.session, SYSTEM, person, TitleInput(category, valid_from=on), today=on)
        if "unit_admin" in roles:
            grant_role(db.session, SYSTEM, person, Role.UNIT_ADMIN, scope or unit)
        db.session.commit()
        return person

    return make


class Auth:
    def __init__(self, client):
        self.client = client

    def login(self, email, password=TEST_PASSWORD, follow=False):
        return self.client.post("/login", data={"email": email, "password": password}, follow_redirects=follow)

    def logout(self):
        return self.client.post("/logout")


@pytest.fixture
def auth(client):
    return Auth(client)


def csrf_from(html: str) -> str:
    match = re.search(r'name="csrf_token" (?:type="hidden" )?value="([^"]+)"', html)
    assert match, "no CSRF token on the page"
    return match.group(1)


def count_rows(model) -> int:
    return db.session.scalar(sa.select(sa.func.count()).select_from(model))


@pytest.fixture
def now():
    return utcnow()
