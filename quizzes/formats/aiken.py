"""Aiken: single-choice questions in plain text (https://docs.moodle.org/en/Aiken_format).

::

    Công ước CEDAW được Đại hội đồng Liên Hợp Quốc thông qua năm nào?
    A) 1979
    B. 1989
    ANSWER: A

The stem is one line or more; each option is an upper-case letter, ``)`` or ``.``, then its text;
``ANSWER:`` names the right letter and ends the question. Blank lines are ignored, lines are
trimmed, line endings may be Unix, Windows or old Mac, and a leading BOM is dropped. Everything is
plain text: ``<b>`` in a stem stays the four characters it is.

What is reported follows Moodle's reader (qformat_aiken) and its test fixture ``aiken_errors.txt``:
an option or an ``ANSWER:`` line before any stem ("question not started", one problem per line),
an ``ANSWER:`` after fewer than two options, and a question whose options are followed by a new
stem instead of ``ANSWER:`` ("not completed"). Like Moodle today, the space after ``A)`` may be
missing (``A)text`` is an option; Moodle's fixture imports "A second good question" written so).
Stricter than Moodle, which maps the letter to a position and takes the first character of
whatever follows ``ANSWER:``: the answer must be one letter naming one of the options, and two
options may not share a letter.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field

from quizzes.formats.base import (
    MAX_QUESTIONS,
    ParsedOption,
    ParsedQuestion,
    ParseResult,
    Problem,
    check,
    name_from_text,
)

__all__ = ["read_aiken"]

#: An option line: a capital letter, ")" or ".", then (optionally, as in Moodle) a space or tab.
_OPTION = re.compile(r"([A-Z])[).][ \t]?(.*)")
#: The answer line; Moodle wants "ANSWER:" in capitals, "Answer:" is accepted as well.
_ANSWER = re.compile(r"ANSWER[ \t]*:(.*)", re.IGNORECASE)
#: What may follow "ANSWER:": one letter, perhaps written like its option ("B)" or "B.").
_LETTER = re.compile(r"([A-Za-z])[).]?")
_LINE_BREAK = re.compile(r"\r\n|\r|\n")

#: Longest question name made from the stem.


@dataclass
class _Open:
    """A question being read: its stem lines, then its options."""

    index: int
    line: int
    stem: list[str] = field(default_factory=list)
    #: (letter, text, line)
    options: list[tuple[str, str, int]] = field(default_factory=list)
    #: A blank line was met inside the stem: the next stem line starts a paragraph.
    gap: bool = False




def _finish(current: _Open, answer: str, category: tuple[str, ...]) -> ParsedQuestion | list[str]:
    """The question closed by ``ANSWER: <answer>``, or why it cannot be used."""
    if len(current.options) < 2:
        return ["Câu hỏi cần ít nhất 2 phương án."]
    reasons: list[str] = []
    seen: dict[str, int] = {}
    for letter, _text, line in current.options:
        if letter in seen:
            reasons.append(f"Chữ cái {letter} được dùng cho hai phương án (dòng {seen[letter]} và {line}).")
        else:
            seen[letter] = line
    match = _LETTER.fullmatch(answer)
    if match is None:
        shown = answer if len(answer) <= 40 else answer[:40] + "…"
        reasons.append(f"Dòng ANSWER: phải ghi một chữ cái (A, B, C…), không phải «{shown}».")
    elif match.group(1).upper() not in seen:
        letters = ", ".join(seen)
        reasons.append(f"Đáp án {match.group(1).upper()} không phải là một phương án ({letters}).")
    if reasons:
        return reasons
    right = match.group(1).upper()
    stem = "\n".join(current.stem)
    return ParsedQuestion(
        index=current.index,
        line=current.line,
        type="single_choice",
        name=name_from_text(stem),
        text=stem,
        text_format="plain",
        category=category,
        options=[
            ParsedOption(
                text=text,
                fraction=1.0 if letter == right else 0.0,
                text_format="plain",
                feedback_format="plain",
            )
            for letter, text, _line in current.options
        ],
    )


def read_aiken(text: str, *, base_category: Iterable[str] = ()) -> ParseResult:
    """Read an Aiken file.

    Every question goes into ``base_category`` (Aiken has no categories). ``index`` counts the
    questions (each begins with a stem line), from 1; ``line`` is the stem's first line. Options or
    ``ANSWER:`` lines with no stem before them are reported with ``index`` None, each on its line.
    """
    result = ParseResult()
    category = tuple(base_category)
    current: _Open | None = None
    index = 0

    def report(question: _Open, reasons: list[str]) -> None:
        result.problems.extend(Problem(question.index, question.line, reason) for reason in reasons)

    for number, raw in enumerate(_LINE_BREAK.split(text.removeprefix("\ufeff")), start=1):
        line = raw.strip()
        if not line:
            if current is not None and not current.options:
                current.gap = True
            continue

        option = _OPTION.fullmatch(line)
        if option:
            if current is None:
                result.problems.append(Problem(None, number, "Phương án đứng trước câu hỏi."))
            else:
                current.options.append((option.group(1), option.group(2).strip(), number))
            continue

        answer = _ANSWER.fullmatch(line)
        if answer:
            if current is None:
                result.problems.append(Problem(None, number, "Dòng ANSWER: đứng trước câu hỏi."))
                continue
            built = _finish(current, answer.group(1).strip(), category)
            if isinstance(built, ParsedQuestion):
                built_reasons = check(built)
                if built_reasons:
                    report(current, built_reasons)
                else:
                    result.questions.append(built)
            else:
                report(current, built)
            current = None
            continue

        # A stem line: it goes on the open stem, or, after options, starts the next question.
        if current is not None and current.options:
            report(current, [f"Thiếu dòng ANSWER: (câu hỏi tiếp theo bắt đầu ở dòng {number})."])
            current = None
        if current is None:
            index += 1
            if index > MAX_QUESTIONS:
                result.problems.append(
                    Problem(
                        index,
                        number,
                        f"Tệp có hơn {MAX_QUESTIONS:,} câu hỏi; từ câu này trở đi không được đọc.".replace(",", "."),
                    )
                )
                return result
            current = _Open(index, number)
        if current.stem and current.gap:
            current.stem.append("")
        current.stem.append(line)
        current.gap = False

    if current is not None:
        report(current, ["Thiếu dòng ANSWER: ở cuối tệp."])
    return result
