"""Import of the organisation tree from an .xlsx or .csv file (the same preview, all-or-nothing
and command line as the roster: :mod:`lms.services.imports`).

Columns: Mã đơn vị*, Tên đơn vị*, Mã đơn vị cấp trên, Loại, Từ ngày (and, optionally, Mã định
danh and Thứ tự). A row whose code is new creates the unit from "Từ ngày" (default today); a row
whose code exists renames, re-kinds or moves it (a move is dated by "Từ ngày"). Parents may come
after their children in the file, or already exist; a cycle inside the file is refused. Nothing
is ever closed or merged by an import.
"""

from __future__ import annotations

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
from lms.labels import UNIT_KIND_LABELS
from lms.models import Unit, UnitKind
from lms.periods import vn_day
from lms.services import imports
from lms.services import units as unit_service
from lms.services.imports import ImportRejected, Preview, Problem, RowResult
from lms.spreadsheet import Column, Table, cell_text, header_key, parse_day
from lms.text import clean

_SHOW = spreadsheet.SHOW

COLUMNS: tuple[Column, ...] = (
    Column("code", "Mã đơn vị", _l("Mã đơn vị"), ("unit code", "code", "ma"), True, 16),
    Column("name", "Tên đơn vị", _l("Tên đơn vị"), ("unit name", "name", "ten"), True, 50),
    Column("parent", "Mã đơn vị cấp trên", _l("Mã đơn vị cấp trên"),
           ("parent code", "parent", "ma cap tren", "don vi cap tren", "truc thuoc"), width=18),
    Column("kind", "Loại", _l("Loại"), ("kind", "type", "loai don vi", "cap"), width=26),
    Column("on", "Từ ngày", _l("Từ ngày"), ("from", "since", "ngay thanh lap", "hieu luc tu ngay"), width=14),
    Column("official_code", "Mã định danh", _l("Mã định danh"), ("official code", "ma dinh danh dien tu"),
           width=18),
    Column("position", "Thứ tự", _l("Thứ tự"), ("order", "position", "stt hien thi"), width=10),
)
COLUMN_BY_KEY = {c.key: c for c in COLUMNS}
_ORDER = {c.key: n for n, c in enumerate(COLUMNS)}
SHOWN = [("code", _l("Mã đơn vị")), ("name", _l("Tên đơn vị")), ("parent", _l("Mã đơn vị cấp trên"))]
_KIND_ALIASES = {
    UnitKind.PROVINCE: ("tinh", "province", "cap tinh"),
    UnitKind.DEPARTMENT: ("so", "department", "so ban nganh", "so, ban, nganh"),
    UnitKind.DIVISION: ("phong", "division", "phong ban", "phong, ban"),
    UnitKind.CENTER: ("trung tam", "center", "don vi su nghiep"),
    UnitKind.DISTRICT: ("huyen", "district", "cap huyen"),
    UnitKind.COMMUNE: ("xa", "commune", "cap xa", "phuong", "thi tran", "ubnd xa"),
    UnitKind.OTHER: ("khac", "other"),
}


def _kind_index() -> dict[str, UnitKind]:
    index: dict[str, UnitKind] = {}
    for kind, label in UNIT_KIND_LABELS.items():
        for text in (msgid(label), str(label), kind.value, *_KIND_ALIASES.get(kind, ())):
            index[header_key(text)] = kind
    return index


def may_import(session: Session, actor: Actor) -> bool:
    return permissions.may_edit_tree(actor)


@dataclass
class Plan:
    code: str
    name: str
    kind: UnitKind
    parent_code: str | None
    on: date
    official_code: str | None = None
    position: int | None = None
    unit_id: int | None = None
    rename: bool = False
    move: bool = False
    extra: dict[str, Any] = field(default_factory=dict)


