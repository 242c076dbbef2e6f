"""Forms of the quiz builder: the quiz's settings, and adding, marking and removing its questions.

Type-level checks live here (a number is a number, a time is written dd/mm/yyyy hh:mm); the
rules (pass mark within the scale, close after open, a lesson of this course …) live in
:mod:`quizzes.building`, whose messages the view puts back on the fields.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, time
from decimal import Decimal, InvalidOperation

from flask_wtf import FlaskForm
from wtforms import BooleanField, Field, FieldList, Form, FormField, SelectField, StringField, TextAreaField
from wtforms.fields.choices import SelectChoice, SelectMultipleField
from wtforms.validators import InputRequired, Length, Optional
from wtforms.widgets import TextInput

from lms.forms import Choice, WholeNumberField, parse_vn_date
from lms.i18n import lazy_gettext as _l
from lms.timeutil import zone
from quizzes.models import GradingMethod, Navigation, ReviewWhen

GRADING_LABELS = {
    GradingMethod.HIGHEST: _l("Lần cao điểm nhất"),
    GradingMethod.LAST: _l("Lần làm cuối cùng"),
    GradingMethod.FIRST: _l("Lần làm đầu tiên"),
    GradingMethod.AVERAGE: _l("Trung bình các lần"),
}
NAVIGATION_LABELS = {
    Navigation.FREE: _l("Tự do (chuyển trang bất kỳ)"),
    Navigation.SEQUENTIAL: _l("Tuần tự (không quay lại trang trước)"),
}
REVIEW_LABELS = {
    ReviewWhen.IMMEDIATELY: _l("Ngay sau khi nộp bài"),
    ReviewWhen.AFTER_CLOSE: _l("Sau khi bài kiểm tra đóng"),
    ReviewWhen.NEVER: _l("Không cho xem"),
}
#: Empty rows of grade bands offered on the form (the service accepts up to 10).
BAND_ROWS = 5

_TIME = re.compile(r"([0-9]{1,2})[:hg]([0-9]{2})")
DATETIME_MESSAGE = _l("Thời điểm phải ghi theo dạng ngày/tháng/năm giờ:phút, ví dụ 31/12/2026 23:59.")


def parse_vn_datetime(text: str | None) -> datetime | None:
    """"31/12/2026 23:59" (or ISO "2026-12-31T23:59") typed in Vietnam time -> an aware UTC
    datetime; None when it is not such a text."""
    text = (text or "").strip().replace("T", " ")
    parts = text.split()
    if len(parts) != 2:
        return None
    day = parse_vn_date(parts[0])
    match = _TIME.fullmatch(parts[1])
    if day is None or match is None:
        return None
    hour, minute = int(match.group(1)), int(match.group(2))
    if hour > 23 or minute > 59 or not (2000 <= day.year <= 2200):
        return None
    return datetime.combine(day, time(hour, minute), tzinfo=zone()).astimezone(UTC)


class VNDateTimeField(Field):
    """A moment typed as ngày/tháng/năm giờ:phút in Vietnam time; its data is UTC."""

    widget = TextInput()

    def __init__(self, label=None, validators=None, **kwargs):
        render_kw = {"placeholder": "dd/mm/yyyy hh:mm", "autocomplete": "off", "maxlength": 16,
                     **(kwargs.pop("render_kw", None) or {})}
        super().__init__(label, validators, render_kw=render_kw, **kwargs)

    def _value(self):
        if self.raw_data:
            return self.raw_data[0]
        if isinstance(self.data, datetime):
            return self.data.astimezone(zone()).strftime("%d/%m/%Y %H:%M")
        return ""

    def process_formdata(self, valuelist):
        if not valuelist or not (valuelist[0] or "").strip():
            self.data = None
            self.raw_data = [""]
            return
        value = parse_vn_datetime(valuelist[0])
        if value is None:
            self.data = None
            raise ValueError(DATETIME_MESSAGE)
        self.data = value


def parse_number(text) -> Decimal | None:
    """"7,5" or "7.5" -> Decimal("7.5"); None when it is not a finite number."""
    text = str(text or "").strip().replace(" ", "").replace(",", ".")
    if not text or len(text) > 20:
        return None
    try:
        value = Decimal(text)
    except InvalidOperation:
        return None
    return value if value.is_finite() else None


class NumberField(StringField):
    """A decimal number typed with a comma or a point; data is a Decimal (None when empty)."""

    def __init__(self, label=None, validators=None, **kwargs):
        render_kw = {"inputmode": "decimal", "autocomplete": "off", "maxlength": 20,
                     **(kwargs.pop("render_kw", None) or {})}
        super().__init__(label, validators, render_kw=render_kw, **kwargs)

    def _value(self):
        if self.raw_data:
            return self.raw_data[0]
        if self.data is None:
            return ""
        text = format(Decimal(self.data).normalize(), "f")
        return text.replace(".", ",")

    def process_formdata(self, valuelist):
        if not valuelist or not (valuelist[0] or "").strip():
            self.data = None
            return
        value = parse_number(valuelist[0])
        if value is None:
            self.data = None
            raise ValueError(_l("Hãy nhập một số, ví dụ 7,5."))
        self.data = value


class LessonChoice(SelectField):
    """The lesson the quiz belongs to (0: none). Whether it is a lesson of this course is the
    service's question, so that a lesson of another course gets its precise message."""

    def pre_validate(self, form):
        pass

    def process_formdata(self, valuelist):
        if not valuelist:
            self.data = 0
            return
        try:
            self.data = int(valuelist[0] or 0)
        except ValueError:
            self.data = None
            raise ValueError(_l("Lựa chọn không hợp lệ.")) from None
        if not (0 <= self.data <= 2**31):
            self.data = None
            raise ValueError(_l("Lựa chọn không hợp lệ."))


