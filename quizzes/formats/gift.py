"""GIFT, Moodle's plain-text question format: a pure reader and writer.

An item is a run of non-blank lines; blank lines separate items. Lines starting with ``//`` are
comments (a ``[tag:…]`` in an item's comments is one of its tags, as Moodle writes them), and a
``$CATEGORY: $course$/top/a/b`` line sets the category of the items after it. An item is::

    ::name::[format]question text {answers} more text

``[html]``, ``[moodle]`` (read as plain), ``[plain]`` and ``[markdown]`` may start the question
text and each answer or feedback. ``\\~ \\= \\# \\{ \\} \\: \\\\`` are the control characters
written as text and ``\\n`` is a line break. The answer block decides the type, in Moodle's order:

=========================  ==============================================================
no block                   description
``{}`` (or ``{####gf}``)   essay
``{#3:2}``                 numerical (``{#1..5}`` ranges, ``{#=3 =%50%3:2 ~#wrong}``)
any ``~``                  single choice if an answer has ``=`` or none has a weight, else
                           multiple response
``=a -> b``                matching (``= -> b``: an extra answer)
``{T}`` ``{FALSE#…#…}``    true/false, in any case (first feedback: shown when answered wrongly)
``{=a =%50%b}``            short answer
=========================  ==============================================================

``~%50%``/``=%50%`` weights are percentages, ``#`` starts an answer's feedback and ``####`` the
general feedback. A block followed by more text is a missing-word question: the block becomes
``_____`` in the text (Moodle does the same, so text after the closing brace is kept).

The reader follows Moodle's own (question/format/gift/format.php) wherever a file Moodle accepts
is concerned, but reports what Moodle would import as nonsense or refuse (a brace left open,
text before the first answer mark, a number it cannot read) as a Vietnamese problem for that item
and goes on with the next one. A question without ``::name::`` keeps an empty name (the bank
makes one from the text).

The writer writes what the reader reads back unchanged, in a form Moodle reads too: the question
text always with its ``[format]``, answers and feedback with theirs when it differs, weights with
up to 5 decimals, tags as a ``// [tag:…]`` comment. The two things GIFT has no way to write
(``->`` in a matching sub-question, ``->`` in a short answer) raise :class:`ValueError`; the
general feedback of a description, which GIFT has no place for either, is left out.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation

from quizzes.formats.base import (
    MAX_QUESTIONS,
    TEXT_FORMATS,
    ParsedOption,
    ParsedQuestion,
    ParseResult,
    Problem,
    check,
)

__all__ = ["read_gift", "write_gift"]

#: What the question text holds in place of an answer block in the middle of it.
BLANK = "_____"

_ESCAPE = re.compile(r"\\([\\~=#{}:n])")
_FORMAT = re.compile(r"\[(html|moodle|plain|markdown)\]")
_WEIGHT = re.compile(r"%(-?[0-9]+(?:[.,][0-9]*)?)%")
#: A ``%…%`` at the start of an answer that is meant as a weight but is no number ("%5O%").
_WEIGHT_LIKE = re.compile(r"%([^%\s]{1,12})%")
_NUMBER = re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")
_CONTEXT = re.compile(r"\$[a-z]+[0-9]*\$")
_TAG = re.compile(r"\[tag:((?:\\\]|[^\]])+)\]")
_TRUE = ("T", "TRUE")
_FALSE = ("F", "FALSE")
_CATEGORY = "$CATEGORY:"


class _Bad(Exception):
    """An item that cannot be read; the message is the Vietnamese problem."""


def _short(text: str, limit: int = 40) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _count(n: int) -> str:
    return f"{n:,}".replace(",", ".")


# --- Escapes ------------------------------------------------------------------------------------

def _mask(raw: str) -> str:
    """``raw`` with every escape pair blanked out (same length), so that looking for a control
    character in it finds only real ones and its positions are positions in ``raw``."""
    return _ESCAPE.sub("\0\0", raw) if "\\" in raw else raw


def _unescape(raw: str) -> str:
    return _ESCAPE.sub(lambda m: "\n" if m[1] == "n" else m[1], raw)


def _escape(text: str) -> str:
    out = []
    for ch in text.replace("\r\n", "\n").replace("\r", "\n"):
        if ch in "\\~=#{}:":
            out.append("\\" + ch)
        elif ch == "\n":
            out.append("\\n")
        else:
            out.append(ch)
    return "".join(out)


def _split(raw: str, marks: str) -> tuple[str, list[tuple[str, str]]]:
    """The text before the first unescaped mark, then (mark, text up to the next mark) pairs."""
    mask = _mask(raw)
    cuts = [i for i, ch in enumerate(mask) if ch in marks]
    if not cuts:
        return raw, []
    ends = cuts[1:] + [len(raw)]
    return raw[: cuts[0]], [(raw[c], raw[c + 1 : end]) for c, end in zip(cuts, ends, strict=True)]


def _cut(raw: str, sep: str = "#", parts: int = 2) -> list[str]:
    """``raw`` split at the first ``parts - 1`` unescaped ``sep``."""
    mask, out, start = _mask(raw), [], 0
    while len(out) < parts - 1:
        at = mask.find(sep, start)
        if at < 0:
            break
        out.append(raw[start:at])
        start = at + len(sep)
    out.append(raw[start:])
    return out


def _formatted(raw: str, default: str) -> tuple[str, str]:
    """(format, text) of one piece of text with its optional ``[format]`` prefix."""
    raw = raw.strip()
    fmt = default
    prefix = _FORMAT.match(raw)
    if prefix:
        fmt = "plain" if prefix[1] == "moodle" else prefix[1]
        raw = raw[prefix.end() :]
    return fmt, _unescape(raw).strip()


# --- Reading ------------------------------------------------------------------------------------

@dataclass
class _Item:
    line: int
    lines: list[str] = field(default_factory=list)
    comments: list[str] = field(default_factory=list)


def _chunks(text: str) -> Iterator[_Item | tuple[int, str]]:
    """Items, and (line, path) for each ``$CATEGORY:`` line, in file order."""
    item: _Item | None = None
    comments: list[str] = []
    for number, line in enumerate(text.split("\n"), start=1):
        # Moodle trims every line, so indentation never reaches the text.
        line = line.strip()
        if not line:
            if item:
                yield item
            item, comments = None, []
        elif line.startswith("//"):
            (item.comments if item else comments).append(line)
        elif line.startswith(_CATEGORY):
            # Moodle needs a blank line around it; here it also ends the item it touches.
            if item:
                yield item
            item, comments = None, []
            yield number, line[len(_CATEGORY) :]
        else:
            if item is None:
                item, comments = _Item(number, comments=comments), []
            item.lines.append(line)
    if item:
        yield item


def _category(raw: str) -> tuple[str, ...]:
    """``$course$/top/a//b/c`` → ("a/b", "c"): ``//`` is a slash inside a name."""
    path = _unescape(raw).strip()
    names, current, i = [], [], 0
    while i < len(path):
        if path.startswith("//", i):
            current.append("/")
            i += 2
        elif path[i] == "/":
            names.append("".join(current))
            current, i = [], i + 1
        else:
            current.append(path[i])
            i += 1
    names.append("".join(current))
    names = [n.strip() for n in names]
    if names and _CONTEXT.fullmatch(names[0]):
        names = names[1:]
    if names and names[0] == "top":
        names = names[1:]
    return tuple(n for n in names if n)


