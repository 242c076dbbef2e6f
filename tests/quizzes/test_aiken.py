"""Aiken: the good questions are read, every bad one is reported on its line (as Moodle reports it)."""

from __future__ import annotations

from pathlib import Path

import pytest

from quizzes.formats import aiken
from quizzes.formats.aiken import read_aiken

INTEROP = Path(__file__).resolve().parents[2].parent / "shared" / "interop" / "moodle" / "aiken"


def _interop(name: str) -> str:
    path = INTEROP / name
    if not path.exists():
        pytest.skip(f"interop sample not here: {path}")
    return path.read_text(encoding="utf-8")


def _summary(result) -> tuple[list, list]:
    return (
        [(q.index, q.line, q.text, [(o.text, o.fraction) for o in q.options]) for q in result.questions],
        [(p.index, p.line, p.reason) for p in result.problems],
    )


def test_moodle_questions_sample():
    result = read_aiken(_interop("questions.aiken.txt"))

    assert result.problems == []
    first, second = result.questions
    assert (first.index, first.line, first.type, first.name, first.text_format) == (
        1, 1, "single_choice", "The Moodle project was started by:", "plain")
    assert [(o.text, o.fraction) for o in first.options] == [
        ("Petr Skoda", 0.0), ("Martin Dougiamas", 1.0), ("Eloy Lafuente", 0.0), ("Tim Hunt", 0.0)]
    # HTML-looking text is text: kept verbatim, not escaped, not parsed.
    assert second.text == "Moodle's abilities include handling user input that includes <html class=\"cool\"> & images:"
    assert second.text_format == "plain"
    assert second.name == "Moodle's abilities include handling user input…"
    assert [(o.text, o.fraction) for o in second.options] == [("True", 1.0), ("False", 0.0)]
    assert all(o.text_format == "plain" for o in second.options)


def test_moodle_errors_sample():
    """Moodle's aikenformat_test on the same file: two questions imported, four errors (lines 3, 5, 7
    and 18 there; here a question's problem is on its first line, the next stem's line is named)."""
    result = read_aiken(_interop("aiken_errors.txt"))

    questions, problems = _summary(result)
    assert questions == [
        (2, 9, "A good question", [("Correct", 1.0), ("Incorrect", 0.0)]),
        # Moodle's reader takes "A)text" as an option, and its test expects this question imported.
        (4, 18, "A second good question", [("Incorrect (No space)", 0.0), ("Correct (No space)", 1.0)]),
    ]
    assert problems == [
        (1, 1, "Câu hỏi cần ít nhất 2 phương án."),
        (None, 5, "Phương án đứng trước câu hỏi."),
        (None, 7, "Dòng ANSWER: đứng trước câu hỏi."),
        (3, 14, "Thiếu dòng ANSWER: (câu hỏi tiếp theo bắt đầu ở dòng 18)."),
    ]
    assert [q.name for q in result.questions] == ["A good question", "A second good question"]


def test_option_forms_and_multi_line_stem():
    text = (
        "Đọc đoạn sau:\n"
        "  Công ước CEDAW   \n"
        "\n"
        "được thông qua năm nào?\n"
        "A) 1979\n"
        "B. 1989\n"
        "C)\t1999\n"
        "D.2009\n"
        "ANSWER: C\n"
    )
    (q,) = read_aiken(text).questions

    assert q.text == "Đọc đoạn sau:\nCông ước CEDAW\n\nđược thông qua năm nào?"
    assert q.name == "Đọc đoạn sau: Công ước CEDAW được thông qua năm nào?"[:48].rstrip() + "…"
    assert [(o.text, o.fraction) for o in q.options] == [
        ("1979", 0.0), ("1989", 0.0), ("1999", 1.0), ("2009", 0.0)]


@pytest.mark.parametrize("answer", ["ANSWER: B", "ANSWER:B", "ANSWER:   B  ", "Answer: b", "ANSWER : B",
                                    "ANSWER: B)", "ANSWER: B."])
def test_answer_line_forms(answer):
    (q,) = read_aiken(f"Câu hỏi?\nA) Sai\nB) Đúng\n{answer}\n").questions
    assert [o.fraction for o in q.options] == [0.0, 1.0]


