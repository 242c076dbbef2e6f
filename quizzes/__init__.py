"""Quizzes: question banks tagged by convention, quizzes, attempts graded on the server, import
and export of question files (GIFT, Aiken, Moodle XML, Excel).

The feature exposes ``blueprint`` and ``init_app`` for the platform's app factory.
"""

from __future__ import annotations

from flask import Flask

from quizzes.views import blueprint, builder


def init_app(app: Flask) -> None:
    from courses.completion import register_requirement
    from quizzes import models as _models  # noqa: F401  (the tables belong to the metadata)
    from quizzes import permissions as _rules  # noqa: F401  (registers the quiz rules)
    from quizzes.attempts import requirement_hook
    from quizzes.cli import quizzes_group

    app.cli.add_command(quizzes_group)
    register_requirement(app, requirement_hook)
    register_audit_labels()
    app.extensions.setdefault("lms_nav", []).extend([scores_nav_item(), bank_nav_item()])
    app.extensions.setdefault("course_panels", []).append(builder.course_panel)  # quizzes on course pages
    from quizzes.demo import seed_quizzes

    app.extensions.setdefault("lms_demo_seeders", []).append(seed_quizzes)


def bank_nav_item():
    """The menu entry of the question bank, for those who may manage questions."""
    from courses.views.nav import NavItem
    from lms import permissions
    from lms.db import db
    from lms.i18n import lazy_gettext as _l

    return NavItem("quizzes.bank", _l("Ngân hàng câu hỏi"),
                   lambda me: permissions.can(db.session, me, "question.manage"))


def scores_nav_item():
    """Every logged-in person's results and scores per convention."""
    from courses.views.nav import NavItem
    from lms.i18n import lazy_gettext as _l

    return NavItem("quizzes.my_scores", _l("Điểm của tôi"), lambda me: me is not None)


def register_audit_labels() -> None:
    from lms.audit import register_actions
    from lms.i18n import lazy_gettext as _l

    register_actions({
        "question_category.create": _l("Tạo nhóm câu hỏi"),
        "question_category.update": _l("Sửa nhóm câu hỏi"),
        "question_category.delete": _l("Xóa nhóm câu hỏi"),
        "question.create": _l("Tạo câu hỏi"),
        "question.update": _l("Sửa câu hỏi"),
        "question.import": _l("Nhập câu hỏi từ tệp"),
        "quiz.create": _l("Tạo bài kiểm tra"),
        "quiz.update": _l("Sửa bài kiểm tra"),
        "quiz.published": _l("Công bố bài kiểm tra"),
        "quiz.unpublished": _l("Ngừng công bố bài kiểm tra"),
        "quiz.regrade": _l("Chấm lại bài kiểm tra"),
        "attempt.grade": _l("Chấm điểm bài làm"),
    }, {
        "question_category": _l("Ngân hàng câu hỏi"),
        "question": _l("Ngân hàng câu hỏi"),
        "quiz": _l("Bài kiểm tra"),
        "attempt": _l("Bài kiểm tra"),
    })


__all__ = ["blueprint", "init_app"]