def validate(session: Session, actor: Actor, table: Table, *, today: date, filename: str = "") -> Preview:
    if not may_import(session, actor):
        raise PermissionDenied(_l("Chỉ quản trị hệ thống được nhập cơ cấu tổ chức."))
    preview = Preview(kind="units", filename=filename, shown=SHOWN, ignored_columns=table.ignored)
    existing = {u.code.upper(): u for u in session.scalars(sa.select(Unit))}
    kinds = _kind_index()
    rows_by_code: dict[str, list[int]] = {}
    for number, values in table.rows:
        code = clean(cell_text(values.get("code"))).upper()
        if code:
            rows_by_code.setdefault(code, []).append(number)
    in_file: dict[str, RowResult] = {}

    for number, values in table.rows:
        raw = {k: clean(cell_text(values.get(k))) for k in COLUMN_BY_KEY}
        code, parent_code = raw["code"].upper(), raw["parent"].upper() or None
        row = RowResult(number=number, shown={"code": code[:_SHOW], "name": raw["name"][:255],
                                              "parent": (parent_code or "")[:_SHOW]})
        preview.rows.append(row)

        def problem(column: str | None, message, row=row) -> None:
            row.problems.append(Problem(COLUMN_BY_KEY[column].label if column else None, message,
                                        _ORDER.get(column, len(COLUMNS))))

        if not code:
            problem("code", _l("Vui lòng nhập mã đơn vị."))
        elif not unit_service.CODE_RE.match(code):
            problem("code", _l("Mã đơn vị chỉ gồm chữ cái không dấu, chữ số và các dấu - _ . (tối đa 32 ký tự)."))
        elif rows_by_code[code][0] != number:
            # The first row with a code stands; each later one names it (as the roster does e-mails).
            problem("code", _l("Mã đơn vị “%(code)s” trùng với mã ở dòng %(row)s; mỗi đơn vị chỉ ghi một dòng.",
                               code=code, row=rows_by_code[code][0]))
        try:
            name = unit_service._clean_name(raw["name"])
        except ServiceError as exc:
            problem("name", exc.message)
            name = ""
        unit = existing.get(code)
        kind = None
        if raw["kind"]:
            kind = kinds.get(header_key(raw["kind"]))
            if kind is None:
                problem("kind", _l("Loại “%(value)s” không hợp lệ. Dùng: %(kinds)s.", value=raw["kind"][:_SHOW],
                                   kinds=", ".join(str(label) for label in UNIT_KIND_LABELS.values())))
        else:
            kind = unit.kind if unit is not None else UnitKind.OTHER
        try:
            on = parse_day(values.get("on"), today)
        except ServiceError as exc:
            problem("on", exc.message)
            on = None
        official = None
        try:
            official = unit_service._clean_official_code(session, raw["official_code"],
                                                         exclude_id=unit.id if unit is not None else None)
        except ServiceError as exc:
            problem("official_code", exc.message)
        position = None
        if raw["position"]:
            try:
                position = unit_service._clean_position(raw["position"])
            except ServiceError as exc:
                problem("position", exc.message)
        if parent_code is not None and parent_code == code:
            problem("parent", _l("Một đơn vị không thể trực thuộc chính nó."))
        elif parent_code is not None and parent_code not in existing and parent_code not in rows_by_code:
            problem("parent", _l("Không có đơn vị nào có mã “%(code)s” (trong hệ thống hay trong tệp).",
                                 code=parent_code[:_SHOW]))
        elif parent_code is not None and parent_code in existing and not existing[parent_code].active:
            problem("parent", _l("Đơn vị cấp trên “%(name)s” đã giải thể hoặc sáp nhập.",
                                 name=existing[parent_code].name))
        if unit is not None and not unit.active:
            problem("code", _l("Đơn vị “%(name)s” đã giải thể hoặc sáp nhập; không sửa được bằng tệp.",
                               name=unit.name))
        if row.problems or on is None or kind is None:
            continue
        plan = Plan(code=code, name=name, kind=kind, parent_code=parent_code, on=on, official_code=official,
                    position=position)
        if unit is None:
            row.action = "create"
            row.changes.append(_l("Tạo đơn vị từ %(d)s", d=vn_day(on)))
        else:
            plan.unit_id = unit.id
            plan.rename = (name, kind) != (unit.name, unit.kind) or (
                official is not None and official != unit.official_code) or (
                position is not None and position != unit.position)
            current_parent = unit.parent.code if unit.parent is not None else None
            plan.move = parent_code != current_parent and not (parent_code is None and not raw["parent"])
            if plan.rename:
                row.changes.append(_l("Sửa tên, loại, mã định danh hoặc thứ tự"))
            if plan.move:
                row.changes.append(_l("Chuyển về trực thuộc %(parent)s từ %(d)s", parent=parent_code or "—",
                                      d=vn_day(on)))
            row.action = "update" if row.changes else "unchanged"
        row.plan = plan
        in_file[code] = row

    _check_order(preview, in_file, existing)
    for row in preview.rows:
        row.problems.sort(key=lambda p: p.order)
        if row.problems:
            row.action = "error"
    return preview


