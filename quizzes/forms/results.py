"""Forms of the results screens: grading one answer by hand, and the one-button regrade."""

from __future__ import annotations

from decimal import Decimal

from flask_wtf import FlaskForm
from wtforms import StringField, TextAreaField
from wtforms.validators import DataRequired, Length, Optional, ValidationError

from lms.i18n import lazy_gettext as _l
from quizzes.grading import parse_number

COMMENT_MAX = 20_000


class GradeForm(FlaskForm):
    """A mark for one answer, typed as a Vietnamese user types it ("7,5"), and a comment.

    ``max_mark`` (the question's marks in that attempt) is set before validating."""

    mark = StringField(_l("Điểm"), validators=[DataRequired(_l("Vui lòng nhập điểm."))])
    comment = TextAreaField(_l("Nhận xét"), validators=[
        Optional(), Length(max=COMMENT_MAX, message=_l("Nhận xét dài quá %(max)s ký tự."))])

    max_mark: Decimal = Decimal("1")
    #: The mark as a number once validated.
    value: float | None = None

    def validate_mark(self, field) -> None:
        number = parse_number(field.data or "")
        if number is None:
            raise ValidationError(_l("Điểm phải là một số, ví dụ 7,5."))
        top = float(self.max_mark)
        if number < 0 or number > top + 1e-9:
            raise ValidationError(_l("Điểm phải từ 0 đến %(max)s (điểm tối đa của câu này).",
                                     max=format_mark(self.max_mark)))
        self.value = min(number, top)


def format_mark(value) -> str:
    """1.500 → "1,5"; 10 → "10" (Vietnamese decimal comma, no trailing zeros)."""
    if value is None:
        return ""
    text = f"{Decimal(str(value)).normalize():f}"
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return text.replace(".", ",")
