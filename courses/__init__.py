"""Courses: catalogue tagged by the seven conventions and five contents, sections and lessons,
trainer-uploaded materials, enrolment, progress and completion.

The feature exposes ``blueprint`` and ``init_app`` for the platform's app factory.
"""

from __future__ import annotations

from flask import Flask

from courses.views import blueprint


def init_app(app: Flask) -> None:
    from courses import jobs as _jobs  # noqa: F401  (registers the course jobs)
    from courses import permissions as _rules  # noqa: F401  (registers the course rules)
    from courses.reference import load_reference
    from courses.views.nav import register_nav

    app.extensions.setdefault("lms_reference_loaders", []).append(load_reference)
    from courses.demo import seed_courses

    app.extensions.setdefault("lms_demo_seeders", []).append(seed_courses)
    register_nav(app)


__all__ = ["blueprint", "init_app"]
