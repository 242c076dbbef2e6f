"""Roster import: people from an .xlsx or .csv file, previewed, then applied all-or-nothing
(the flow, batches and job are :mod:`lms.services.imports`; reading is :mod:`lms.spreadsheet`).

Each row is a person: name, e-mail (who they are), unit, position, employment type, gender,
key-cadre status and titles of legal dissemination (with the decision that granted them), roles.
Dates have their own columns: joining the unit ("Ngày vào đơn vị"), becoming a key cadre ("Ngày là
cán bộ chủ chốt"), a title's decision date. Files made from the previous template keep importing
unchanged: one "Từ ngày" then serves every date, and a "Đối tượng" of legal reporter or
propagandist becomes that title without decision data.

Empty optional cells leave an existing person's value as it is; for a new person they mean: no
phone/position/gender, employment type not known, not a key cadre, no title, trainee. Roles are
only ever added by an import, never removed; "Không" in a title column ends the title.
A date before the row's unit existed is refused, naming the row.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from lms import audit, permissions, spreadsheet
from lms.actors import Actor
from lms.errors import PermissionDenied, ServiceError
from lms.i18n import lazy_gettext as _l
from lms.i18n import msgid
from lms.labels import EMPLOYMENT_LABELS, GENDER_LABELS, LEVEL_LABELS, ROLE_LABELS, TITLE_LABELS
from lms.models import (
    DISTRICT_LEVEL_ENDED,
    EmploymentType,
    Gender,
    Person,
    ReporterLevel,
    Role,
    TitleKind,
    Unit,
)
from lms.periods import vn_day
from lms.services import imports, people
from lms.services.imports import ImportRejected, Preview, Problem, RowResult
from lms.spreadsheet import Column, Table, cell_text, header_key, is_blank, parse_day
from lms.text import clean, email_key, is_formula_like
from lms.tree import ancestors

_SHOW = spreadsheet.SHOW
max_rows = spreadsheet.max_rows
max_bytes = spreadsheet.max_bytes
#: Kept under their former names for the callers of the roster.
RosterFileError = spreadsheet.SpreadsheetError
RosterRejected = ImportRejected


# -- columns --------------------------------------------------------------------------------

COLUMNS: tuple[Column, ...] = (
    Column("full_name", "Họ và tên", _l("Họ và tên"), ("full name", "name", "ho ten", "ten"), True, 28),
    Column("email", "Thư điện tử", _l("Thư điện tử"), ("email", "e-mail", "email address", "mail"), True, 30),
    Column("phone", "Số điện thoại", _l("Số điện thoại"), ("phone", "phone number", "dien thoai", "sdt"), width=16),
    Column("gender", "Giới tính", _l("Giới tính"), ("gender", "sex", "gioi"), width=10),
    Column("unit", "Mã đơn vị", _l("Mã đơn vị"), ("unit code", "unit", "ma don vi"), True, 16),
    Column("position", "Chức vụ", _l("Chức vụ"), ("position", "job title", "title", "chuc vu, chuc danh"), width=26),
    Column("employment", "Đối tượng", _l("Đối tượng"),
           ("category", "employment type", "employment", "loai can bo", "doi tuong hoc vien"), width=22),
    Column("key_cadre", "Cán bộ chủ chốt", _l("Cán bộ chủ chốt"), ("key cadre", "can bo chu chot (co/khong)"),
           width=14),
    Column("unit_from", "Ngày vào đơn vị", _l("Ngày vào đơn vị"),
           ("unit from", "joined on", "ngay ve don vi", "cong tac tu ngay", "ngay bat dau cong tac"), width=14),
    Column("key_from", "Ngày là cán bộ chủ chốt", _l("Ngày là cán bộ chủ chốt"),
           ("key cadre from", "chu chot tu ngay", "ngay giu chuc vu chu chot"), width=14),
    Column("reporter", "Báo cáo viên pháp luật", _l("Báo cáo viên pháp luật"),
           ("legal reporter", "bcvpl", "bao cao vien"), width=16),
    Column("reporter_decision", "Số quyết định BCVPL", _l("Số quyết định BCVPL"),
           ("reporter decision", "so qd bcvpl", "quyet dinh bcvpl"), width=18),
    Column("reporter_date", "Ngày quyết định BCVPL", _l("Ngày quyết định BCVPL"),
           ("reporter decision date", "ngay qd bcvpl"), width=14),
    Column("propagandist", "Tuyên truyền viên pháp luật", _l("Tuyên truyền viên pháp luật"),
           ("legal propagandist", "ttvpl", "tuyen truyen vien"), width=16),
    Column("propagandist_decision", "Số quyết định TTVPL", _l("Số quyết định TTVPL"),
           ("propagandist decision", "so qd ttvpl", "quyet dinh ttvpl"), width=18),
    Column("propagandist_date", "Ngày quyết định TTVPL", _l("Ngày quyết định TTVPL"),
           ("propagandist decision date", "ngay qd ttvpl"), width=14),
    Column("roles", "Vai trò", _l("Vai trò"), ("roles", "role"), width=26),
    #: The previous template's single date, still read: it serves every date of the row.
    Column("on", "Từ ngày", _l("Từ ngày"), ("from", "from date", "since", "start date"), width=14),
)
COLUMN_BY_KEY = {c.key: c for c in COLUMNS}
_ORDER = {c.key: n for n, c in enumerate(COLUMNS)}
#: The columns of the template handed out (the legacy "Từ ngày" is only read).
TEMPLATE_COLUMNS = tuple(c for c in COLUMNS if c.key != "on")
SHOWN = [("full_name", _l("Họ và tên")), ("email", _l("Thư điện tử")), ("unit", _l("Mã đơn vị"))]

_TITLE_COLUMNS = {TitleKind.LEGAL_REPORTER: ("reporter", "reporter_decision", "reporter_date"),
                  TitleKind.LEGAL_PROPAGANDIST: ("propagandist", "propagandist_decision", "propagandist_date")}


def _index(labels: dict, extra: dict[Any, tuple[str, ...]]) -> dict[str, Any]:
    """Header keys of every way of writing a value: its Vietnamese label, its translation, its
    code, and the aliases given."""
    index: dict[str, Any] = {}
    for value, label in labels.items():
        for text in (msgid(label), str(label), value.value, *extra.get(value, ())):
            index[header_key(text)] = value
    return index


_ROLE_ALIASES = {
    Role.TRAINEE: ("học viên", "trainee", "learner", "student"),
    Role.TRAINER: ("giảng viên", "trainer", "teacher", "instructor"),
    Role.UNIT_ADMIN: ("quản trị đơn vị", "unit admin", "unit administrator", "unit_admin"),
    Role.ADMIN: ("quản trị hệ thống", "admin", "administrator", "system administrator"),
}
_EMPLOYMENT_ALIASES = {
    EmploymentType.CADRE: ("can bo", "cadre"),
    EmploymentType.CIVIL_SERVANT: ("cong chuc", "civil servant", "cong chuc cap xa"),
    EmploymentType.PUBLIC_EMPLOYEE: ("vien chuc", "public employee"),
    EmploymentType.WORKER: ("nguoi lao dong", "employee", "worker", "hop dong lao dong"),
    EmploymentType.PART_TIME: ("khong chuyen trach", "nguoi hoat dong khong chuyen trach o cap xa", "part time"),
    EmploymentType.OTHER: ("khac", "other"),
}
#: What the previous template's single "Đối tượng" meant (category → employment or a title).
_LEGACY_CATEGORY = {
    header_key("Báo cáo viên pháp luật"): TitleKind.LEGAL_REPORTER, "legalreporter": TitleKind.LEGAL_REPORTER,
    header_key("Tuyên truyền viên pháp luật"): TitleKind.LEGAL_PROPAGANDIST,
    "legalpropagandist": TitleKind.LEGAL_PROPAGANDIST,
    header_key("Cán bộ, công chức, viên chức"): None, "official": None,
}
_GENDER_ALIASES = {Gender.FEMALE: ("nu", "f", "female", "woman"), Gender.MALE: ("nam", "m", "male", "man")}
_LEVEL_ALIASES = {
    ReporterLevel.CENTRAL: ("trung uong", "tw", "central", "cap trung uong"),
    ReporterLevel.PROVINCIAL: ("tinh", "cap tinh", "provincial", "province"),
    ReporterLevel.DISTRICT: ("huyen", "cap huyen", "district"),
}


def _role_index() -> dict[str, Role]:
    return _index(ROLE_LABELS, _ROLE_ALIASES)


# -- parsing cells --------------------------------------------------------------------------

def parse_key_cadre(value: Any) -> bool | None:
    return spreadsheet.parse_yes_no(value, _l("Cột “Cán bộ chủ chốt” chỉ nhận “Có” hoặc “Không” (giá trị “%(value)s”).",
                                              value=cell_text(value)[:_SHOW]))


def parse_employment(value: Any) -> tuple[EmploymentType | None, TitleKind | None]:
    """(employment type, legacy title) of a "Đối tượng" cell; both None when empty."""
    text = clean(cell_text(value))
    if not text:
        return None, None
    key = header_key(text)
    if key in _LEGACY_CATEGORY:
        return None, _LEGACY_CATEGORY[key]
    found = _index(EMPLOYMENT_LABELS, _EMPLOYMENT_ALIASES).get(key)
    if found is None:
        raise ServiceError(_l("Đối tượng “%(value)s” không hợp lệ. Dùng: cán bộ, công chức, viên chức, người lao động, "
                              "người hoạt động không chuyên trách, khác.", value=text[:_SHOW]), "employment")
    return found, None


def parse_gender(value: Any) -> Gender | None:
    text = clean(cell_text(value))
    if not text:
        return None
    found = _index(GENDER_LABELS, _GENDER_ALIASES).get(header_key(text))
    if found is None:
        raise ServiceError(_l("Giới tính “%(value)s” không hợp lệ. Dùng: Nam hoặc Nữ (hoặc để trống).",
                              value=text[:_SHOW]), "gender")
    return found


#: A title cell: ("keep", None) empty; ("end", None) "Không"; ("hold", level or None) otherwise.
TitleCell = tuple[str, ReporterLevel | None]


def parse_title(value: Any, kind: TitleKind, column: str) -> TitleCell:
    text = clean(cell_text(value))
    if not text:
        return "keep", None
    if kind == TitleKind.LEGAL_REPORTER:
        level = _index(LEVEL_LABELS, _LEVEL_ALIASES).get(header_key(text))
        if level is not None:
            return "hold", level
    answer = spreadsheet.parse_yes_no(value, _l(
        "Cột “%(column)s” chỉ nhận %(values)s (giá trị “%(value)s”).", column=COLUMN_BY_KEY[column].header,
        values=("“Có”, “Không” hoặc cấp: Trung ương, Tỉnh, Huyện" if kind == TitleKind.LEGAL_REPORTER
                else "“Có” hoặc “Không”"), value=text[:_SHOW]))
    return ("hold", None) if answer else ("end", None)


def parse_roles(value: Any) -> tuple[Role, ...]:
    text = clean(cell_text(value))
    if not text:
        return ()
    index = _role_index()
    roles: list[Role] = []
    for part in re.split(r"[,;\n]", text):
        part = part.strip()
        if not part:
            continue
        role = index.get(header_key(part))
        if role is None:
            raise ServiceError(_l("Vai trò “%(value)s” không hợp lệ. Dùng: học viên, giảng viên, quản trị đơn vị, "
                                  "quản trị hệ thống (cách nhau bằng dấu phẩy).", value=part[:_SHOW]), "roles")
        if role not in roles:
            roles.append(role)
    return tuple(roles)


def _formula_problem(column: str, raw: str) -> Problem | None:
    text = clean(raw)
    if text and (is_formula_like(text) or raw.lstrip().startswith("=")):
        message = _l("Giá trị “%(value)s” bắt đầu bằng = + - hoặc @ nên có thể bị hiểu là công thức bảng tính. "
                     "Hãy bỏ ký tự đó.", value=text[:_SHOW])
        return Problem(COLUMN_BY_KEY[column].label, message, _ORDER[column])
    return None


def _period_problem(start: date | None, on: date) -> Any | None:
    if start is not None and on < start:
        return _l("Ngày hiệu lực không được trước ngày bắt đầu của giai đoạn hiện tại (%(d)s).", d=vn_day(start))
    return None


def _load_people(session: Session, keys: Iterable[str]) -> dict[str, Person]:
    keys = list(dict.fromkeys(k for k in keys if k))
    found: dict[str, Person] = {}
    for start in range(0, len(keys), 500):
        chunk = keys[start:start + 500]
        for person in session.scalars(sa.select(Person).where(Person.email_key.in_(chunk))):
            found[person.email_key] = person
    return found


def may_import(session: Session, actor: Actor) -> bool:
    return permissions.may_manage_people(session, actor)


def _require_importer(session: Session, actor: Actor) -> None:
    if not may_import(session, actor):
        raise PermissionDenied(_l("Bạn không có quyền nhập danh sách người dùng."))


# -- plans ----------------------------------------------------------------------------------

@dataclass
class TitleChange:
    kind: TitleKind
    #: "add" (a title from ``on``) or "end" (the open one ends on ``on``).
    action: str
    on: date
    level: ReporterLevel | None = None
    decision_number: str | None = None
    decision_date: date | None = None


@dataclass
class Plan:
    """What one valid row will do."""

    data: people.PersonInput
    cleaned: people.CleanPerson
    unit: Unit
    #: The day the person joins the unit (new person, or a move).
    on: date
    #: The day key-cadre status starts or ends.
    key_on: date
    person_id: int | None = None
    key_cadre: bool | None = None
    roles: tuple[Role, ...] = ()
    update_fields: list[str] = field(default_factory=list)
    move: bool = False
    key_change: bool = False
    titles: list[TitleChange] = field(default_factory=list)


# -- checking rows --------------------------------------------------------------------------

def validate(session: Session, actor: Actor, table: Table, *, today: date, filename: str = "") -> Preview:
    """Check every row; nothing is written."""
    _require_importer(session, actor)
    preview = Preview(kind="people", filename=filename, shown=SHOWN, ignored_columns=table.ignored)
    units = {u.code.upper(): u for u in session.scalars(sa.select(Unit))}

    # First pass: e-mail keys, for duplicates inside the file and one query for existing people.
    keys: dict[int, str] = {}
    for number, values in table.rows:
        try:
            keys[number] = email_key(people.clean_email(cell_text(values.get("email"))))
        except ServiceError:
            pass
    rows_by_key: dict[str, list[int]] = {}
    for number, key in keys.items():
        rows_by_key.setdefault(key, []).append(number)
    existing_people = _load_people(session, keys.values())
    for number, values in table.rows:
        row = _check_row(session, actor, number, values, keys.get(number), rows_by_key, existing_people, units,
                         today)
        row.problems.sort(key=lambda p: p.order)
        preview.rows.append(row)
    return preview


def _check_row(session: Session, actor: Actor, number: int, values: dict[str, Any], key: str | None,
               rows_by_key: dict[str, list[int]], existing_people: dict[str, Person], units: dict[str, Unit],
               today: date) -> RowResult:
    raw = {k: cell_text(values.get(k)) for k in COLUMN_BY_KEY}
    row = RowResult(number=number, shown={"full_name": clean(raw["full_name"])[:200],
                                          "email": clean(raw["email"])[:254],
                                          "unit": clean(raw["unit"]).upper()[:_SHOW]})
    problems = row.problems

    def problem(column: str | None, message) -> None:
        problems.append(Problem(COLUMN_BY_KEY[column].label if column else None, message,
                                _ORDER.get(column, len(COLUMNS))))

    def parse(column: str, parser, *args):
        try:
            return parser(*args)
        except ServiceError as exc:
            problem(column, exc.message)
            return None

    existing = existing_people.get(key) if key else None
    if key and rows_by_key[key][0] != number:
        # The first row with an address stands; each later one names it (as the spreadsheet numbers it).
        problem("email", _l("Địa chỉ thư điện tử “%(email)s” trùng với địa chỉ ở dòng %(row)s; mỗi người chỉ ghi "
                            "một dòng.", email=row.shown["email"][:_SHOW], row=rows_by_key[key][0]))
    blocked = existing is not None and not permissions.may_manage_person(session, actor, existing)
    if blocked:
        problem("email", _l("Thư điện tử “%(email)s” thuộc một tài khoản ngoài phạm vi bạn quản lý.",
                            email=row.shown["email"][:_SHOW]))

    # Unit.
    unit = None
    code = row.shown["unit"]
    if not code:
        problem("unit", _l("Vui lòng nhập mã đơn vị."))
    else:
        unit = units.get(code)
        staying = existing is not None and existing.current_unit is not None and unit is not None \
            and existing.current_unit.id == unit.id
        if unit is None:
            problem("unit", _l("Không có đơn vị nào có mã “%(code)s”.", code=code))
        elif not permissions.may_manage_unit(session, actor, unit):
            problem("unit", _l("Bạn không có quyền quản lý người của đơn vị “%(name)s”.", name=unit.name))
            unit = None
        elif not unit.active and not staying:
            problem("unit", _l("Đơn vị “%(name)s” đã giải thể hoặc sáp nhập.", name=unit.name))
            unit = None

    # Dates: each its own column; the previous template's "Từ ngày" serves every one.
    legacy = parse("on", parse_day, values.get("on"), None)
    legacy_ok = not any(p.column == COLUMN_BY_KEY["on"].label for p in problems)
    unit_from = parse("unit_from", parse_day, values.get("unit_from"), legacy or today)
    key_default = legacy or (unit_from if existing is None else today) or today
    key_from = parse("key_from", parse_day, values.get("key_from"), key_default)
    dates_ok = legacy_ok and unit_from is not None and key_from is not None

    key_cadre = parse("key_cadre", parse_key_cadre, values.get("key_cadre"))
    roles = parse("roles", parse_roles, values.get("roles")) or ()
    gender = parse("gender", parse_gender, values.get("gender"))
    employment, legacy_title = parse("employment", parse_employment, values.get("employment")) or (None, None)

    titles: dict[TitleKind, tuple[TitleCell, str | None, date | None]] = {}
    for kind, (column, decision_column, date_column) in _TITLE_COLUMNS.items():
        cell = parse(column, parse_title, values.get(column), kind, column) or ("keep", None)
        if cell[0] == "keep" and legacy_title == kind:
            cell = ("hold", None)
        decision = clean(raw[decision_column]) or None
        if decision and len(decision) > people.DECISION_MAX:
            problem(decision_column, _l("Số quyết định không được dài quá %(n)s ký tự.", n=people.DECISION_MAX))
        decided = parse(date_column, parse_day, values.get(date_column), None)
        if decided is not None and decided > today:
            problem(date_column, _l("Ngày quyết định không được ở sau hôm nay."))
        if cell[0] != "hold" and (decision or decided):
            problem(column, _l("Có số hoặc ngày quyết định nhưng cột “%(column)s” không ghi chức danh.",
                               column=COLUMN_BY_KEY[column].header))
        titles[kind] = (cell, decision, decided)

    # Person fields, through the same cleaners as the forms.
    formula = {c: _formula_problem(c, raw[c]) for c in ("full_name", "position")}
    problems.extend(found for found in formula.values() if found is not None)
    if existing is not None:
        data = people.PersonInput(raw["full_name"], raw["email"], raw["phone"] or existing.phone,
                                  raw["position"] or existing.position, employment or existing.employment_type,
                                  gender or existing.gender)
    else:
        data = people.PersonInput(raw["full_name"], raw["email"], raw["phone"] or None, raw["position"] or None,
                                  employment, gender)
    cleaned = None
    try:
        cleaned = people.clean_person(session, data, exclude_id=existing.id if existing is not None else None)
    except ServiceError as exc:
        for name, message in exc.errors.items():
            if formula.get(name) is not None:
                continue  # already explained
            column = {"employment_type": "employment"}.get(name, name)
            problem(column if column in COLUMN_BY_KEY else None, message)
    if cleaned is not None and row.shown["full_name"]:
        row.shown["full_name"] = cleaned.full_name

    if blocked or unit is None or not dates_ok:
        return row
    legacy_column = "on" if legacy is not None else None

    def date_problem(column: str, day: date, provided_by_legacy: bool) -> None:
        message = people.unit_date_problem(unit, day)
        if message is not None:
            problem(legacy_column if provided_by_legacy else column, message)

    plan = Plan(data=data, cleaned=cleaned, unit=unit, on=unit_from, key_on=key_from,
                person_id=existing.id if existing is not None else None, key_cadre=key_cadre)
    changes: list = []
    unit_date_given = not is_blank(values.get("unit_from"))
    key_date_given = not is_blank(values.get("key_from"))

    if existing is None:
        roles = roles or (Role.TRAINEE,)
        for role in roles:
            if not permissions.may_grant(session, actor, role, unit.id if role == Role.UNIT_ADMIN else None):
                problem("roles", _l("Bạn không có quyền cấp vai trò “%(role)s”.", role=ROLE_LABELS[role]))
        date_problem("unit_from", unit_from, legacy is not None and not unit_date_given)
        changes.append(_l("Tạo tài khoản mới ở đơn vị %(code)s từ %(d)s", code=unit.code, d=vn_day(unit_from)))
        if key_cadre:
            date_problem("key_from", key_from, legacy is not None and not key_date_given)
            changes.append(_l("Cán bộ chủ chốt từ %(d)s", d=vn_day(key_from)))
        plan.key_cadre = bool(key_cadre)
        plan.roles = roles
        changes.append(_l("Vai trò: %(roles)s", roles=", ".join(str(ROLE_LABELS[r]) for r in roles)))
        title_base = legacy or unit_from
        _plan_titles(plan, titles, None, title_base, unit, problem, changes)
        row.action = "create"
    else:
        if cleaned is not None:
            plan.update_fields = [name for name in people.PERSON_FIELDS
                                  if getattr(cleaned, name) != getattr(existing, name)]
            if plan.update_fields:
                labels = {"employment_type": COLUMN_BY_KEY["employment"].label}
                changes.append(_l("Sửa thông tin: %(fields)s", fields=", ".join(
                    str(labels.get(n) or COLUMN_BY_KEY[n].label) for n in plan.update_fields)))
        current = existing.current_membership
        if current is None or current.unit_id != unit.id:
            plan.move = True
            if current is not None and (message := _period_problem(current.valid_from, unit_from)):
                problem("unit_from" if unit_date_given or legacy is None else "on", message)
            date_problem("unit_from", unit_from, legacy is not None and not unit_date_given)
            changes.append(_l("Chuyển đơn vị: %(old)s → %(new)s từ %(d)s",
                              old=current.unit.code if current is not None else "—", new=unit.code,
                              d=vn_day(unit_from)))
        if key_cadre is not None and key_cadre != existing.is_key_cadre:
            plan.key_change = True
            key_column = "key_from" if key_date_given or legacy is None else "on"
            if key_cadre and not existing.active:
                problem("key_cadre", _l("Tài khoản đã bị khóa. Hãy mở khóa trước khi đặt là cán bộ chủ chốt."))
            if key_cadre:
                last = existing.key_cadre_periods[-1] if existing.key_cadre_periods else None
                if last is not None and last.valid_to is not None and (
                        message := _period_problem(last.valid_to, key_from)):
                    problem(key_column, message)
                date_problem("key_from", key_from, key_column == "on")
                changes.append(_l("Là cán bộ chủ chốt từ %(d)s", d=vn_day(key_from)))
            else:
                if message := _period_problem(existing.current_key_cadre.valid_from, key_from):
                    problem(key_column, message)
                changes.append(_l("Thôi là cán bộ chủ chốt từ %(d)s", d=vn_day(key_from)))
        # A move changes who may grant what; judge grants against the unit the person will be in.
        grants = []
        for role in roles:
            scope = unit.id if role == Role.UNIT_ADMIN else None
            if any(a.role == role and a.unit_id == scope for a in existing.roles):
                continue
            if not permissions.may_grant(session, actor, role, scope, existing):
                problem("roles", _l("Bạn không có quyền cấp vai trò “%(role)s”.", role=ROLE_LABELS[role])
                        if existing.id != actor.id else
                        _l("Bạn không thể tự cấp vai trò cho chính mình; hãy đề nghị quản trị hệ thống."))
            grants.append(role)
        if grants:
            plan.roles = tuple(grants)
            changes.append(_l("Thêm vai trò: %(roles)s", roles=", ".join(str(ROLE_LABELS[r]) for r in grants)))
        _plan_titles(plan, titles, existing, legacy or today, unit, problem, changes)
        row.action = "update" if changes else "unchanged"
    if problems or cleaned is None:
        row.action = "error"
        return row
    row.plan = plan
    row.changes = changes
    return row


def _plan_titles(plan: Plan, titles, existing: Person | None, base: date, unit: Unit, problem, changes: list) -> None:
    """What the title columns ask: a title to add (dated by its decision, else ``base``), one to
    end, or nothing."""
    for kind, ((action, level), decision, decided) in titles.items():
        column = _TITLE_COLUMNS[kind][0]
        current = existing.current_title(kind) if existing is not None else None
        if action == "keep":
            continue
        if action == "end":
            if current is None:
                continue
            if message := _period_problem(current.valid_from, base):
                problem(column, message)
            plan.titles.append(TitleChange(kind, "end", base))
            changes.append(_l("Thôi là %(title)s từ %(d)s", title=TITLE_LABELS[kind], d=vn_day(base)))
            continue
        if current is not None and (level is None or level == current.level) and not decision and not decided:
            continue  # already held as the file says
        if current is not None and level is None:
            level = current.level
        if current is not None and level == current.level and (decision or decided) and \
                decision == current.decision_number and decided == current.decision_date:
            continue
        on = decided or base
        if message := people.unit_date_problem(unit, on):
            problem(_TITLE_COLUMNS[kind][2] if decided else column, message)
        if current is not None and (message := _period_problem(current.valid_from, on)):
            problem(_TITLE_COLUMNS[kind][2] if decided else column, message)
        if kind == TitleKind.LEGAL_REPORTER and level == ReporterLevel.DISTRICT and on >= DISTRICT_LEVEL_ENDED:
            problem(column, _l("Cấp huyện đã kết thúc từ ngày 01/7/2025; không công nhận báo cáo viên cấp huyện "
                               "từ ngày đó."))
        plan.titles.append(TitleChange(kind, "add", on, level, decision, decided))
        label = f"{TITLE_LABELS[kind]} ({LEVEL_LABELS[level]})" if level else str(TITLE_LABELS[kind])
        changes.append(_l("%(title)s từ %(d)s", title=label, d=vn_day(on)))


def check(session: Session, actor: Actor, content: bytes, filename: str = "", *, today: date) -> Preview:
    """Read and validate a file; file-level problems end up in ``Preview.file_errors``."""
    _require_importer(session, actor)
    try:
        table = spreadsheet.read_table(content, COLUMNS)
    except RosterFileError as exc:
        return Preview(kind="people", filename=filename, shown=SHOWN, file_errors=[exc.message])
    return validate(session, actor, table, today=today, filename=filename)


# -- applying -------------------------------------------------------------------------------

def _common_unit(units: list[Unit]) -> Unit | None:
    """The lowest unit above (or equal to) all of ``units``, for the summary audit entry."""
    common: list[Unit] | None = None
    for unit in {u.id: u for u in units}.values():
        chain = ancestors(unit) + [unit]
        if common is None:
            common = chain
            continue
        n = 0
        while n < min(len(common), len(chain)) and common[n].id == chain[n].id:
            n += 1
        common = common[:n]
    return common[-1] if common else None


def apply(session: Session, actor: Actor, content: bytes, filename: str = "", *, today: date,
          password_hash: str | None = None, password: str | None = None, progress=None) -> dict[str, int]:
    """Validate again and write every row, or nothing: raises :class:`ImportRejected` (with the
    preview) when any row has a problem, :class:`ServiceError` for the password. The initial
    password of new accounts comes as its hash (checked and hashed once by
    :func:`lms.services.imports.initial_password_hash`) or in clear (the command line). The caller
    commits on success and rolls back on any error."""
    preview = check(session, actor, content, filename, today=today)
    if not preview.ok:
        raise ImportRejected(preview)
    creating = [r for r in preview.rows if r.action == "create"]
    if creating and password_hash is None:
        password_hash = imports.initial_password_hash(preview, password)
    if progress is not None:
        progress.start(len(preview.rows))
    row = None
    try:
        for row in preview.rows:
            _apply_row(session, actor, row, password_hash, today)
            if progress is not None:
                progress.advance()
    except ServiceError as exc:
        # Something changed under us between the checks and the write: report the row.
        row.problems.append(Problem(None, exc.message))
        raise ImportRejected(preview) from None
    except sa.exc.IntegrityError:
        row.problems.append(Problem(None, _l("Dữ liệu vừa bị thay đổi bởi người khác. Hãy tải tệp lên lại.")))
        raise ImportRejected(preview) from None

    counts = preview.counts
    result = {"rows": counts["rows"], "created": counts["create"], "updated": counts["update"],
              "unchanged": counts["unchanged"]}
    common = _common_unit([r.plan.unit for r in preview.rows if r.plan is not None])
    audit.record(session, actor, "roster.import", object_type="import", unit_id=common.id if common else None,
                 summary=f"{filename or '—'}: {result['created']} mới, {result['updated']} cập nhật, "
                         f"{result['unchanged']} không đổi",
                 details={**result, "filename": filename})
    session.flush()
    return result


def _apply_row(session: Session, actor: Actor, row: RowResult, password_hash: str | None, today: date) -> None:
    plan: Plan = row.plan
    if row.action == "create":
        person = people.create_person(session, actor, plan.data, unit=plan.unit, password="",
                                      key_cadre=bool(plan.key_cadre), on=plan.on, key_on=plan.key_on,
                                      roles=plan.roles, must_change_password=True, password_hash=password_hash)
    elif row.action == "update":
        person = session.get(Person, plan.person_id)
        if plan.update_fields:
            people.update_person(session, actor, person, plan.data)
        if plan.move:
            people.move_person(session, actor, person, plan.unit, plan.on)
        if plan.key_change:
            people.set_key_cadre(session, actor, person, bool(plan.key_cadre), plan.key_on)
        for role in plan.roles:
            people.grant_role(session, actor, person, role, plan.unit if role == Role.UNIT_ADMIN else None)
    else:
        return
    for change in plan.titles:
        if change.action == "end":
            people.end_title(session, actor, person, person.current_title(change.kind), change.on,
                             _l("Theo danh sách nhập"))
        else:
            people.add_title(session, actor, person, people.TitleInput(
                change.kind, change.level, change.decision_number, change.decision_date, None, change.on),
                today=today)


imports.register(imports.Importer(
    kind="people", check=check, apply=apply, allowed=may_import, needs_password=True,
    title=_l("Nhập danh sách người dùng"), done_endpoint="people.index"))


# -- the template ---------------------------------------------------------------------------

TEMPLATE_HINTS = {
    "full_name": "Bắt buộc. Ví dụ: Nguyễn Văn An",
    "email": "Bắt buộc, không trùng. Người đã có tài khoản với thư điện tử này sẽ được cập nhật.",
    "phone": "Không bắt buộc. Ví dụ: 0912 345 678 hoặc +84 912 345 678.",
    "gender": "Nam hoặc Nữ; để trống nếu không ghi.",
    "unit": "Bắt buộc. Mã đơn vị, xem trang “Danh mục”.",
    "position": "Không bắt buộc.",
    "employment": "Cán bộ, Công chức, Viên chức, Người lao động, Người hoạt động không chuyên trách hoặc Khác.",
    "key_cadre": "Có hoặc Không.",
    "unit_from": "Ngày bắt đầu công tác tại đơn vị, dạng ngày/tháng/năm. Để trống: hôm nay.",
    "key_from": "Ngày bắt đầu là cán bộ chủ chốt. Để trống: ngày vào đơn vị (người mới) hoặc hôm nay.",
    "reporter": "Cấp công nhận: Trung ương, Tỉnh (Huyện: chỉ trước 01/7/2025); “Không” để thôi chức danh; "
                "để trống: không thay đổi.",
    "reporter_decision": "Số quyết định công nhận báo cáo viên pháp luật, ví dụ 125/QĐ-UBND.",
    "reporter_date": "Ngày ký quyết định; chức danh có hiệu lực từ ngày này.",
    "propagandist": "Có, hoặc “Không” để thôi chức danh; để trống: không thay đổi.",
    "propagandist_decision": "Số quyết định công nhận tuyên truyền viên pháp luật.",
    "propagandist_date": "Ngày ký quyết định; chức danh có hiệu lực từ ngày này.",
    "roles": "Cách nhau bằng dấu phẩy: học viên, giảng viên, quản trị đơn vị, quản trị hệ thống. Để trống: học viên.",
}
_DATE_COLUMNS = {"unit_from", "key_from", "reporter_date", "propagandist_date"}


def build_template(session: Session, actor: Actor) -> bytes:
    """The .xlsx template: the headers (with hints), drop-downs, and a second sheet listing the
    unit codes ``actor`` manages and the values the list columns take."""
    import io

    _require_importer(session, actor)
    scope = permissions.managed_unit_ids(session, actor)
    stmt = sa.select(Unit).where(Unit.active.is_(True)).order_by(Unit.code)
    units = [u for u in session.scalars(stmt) if scope is permissions.ALL or u.id in scope]
    limit = max_rows()
    position = {c.key: i for i, c in enumerate(TEMPLATE_COLUMNS)}

    buffer = io.BytesIO()
    out = spreadsheet.template_writer(buffer, TEMPLATE_COLUMNS, TEMPLATE_HINTS, _DATE_COLUMNS)
    sheet, book = out.sheet, out.book

    lists = book.add_worksheet("Danh mục")
    head = out.format("head")
    employment = [msgid(label) for label in EMPLOYMENT_LABELS.values()]
    columns = {0: ("Mã đơn vị", 16, [u.code for u in units]), 1: ("Tên đơn vị", 50, [u.name for u in units]),
               3: ("Đối tượng", 34, employment), 4: ("Giới tính", 12, ["Nam", "Nữ"]),
               5: ("Báo cáo viên pháp luật", 22, ["Trung ương", "Tỉnh", "Huyện", "Không"]),
               6: ("Tuyên truyền viên pháp luật", 22, ["Có", "Không"]),
               7: ("Vai trò", 22, [_ROLE_ALIASES[r][0] for r in (Role.TRAINEE, Role.TRAINER, Role.UNIT_ADMIN,
                                                                  Role.ADMIN)]),
               8: ("Cán bộ chủ chốt", 18, ["Có", "Không"])}
    for col, (title, width, values) in columns.items():
        lists.write_string(0, col, title, head)
        lists.set_column(col, col, width)
        for row, value in enumerate(values, start=1):
            lists.write_string(row, col, value, out.format(None, is_formula_like(value)))

    last = limit  # data rows 2 .. limit + 1 (0-based 1 .. limit)

    def choose(key: str, sheet_col: str, count: int, title: str, warning: bool = False) -> None:
        options = {"validate": "list", "source": f"='Danh mục'!${sheet_col}$2:${sheet_col}${count + 1}",
                   "error_title": title, "error_message": f"Hãy chọn một giá trị trong danh sách “{title}”."}
        if warning:
            options["error_type"] = "warning"
        sheet.data_validation(1, position[key], last, position[key], options)

    choose("employment", "D", len(employment), "Đối tượng")
    choose("gender", "E", 2, "Giới tính")
    choose("reporter", "F", 4, "Báo cáo viên pháp luật")
    choose("propagandist", "G", 2, "Tuyên truyền viên pháp luật")
    choose("key_cadre", "I", 2, "Cán bộ chủ chốt")
    if units:
        choose("unit", "A", len(units), "Mã đơn vị", warning=True)
    sheet.activate()
    out.close()
    return buffer.getvalue()
