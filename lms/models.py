"""Platform models: units (a dated tree), people, dated memberships and key-cadre periods,
roles, login sessions, the audit log and pending roster imports.

Dated records use half-open periods ``[valid_from, valid_to)``: a record is in force on day D
when ``valid_from <= D`` and ``valid_to`` is empty or after D. Changing a unit or a status on day
D closes the open period with ``valid_to = D`` and opens a new one from D, so history is never
rewritten.
"""

from __future__ import annotations

import enum
from datetime import date, datetime
from typing import Any, Optional

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from lms.db import db, str_enum, utcnow


class UnitKind(enum.StrEnum):
    PROVINCE = "province"
    DEPARTMENT = "department"
    DIVISION = "division"
    CENTER = "center"
    DISTRICT = "district"
    COMMUNE = "commune"
    OTHER = "other"


class LearnerCategory(enum.StrEnum):
    LEGAL_REPORTER = "legal_reporter"
    LEGAL_PROPAGANDIST = "legal_propagandist"
    OFFICIAL = "official"
    EMPLOYEE = "employee"
    OTHER = "other"


class Role(enum.StrEnum):
    ADMIN = "admin"
    UNIT_ADMIN = "unit_admin"
    TRAINER = "trainer"
    TRAINEE = "trainee"


class ImportStatus(enum.StrEnum):
    PENDING = "pending"
    APPLIED = "applied"
    DISCARDED = "discarded"


def _period_check(table: str) -> sa.CheckConstraint:
    return sa.CheckConstraint("valid_to IS NULL OR valid_to > valid_from", name="period")


