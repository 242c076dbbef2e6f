"""Forms of the question bank: categories, one question form that adapts to the type, import.

The question form never decides what makes a question valid (that is
:func:`quizzes.formats.base.check`, shared with the importers); it only turns the typed text into
numbers, with a Vietnamese message next to the field when it cannot.
"""

from __future__ import annotations

from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from wtforms import BooleanField, FieldList, Form, FormField, HiddenField, StringField, SubmitField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Length, Optional, ValidationError
from wtforms.widgets import CheckboxInput, ListWidget

from lms.forms import Choice, Choices
from lms.i18n import lazy_gettext as _l
from quizzes.formats.base import MAX_TEXT

#: The type labels a trainer reads (Vietnamese first).
TYPE_LABELS = {
    "single_choice": _l("Một lựa chọn"),
    "multiple_response": _l("Nhiều lựa chọn"),
    "true_false": _l("Đúng/Sai"),
    "short_answer": _l("Trả lời ngắn"),
    "numerical": _l("Số"),
    "matching": _l("Ghép đôi"),
    "essay": _l("Tự luận"),
    "description": _l("Đoạn mô tả"),
}
TYPE_HELP = {
    "single_choice": _l("Học viên chọn một phương án; phương án đúng được 100%."),
    "multiple_response": _l("Học viên chọn nhiều phương án; các phương án đúng cộng lại bằng 100%, "
                            "phương án sai có thể bị trừ điểm (số âm)."),
    "true_false": _l("Học viên chọn Đúng hoặc Sai."),
    "short_answer": _l("Học viên gõ một từ hoặc cụm từ; dấu * thay cho một đoạn bất kỳ."),
    "numerical": _l("Học viên gõ một số; có thể chấp nhận sai số."),
    "matching": _l("Học viên ghép mỗi vế trái với một vế phải."),
    "essay": _l("Học viên viết bài; giảng viên chấm tay."),
    "description": _l("Chỉ là đoạn văn bản giới thiệu, không tính điểm."),
}
#: Option rows offered on an empty form, and added by "Thêm dòng".
EMPTY_ROWS = 6
ADD_ROWS = 3
MAX_ROWS = 60
FORMAT_LABELS = {"html": _l("HTML"), "markdown": _l("Markdown"), "plain": _l("Văn bản thường")}


def _checkboxes(label, **kwargs):
    return Choices(label, widget=ListWidget(prefix_label=False), option_widget=CheckboxInput(), **kwargs)


def parse_number(text: str | None, *, low: float, high: float, message) -> float | None:
    """A number typed with a comma or a dot ("33,33", "-50"); None when empty; ValueError(message)
    when it is not a number in [low, high]."""
    raw = (text or "").strip().replace("\u00a0", "").replace(" ", "")
    if not raw:
        return None
    if raw.count(",") == 1 and "." not in raw:
        raw = raw.replace(",", ".")
    if len(raw) > 24:
        raise ValueError(message)
    try:
        value = float(raw)
    except ValueError:
        raise ValueError(message) from None
    if value != value or not (low <= value <= high):
        raise ValueError(message)
    return value


class CategoryForm(FlaskForm):
    name = StringField(_l("Tên nhóm"), validators=[
        DataRequired(message=_l("Hãy nhập tên nhóm câu hỏi.")),
        Length(max=255, message=_l("Tên nhóm câu hỏi dài quá %(n)s ký tự.", n=255))])
    parent = Choice(_l("Thuộc nhóm"), coerce=int, default=0)


class RenameForm(FlaskForm):
    name = StringField(_l("Tên mới"), validators=[
        DataRequired(message=_l("Hãy nhập tên nhóm câu hỏi.")),
        Length(max=255, message=_l("Tên nhóm câu hỏi dài quá %(n)s ký tự.", n=255))])


