"""Roster import: people from an .xlsx or .csv file, previewed, then applied all-or-nothing.

The flow is the same for the web and the command line:

1. :func:`read_table` turns the uploaded bytes into rows, refusing hostile or unusable files with
   one clear message (:class:`RosterFileError`) in bounded time and memory: the kind of file is
   decided by its content (magic bytes), workbooks are checked for encryption, formulas, zip
   bombs and over-large sheets by streaming their XML before anything parses them.
2. :func:`check` validates every row against the database and the acting person's scope and
   returns a :class:`Preview`: each row's problems, or what it will do (create, update, nothing).
3. :func:`apply` validates again (the database may have changed since the preview) and, only if
   no row has a problem, writes through the people services (which check permissions and write
   their own audit entries), plus one ``roster.import`` audit entry. It flushes, never commits.

Between preview and confirmation the uploaded bytes wait in :class:`ImportBatch` (so any worker
can apply them): :func:`stage`, :func:`get_batch`, :func:`apply_batch`, :func:`discard_batch`.

Empty optional cells (phone, position, category, key cadre, roles) leave an existing person's
value as it is; for a new person they mean: no phone/position, the default category, not a key
cadre, trainee. Roles are only ever added by an import, never removed.
"""

from __future__ import annotations

import csv
import io
import math
import re
import secrets
import zipfile
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any, Callable, Iterable

import sqlalchemy as sa
from flask import current_app, has_app_context
from lms.i18n import lazy_gettext as _l
from sqlalchemy.orm import Session

from lms import audit, permissions
from lms.errors import NotFound, PermissionDenied, ServiceError
from lms.labels import CATEGORY_LABELS, ROLE_LABELS
from lms.models import ImportBatch, ImportStatus, LearnerCategory, Person, Role, Unit
from lms.passwords import hash_password
from lms.services import people
from lms.services.units import ancestors
from lms.text import clean, email_key, fold, is_formula_like

# -- limits ---------------------------------------------------------------------------------

DEFAULT_MAX_ROWS = 5000
DEFAULT_MAX_MB = 5
#: A workbook may declare at most this much uncompressed content, in this many zip entries.
MAX_UNCOMPRESSED = 50 * 1024 * 1024
MAX_ZIP_ENTRIES = 2000
#: Columns a sheet may use (the template has nine).
MAX_COLUMNS = 64
#: Rows above the header (a title, a note) that are tolerated.
HEADER_SEARCH_ROWS = 10
#: Bytes of a worksheet read at a time while scanning it.
SCAN_CHUNK = 256 * 1024
#: Pending batches older than this are refused.
BATCH_TTL = timedelta(days=1)
FILENAME_MAX = 120
_SHOW = 80  # characters of a user value repeated in a message


def max_rows() -> int:
    if has_app_context():
        return int(current_app.config.get("LMS_IMPORT_MAX_ROWS", DEFAULT_MAX_ROWS))
    return DEFAULT_MAX_ROWS


def max_bytes() -> int:
    if has_app_context():
        return int(current_app.config.get("LMS_IMPORT_MAX_MB", DEFAULT_MAX_MB)) * 1024 * 1024
    return DEFAULT_MAX_MB * 1024 * 1024


# -- columns --------------------------------------------------------------------------------

@dataclass(frozen=True)
class Column:
    key: str
    header: str  # the Vietnamese header of the template (a file format, not a UI string)
    label: Any  # translatable label for messages
    aliases: tuple[str, ...]
    required: bool = False


COLUMNS: tuple[Column, ...] = (
    Column("full_name", "Họ và tên", _l("Họ và tên"), ("full name", "name", "ho ten", "ten"), True),
    Column("email", "Thư điện tử", _l("Thư điện tử"), ("email", "e-mail", "email address", "mail"), True),
    Column("phone", "Số điện thoại", _l("Số điện thoại"), ("phone", "phone number", "dien thoai", "sdt")),
    Column("unit", "Mã đơn vị", _l("Mã đơn vị"), ("unit code", "unit", "ma don vi"), True),
    Column("position", "Chức vụ", _l("Chức vụ"), ("position", "job title", "title")),
    Column("category", "Đối tượng", _l("Đối tượng"), ("category", "doi tuong hoc vien")),
    Column("key_cadre", "Cán bộ chủ chốt", _l("Cán bộ chủ chốt"), ("key cadre", "can bo chu chot (co/khong)")),
    Column("on", "Từ ngày", _l("Từ ngày"), ("from", "from date", "since", "start date")),
    Column("roles", "Vai trò", _l("Vai trò"), ("roles", "role")),
)
COLUMN_BY_KEY = {c.key: c for c in COLUMNS}
_ORDER = {c.key: n for n, c in enumerate(COLUMNS)}


def _header_key(value: str) -> str:
    return re.sub(r"[^a-z0-9]", "", fold(value))


_HEADER_INDEX: dict[str, str] = {}
for _column in COLUMNS:
    for _name in (_column.header, _column.key, *_column.aliases):
        _HEADER_INDEX[_header_key(_name)] = _column.key


def _lazy_msgid(label) -> str:
    """The untranslated (Vietnamese) text of a lazy label."""
    args = getattr(label, "_args", None)
    return args[0] if args else str(label)


def _category_index() -> dict[str, LearnerCategory]:
    index: dict[str, LearnerCategory] = {}
    for category, label in CATEGORY_LABELS.items():
        for text in (_lazy_msgid(label), str(label), category.value):
            index[_header_key(text)] = category
    return index


_ROLE_ALIASES = {
    Role.TRAINEE: ("học viên", "trainee", "learner", "student"),
    Role.TRAINER: ("giảng viên", "trainer", "teacher", "instructor"),
    Role.UNIT_ADMIN: ("quản trị đơn vị", "unit admin", "unit administrator", "unit_admin"),
    Role.ADMIN: ("quản trị hệ thống", "admin", "administrator", "system administrator"),
}


