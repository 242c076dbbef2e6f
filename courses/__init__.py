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
    register_audit_labels()
    from courses.home import learner_panel, teacher_panel

    app.extensions.setdefault("lms_home_panels", []).extend([teacher_panel, learner_panel])


def register_audit_labels() -> None:
    from lms.audit import register_actions
    from lms.i18n import lazy_gettext as _l

    register_actions({
        "course.create": _l("Tạo khóa học"),
        "course.update": _l("Sửa khóa học"),
        "course.draft": _l("Chuyển khóa học về bản nháp"),
        "course.published": _l("Công bố khóa học"),
        "course.archived": _l("Lưu trữ khóa học"),
        "course.co_trainer_add": _l("Thêm giảng viên cùng dạy"),
        "course.co_trainer_remove": _l("Bỏ giảng viên cùng dạy"),
        "course.section_delete": _l("Xóa chương"),
        "course.lesson_delete": _l("Xóa bài học"),
        "course.enrol": _l("Ghi danh học viên"),
        "course.withdraw": _l("Rút học viên khỏi khóa học"),
        "material.upload": _l("Tải lên tài liệu"),
        "material.delete": _l("Xóa tài liệu"),
        "reference.convention": _l("Sửa danh mục công ước"),
        "reference.content": _l("Sửa danh mục nội dung truyền thông"),
    }, {
        "course": _l("Khóa học"),
        "material": _l("Khóa học"),
        "reference": _l("Danh mục dùng chung"),
    })


__all__ = ["blueprint", "init_app"]
