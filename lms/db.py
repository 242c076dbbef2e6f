"""Database base: declarative base with a constraint naming convention and UTC timestamps."""

from __future__ import annotations

import enum
import errno
import functools
import sqlite3
from datetime import UTC, datetime

import sqlalchemy as sa
from flask_sqlalchemy import SQLAlchemy
from sqlalchemy.orm import DeclarativeBase, registry

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class UTCDateTime(sa.types.TypeDecorator):
    """A timestamp stored in UTC and always returned timezone-aware.

    SQLite drops the offset, so values are normalised to UTC on the way in and marked UTC on
    the way out. Naive datetimes are refused: every time in this system is aware.
    """

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        value = value.astimezone(UTC)
        if dialect.name == "sqlite":
            return value.replace(tzinfo=None)
        return value

    def process_result_value(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


def str_enum(enum_cls: type[enum.Enum], name: str) -> sa.Enum:
    """A portable enum column: VARCHAR plus a named CHECK constraint, values stored as-is."""
    return sa.Enum(
        enum_cls,
        name=name,
        native_enum=False,
        create_constraint=True,
        length=32,
        values_callable=lambda cls: [member.value for member in cls],
        validate_strings=True,
    )


class Base(DeclarativeBase):
    registry = registry(
        metadata=sa.MetaData(naming_convention=NAMING_CONVENTION),
        type_annotation_map={datetime: UTCDateTime()},
    )


db = SQLAlchemy(model_class=Base)


def affected_rows(session, result) -> int:
    """How many rows an INSERT/UPDATE/DELETE changed. Python's sqlite3 reports -1 for a
    statement that starts with ``WITH`` (a recursive subtree query, say); SQLite's own
    ``changes()`` still knows."""
    count = result.rowcount
    if count is None or count < 0:
        count = session.scalar(sa.text("SELECT changes()")) if session.get_bind().dialect.name == "sqlite" else 0
    return int(count or 0)


def utcnow() -> datetime:
    return datetime.now(UTC)


@sa.event.listens_for(sa.engine.Engine, "connect")
def _sqlite_pragmas(dbapi_connection, connection_record):  # pragma: no cover - trivial
    module = type(dbapi_connection).__module__
    if module.startswith("sqlite3"):
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.close()


# -- concurrent writers ----------------------------------------------------------------------
#
# SQLite lets one writer at a time. In its default (rollback journal) mode a writer also shuts
# readers out and a second writer fails at once in some interleavings; in WAL mode readers never
# wait and a writer waits up to the busy timeout for the one before it. Where a lock still wins
# (a very long write, or on PostgreSQL a lock timeout, a deadlock or a serialization failure) the
# request is rolled back and answered 503 with Retry-After (lms/views/errors.py). SQLite engines
# made outside the app (scripts, tests) keep the driver's own 5 s busy timeout.

def configure_engines(app) -> None:
    """SQLite engines of ``app``: WAL journal and ``LMS_SQLITE_BUSY_TIMEOUT_MS`` on every new
    connection. Other databases are left as they are."""
    busy_ms = int(app.config.get("LMS_SQLITE_BUSY_TIMEOUT_MS", 5000))
    with app.app_context():
        engines = list(db.engines.values())
    for engine in engines:
        if engine.dialect.name != "sqlite":
            continue
        wal = (engine.url.database or ":memory:") != ":memory:" and "mode=memory" not in str(engine.url)
        sa.event.listen(engine, "connect", functools.partial(_sqlite_concurrency, busy_ms=busy_ms, wal=wal))


def _sqlite_concurrency(dbapi_connection, connection_record, *, busy_ms: int, wal: bool) -> None:
    cursor = dbapi_connection.cursor()
    try:
        cursor.execute(f"PRAGMA busy_timeout={int(busy_ms)}")
        if wal:
            try:
                cursor.execute("PRAGMA journal_mode=WAL")  # persistent: a no-op once the file is in WAL
            except sqlite3.OperationalError:
                pass  # another connection holds the file; a later connection switches it
    finally:
        cursor.close()


#: PostgreSQL SQLSTATEs of a lost race for a lock: lock_not_available (lock_timeout, NOWAIT),
#: serialization_failure, deadlock_detected.
LOCK_SQLSTATES = frozenset({"55P03", "40001", "40P01"})
#: PostgreSQL SQLSTATE disk_full.
FULL_SQLSTATES = frozenset({"53100"})
NO_SPACE_ERRNOS = frozenset({errno.ENOSPC, getattr(errno, "EDQUOT", errno.ENOSPC)})


def _driver_error(error: BaseException) -> BaseException:
    return getattr(error, "orig", None) or error


def is_lock_conflict(error: BaseException) -> bool:
    """A database error that only means another transaction held what this one needed: trying
    again a moment later will work."""
    orig = _driver_error(error)
    if isinstance(orig, sqlite3.OperationalError):
        text = str(orig).lower()
        return "database is locked" in text or "database table is locked" in text
    return getattr(orig, "sqlstate", None) in LOCK_SQLSTATES


def is_storage_full(error: BaseException) -> bool:
    """A full disk (or quota), whether the database or a file write found it."""
    if isinstance(error, OSError):
        return error.errno in NO_SPACE_ERRNOS
    orig = _driver_error(error)
    if isinstance(orig, sqlite3.OperationalError):
        return "database or disk is full" in str(orig).lower()
    if isinstance(orig, OSError):
        return orig.errno in NO_SPACE_ERRNOS
    return getattr(orig, "sqlstate", None) in FULL_SQLSTATES
