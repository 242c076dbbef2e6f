"""``flask --app app quizzes import-questions FILE``: the documented options and JSON shape."""

from __future__ import annotations

import json

import pytest
import sqlalchemy as sa

from lms.db import db
from quizzes.models import Question, QuestionCategory
from tests.conftest import count_rows
from tests.quizzes.test_excel import row, workbook


@pytest.fixture
def sheet(tmp_path):
    path = tmp_path / "ngan-hang.xlsx"
    path.write_bytes(workbook([
        row("CEDAW", "", "Năm", "CEDAW thông qua năm?", "1966", "1979", answer="B"),
        row("", "Đúng/Sai", "ĐS", "Việt Nam là thành viên CRC.", answer="Đúng"),
    ]))
    return str(path)


def test_json_output_has_the_documented_shape(runner, sheet):
    result = runner.invoke(args=["quizzes", "import-questions", sheet, "--dry-run", "--json",
                                 "--category", "Nhập/Excel"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data == {
        "questions": [
            {"index": 1, "line": 2, "type": "single_choice", "name": "Năm", "category": "CEDAW"},
            {"index": 2, "line": 3, "type": "true_false", "name": "ĐS", "category": ""},
        ],
        "problems": [],
    }
    assert count_rows(Question) == 0 and count_rows(QuestionCategory) == 0


def test_import_saves_below_the_category(runner, sheet):
    result = runner.invoke(args=["quizzes", "import-questions", sheet, "--category", "Nhập/Excel",
                                 "--format", "xlsx"])
    assert result.exit_code == 0, result.output
    assert "Đã nhập 2 câu hỏi" in result.output
    paths = {q.name: q.category.path for q in db.session.scalars(sa.select(Question))}
    assert paths == {"Năm": "Nhập/Excel/CEDAW", "ĐS": "Nhập/Excel"}
    assert all(q.created_by_id is None for q in db.session.scalars(sa.select(Question)))


def test_a_file_with_problems_saves_nothing_and_exits_1(runner, tmp_path):
    path = tmp_path / "loi.xlsx"
    path.write_bytes(workbook([row(a="x", b="y", answer="A"), row(a="x", b="y", answer="Z")]))
    result = runner.invoke(args=["quizzes", "import-questions", str(path)])
    assert result.exit_code == 1
    assert "Lỗi (câu 2, dòng 3)" in result.output
    assert count_rows(Question) == 0
    result = runner.invoke(args=["quizzes", "import-questions", str(path), "--json"])
    assert result.exit_code == 1
    data = json.loads(result.stdout)
    assert [q["index"] for q in data["questions"]] == [1]
    assert data["problems"][0]["index"] == 2 and data["problems"][0]["line"] == 3


def test_an_unknown_format_is_refused(runner, tmp_path):
    path = tmp_path / "note.txt"
    path.write_text("chỉ là ghi chú", encoding="utf-8")
    result = runner.invoke(args=["quizzes", "import-questions", str(path)])
    assert result.exit_code == 1 and "Không nhận ra định dạng" in result.output
    result = runner.invoke(args=["quizzes", "import-questions", str(path), "--format", "docx"])
    assert result.exit_code == 2
