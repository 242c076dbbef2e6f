"""Platform models: units (a dated tree), people, dated memberships and key-cadre periods,
roles, login sessions, the audit log and pending roster imports.

Dated records use half-open periods ``[valid_from, valid_to)`` (:mod:`lms.periods`): a record is
in force on day D when ``valid_from <= D`` and ``valid_to`` is empty or after D. Changing a unit or
a status on day D closes the open period with ``valid_to = D`` and opens a new one from D, so
history is never rewritten. History is never deleted by a cascade either: the foreign keys of
dated records are ``RESTRICT``, and two periods of the same kind may not overlap (a flush-time
guard everywhere, plus an exclusion constraint on PostgreSQL).
"""

from __future__ import annotations

import enum
from datetime import date, datetime
from typing import Any, Optional

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from lms.db import db, str_enum, utcnow
from lms.i18n import lazy_gettext as _l
from lms.periods import Period


class UnitKind(enum.StrEnum):
    PROVINCE = "province"
    DEPARTMENT = "department"
    DIVISION = "division"
    CENTER = "center"
    DISTRICT = "district"
    COMMUNE = "commune"
    OTHER = "other"


class EmploymentType(enum.StrEnum):
    """Loại cán bộ (Luật Cán bộ, công chức; Luật Viên chức): what a person is employed as."""

    CADRE = "cadre"  #: cán bộ
    CIVIL_SERVANT = "civil_servant"  #: công chức
    PUBLIC_EMPLOYEE = "public_employee"  #: viên chức
    WORKER = "worker"  #: người lao động
    PART_TIME = "part_time"  #: người hoạt động không chuyên trách
    OTHER = "other"  #: khác


class Gender(enum.StrEnum):
    FEMALE = "female"
    MALE = "male"


class TitleKind(enum.StrEnum):
    """Titles of legal dissemination (Luật Phổ biến, giáo dục pháp luật 2012)."""

    LEGAL_REPORTER = "legal_reporter"  #: báo cáo viên pháp luật
    LEGAL_PROPAGANDIST = "legal_propagandist"  #: tuyên truyền viên pháp luật


class ReporterLevel(enum.StrEnum):
    """The level that recognised a legal reporter. The district level is historical: it was
    dissolved on 1 July 2025, so no new district-level title starts after that day."""

    CENTRAL = "central"
    PROVINCIAL = "provincial"
    DISTRICT = "district"


#: The day the district level ceased to exist (2025 reorganisation).
DISTRICT_LEVEL_ENDED = date(2025, 7, 1)


class Role(enum.StrEnum):
    ADMIN = "admin"
    UNIT_ADMIN = "unit_admin"
    TRAINER = "trainer"
    TRAINEE = "trainee"


class JobStatus(enum.StrEnum):
    QUEUED = "queued"
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"


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
    #: The code in the state's list of agencies (mã định danh), if it has one; unique.
    official_code: Mapped[Optional[str]] = mapped_column(sa.String(64), unique=True)
    #: Place among its siblings in lists (official lists are not alphabetical); then by name.
    position: Mapped[int] = mapped_column(default=0)
    #: Current parent (the dated history is in :class:`UnitLink`).
    parent_id: Mapped[Optional[int]] = mapped_column(sa.ForeignKey("units.id"), index=True)
    #: The first day the unit existed (nobody belongs to it, no title or status is dated, before).
    established_on: Mapped[date]
    active: Mapped[bool] = mapped_column(default=True)
    #: The day the unit was closed or merged away (no longer in force from that day).
    closed_on: Mapped[Optional[date]]
    #: When merged, the unit that took over its people and sub-units.
    merged_into_id: Mapped[Optional[int]] = mapped_column(sa.ForeignKey("units.id"))
    #: Diacritic-free, case-folded name and code for search.
    search_text: Mapped[str] = mapped_column(sa.String(300), default="")
    #: ICU collation key (Vietnamese) of the name: lists sort by position, then by it.
    sort_key: Mapped[bytes] = mapped_column(sa.LargeBinary)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    parent: Mapped[Optional["Unit"]] = relationship(
        remote_side=[id], foreign_keys=[parent_id], back_populates="children"
    )
    children: Mapped[list["Unit"]] = relationship(
        foreign_keys=[parent_id], back_populates="parent", order_by="[Unit.position, Unit.sort_key]"
    )
    merged_into: Mapped[Optional["Unit"]] = relationship(remote_side=[id], foreign_keys=[merged_into_id])

    __table_args__ = (sa.CheckConstraint("parent_id IS NULL OR parent_id <> id", name="not_own_parent"),)

    def __repr__(self) -> str:
        return f"<Unit {self.code}>"