def _role_index() -> dict[str, Role]:
    index: dict[str, Role] = {}
    for role, names in _ROLE_ALIASES.items():
        for text in (*names, _lazy_msgid(ROLE_LABELS[role]), str(ROLE_LABELS[role]), role.value):
            index[_header_key(text)] = role
    return index


_YES = {"co", "c", "x", "1", "yes", "y", "true", "dung"}
_NO = {"khong", "k", "0", "no", "n", "false", "sai"}


# -- errors and results ---------------------------------------------------------------------

class RosterFileError(ServiceError):
    """The file as a whole cannot be used (not a spreadsheet, encrypted, too big, ...)."""


class RosterRejected(ServiceError):
    """At least one row has a problem: nothing was written. ``preview`` tells which."""

    def __init__(self, preview: "Preview"):
        super().__init__(_l("Danh sách còn lỗi nên chưa có thay đổi nào được ghi. Hãy sửa tệp rồi tải lên lại."))
        self.preview = preview


@dataclass
class Problem:
    #: The column concerned (its translatable label), if any.
    column: Any
    message: Any
    #: Position of the column in the template, to list a row's problems left to right.
    order: int = len(COLUMNS)

    def __str__(self) -> str:
        return f"{self.column}: {self.message}" if self.column else str(self.message)


@dataclass
class Plan:
    """What one valid row will do."""

    data: people.PersonInput
    cleaned: people.CleanPerson
    unit: Unit
    on: date
    person_id: int | None = None
    key_cadre: bool | None = None
    roles: tuple[Role, ...] = ()
    update_fields: list[str] = field(default_factory=list)
    move: bool = False
    key_change: bool = False


@dataclass
class RowResult:
    number: int
    full_name: str
    email: str
    unit_code: str
    action: str = "error"  # create | update | unchanged | error
    changes: list = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    plan: Plan | None = None

    @property
    def ok(self) -> bool:
        return not self.problems


@dataclass
class Preview:
    filename: str
    rows: list[RowResult] = field(default_factory=list)
    file_errors: list = field(default_factory=list)
    ignored_columns: list[str] = field(default_factory=list)

    @property
    def problem_rows(self) -> list[RowResult]:
        return [r for r in self.rows if r.problems]

    @property
    def ok(self) -> bool:
        return not self.file_errors and not self.problem_rows and bool(self.rows)

    def count(self, action: str) -> int:
        return sum(1 for r in self.rows if r.action == action and not r.problems)

    @property
    def counts(self) -> dict[str, int]:
        return {"rows": len(self.rows), "create": self.count("create"), "update": self.count("update"),
                "unchanged": self.count("unchanged"), "errors": len(self.problem_rows)}

    @property
    def has_changes(self) -> bool:
        return self.count("create") + self.count("update") > 0

    def messages(self) -> list[str]:
        """Every problem as one line of text (for the command line)."""
        lines = [str(e) for e in self.file_errors]
        for row in self.problem_rows:
            for problem in row.problems:
                lines.append(str(_l("Dòng %(n)s: %(problem)s", n=row.number, problem=str(problem))))
        return lines


@dataclass
class Table:
    header_row: int
    columns: dict[str, int]
    ignored: list[str]
    rows: list[tuple[int, dict[str, Any]]]


# -- reading the file -----------------------------------------------------------------------

_CFB_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
_ENCRYPTED_MARK = "EncryptedPackage".encode("utf-16-le")
# Signatures that cannot start a text file (other binaries are caught by their NUL and control bytes).
_BINARY_MAGIC = (b"\x89PNG", b"%PDF-", b"\xff\xd8\xff", b"\x1f\x8b", b"7z\xbc\xaf", b"\x7fELF")


def _not_spreadsheet() -> RosterFileError:
    return RosterFileError(_l("Tệp không phải là bảng tính Excel (.xlsx) hoặc CSV. "
                              "Hãy dùng tệp mẫu và lưu dưới dạng .xlsx hoặc .csv (UTF-8)."))


def _too_many_rows(limit: int) -> RosterFileError:
    return RosterFileError(_l("Tệp có quá nhiều dòng: mỗi lần chỉ nhập được tối đa %(n)s người. "
                              "Hãy chia danh sách thành nhiều tệp nhỏ hơn.", n=limit))


def _too_many_columns() -> RosterFileError:
    return RosterFileError(_l("Tệp có quá nhiều cột (tối đa %(n)s). Hãy dùng tệp mẫu.", n=MAX_COLUMNS))


def _unreadable() -> RosterFileError:
    return RosterFileError(_l("Không đọc được tệp bảng tính: tệp bị hỏng hoặc không đúng định dạng. "
                              "Hãy mở tệp bằng Excel và lưu lại dưới dạng .xlsx."))


def sniff(content: bytes) -> str:
    """``"xlsx"`` or ``"csv"``, from the content (never the file name); raises
    :class:`RosterFileError` for anything else."""
    if not content or not content.strip(b" \t\r\n\xef\xbb\xbf\x00\xff\xfe"):
        raise RosterFileError(_l("Tệp rỗng: không có dữ liệu nào."))
    if content.startswith(b"PK\x03\x04") or content.startswith(b"PK\x05\x06"):
        return "xlsx"
    if content.startswith(_CFB_MAGIC):
        if _ENCRYPTED_MARK in content:
            raise RosterFileError(_l("Tệp được mã hóa/đặt mật khẩu nên không đọc được. "
                                     "Hãy mở tệp, bỏ mật khẩu rồi lưu lại dưới dạng .xlsx."))
        raise RosterFileError(_l("Tệp Excel 97–2003 (.xls) không được hỗ trợ. "
                                 "Hãy mở tệp bằng Excel và lưu lại dưới dạng .xlsx (Excel Workbook)."))
    if content.startswith(_BINARY_MAGIC):
        raise _not_spreadsheet()
    return "csv"


