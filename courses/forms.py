"""Forms of the courses feature. Type-level checks live here (required, length, choice); the
rules (title cleaning, hours range, upload content) live in :mod:`courses.services`."""

from __future__ import annotations

import sqlalchemy as sa
from flask_babel import get_locale
from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from wtforms import BooleanField, StringField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Length, Optional
from wtforms.widgets import CheckboxInput, ListWidget

from courses.models import Audience, ContentArea, Convention, CourseStatus
from lms.db import db
from lms.forms import Choice, Choices
from lms.i18n import lazy_gettext as _l
from lms.i18n import lazy_pgettext as _lp

# authoring ----------------------------------------------------------------------------------


def fill_tag_choices(form) -> None:
    """Choices of a form's ``conventions`` and ``contents`` fields (courses, questions): the
    conventions by code and name, the contents by number and short label, in the UI language."""
    vi = str(get_locale()) == "vi"
    conventions = db.session.scalars(sa.select(Convention).order_by(Convention.position, Convention.id))
    contents = db.session.scalars(sa.select(ContentArea).order_by(ContentArea.number)).all()
    form.conventions.choices = [SelectChoice(c.id, f"{c.code} — {c.name_vi if vi else c.name_en}")
                                for c in conventions]
    form.contents.choices = [SelectChoice(c.id, f"{c.number}. {c.short_vi if vi else c.short_en}") for c in contents]
    #: The full wording, shown under each short label by the ``checkboxes`` macro.
    form.contents.details = {c.id: c.name_vi if vi else c.name_en for c in contents}


#: Who a course is for, as the trainer reads it.
AUDIENCE_LABELS = {
    Audience.LEGAL_REPORTER: _l("Báo cáo viên pháp luật"),
    Audience.LEGAL_PROPAGANDIST: _l("Tuyên truyền viên pháp luật"),
    Audience.OFFICIAL: _l("Cán bộ, công chức, viên chức"),
    Audience.EMPLOYEE: _l("Người lao động"),
    Audience.KEY_CADRE: _l("Cán bộ chủ chốt"),
    Audience.OTHER: _l("Đối tượng khác"),
}

STATUS_LABELS = {
    CourseStatus.DRAFT: _l("Bản nháp"),
    CourseStatus.PUBLISHED: _l("Đã xuất bản"),
    CourseStatus.ARCHIVED: _l("Đã lưu trữ"),
}

TITLE_MAX = 255


def audience_choices():
    return [SelectChoice(a.value, str(AUDIENCE_LABELS[a])) for a in Audience]


def _checkboxes(label, **kwargs):
    return Choices(label, widget=ListWidget(prefix_label=False), option_widget=CheckboxInput(), **kwargs)


def _title_field(label):
    return StringField(label, validators=[
        DataRequired(message=_l("Vui lòng nhập tiêu đề.")),
        Length(max=TITLE_MAX, message=_l("Tiêu đề không được dài quá %(n)s ký tự.", n=TITLE_MAX))])


class CourseForm(FlaskForm):
    """Create or edit a course. Convention and content choices are filled in by the view."""

    title = _title_field(_l("Tên khóa học"))
    summary = TextAreaField(_l("Tóm tắt"), validators=[
        Optional(), Length(max=1000, message=_l("Tóm tắt không được dài quá %(n)s ký tự.", n=1000))],
        description=_l("Một hai câu hiện trong danh mục khóa học."), render_kw={"rows": 3})
    description = TextAreaField(_l("Giới thiệu khóa học"), validators=[
        Optional(), Length(max=100_000, message=_l("Phần giới thiệu quá dài (tối đa 100.000 ký tự)."))],
        description=_l("Viết theo cú pháp Markdown: **đậm**, *nghiêng*, - danh sách, ## tiêu đề, "
                       "[liên kết](https://...)."),
        render_kw={"rows": 10})
    conventions = _checkboxes(_l("Công ước liên quan"), coerce=int)
    contents = _checkboxes(_l("Nội dung truyền thông"), coerce=int)
    audiences = _checkboxes(_l("Đối tượng học"), choices=audience_choices)
    credited_hours = StringField(_l("Số giờ được tính"), validators=[
        Optional(), Length(max=12, message=_l("Số giờ phải là số từ 0 đến 1000."))],
        description=_l("Tính bằng giờ; 1 tiết = 45 phút. Ví dụ: 3 (= 4 tiết) hoặc 1,5 (= 2 tiết)."),
        render_kw={"inputmode": "decimal"})
    counts_toward_target = BooleanField(_l("Tính vào chỉ tiêu cán bộ chủ chốt được bồi dưỡng (70%)"), default=True)
    self_enrol = BooleanField(_l("Cho phép học viên tự đăng ký học"), default=True)
    open_access = BooleanField(_l("Khóa học mở: mọi người đã đăng nhập đều xem được, không cần đăng ký học"))


class SectionForm(FlaskForm):
    title = _title_field(_l("Tên phần"))


class LessonForm(FlaskForm):
    title = _title_field(_l("Tên bài học"))
    body = TextAreaField(_l("Nội dung bài học"), validators=[
        Optional(), Length(max=200_000, message=_l("Nội dung bài học quá dài (tối đa 200.000 ký tự)."))],
        description=_l("Viết theo cú pháp Markdown: **đậm**, *nghiêng*, - danh sách, ## tiêu đề, "
                       "[liên kết](https://...). Mã HTML và script không được giữ lại."), render_kw={"rows": 16})
    required = BooleanField(_l("Bài học bắt buộc (phải hoàn thành để hoàn thành khóa học)"), default=True)
    minutes = StringField(_l("Thời lượng (phút)"), default="10", validators=[
        Optional(), Length(max=6, message=_l("Thời lượng phải là số phút từ 0 đến 10000."))],
        render_kw={"inputmode": "numeric"})
    conventions = _checkboxes(_l("Công ước liên quan"), coerce=int)
    contents = _checkboxes(_l("Nội dung truyền thông"), coerce=int)