class SuccessionKind(enum.StrEnum):
    MERGE = "merge"  #: sáp nhập: the predecessor was merged into an existing unit
    SPLIT = "split"  #: chia, tách: people and sub-units of the predecessor went to new units
    CONSOLIDATE = "consolidate"  #: hợp nhất: several predecessors became one new unit


class UnitSuccession(db.Model):
    """Lineage across reorganisations: from day ``on``, (part of) ``predecessor`` continued as
    ``successor``. Reports use it to follow a unit's history across merges and splits."""

    __tablename__ = "unit_successions"

    id: Mapped[int] = mapped_column(primary_key=True)
    predecessor_id: Mapped[int] = mapped_column(sa.ForeignKey("units.id", ondelete="RESTRICT"), index=True)
    successor_id: Mapped[int] = mapped_column(sa.ForeignKey("units.id", ondelete="RESTRICT"), index=True)
    kind: Mapped[SuccessionKind] = mapped_column(str_enum(SuccessionKind, "succession_kind"))
    on: Mapped[date]
    #: The decision that ordered it (e.g. Nghị quyết số 1666/NQ-UBTVQH15), free text.
    decision: Mapped[Optional[str]] = mapped_column(sa.String(255))

    predecessor: Mapped["Unit"] = relationship(foreign_keys=[predecessor_id])
    successor: Mapped["Unit"] = relationship(foreign_keys=[successor_id])

    __table_args__ = (
        sa.CheckConstraint("predecessor_id <> successor_id", name="not_itself"),
        sa.UniqueConstraint("predecessor_id", "successor_id", "on"),
    )


