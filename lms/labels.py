"""Display labels for the platform's enumerations (translatable)."""

from __future__ import annotations

from lms.i18n import lazy_gettext as _l

from lms.models import LearnerCategory, Role, UnitKind

ROLE_LABELS = {
    Role.ADMIN: _l("Quản trị hệ thống"),
    Role.UNIT_ADMIN: _l("Quản trị đơn vị"),
    Role.TRAINER: _l("Giảng viên"),
    Role.TRAINEE: _l("Học viên"),
}

CATEGORY_LABELS = {
    LearnerCategory.LEGAL_REPORTER: _l("Báo cáo viên pháp luật"),
    LearnerCategory.LEGAL_PROPAGANDIST: _l("Tuyên truyền viên pháp luật"),
    LearnerCategory.OFFICIAL: _l("Cán bộ, công chức, viên chức"),
    LearnerCategory.EMPLOYEE: _l("Người lao động"),
    LearnerCategory.OTHER: _l("Khác"),
}

UNIT_KIND_LABELS = {
    UnitKind.PROVINCE: _l("Cấp tỉnh"),
    UnitKind.DEPARTMENT: _l("Sở, ban, ngành"),
    UnitKind.DIVISION: _l("Phòng, ban"),
    UnitKind.CENTER: _l("Trung tâm, đơn vị sự nghiệp"),
    UnitKind.DISTRICT: _l("Cấp huyện"),
    UnitKind.COMMUNE: _l("Cấp xã"),
    UnitKind.OTHER: _l("Khác"),
}