class Unit(db.Model):
    """An agency or part of one: a node of the organisation tree."""

    __tablename__ = "units"

    id: Mapped[int] = mapped_column(primary_key=True)
    #: Display name, NFC.
    name: Mapped[str] = mapped_column(sa.String(255))
    #: Short code, unique, upper-case ASCII; used in imports and reports.
    code: Mapped[str] = mapped_column(sa.String(32), unique=True)
    kind: Mapped[UnitKind] = mapped_column(str_enum(UnitKind, "unit_kind"))
    #: Current parent (the dated history is in :class:`UnitLink`).
    parent_id: Mapped[Optional[int]] = mapped_column(sa.ForeignKey("units.id"), index=True)
    active: Mapped[bool] = mapped_column(default=True)
    #: The day the unit was closed or merged away (no longer in force from that day).
    closed_on: Mapped[Optional[date]]
    #: When merged, the unit that took over its people and sub-units.
    merged_into_id: Mapped[Optional[int]] = mapped_column(sa.ForeignKey("units.id"))
    #: Diacritic-free, case-folded name and code for search.
    search_text: Mapped[str] = mapped_column(sa.String(300), default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    parent: Mapped[Optional["Unit"]] = relationship(
        remote_side=[id], foreign_keys=[parent_id], back_populates="children"
    )
    children: Mapped[list["Unit"]] = relationship(
        foreign_keys=[parent_id], back_populates="parent", order_by="Unit.name"
    )
    merged_into: Mapped[Optional["Unit"]] = relationship(remote_side=[id], foreign_keys=[merged_into_id])

    __table_args__ = (sa.CheckConstraint("parent_id IS NULL OR parent_id <> id", name="not_own_parent"),)

    def __repr__(self) -> str:
        return f"<Unit {self.code}>"


class UnitLink(db.Model):
    """A dated period during which ``unit`` sat directly under ``parent``."""

    __tablename__ = "unit_links"

    id: Mapped[int] = mapped_column(primary_key=True)
    unit_id: Mapped[int] = mapped_column(sa.ForeignKey("units.id", ondelete="CASCADE"), index=True)
    parent_id: Mapped[int] = mapped_column(sa.ForeignKey("units.id", ondelete="CASCADE"), index=True)
    valid_from: Mapped[date]
    valid_to: Mapped[Optional[date]]

    __table_args__ = (
        _period_check("unit_links"),
        sa.Index("uq_unit_links_open", "unit_id", unique=True,
                 sqlite_where=sa.text("valid_to IS NULL"), postgresql_where=sa.text("valid_to IS NULL")),
    )


class Person(db.Model):
    """A person with an account: trainee, trainer, administrator, or several of these."""

    __tablename__ = "people"

    id: Mapped[int] = mapped_column(primary_key=True)
    #: Full name, NFC, cleaned.
    full_name: Mapped[str] = mapped_column(sa.String(200))
    #: E-mail as entered (NFC, trimmed).
    email: Mapped[str] = mapped_column(sa.String(254))
    #: E-mail identity (NFC + casefold): unique.
    email_key: Mapped[str] = mapped_column(sa.String(254), unique=True)
    phone: Mapped[Optional[str]] = mapped_column(sa.String(32))
    position: Mapped[Optional[str]] = mapped_column(sa.String(200))
    category: Mapped[LearnerCategory] = mapped_column(
        str_enum(LearnerCategory, "learner_category"), default=LearnerCategory.OFFICIAL
    )
    #: argon2 hash; empty means the account cannot log in with a password.
    password_hash: Mapped[Optional[str]] = mapped_column(sa.String(255))
    #: Set when an administrator chose the password: it must be changed at next login.
    must_change_password: Mapped[bool] = mapped_column(default=True)
    active: Mapped[bool] = mapped_column(default=True)
    #: Preferred interface language (vi/en), empty for the default.
    locale: Mapped[Optional[str]] = mapped_column(sa.String(8))
    #: Diacritic-free, case-folded name, e-mail, phone and position for search.
    search_text: Mapped[str] = mapped_column(sa.String(800), default="", index=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    last_login_at: Mapped[Optional[datetime]]

    roles: Mapped[list["RoleAssignment"]] = relationship(
        back_populates="person", cascade="all, delete-orphan", foreign_keys="RoleAssignment.person_id",
    )
    memberships: Mapped[list["Membership"]] = relationship(
        back_populates="person", cascade="all, delete-orphan", order_by="Membership.valid_from"
    )
    key_cadre_periods: Mapped[list["KeyCadrePeriod"]] = relationship(
        back_populates="person", cascade="all, delete-orphan", order_by="KeyCadrePeriod.valid_from"
    )

    # -- Flask-Login -------------------------------------------------------------------------
    #: The raw token of the login session this object was loaded for (not stored).
    login_token = None  # type: str | None

    @property
    def is_authenticated(self) -> bool:
        return True

    @property
    def is_active(self) -> bool:
        return self.active

    @property
    def is_anonymous(self) -> bool:
        return False

    def get_id(self) -> str | None:
        return self.login_token

    # -- helpers -----------------------------------------------------------------------------
    def has_role(self, role: Role) -> bool:
        return any(r.role == role for r in self.roles)

    @property
    def role_set(self) -> set[Role]:
        return {r.role for r in self.roles}

    @property
    def current_membership(self) -> Optional["Membership"]:
        return next((m for m in self.memberships if m.valid_to is None), None)

    @property
    def current_unit(self) -> Optional[Unit]:
        membership = self.current_membership
        return membership.unit if membership else None

    @property
    def current_key_cadre(self) -> Optional["KeyCadrePeriod"]:
        return next((k for k in self.key_cadre_periods if k.valid_to is None), None)

    @property
    def is_key_cadre(self) -> bool:
        return self.current_key_cadre is not None

    def __repr__(self) -> str:
        return f"<Person {self.id} {self.email_key}>"


class Membership(db.Model):
    """A dated period during which a person belonged to a unit."""

    __tablename__ = "memberships"

    id: Mapped[int] = mapped_column(primary_key=True)
    person_id: Mapped[int] = mapped_column(sa.ForeignKey("people.id", ondelete="CASCADE"), index=True)
    unit_id: Mapped[int] = mapped_column(sa.ForeignKey("units.id"), index=True)
    valid_from: Mapped[date]
    valid_to: Mapped[Optional[date]]

    person: Mapped[Person] = relationship(back_populates="memberships")
    unit: Mapped[Unit] = relationship()

    __table_args__ = (
        _period_check("memberships"),
        sa.Index("uq_memberships_open", "person_id", unique=True,
                 sqlite_where=sa.text("valid_to IS NULL"), postgresql_where=sa.text("valid_to IS NULL")),
    )


class KeyCadrePeriod(db.Model):
    """A dated period during which a person was one of the key cadres (cán bộ chủ chốt)."""

    __tablename__ = "key_cadre_periods"

    id: Mapped[int] = mapped_column(primary_key=True)
    person_id: Mapped[int] = mapped_column(sa.ForeignKey("people.id", ondelete="CASCADE"), index=True)
    valid_from: Mapped[date]
    valid_to: Mapped[Optional[date]]

    person: Mapped[Person] = relationship(back_populates="key_cadre_periods")

    __table_args__ = (
        _period_check("key_cadre_periods"),
        sa.Index("uq_key_cadre_periods_open", "person_id", unique=True,
                 sqlite_where=sa.text("valid_to IS NULL"), postgresql_where=sa.text("valid_to IS NULL")),
    )


class RoleAssignment(db.Model):
    """A role held by a person; a unit administrator's role is scoped to a unit subtree."""

    __tablename__ = "role_assignments"

    id: Mapped[int] = mapped_column(primary_key=True)
    person_id: Mapped[int] = mapped_column(sa.ForeignKey("people.id", ondelete="CASCADE"), index=True)
    role: Mapped[Role] = mapped_column(str_enum(Role, "role"))
    #: The root of the subtree a unit administrator manages (only for that role).
    unit_id: Mapped[Optional[int]] = mapped_column(sa.ForeignKey("units.id"), index=True)
    granted_at: Mapped[datetime] = mapped_column(default=utcnow)
    granted_by_id: Mapped[Optional[int]] = mapped_column(sa.ForeignKey("people.id", ondelete="SET NULL"))

    person: Mapped[Person] = relationship(back_populates="roles", foreign_keys=[person_id])
    unit: Mapped[Optional[Unit]] = relationship()

    __table_args__ = (
        sa.CheckConstraint(
            "(role = 'unit_admin' AND unit_id IS NOT NULL) OR (role <> 'unit_admin' AND unit_id IS NULL)",
            name="scope_only_for_unit_admin",
        ),
        sa.UniqueConstraint("person_id", "role", "unit_id"),
        sa.Index("uq_role_assignments_unscoped", "person_id", "role", unique=True,
                 sqlite_where=sa.text("unit_id IS NULL"), postgresql_where=sa.text("unit_id IS NULL")),
    )


class LoginSession(db.Model):
    """A server-side login session; the cookie holds only its random token."""

    __tablename__ = "login_sessions"

    id: Mapped[int] = mapped_column(primary_key=True)
    person_id: Mapped[int] = mapped_column(sa.ForeignKey("people.id", ondelete="CASCADE"), index=True)
    #: SHA-256 of the token, so a copy of the database gives no usable cookie.
    token_hash: Mapped[str] = mapped_column(sa.String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_seen_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime]
    revoked_at: Mapped[Optional[datetime]]
    ip: Mapped[Optional[str]] = mapped_column(sa.String(45))
    user_agent: Mapped[Optional[str]] = mapped_column(sa.String(255))

    person: Mapped[Person] = relationship()


class AuditEntry(db.Model):
    """One change made by someone (or the CLI), with what it concerned."""

    __tablename__ = "audit_entries"

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    #: Who did it; empty for the command line or the system.
    actor_id: Mapped[Optional[int]] = mapped_column(sa.ForeignKey("people.id", ondelete="SET NULL"), index=True)
    #: Dotted action name, e.g. ``person.create``.
    action: Mapped[str] = mapped_column(sa.String(64), index=True)
    object_type: Mapped[Optional[str]] = mapped_column(sa.String(32))
    object_id: Mapped[Optional[int]]
    #: The unit the change concerned, so unit administrators see their subtree's log.
    unit_id: Mapped[Optional[int]] = mapped_column(sa.ForeignKey("units.id", ondelete="SET NULL"), index=True)
    summary: Mapped[str] = mapped_column(sa.String(500), default="")
    details: Mapped[Optional[dict[str, Any]]] = mapped_column(sa.JSON)

    actor: Mapped[Optional[Person]] = relationship(foreign_keys=[actor_id])
    unit: Mapped[Optional[Unit]] = relationship()


class ImportBatch(db.Model):
    """An uploaded roster waiting for confirmation (kept in the database so any worker can
    apply it)."""

    __tablename__ = "import_batches"

    id: Mapped[int] = mapped_column(primary_key=True)
    token: Mapped[str] = mapped_column(sa.String(64), unique=True)
    actor_id: Mapped[int] = mapped_column(sa.ForeignKey("people.id", ondelete="CASCADE"), index=True)
    filename: Mapped[str] = mapped_column(sa.String(255))
    content: Mapped[bytes] = mapped_column(sa.LargeBinary)
    status: Mapped[ImportStatus] = mapped_column(str_enum(ImportStatus, "import_status"), default=ImportStatus.PENDING)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    applied_at: Mapped[Optional[datetime]]
    result: Mapped[Optional[dict[str, Any]]] = mapped_column(sa.JSON)
