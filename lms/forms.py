"""Forms of the platform. Type-level checks live here (required, length, date); business
rules live in the services, which the views call after the form validates."""

from __future__ import annotations

import re
from datetime import date

from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from wtforms import (
    BooleanField,
    EmailField,
    Field,
    IntegerField,
    PasswordField,
    SelectField,
    SelectMultipleField,
    StringField,
)
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, Optional, ValidationError
from wtforms.widgets import CheckboxInput, ListWidget, TextInput

from lms.i18n import lazy_gettext as _l
from lms.labels import EMPLOYMENT_LABELS, GENDER_LABELS, LEVEL_LABELS, ROLE_LABELS, TITLE_LABELS, UNIT_KIND_LABELS
from lms.models import EmploymentType, Gender, ReporterLevel, Role, TitleKind, UnitKind


class Choice(SelectField):
    """A select whose "not a valid choice" message is ours (and Vietnamese)."""

    def pre_validate(self, form):
        values = {str(value) for value, *_ in self.iter_choices()}
        if self.data is None or str(self.data) not in values:
            raise ValidationError(_l("Lựa chọn không hợp lệ."))

    def process_formdata(self, valuelist):
        try:
            super().process_formdata(valuelist)
        except ValueError:
            self.data = None
            raise ValueError(_l("Lựa chọn không hợp lệ.")) from None


class Choices(SelectMultipleField):
    def pre_validate(self, form):
        values = {str(value) for value, *_ in self.iter_choices()}
        if any(str(d) not in values for d in (self.data or [])):
            raise ValidationError(_l("Lựa chọn không hợp lệ."))

    def process_formdata(self, valuelist):
        try:
            super().process_formdata(valuelist)
        except ValueError:
            self.data = []
            raise ValueError(_l("Lựa chọn không hợp lệ.")) from None


#: Day/month/year as Vietnamese write it, one separator throughout: 05/03/2026, 5/3/2026,
#: 05-03-2026, 05.03.2026.
_DAY_MONTH_YEAR = re.compile(r"([0-9]{1,2})([/.-])([0-9]{1,2})\2([0-9]{4})")
#: ISO 8601 (2026-03-05): what tests, scripts and old bookmarks post.
_ISO_DATE = re.compile(r"([0-9]{4})-([0-9]{1,2})-([0-9]{1,2})")
DATE_MIN, DATE_MAX = date(1900, 1, 1), date(2200, 12, 31)
DATE_FORMAT_MESSAGE = _l("Ngày phải ghi theo dạng ngày/tháng/năm, ví dụ 05/03/2026.")


def parse_vn_date(text: str | None) -> date | None:
    """A date typed as day/month/year (or ISO year-month-day); None when the text is not one,
    including impossible dates such as 31/02/2026."""
    text = (text or "").strip()
    if match := _ISO_DATE.fullmatch(text):
        year, month, day = match.groups()
    elif match := _DAY_MONTH_YEAR.fullmatch(text):
        day, _, month, year = match.groups()
    else:
        return None
    try:
        return date(int(year), int(month), int(day))
    except ValueError:
        return None


class VNDateField(Field):
    """A date typed as ngày/tháng/năm in a text box (``placeholder="dd/mm/yyyy"``, numeric
    keyboard on phones), shown back as dd/mm/yyyy. Accepts 05/03/2026, 5/3/2026, 05-03-2026,
    05.03.2026 and ISO 2026-03-05; anything else, or a date that does not exist (31/02/2026),
    gets one message that says how to write it. Empty is ``None`` (pair with ``Optional`` or
    ``InputRequired``)."""

    widget = TextInput()

    def __init__(self, label=None, validators=None, **kwargs):
        render_kw = {"placeholder": "dd/mm/yyyy", "inputmode": "numeric", "autocomplete": "off", "maxlength": 10,
                     **(kwargs.pop("render_kw", None) or {})}
        super().__init__(label, validators, render_kw=render_kw, **kwargs)

    def _value(self):
        if self.raw_data:
            return self.raw_data[0]
        return self.data.strftime("%d/%m/%Y") if isinstance(self.data, date) else ""

    def process_formdata(self, valuelist):
        if not valuelist or not (valuelist[0] or "").strip():
            self.data = None
            self.raw_data = [""]  # blanks are empty: InputRequired refuses them, Optional skips them
            return
        value = parse_vn_date(valuelist[0])
        if value is None:
            self.data = None
            raise ValueError(DATE_FORMAT_MESSAGE)
        if not DATE_MIN <= value <= DATE_MAX:
            self.data = None
            raise ValueError(_l("Ngày phải trong khoảng từ năm 1900 đến năm 2200."))
        self.data = value


