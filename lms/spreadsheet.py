"""One spreadsheet module for every feature: safe reading of .xlsx/.csv, formula-safe writing.

Reading (:func:`read_table`) turns uploaded bytes into a header and rows, refusing hostile or
unusable files with one clear message (:class:`SpreadsheetError`) in bounded time and memory:

* the kind of file is decided by its content (magic bytes), never its name;
* workbooks are checked for encryption, formulas, zip bombs and over-large sheets by streaming
  their XML before anything parses them; the parser gets a copy holding exactly the declared
  bytes;
* CSV is decoded as UTF-8 (or UTF-16 with a BOM, or Vietnamese Windows-1258), its lines counted
  before it is parsed;
* the header row is found among the first rows by the columns a reader declares
  (:class:`Column`: a Vietnamese header and its aliases, compared without case or diacritics),
  so a title row above the table is fine.

Writing (:class:`SheetWriter`) streams rows to an .xlsx with the official header block (the
agency on the left, the national motto on the right), a title, frozen Vietnamese headers,
column widths and an auto-filter. Every text cell is a string cell, and one a spreadsheet would
take for a formula (= + - @ and a leading tab or return) is written with Excel's quote prefix, so
it is shown and never evaluated.

Readers: the roster and unit imports, enrolment by a list of e-mails; writers: the roster
template, the learners export, later quizzes and reports.
"""

from __future__ import annotations

import csv
import io
import math
import re
import zipfile
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import IO, Any

from flask import current_app, has_app_context

from lms.errors import ServiceError
from lms.i18n import lazy_gettext as _l
from lms.office import active_content
from lms.text import clean, fold, is_formula_like

# -- limits ---------------------------------------------------------------------------------

DEFAULT_MAX_ROWS = 5000
DEFAULT_MAX_MB = 5
#: A workbook may declare at most this much uncompressed content, in this many zip entries.
MAX_UNCOMPRESSED = 50 * 1024 * 1024
MAX_ZIP_ENTRIES = 2000
#: Columns a sheet may use.
MAX_COLUMNS = 64
#: Rows above the header (a title, a note) that are tolerated.
HEADER_SEARCH_ROWS = 10
#: Bytes of a worksheet read at a time while scanning it.
SCAN_CHUNK = 256 * 1024
#: Characters of a user's value repeated in a message.
SHOW = 80
XLSX_MIMETYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def max_rows() -> int:
    """``LMS_IMPORT_MAX_ROWS``: most data rows one file may hold."""
    if has_app_context():
        return int(current_app.config.get("LMS_IMPORT_MAX_ROWS", DEFAULT_MAX_ROWS))
    return DEFAULT_MAX_ROWS


def max_bytes() -> int:
    """``LMS_IMPORT_MAX_MB`` in bytes: the largest file read."""
    if has_app_context():
        return int(current_app.config.get("LMS_IMPORT_MAX_MB", DEFAULT_MAX_MB)) * 1024 * 1024
    return DEFAULT_MAX_MB * 1024 * 1024


class SpreadsheetError(ServiceError):
    """The file as a whole cannot be used (not a spreadsheet, encrypted, too big, ...)."""


# -- columns --------------------------------------------------------------------------------

@dataclass(frozen=True)
class Column:
    """A column a reader understands (or a writer writes)."""

    key: str
    #: The Vietnamese header of the template (a file format, not an interface string).
    header: str
    #: Translatable label for messages.
    label: Any = None
    aliases: tuple[str, ...] = ()
    required: bool = False
    #: Width in characters when written.
    width: int = 16


def header_key(value: str) -> str:
    """A header or a keyword as compared: no case, no diacritics, letters and digits only."""
    return re.sub(r"[^a-z0-9]", "", fold(value))


def header_index(columns: Iterable[Column]) -> dict[str, str]:
    index: dict[str, str] = {}
    for column in columns:
        for name in (column.header, column.key, *column.aliases):
            index[header_key(name)] = column.key
    return index