class OptionRow(Form):
    """One row of the options table (no CSRF of its own: it lives inside the question form)."""

    text = TextAreaField(_l("Nội dung"), validators=[
        Optional(), Length(max=MAX_TEXT, message=_l("Nội dung dài quá %(n)s ký tự.", n="20.000"))],
        render_kw={"rows": 2})
    fraction = StringField(_l("Tỷ lệ điểm (%)"), validators=[Optional(), Length(max=24)],
                           render_kw={"inputmode": "decimal"})
    feedback = StringField(_l("Phản hồi"), validators=[
        Optional(), Length(max=MAX_TEXT, message=_l("Phản hồi dài quá %(n)s ký tự.", n="20.000"))])
    match = StringField(_l("Vế phải"), validators=[
        Optional(), Length(max=MAX_TEXT, message=_l("Nội dung dài quá %(n)s ký tự.", n="20.000"))])
    tolerance = StringField(_l("Sai số cho phép (±)"), validators=[Optional(), Length(max=24)],
                            render_kw={"inputmode": "decimal"})

    def validate_fraction(self, field):
        try:
            parse_number(field.data, low=-100, high=100,
                         message=_l("Tỷ lệ điểm phải là số từ -100 đến 100."))
        except ValueError as exc:
            raise ValidationError(str(exc.args[0])) from None

    def validate_tolerance(self, field):
        try:
            parse_number(field.data, low=0, high=1e12, message=_l("Sai số phải là số không âm."))
        except ValueError as exc:
            raise ValidationError(str(exc.args[0])) from None

    @property
    def blank(self) -> bool:
        return not any((f.data or "").strip() for f in (self.text, self.fraction, self.feedback, self.match,
                                                         self.tolerance))


class QuestionForm(FlaskForm):
    name = StringField(_l("Tên câu hỏi"), validators=[
        Optional(), Length(max=255, message=_l("Tên câu hỏi dài quá %(n)s ký tự.", n=255))],
        description=_l("Tên ngắn để tìm câu hỏi; để trống thì lấy từ nội dung."))
    text = TextAreaField(_l("Nội dung câu hỏi"), validators=[
        DataRequired(message=_l("Hãy nhập nội dung câu hỏi.")),
        Length(max=MAX_TEXT, message=_l("Nội dung câu hỏi dài quá %(n)s ký tự.", n="20.000"))],
        render_kw={"rows": 6})
    text_format = Choice(_l("Định dạng nội dung"), choices=[SelectChoice(k, v) for k, v in FORMAT_LABELS.items()],
                         default="markdown",
                         description=_l("Markdown: **đậm**, *nghiêng*, - danh sách. Mã HTML được lọc, "
                                        "không giữ script."))
    default_mark = StringField(_l("Điểm mặc định"), default="1", validators=[Optional(), Length(max=24)],
                               render_kw={"inputmode": "decimal"})
    general_feedback = TextAreaField(_l("Giải thích chung"), validators=[
        Optional(), Length(max=MAX_TEXT, message=_l("Giải thích dài quá %(n)s ký tự.", n="20.000"))],
        description=_l("Hiện khi học viên xem lại bài (nếu bài kiểm tra cho phép)."), render_kw={"rows": 3})
    conventions = _checkboxes(_l("Công ước liên quan"), coerce=int)
    contents = _checkboxes(_l("Nội dung truyền thông"), coerce=int)
    shuffle = BooleanField(_l("Xáo trộn thứ tự phương án"), default=True)
    case_sensitive = BooleanField(_l("Phân biệt chữ hoa, chữ thường"))
    ignore_diacritics = BooleanField(_l("Chấp nhận câu trả lời gõ không dấu"))
    tf_answer = Choice(_l("Đáp án đúng"), choices=[SelectChoice("true", _l("Đúng")), SelectChoice("false", _l("Sai"))], default="true")
    tf_true_feedback = StringField(_l("Phản hồi khi chọn Đúng"), validators=[Optional(), Length(max=MAX_TEXT)])
    tf_false_feedback = StringField(_l("Phản hồi khi chọn Sai"), validators=[Optional(), Length(max=MAX_TEXT)])
    options = FieldList(FormField(OptionRow), min_entries=EMPTY_ROWS, max_entries=MAX_ROWS)
    add_rows = SubmitField(_l("Thêm dòng phương án"))
    save = SubmitField(_l("Lưu câu hỏi"))

    def validate_default_mark(self, field):
        try:
            parse_number(field.data, low=0, high=1000, message=_l("Điểm phải là số từ 0 đến 1000."))
        except ValueError as exc:
            raise ValidationError(str(exc.args[0])) from None


class ImportForm(FlaskForm):
    file = FileField(_l("Tệp câu hỏi"), validators=[FileRequired(message=_l("Vui lòng chọn tệp câu hỏi để tải lên."))],
                     description=_l("GIFT, Aiken (.txt), Moodle XML (.xml) hoặc tệp Excel mẫu (.xlsx, .csv); tối đa "
                                    "10 MB. Định dạng được nhận ra theo nội dung tệp."))
    category = Choice(_l("Nhập vào nhóm"), coerce=int,
                      description=_l("Các nhóm ghi trong tệp được tạo bên trong nhóm này."))


class ConfirmImportForm(FlaskForm):
    category = HiddenField()
