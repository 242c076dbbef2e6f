"""The common shape every question reader produces and every writer consumes.

Types (``ParsedQuestion.type``), with what ``options`` hold for each:

``single_choice``      one option per choice; ``fraction`` 1.0 for the right one (partial credit
                       allowed: 0 < fraction < 1), 0 for wrong ones (negative allowed).
``multiple_response``  one option per choice; the fractions of the right ones add up to 1.0, wrong
                       ones may be negative (-1.0 … 0).
``true_false``         exactly two options, ``text`` "true" and "false" in that order, the right one
                       with fraction 1.0; each option's feedback is shown when it is chosen.
``short_answer``       one option per accepted answer: ``text`` is the pattern (``*`` matches any
                       run of characters), ``fraction`` its credit; ``settings["case_sensitive"]``
                       and ``settings["ignore_diacritics"]`` (both default False).
``numerical``          one option per accepted value: ``text`` is the value written as a decimal
                       ("3", "1.5"; "*" for any other answer), ``tolerance`` ± accepted (a range
                       lo..hi is stored as its midpoint with tolerance (hi - lo) / 2).
``matching``           one option per pair: ``text`` the sub-question, ``match`` the answer;
                       a pair with empty ``text`` is a distractor (an extra answer).
``essay``              no options; graded by hand.
``description``        no options; text only, no mark.

Text is kept in its source format (``text_format``: "html", "markdown" or "plain"; GIFT's
"moodle" format is read as plain text with line breaks). Sanitising happens when it is shown,
never here.
"""

from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass, field

QUESTION_TYPES: tuple[str, ...] = (
    "single_choice",
    "multiple_response",
    "true_false",
    "short_answer",
    "numerical",
    "matching",
    "essay",
    "description",
)

TEXT_FORMATS: tuple[str, ...] = ("html", "markdown", "plain")

#: Most question items one file may hold; the rest is reported, not read.
MAX_QUESTIONS = 5000
#: Longest text of one question or option, in characters.
MAX_TEXT = 20_000


@dataclass
class ParsedOption:
    text: str
    fraction: float = 0.0
    feedback: str = ""
    feedback_format: str = "html"
    text_format: str = "html"
    #: matching: the answer this sub-question pairs with.
    match: str = ""
    #: numerical: ± accepted around ``text``.
    tolerance: float = 0.0


@dataclass
class ParsedQuestion:
    #: 1-based position among the file's question items (category lines are not items).
    index: int
    #: 1-based line in the file where the item starts (Excel: the row).
    line: int
    type: str
    name: str
    text: str
    text_format: str = "html"
    #: Category path from the top, e.g. ("Công ước", "CEDAW"); empty: the import's target category.
    category: tuple[str, ...] = ()
    options: list[ParsedOption] = field(default_factory=list)
    general_feedback: str = ""
    #: Marks of the question in a quiz before scaling (Moodle's "default mark").
    default_mark: float = 1.0
    #: Per-type settings: shuffle (bool), case_sensitive, ignore_diacritics (short answer),
    #: correct_feedback / incorrect_feedback / partial_feedback (choice types).
    settings: dict = field(default_factory=dict)
    #: Free tags from the file (Moodle XML <tags>, Excel "Thẻ"); conventions and contents are
    #: matched against them by the importer.
    tags: list[str] = field(default_factory=list)

    def as_dict(self) -> dict:
        return dataclasses.asdict(self)


@dataclass
class Problem:
    #: 1-based item position, None when the problem is not about one item (e.g. an unreadable file).
    index: int | None
    line: int
    #: Vietnamese, for the trainer (English translations come from the caller's gettext).
    reason: str


@dataclass
class ParsedCategory:
    path: tuple[str, ...]
    description: str = ""


@dataclass
class ParseResult:
    questions: list[ParsedQuestion] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    #: Every category the file names, in order of appearance, with descriptions when given
    #: (Moodle XML), including those that hold no question.
    categories: list[ParsedCategory] = field(default_factory=list)

    def add_category(self, path: tuple[str, ...], description: str = "") -> None:
        for cat in self.categories:
            if cat.path == path:
                if description and not cat.description:
                    cat.description = description
                return
        self.categories.append(ParsedCategory(path, description))

    def as_json(self) -> dict:
        """The CLI's ``--json`` shape."""
        return {
            "questions": [
                {"index": q.index, "line": q.line, "type": q.type, "name": q.name,
                 "category": "/".join(q.category)}
                for q in self.questions
            ],
            "problems": [{"index": p.index, "line": p.line, "reason": p.reason} for p in self.problems],
        }


def _close(a: float, b: float) -> bool:
    return abs(a - b) < 1e-6