@dataclass
class Table:
    header_row: int
    #: Column key → position in the row.
    columns: dict[str, int]
    #: Headers no column of the reader recognised (their data is not read).
    ignored: list[str]
    #: ``(spreadsheet row number, {column key: raw cell value})``.
    rows: list[tuple[int, dict[str, Any]]]


# -- reading the file -----------------------------------------------------------------------

_CFB_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
_ENCRYPTED_MARK = "EncryptedPackage".encode("utf-16-le")
# Signatures that cannot start a text file (other binaries are caught by their NUL and control bytes).
_BINARY_MAGIC = (b"\x89PNG", b"%PDF-", b"\xff\xd8\xff", b"\x1f\x8b", b"7z\xbc\xaf", b"\x7fELF")


def _not_spreadsheet() -> SpreadsheetError:
    return SpreadsheetError(_l("Tệp không phải là bảng tính Excel (.xlsx) hoặc CSV. "
                              "Hãy dùng tệp mẫu và lưu dưới dạng .xlsx hoặc .csv (UTF-8)."))


def _too_many_rows(limit: int) -> SpreadsheetError:
    return SpreadsheetError(_l("Tệp có quá nhiều dòng: mỗi lần chỉ nhập được tối đa %(n)s người. "
                              "Hãy chia danh sách thành nhiều tệp nhỏ hơn.", n=limit))


def _too_many_columns() -> SpreadsheetError:
    return SpreadsheetError(_l("Tệp có quá nhiều cột (tối đa %(n)s). Hãy dùng tệp mẫu.", n=MAX_COLUMNS))


def _unreadable() -> SpreadsheetError:
    return SpreadsheetError(_l("Không đọc được tệp bảng tính: tệp bị hỏng hoặc không đúng định dạng. "
                              "Hãy mở tệp bằng Excel và lưu lại dưới dạng .xlsx."))


def sniff(content: bytes) -> str:
    """``"xlsx"`` or ``"csv"``, from the content (never the file name); raises
    :class:`SpreadsheetError` for anything else."""
    if not content or not content.strip(b" \t\r\n\xef\xbb\xbf\x00\xff\xfe"):
        raise SpreadsheetError(_l("Tệp rỗng: không có dữ liệu nào."))
    if content.startswith(b"PK\x03\x04") or content.startswith(b"PK\x05\x06"):
        return "xlsx"
    if content.startswith(_CFB_MAGIC):
        if _ENCRYPTED_MARK in content:
            raise SpreadsheetError(_l("Tệp được mã hóa/đặt mật khẩu nên không đọc được. "
                                     "Hãy mở tệp, bỏ mật khẩu rồi lưu lại dưới dạng .xlsx."))
        raise SpreadsheetError(_l("Tệp Excel 97–2003 (.xls) không được hỗ trợ. "
                                 "Hãy mở tệp bằng Excel và lưu lại dưới dạng .xlsx (Excel Workbook)."))
    if content.startswith(_BINARY_MAGIC):
        raise _not_spreadsheet()
    return "csv"


def _decode_text(content: bytes) -> str:
    from lms.text import NotText, decode_text

    try:
        return decode_text(content)
    except NotText as exc:
        if exc.binary:
            raise _not_spreadsheet() from None
        raise SpreadsheetError(_l("Tệp CSV phải được lưu với bảng mã UTF-8. "
                                 "Trong Excel, hãy chọn “CSV UTF-8 (Comma delimited)” khi lưu.")) from None