def _weight(raw: str) -> tuple[float | None, str]:
    """(fraction, rest) for an answer starting with ``%50%``; (None, raw) without a weight."""
    found = _WEIGHT.match(raw)
    if found:
        return float(found[1].replace(",", ".")) / 100, raw[found.end() :]
    odd = _WEIGHT_LIKE.match(raw)
    if odd:
        raise _Bad(f"Không đọc được tỷ lệ điểm: “%{_short(odd[1], 12)}%”.")
    return None, raw


def _option(raw: str, default: str, fraction: float) -> ParsedOption:
    text, *feedback = _cut(raw)
    text_format, text = _formatted(text, default)
    feedback_format, comment = _formatted(feedback[0], default) if feedback else (default, "")
    return ParsedOption(text, fraction, comment, feedback_format, text_format)


def _leading(lead: str, marks: str) -> None:
    if lead.strip():
        raise _Bad(f"Không hiểu “{_short(_unescape(lead))}” trong khối đáp án: "
                   f"mỗi đáp án phải bắt đầu bằng {marks}.")


def _choices(answers: str, fmt: str) -> tuple[str, list[ParsedOption]]:
    lead, tokens = _split(answers, "~=")
    _leading(lead, "~ hoặc =")
    options, weighted = [], False
    for mark, raw in tokens:
        raw = raw.strip()
        if mark == "=":
            # Moodle reads no weight after "=" in a choice question: "=%50%x" is the text "%50%x".
            options.append(_option(raw, fmt, 1.0))
            continue
        fraction, raw = _weight(raw)
        weighted = weighted or fraction is not None
        options.append(_option(raw, fmt, fraction or 0.0))
    single = any(mark == "=" for mark, _ in tokens) or not weighted
    return ("single_choice" if single else "multiple_response"), options