class WholeNumberField(IntegerField):
    """An integer field whose "not a number" message is ours (and Vietnamese)."""

    def process_formdata(self, valuelist):
        try:
            super().process_formdata(valuelist)
        except ValueError:
            self.data = None
            raise ValueError(_l("Vui lòng nhập một số nguyên.")) from None


def on_field(label=_l("Có hiệu lực từ ngày")):
    return VNDateField(label, validators=[InputRequired(message=_l("Vui lòng nhập ngày."))])


def _required(message):
    return DataRequired(message=message)


class PasswordLength:
    """At most :data:`lms.passwords.MAX_LENGTH` characters after NFC, counted as the password
    policy counts them (a passphrase typed with combining marks is not longer for it). No
    ``maxlength`` attribute: a browser counts UTF-16 code units and would silently cut a pasted
    passphrase."""

    def __call__(self, form, field):
        from lms.passwords import MAX_LENGTH, too_long

        if field.data and too_long(field.data):
            raise ValidationError(_l("Mật khẩu không được dài quá %(n)s ký tự.", n=MAX_LENGTH))


class LoginForm(FlaskForm):
    email = EmailField(_l("Thư điện tử"), validators=[_required(_l("Vui lòng nhập địa chỉ thư điện tử.")),
                                                      Length(max=254, message=_l("Địa chỉ thư điện tử quá dài."))])
    password = PasswordField(_l("Mật khẩu"), validators=[_required(_l("Vui lòng nhập mật khẩu.")),
                                                         PasswordLength()])


class ForgotPasswordForm(FlaskForm):
    email = EmailField(_l("Thư điện tử"), validators=[_required(_l("Vui lòng nhập địa chỉ thư điện tử.")),
                                                      Length(max=254, message=_l("Địa chỉ thư điện tử quá dài."))])


class NewPasswordForm(FlaskForm):
    """Choosing a new password from a reset link (no current password: the link stands for it)."""

    new_password = PasswordField(_l("Mật khẩu mới"), validators=[
        _required(_l("Vui lòng nhập mật khẩu mới.")), PasswordLength()])
    confirm = PasswordField(_l("Nhập lại mật khẩu mới"), validators=[
        _required(_l("Vui lòng nhập lại mật khẩu mới."))])

    def validate_confirm(self, field):
        if field.data != self.new_password.data:
            raise ValidationError(_l("Hai lần nhập mật khẩu mới không khớp."))


class ChangePasswordForm(NewPasswordForm):
    """Changing one's password: the current one as well."""

    current_password = PasswordField(_l("Mật khẩu hiện tại"), validators=[
        _required(_l("Vui lòng nhập mật khẩu hiện tại.")), PasswordLength()])


class ConfirmForm(FlaskForm):
    """A form with nothing but the CSRF token, for one-button actions."""


def kind_choices():
    return [SelectChoice(k.value, str(UNIT_KIND_LABELS[k])) for k in UnitKind]


def employment_choices():
    return [SelectChoice("", str(_l("— Chưa xác định —")))] + [
        SelectChoice(c.value, str(EMPLOYMENT_LABELS[c])) for c in EmploymentType]


def gender_choices():
    return [SelectChoice("", str(_l("— Không ghi —")))] + [SelectChoice(g.value, str(GENDER_LABELS[g])) for g in Gender]


def title_choices():
    return [SelectChoice(t.value, str(TITLE_LABELS[t])) for t in TitleKind]


def level_choices():
    return [SelectChoice("", str(_l("— Không áp dụng —")))] + [
        SelectChoice(level.value, str(LEVEL_LABELS[level])) for level in ReporterLevel]


def role_choices(roles=tuple(Role)):
    """Choices for the roles in ``roles`` (those the acting person may grant)."""
    return [SelectChoice(r.value, str(ROLE_LABELS[r])) for r in Role if r in roles]


