"""Panels that other features add to the course pages (courses imports no feature above it).

A feature registers callables in ``app.extensions["course_panels"]``; each is called as
``make(session, course, person, place, lesson)`` and returns a :class:`CoursePanel` or None.
``place`` is where the panel would show:

* ``"teaching"`` — the trainer's course page (``courses.teaching_course``);
* ``"course"`` — the learner's course page (``courses.course``);
* ``"lesson"`` — a lesson page (``courses.lesson``), with ``lesson`` given.

A panel must run a constant number of SQL statements (the course pages' query counts are tested).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from flask import current_app
from sqlalchemy.orm import Session

PLACES = ("teaching", "course", "lesson")


@dataclass
class CoursePanel:
    #: The template rendered in the page; it sees the page's context and ``panel``.
    template: str
    context: dict = field(default_factory=dict)


def course_panels(session: Session, course, person, place: str, lesson=None) -> list[CoursePanel]:
    panels = []
    for make in current_app.extensions.get("course_panels", []):
        panel = make(session, course, person, place, lesson)
        if panel is not None:
            panels.append(panel)
    return panels
