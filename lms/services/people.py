"""People: create and edit accounts, move them between units, set key-cadre status, roles,
activation and administrator-set passwords. Dated records are closed and reopened, never
overwritten."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from datetime import date, datetime

import sqlalchemy as sa
from email_validator import EmailNotValidError, validate_email
from sqlalchemy.orm import Session

from lms import audit, periods, permissions
from lms.actors import Actor, is_system
from lms.errors import PermissionDenied, ServiceError
from lms.i18n import lazy_gettext as _l
from lms.models import (
    DISTRICT_LEVEL_ENDED,
    EmploymentType,
    Gender,
    KeyCadrePeriod,
    LegalTitle,
    Membership,
    Person,
    ReporterLevel,
    Role,
    RoleAssignment,
    TitleKind,
    Unit,
)
from lms.passwords import hash_password, password_problems
from lms.services.auth import revoke_all_sessions
from lms.text import (
    canonical_phone,
    char_code,
    clean,
    email_foreign_char,
    email_key,
    fold,
    invalid_char,
    is_formula_like,
    mixed_script_label,
    person_sort_key,
    phone_search_text,
)

NAME_MAX = 200
POSITION_MAX = 200
# Digits with the usual separators; a landline may start with its area code in brackets: (024) 3825 1234.
_PHONE_RE = re.compile(r"^\+?[0-9(][0-9 .()-]{6,22}$")
_NAME_PUNCT = set(" .'-()’")


@dataclass
class PersonInput:
    full_name: str
    email: str
    phone: str | None = None
    position: str | None = None
    employment_type: EmploymentType | str | None = None
    gender: Gender | str | None = None


@dataclass
class CleanPerson:
    full_name: str
    email: str
    email_key: str
    phone: str | None
    position: str | None
    employment_type: EmploymentType | None
    gender: Gender | None


#: The fields of a person that :func:`update_person` compares and changes.
PERSON_FIELDS = ("full_name", "email", "phone", "position", "employment_type", "gender")


def clean_name(value: str | None) -> str:
    name = clean(value)
    if not name:
        raise ServiceError(_l("Vui lòng nhập họ và tên."), "full_name")
    if len(name) > NAME_MAX:
        raise ServiceError(_l("Họ và tên không được dài quá %(n)s ký tự.", n=NAME_MAX), "full_name")
    for ch in name:
        if ch in _NAME_PUNCT:
            continue
        if unicodedata.category(ch)[0] not in "LM":
            raise ServiceError(_l(
                "Họ và tên có ký tự “%(char)s” (%(code)s) không được phép. Họ và tên chỉ được gồm chữ cái, "
                "dấu cách và các dấu . ' - ( ).", char=ch, code=char_code(ch)), "full_name")
    if not any(unicodedata.category(ch)[0] == "L" for ch in name):
        raise ServiceError(_l("Vui lòng nhập họ và tên."), "full_name")
    return name


def clean_email(value: str | None) -> str:
    raw = clean(value)
    if not raw:
        raise ServiceError(_l("Vui lòng nhập địa chỉ thư điện tử."), "email")
    if len(raw) > 254:
        raise ServiceError(_l("Địa chỉ thư điện tử quá dài."), "email")
    # Look-alikes are refused, never folded (see lms/text.py): one address, one account.
    foreign = email_foreign_char(raw)
    if foreign is not None:
        raise ServiceError(_l(
            "Địa chỉ thư điện tử “%(email)s” có ký tự “%(char)s” (%(code)s). Địa chỉ chỉ được gồm chữ cái "
            "không dấu a–z, chữ số và các dấu . _ - +; không nhận chữ có dấu, chữ Kirin, chữ Hy Lạp, chữ "
            "toàn độ rộng hay ký tự nào khác trông giống chữ cái. Tên miền có dấu hãy ghi ở dạng xn--.",
            email=raw[:80], char=foreign, code=f"U+{ord(foreign):04X}"), "email")
    try:
        checked = validate_email(raw, check_deliverability=False, allow_smtputf8=False)
    except EmailNotValidError:
        raise ServiceError(_l("Địa chỉ thư điện tử “%(email)s” không hợp lệ.", email=raw[:80]), "email") from None
    label = mixed_script_label(checked.ascii_domain)
    if label is not None:
        raise ServiceError(_l("Tên miền “%(label)s” của địa chỉ thư điện tử trộn lẫn chữ của nhiều hệ chữ viết "
                              "(ví dụ chữ Latinh với chữ Kirin) nên không được nhận.", label=label[:80]), "email")
    return checked.ascii_email or checked.normalized  # an xn-- domain stays in its ASCII form


def clean_phone(value: str | None) -> str | None:
    """The number in its one stored form (E.164), or a refusal that says how to write it."""
    phone = clean(value)
    if not phone:
        return None
    canonical = canonical_phone(phone) if _PHONE_RE.match(phone) else None
    if canonical is None:
        raise ServiceError(_l("Số điện thoại “%(phone)s” không đúng. Ghi số cố định hoặc di động Việt Nam, "
                              "ví dụ 0912 345 678 hoặc 0227 3831 234; số nước ngoài ghi kèm mã nước, "
                              "ví dụ +33 1 23 45 67 89.", phone=phone[:40]), "phone")
    return canonical


def clean_position(value: str | None) -> str | None:
    position = clean(value)
    if not position:
        return None
    if len(position) > POSITION_MAX:
        raise ServiceError(_l("Chức vụ không được dài quá %(n)s ký tự.", n=POSITION_MAX), "position")
    # Free text: < > { } & are stored as written (escaped where shown); only what is not text is refused.
    bad = invalid_char(position)
    if bad is not None:
        raise ServiceError(_l("Chức vụ có ký tự “%(char)s” (%(code)s) không được phép (ký tự điều khiển, ký tự "
                              "không hiển thị hoặc lỗi bảng mã). Hãy gõ lại chức vụ.", char=bad, code=char_code(bad)),
                           "position")
    if is_formula_like(position):
        raise ServiceError(_l("Chức vụ không được bắt đầu bằng ký tự “%(char)s”: bảng tính có thể hiểu đó là công "
                              "thức.", char=position[0]), "position")
    return position


def clean_employment(value: EmploymentType | str | None) -> EmploymentType | None:
    if not value:
        return None
    try:
        return EmploymentType(value)
    except ValueError:
        raise ServiceError(_l("Đối tượng (loại cán bộ) không hợp lệ."), "employment_type") from None


def clean_gender(value: Gender | str | None) -> Gender | None:
    if not value:
        return None
    try:
        return Gender(value)
    except ValueError:
        raise ServiceError(_l("Giới tính không hợp lệ."), "gender") from None


def find_by_email(session: Session, email: str) -> Person | None:
    return session.scalar(sa.select(Person).where(Person.email_key == email_key(email)))


def clean_person(session: Session, data: PersonInput, exclude_id: int | None = None) -> CleanPerson:
    """Validate and normalise one person's fields; raises :class:`ServiceError` on the first
    problem (``field`` names it)."""
    errors: dict[str, object] = {}
    values: dict[str, object] = {}
    for field, cleaner, raw in (
        ("full_name", clean_name, data.full_name), ("email", clean_email, data.email),
        ("phone", clean_phone, data.phone), ("position", clean_position, data.position),
        ("employment_type", clean_employment, data.employment_type), ("gender", clean_gender, data.gender),
    ):
        try:
            values[field] = cleaner(raw)
        except ServiceError as exc:
            errors[field] = exc.message
    if "email" in values:
        key = email_key(values["email"])
        existing = session.scalar(sa.select(Person.id).where(Person.email_key == key))
        if existing is not None and existing != exclude_id:
            errors["email"] = _l("Địa chỉ thư điện tử “%(email)s” đã được dùng cho tài khoản khác.",
                                 email=values["email"])
    if errors:
        field = next(iter(errors))
        raise ServiceError(errors[field], field, errors)
    return CleanPerson(values["full_name"], values["email"], email_key(values["email"]), values["phone"],
                       values["position"], values["employment_type"], values["gender"])


def _index(person: Person) -> None:
    person.search_text = fold(" ".join(filter(None, [person.full_name, person.email, phone_search_text(person.phone),
                                                     person.position])))[:800]
    person.sort_key = person_sort_key(person.full_name)


def _require_manage_unit(session: Session, actor: Actor, unit: Unit) -> None:
    if not permissions.may_manage_unit(session, actor, unit):
        raise PermissionDenied(_l("Bạn không có quyền quản lý người của đơn vị “%(name)s”.", name=unit.name), "unit")
    if not unit.active:
        raise ServiceError(_l("Đơn vị “%(name)s” đã giải thể hoặc sáp nhập.", name=unit.name), "unit")


def _require_manage_person(session: Session, actor: Actor, person: Person) -> None:
    if not permissions.may_manage_person(session, actor, person):
        raise PermissionDenied(_l("Bạn không có quyền quản lý tài khoản này."))


def check_new_password(password: str, person_like: CleanPerson | Person) -> None:
    problems = password_problems(password, user_inputs=(person_like.full_name, person_like.email))
    if problems:
        raise ServiceError(problems[0], "password")


# -- create and edit ------------------------------------------------------------------------

def unit_date_problem(unit: Unit, day: date):
    """Why ``day`` cannot be a day of membership (or key-cadre status) in ``unit``: before the
    unit existed, or once it had ended. None when it can."""
    if day < unit.established_on:
        return _l("Ngày %(d)s trước ngày thành lập đơn vị “%(name)s” (%(since)s).", d=periods.vn_day(day),
                  name=unit.name, since=periods.vn_day(unit.established_on))
    if unit.closed_on is not None and day >= unit.closed_on:
        return _l("Đơn vị “%(name)s” đã thôi hoạt động từ ngày %(d)s.", name=unit.name,
                  d=periods.vn_day(unit.closed_on))
    return None


def _check_unit_date(unit: Unit, day: date, field: str = "on") -> None:
    problem = unit_date_problem(unit, day)
    if problem is not None:
        raise ServiceError(problem, field)


def create_person(
    session: Session, actor: Actor, data: PersonInput, *, unit: Unit, password: str,
    key_cadre: bool = False, on: date, key_on: date | None = None, roles: tuple[Role, ...] = (Role.TRAINEE,),
    must_change_password: bool = True, password_hash: str | None = None,
) -> Person:
    """Create an account in ``unit`` from day ``on`` (a key cadre from ``key_on``, by default
    the same day).

    ``password_hash`` lets a bulk caller (the roster import) hash one shared initial password
    once instead of once per person; it must have checked that password against the policy
    for this person with :func:`check_new_password`.
    """
    _require_manage_unit(session, actor, unit)
    _check_unit_date(unit, on)
    key_on = key_on or on
    if key_cadre:
        _check_unit_date(unit, key_on, "key_on")
    cleaned = clean_person(session, data)
    if password_hash is None:
        check_new_password(password, cleaned)
    for role in roles:
        if role == Role.ADMIN and not permissions.is_admin(actor):
            raise PermissionDenied(_l("Bạn không có quyền cấp vai trò này."), "roles")
    # Built whole, with its first periods and empty collections, and written in one flush: a
    # new person has no history to read back (no lazy loads, no overlap query; matters for imports).
    person = Person(
        full_name=cleaned.full_name, email=cleaned.email, email_key=cleaned.email_key, phone=cleaned.phone,
        position=cleaned.position, employment_type=cleaned.employment_type, gender=cleaned.gender,
        password_hash=password_hash or hash_password(password),
        must_change_password=must_change_password, active=True, roles=[], titles=[],
        memberships=[Membership(unit_id=unit.id, valid_from=on, unit=unit)],
        key_cadre_periods=[KeyCadrePeriod(valid_from=key_on)] if key_cadre else [],
    )
    _index(person)
    session.add(person)
    session.flush()
    audit.record(session, actor, "person.create", object_type="person", object_id=person.id, unit_id=unit.id,
                 summary=f"{person.full_name} <{person.email}>",
                 details={"unit": unit.code, "key_cadre": key_cadre, "on": on.isoformat(),
                          **({"key_on": key_on.isoformat()} if key_cadre and key_on != on else {})})
    for role in dict.fromkeys(roles):
        grant_role(session, actor, person, role, unit if role == Role.UNIT_ADMIN else None)
    return person


def update_person(session: Session, actor: Actor, person: Person, data: PersonInput) -> list[str]:
    """Change a person's details; returns the names of the fields that changed."""
    _require_manage_person(session, actor, person)
    cleaned = clean_person(session, data, exclude_id=person.id)
    changes = {}
    for field in PERSON_FIELDS:
        new = getattr(cleaned, field)
        old = getattr(person, field)
        if new != old:
            changes[field] = [str(old) if old is not None else None, str(new) if new is not None else None]
            setattr(person, field, new)
    if "email" in changes:
        person.email_key = cleaned.email_key
    if changes:
        _index(person)
        session.flush()
        unit = person.current_unit
        audit.record(session, actor, "person.update", object_type="person", object_id=person.id,
                     unit_id=unit.id if unit else None, summary=person.full_name, details=changes)
    return list(changes)


