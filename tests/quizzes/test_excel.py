"""The Excel question template: every type, bad rows reported by row, hostile workbooks refused."""

from __future__ import annotations

import io

import pytest
from openpyxl import Workbook

from quizzes.formats.excel import COLUMNS, read_excel
from quizzes.importing import detect_format, read_questions

HEADER = ["Nhóm", "Loại", "Tên câu hỏi", "Nội dung câu hỏi", "Phương án A", "Phương án B", "Phương án C",
          "Phương án D", "Đáp án", "Điểm", "Giải thích", "Thẻ"]


def workbook(rows, header=HEADER, title=None) -> bytes:
    book = Workbook()
    sheet = book.active
    if title:
        sheet.append([title])
    sheet.append(header)
    for row in rows:
        sheet.append(row)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def row(category="", kind="", name="", text="Câu hỏi?", a="", b="", c="", d="", answer="", mark="", feedback="",
        tags=""):
    return [category, kind, name, text, a, b, c, d, answer, mark, feedback, tags]


def test_every_type_reads_from_the_template():
    content = workbook([
        row("Công ước/CEDAW", "", "Một", "CEDAW thông qua năm?", "1966", "1979", "1989", answer="B", mark="2",
            feedback="Năm 1979.", tags="CEDAW, ND1"),
        row("", "Nhiều lựa chọn", "", "Quyền dân sự?", "Bầu cử", "Tự do ngôn luận", "Nhà ở", answer="A, B"),
        row("", "Một lựa chọn", "", "Chọn hai?", "x", "y", "z", answer="A;C"),
        row("", "Đúng/Sai", "", "Việt Nam là thành viên CRC.", answer="Đúng"),
        row("", "đúng sai", "", "Sai?", answer="sai"),
        row("", "Trả lời ngắn", "", "Viết tắt công ước về quyền trẻ em?", answer="CRC | Công ước về quyền trẻ em"),
        row("", "Số", "", "Năm?", answer="1979"),
        row("", "số", "", "Khoảng?", answer="1..5"),
        row("", "Số", "", "Sai số?", answer="3,5 ± 0,5"),
        row("", "Ghép đôi", "", "Ghép công ước với nhóm được bảo vệ", "CEDAW -> Phụ nữ", "CRC -> Trẻ em",
            " -> Lao động", answer=""),
        row("", "Tự luận", "", "Trình bày về CAT."),
        row("", "Mô tả", "", "Phần sau nói về ICCPR."),
    ], title="NGÂN HÀNG CÂU HỎI")
    result = read_excel(content, base_category=("Nhập",))
    assert result.problems == []
    types = [q.type for q in result.questions]
    assert types == ["single_choice", "multiple_response", "multiple_response", "true_false", "true_false",
                     "short_answer", "numerical", "numerical", "numerical", "matching", "essay", "description"]
    first = result.questions[0]
    assert first.category == ("Nhập", "Công ước", "CEDAW") and first.line == 3 and first.index == 1
    assert [o.fraction for o in first.options] == [0.0, 1.0, 0.0]
    assert first.default_mark == 2.0 and first.general_feedback == "Năm 1979." and first.tags == ["CEDAW", "ND1"]
    multi = result.questions[1]
    assert [o.fraction for o in multi.options] == [0.5, 0.5, -0.5]
    assert [o.fraction for o in result.questions[3].options] == [1.0, 0.0]
    assert [o.fraction for o in result.questions[4].options] == [0.0, 1.0]
    assert [o.text for o in result.questions[5].options] == ["CRC", "Công ước về quyền trẻ em"]
    assert [(o.text, o.tolerance) for o in result.questions[7].options] == [("3", 2.0)]
    assert [(o.text, o.tolerance) for o in result.questions[8].options] == [("3.5", 0.5)]
    assert [(o.text, o.match) for o in result.questions[9].options] == [
        ("CEDAW", "Phụ nữ"), ("CRC", "Trẻ em"), ("", "Lao động")]
    assert [c.path for c in result.categories] == [("Nhập", "Công ước", "CEDAW"), ("Nhập",)]