def _matching(answers: str, fmt: str) -> list[ParsedOption]:
    lead, tokens = _split(answers, "=")
    _leading(lead, "=")
    options = []
    for _, raw in tokens:
        arrow = _mask(raw).find("->")
        if arrow < 0:
            raise _Bad(f"Cặp ghép đôi thiếu dấu ->: “{_short(_unescape(raw))}”.")
        # Moodle keeps "#" as text here: matching pairs have no feedback.
        text_format, text = _formatted(raw[:arrow], fmt)
        options.append(ParsedOption(text, 0.0, "", fmt, text_format, match=_unescape(raw[arrow + 2 :]).strip()))
    return options


def _true_false(answers: str, fmt: str) -> list[ParsedOption]:
    word, *rest = _cut(answers, parts=3)
    right = word.strip().upper() in _TRUE
    wrong_format, wrong = _formatted(rest[0], fmt) if rest else (fmt, "")
    right_format, right_text = _formatted(rest[1], fmt) if len(rest) > 1 else (fmt, "")
    # The first feedback is shown to whoever answers wrongly, i.e. chooses the other option.
    if right:
        return [ParsedOption("true", 1.0, right_text, right_format, fmt),
                ParsedOption("false", 0.0, wrong, wrong_format, fmt)]
    return [ParsedOption("true", 0.0, wrong, wrong_format, fmt),
            ParsedOption("false", 1.0, right_text, right_format, fmt)]


def _short_answers(answers: str, fmt: str) -> list[ParsedOption]:
    lead, tokens = _split(answers, "=")
    _leading(lead, "=")
    options = []
    for _, raw in tokens:
        fraction, raw = _weight(raw.strip())
        options.append(_option(raw, fmt, 1.0 if fraction is None else fraction))
    return options


def _decimal(text: str, whole: str) -> Decimal:
    if not _NUMBER.fullmatch(text):
        hint = " (dùng dấu chấm để ghi phần thập phân)" if re.fullmatch(r"[+-]?[0-9]+,[0-9]+", text) else ""
        raise _Bad(f"Không đọc được đáp án số: “{_short(whole)}”{hint}.")
    try:
        value = Decimal(text)
    except InvalidOperation as exc:  # an exponent beyond what Decimal holds
        raise _Bad(f"Không đọc được đáp án số: “{_short(whole)}”.") from exc
    if value and not -40 <= value.adjusted() <= 40:
        raise _Bad(f"Đáp án số quá lớn hoặc quá nhỏ: “{_short(whole)}”.")
    return value


def _decimal_text(value: Decimal) -> str:
    text = format(value.normalize(), "f")
    return "0" if text == "-0" else text


def _numeric_value(raw: str) -> tuple[str, float]:
    """(value text, tolerance) of ``3``, ``3:2``, ``1..5`` or ``*``."""
    text = _unescape(raw).strip()
    if text == "*":
        return "*", 0.0
    if text.find("..") > 0:
        lo_text, hi_text = text.split("..", 1)
        lo, hi = _decimal(lo_text.strip(), text), _decimal(hi_text.strip(), text)
        value, tolerance = (lo + hi) / 2, (hi - lo) / 2
    elif text.find(":") > 0:
        value_text, tolerance_text = text.split(":", 1)
        if value_text.strip() == "*":
            return "*", 0.0
        value, tolerance = _decimal(value_text.strip(), text), _decimal(tolerance_text.strip(), text)
    else:
        value, tolerance = _decimal(text, text), Decimal(0)
    return _decimal_text(value), float(tolerance)