class UnitForm(FlaskForm):
    name = StringField(_l("Tên đơn vị"), validators=[_required(_l("Vui lòng nhập tên đơn vị.")),
                                                     Length(max=255, message=_l("Tên đơn vị không được dài quá 255 ký tự."))])
    code = StringField(_l("Mã đơn vị"), validators=[_required(_l("Vui lòng nhập mã đơn vị.")),
                                                    Length(max=32, message=_l("Mã đơn vị không được dài quá 32 ký tự."))])
    kind = Choice(_l("Loại đơn vị"), choices=kind_choices)
    official_code = StringField(_l("Mã định danh (nếu có)"), validators=[
        Optional(), Length(max=64, message=_l("Mã định danh không được dài quá 64 ký tự."))],
        description=_l("Mã định danh điện tử của cơ quan, đơn vị trong danh mục dùng chung."))
    position = WholeNumberField(_l("Thứ tự hiển thị"), validators=[Optional(), NumberRange(
        min=0, max=100000, message=_l("Thứ tự phải từ 0 đến 100000."))], default=0,
        description=_l("Trong cùng cấp, đơn vị có số nhỏ đứng trước; cùng số thì theo tên."))


class NewUnitForm(UnitForm):
    parent = Choice(_l("Trực thuộc"), coerce=int)
    on = on_field(_l("Thành lập từ ngày"))


class SplitForm(FlaskForm):
    """Chia, tách: up to three new units; who goes where is read from the page's selects."""

    on = on_field(_l("Chia, tách từ ngày"))
    keep_source = BooleanField(_l("Giữ đơn vị cũ (tách một phần); bỏ chọn để chia hẳn và chấm dứt đơn vị cũ"),
                               default=True)
    decision = StringField(_l("Căn cứ (số, ngày quyết định)"), validators=[
        Optional(), Length(max=255, message=_l("Căn cứ không được dài quá 255 ký tự."))])
    name_1 = StringField(_l("Tên đơn vị mới 1"), validators=[Optional(), Length(max=255)])
    code_1 = StringField(_l("Mã đơn vị mới 1"), validators=[Optional(), Length(max=32)])
    kind_1 = Choice(_l("Loại đơn vị mới 1"), choices=kind_choices)
    name_2 = StringField(_l("Tên đơn vị mới 2"), validators=[Optional(), Length(max=255)])
    code_2 = StringField(_l("Mã đơn vị mới 2"), validators=[Optional(), Length(max=32)])
    kind_2 = Choice(_l("Loại đơn vị mới 2"), choices=kind_choices)
    name_3 = StringField(_l("Tên đơn vị mới 3"), validators=[Optional(), Length(max=255)])
    code_3 = StringField(_l("Mã đơn vị mới 3"), validators=[Optional(), Length(max=32)])
    kind_3 = Choice(_l("Loại đơn vị mới 3"), choices=kind_choices)


class ConsolidateForm(FlaskForm):
    sources = Choices(_l("Các đơn vị được hợp nhất (chọn từ hai đơn vị)"), coerce=int)
    name = StringField(_l("Tên đơn vị mới"), validators=[_required(_l("Vui lòng nhập tên đơn vị.")), Length(
        max=255, message=_l("Tên đơn vị không được dài quá 255 ký tự."))])
    code = StringField(_l("Mã đơn vị mới"), validators=[_required(_l("Vui lòng nhập mã đơn vị.")), Length(
        max=32, message=_l("Mã đơn vị không được dài quá 32 ký tự."))])
    kind = Choice(_l("Loại đơn vị"), choices=kind_choices)
    official_code = StringField(_l("Mã định danh (nếu có)"), validators=[Optional(), Length(max=64)])
    parent = Choice(_l("Đơn vị mới trực thuộc"), coerce=int)
    on = on_field(_l("Hợp nhất từ ngày"))
    decision = StringField(_l("Căn cứ (số, ngày quyết định)"), validators=[
        Optional(), Length(max=255, message=_l("Căn cứ không được dài quá 255 ký tự."))])


class MoveUnitForm(FlaskForm):
    parent = Choice(_l("Chuyển về trực thuộc"), coerce=int)
    on = on_field()


class MergeUnitForm(FlaskForm):
    target = Choice(_l("Sáp nhập vào đơn vị"), coerce=int)
    on = on_field()


class CloseUnitForm(FlaskForm):
    on = on_field(_l("Giải thể từ ngày"))


