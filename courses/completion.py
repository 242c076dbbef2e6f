"""The completion rule, as a pure function: no database, ``now`` passed in by the caller.

A course is complete for a person when every required lesson is done and every extra
requirement registered by other packages (quizzes add "required quiz passed") is satisfied.
Requirements register with :func:`register_requirement` on the app; each is called with
``(session, enrolment)`` and returns a :class:`RequirementResult`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime

from flask import Flask


@dataclass(frozen=True)
class RequirementResult:
    label: str
    satisfied: bool


@dataclass(frozen=True)
class Progress:
    required_total: int
    required_done: int
    done_total: int
    lessons_total: int
    extra: tuple[RequirementResult, ...] = ()

    @property
    def percent(self) -> int:
        """Share of required lessons done (all lessons when none is required)."""
        if self.required_total:
            return round(100 * self.required_done / self.required_total)
        if self.lessons_total:
            return round(100 * self.done_total / self.lessons_total)
        return 0

    @property
    def complete(self) -> bool:
        return is_complete(self)


def progress_of(required_ids: Iterable[int], all_ids: Iterable[int], done_ids: Iterable[int],
                extra: Iterable[RequirementResult] = ()) -> Progress:
    required, lessons, done = set(required_ids), set(all_ids), set(done_ids) & set(all_ids)
    return Progress(len(required), len(required & done), len(done), len(lessons), tuple(extra))


def is_complete(progress: Progress) -> bool:
    """All required lessons done, every extra requirement satisfied, and something to complete."""
    if progress.required_total == 0 and not progress.extra:
        return False
    return progress.required_done == progress.required_total and all(r.satisfied for r in progress.extra)


def completion_time(already: datetime | None, complete: bool, now: datetime) -> datetime | None:
    """Completion is recorded once: the first time the rule holds, and never moved afterwards."""
    if already is not None:
        return already
    return now if complete else None


Requirement = Callable[..., RequirementResult | None]


def register_requirement(app: Flask, requirement: Requirement) -> None:
    app.extensions.setdefault("course_requirements", []).append(requirement)
