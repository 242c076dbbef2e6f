"""Grading, as pure functions: no Flask, no database, no clock.

A question is graded from its *key* (what a question version says is right, frozen when the attempt
started) and the *response* the trainee saved. The result is a fraction of the question's marks in
[0, 1] (``None`` for an essay, which a trainer grades by hand) and the option ids whose feedback
the review may show.

Responses, by type (what the attempt stores; anything else is treated as no answer):

``single_choice`` / ``true_false``  the chosen option id (int)
``multiple_response``               a list of chosen option ids
``short_answer`` / ``numerical``    the typed text
``matching``                        {sub-question option id: chosen answer text}
``essay``                           the typed text (graded by hand)
``description``                     nothing (no marks)

Option ids come from the browser and are never trusted: an id that is not one of the question's
options counts as no answer, duplicates count once.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from statistics import mean

from lms.text import clean, strip_marks


@dataclass(frozen=True)
class OptionKey:
    id: int
    text: str
    fraction: float = 0.0
    match: str = ""
    tolerance: float = 0.0


@dataclass(frozen=True)
class QuestionKey:
    type: str
    options: tuple[OptionKey, ...] = ()
    case_sensitive: bool = False
    ignore_diacritics: bool = False


@dataclass(frozen=True)
class Grade:
    #: Share of the question's marks, 0..1; None: waits for a trainer (essay).
    fraction: float | None
    #: Options the response chose or matched, for per-option feedback in the review.
    chosen: tuple[int, ...] = field(default=())
    #: True when the response is empty (not answered).
    blank: bool = False


def _clamp(value: float) -> float:
    return max(0.0, min(1.0, value))


def _ids(value) -> list[int]:
    items = value if isinstance(value, list | tuple) else [value]
    out: list[int] = []
    for item in items:
        if isinstance(item, bool):
            continue
        try:
            number = int(item)
        except (TypeError, ValueError):
            continue
        if number not in out:
            out.append(number)
    return out


def _normalise_text(value: str, *, case_sensitive: bool, ignore_diacritics: bool) -> str:
    value = clean(value)
    if ignore_diacritics:
        value = strip_marks(value)
    return value if case_sensitive else value.casefold()


def _pattern(text: str, *, case_sensitive: bool, ignore_diacritics: bool) -> re.Pattern:
    normal = _normalise_text(text, case_sensitive=case_sensitive, ignore_diacritics=ignore_diacritics)
    # "*" matches any run of characters; "\*" is a literal star (as in Moodle).
    parts = re.split(r"(\\\*|\*)", normal)
    regex = "".join(".*" if p == "*" else re.escape("*" if p == "\\*" else p) for p in parts)
    return re.compile(rf"\A{regex}\Z", re.DOTALL)


def parse_number(value: str) -> float | None:
    """A number as a Vietnamese or English user types it: "1,5", "1.5", "1.000,5", "-2", "3e2"."""
    text = clean(value).replace(" ", "").replace("\u00a0", "")
    if not text or len(text) > 64:
        return None
    if "," in text and "." in text:
        # Vietnamese grouping: dots separate thousands, the comma is the decimal mark.
        text = text.replace(".", "").replace(",", ".")
    elif "," in text:
        text = text.replace(",", ".")
    try:
        number = float(text)
    except ValueError:
        return None
    return number if math.isfinite(number) else None


def grade(key: QuestionKey, response) -> Grade:
    """Grade one response against one question key."""
    options = {o.id: o for o in key.options}
    match key.type:
        case "single_choice" | "true_false":
            chosen = [i for i in _ids(response) if i in options][:1]
            if not chosen:
                return Grade(0.0, blank=True)
            return Grade(_clamp(options[chosen[0]].fraction), tuple(chosen))
        case "multiple_response":
            chosen = [i for i in _ids(response) if i in options]
            if not chosen:
                return Grade(0.0, blank=True)
            return Grade(_clamp(sum(options[i].fraction for i in chosen)), tuple(chosen))
        case "short_answer":
            if not isinstance(response, str) or not clean(response):
                return Grade(0.0, blank=True)
            flags = {"case_sensitive": key.case_sensitive, "ignore_diacritics": key.ignore_diacritics}
            given = _normalise_text(response, **flags)
            for option in key.options:
                if _pattern(option.text, **flags).match(given):
                    return Grade(_clamp(option.fraction), (option.id,))
            return Grade(0.0)
        case "numerical":
            if not isinstance(response, str) or not clean(response):
                return Grade(0.0, blank=True)
            number = parse_number(response)
            if number is None:
                return Grade(0.0)
            for option in key.options:
                if option.text.strip() == "*":
                    return Grade(_clamp(option.fraction), (option.id,))
                target = parse_number(option.text)
                # A little slack for binary floating point: 0.1 + 0.2 is within 0.3 ± 0.
                if target is not None and abs(number - target) <= option.tolerance + 1e-9 * max(1.0, abs(target)):
                    return Grade(_clamp(option.fraction), (option.id,))
            return Grade(0.0)
        case "matching":
            pairs = [o for o in key.options if o.text.strip()]
            if not isinstance(response, Mapping) or not pairs:
                return Grade(0.0, blank=True)
            given = {str(k): v for k, v in response.items()}
            right = 0
            answered = False
            for pair in pairs:
                choice = given.get(str(pair.id))
                if isinstance(choice, str) and choice:
                    answered = True
                    if clean(choice) == clean(pair.match):
                        right += 1
            if not answered:
                return Grade(0.0, blank=True)
            return Grade(right / len(pairs))
        case "essay":
            blank = not (isinstance(response, str) and clean(response))
            return Grade(0.0 if blank else None, blank=blank)
        case _:
            return Grade(0.0, blank=True)


def right_answer(key: QuestionKey) -> tuple[int, ...]:
    """Ids of the options that earn full (or the best) marks: what "show correct answers" reveals."""
    if key.type == "matching":
        return tuple(o.id for o in key.options if o.text.strip())
    if key.type == "multiple_response":
        return tuple(o.id for o in key.options if o.fraction > 0)
    best = max((o.fraction for o in key.options), default=0.0)
    return tuple(o.id for o in key.options if best > 0 and o.fraction == best)


# --- a quiz's mark -------------------------------------------------------------------------------


def attempt_mark(question_marks: Sequence[tuple[float, float | None]], *, quiz_max: float) -> float | None:
    """The attempt's mark on the quiz's scale from (marks of the question, fraction) pairs.

    None while any essay waits for hand grading. Rounded to 2 decimals (a 10-point scale).
    """
    total = sum(m for m, _ in question_marks)
    if any(f is None for _, f in question_marks):
        return None
    if total <= 0:
        return 0.0
    earned = sum(m * (f or 0.0) for m, f in question_marks)
    return round(quiz_max * earned / total, 2)


GRADING_METHODS = ("highest", "average", "first", "last")


def quiz_grade(marks: Sequence[float | None], method: str) -> float | None:
    """The trainee's grade for a quiz from their finished attempts' marks, oldest first.

    Attempts still waiting for hand grading (None) are left out of highest/average; "first" and
    "last" wait for the attempt they name.
    """
    if not marks:
        return None
    match method:
        case "first":
            return marks[0]
        case "last":
            return marks[-1]
        case "average":
            known = [m for m in marks if m is not None]
            return round(mean(known), 2) if known else None
        case _:
            known = [m for m in marks if m is not None]
            return max(known) if known else None


def passed(grade: float | None, pass_mark: float) -> bool:
    return grade is not None and grade + 1e-9 >= pass_mark


@dataclass(frozen=True)
class Band:
    #: Lowest mark of the band (inclusive), on the quiz's scale.
    min_mark: float
    label: str


def band_of(grade: float | None, bands: Sequence[Band]) -> str:
    """The label of the highest band the grade reaches ("Giỏi", "Khá", …), "" when none."""
    if grade is None:
        return ""
    reached = [b for b in bands if grade + 1e-9 >= b.min_mark]
    return max(reached, key=lambda b: b.min_mark).label if reached else ""