def move_person(session: Session, actor: Actor, person: Person, unit: Unit, on: date) -> bool:
    """Move ``person`` to ``unit`` from day ``on``: the current membership is closed, a new one
    opened. Returns False when the person is already there."""
    _require_manage_person(session, actor, person)
    _require_manage_unit(session, actor, unit)
    current = person.current_membership
    if current is not None and current.unit_id == unit.id:
        return False
    _check_unit_date(unit, on)
    old_unit = current.unit if current is not None else None
    periods.replace(session, current, on, lambda: Membership(unit_id=unit.id, unit=unit),
                    collection=person.memberships, previous=list(person.memberships),
                    same=lambda old: old.unit_id == unit.id)
    session.flush()
    audit.record(session, actor, "person.move", object_type="person", object_id=person.id, unit_id=unit.id,
                 summary=f"{person.full_name}: {old_unit.code if old_unit else '—'} → {unit.code}",
                 details={"from": old_unit.code if old_unit else None, "to": unit.code, "on": on.isoformat()})
    return True


def set_key_cadre(session: Session, actor: Actor, person: Person, value: bool, on: date) -> bool:
    """Make ``person`` a key cadre from day ``on`` (or end it on that day). Returns whether
    anything changed. Switching off and on again on one day leaves one period, not two."""
    _require_manage_person(session, actor, person)
    current = person.current_key_cadre
    if bool(current) == value:
        return False
    if value and not person.active:
        # A locked account is not counted as a key cadre (locking ends the period).
        raise ServiceError(_l("Tài khoản đã bị khóa. Hãy mở khóa trước khi đặt là cán bộ chủ chốt."), "key_cadre")
    if value:
        last = person.key_cadre_periods[-1] if person.key_cadre_periods else None
        periods.check_start(last.valid_to if last is not None else None, on)
        periods.replace(session, None, on, KeyCadrePeriod, collection=person.key_cadre_periods,
                        previous=list(person.key_cadre_periods), same=lambda old: True)
    else:
        periods.end(session, current, on, collection=person.key_cadre_periods)
    session.flush()
    unit = person.current_unit
    audit.record(session, actor, "person.key_cadre", object_type="person", object_id=person.id,
                 unit_id=unit.id if unit else None, summary=f"{person.full_name}: {'có' if value else 'không'}",
                 details={"key_cadre": value, "on": on.isoformat()})
    return True