def check(q: ParsedQuestion) -> list[str]:
    """What makes a read question unusable, in Vietnamese; empty when it can be saved.

    Every reader calls this on each question it built and reports the reasons as problems
    instead of returning the question, so all formats refuse the same things the same way.
    """
    reasons: list[str] = []
    if q.type not in QUESTION_TYPES:
        return [f"Loại câu hỏi không được hỗ trợ: {q.type}."]
    if not q.text.strip():
        reasons.append("Câu hỏi không có nội dung.")
    if len(q.text) > MAX_TEXT:
        reasons.append(f"Nội dung câu hỏi dài quá {MAX_TEXT:,} ký tự.".replace(",", "."))
    if q.text_format not in TEXT_FORMATS:
        reasons.append(f"Định dạng văn bản không được hỗ trợ: {q.text_format}.")
    for opt in q.options:
        if len(opt.text) > MAX_TEXT or len(opt.feedback) > MAX_TEXT or len(opt.match) > MAX_TEXT:
            reasons.append(f"Một phương án dài quá {MAX_TEXT:,} ký tự.".replace(",", "."))
            break
    if not (0 <= q.default_mark <= 1000):
        reasons.append("Điểm của câu hỏi phải từ 0 đến 1000.")
    fractions = [o.fraction for o in q.options]
    if any(not (-1.0 - 1e-9 <= f <= 1.0 + 1e-9) for f in fractions):
        reasons.append("Tỷ lệ điểm của phương án phải từ -100% đến 100%.")
    match q.type:
        case "single_choice":
            if len(q.options) < 2:
                reasons.append("Câu hỏi một lựa chọn cần ít nhất 2 phương án.")
            elif not any(_close(f, 1.0) for f in fractions):
                reasons.append("Câu hỏi một lựa chọn cần một phương án đúng (100%).")
            if any(not o.text.strip() for o in q.options):
                reasons.append("Có phương án để trống.")
        case "multiple_response":
            if len(q.options) < 2:
                reasons.append("Câu hỏi nhiều lựa chọn cần ít nhất 2 phương án.")
            elif not _close(sum(f for f in fractions if f > 0), 1.0):
                reasons.append("Tổng tỷ lệ điểm của các phương án đúng phải bằng 100%.")
            if any(not o.text.strip() for o in q.options):
                reasons.append("Có phương án để trống.")
        case "true_false":
            if [o.text for o in q.options] != ["true", "false"] or sorted(fractions) != [0.0, 1.0]:
                reasons.append("Câu hỏi đúng/sai cần đúng một đáp án: Đúng hoặc Sai.")
        case "short_answer":
            if not q.options:
                reasons.append("Câu trả lời ngắn cần ít nhất một đáp án được chấp nhận.")
            elif not any(_close(f, 1.0) for f in fractions):
                reasons.append("Câu trả lời ngắn cần một đáp án được 100% điểm.")
            if any(not o.text.strip() for o in q.options):
                reasons.append("Có đáp án để trống.")
        case "numerical":
            if not q.options:
                reasons.append("Câu hỏi số cần ít nhất một đáp án.")
            elif not any(_close(f, 1.0) for f in fractions):
                reasons.append("Câu hỏi số cần một đáp án được 100% điểm.")
            for o in q.options:
                if o.text != "*":
                    try:
                        value = float(o.text)
                    except ValueError:
                        reasons.append(f"Đáp án không phải là số: {o.text[:40]}.")
                        break
                    if value != value or abs(value) == float("inf") or o.tolerance < 0:
                        reasons.append(f"Đáp án số không hợp lệ: {o.text[:40]}.")
                        break
        case "matching":
            pairs = [o for o in q.options if o.text.strip()]
            if len(pairs) < 2:
                reasons.append("Câu hỏi ghép đôi cần ít nhất 2 cặp.")
            if any(not o.match.strip() for o in q.options):
                reasons.append("Có cặp ghép đôi thiếu đáp án.")
        case "essay" | "description":
            if q.options:
                reasons.append("Câu hỏi tự luận hoặc đoạn mô tả không có phương án.")
    return reasons


#: Longest question name made up from the question text when the file gives none.
NAME_LENGTH = 50
_TAG = re.compile(r"<[^>]*>")


def name_from_text(text: str, text_format: str = "html") -> str:
    """A question name from its text, for files that give none: the first ~50 characters (tags
    dropped for HTML), cut at a word when one ends near there."""
    plain = _TAG.sub(" ", text) if text_format == "html" else text
    plain = " ".join(plain.split())
    if len(plain) <= NAME_LENGTH:
        return plain
    cut = plain[:NAME_LENGTH]
    if " " in cut[NAME_LENGTH // 2 :]:
        cut = cut[: cut.rindex(" ")]
    return cut.rstrip() + "…"