@pytest.mark.parametrize(("bad", "reason"), [
    (row(kind="Sắp xếp", answer="A"), "Loại câu hỏi không rõ"),
    (row(a="x", b="y", answer="E"), "Đáp án E không có phương án"),
    (row(a="x", b="y", answer="A hoặc B"), "Đáp án phải là chữ cái"),
    (row(a="x", answer="A"), "ít nhất 2 phương án"),
    (row(kind="Đúng/Sai", answer="Có lẽ"), "Đúng hoặc Sai"),
    (row(kind="Số", answer="khoảng 5"), "Không đọc được đáp án số"),
    (row(kind="Số", answer="5..1"), "Không đọc được đáp án số"),
    (row(kind="Ghép đôi", a="CEDAW Phụ nữ", b="CRC -> Trẻ em"), "vế trái -> vế phải"),
    (row(a="x", b="y", answer="A", mark="-1"), "Điểm không hợp lệ"),
    (row(text="", a="x", b="y", answer="A"), "không có nội dung"),
])
def test_a_bad_row_is_reported_with_its_row_and_the_others_are_read(bad, reason):
    good = row(a="Đúng", b="Sai", answer="A")
    result = read_excel(workbook([good, bad, good]))
    assert [q.line for q in result.questions] == [2, 4]
    assert len(result.problems) >= 1
    problem = result.problems[0]
    assert (problem.index, problem.line) == (2, 3)
    assert reason in problem.reason


def test_a_workbook_with_a_formula_is_refused_whole():
    book = Workbook()
    sheet = book.active
    sheet.append(HEADER)
    sheet.append(row(a="x", b="y", answer="A"))
    sheet["J2"] = "=1+1"
    out = io.BytesIO()
    book.save(out)
    result = read_excel(out.getvalue())
    assert result.questions == [] and len(result.problems) == 1
    assert "công thức" in result.problems[0].reason


def test_text_that_looks_like_a_formula_is_text():
    book = Workbook()
    sheet = book.active
    sheet.append(HEADER)
    sheet.append(row(a="x", b="y", answer="A"))
    sheet["D2"].value = '=HYPERLINK("http://evil","bấm")'
    sheet["D2"].data_type = "s"
    out = io.BytesIO()
    book.save(out)
    result = read_excel(out.getvalue())
    assert result.problems == []
    assert result.questions[0].text == '=HYPERLINK("http://evil","bấm")'


def test_a_thousand_columns_are_refused():
    result = read_excel(workbook([row(a="x", b="y", answer="A") + ["z"] * 1000],
                                 header=HEADER + [f"Cột {i}" for i in range(1000)]))
    assert result.questions == [] and result.problems and result.problems[0].index is None


def test_the_format_is_recognised_from_the_content():
    assert detect_format(workbook([row()]), "cau-hoi.txt") == "xlsx"
    assert detect_format(b"<?xml version='1.0'?><quiz/>", "x.txt") == "xml"
    assert detect_format(b"::Q:: Hai c\xe1\xba\xa3 {T}", "x") == "gift"
    assert detect_format(b"Stem\nA) one\nB) two\nANSWER: A\n", "x") == "aiken"
    assert detect_format(b"\x89PNG\r\n\x1a\n\x00\x00", "x.png") is None


@pytest.mark.parametrize(("content", "fmt", "reason"), [
    (b"", None, "Tệp rỗng"),
    (b"   \n", None, "Tệp rỗng"),
    (b"just some words", None, "Không nhận ra định dạng"),
    (b"\x00\x01binary{}", None, "Không nhận ra định dạng"),
    (b"\x00\x01binary{}", "gift", "không phải là văn bản"),
    (b"PK\x03\x04not a zip", None, "Không đọc được tệp bảng tính"),
])
def test_unusable_files_are_one_clear_problem(content, fmt, reason):
    result = read_questions(content, fmt, filename="x.bin")
    assert result.questions == [] and len(result.problems) == 1
    assert reason in result.problems[0].reason


def test_the_template_columns_have_vietnamese_headers():
    assert [c.header for c in COLUMNS][:4] == ["Nhóm", "Loại", "Tên câu hỏi", "Nội dung câu hỏi"]
