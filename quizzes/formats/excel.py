"""The Excel (or CSV) question template with Vietnamese headers, read through the platform's
spreadsheet module (hostile-file checks, formulas refused, header found by its names).

One row per question:

=================  ==========================================================================
Nhóm               category path below the import's target, levels separated by "/" (optional)
Loại               Một lựa chọn, Nhiều lựa chọn, Đúng/Sai, Trả lời ngắn, Số, Ghép đôi, Tự luận,
                   Mô tả (or the English codes); empty: one choice
Tên câu hỏi        optional; made from the text when empty
Nội dung câu hỏi   required
Phương án A … H    choices; for Ghép đôi each cell is "vế trái -> vế phải" (an empty left side
                   is an extra answer)
Đáp án             the right letters ("B", "A, C"); Đúng or Sai; for Trả lời ngắn the accepted
                   answers separated by "|"; for Số a value with an optional tolerance ("1979",
                   "3,5 ± 0,5") or a range ("1..5")
Điểm               marks of the question (default 1)
Giải thích         general feedback, shown in the review
Thẻ                conventions and contents, comma separated (CEDAW, CRC, ND1 …)
=================  ==========================================================================

In a multiple-response question the right choices share 100% and each wrong one takes away the
value of one right one, so ticking everything never earns marks.
"""

from __future__ import annotations

import re
import string

from lms.spreadsheet import Column, SpreadsheetError, cell_text, read_table
from lms.text import clean, fold
from quizzes.formats.base import MAX_QUESTIONS, ParsedOption, ParsedQuestion, ParseResult, Problem, check
from quizzes.grading import parse_number

LETTERS = string.ascii_uppercase[:8]

COLUMNS: tuple[Column, ...] = (
    Column("category", "Nhóm", aliases=("Nhóm câu hỏi", "Category"), width=24),
    Column("type", "Loại", aliases=("Loại câu hỏi", "Type"), width=16),
    Column("name", "Tên câu hỏi", aliases=("Tên", "Name"), width=24),
    Column("text", "Nội dung câu hỏi", aliases=("Câu hỏi", "Nội dung", "Question"), required=True, width=60),
    *(Column(f"option_{letter}", f"Phương án {letter}", aliases=(f"Đáp án {letter}", f"Option {letter}",
                                                                 f"Lựa chọn {letter}", letter), width=28)
      for letter in LETTERS),
    Column("answer", "Đáp án", aliases=("Đáp án đúng", "Answer"), required=True, width=14),
    Column("mark", "Điểm", aliases=("Mark",), width=8),
    Column("feedback", "Giải thích", aliases=("Phản hồi", "Feedback"), width=40),
    Column("tags", "Thẻ", aliases=("Tags", "Công ước"), width=20),
)

HINTS = {
    "category": "Nhóm câu hỏi, các cấp cách nhau bởi dấu /, ví dụ: Công ước/CEDAW (có thể để trống).",
    "type": "Một lựa chọn, Nhiều lựa chọn, Đúng/Sai, Trả lời ngắn, Số, Ghép đôi, Tự luận hoặc Mô tả. "
            "Để trống: Một lựa chọn.",
    "name": "Tên ngắn để tìm câu hỏi (có thể để trống).",
    "text": "Nội dung câu hỏi (bắt buộc).",
    **{f"option_{letter}": (f"Phương án {letter}. Với câu Ghép đôi: “vế trái -> vế phải”.") for letter in LETTERS},
    "answer": "Chữ cái của phương án đúng (B; nhiều đáp án: A, C); Đúng hoặc Sai; câu Trả lời ngắn: các đáp án "
              "cách nhau bởi |; câu Số: giá trị, có thể kèm sai số (3,5 ± 0,5) hoặc khoảng (1..5).",
    "mark": "Điểm của câu hỏi (mặc định 1).",
    "feedback": "Giải thích đáp án, hiện khi học viên xem lại bài.",
    "tags": "Công ước và nội dung truyền thông, cách nhau bởi dấu phẩy: CEDAW, CRC, ND1 …",
}

_TYPES = {
    "motluachon": "single_choice", "mot": "single_choice", "tracnghiem": "single_choice",
    "singlechoice": "single_choice", "multichoice": "single_choice",
    "nhieuluachon": "multiple_response", "nhieudapan": "multiple_response", "multipleresponse": "multiple_response",
    "dungsai": "true_false", "truefalse": "true_false",
    "traloingan": "short_answer", "shortanswer": "short_answer",
    "so": "numerical", "cauhoiso": "numerical", "numerical": "numerical", "numeric": "numerical",
    "ghepdoi": "matching", "noicap": "matching", "matching": "matching",
    "tuluan": "essay", "essay": "essay",
    "mota": "description", "doanmota": "description", "description": "description",
}
_TRUE = {"dung", "d", "true", "t", "co", "x", "1"}
_FALSE = {"sai", "s", "false", "f", "khong", "0"}
_RANGE = re.compile(r"^\s*(.+?)\s*\.\.\s*(.+?)\s*$")
_TOLERANCE = re.compile(r"^\s*(.+?)\s*(?:±|\+/-|\+-)\s*(.+?)\s*$")


def _key(value: str) -> str:
    return re.sub(r"[^a-z0-9]", "", fold(value))