def test_answer_goes_by_letter_not_position():
    (q,) = read_aiken("Câu hỏi?\nA) một\nC) ba\nD) bốn\nANSWER: C\n").questions
    assert [o.fraction for o in q.options] == [0.0, 1.0, 0.0]


@pytest.mark.parametrize(("text", "reasons"), [
    ("Hỏi?\nA) x\nB) y\nANSWER: E\n", ["Đáp án E không phải là một phương án (A, B)."]),
    ("Hỏi?\nA) x\nB) y\nANSWER: Question not started\n",
     ["Dòng ANSWER: phải ghi một chữ cái (A, B, C…), không phải «Question not started»."]),
    ("Hỏi?\nA) x\nB) y\nANSWER:\n", ["Dòng ANSWER: phải ghi một chữ cái (A, B, C…), không phải «»."]),
    ("Hỏi?\nA) x\nA) y\nB) z\nANSWER: A\n", ["Chữ cái A được dùng cho hai phương án (dòng 2 và 3)."]),
    ("Hỏi?\nA) x\nB) \nANSWER: A\n", ["Có phương án để trống."]),
    ("Hỏi?\nANSWER: A\n", ["Câu hỏi cần ít nhất 2 phương án."]),
    ("Hỏi?\na) x\nb) y\nANSWER: A\n", ["Câu hỏi cần ít nhất 2 phương án."]),  # lower case: not options
    ("Hỏi?\nA) x\nB) y\n", ["Thiếu dòng ANSWER: (câu hỏi tiếp theo bắt đầu ở dòng 4)."]),
])
def test_bad_questions(text, reasons):
    result = read_aiken(text + "Tốt?\nA) x\nB) y\nANSWER: B\n")

    assert [(p.index, p.line, p.reason) for p in result.problems] == [(1, 1, r) for r in reasons]
    assert [(q.index, q.text) for q in result.questions] == [(2, "Tốt?")]


@pytest.mark.parametrize("text", ["Hỏi?\nA) x\nB) y\n", "Hỏi?", "Hỏi?\n\nA) x\n"])
def test_missing_answer_at_the_end(text):
    result = read_aiken("Tốt?\nA) x\nB) y\nANSWER: B\n\n" + text)

    assert [q.text for q in result.questions] == ["Tốt?"]
    assert [(p.index, p.line, p.reason) for p in result.problems] == [(2, 6, "Thiếu dòng ANSWER: ở cuối tệp.")]


def test_windows_and_old_mac_line_endings_and_bom():
    text = "\ufeffCâu một?\r\nA) có\r\nB) không\r\nANSWER: A\r\n\r\nCâu hai?\rA) có\rB) không\rANSWER: B\r"
    result = read_aiken(text)

    assert result.problems == []
    assert [(q.line, q.text, [o.text for o in q.options]) for q in result.questions] == [
        (1, "Câu một?", ["có", "không"]), (6, "Câu hai?", ["có", "không"])]
    assert not result.questions[0].text.startswith("\ufeff")


def test_line_numbers_ignore_other_unicode_breaks():
    # Only \n, \r\n and \r end a line, so the lines we name are those an editor shows.
    result = read_aiken("Một\u2028hai?\nA) x\x0cy\nB) z\nANSWER: A\nOrphan\n")
    assert result.questions[0].text == "Một\u2028hai?"
    assert [(p.line, p.reason) for p in result.problems] == [(5, "Thiếu dòng ANSWER: ở cuối tệp.")]


def test_base_category():
    (q,) = read_aiken("Hỏi?\nA) x\nB) y\nANSWER: A\n", base_category=["Kho", "Aiken"]).questions
    assert q.category == ("Kho", "Aiken")


def test_empty_file():
    result = read_aiken("")
    assert (result.questions, result.problems, result.categories) == ([], [], [])


def test_cap_on_questions(monkeypatch):
    monkeypatch.setattr(aiken, "MAX_QUESTIONS", 2)
    result = read_aiken("".join(f"Câu {i}?\nA) x\nB) y\nANSWER: A\n\n" for i in range(1, 5)))

    assert [q.text for q in result.questions] == ["Câu 1?", "Câu 2?"]
    assert [(p.index, p.line, p.reason) for p in result.problems] == [
        (3, 11, "Tệp có hơn 2 câu hỏi; từ câu này trở đi không được đọc.")]