def _check_order(preview: Preview, in_file: dict[str, RowResult], existing: dict[str, Unit]) -> None:
    """Parents created in the file must not form a cycle, and a child may not exist before its
    parent does."""
    for code, row in in_file.items():
        seen = {code}
        parent = row.plan.parent_code
        while parent is not None and parent in in_file:
            if parent in seen:
                row.problems.append(Problem(COLUMN_BY_KEY["parent"].label,
                                            _l("Các đơn vị trong tệp trực thuộc nhau thành vòng tròn."),
                                            _ORDER["parent"]))
                break
            seen.add(parent)
            parent = in_file[parent].plan.parent_code
        parent_code = row.plan.parent_code
        if parent_code is None:
            continue
        if parent_code in in_file and in_file[parent_code].action == "create":
            parent_from = in_file[parent_code].plan.on
        elif parent_code in existing:
            parent_from = existing[parent_code].established_on
        else:
            continue
        if row.plan.on < parent_from:
            row.problems.append(Problem(COLUMN_BY_KEY["on"].label, _l(
                "Ngày %(d)s trước ngày thành lập đơn vị cấp trên “%(code)s” (%(since)s).", d=vn_day(row.plan.on),
                code=parent_code, since=vn_day(parent_from)), _ORDER["on"]))
    for code, row in in_file.items():
        unit = existing.get(code)
        if unit is not None and row.plan.move and row.plan.on < unit.established_on:
            row.problems.append(Problem(COLUMN_BY_KEY["on"].label, _l(
                "Ngày %(d)s trước ngày thành lập đơn vị (%(since)s).", d=vn_day(row.plan.on),
                since=vn_day(unit.established_on)), _ORDER["on"]))


def check(session: Session, actor: Actor, content: bytes, filename: str = "", *, today: date) -> Preview:
    if not may_import(session, actor):
        raise PermissionDenied(_l("Chỉ quản trị hệ thống được nhập cơ cấu tổ chức."))
    try:
        table = spreadsheet.read_table(content, COLUMNS)
    except spreadsheet.SpreadsheetError as exc:
        return Preview(kind="units", filename=filename, shown=SHOWN, file_errors=[exc.message])
    return validate(session, actor, table, today=today, filename=filename)