class PersonForm(FlaskForm):
    full_name = StringField(_l("Họ và tên"), validators=[_required(_l("Vui lòng nhập họ và tên.")),
                                                         Length(max=200, message=_l("Họ và tên không được dài quá 200 ký tự."))])
    email = StringField(_l("Thư điện tử"), validators=[_required(_l("Vui lòng nhập địa chỉ thư điện tử.")),
                                                       Length(max=254, message=_l("Địa chỉ thư điện tử quá dài."))])
    phone = StringField(_l("Số điện thoại"), validators=[Optional(), Length(max=32, message=_l("Số điện thoại quá dài."))])
    position = StringField(_l("Chức vụ"), validators=[Optional(), Length(max=200, message=_l("Chức vụ không được dài quá 200 ký tự."))])
    employment_type = Choice(_l("Đối tượng (loại cán bộ)"), choices=employment_choices, default="")
    gender = Choice(_l("Giới tính"), choices=gender_choices, default="")


class NewPersonForm(PersonForm):
    unit = Choice(_l("Đơn vị"), coerce=int)
    on = on_field(_l("Công tác tại đơn vị từ ngày"))
    key_cadre = BooleanField(_l("Là cán bộ chủ chốt"))
    key_on = VNDateField(_l("Là cán bộ chủ chốt từ ngày"), validators=[Optional()],
                         description=_l("Để trống: từ ngày công tác tại đơn vị."))
    roles = Choices(_l("Vai trò"), choices=role_choices, widget=ListWidget(prefix_label=False),
                    option_widget=CheckboxInput())
    password = PasswordField(_l("Mật khẩu ban đầu"), validators=[
        _required(_l("Vui lòng nhập mật khẩu ban đầu.")), PasswordLength()],
        description=_l("Người dùng sẽ phải đổi mật khẩu này ở lần đăng nhập đầu tiên."))


class MovePersonForm(FlaskForm):
    unit = Choice(_l("Chuyển sang đơn vị"), coerce=int)
    on = on_field()


class KeyCadreForm(FlaskForm):
    key_cadre = Choice(_l("Cán bộ chủ chốt"), choices=[SelectChoice("1", _l("Có")), SelectChoice("0", _l("Không"))])
    on = on_field()


class TitleForm(FlaskForm):
    kind = Choice(_l("Chức danh"), choices=title_choices)
    level = Choice(_l("Cấp công nhận (báo cáo viên)"), choices=level_choices)
    decision_number = StringField(_l("Số quyết định"), validators=[
        Optional(), Length(max=100, message=_l("Số quyết định không được dài quá 100 ký tự."))])
    decision_date = VNDateField(_l("Ngày quyết định"), validators=[Optional()])
    issuing_authority = StringField(_l("Cơ quan ra quyết định"), validators=[
        Optional(), Length(max=255, message=_l("Tên cơ quan không được dài quá 255 ký tự."))])
    valid_from = VNDateField(_l("Có hiệu lực từ ngày"), validators=[Optional()],
                             description=_l("Để trống: từ ngày quyết định."))


class EndTitleForm(FlaskForm):
    on = on_field(_l("Thôi giữ chức danh từ ngày"))
    reason = StringField(_l("Lý do"), validators=[
        Optional(), Length(max=255, message=_l("Lý do không được dài quá 255 ký tự."))])


class ResetPasswordForm(FlaskForm):
    password = PasswordField(_l("Mật khẩu mới"), validators=[
        _required(_l("Vui lòng nhập mật khẩu mới.")), PasswordLength()])


class GrantRoleForm(FlaskForm):
    role = Choice(_l("Vai trò"), choices=role_choices)
    unit = Choice(_l("Đơn vị được quản trị (chỉ với vai trò quản trị đơn vị)"), coerce=int)


from flask_wtf.file import FileRequired  # noqa: E402  (the roster import's forms follow)


class ImportUploadForm(FlaskForm):
    file = FileField(_l("Tệp danh sách (.xlsx hoặc .csv)"),
                     validators=[FileRequired(message=_l("Vui lòng chọn tệp danh sách để tải lên."))],
                     description=_l("Dùng tệp mẫu. Tệp được kiểm tra theo nội dung, không theo phần mở rộng."))


class ImportConfirmForm(FlaskForm):
    password = PasswordField(_l("Mật khẩu ban đầu cho các tài khoản mới"), validators=[
        Optional(), PasswordLength()],
        description=_l("Mọi tài khoản mới dùng mật khẩu này và phải đổi mật khẩu ở lần đăng nhập đầu tiên. "
                       "Hãy báo mật khẩu cho họ qua kênh an toàn."))