def _numerical(answers: str, fmt: str) -> list[ParsedOption]:
    lead, tokens = _split(answers[1:], "=~")
    # Unlike the other types, the first answer needs no "=": {#3:2}.
    tokens = ([("=", lead)] if lead.strip() else []) + tokens
    if not any(mark == "=" for mark, _ in tokens):
        raise _Bad("Khối đáp án số không có đáp án nào.")
    options = []
    for mark, raw in tokens:
        raw = raw.strip()
        if mark == "~":
            # "~#feedback": what every other answer gets.
            value, *feedback = _cut(raw)
            if value.strip():
                raise _Bad(f"Sau dấu ~ của câu hỏi số chỉ được có #nhận xét: “{_short(_unescape(raw))}”.")
            comment_format, comment = _formatted(feedback[0], fmt) if feedback else (fmt, "")
            options.append(ParsedOption("*", 0.0, comment, comment_format, fmt))
            continue
        fraction, raw = _weight(raw)
        value, *feedback = _cut(raw)
        if not value.strip():
            raise _Bad("Có đáp án số để trống.")
        text, tolerance = _numeric_value(value)
        comment_format, comment = _formatted(feedback[0], fmt) if feedback else (fmt, "")
        options.append(ParsedOption(text, 1.0 if fraction is None else fraction, comment, comment_format, fmt,
                                    tolerance=tolerance))
    return options


def _read_item(raw: str) -> ParsedQuestion:
    """The question one item holds (index and line are set by the caller)."""
    name = ""
    if raw.startswith("::"):
        end = _mask(raw).find("::", 2)
        if end < 0:
            raise _Bad("Thiếu dấu :: đóng tên câu hỏi (viết \\: nếu đó là chữ).")
        name = _unescape(raw[2:end]).strip()
        raw = raw[end + 2 :].strip()
    mask = _mask(raw)
    start, finish = mask.find("{"), mask.find("}")
    if start < 0 and finish < 0:
        fmt, text = _formatted(raw, "plain")
        if text and not any(ch.isalnum() for ch in text):
            raise _Bad(f"Không hiểu đoạn “{_short(text)}”: đây không phải là câu hỏi GIFT.")
        return ParsedQuestion(0, 0, "description", name, text, fmt, default_mark=0.0)
    if finish < 0:
        raise _Bad("Thiếu dấu } đóng khối đáp án (lưu ý: một dòng trống cũng kết thúc câu hỏi).")
    if start < 0 or finish < start:
        raise _Bad("Có dấu } mà không có dấu { mở khối đáp án (viết \\} nếu đó là chữ).")
    if mask.find("{", start + 1, finish) >= 0:
        raise _Bad("Có dấu { trong khối đáp án (viết \\{ nếu đó là chữ).")
    if mask.find("{", finish) >= 0 or mask.find("}", finish + 1) >= 0:
        raise _Bad("Câu hỏi có nhiều hơn một khối đáp án {…} (viết \\{ và \\} nếu đó là chữ).")
    after = raw[finish + 1 :]
    # Moodle: an answer block followed by text is a missing word, even if the text is only "." or ";".
    text_raw = raw[:start] + (BLANK + after if after.strip() else "")
    answers = raw[start + 1 : finish].strip()
    general = ""
    at = _mask(answers).rfind("####")
    if at >= 0:
        general, answers = answers[at + 4 :], answers[:at].strip()
    fmt, text = _formatted(text_raw, "plain")
    q = ParsedQuestion(0, 0, "essay", name, text, fmt, general_feedback=_formatted(general, fmt)[1])
    mask = _mask(answers)
    if not answers:
        return q
    if answers.startswith("#"):
        q.type, q.options = "numerical", _numerical(answers, fmt)
    elif "~" in mask:
        q.type, q.options = _choices(answers, fmt)
        q.settings["shuffle"] = True
    elif "=" in mask and "->" in mask:
        q.type, q.options = "matching", _matching(answers, fmt)
        q.settings["shuffle"] = True
    elif _cut(answers)[0].strip().upper() in _TRUE + _FALSE:
        q.type, q.options = "true_false", _true_false(answers, fmt)
    else:
        q.type, q.options = "short_answer", _short_answers(answers, fmt)
    return q


