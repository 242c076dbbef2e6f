"""Item analysis as pure functions, checked against tables computed by hand."""

from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from quizzes.analysis import Response, analyse, correlation, facility, option_letter


def table(rows):
    """rows: {attempt id: {question id: (fraction, chosen positions)}}"""
    return [Response(a, q, f, 1.0, chosen, blank=f is not None and not chosen and f == 0)
            for a, answers in rows.items() for q, (f, chosen) in answers.items()]


def test_facility_and_point_biserial_with_the_rest_of_the_test_by_hand():
    stats = analyse(table({
        1: {10: (1.0, (0,)), 20: (1.0, (1,)), 30: (1.0, (2,))},
        2: {10: (1.0, (0,)), 20: (0.0, (0,)), 30: (1.0, (2,))},
        3: {10: (0.0, (1,)), 20: (0.0, (2,)), 30: (1.0, (2,))},
    }))
    # Q10: fractions 1, 1, 0 → facility 2/3; rest of the test (Q20 + Q30) 2, 1, 1.
    # x − x̄ = ⅓, ⅓, −⅔; y − ȳ = ⅔, −⅓, −⅓; Σxy = ⅓, Σx² = ⅔, Σy² = ⅔ → r = 0.5.
    assert stats[10].facility == pytest.approx(2 / 3)
    assert stats[10].discrimination == pytest.approx(0.5)
    assert stats[20].facility == pytest.approx(1 / 3)
    assert stats[20].discrimination == pytest.approx(0.5)
    # Everybody right: facility 1, no discrimination (nothing varies).
    assert stats[30].facility == 1.0 and stats[30].discrimination is None
    assert stats[10].options == {0: 2, 1: 1}
    assert stats[20].options == {0: 1, 1: 1, 2: 1}
    assert stats[10].attempts == 3 and stats[10].graded == 3


def test_a_question_that_the_weaker_trainees_get_right_has_negative_discrimination():
    stats = analyse(table({
        1: {1: (0.0, (1,)), 2: (1.0, (0,)), 3: (1.0, (0,))},
        2: {1: (0.0, (1,)), 2: (1.0, (0,)), 3: (0.0, (1,))},
        3: {1: (1.0, (0,)), 2: (0.0, (1,)), 3: (0.0, (1,))},
    }))
    # Q1: 0, 0, 1 against rest 2, 1, 0: perfectly opposite ranks → r = −0.866…
    assert stats[1].discrimination == pytest.approx(-math.sqrt(3) / 2)
    assert stats[1].facility == pytest.approx(1 / 3)


def test_ungraded_answers_are_left_out_of_their_question():
    stats = analyse([Response(1, 1, None, 2.0), Response(1, 2, 1.0, 1.0),
                     Response(2, 1, 0.5, 2.0), Response(2, 2, 0.0, 1.0)])
    assert stats[1].attempts == 2 and stats[1].graded == 1 and stats[1].facility == 0.5
    assert stats[1].discrimination is None  # one graded answer: no correlation
    assert stats[2].facility == 0.5


def test_small_helpers():
    assert facility([]) is None
    assert correlation([1.0], [2.0]) is None
    assert correlation([1.0, 2.0, 3.0], [2.0, 4.0, 6.0]) == pytest.approx(1.0)
    assert [option_letter(n) for n in (0, 1, 25, 26, 27)] == ["A", "B", "Z", "AA", "AB"]


fractions = st.floats(min_value=0.0, max_value=1.0, allow_nan=False)


@given(st.lists(st.lists(fractions, min_size=3, max_size=3), min_size=1, max_size=30))
def test_facility_is_within_0_and_1_and_discrimination_within_minus_1_and_1(rows):
    responses = [Response(a, q, f, 1.0) for a, row in enumerate(rows) for q, f in enumerate(row)]
    for stats in analyse(responses).values():
        assert 0.0 <= stats.facility <= 1.0
        assert stats.discrimination is None or -1.0 <= stats.discrimination <= 1.0
        assert stats.attempts == len(rows)