class UnitLink(Period, db.Model):
    """A dated period during which ``unit`` sat directly under ``parent``."""

    __tablename__ = "unit_links"
    __period_key__ = ("unit_id",)
    __period_label__ = _l("thời gian trực thuộc")

    id: Mapped[int] = mapped_column(primary_key=True)
    unit_id: Mapped[int] = mapped_column(sa.ForeignKey("units.id", ondelete="RESTRICT"), index=True)
    parent_id: Mapped[int] = mapped_column(sa.ForeignKey("units.id", ondelete="RESTRICT"))

    __table_args__ = (
        _period_check("unit_links"),
        sa.Index("uq_unit_links_open", "unit_id", unique=True,
                 sqlite_where=sa.text("valid_to IS NULL"), postgresql_where=sa.text("valid_to IS NULL")),
        #: "the children of P on day D" (the dated subtree query)
        sa.Index("ix_unit_links_parent_dated", "parent_id", "valid_from", "valid_to"),
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
    #: E.164 (+84912345678), see :func:`lms.text.canonical_phone`.
    phone: Mapped[Optional[str]] = mapped_column(sa.String(32))
    position: Mapped[Optional[str]] = mapped_column(sa.String(200))
    #: Cán bộ / công chức / viên chức / ...; empty when not known.
    employment_type: Mapped[Optional[EmploymentType]] = mapped_column(str_enum(EmploymentType, "employment_type"))
    #: Optional, for the "of whom women" columns of official reports.
    gender: Mapped[Optional[Gender]] = mapped_column(str_enum(Gender, "gender"))
    #: argon2 hash; empty means the account cannot log in with a password.
    password_hash: Mapped[Optional[str]] = mapped_column(sa.String(255))
    #: Set when an administrator chose the password: it must be changed at next login.
    must_change_password: Mapped[bool] = mapped_column(default=True)
    active: Mapped[bool] = mapped_column(default=True)
    #: Preferred interface language (vi/en), empty for the default.
    locale: Mapped[Optional[str]] = mapped_column(sa.String(8))
    #: Diacritic-free, case-folded name, e-mail, phone and position for search.
    search_text: Mapped[str] = mapped_column(sa.String(800), default="", index=True)
    #: ICU collation key (Vietnamese) of the given name, then the rest: lists sort by it.
    sort_key: Mapped[bytes] = mapped_column(sa.LargeBinary, index=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    last_login_at: Mapped[Optional[datetime]]

    roles: Mapped[list["RoleAssignment"]] = relationship(
        back_populates="person", cascade="all, delete-orphan", foreign_keys="RoleAssignment.person_id",
    )
    # History: saved with the person, never deleted with them (the database refuses).
    memberships: Mapped[list["Membership"]] = relationship(
        back_populates="person", cascade="save-update, merge", passive_deletes="all",
        order_by="Membership.valid_from"
    )
    key_cadre_periods: Mapped[list["KeyCadrePeriod"]] = relationship(
        back_populates="person", cascade="save-update, merge", passive_deletes="all",
        order_by="KeyCadrePeriod.valid_from"
    )
    titles: Mapped[list["LegalTitle"]] = relationship(
        back_populates="person", cascade="save-update, merge", passive_deletes="all",
        order_by="[LegalTitle.valid_from, LegalTitle.id]", foreign_keys="LegalTitle.person_id",
    )

    #: A person is never the system actor (:mod:`lms.actors`).
    is_system = False

    # -- Flask-Login -------------------------------------------------------------------------
    #: The raw token of the login session this object was loaded for (not stored).
    login_token = None  # type: str | None
    #: Set by :func:`lms.services.auth.load_session` when that session is due to be marked seen.
    login_session_id = None  # type: int | None

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

    def current_title(self, kind: "TitleKind") -> Optional["LegalTitle"]:
        return next((t for t in self.titles if t.kind == kind and t.valid_to is None), None)

    @property
    def current_titles(self) -> list["LegalTitle"]:
        return [t for t in self.titles if t.valid_to is None]

    def __repr__(self) -> str:
        return f"<Person {self.id} {self.email_key}>"


class Membership(Period, db.Model):
    """A dated period during which a person belonged to a unit."""

    __tablename__ = "memberships"
    __period_key__ = ("person_id",)
    __period_label__ = _l("thời gian công tác tại đơn vị")

    id: Mapped[int] = mapped_column(primary_key=True)
    person_id: Mapped[int] = mapped_column(sa.ForeignKey("people.id", ondelete="RESTRICT"), index=True)
    unit_id: Mapped[int] = mapped_column(sa.ForeignKey("units.id", ondelete="RESTRICT"))

    person: Mapped[Person] = relationship(back_populates="memberships")
    unit: Mapped[Unit] = relationship()

    __table_args__ = (
        _period_check("memberships"),
        sa.Index("uq_memberships_open", "person_id", unique=True,
                 sqlite_where=sa.text("valid_to IS NULL"), postgresql_where=sa.text("valid_to IS NULL")),
        #: "the people of unit U on day D"
        sa.Index("ix_memberships_unit_dated", "unit_id", "valid_from", "valid_to"),
    )


class KeyCadrePeriod(Period, db.Model):
    """A dated period during which a person was one of the key cadres (cán bộ chủ chốt)."""

    __tablename__ = "key_cadre_periods"
    __period_key__ = ("person_id",)
    __period_label__ = _l("thời gian là cán bộ chủ chốt")

    id: Mapped[int] = mapped_column(primary_key=True)
    person_id: Mapped[int] = mapped_column(sa.ForeignKey("people.id", ondelete="RESTRICT"))

    person: Mapped[Person] = relationship(back_populates="key_cadre_periods")

    __table_args__ = (
        _period_check("key_cadre_periods"),
        sa.Index("uq_key_cadre_periods_open", "person_id", unique=True,
                 sqlite_where=sa.text("valid_to IS NULL"), postgresql_where=sa.text("valid_to IS NULL")),
        #: "was P a key cadre on day D"
        sa.Index("ix_key_cadre_periods_person_dated", "person_id", "valid_from", "valid_to"),
    )


class LegalTitle(Period, db.Model):
    """A title of legal dissemination held by a person for a dated period, with the decision
    that granted it. A person may hold both titles at once, never two of one kind."""

    __tablename__ = "legal_titles"
    __period_key__ = ("person_id", "kind")
    __period_label__ = _l("chức danh")

    id: Mapped[int] = mapped_column(primary_key=True)
    person_id: Mapped[int] = mapped_column(sa.ForeignKey("people.id", ondelete="RESTRICT"))
    kind: Mapped[TitleKind] = mapped_column(str_enum(TitleKind, "title_kind"))
    #: Legal reporters only; empty when not known (titles carried over from older data).
    level: Mapped[Optional[ReporterLevel]] = mapped_column(str_enum(ReporterLevel, "reporter_level"))
    #: The recognising decision: number (e.g. 123/QĐ-UBND), date, who issued it.
    decision_number: Mapped[Optional[str]] = mapped_column(sa.String(100))
    decision_date: Mapped[Optional[date]]
    issuing_authority: Mapped[Optional[str]] = mapped_column(sa.String(255))
    #: Why the title ended (moved away, recognition withdrawn, retired, ...).
    end_reason: Mapped[Optional[str]] = mapped_column(sa.String(255))
    recorded_at: Mapped[datetime] = mapped_column(default=utcnow)
    recorded_by_id: Mapped[Optional[int]] = mapped_column(sa.ForeignKey("people.id", ondelete="SET NULL"))

    person: Mapped["Person"] = relationship(back_populates="titles", foreign_keys=[person_id])

    __table_args__ = (
        _period_check("legal_titles"),
        sa.CheckConstraint("kind = 'legal_reporter' OR level IS NULL", name="level_only_for_reporters"),
        sa.Index("uq_legal_titles_open", "person_id", "kind", unique=True,
                 sqlite_where=sa.text("valid_to IS NULL"), postgresql_where=sa.text("valid_to IS NULL")),
        #: "who held title K on day D"
        sa.Index("ix_legal_titles_dated", "person_id", "kind", "valid_from", "valid_to"),
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


class PasswordReset(db.Model):
    """A link sent by e-mail to choose a new password (self-service reset): single use, expiring,
    and void once a newer link is sent or the password is changed another way."""

    __tablename__ = "password_resets"

    id: Mapped[int] = mapped_column(primary_key=True)
    person_id: Mapped[int] = mapped_column(sa.ForeignKey("people.id", ondelete="CASCADE"), index=True)
    #: SHA-256 of the link's token: the token itself is only ever in the mail.
    token_hash: Mapped[str] = mapped_column(sa.String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    #: After this the link no longer works (``LMS_PASSWORD_RESET_MINUTES`` after it was made).
    expires_at: Mapped[datetime]
    #: When the link set a new password (a link works once).
    used_at: Mapped[Optional[datetime]]
    #: When a newer link, or a password change by other means, made this one void.
    revoked_at: Mapped[Optional[datetime]]
    #: The client address the request came from.
    ip: Mapped[Optional[str]] = mapped_column(sa.String(45))

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
    #: What the file lists: ``people`` (the roster) or ``units`` (the organisation tree).
    kind: Mapped[str] = mapped_column(sa.String(16), default="people")
    actor_id: Mapped[int] = mapped_column(sa.ForeignKey("people.id", ondelete="CASCADE"), index=True)
    filename: Mapped[str] = mapped_column(sa.String(255))
    content: Mapped[bytes] = mapped_column(sa.LargeBinary)
    status: Mapped[ImportStatus] = mapped_column(str_enum(ImportStatus, "import_status"), default=ImportStatus.PENDING)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    applied_at: Mapped[Optional[datetime]]
    result: Mapped[Optional[dict[str, Any]]] = mapped_column(sa.JSON)
    #: The job applying it, once confirmed (a second click finds it instead of starting another).
    job_id: Mapped[Optional[int]] = mapped_column(sa.ForeignKey("jobs.id", ondelete="SET NULL"))


class Job(db.Model):
    """Long work done outside a request (an import, a bulk enrolment, an export): queued by a
    view, run by the worker (:mod:`lms.jobs`), followed in the page. The work and the final
    state are committed together, so a failed job leaves nothing half-written."""

    __tablename__ = "jobs"

    id: Mapped[int] = mapped_column(primary_key=True)
    #: The registered kind (:func:`lms.jobs.kind`), e.g. ``people.import``.
    kind: Mapped[str] = mapped_column(sa.String(64), index=True)
    status: Mapped[JobStatus] = mapped_column(str_enum(JobStatus, "job_status"), default=JobStatus.QUEUED)
    #: Who asked for it (the job runs as them, their scope applies); empty: the system.
    actor_id: Mapped[Optional[int]] = mapped_column(sa.ForeignKey("people.id", ondelete="SET NULL"), index=True)
    #: Interface language of the request that queued it (messages are written in it).
    locale: Mapped[Optional[str]] = mapped_column(sa.String(8))
    #: What the job needs (ids, filters; never a clear-text secret).
    params: Mapped[Optional[dict[str, Any]]] = mapped_column(sa.JSON)
    #: What it did (counts), for the page and the audit.
    result: Mapped[Optional[dict[str, Any]]] = mapped_column(sa.JSON)
    #: Why it failed: lines for the user, already in their language.
    errors: Mapped[Optional[list[str]]] = mapped_column(sa.JSON)
    progress_done: Mapped[int] = mapped_column(default=0)
    progress_total: Mapped[Optional[int]]
    #: A file the job produced (an export), in storage under a generated key.
    output_key: Mapped[Optional[str]] = mapped_column(sa.String(128))
    output_name: Mapped[Optional[str]] = mapped_column(sa.String(255))
    output_type: Mapped[Optional[str]] = mapped_column(sa.String(128))
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    started_at: Mapped[Optional[datetime]]
    finished_at: Mapped[Optional[datetime]]

    actor: Mapped[Optional[Person]] = relationship()

    @property
    def finished(self) -> bool:
        return self.status in (JobStatus.DONE, JobStatus.FAILED)
