"""Grading is a pure function: a table of cases per question type."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from quizzes.grading import (
    Band,
    OptionKey,
    QuestionKey,
    attempt_mark,
    band_of,
    grade,
    parse_number,
    passed,
    quiz_grade,
    right_answer,
)

SINGLE = QuestionKey("single_choice", (OptionKey(1, "Hà Nội", 1.0), OptionKey(2, "Huế", 0.0),
                                       OptionKey(3, "Gần đúng", 0.5), OptionKey(4, "Sai hẳn", -0.5)))
MULTI = QuestionKey("multiple_response", (OptionKey(1, "a", 0.5), OptionKey(2, "b", 0.5),
                                          OptionKey(3, "c", -1.0), OptionKey(4, "d", 0.0)))
TF = QuestionKey("true_false", (OptionKey(10, "true", 0.0), OptionKey(11, "false", 1.0)))
SHORT = QuestionKey("short_answer", (OptionKey(1, "Công ước CEDAW", 1.0), OptionKey(2, "CEDAW*", 0.5),
                                     OptionKey(3, "*", 0.0)))
SHORT_FOLD = QuestionKey("short_answer", (OptionKey(1, "Quyền trẻ em", 1.0),), ignore_diacritics=True)
SHORT_CASE = QuestionKey("short_answer", (OptionKey(1, "ICCPR", 1.0), OptionKey(2, "a\\*b", 1.0)),
                         case_sensitive=True)
NUM = QuestionKey("numerical", (OptionKey(1, "1979", 1.0, tolerance=0), OptionKey(2, "1980", 0.5, tolerance=2)))
NUM_DEC = QuestionKey("numerical", (OptionKey(1, "0.3", 1.0), OptionKey(2, "*", 0.1)))
MATCH = QuestionKey("matching", (OptionKey(1, "CEDAW", match="Phụ nữ"), OptionKey(2, "CRC", match="Trẻ em"),
                                 OptionKey(3, "CRPD", match="Người khuyết tật"), OptionKey(4, "", match="Lao động")))


@pytest.mark.parametrize(("key", "response", "fraction", "blank"), [
    (SINGLE, 1, 1.0, False),
    (SINGLE, "1", 1.0, False),
    (SINGLE, 2, 0.0, False),
    (SINGLE, 3, 0.5, False),
    (SINGLE, 4, 0.0, False),          # a negative weight never takes the question below zero
    (SINGLE, 99, 0.0, True),          # an option of another question is no answer
    (SINGLE, [2, 1], 0.0, False),     # only the first choice counts: no fishing with two ids
    (SINGLE, None, 0.0, True),
    (SINGLE, "x", 0.0, True),
    (SINGLE, True, 0.0, True),
    (MULTI, [1, 2], 1.0, False),
    (MULTI, [1, 1, 1], 0.5, False),   # duplicates count once
    (MULTI, [1, 2, 3], 0.0, False),   # a wrong choice with -100% cancels the right ones
    (MULTI, [1, 2, 3, 4], 0.0, False),
    (MULTI, [1, 4], 0.5, False),
    (MULTI, [3], 0.0, False),
    (MULTI, [], 0.0, True),
    (MULTI, [1, 2, 999], 1.0, False),
    (TF, 11, 1.0, False),
    (TF, 10, 0.0, False),
    (TF, None, 0.0, True),
    (SHORT, "công ước cedaw", 1.0, False),
    (SHORT, "  Công   ước CEDAW ", 1.0, False),
    (SHORT, "CEDAW 1979", 0.5, False),
    (SHORT, "khác", 0.0, False),
    (SHORT, "", 0.0, True),
    (SHORT, "   ", 0.0, True),
    (SHORT, ["CEDAW"], 0.0, True),
    (SHORT_FOLD, "quyen tre em", 1.0, False),
    (SHORT_FOLD, "QUYỀN TRẺ EM", 1.0, False),
    (SHORT_FOLD, "quyền trẻ", 0.0, False),
    (SHORT, "cong uoc cedaw", 0.0, False),   # diacritics matter unless the question says otherwise
    (SHORT_CASE, "iccpr", 0.0, False),
    (SHORT_CASE, "ICCPR", 1.0, False),
    (SHORT_CASE, "a*b", 1.0, False),         # an escaped star is a literal star
    (SHORT_CASE, "axxb", 0.0, False),
    (NUM, "1979", 1.0, False),
    (NUM, "1979,0", 1.0, False),
    (NUM, "1981", 0.5, False),
    (NUM, "1978", 0.5, False),
    (NUM, "1983", 0.0, False),
    (NUM, "1.979", 0.0, False),              # 1.979 is one point nine, not one thousand nine hundred
    (NUM, "1.979,0", 1.0, False),            # Vietnamese grouping with a decimal comma
    (NUM, "abc", 0.0, False),
    (NUM, "1e400", 0.0, False),
    (NUM, "nan", 0.0, False),
    (NUM, "", 0.0, True),
    (NUM_DEC, "0,3", 1.0, False),
    (NUM_DEC, str(0.1 + 0.2), 1.0, False),
    (NUM_DEC, "7", 0.1, False),
    (MATCH, {"1": "Phụ nữ", "2": "Trẻ em", "3": "Người khuyết tật"}, 1.0, False),
    (MATCH, {1: "Phụ nữ", 2: "Lao động", 3: "Người khuyết tật"}, 2 / 3, False),
    (MATCH, {"1": "Phụ nữ", "99": "Trẻ em"}, 1 / 3, False),
    (MATCH, {"4": "Lao động"}, 0.0, True),   # the distractor is not a sub-question
    (MATCH, {}, 0.0, True),
    (MATCH, "Phụ nữ", 0.0, True),
])
def test_grade_table(key, response, fraction, blank):
    result = grade(key, response)
    assert result.fraction == pytest.approx(fraction)
    assert result.blank is blank


def test_essay_waits_for_a_trainer_unless_blank():
    key = QuestionKey("essay")
    assert grade(key, "Bài viết về quyền con người").fraction is None
    assert grade(key, "   ") == grade(key, None)
    assert grade(key, None).fraction == 0.0 and grade(key, None).blank


def test_description_earns_nothing():
    assert grade(QuestionKey("description"), "anything").fraction == 0.0


def test_chosen_options_are_reported_for_feedback():
    assert grade(SINGLE, 3).chosen == (3,)
    assert grade(MULTI, [2, 1, 2]).chosen == (2, 1)
    assert grade(SHORT, "CEDAW năm 1979").chosen == (2,)
    assert grade(NUM, "1980").chosen == (2,)  # not 1979 ± 0, so the next key: 1980 ± 2
    assert grade(NUM, "1979").chosen == (1,)


def test_right_answer():
    assert right_answer(SINGLE) == (1,)
    assert right_answer(MULTI) == (1, 2)
    assert right_answer(TF) == (11,)
    assert right_answer(MATCH) == (1, 2, 3)


@pytest.mark.parametrize(("text", "number"), [
    ("1,5", 1.5), ("1.5", 1.5), ("-2", -2.0), ("1.000,5", 1000.5), (" 3 ", 3.0), ("1 000", 1000.0),
    ("", None), ("abc", None), ("inf", None), ("1" * 100, None),
])
def test_parse_number(text, number):
    assert parse_number(text) == number


def test_attempt_mark_on_a_ten_point_scale():
    assert attempt_mark([(1, 1.0), (1, 0.5), (2, 0.0)], quiz_max=10) == 3.75
    assert attempt_mark([(1, 1.0), (1, None)], quiz_max=10) is None
    assert attempt_mark([], quiz_max=10) == 0.0


@pytest.mark.parametrize(("marks", "method", "expected"), [
    ([4.0, 8.0, 6.0], "highest", 8.0),
    ([4.0, 8.0, 6.0], "average", 6.0),
    ([4.0, 8.0, 6.0], "first", 4.0),
    ([4.0, 8.0, 6.0], "last", 6.0),
    ([4.0, None], "highest", 4.0),
    ([4.0, None], "last", None),
    ([], "highest", None),
    ([None], "average", None),
])
def test_quiz_grade(marks, method, expected):
    assert quiz_grade(marks, method) == expected


def test_pass_and_bands():
    bands = [Band(5, "Trung bình"), Band(6.5, "Khá"), Band(8, "Giỏi"), Band(9, "Xuất sắc")]
    assert passed(5.0, 5.0) and not passed(4.99, 5.0) and not passed(None, 5.0)
    assert band_of(8.0, bands) == "Giỏi"
    assert band_of(7.99, bands) == "Khá"
    assert band_of(4.0, bands) == ""
    assert band_of(None, bands) == ""


@given(st.lists(st.integers(min_value=-5, max_value=10)))
def test_choice_grades_stay_between_zero_and_one(ids):
    for key in (SINGLE, MULTI, TF):
        result = grade(key, ids)
        assert 0.0 <= result.fraction <= 1.0


@given(st.text(max_size=200))
def test_text_answers_never_crash(text):
    for key in (SHORT, SHORT_FOLD, SHORT_CASE, NUM, NUM_DEC):
        assert 0.0 <= grade(key, text).fraction <= 1.0