def _decode_text(content: bytes) -> str:
    if content.startswith((b"\xff\xfe", b"\xfe\xff")):
        try:
            return content.decode("utf-16")
        except UnicodeDecodeError:
            raise _not_spreadsheet() from None
    if b"\x00" in content:
        raise _not_spreadsheet()
    try:
        return content.decode("utf-8-sig")
    except UnicodeDecodeError:
        pass
    try:
        text = content.decode("cp1258")  # Vietnamese Windows ("CSV" saved by older Excel)
    except UnicodeDecodeError:
        raise RosterFileError(_l("Tệp CSV phải được lưu với bảng mã UTF-8. "
                                 "Trong Excel, hãy chọn “CSV UTF-8 (Comma delimited)” khi lưu.")) from None
    if re.search(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]", text):
        raise _not_spreadsheet()
    return text


def _read_csv(content: bytes, limit: int) -> list[list[Any]]:
    import pandas as pd

    text = _decode_text(content)
    # Count lines before parsing anything: a million-line file stops here. Blank lines and
    # line breaks inside quoted cells count too, so allow some slack; the exact number of
    # data rows is checked after parsing.
    if max(text.count("\n"), text.count("\r")) > limit + HEADER_SEARCH_ROWS + 100:
        raise _too_many_rows(limit)
    lines = text.splitlines()
    first = next((line for line in lines if line.strip()), "")
    separator = max((",", ";", "\t"), key=first.count)
    width = max((line.count(separator) for line in lines), default=0) + 1
    if width > MAX_COLUMNS * 2:
        raise _too_many_columns()
    try:
        frame = pd.read_csv(io.StringIO(text), sep=separator, header=None, names=list(range(width)), index_col=False,
                            dtype=str, keep_default_na=False, na_filter=False, skip_blank_lines=False,
                            quoting=csv.QUOTE_MINIMAL)
    except Exception:  # pandas raises many kinds; the user needs one message
        raise RosterFileError(_l("Không đọc được tệp CSV. Hãy lưu lại bằng Excel dưới dạng "
                                 "“CSV UTF-8 (Comma delimited)” hoặc dùng tệp mẫu .xlsx.")) from None
    return frame.values.tolist()


_TOKEN = re.compile(rb"<(/?)(?:[A-Za-z_][\w.-]*:)?(sheetData|row|c|v|is|f)(?=[\s/>])([^>]*)>")
_R_ATTR = re.compile(rb"""\br\s*=\s*["']([A-Za-z]*)([0-9]*)["']""")


def _column_index(letters: bytes) -> int:
    n = 0
    for ch in letters.upper():
        n = n * 26 + (ch - 64)
    return n


def _scan_sheet(stream, limit: int) -> None:
    """Stream a worksheet's XML once, in chunks, and refuse it early when it holds formulas or
    more rows/columns than allowed. Only cells with a value count."""
    row_limit = limit + 1 + HEADER_SEARCH_ROWS  # the header and a few title rows
    index_limit = 2 * limit + 100  # how far down a value may sit (blank rows allowed)
    carry = b""
    in_data = False
    rows_with_values = 0
    row_number = 0
    row_counted = True
    cell_open = False
    cell_row = cell_col = 0
    col_in_row = 0
    while True:
        chunk = stream.read(SCAN_CHUNK)
        final = not chunk
        buffer = carry + chunk
        if final:
            cut = len(buffer)
        else:
            cut = buffer.rfind(b"<")
            if cut <= 0:
                cut = len(buffer) if len(buffer) > SCAN_CHUNK * 4 else 0
        part, carry = buffer[:cut], buffer[cut:]
        for match in _TOKEN.finditer(part):
            closing, name, attrs = match.group(1), match.group(2), match.group(3)
            if name == b"sheetData":
                if closing:
                    return
                in_data = not attrs.rstrip().endswith(b"/")
                if not in_data:
                    return
                continue
            if closing or not in_data:
                continue
            if name == b"row":
                found = _R_ATTR.search(attrs)
                row_number = int(found.group(2)) if found and found.group(2) else row_number + 1
                row_counted = False
                col_in_row = 0
                cell_open = False
            elif name == b"c":
                col_in_row += 1
                found = _R_ATTR.search(attrs)
                if found and found.group(1):
                    col_in_row = _column_index(found.group(1))
                cell_row, cell_col = row_number, col_in_row
                cell_open = not attrs.rstrip().endswith(b"/")
            elif name == b"f":
                raise RosterFileError(_l("Tệp có chứa công thức (ví dụ ô %(cell)s). Hãy sao chép toàn bộ bảng rồi "
                                         "“Dán giá trị” (Paste Values) để bỏ công thức, lưu lại rồi tải lên.",
                                         cell=_cell_name(cell_row, cell_col)))
            elif cell_open:  # <v> or <is>: the open cell has a value
                cell_open = False
                if cell_col > MAX_COLUMNS:
                    raise _too_many_columns()
                if cell_row > index_limit:
                    raise _too_many_rows(limit)
                if not row_counted:
                    row_counted = True
                    rows_with_values += 1
                    if rows_with_values > row_limit:
                        raise _too_many_rows(limit)
        if final:
            return


def _cell_name(row: int, col: int) -> str:
    letters = ""
    while col > 0:
        col, rem = divmod(col - 1, 26)
        letters = chr(65 + rem) + letters
    return f"{letters or 'A'}{row or 1}"


_SHEET_RE = re.compile(r"<(?:\w+:)?sheet\s[^>]*?\b(?:\w+:)?id\s*=\s*[\"']([^\"']+)[\"']")
_REL_RE = re.compile(r"<(?:\w+:)?Relationship\s([^>]*)>")
_ATTR_RE = re.compile(r"\b(Id|Target)\s*=\s*[\"']([^\"']+)[\"']")


