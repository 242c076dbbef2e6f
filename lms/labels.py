"""Display labels for the platform's enumerations (translatable)."""

from __future__ import annotations

from lms.i18n import lazy_gettext as _l
from lms.models import EmploymentType, Gender, ReporterLevel, Role, SuccessionKind, TitleKind, UnitKind

ROLE_LABELS = {
    Role.ADMIN: _l("Quản trị hệ thống"),
    Role.UNIT_ADMIN: _l("Quản trị đơn vị"),
    Role.TRAINER: _l("Giảng viên"),
    Role.TRAINEE: _l("Học viên"),
}

EMPLOYMENT_LABELS = {
    EmploymentType.CADRE: _l("Cán bộ"),
    EmploymentType.CIVIL_SERVANT: _l("Công chức"),
    EmploymentType.PUBLIC_EMPLOYEE: _l("Viên chức"),
    EmploymentType.WORKER: _l("Người lao động"),
    EmploymentType.PART_TIME: _l("Người hoạt động không chuyên trách"),
    EmploymentType.OTHER: _l("Khác"),
}

GENDER_LABELS = {
    Gender.FEMALE: _l("Nữ"),
    Gender.MALE: _l("Nam"),
}

TITLE_LABELS = {
    TitleKind.LEGAL_REPORTER: _l("Báo cáo viên pháp luật"),
    TitleKind.LEGAL_PROPAGANDIST: _l("Tuyên truyền viên pháp luật"),
}

#: Abbreviations used in tables (BCVPL, TTVPL are what agencies write).
TITLE_SHORT = {
    TitleKind.LEGAL_REPORTER: _l("BCVPL"),
    TitleKind.LEGAL_PROPAGANDIST: _l("TTVPL"),
}

LEVEL_LABELS = {
    ReporterLevel.CENTRAL: _l("Trung ương"),
    ReporterLevel.PROVINCIAL: _l("Cấp tỉnh"),
    ReporterLevel.DISTRICT: _l("Cấp huyện (trước 01/7/2025)"),
}

SUCCESSION_LABELS = {
    SuccessionKind.MERGE: _l("Sáp nhập"),
    SuccessionKind.SPLIT: _l("Chia, tách"),
    SuccessionKind.CONSOLIDATE: _l("Hợp nhất"),
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