def _active_admin_count(session: Session) -> int:
    """How many active administrators there are. The rows are locked (PostgreSQL) so that two
    workers removing the last two administrators at once cannot both succeed: the second waits
    for the first and then counts again."""
    ids = session.scalars(
        sa.select(Person.id).join(RoleAssignment, RoleAssignment.person_id == Person.id)
        .where(RoleAssignment.role == Role.ADMIN, Person.active.is_(True))
        .order_by(Person.id).with_for_update()
    ).all()
    return len(set(ids))


def deactivate_person(session: Session, actor: Actor, person: Person, on: date, now: datetime) -> bool:
    """Disable the account from day ``on``: the person can no longer log in, their sessions end
    and their key-cadre period (if any) ends that day. Their history stays."""
    _require_manage_person(session, actor, person)
    if not person.active:
        return False
    if actor.id is not None and actor.id == person.id:
        raise ServiceError(_l("Bạn không thể tự khóa tài khoản của mình."))
    if person.has_role(Role.ADMIN) and _active_admin_count(session) <= 1:
        raise ServiceError(_l("Không thể khóa quản trị hệ thống cuối cùng."))
    if person.current_key_cadre is not None:
        set_key_cadre(session, actor, person, False, on)
    person.active = False
    revoke_all_sessions(session, person, now)
    session.flush()
    unit = person.current_unit
    audit.record(session, actor, "person.deactivate", object_type="person", object_id=person.id,
                 unit_id=unit.id if unit else None, summary=person.full_name, details={"on": on.isoformat()})
    return True