def _first_sheet(archive: zipfile.ZipFile, names: set[str]) -> str:
    """The path of the workbook's first worksheet (the one that is imported)."""
    def small(name: str) -> str:
        with archive.open(name) as handle:
            return handle.read(4 * 1024 * 1024).decode("utf-8", "replace")

    try:
        workbook = small("xl/workbook.xml")
        found = _SHEET_RE.search(workbook)
        rels_name = "xl/_rels/workbook.xml.rels"
        if found and rels_name in names:
            for rel in _REL_RE.finditer(small(rels_name)):
                attrs = dict(_ATTR_RE.findall(rel.group(1)))
                if attrs.get("Id") == found.group(1) and attrs.get("Target"):
                    target = attrs["Target"]
                    path = target.lstrip("/") if target.startswith("/") else "xl/" + target
                    parts: list[str] = []
                    for piece in path.split("/"):
                        if piece == "..":
                            if parts:
                                parts.pop()
                        elif piece not in ("", "."):
                            parts.append(piece)
                    path = "/".join(parts)
                    if path in names:
                        return path
    except (zipfile.BadZipFile, OSError, KeyError, RuntimeError, EOFError, ValueError):
        raise _unreadable() from None
    sheets = sorted(n for n in names if n.startswith("xl/worksheets/") and n.endswith(".xml"))
    if not sheets:
        raise RosterFileError(_l("Bảng tính không có trang tính nào."))
    return sheets[0]


def _read_xlsx(content: bytes, limit: int) -> list[list[Any]]:
    import pandas as pd

    try:
        archive = zipfile.ZipFile(io.BytesIO(content))
        infos = archive.infolist()
    except (zipfile.BadZipFile, OSError, ValueError, EOFError, NotImplementedError):
        raise _unreadable() from None
    if len(infos) > MAX_ZIP_ENTRIES or sum(i.file_size for i in infos) > MAX_UNCOMPRESSED:
        raise RosterFileError(_l("Tệp nén bất thường (quá nhiều thành phần hoặc dung lượng giải nén quá lớn) "
                                 "nên không được xử lý. Hãy dùng tệp mẫu."))
    names = {i.filename for i in infos}
    if "xl/workbook.xml" not in names:
        if "EncryptedPackage" in names:
            raise RosterFileError(_l("Tệp được mã hóa/đặt mật khẩu nên không đọc được. "
                                     "Hãy mở tệp, bỏ mật khẩu rồi lưu lại dưới dạng .xlsx."))
        raise _not_spreadsheet()
    if any(i.flag_bits & 0x1 for i in infos):
        raise RosterFileError(_l("Tệp được mã hóa/đặt mật khẩu nên không đọc được. "
                                 "Hãy mở tệp, bỏ mật khẩu rồi lưu lại dưới dạng .xlsx."))
    sheet = _first_sheet(archive, names)
    try:
        with archive.open(sheet) as stream:
            _scan_sheet(stream, limit)
        # Hand the parser a copy whose entries are exactly what was declared (and no more):
        # a forged header cannot make it inflate beyond the checked sizes.
        safe = io.BytesIO()
        with zipfile.ZipFile(safe, "w", zipfile.ZIP_STORED) as copy:
            for info in infos:
                if info.is_dir():
                    continue
                with archive.open(info) as source:
                    copy.writestr(info.filename, source.read(info.file_size))
    except RosterFileError:
        raise
    except (zipfile.BadZipFile, OSError, ValueError, EOFError, NotImplementedError, RuntimeError, KeyError):
        raise _unreadable() from None
    try:
        frame = pd.read_excel(io.BytesIO(safe.getvalue()), engine="calamine", sheet_name=0, header=None,
                              dtype=object)
    except Exception:  # calamine and pandas raise many kinds; the user needs one message
        raise _unreadable() from None
    if frame.shape[1] > MAX_COLUMNS:
        raise _too_many_columns()
    return frame.values.tolist()


def _is_blank(value: Any) -> bool:
    if value is None:
        return True
    if isinstance(value, float) and math.isnan(value):
        return True
    if isinstance(value, str):
        return not value.strip()
    try:
        import pandas as pd

        return bool(pd.isna(value))
    except (TypeError, ValueError):
        return False


def _text(value: Any) -> str:
    """A cell as text (numbers without a trailing .0, dates as dd/mm/yyyy)."""
    if _is_blank(value):
        return ""
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, datetime):
        return value.strftime("%d/%m/%Y")
    if isinstance(value, date):
        return value.strftime("%d/%m/%Y")
    return str(value)


