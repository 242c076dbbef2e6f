"""The quiz's rules of time and visibility, as pure functions: ``now`` is passed in, nothing is
read from the database or the request.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta


def deadline(started_at: datetime, time_limit_minutes: int | None, close_at: datetime | None) -> datetime | None:
    """When an attempt closes by itself: start + limit, never after the quiz closes."""
    ends = [t for t in (started_at + timedelta(minutes=time_limit_minutes) if time_limit_minutes else None,
                        close_at) if t is not None]
    return min(ends) if ends else None


def is_open(open_at: datetime | None, close_at: datetime | None, now: datetime) -> bool:
    return (open_at is None or now >= open_at) and (close_at is None or now < close_at)


def expired(attempt_deadline: datetime | None, now: datetime) -> bool:
    """Past its deadline: answers are no longer taken and the attempt is closed at the deadline."""
    return attempt_deadline is not None and now >= attempt_deadline


def finish_time(attempt_deadline: datetime | None, now: datetime) -> datetime:
    """An attempt submitted (or swept) after its deadline is finished *at* the deadline."""
    return min(now, attempt_deadline) if attempt_deadline is not None else now


def attempts_left(allowed: int, used: int) -> int | None:
    """None: unlimited."""
    return None if allowed == 0 else max(0, allowed - used)


def review_open(when: str, *, finished: bool, close_at: datetime | None, now: datetime) -> bool:
    """May the trainee see this part of a finished attempt now (score, right answers, feedback)?

    "after_close" means after the quiz's close time; a quiz without one never closes, so its
    "after close" parts stay hidden (the trainer sees them).
    """
    if not finished:
        return False
    if when == "immediately":
        return True
    if when == "after_close":
        return close_at is not None and now >= close_at
    return False


@dataclass(frozen=True)
class Review:
    score: bool
    answers: bool
    feedback: bool


def review_for(score: str, answers: str, feedback: str, *, finished: bool, close_at: datetime | None,
               now: datetime) -> Review:
    flags = {"finished": finished, "close_at": close_at, "now": now}
    return Review(review_open(score, **flags), review_open(answers, **flags), review_open(feedback, **flags))


def paginate(count: int, per_page: int) -> list[int]:
    """The page (0-based) of each of ``count`` questions."""
    per_page = max(1, per_page)
    return [i // per_page for i in range(count)]


def shuffled(items: Sequence, rng: random.Random) -> list:
    out = list(items)
    rng.shuffle(out)
    return out