def reactivate_person(session: Session, actor: Actor, person: Person) -> bool:
    _require_manage_person(session, actor, person)
    if person.active:
        return False
    person.active = True
    session.flush()
    unit = person.current_unit
    audit.record(session, actor, "person.reactivate", object_type="person", object_id=person.id,
                 unit_id=unit.id if unit else None, summary=person.full_name)
    return True


def reset_password(session: Session, actor: Actor, person: Person, password: str, now: datetime) -> None:
    """An administrator sets a new password: the person must change it at next login and all
    their sessions end."""
    _require_manage_person(session, actor, person)
    check_new_password(password, person)
    person.password_hash = hash_password(password)
    person.must_change_password = True
    revoke_all_sessions(session, person, now)
    session.flush()
    unit = person.current_unit
    audit.record(session, actor, "person.reset_password", object_type="person", object_id=person.id,
                 unit_id=unit.id if unit else None, summary=person.full_name)


# -- roles ----------------------------------------------------------------------------------

def grant_role(session: Session, actor: Actor, person: Person, role: Role | str,
               unit: Unit | None = None) -> RoleAssignment | None:
    """Give ``person`` a role (a unit administrator's scoped to ``unit``). Returns None when
    they already hold it."""
    try:
        role = Role(role)
    except ValueError:
        raise ServiceError(_l("Vai trò không hợp lệ."), "role") from None
    if role != Role.UNIT_ADMIN:
        unit = None
    elif unit is None:
        raise ServiceError(_l("Hãy chọn đơn vị mà người này được quản trị."), "unit")
    _require_manage_person(session, actor, person)
    if person.id == actor.id and not is_system(actor):
        raise PermissionDenied(_l("Bạn không thể tự cấp vai trò cho chính mình; hãy đề nghị quản trị hệ thống."),
                               "role")
    if not permissions.may_grant(session, actor, role, unit.id if unit else None, person):
        raise PermissionDenied(_l("Bạn không có quyền cấp vai trò này."), "role")
    if unit is not None and not unit.active:
        raise ServiceError(_l("Đơn vị “%(name)s” đã giải thể hoặc sáp nhập.", name=unit.name), "unit")
    for existing in person.roles:
        if existing.role == role and existing.unit_id == (unit.id if unit else None):
            return None
    assignment = RoleAssignment(role=role, unit_id=unit.id if unit else None, unit=unit,
                                granted_by_id=actor.id)
    person.roles.append(assignment)
    session.flush()
    permissions.forget(person)
    home = person.current_unit
    audit.record(session, actor, "role.grant", object_type="person", object_id=person.id,
                 unit_id=(unit or home).id if (unit or home) else None,
                 summary=f"{person.full_name}: {role.value}{' ' + unit.code if unit else ''}")
    return assignment