class MaterialFileForm(FlaskForm):
    file = FileField(_l("Tệp tài liệu"), validators=[FileRequired(message=_l("Vui lòng chọn tệp để tải lên."))],
                     description=_l("PDF, Word, PowerPoint, Excel, ảnh (PNG, JPEG, GIF, WebP), MP3 hoặc MP4. "
                                    "Tệp được kiểm tra theo nội dung."),
                     render_kw={"accept": ".pdf,.docx,.pptx,.xlsx,.png,.jpg,.jpeg,.gif,.webp,.mp3,.mp4,.m4v"})
    title = StringField(_l("Tên hiển thị (không bắt buộc)"), validators=[
        Optional(), Length(max=TITLE_MAX, message=_l("Tiêu đề không được dài quá %(n)s ký tự.", n=TITLE_MAX))])


class MaterialLinkForm(FlaskForm):
    url = StringField(_lp("url", "Đường dẫn"), validators=[
        DataRequired(message=_l("Vui lòng nhập đường dẫn.")),
        Length(max=2000, message=_l("Đường dẫn không được dài quá 2000 ký tự."))])
    title = _title_field(_l("Tên hiển thị"))


def status_choices():
    return [SelectChoice(s.value, str(STATUS_LABELS[s])) for s in CourseStatus]


class StatusForm(FlaskForm):
    status = Choice(_l("Trạng thái"), choices=status_choices)


class MoveForm(FlaskForm):
    direction = Choice(_l("Hướng"), choices=[SelectChoice("up", _l("Lên")), SelectChoice("down", _l("Xuống"))])


class CoTrainerForm(FlaskForm):
    person_id = StringField(_l("Giảng viên"), validators=[DataRequired(message=_l("Vui lòng chọn giảng viên."))])


# enrolment ----------------------------------------------------------------------------------

from wtforms import SelectMultipleField  # noqa: E402  (this section's own imports)
from wtforms.validators import ValidationError  # noqa: E402

from lms.forms import VNDateField  # noqa: E402
from lms.labels import EMPLOYMENT_LABELS, TITLE_LABELS  # noqa: E402
from lms.models import EmploymentType, TitleKind  # noqa: E402

#: Most people one "chosen individuals" submission may name.
ENROL_PICK_MAX = 2000


class PersonIds(SelectMultipleField):
    """The people ticked in the search results: whole numbers, nothing else. Whether they exist
    and may be enrolled is decided by the view and the service (IDs in a form are never trusted)."""

    def pre_validate(self, form):
        pass

    def process_formdata(self, valuelist):
        self.data = []
        ids = []
        for value in valuelist:
            try:
                number = int(value)
            except (TypeError, ValueError):
                raise ValueError(_l("Lựa chọn không hợp lệ.")) from None
            if not 0 < number < 2**31:
                raise ValueError(_l("Lựa chọn không hợp lệ."))
            ids.append(number)
        self.data = list(dict.fromkeys(ids))


class EnrolForm(FlaskForm):
    """What every way of enrolling shares: an optional due date."""

    due_on = VNDateField(_l("Hạn hoàn thành (không bắt buộc)"), validators=[Optional()])

    def validate_due_on(self, field):
        from lms.views.common import today

        if field.data is not None and field.data < today():
            raise ValidationError(_l("Hạn hoàn thành không được ở trong quá khứ."))


class EnrolPeopleForm(EnrolForm):
    people = PersonIds(_l("Người được chọn"))

    def validate_people(self, field):
        if not field.data:
            raise ValidationError(_l("Vui lòng chọn ít nhất một người."))
        if len(field.data) > ENROL_PICK_MAX:
            raise ValidationError(_l("Mỗi lần chỉ chọn được tối đa %(n)s người.", n=ENROL_PICK_MAX))


class EnrolUnitForm(EnrolForm):
    unit = Choice(_l("Đơn vị (gồm cả các đơn vị trực thuộc)"), coerce=int)


def group_choices():
    """Who "by category" enrols: holders of a title of legal dissemination (as of today), or
    people of one employment type."""
    return ([SelectChoice(f"title:{t.value}", str(TITLE_LABELS[t])) for t in TitleKind]
            + [SelectChoice(f"employment:{e.value}", str(_l("Đối tượng: %(label)s", label=EMPLOYMENT_LABELS[e])))
               for e in EmploymentType])


def parse_group(value: str) -> tuple[TitleKind | None, EmploymentType | None]:
    """``title:...`` / ``employment:...`` (already checked against :func:`group_choices`)."""
    kind, _, name = value.partition(":")
    return (TitleKind(name), None) if kind == "title" else (None, EmploymentType(name))


class EnrolCategoryForm(EnrolForm):
    category = Choice(_l("Chức danh hoặc đối tượng"), choices=group_choices)
    unit = Choice(_l("Trong đơn vị (không bắt buộc)"), coerce=int)


class EnrolKeyCadresForm(EnrolForm):
    unit = Choice(_l("Trong đơn vị (không bắt buộc)"), coerce=int)


class EnrolFileForm(EnrolForm):
    file = FileField(_l("Tệp danh sách (.xlsx hoặc .csv)"),
                     validators=[FileRequired(message=_l("Vui lòng chọn tệp danh sách để tải lên."))],
                     description=_l("Tệp cần có cột “Thư điện tử”; mỗi dòng là một người đã có tài khoản. "
                                    "Tệp được kiểm tra theo nội dung, không theo phần mở rộng."))