def apply(session: Session, actor: Actor, content: bytes, filename: str = "", *, today: date,
          password_hash: str | None = None, password: str | None = None, progress=None) -> dict[str, int]:
    """Check again and write every row (parents before children), or nothing."""
    preview = check(session, actor, content, filename, today=today)
    if not preview.ok:
        raise ImportRejected(preview)
    rows = {row.plan.code: row for row in preview.rows}
    done: dict[str, Unit] = {}
    if progress is not None:
        progress.start(len(preview.rows))

    def unit_of(code: str | None) -> Unit | None:
        if code is None:
            return None
        if code in rows and code not in done:
            write(rows[code])
        return done.get(code) or session.scalar(sa.select(Unit).where(Unit.code == code))

    def write(row: RowResult) -> None:
        plan: Plan = row.plan
        done[plan.code] = None  # being written: a cycle stops here (refused by the check anyway)
        parent = unit_of(plan.parent_code)
        if row.action == "create":
            unit = unit_service.create_unit(session, actor, name=plan.name, code=plan.code, kind=plan.kind,
                                            parent=parent, on=plan.on, official_code=plan.official_code,
                                            position=plan.position or 0)
        else:
            unit = session.get(Unit, plan.unit_id)
            if plan.rename:
                unit_service.update_unit(session, actor, unit, name=plan.name, code=plan.code, kind=plan.kind,
                                         official_code=plan.official_code or unit.official_code,
                                         position=plan.position)
            if plan.move:
                unit_service.move_unit(session, actor, unit, parent, plan.on)
        done[plan.code] = unit
        if progress is not None:
            progress.advance()

    row = None
    try:
        for row in preview.rows:
            if row.plan.code not in done:
                write(row)
    except ServiceError as exc:
        if row is not None:
            row.problems.append(Problem(None, exc.message))
        raise ImportRejected(preview) from None
    counts = preview.counts
    result = {"rows": counts["rows"], "created": counts["create"], "updated": counts["update"],
              "unchanged": counts["unchanged"]}
    audit.record(session, actor, "units.import", object_type="import",
                 summary=f"{filename or '—'}: {result['created']} mới, {result['updated']} cập nhật, "
                         f"{result['unchanged']} không đổi",
                 details={**result, "filename": filename})
    session.flush()
    return result


imports.register(imports.Importer(
    kind="units", check=check, apply=apply, allowed=may_import, needs_password=False,
    title=_l("Nhập cơ cấu tổ chức"), done_endpoint="units.index"))


HINTS = {
    "code": "Bắt buộc, không trùng. Chữ cái không dấu, chữ số và - _ . ; ví dụ XA-VUTHU.",
    "name": "Bắt buộc. Ví dụ: UBND xã Vũ Thư.",
    "parent": "Mã của đơn vị cấp trên (đã có, hoặc ở một dòng khác của tệp). Để trống: đơn vị gốc.",
    "kind": "Sở, ban, ngành; Phòng, ban; Trung tâm; Cấp tỉnh; Cấp huyện; Cấp xã; Khác.",
    "on": "Ngày thành lập (đơn vị mới) hoặc ngày chuyển trực thuộc, dạng ngày/tháng/năm. Để trống: hôm nay.",
    "official_code": "Mã định danh điện tử của cơ quan, nếu có.",
    "position": "Thứ tự hiển thị trong danh sách (số nguyên, nhỏ đứng trước).",
}


def build_template(session: Session, actor: Actor) -> bytes:
    """The .xlsx template, with the current tree listed on a second sheet."""
    import io

    if not may_import(session, actor):
        raise PermissionDenied(_l("Chỉ quản trị hệ thống được nhập cơ cấu tổ chức."))
    buffer = io.BytesIO()
    out = spreadsheet.template_writer(buffer, COLUMNS, HINTS, ("on",))
    sheet, book = out.sheet, out.book
    kinds = [msgid(label) for label in UNIT_KIND_LABELS.values()]
    sheet.data_validation(1, _ORDER["kind"], spreadsheet.max_rows(), _ORDER["kind"], {
        "validate": "list", "source": kinds, "error_type": "warning"})
    current = book.add_worksheet("Đơn vị hiện có")
    for col, title in enumerate(("Mã đơn vị", "Tên đơn vị", "Mã đơn vị cấp trên", "Loại")):
        current.write_string(0, col, title, out.format("head"))
        current.set_column(col, col, (16, 50, 18, 26)[col])
    units = session.scalars(sa.select(Unit).where(Unit.active.is_(True)).order_by(Unit.code))
    for row, unit in enumerate(units, start=1):
        for col, value in enumerate((unit.code, unit.name, unit.parent.code if unit.parent else "",
                                     msgid(UNIT_KIND_LABELS[unit.kind]))):
            current.write_string(row, col, value, out.format(None, spreadsheet.is_formula_like(value)))
    sheet.activate()
    out.close()
    return buffer.getvalue()