def _read_csv(content: bytes, limit: int) -> list[list[Any]]:
    import pandas as pd

    text = _decode_text(content)
    # Count lines before parsing anything: a million-line file stops here. Blank lines and
    # line breaks inside quoted cells count too, so allow some slack; the exact number of
    # data rows is checked after parsing.
    if max(text.count("\n"), text.count("\r")) > limit + HEADER_SEARCH_ROWS + 100:
        raise _too_many_rows(limit)
    lines = text.splitlines()
    # The separator is the one the header's line uses most; a title line above it has none.
    sample = [line for line in lines[:HEADER_SEARCH_ROWS * 2] if line.strip()]
    separator = max((",", ";", "\t"), key=lambda sep: max((line.count(sep) for line in sample), default=0))
    width = max((line.count(separator) for line in lines), default=0) + 1
    if width > MAX_COLUMNS * 2:
        raise _too_many_columns()
    try:
        frame = pd.read_csv(io.StringIO(text), sep=separator, header=None, names=list(range(width)), index_col=False,
                            dtype=str, keep_default_na=False, na_filter=False, skip_blank_lines=False,
                            quoting=csv.QUOTE_MINIMAL)
    except Exception:  # pandas raises many kinds; the user needs one message
        raise SpreadsheetError(_l("Không đọc được tệp CSV. Hãy lưu lại bằng Excel dưới dạng "
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
                raise SpreadsheetError(_l("Tệp có chứa công thức (ví dụ ô %(cell)s). Hãy sao chép toàn bộ bảng rồi "
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
        raise SpreadsheetError(_l("Bảng tính không có trang tính nào."))
    return sheets[0]


def _read_xlsx(content: bytes, limit: int) -> list[list[Any]]:
    import pandas as pd

    try:
        archive = zipfile.ZipFile(io.BytesIO(content))
        infos = archive.infolist()
    except (zipfile.BadZipFile, OSError, ValueError, EOFError, NotImplementedError):
        raise _unreadable() from None
    if len(infos) > MAX_ZIP_ENTRIES or sum(i.file_size for i in infos) > MAX_UNCOMPRESSED:
        raise SpreadsheetError(_l("Tệp nén bất thường (quá nhiều thành phần hoặc dung lượng giải nén quá lớn) "
                                 "nên không được xử lý. Hãy dùng tệp mẫu."))
    names = {i.filename for i in infos}
    if "xl/workbook.xml" not in names:
        if "EncryptedPackage" in names:
            raise SpreadsheetError(_l("Tệp được mã hóa/đặt mật khẩu nên không đọc được. "
                                     "Hãy mở tệp, bỏ mật khẩu rồi lưu lại dưới dạng .xlsx."))
        raise _not_spreadsheet()
    if any(i.flag_bits & 0x1 for i in infos):
        raise SpreadsheetError(_l("Tệp được mã hóa/đặt mật khẩu nên không đọc được. "
                                 "Hãy mở tệp, bỏ mật khẩu rồi lưu lại dưới dạng .xlsx."))
    try:
        macros = active_content(archive)  # declared macro project / ActiveX, whatever the part's name
    except zipfile.BadZipFile:
        raise _unreadable() from None
    if macros:
        raise SpreadsheetError(_l("Tệp chứa macro hoặc điều khiển ActiveX nên không được nhận. Hãy mở tệp bằng "
                                 "Excel và lưu lại dưới dạng Sổ làm việc Excel (.xlsx) không có macro."))
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
    except SpreadsheetError:
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


def is_blank(value: Any) -> bool:
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


def cell_text(value: Any) -> str:
    """A cell as text (numbers without a trailing .0, dates as dd/mm/yyyy)."""
    if is_blank(value):
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


def read_table(content: bytes, columns: Sequence[Column], *, required: Iterable[str] | None = None,
               limit: int | None = None, size_limit: int | None = None) -> Table:
    """Parse ``content`` into header and rows; :class:`SpreadsheetError` when the file cannot be
    used. Row numbers are the spreadsheet's (the header is usually row 1). ``required`` names the
    column keys that must be present (default: the columns marked required)."""
    limit = limit or max_rows()
    size_limit = size_limit or max_bytes()
    if len(content) > size_limit:
        raise SpreadsheetError(_l("Tệp quá lớn: tối đa %(n)s MB.", n=size_limit // (1024 * 1024)))
    kind = sniff(content)
    grid = _read_xlsx(content, limit) if kind == "xlsx" else _read_csv(content, limit)
    index = header_index(columns)

    header_at = None
    best: tuple[int, int] | None = None
    seen = 0
    for position, cells in enumerate(grid):
        if all(is_blank(c) for c in cells):
            continue
        seen += 1
        known = sum(1 for c in cells if header_key(cell_text(c)) in index)
        if best is None or known > best[1]:
            best = (position, known)
        if known >= 2:
            header_at = position
            break
        if seen >= HEADER_SEARCH_ROWS:
            break
    if best is None:
        raise SpreadsheetError(_l("Tệp rỗng: không có dữ liệu nào."))
    if header_at is None:
        header_at = best[0]

    found: dict[str, int] = {}
    ignored: list[str] = []
    duplicated: list[str] = []
    for position, cell in enumerate(grid[header_at]):
        text = clean(cell_text(cell))
        if not text:
            continue
        key = index.get(header_key(text))
        if key is None:
            ignored.append(text[:SHOW])
        elif key in found:
            duplicated.append(text[:SHOW])
        else:
            found[key] = position
    if duplicated:
        raise SpreadsheetError(_l("Dòng tiêu đề có cột bị lặp: %(names)s.", names=", ".join(duplicated)))
    wanted = set(required) if required is not None else {c.key for c in columns if c.required}
    missing = [c.header for c in columns if c.key in wanted and c.key not in found]
    if missing:
        raise SpreadsheetError(_l("Thiếu cột bắt buộc: %(names)s. Dòng tiêu đề phải có các cột của tệp mẫu.",
                                  names=", ".join(f"“{m}”" for m in missing)))

    rows: list[tuple[int, dict[str, Any]]] = []
    for position in range(header_at + 1, len(grid)):
        cells = grid[position]
        values = {key: (cells[pos] if pos < len(cells) else None) for key, pos in found.items()}
        if all(is_blank(v) for v in values.values()):
            continue
        rows.append((position + 1, values))
        if len(rows) > limit:
            raise _too_many_rows(limit)
    if not rows:
        raise SpreadsheetError(_l("Tệp chưa có dòng dữ liệu nào bên dưới dòng tiêu đề."))
    return Table(header_row=header_at + 1, columns=found, ignored=ignored, rows=rows)


# -- cells ----------------------------------------------------------------------------------

_DMY = re.compile(r"^(\d{1,2})[/.-](\d{1,2})[/.-](\d{4})$")
_YMD = re.compile(r"^(\d{4})-(\d{1,2})-(\d{1,2})(?:[ T]00:00(?::00(?:\.0+)?)?)?$")


def parse_day(value: Any, default: date | None, field: str = "on") -> date | None:
    """A date cell: a real date cell, dd/mm/yyyy text or ISO text; empty means ``default``.
    :class:`ServiceError` (on ``field``) for anything else."""
    if is_blank(value):
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
                              value=cell_text(value)[:SHOW]), field)
    return day



_YES = {"co", "c", "x", "1", "yes", "y", "true", "dung"}
_NO = {"khong", "k", "0", "no", "n", "false", "sai"}


def parse_yes_no(value: Any, message) -> bool | None:
    """A "Có/Không" cell (also x, 1/0, yes/no, TRUE/FALSE); empty → ``None``; anything else →
    :class:`ServiceError` with ``message`` (which may use ``%(value)s``)."""
    if is_blank(value):
        return None
    if isinstance(value, bool):
        return value
    if isinstance(value, (int, float)) and value in (0, 1):
        return bool(value)
    key = header_key(cell_text(value))
    if key in _YES:
        return True
    if key in _NO:
        return False
    raise ServiceError(message)


# -- writing --------------------------------------------------------------------------------

NATIONAL_NAME = "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM"
NATIONAL_MOTTO = "Độc lập - Tự do - Hạnh phúc"


_STYLES: dict[str, dict[str, Any]] = {
    "head": {"bold": True, "bg_color": "#DCE6F1", "border": 1, "text_wrap": True, "valign": "top"},
    "title": {"bold": True, "font_size": 13, "align": "center"},
    "subtitle": {"italic": True, "align": "center"},
    "official": {"align": "center"},
    "official_bold": {"bold": True, "align": "center"},
    "motto": {"bold": True, "underline": True, "align": "center"},
    "day": {"num_format": "dd/mm/yyyy"},
    "moment": {"num_format": "dd/mm/yyyy hh:mm"},
}


@dataclass(frozen=True)
class OfficialHeader:
    """The top of an official document: the issuing agency (under its superior) on the left,
    the national name and motto on the right."""

    agency: str
    superior: str = ""

    @classmethod
    def configured(cls) -> OfficialHeader:
        """From ``LMS_AGENCY_NAME`` and ``LMS_AGENCY_SUPERIOR``."""
        config = current_app.config if has_app_context() else {}
        return cls(agency=config.get("LMS_AGENCY_NAME") or "Sở Tư pháp",
                   superior=config.get("LMS_AGENCY_SUPERIOR") or "")


def _local_naive(value: datetime) -> datetime:
    """Spreadsheets have no time zones: a stored UTC time as the configured zone's wall time."""
    from lms.timeutil import zone

    if value.tzinfo is None:
        return value
    return value.astimezone(zone()).replace(tzinfo=None)


@dataclass
class SheetWriter:
    """Stream rows into an .xlsx: ``with SheetWriter(target, columns=..., title=...) as out:
    out.row([...])``. ``target`` is a path or a binary file; nothing but the current row is
    held in memory (``constant_memory``), so a 100,000-row export costs what a 100-row one does.

    Values are written by type: text as string cells (formula-like text with a quote prefix),
    ``bool`` as Có/Không, numbers as numbers, dates and datetimes as dates (dd/mm/yyyy)."""

    target: str | IO[bytes]
    columns: Sequence[Column]
    sheet_name: str = "Danh sách"
    title: str | None = None
    subtitle: str | None = None
    header: OfficialHeader | None = None
    #: ``False`` for small workbooks that need random access (comments, validation lists).
    streaming: bool = True
    rows_written: int = field(default=0, init=False)

    def __post_init__(self) -> None:
        import xlsxwriter

        self.book = xlsxwriter.Workbook(self.target, {
            "constant_memory": self.streaming, "in_memory": not self.streaming,
            "strings_to_formulas": False, "strings_to_urls": False, "strings_to_numbers": False,
        })
        self._formats: dict[tuple[str | None, bool], Any] = {}
        self.sheet = self.book.add_worksheet(self.sheet_name[:31])
        for position, column in enumerate(self.columns):
            self.sheet.set_column(position, position, column.width)
        self._row = 0
        if self.header is not None:
            self._official_block()
        if self.title:
            self._banner(self.title, "title")
        if self.subtitle:
            self._banner(self.subtitle, "subtitle")
        if self.header is not None or self.title or self.subtitle:
            self._row += 1
        self.header_row = self._row
        for position, column in enumerate(self.columns):
            self.write_text(self._row, position, column.header, "head")
        self.sheet.freeze_panes(self._row + 1, 0)
        self._row += 1

    def format(self, style: str | None, quoted: bool = False):
        """The workbook format of a named style (``_STYLES``), optionally with a quote prefix."""
        key = (style, quoted)
        if key not in self._formats:
            props = dict(_STYLES.get(style, {}))
            if quoted:
                props["quote_prefix"] = True
            self._formats[key] = self.book.add_format(props) if props else None
        return self._formats[key]

    # -- layout ----------------------------------------------------------------------------
    def _span(self, row: int, first: int, last: int, text: str, style: str) -> None:
        if last > first:
            self.sheet.merge_range(row, first, row, last, "", self.format(style))
        self.write_text(row, first, text, style)

    def _official_block(self) -> None:
        width = max(len(self.columns), 1)
        middle = max((width + 1) // 2 - 1, 0)
        left, right = (0, middle), (middle + 1, width - 1)
        lines_left = [(self.header.superior.upper(), "official"), (self.header.agency.upper(), "official_bold")]
        if not self.header.superior:
            lines_left = [(self.header.agency.upper(), "official_bold"), ("", "official")]
        lines_right = [(NATIONAL_NAME, "official_bold"), (NATIONAL_MOTTO, "motto")]
        for (text_left, style_left), (text_right, style_right) in zip(lines_left, lines_right, strict=True):
            if width > 1:
                self._span(self._row, *left, text_left, style_left)
                self._span(self._row, *right, text_right, style_right)
            else:
                self.write_text(self._row, 0, f"{text_left} — {text_right}".strip(" —"), style_left)
            self._row += 1
        self._row += 1

    def _banner(self, text: str, style: str) -> None:
        self._span(self._row, 0, max(len(self.columns) - 1, 0), text, style)
        self._row += 1

    # -- cells -----------------------------------------------------------------------------
    def write_text(self, row: int, col: int, value: str | None, style: str | None = None) -> None:
        """A text cell that a spreadsheet can never evaluate (a formula-like text gets Excel's
        quote prefix: it is shown as typed)."""
        value = (value or "")[:32000]
        if not value:
            self.sheet.write_blank(row, col, None, self.format(style))
            return
        self.sheet.write_string(row, col, value, self.format(style, quoted=is_formula_like(value)))

    def write(self, row: int, col: int, value: Any) -> None:
        if value is None:
            return
        if isinstance(value, bool):
            self.sheet.write_string(row, col, "Có" if value else "Không")
        elif isinstance(value, (int, float)):
            self.sheet.write_number(row, col, value)
        elif isinstance(value, datetime):
            self.sheet.write_datetime(row, col, _local_naive(value), self.format("moment"))
        elif isinstance(value, date):
            self.sheet.write_datetime(row, col, datetime.combine(value, datetime.min.time()), self.format("day"))
        elif hasattr(value, "is_finite") and value.is_finite():  # Decimal
            self.sheet.write_number(row, col, float(value))
        else:
            self.write_text(row, col, str(value))

    def row(self, values: Sequence[Any]) -> None:
        for col, value in enumerate(values):
            self.write(self._row, col, value)
        self._row += 1
        self.rows_written += 1

    def close(self) -> None:
        if self.rows_written:
            self.sheet.autofilter(self.header_row, 0, self._row - 1, max(len(self.columns) - 1, 0))
        self.book.close()

    def __enter__(self) -> SheetWriter:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def template_writer(target: IO[bytes], columns: Sequence[Column], hints: dict[str, str],
                    date_keys: Iterable[str] = ()) -> SheetWriter:
    """A template to fill in: the headers with a hint on each, text columns (so codes keep their
    leading zeros) and date columns formatted dd/mm/yyyy. The caller adds its lists and closes."""
    out = SheetWriter(target, columns, streaming=False)
    text, day = out.book.add_format({"num_format": "@"}), out.book.add_format({"num_format": "dd/mm/yyyy"})
    dates = set(date_keys)
    for col, column in enumerate(columns):
        out.sheet.write_comment(0, col, hints[column.key], {"x_scale": 2, "y_scale": 1.5})
        out.sheet.set_column(col, col, column.width, day if column.key in dates else text)
    return out


def workbook_bytes(columns: Sequence[Column], rows: Iterable[Sequence[Any]], **options) -> bytes:
    """A whole .xlsx in memory (small exports; large ones stream to a file)."""
    buffer = io.BytesIO()
    with SheetWriter(buffer, columns, **options) as out:
        for values in rows:
            out.row(values)
    return buffer.getvalue()