def _tags(comments: list[str]) -> list[str]:
    tags = []
    for comment in comments:
        for found in _TAG.finditer(comment):
            tag = found[1].replace("\\]", "]").strip()
            if tag and tag not in tags:
                tags.append(tag)
    return tags


def read_gift(text: str, *, base_category: tuple[str, ...] = ()) -> ParseResult:
    """Read GIFT text: every item is a question or at least one problem, in file order."""
    result = ParseResult()
    text = text.removeprefix("\ufeff").replace("\r\n", "\n").replace("\r", "\n")
    category = tuple(base_category)
    index = 0
    chunks = _chunks(text)
    for chunk in chunks:
        if isinstance(chunk, tuple):
            category = tuple(base_category) + _category(chunk[1])
            if category:
                result.add_category(category)
            continue
        index += 1
        if index > MAX_QUESTIONS:
            rest = 1 + sum(1 for later in chunks if isinstance(later, _Item))
            result.problems.append(Problem(index, chunk.line, (
                f"Tệp có quá {_count(MAX_QUESTIONS)} câu hỏi: {_count(rest)} câu từ câu thứ "
                f"{_count(index)} trở đi không được đọc. Hãy chia tệp ra.")))
            break
        try:
            q = _read_item("\n".join(chunk.lines))
        except _Bad as bad:
            result.problems.append(Problem(index, chunk.line, str(bad)))
            continue
        q.index, q.line, q.category, q.tags = index, chunk.line, category, _tags(chunk.comments)
        reasons = check(q)
        if reasons:
            result.problems.extend(Problem(index, chunk.line, reason) for reason in reasons)
        else:
            result.questions.append(q)
    return result


# --- Writing ------------------------------------------------------------------------------------

def _percent(fraction: float) -> str:
    text = f"{fraction * 100:.5f}".rstrip("0").rstrip(".")
    return "0" if text in ("", "-0") else text


def _number(value: float) -> str:
    text = repr(float(value))
    return text[:-2] if text.endswith(".0") else text


def _close(a: float, b: float) -> bool:
    return abs(a - b) < 1e-9


def _part(text: str, fmt: str, default: str) -> str:
    """Text written with a ``[format]`` prefix when it differs from the question's, or when the
    text itself starts like a prefix and would otherwise lose it."""
    fmt = fmt if fmt in TEXT_FORMATS else default
    prefix = f"[{fmt}]" if fmt != default or _FORMAT.match(text) else ""
    return prefix + _escape(text)


def _feedback(option: ParsedOption, default: str) -> str:
    return "#" + _part(option.feedback, option.feedback_format, default) if option.feedback else ""


def _weighted(mark: str, fraction: float, part: str, *, implied: float) -> str:
    # A weight is written when it is not the one the mark implies, and always before text that
    # starts with "%" (which would otherwise be read as a weight).
    if _close(fraction, implied) and not part.startswith("%"):
        return mark + part
    return f"{mark}%{_percent(fraction)}%{part}"


def _arrow(q: ParsedQuestion, text: str) -> None:
    if "->" in text:
        raise ValueError(f"GIFT không ghi được chuỗi “->” trong câu hỏi “{_short(q.name or q.text)}” "
                         f"({q.type}): “{_short(text)}”.")