def read_table(content: bytes, limit: int | None = None, size_limit: int | None = None,
               required: Iterable[str] | None = None) -> Table:
    """Parse ``content`` into header and rows; :class:`RosterFileError` when the file cannot be
    used. Row numbers are the spreadsheet's (the header is usually row 1). ``required`` names the
    column keys that must be present (default: the roster's required columns); other readers of
    a list (e.g. enrolment by e-mail) pass just the ones they use."""
    limit = limit or max_rows()
    size_limit = size_limit or max_bytes()
    if len(content) > size_limit:
        raise RosterFileError(_l("Tệp quá lớn: tối đa %(n)s MB.", n=size_limit // (1024 * 1024)))
    kind = sniff(content)
    grid = _read_xlsx(content, limit) if kind == "xlsx" else _read_csv(content, limit)

    header_at = None
    best: tuple[int, int] | None = None
    seen = 0
    for index, cells in enumerate(grid):
        if all(_is_blank(c) for c in cells):
            continue
        seen += 1
        known = sum(1 for c in cells if _header_key(_text(c)) in _HEADER_INDEX)
        if best is None or known > best[1]:
            best = (index, known)
        if known >= 2:
            header_at = index
            break
        if seen >= HEADER_SEARCH_ROWS:
            break
    if best is None:
        raise RosterFileError(_l("Tệp rỗng: không có dữ liệu nào."))
    if header_at is None:
        header_at = best[0]

    columns: dict[str, int] = {}
    ignored: list[str] = []
    duplicated: list[str] = []
    for position, cell in enumerate(grid[header_at]):
        text = clean(_text(cell))
        if not text:
            continue
        key = _HEADER_INDEX.get(_header_key(text))
        if key is None:
            ignored.append(text[:_SHOW])
        elif key in columns:
            duplicated.append(text[:_SHOW])
        else:
            columns[key] = position
    if duplicated:
        raise RosterFileError(_l("Dòng tiêu đề có cột bị lặp: %(names)s.", names=", ".join(duplicated)))
    wanted = set(required) if required is not None else {c.key for c in COLUMNS if c.required}
    missing = [c.header for c in COLUMNS if c.key in wanted and c.key not in columns]
    if missing:
        raise RosterFileError(_l("Thiếu cột bắt buộc: %(names)s. Dòng tiêu đề phải có các cột của tệp mẫu.",
                                 names=", ".join(f"“{m}”" for m in missing)))

    rows: list[tuple[int, dict[str, Any]]] = []
    for index in range(header_at + 1, len(grid)):
        cells = grid[index]
        values = {key: (cells[pos] if pos < len(cells) else None) for key, pos in columns.items()}
        if all(_is_blank(v) for v in values.values()):
            continue
        rows.append((index + 1, values))
        if len(rows) > limit:
            raise _too_many_rows(limit)
    if not rows:
        raise RosterFileError(_l("Tệp chưa có dòng dữ liệu nào bên dưới dòng tiêu đề."))
    return Table(header_row=header_at + 1, columns=columns, ignored=ignored, rows=rows)


# -- validating rows ------------------------------------------------------------------------

_DMY = re.compile(r"^(\d{1,2})[/.-](\d{1,2})[/.-](\d{4})$")
_YMD = re.compile(r"^(\d{4})-(\d{1,2})-(\d{1,2})(?:[ T]00:00(?::00(?:\.0+)?)?)?$")


def parse_day(value: Any, default: date) -> date:
    """A "Từ ngày" cell: a real date cell, dd/mm/yyyy text or ISO text; empty means ``default``."""
    if _is_blank(value):
        return default
    day = None
    if isinstance(value, datetime):
        day = value.date()
    elif isinstance(value, date):
        day = value
    elif isinstance(value, str):
        text = clean(value)
        try:
            if m := _DMY.match(text):
                day = date(int(m.group(3)), int(m.group(2)), int(m.group(1)))
            elif m := _YMD.match(text):
                day = date(int(m.group(1)), int(m.group(2)), int(m.group(3)))
        except ValueError:
            day = None
    if day is None or not date(1900, 1, 1) <= day <= date(2200, 12, 31):
        raise ServiceError(_l("Ngày “%(value)s” không hợp lệ (ghi theo dạng ngày/tháng/năm, ví dụ 01/09/2025).",
                              value=_text(value)[:_SHOW]), "on")
    return day


def parse_key_cadre(value: Any) -> bool | None:
    if _is_blank(value):
        return None
    if isinstance(value, bool):
        return value
    if isinstance(value, (int, float)) and value in (0, 1):
        return bool(value)
    key = _header_key(_text(value))
    if key in _YES:
        return True
    if key in _NO:
        return False
    raise ServiceError(_l("Cột “Cán bộ chủ chốt” chỉ nhận “Có” hoặc “Không” (giá trị “%(value)s”).",
                          value=_text(value)[:_SHOW]), "key_cadre")


def parse_category(value: Any) -> LearnerCategory | str | None:
    """The category for a label or enum value; the raw text when unknown (so the person
    cleaner reports it with its usual message)."""
    text = clean(_text(value))
    if not text:
        return None
    return _category_index().get(_header_key(text), text)


def parse_roles(value: Any) -> tuple[Role, ...]:
    text = clean(_text(value))
    if not text:
        return ()
    index = _role_index()
    roles: list[Role] = []
    for part in re.split(r"[,;\n]", text):
        part = part.strip()
        if not part:
            continue
        role = index.get(_header_key(part))
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
        return _l("Ngày hiệu lực không được trước ngày bắt đầu của giai đoạn hiện tại (%(d)s).",
                  d=start.strftime("%d/%m/%Y"))
    return None


def _load_people(session: Session, keys: Iterable[str]) -> dict[str, Person]:
    keys = list(dict.fromkeys(k for k in keys if k))
    found: dict[str, Person] = {}
    for start in range(0, len(keys), 500):
        chunk = keys[start:start + 500]
        for person in session.scalars(sa.select(Person).where(Person.email_key.in_(chunk))):
            found[person.email_key] = person
    return found


def _require_importer(session: Session, actor: Person | None) -> None:
    if actor is not None and not permissions.may_manage_people(session, actor):
        raise PermissionDenied(_l("Bạn không có quyền nhập danh sách người dùng."))


def validate(session: Session, actor: Person | None, table: Table, *, today: date,
             filename: str = "") -> Preview:
    """Check every row; nothing is written."""
    _require_importer(session, actor)
    preview = Preview(filename=filename, ignored_columns=table.ignored)
    units = {u.code.upper(): u for u in session.scalars(sa.select(Unit))}

    # First pass: e-mail keys, for duplicates inside the file and one query for existing people.
    keys: dict[int, str] = {}
    for number, values in table.rows:
        try:
            keys[number] = email_key(people.clean_email(_text(values.get("email"))))
        except ServiceError:
            pass
    rows_by_key: dict[str, list[int]] = {}
    for number, key in keys.items():
        rows_by_key.setdefault(key, []).append(number)
    existing_people = _load_people(session, keys.values())

    for number, values in table.rows:
        raw = {k: _text(values.get(k)) for k in COLUMN_BY_KEY}
        row = RowResult(number=number, full_name=clean(raw["full_name"])[:200], email=clean(raw["email"])[:254],
                        unit_code=clean(raw["unit"]).upper()[:_SHOW])
        preview.rows.append(row)
        problems = row.problems

        def problem(column: str | None, message) -> None:
            problems.append(Problem(COLUMN_BY_KEY[column].label if column else None, message,
                                    _ORDER.get(column, len(COLUMNS))))

        key = keys.get(number)
        existing = existing_people.get(key) if key else None
        if key and len(rows_by_key[key]) > 1:
            others = ", ".join(str(n) for n in rows_by_key[key] if n != number)
            problem("email", _l("Thư điện tử “%(email)s” bị trùng với dòng %(rows)s trong tệp.",
                                email=row.email[:_SHOW], rows=others))
        blocked = existing is not None and actor is not None and not permissions.may_manage_person(
            session, actor, existing)
        if blocked:
            problem("email", _l("Thư điện tử “%(email)s” thuộc một tài khoản ngoài phạm vi bạn quản lý.",
                                email=row.email[:_SHOW]))

        # Unit.
        unit = None
        if not row.unit_code:
            problem("unit", _l("Vui lòng nhập mã đơn vị."))
        else:
            unit = units.get(row.unit_code)
            if unit is None:
                problem("unit", _l("Không có đơn vị nào có mã “%(code)s”.", code=row.unit_code))
            elif actor is not None and not permissions.may_manage_unit(session, actor, unit):
                problem("unit", _l("Bạn không có quyền quản lý người của đơn vị “%(name)s”.", name=unit.name))
                unit = None
            elif not unit.active and not (existing is not None and existing.current_unit is not None
                                          and existing.current_unit.id == unit.id):
                problem("unit", _l("Đơn vị “%(name)s” đã giải thể hoặc sáp nhập.", name=unit.name))
                unit = None

        # Simple cells.
        on = today
        try:
            on = parse_day(values.get("on"), today)
        except ServiceError as exc:
            problem("on", exc.message)
            on = None
        key_cadre = None
        try:
            key_cadre = parse_key_cadre(values.get("key_cadre"))
        except ServiceError as exc:
            problem("key_cadre", exc.message)
        roles: tuple[Role, ...] = ()
        try:
            roles = parse_roles(values.get("roles"))
        except ServiceError as exc:
            problem("roles", exc.message)

        # Person fields, through the same cleaners as the forms.
        formula = {c: _formula_problem(c, raw[c]) for c in ("full_name", "position")}
        for found in formula.values():
            if found is not None:
                problems.append(found)
        category = parse_category(values.get("category"))
        if existing is not None:
            data = people.PersonInput(raw["full_name"], raw["email"], raw["phone"] or existing.phone,
                                      raw["position"] or existing.position, category or existing.category)
        else:
            data = people.PersonInput(raw["full_name"], raw["email"], raw["phone"] or None, raw["position"] or None,
                                      category or LearnerCategory.OFFICIAL)
        cleaned = None
        try:
            cleaned = people.clean_person(session, data, exclude_id=existing.id if existing is not None else None)
        except ServiceError as exc:
            for name, message in exc.errors.items():
                if formula.get(name) is not None:
                    continue  # already explained
                problem(name if name in COLUMN_BY_KEY else None, message)
        if cleaned is not None and row.full_name:
            row.full_name = cleaned.full_name

        # What the row will do, and whether the actor may do it.
        if not roles and existing is None:
            roles = (Role.TRAINEE,)
        if blocked or unit is None or on is None:
            continue
        if existing is None:
            for role in roles:
                if actor is not None and not permissions.may_grant(session, actor, role,
                                                                   unit.id if role == Role.UNIT_ADMIN else None):
                    problem("roles", _l("Bạn không có quyền cấp vai trò “%(role)s”.", role=ROLE_LABELS[role]))
            if problems or cleaned is None:
                continue
            row.action = "create"
            row.plan = Plan(data=data, cleaned=cleaned, unit=unit, on=on, key_cadre=bool(key_cadre), roles=roles)
            row.changes = [_l("Tạo tài khoản mới ở đơn vị %(code)s", code=unit.code)]
            if key_cadre:
                row.changes.append(_l("Cán bộ chủ chốt từ %(d)s", d=on.strftime("%d/%m/%Y")))
            row.changes.append(_l("Vai trò: %(roles)s", roles=", ".join(str(ROLE_LABELS[r]) for r in roles)))
            continue

        plan = Plan(data=data, cleaned=cleaned, unit=unit, on=on, person_id=existing.id, key_cadre=key_cadre)
        changes: list = []
        if cleaned is not None:
            for name in ("full_name", "email", "phone", "position", "category"):
                if getattr(cleaned, name) != getattr(existing, name):
                    plan.update_fields.append(name)
            if plan.update_fields:
                changes.append(_l("Sửa thông tin: %(fields)s", fields=", ".join(
                    str(COLUMN_BY_KEY[n].label) for n in plan.update_fields)))
        current = existing.current_membership
        if current is None or current.unit_id != unit.id:
            plan.move = True
            if current is not None and (message := _period_problem(current.valid_from, on)):
                problem("on", message)
            changes.append(_l("Chuyển đơn vị: %(old)s → %(new)s",
                              old=current.unit.code if current is not None else "—", new=unit.code))
        if key_cadre is not None and key_cadre != existing.is_key_cadre:
            plan.key_change = True
            if key_cadre and not existing.active:
                problem("key_cadre", _l("Tài khoản đã bị khóa. Hãy mở khóa trước khi đặt là cán bộ chủ chốt."))
            if key_cadre:
                last = existing.key_cadre_periods[-1] if existing.key_cadre_periods else None
                if last is not None and last.valid_to is not None and (message := _period_problem(last.valid_to, on)):
                    problem("on", message)
                changes.append(_l("Là cán bộ chủ chốt từ %(d)s", d=on.strftime("%d/%m/%Y")))
            else:
                if message := _period_problem(existing.current_key_cadre.valid_from, on):
                    problem("on", message)
                changes.append(_l("Thôi là cán bộ chủ chốt từ %(d)s", d=on.strftime("%d/%m/%Y")))
        # A move changes who may grant what; judge grants against the unit the person will be in.
        grants = []
        for role in roles:
            scope = unit.id if role == Role.UNIT_ADMIN else None
            if any(a.role == role and a.unit_id == scope for a in existing.roles):
                continue
            if actor is not None and not permissions.may_grant(session, actor, role, scope):
                problem("roles", _l("Bạn không có quyền cấp vai trò “%(role)s”.", role=ROLE_LABELS[role]))
            grants.append(role)
        if grants:
            plan.roles = tuple(grants)
            changes.append(_l("Thêm vai trò: %(roles)s", roles=", ".join(str(ROLE_LABELS[r]) for r in grants)))
        if problems or cleaned is None:
            continue
        row.plan = plan
        row.changes = changes
        row.action = "update" if changes else "unchanged"
    for row in preview.rows:
        row.problems.sort(key=lambda p: p.order)
    return preview


def check(session: Session, actor: Person | None, content: bytes, filename: str = "", *, today: date) -> Preview:
    """Read and validate a file; file-level problems end up in ``Preview.file_errors``."""
    _require_importer(session, actor)
    try:
        table = read_table(content)
    except RosterFileError as exc:
        return Preview(filename=filename, file_errors=[exc.message])
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


def apply(session: Session, actor: Person | None, content: bytes, filename: str = "", *, password: str | None,
          today: date, progress: Callable[[int], None] | None = None) -> dict[str, int]:
    """Validate again and write every row, or nothing: raises :class:`RosterRejected` (with the
    preview) when any row has a problem, :class:`ServiceError` for the password. The caller
    commits on success and rolls back on any error."""
    preview = check(session, actor, content, filename, today=today)
    if not preview.ok:
        raise RosterRejected(preview)
    creating = [r for r in preview.rows if r.action == "create"]
    if creating:
        if not password:
            raise ServiceError(_l("Vui lòng nhập mật khẩu ban đầu."), "password")
        refused: dict[str, list[int]] = {}
        for row in creating:
            try:
                people.check_new_password(password, row.plan.cleaned)
            except ServiceError as exc:
                refused.setdefault(str(exc.message), []).append(row.number)
        if refused:
            messages = [_l("%(message)s (dòng %(rows)s)", message=m,
                           rows=", ".join(str(n) for n in rows[:20]) + ("…" if len(rows) > 20 else ""))
                        for m, rows in refused.items()]
            raise ServiceError(messages[0], "password", {"password": messages[0]})

    # One argon2 hash for the shared initial password (checked above for every new person):
    # hashing per person would make a large import take minutes.
    shared_hash = hash_password(password) if creating else None
    try:
        for row in preview.rows:
            plan = row.plan
            if row.action == "create":
                people.create_person(session, actor, plan.data, unit=plan.unit, password=password,
                                     key_cadre=bool(plan.key_cadre), on=plan.on, roles=plan.roles,
                                     must_change_password=True, password_hash=shared_hash)
            elif row.action == "update":
                person = session.get(Person, plan.person_id)
                if plan.update_fields:
                    people.update_person(session, actor, person, plan.data)
                if plan.move:
                    people.move_person(session, actor, person, plan.unit, plan.on)
                if plan.key_change:
                    people.set_key_cadre(session, actor, person, bool(plan.key_cadre), plan.on)
                for role in plan.roles:
                    people.grant_role(session, actor, person, role, plan.unit if role == Role.UNIT_ADMIN else None)
            if progress is not None:
                progress(1)
    except ServiceError as exc:
        # Something changed under us between the checks and the write: report the row.
        row.problems.append(Problem(None, exc.message))
        raise RosterRejected(preview) from None
    except sa.exc.IntegrityError:
        row.problems.append(Problem(None, _l("Dữ liệu vừa bị thay đổi bởi người khác. Hãy tải tệp lên lại.")))
        raise RosterRejected(preview) from None

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


# -- pending batches ------------------------------------------------------------------------

def clean_filename(name: str | None) -> str:
    name = (name or "").replace("\\", "/").rsplit("/", 1)[-1]
    name = clean(name)
    name = re.sub(r'[<>:"|?*]', "_", name)
    if is_formula_like(name):
        name = "_" + name
    return name[:FILENAME_MAX] or "danh-sach"


def stage(session: Session, actor: Person, filename: str, content: bytes, now: datetime) -> ImportBatch:
    """Keep an uploaded (and already checked) file until its uploader confirms it."""
    _require_importer(session, actor)
    for stale in session.scalars(sa.select(ImportBatch).where(ImportBatch.status == ImportStatus.PENDING,
                                                              ImportBatch.created_at < now - BATCH_TTL).limit(100)):
        session.delete(stale)
    batch = ImportBatch(token=secrets.token_urlsafe(32), actor_id=actor.id, filename=clean_filename(filename),
                        content=content, status=ImportStatus.PENDING, created_at=now)
    session.add(batch)
    session.flush()
    return batch


_TOKEN_RE = re.compile(r"^[A-Za-z0-9_-]{16,64}$")


def get_batch(session: Session, actor: Person, token: str) -> ImportBatch:
    """The batch with ``token`` uploaded by ``actor``; :class:`NotFound` for anyone else's."""
    if not token or not _TOKEN_RE.match(token):
        raise NotFound(_l("Không tìm thấy danh sách đã tải lên."))
    batch = session.scalar(sa.select(ImportBatch).where(ImportBatch.token == token,
                                                        ImportBatch.actor_id == actor.id))
    if batch is None:
        raise NotFound(_l("Không tìm thấy danh sách đã tải lên."))
    return batch


def require_pending(batch: ImportBatch, now: datetime) -> None:
    if batch.status == ImportStatus.APPLIED:
        raise ServiceError(_l("Danh sách này đã được nhập rồi; không thể nhập lại lần nữa."))
    if batch.status != ImportStatus.PENDING:
        raise ServiceError(_l("Danh sách này đã bị hủy. Hãy tải tệp lên lại."))
    if batch.created_at < now - BATCH_TTL:
        raise ServiceError(_l("Bản xem trước đã quá hạn (hơn một ngày). Hãy tải tệp lên lại."))


def apply_batch(session: Session, actor: Person, batch: ImportBatch, *, password: str | None, today: date,
                now: datetime, progress: Callable[[int], None] | None = None) -> dict[str, int]:
    """Apply a pending batch once. The status changes first, with a guarded UPDATE, so two
    workers confirming the same batch cannot both apply it."""
    require_pending(batch, now)
    claimed = session.execute(
        sa.update(ImportBatch)
        .where(ImportBatch.id == batch.id, ImportBatch.status == ImportStatus.PENDING)
        .values(status=ImportStatus.APPLIED, applied_at=now)
        .execution_options(synchronize_session=False)
    ).rowcount
    if claimed != 1:
        raise ServiceError(_l("Danh sách này đã được nhập rồi; không thể nhập lại lần nữa."))
    result = apply(session, actor, batch.content, batch.filename, password=password, today=today, progress=progress)
    session.refresh(batch)
    batch.result = result
    batch.content = b""  # the people are in the database now; do not keep a second copy
    session.flush()
    return result


def discard_batch(session: Session, actor: Person, batch: ImportBatch) -> bool:
    if batch.actor_id != actor.id:
        raise NotFound(_l("Không tìm thấy danh sách đã tải lên."))
    if batch.status != ImportStatus.PENDING:
        return False
    batch.status = ImportStatus.DISCARDED
    batch.content = b""
    session.flush()
    return True


# -- the template ---------------------------------------------------------------------------

def build_template(session: Session, actor: Person | None) -> bytes:
    """The .xlsx template: the headers, hints, drop-downs, and a second sheet listing the unit
    codes ``actor`` manages and the categories."""
    import xlsxwriter

    _require_importer(session, actor)
    scope = permissions.managed_unit_ids(session, actor) if actor is not None else permissions.ALL
    stmt = sa.select(Unit).where(Unit.active.is_(True)).order_by(Unit.code)
    units = [u for u in session.scalars(stmt) if scope is permissions.ALL or u.id in scope]
    limit = max_rows()

    buffer = io.BytesIO()
    book = xlsxwriter.Workbook(buffer, {"in_memory": True, "strings_to_formulas": False, "strings_to_urls": False,
                                        "strings_to_numbers": False})
    head = book.add_format({"bold": True, "bg_color": "#DCE6F1", "border": 1, "text_wrap": True, "valign": "top"})
    text = book.add_format({"num_format": "@"})
    day = book.add_format({"num_format": "dd/mm/yyyy"})
    quoted = book.add_format({"quote_prefix": True})

    def put(sheet, row: int, col: int, value: str) -> None:
        # A user value is always a string cell, and a leading = + - @ is shown literally.
        if is_formula_like(value):
            sheet.write_string(row, col, value, quoted)
        else:
            sheet.write_string(row, col, value)

    sheet = book.add_worksheet("Danh sách")
    lists = book.add_worksheet("Danh mục")
    hints = {
        "full_name": "Bắt buộc. Ví dụ: Nguyễn Văn An",
        "email": "Bắt buộc, không trùng. Người đã có tài khoản với thư điện tử này sẽ được cập nhật.",
        "phone": "Không bắt buộc. Chỉ gồm chữ số, có thể bắt đầu bằng +.",
        "unit": "Bắt buộc. Mã đơn vị, xem trang “Danh mục”.",
        "position": "Không bắt buộc.",
        "category": "Chọn trong danh sách (xem trang “Danh mục”). Để trống: Cán bộ, công chức, viên chức.",
        "key_cadre": "Có hoặc Không.",
        "on": "Ngày bắt đầu thuộc đơn vị / là cán bộ chủ chốt, dạng ngày/tháng/năm. Để trống: hôm nay.",
        "roles": "Cách nhau bằng dấu phẩy: học viên, giảng viên, quản trị đơn vị, quản trị hệ thống. "
                 "Để trống: học viên.",
    }
    widths = {"full_name": 28, "email": 30, "phone": 16, "unit": 14, "position": 24, "category": 28,
              "key_cadre": 16, "on": 14, "roles": 28}
    for col, column in enumerate(COLUMNS):
        sheet.write_string(0, col, column.header, head)
        sheet.write_comment(0, col, hints[column.key], {"x_scale": 2, "y_scale": 1.5})
        fmt = day if column.key == "on" else text
        sheet.set_column(col, col, widths[column.key], fmt)
    sheet.freeze_panes(1, 0)
    position = {c.key: i for i, c in enumerate(COLUMNS)}

    lists.write_string(0, 0, "Mã đơn vị", head)
    lists.write_string(0, 1, "Tên đơn vị", head)
    lists.write_string(0, 3, "Đối tượng", head)
    lists.write_string(0, 4, "Mã đối tượng", head)
    lists.write_string(0, 6, "Vai trò", head)
    lists.write_string(0, 7, "Cán bộ chủ chốt", head)
    lists.set_column(0, 0, 16)
    lists.set_column(1, 1, 50)
    lists.set_column(3, 3, 32)
    lists.set_column(4, 4, 20)
    lists.set_column(6, 7, 22)
    for row, unit in enumerate(units, start=1):
        put(lists, row, 0, unit.code)
        put(lists, row, 1, unit.name)
    for row, (category, label) in enumerate(CATEGORY_LABELS.items(), start=1):
        lists.write_string(row, 3, _lazy_msgid(label))
        lists.write_string(row, 4, category.value)
    for row, role in enumerate((Role.TRAINEE, Role.TRAINER, Role.UNIT_ADMIN, Role.ADMIN), start=1):
        lists.write_string(row, 6, _ROLE_ALIASES[role][0])
    lists.write_string(1, 7, "Có")
    lists.write_string(2, 7, "Không")

    last = limit  # data rows 2 .. limit + 1 (0-based 1 .. limit)
    sheet.data_validation(1, position["category"], last, position["category"], {
        "validate": "list", "source": f"='Danh mục'!$D$2:$D${len(CATEGORY_LABELS) + 1}",
        "error_title": "Đối tượng", "error_message": "Hãy chọn một đối tượng trong danh sách.",
    })
    sheet.data_validation(1, position["key_cadre"], last, position["key_cadre"], {
        "validate": "list", "source": ["Có", "Không"],
        "error_title": "Cán bộ chủ chốt", "error_message": "Hãy chọn Có hoặc Không.",
    })
    if units:
        sheet.data_validation(1, position["unit"], last, position["unit"], {
            "validate": "list", "source": f"='Danh mục'!$A$2:$A${len(units) + 1}",
            "error_title": "Mã đơn vị", "error_message": "Mã đơn vị không có trong trang “Danh mục”.",
            "error_type": "warning",
        })
    sheet.activate()
    book.close()
    return buffer.getvalue()