class BandForm(Form):
    min = NumberField(_l("Từ điểm"))
    label = StringField(_l("Xếp loại"), validators=[Optional(), Length(max=60, message=_l("Tối đa 60 ký tự."))])


def _choices(labels: dict) -> list[SelectChoice]:
    return [SelectChoice(k.value, str(v)) for k, v in labels.items()]


class QuizForm(FlaskForm):
    title = StringField(_l("Tên bài kiểm tra"), validators=[Length(max=255, message=_l("Tối đa 255 ký tự."))])
    intro = TextAreaField(_l("Hướng dẫn làm bài"), description=_l("Viết bằng Markdown; hiện cho học viên trước khi bắt đầu."),
                          validators=[Length(max=100_000, message=_l("Hướng dẫn dài quá 100.000 ký tự."))])
    lesson_id = LessonChoice(_l("Gắn với bài học"), coerce=int, default=0)
    open_at = VNDateTimeField(_l("Mở từ"), description=_l("Giờ Việt Nam, dạng 01/06/2026 07:30; để trống: mở ngay."))
    close_at = VNDateTimeField(_l("Đóng lúc"), description=_l("Giờ Việt Nam, dạng 30/06/2026 23:59; để trống: không đóng."))
    time_limit_minutes = WholeNumberField(_l("Thời gian làm bài (phút)"), validators=[Optional()],
                                          description=_l("Để trống: không giới hạn thời gian."))
    attempts_allowed = WholeNumberField(_l("Số lần được làm"), default=1,
                                        validators=[InputRequired(message=_l("Hãy nhập số lần được làm."))],
                                        description=_l("0: không giới hạn số lần."))
    grading_method = Choice(_l("Cách tính điểm khi làm nhiều lần"), choices=_choices(GRADING_LABELS),
                            default=GradingMethod.HIGHEST.value)
    max_mark = NumberField(_l("Thang điểm"), default=Decimal("10"),
                           validators=[InputRequired(message=_l("Hãy nhập thang điểm."))])
    pass_mark = NumberField(_l("Điểm đạt"), default=Decimal("5"),
                            validators=[InputRequired(message=_l("Hãy nhập điểm đạt."))],
                            description=_l("Từ điểm này trở lên là Đạt."))
    bands = FieldList(FormField(BandForm), min_entries=BAND_ROWS, max_entries=10)
    shuffle_questions = BooleanField(_l("Xáo trộn thứ tự câu hỏi"))
    shuffle_options = BooleanField(_l("Xáo trộn thứ tự phương án trả lời"), default=True)
    questions_per_page = WholeNumberField(_l("Số câu mỗi trang"), default=5,
                                          validators=[InputRequired(message=_l("Hãy nhập số câu mỗi trang."))])
    navigation = Choice(_l("Cách chuyển trang"), choices=_choices(NAVIGATION_LABELS), default=Navigation.FREE.value)
    review_score = Choice(_l("Học viên xem điểm"), choices=_choices(REVIEW_LABELS),
                          default=ReviewWhen.IMMEDIATELY.value)
    review_answers = Choice(_l("Học viên xem đáp án đúng"), choices=_choices(REVIEW_LABELS),
                            default=ReviewWhen.AFTER_CLOSE.value)
    review_feedback = Choice(_l("Học viên xem nhận xét"), choices=_choices(REVIEW_LABELS),
                             default=ReviewWhen.IMMEDIATELY.value)
    required_for_completion = BooleanField(_l("Phải đạt bài kiểm tra này mới hoàn thành khóa học"))

    #: Messages about the grade bands as a whole (from the service).
    band_errors: list


class IdsField(SelectMultipleField):
    """Ticked question ids: whole numbers; whether they exist is the service's question."""

    def pre_validate(self, form):
        pass

    def process_formdata(self, valuelist):
        try:
            self.data = [int(v) for v in valuelist][:1000]
        except ValueError:
            self.data = []
            raise ValueError(_l("Lựa chọn không hợp lệ.")) from None


class AddQuestionsForm(FlaskForm):
    question_ids = IdsField(_l("Câu hỏi"), coerce=int)
    mark = NumberField(_l("Điểm mỗi câu"), description=_l("Để trống: dùng điểm mặc định của từng câu."))


class RandomForm(FlaskForm):
    category_id = Choice(_l("Lấy từ nhóm câu hỏi"), coerce=int)
    include_subcategories = BooleanField(_l("Gồm cả các nhóm con"), default=True)
    convention_id = Choice(_l("Chỉ lấy câu gắn với công ước"), coerce=int, default=0)
    count = WholeNumberField(_l("Số câu ngẫu nhiên"), default=5,
                             validators=[InputRequired(message=_l("Hãy nhập số câu."))])
    mark = NumberField(_l("Điểm mỗi câu"), default=Decimal("1"),
                       validators=[InputRequired(message=_l("Hãy nhập điểm mỗi câu."))])


class MarkForm(FlaskForm):
    mark = NumberField(_l("Điểm"), validators=[InputRequired(message=_l("Hãy nhập điểm."))])


class PublishForm(FlaskForm):
    published = Choice(_l("Công bố"), choices=[SelectChoice("1", "1"), SelectChoice("0", "0")])