def _answer_lines(q: ParsedQuestion, fmt: str) -> list[str]:
    options = q.options
    match q.type:
        case "single_choice":
            # A "~" is what makes the block a choice: with only right answers, write the last "~%100%".
            rights = [i for i, o in enumerate(options) if _close(o.fraction, 1.0)]
            tilde = rights[-1] if len(rights) == len(options) else None
            lines = []
            for i, o in enumerate(options):
                part = _part(o.text, o.text_format, fmt)
                if _close(o.fraction, 1.0) and i != tilde:
                    lines.append("=" + part + _feedback(o, fmt))
                else:
                    lines.append(_weighted("~", o.fraction, part, implied=0.0) + _feedback(o, fmt))
            return lines
        case "multiple_response":
            return [_weighted("~", o.fraction, _part(o.text, o.text_format, fmt), implied=0.0) + _feedback(o, fmt)
                    for o in options]
        case "short_answer":
            for o in options:
                _arrow(q, o.text)
                _arrow(q, o.feedback)
            return [_weighted("=", o.fraction, _part(o.text, o.text_format, fmt), implied=1.0) + _feedback(o, fmt)
                    for o in options]
        case "numerical":
            lines = []
            for i, o in enumerate(options):
                value = o.text.strip()
                if value == "*" and _close(o.fraction, 0.0) and i == len(options) - 1:
                    lines.append("~" + _feedback(o, fmt))
                    continue
                tolerance = f":{_number(o.tolerance)}" if o.tolerance and value != "*" else ""
                lines.append(_weighted("=", o.fraction, _escape(value) + tolerance, implied=1.0) + _feedback(o, fmt))
            return lines
        case "matching":
            for o in options:
                _arrow(q, o.text)
            return [f"={_part(o.text, o.text_format, fmt)} -> {_escape(o.match)}" for o in options]
    raise ValueError(f"Loại câu hỏi không được hỗ trợ: {q.type}.")


def _tag(tag: str) -> str:
    # One line, "]" escaped as Moodle reads it; a space keeps a final "\" from escaping the "]".
    tag = " ".join(tag.split()).replace("]", "\\]")
    return f"[tag:{tag} ]" if tag.endswith("\\") else f"[tag:{tag}]"


def _write_question(q: ParsedQuestion) -> str:
    fmt = q.text_format if q.text_format in TEXT_FORMATS else "html"
    head = ""
    tags = [_tag(t) for t in q.tags if t.strip()]
    if tags:
        head += "// " + " ".join(tags) + "\n"
    if q.name:
        head += f"::{_escape(q.name)}::"
    # The question's format is always written: plain text starting with "//", "$CATEGORY:" or
    # "[html]" would otherwise be read as something else.
    head += f"[{fmt}]{_escape(q.text)}"
    general = "####" + _part(q.general_feedback, fmt, fmt) if q.general_feedback else ""
    if q.type == "description":
        return head
    if q.type == "essay":
        return head + "{" + general + "}"
    if q.type == "true_false":
        by_text = {o.text: o for o in q.options}
        true, false = by_text.get("true", ParsedOption("true")), by_text.get("false", ParsedOption("false"))
        right_is_true = true.fraction >= false.fraction
        right, wrong = (true, false) if right_is_true else (false, true)
        block = "TRUE" if right_is_true else "FALSE"
        if wrong.feedback or right.feedback:
            block += "#" + (_part(wrong.feedback, wrong.feedback_format, fmt) if wrong.feedback else "")
        if right.feedback:
            block += "#" + _part(right.feedback, right.feedback_format, fmt)
        return head + "{" + block + general + "}"
    lines = [head + ("{#" if q.type == "numerical" else "{")] + ["\t" + line for line in _answer_lines(q, fmt)]
    if general:
        lines.append("\t" + general)
    return "\n".join(lines + ["}"])


def _category_line(path: tuple[str, ...]) -> str:
    return _CATEGORY + " $course$/top" + "".join("/" + _escape(name).replace("/", "//") for name in path)


def write_gift(questions: list[ParsedQuestion]) -> str:
    """GIFT text for ``questions``, with a ``$CATEGORY:`` line wherever the category changes.

    Raises :class:`ValueError` for the little GIFT cannot hold (``->`` in a matching sub-question
    or in a short answer's answers and feedback).
    """
    items: list[str] = []
    category: tuple[str, ...] = ()
    for q in questions:
        if tuple(q.category) != category:
            category = tuple(q.category)
            items.append(_category_line(category))
        items.append(_write_question(q))
    return "\n\n".join(items) + "\n" if items else ""