def _letters(answer: str) -> list[str] | None:
    parts = [p for p in re.split(r"[\s,;/&+]+", clean(answer).upper()) if p]
    if not parts or any(len(p) != 1 or p not in LETTERS for p in parts):
        return None
    return list(dict.fromkeys(parts))


def _row_question(index: int, row: int, values: dict) -> tuple[ParsedQuestion | None, list[str]]:
    text = lambda key: clean(cell_text(values.get(key)))  # noqa: E731
    kind_text = text("type")
    kind = _TYPES.get(_key(kind_text), None) if kind_text else "single_choice"
    if kind is None:
        return None, [f"Loại câu hỏi không rõ: “{kind_text[:40]}”."]
    q = ParsedQuestion(index=index, line=row, type=kind, name=text("name")[:255],
                       text=str(cell_text(values.get("text"))).strip(), text_format="plain",
                       category=tuple(p.strip() for p in text("category").split("/") if p.strip()),
                       general_feedback=str(cell_text(values.get("feedback"))).strip(),
                       tags=[t.strip() for t in re.split(r"[,;]", text("tags")) if t.strip()])
    mark = text("mark")
    if mark:
        number = parse_number(mark)
        if number is None or number < 0:
            return None, [f"Điểm không hợp lệ: “{mark[:20]}”."]
        q.default_mark = number
    choices = [(letter, str(cell_text(values.get(f"option_{letter}"))).strip()) for letter in LETTERS]
    filled = [(letter, value) for letter, value in choices if value]
    answer = text("answer")
    if kind in ("single_choice", "multiple_response"):
        q.settings["shuffle"] = True
        letters = _letters(answer)
        if letters is None:
            return None, [f"Đáp án phải là chữ cái của phương án (A–H), đang là “{answer[:20]}”."]
        present = {letter for letter, _ in filled}
        missing = [letter for letter in letters if letter not in present]
        if missing:
            return None, [f"Đáp án {', '.join(missing)} không có phương án tương ứng."]
        if kind == "single_choice" and len(letters) > 1:
            kind = q.type = "multiple_response"
        if kind == "single_choice":
            q.options = [ParsedOption(v, 1.0 if letter in letters else 0.0, text_format="plain")
                         for letter, v in filled]
        else:
            right, wrong = 1.0 / len(letters), -1.0 / len(letters)
            q.options = [ParsedOption(v, right if letter in letters else max(-1.0, wrong), text_format="plain")
                         for letter, v in filled]
    elif kind == "true_false":
        word = _key(answer)
        if word not in _TRUE | _FALSE:
            return None, [f"Đáp án của câu Đúng/Sai phải là Đúng hoặc Sai, đang là “{answer[:20]}”."]
        right = word in _TRUE
        q.options = [ParsedOption("true", 1.0 if right else 0.0), ParsedOption("false", 0.0 if right else 1.0)]
    elif kind == "short_answer":
        accepted = [a.strip() for a in str(cell_text(values.get("answer"))).split("|") if a.strip()]
        q.options = [ParsedOption(a, 1.0, text_format="plain") for a in accepted]
    elif kind == "numerical":
        for part in [p for p in answer.split("|") if p.strip()] or [""]:
            option = _numeric_option(part)
            if option is None:
                return None, [f"Không đọc được đáp án số: “{part[:30]}”."]
            q.options.append(option)
    elif kind == "matching":
        for letter, value in filled:
            if "->" not in value:
                return None, [f"Phương án {letter} của câu Ghép đôi phải có dạng “vế trái -> vế phải”."]
            left, right = value.split("->", 1)
            q.options.append(ParsedOption(left.strip(), 0.0, text_format="plain", match=right.strip()))
        q.settings["shuffle"] = True
    reasons = check(q)
    return (None, reasons) if reasons else (q, [])


def _numeric_option(part: str) -> ParsedOption | None:
    part = part.strip()
    lo_hi = _RANGE.match(part)
    if lo_hi:
        lo, hi = parse_number(lo_hi.group(1)), parse_number(lo_hi.group(2))
        if lo is None or hi is None or hi < lo:
            return None
        return ParsedOption(_number_text((lo + hi) / 2), 1.0, tolerance=(hi - lo) / 2)
    tol = _TOLERANCE.match(part)
    value, tolerance = (tol.group(1), parse_number(tol.group(2))) if tol else (part, 0.0)
    number = parse_number(value)
    if number is None or tolerance is None or tolerance < 0:
        return None
    return ParsedOption(_number_text(number), 1.0, tolerance=tolerance)


def _number_text(value: float) -> str:
    return repr(int(value)) if float(value).is_integer() else repr(value)


def read_excel(content: bytes, *, base_category: tuple[str, ...] = ()) -> ParseResult:
    """Read the template; a file that is not a usable spreadsheet is one problem (index None)."""
    result = ParseResult()
    try:
        table = read_table(content, COLUMNS, limit=MAX_QUESTIONS)
    except SpreadsheetError as exc:
        result.problems.append(Problem(None, 1, str(exc.message)))
        return result
    for index, (row, values) in enumerate(table.rows, start=1):
        question, reasons = _row_question(index, row, values)
        if question is None:
            result.problems.extend(Problem(index, row, reason) for reason in reasons)
            continue
        question.category = tuple(base_category) + question.category
        if question.category:
            result.add_category(question.category)
        result.questions.append(question)
    return result
