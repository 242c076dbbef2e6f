"""Forms of the platform. Type-level checks live here (required, length, date); business
rules live in the services, which the views call after the form validates."""

from __future__ import annotations

from datetime import date

from lms.i18n import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from wtforms import BooleanField, DateField, EmailField, PasswordField, SelectField, SelectMultipleField, StringField
from wtforms.fields.choices import SelectChoice
from wtforms.widgets import CheckboxInput, ListWidget
from wtforms.validators import DataRequired, InputRequired, Length, Optional, ValidationError

from lms.labels import CATEGORY_LABELS, ROLE_LABELS, UNIT_KIND_LABELS
from lms.models import LearnerCategory, Role, UnitKind


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


class VNDateField(DateField):
    def process_formdata(self, valuelist):
        try:
            super().process_formdata(valuelist)
        except ValueError:
            raise ValueError(_l("Ngày không hợp lệ (định dạng năm-tháng-ngày).")) from None
        if self.data is not None and not (date(1900, 1, 1) <= self.data <= date(2200, 12, 31)):
            self.data = None
            raise ValueError(_l("Ngày không hợp lệ (định dạng năm-tháng-ngày)."))


def on_field(label=_l("Có hiệu lực từ ngày")):
    return VNDateField(label, validators=[InputRequired(message=_l("Vui lòng nhập ngày."))], format="%Y-%m-%d")


def _required(message):
    return DataRequired(message=message)


class LoginForm(FlaskForm):
    email = EmailField(_l("Thư điện tử"), validators=[_required(_l("Vui lòng nhập địa chỉ thư điện tử.")),
                                                      Length(max=254, message=_l("Địa chỉ thư điện tử quá dài."))])
    password = PasswordField(_l("Mật khẩu"), validators=[_required(_l("Vui lòng nhập mật khẩu.")),
                                                         Length(max=128, message=_l("Mật khẩu quá dài."))])


class ChangePasswordForm(FlaskForm):
    current_password = PasswordField(_l("Mật khẩu hiện tại"), validators=[
        _required(_l("Vui lòng nhập mật khẩu hiện tại.")), Length(max=128, message=_l("Mật khẩu quá dài."))])
    new_password = PasswordField(_l("Mật khẩu mới"), validators=[
        _required(_l("Vui lòng nhập mật khẩu mới.")), Length(max=128, message=_l("Mật khẩu quá dài."))])
    confirm = PasswordField(_l("Nhập lại mật khẩu mới"), validators=[
        _required(_l("Vui lòng nhập lại mật khẩu mới."))])

    def validate_confirm(self, field):
        if field.data != self.new_password.data:
            raise ValidationError(_l("Hai lần nhập mật khẩu mới không khớp."))


class ConfirmForm(FlaskForm):
    """A form with nothing but the CSRF token, for one-button actions."""


def kind_choices():
    return [SelectChoice(k.value, str(UNIT_KIND_LABELS[k])) for k in UnitKind]


def category_choices():
    return [SelectChoice(c.value, str(CATEGORY_LABELS[c])) for c in LearnerCategory]


def role_choices(include_admin=True):
    return [SelectChoice(r.value, str(ROLE_LABELS[r])) for r in Role if include_admin or r != Role.ADMIN]


class UnitForm(FlaskForm):
    name = StringField(_l("Tên đơn vị"), validators=[_required(_l("Vui lòng nhập tên đơn vị.")),
                                                     Length(max=255, message=_l("Tên đơn vị không được dài quá 255 ký tự."))])
    code = StringField(_l("Mã đơn vị"), validators=[_required(_l("Vui lòng nhập mã đơn vị.")),
                                                    Length(max=32, message=_l("Mã đơn vị không được dài quá 32 ký tự."))])
    kind = Choice(_l("Loại đơn vị"), choices=kind_choices)


class NewUnitForm(UnitForm):
    parent = Choice(_l("Trực thuộc"), coerce=int)
    on = on_field(_l("Thành lập từ ngày"))


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
    category = Choice(_l("Đối tượng"), choices=category_choices)


class NewPersonForm(PersonForm):
    unit = Choice(_l("Đơn vị"), coerce=int)
    key_cadre = BooleanField(_l("Là cán bộ chủ chốt"))
    on = on_field()
    roles = Choices(_l("Vai trò"), choices=role_choices, widget=ListWidget(prefix_label=False),
                    option_widget=CheckboxInput())
    password = PasswordField(_l("Mật khẩu ban đầu"), validators=[
        _required(_l("Vui lòng nhập mật khẩu ban đầu.")), Length(max=128, message=_l("Mật khẩu quá dài."))],
        description=_l("Người dùng sẽ phải đổi mật khẩu này ở lần đăng nhập đầu tiên."))


class MovePersonForm(FlaskForm):
    unit = Choice(_l("Chuyển sang đơn vị"), coerce=int)
    on = on_field()


class KeyCadreForm(FlaskForm):
    key_cadre = Choice(_l("Cán bộ chủ chốt"), choices=[SelectChoice("1", _l("Có")), SelectChoice("0", _l("Không"))])
    on = on_field()


class ResetPasswordForm(FlaskForm):
    password = PasswordField(_l("Mật khẩu mới"), validators=[
        _required(_l("Vui lòng nhập mật khẩu mới.")), Length(max=128, message=_l("Mật khẩu quá dài."))])


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
        Optional(), Length(max=128, message=_l("Mật khẩu quá dài."))],
        description=_l("Mọi tài khoản mới dùng mật khẩu này và phải đổi mật khẩu ở lần đăng nhập đầu tiên. "
                       "Hãy báo mật khẩu cho họ qua kênh an toàn."))
