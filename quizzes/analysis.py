"""Item analysis of a quiz, as pure functions: no Flask, no database.

For each question (a bank question, whatever version each attempt showed) over the finished
attempts that contained it:

* **facility index** — the mean fraction of the question's marks earned (0: nobody got it right,
  1: everybody did), as in Moodle;
* **discrimination index** — the *point-biserial correlation with the rest of the test*: the
  Pearson correlation between the fraction earned on the question and the marks earned on all
  the other questions of the same attempt (the "corrected item–total correlation", so the
  question does not correlate with itself). −1…1; above 0.3 the question separates well those
  who know the matter from those who do not, near 0 or negative it does not. It is ``None`` with
  fewer than two attempts or when either side does not vary;
* how often each option (by its position: A, B, C …) was chosen, and how many left it blank.

Responses not graded yet (an essay waiting for a trainer) count neither in the facility nor in
the correlation of that question; on other questions they add nothing to the rest of the test.
"""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Response:
    """One question of one finished attempt."""

    attempt_id: int
    question_id: int
    #: 0..1 of :attr:`max_mark`; None: not graded yet.
    fraction: float | None
    #: Marks of the question in that attempt.
    max_mark: float = 1.0
    #: Positions (0-based, in the version's own option order) of the options chosen.
    chosen: tuple[int, ...] = ()
    blank: bool = False


@dataclass
class ItemStats:
    question_id: int
    #: Attempts that contained the question.
    attempts: int = 0
    #: Of those, graded ones (the facility and the discrimination use these).
    graded: int = 0
    facility: float | None = None
    discrimination: float | None = None
    blanks: int = 0
    #: Option position → times chosen.
    options: dict[int, int] = field(default_factory=dict)


def facility(fractions: Sequence[float]) -> float | None:
    """The mean fraction earned, in [0, 1]; None without any graded response."""
    if not fractions:
        return None
    value = sum(fractions) / len(fractions)
    return min(1.0, max(0.0, value))


def correlation(xs: Sequence[float], ys: Sequence[float]) -> float | None:
    """Pearson's correlation of two equally long sequences, in [−1, 1]; None with fewer than two
    pairs or when either sequence is constant."""
    n = len(xs)
    if n != len(ys) or n < 2:
        return None
    mx, my = sum(xs) / n, sum(ys) / n
    sxy = sum((x - mx) * (y - my) for x, y in zip(xs, ys, strict=True))
    sxx = sum((x - mx) ** 2 for x in xs)
    syy = sum((y - my) ** 2 for y in ys)
    if sxx <= 1e-12 or syy <= 1e-12:
        return None
    value = sxy / math.sqrt(sxx * syy)
    return min(1.0, max(-1.0, value))


def analyse(responses: Iterable[Response]) -> dict[int, ItemStats]:
    """Statistics per question id from the responses of finished attempts."""
    rows = list(responses)
    earned: dict[int, float] = defaultdict(float)
    for r in rows:
        if r.fraction is not None:
            earned[r.attempt_id] += r.fraction * r.max_mark
    by_question: dict[int, list[Response]] = defaultdict(list)
    for r in rows:
        by_question[r.question_id].append(r)
    out: dict[int, ItemStats] = {}
    for question_id, items in by_question.items():
        graded = [r for r in items if r.fraction is not None]
        fractions = [float(r.fraction) for r in graded]
        rest = [earned[r.attempt_id] - r.fraction * r.max_mark for r in graded]
        counts: Counter[int] = Counter()
        for r in items:
            counts.update(set(r.chosen))
        out[question_id] = ItemStats(
            question_id=question_id, attempts=len(items), graded=len(graded), facility=facility(fractions),
            discrimination=correlation(fractions, rest), blanks=sum(1 for r in items if r.blank),
            options=dict(sorted(counts.items())))
    return out


def option_letter(position: int) -> str:
    """0 → "A", 25 → "Z", 26 → "AA"."""
    letters = ""
    position += 1
    while position:
        position, rest = divmod(position - 1, 26)
        letters = chr(65 + rest) + letters
    return letters