def revoke_role(session: Session, actor: Actor, person: Person, assignment: RoleAssignment) -> None:
    if assignment.person_id != person.id:
        raise ServiceError(_l("Vai trò không thuộc người này."), "role")
    _require_manage_person(session, actor, person)
    if not permissions.may_grant(session, actor, assignment.role, assignment.unit_id):
        raise PermissionDenied(_l("Bạn không có quyền thu hồi vai trò này."), "role")
    if assignment.role == Role.ADMIN and person.active and _active_admin_count(session) <= 1:
        raise ServiceError(_l("Không thể thu hồi quyền của quản trị hệ thống cuối cùng."), "role")
    unit = assignment.unit
    person.roles.remove(assignment)
    session.delete(assignment)
    session.flush()
    permissions.forget(person)
    home = person.current_unit
    audit.record(session, actor, "role.revoke", object_type="person", object_id=person.id,
                 unit_id=(unit or home).id if (unit or home) else None,
                 summary=f"{person.full_name}: {assignment.role.value}{' ' + unit.code if unit else ''}")


# -- titles of legal dissemination ----------------------------------------------------------

@dataclass
class TitleInput:
    kind: TitleKind | str
    level: ReporterLevel | str | None = None
    decision_number: str | None = None
    decision_date: date | None = None
    issuing_authority: str | None = None
    #: Default: the decision date.
    valid_from: date | None = None


DECISION_MAX = 100
AUTHORITY_MAX = 255


def clean_title(data: TitleInput, *, today: date) -> tuple[TitleKind, ReporterLevel | None, str | None, str | None,
                                                            date]:
    """Check a title's fields; returns (kind, level, decision number, authority, valid from)."""
    errors: dict[str, object] = {}
    try:
        kind = TitleKind(data.kind)
    except ValueError:
        raise ServiceError(_l("Chức danh không hợp lệ."), "kind") from None
    level = None
    if data.level:
        try:
            level = ReporterLevel(data.level)
        except ValueError:
            errors["level"] = _l("Cấp công nhận không hợp lệ.")
    if kind == TitleKind.LEGAL_PROPAGANDIST and level is not None:
        errors["level"] = _l("Tuyên truyền viên pháp luật không có cấp công nhận; hãy để trống.")
    number = clean(data.decision_number) or None
    if number and len(number) > DECISION_MAX:
        errors["decision_number"] = _l("Số quyết định không được dài quá %(n)s ký tự.", n=DECISION_MAX)
    authority = clean(data.issuing_authority) or None
    if authority and len(authority) > AUTHORITY_MAX:
        errors["issuing_authority"] = _l("Tên cơ quan không được dài quá %(n)s ký tự.", n=AUTHORITY_MAX)
    if data.decision_date is not None and data.decision_date > today:
        errors["decision_date"] = _l("Ngày quyết định không được ở sau hôm nay.")
    valid_from = data.valid_from or data.decision_date or today
    if data.decision_date is not None and valid_from < data.decision_date:
        errors["valid_from"] = _l("Ngày có hiệu lực không được trước ngày quyết định.")
    if kind == TitleKind.LEGAL_REPORTER and level == ReporterLevel.DISTRICT and valid_from >= DISTRICT_LEVEL_ENDED:
        errors["level"] = _l("Cấp huyện đã kết thúc từ ngày 01/7/2025; không công nhận báo cáo viên cấp huyện "
                             "từ ngày đó.")
    if errors:
        first = next(iter(errors))
        raise ServiceError(errors[first], first, errors)
    return kind, level, number, authority, valid_from


def add_title(session: Session, actor: Actor, person: Person, data: TitleInput, *, today: date) -> LegalTitle:
    """Record that ``person`` holds a title from ``valid_from``. A title of the same kind still
    open ends that day (a legal reporter recognised again at another level, say)."""
    _require_manage_person(session, actor, person)
    kind, level, number, authority, valid_from = clean_title(data, today=today)
    current = person.current_title(kind)
    title = periods.replace(
        session, current, valid_from,
        lambda: LegalTitle(kind=kind, level=level, decision_number=number, decision_date=data.decision_date,
                           issuing_authority=authority, recorded_by_id=actor.id),
        collection=person.titles, field="valid_from")
    session.flush()
    unit = person.current_unit
    audit.record(session, actor, "person.title_add", object_type="person", object_id=person.id,
                 unit_id=unit.id if unit else None, summary=f"{person.full_name}: {kind.value}",
                 details={"kind": kind.value, "level": level.value if level else None, "decision": number,
                          "from": valid_from.isoformat()})
    return title


def end_title(session: Session, actor: Actor, person: Person, title: LegalTitle, on: date,
              reason: str | None = None) -> bool:
    """``person`` no longer holds ``title`` from day ``on``; returns False if it had ended."""
    if title.person_id != person.id:
        raise ServiceError(_l("Chức danh không thuộc người này."), "title")
    _require_manage_person(session, actor, person)
    if title.valid_to is not None:
        return False
    reason = clean(reason) or None
    if reason and len(reason) > AUTHORITY_MAX:
        raise ServiceError(_l("Lý do không được dài quá %(n)s ký tự.", n=AUTHORITY_MAX), "reason")
    kept = periods.end(session, title, on, collection=person.titles)
    if kept:
        title.end_reason = reason
    session.flush()
    unit = person.current_unit
    audit.record(session, actor, "person.title_end", object_type="person", object_id=person.id,
                 unit_id=unit.id if unit else None, summary=f"{person.full_name}: {title.kind.value}",
                 details={"on": on.isoformat(), "reason": reason})
    return True
