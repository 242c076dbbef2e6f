"""The question bank's services: categories, versions, permissions and saving an import."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from lms.actors import SYSTEM
from lms.db import db
from lms.errors import ServiceError
from lms.models import AuditEntry
from quizzes import services
from quizzes.formats.base import ParsedCategory, ParsedOption, ParsedQuestion, ParseResult, Problem
from quizzes.models import Question, QuestionCategory, QuestionOption, QuestionVersion, split_path
from tests.conftest import count_rows


def single(name="Thủ đô", category=(), tags=()) -> ParsedQuestion:
    return ParsedQuestion(1, 1, "single_choice", name, "Thủ đô của Việt Nam là?", "plain", tuple(category),
                          [ParsedOption("Hà Nội", 1.0, "Đúng"), ParsedOption("Huế", 0.0, "Sai")],
                          general_feedback="Hà Nội là thủ đô.", tags=list(tags))


def test_a_trainer_builds_nested_categories(trainer):
    top = services.create_category(db.session, trainer, "Công ước")
    cedaw = services.create_category(db.session, trainer, "CEDAW", top, "Xóa bỏ phân biệt đối xử với phụ nữ")
    odd = services.create_category(db.session, trainer, "Hỏi/đáp", top)
    db.session.commit()
    assert cedaw.path == "Công ước/CEDAW"
    assert split_path(odd.path) == ["Công ước", "Hỏi/đáp"]
    assert cedaw.depth == 1
    with pytest.raises(ServiceError, match="Đã có nhóm"):
        services.create_category(db.session, trainer, " CEDAW ", top)
    with pytest.raises(ServiceError, match="Hãy nhập tên"):
        services.create_category(db.session, trainer, " / ", top)
    with pytest.raises(ServiceError, match="dài quá"):
        services.create_category(db.session, trainer, "x" * 256, top)


def test_renaming_a_category_moves_the_paths_below_it_and_only_those(trainer):
    top = services.create_category(db.session, trainer, "Công ước")
    child = services.create_category(db.session, trainer, "CRC", top)
    services.create_category(db.session, trainer, "Sâu", child)
    other = services.create_category(db.session, trainer, "Công ước khác")
    db.session.commit()
    services.rename_category(db.session, trainer, top, "Các công ước")
    db.session.commit()
    paths = set(db.session.scalars(sa.select(QuestionCategory.path)))
    assert paths == {"Các công ước", "Các công ước/CRC", "Các công ước/CRC/Sâu", "Công ước khác"}
    assert other.path == "Công ước khác"
    with pytest.raises(ServiceError, match="Đã có nhóm"):
        services.rename_category(db.session, trainer, other, "Các công ước")


def test_only_empty_categories_are_deleted(trainer):
    top = services.create_category(db.session, trainer, "Công ước")
    child = services.create_category(db.session, trainer, "CRC", top)
    services.create_question(db.session, trainer, child, single())
    db.session.commit()
    for category in (top, child):
        with pytest.raises(ServiceError, match="trống"):
            services.delete_category(db.session, trainer, category)
    empty = services.create_category(db.session, trainer, "Trống")
    services.delete_category(db.session, trainer, empty)
    db.session.commit()
    assert count_rows(QuestionCategory) == 2


def test_editing_a_question_adds_a_version_and_keeps_the_old_one(trainer):
    category = services.create_category(db.session, trainer, "Chung")
    question = services.create_question(db.session, trainer, category, single())
    db.session.commit()
    first = question.current
    first_options = [(o.text, o.fraction) for o in first.options]
    changed = single("Thủ đô (sửa)")
    changed.options[1].text = "Đà Nẵng"
    services.revise_question(db.session, trainer, question, changed)
    db.session.commit()
    db.session.expire_all()
    question = db.session.get(Question, question.id)
    assert [v.number for v in question.versions] == [1, 2]
    assert question.current.name == "Thủ đô (sửa)" and question.name == "Thủ đô (sửa)"
    old = db.session.get(QuestionVersion, first.id)
    assert [(o.text, o.fraction) for o in old.options] == first_options
    assert [o.text for o in question.current.options] == ["Hà Nội", "Đà Nẵng"]


def test_a_broken_question_is_refused_and_nothing_is_written(trainer):
    category = services.create_category(db.session, trainer, "Chung")
    db.session.commit()
    broken = single()
    broken.options[0].fraction = 0.0  # no right answer
    with pytest.raises(ServiceError, match="phương án đúng"):
        services.create_question(db.session, trainer, category, broken)
    db.session.rollback()
    assert count_rows(Question) == 0 and count_rows(QuestionOption) == 0


def test_names_and_text_are_nfc_and_a_missing_name_comes_from_the_text(trainer):
    category = services.create_category(db.session, trainer, "Chung")
    parsed = single(name="")
    parsed.text = "Quye\u0302\u0300n con ngu\u031bo\u031b\u0300i <b>là</b> gì?"
    question = services.create_question(db.session, trainer, category, parsed)
    assert question.name == "Quyền con người là gì?"
    assert question.current.text == "Quyền con người <b>là</b> gì?"
    assert "quyen con nguoi" in question.search_text


def test_only_trainers_and_administrators_manage_the_bank(trainee, make_person):
    unit_admin = make_person(roles=("unit_admin",))
    for actor in (trainee, unit_admin, None):
        with pytest.raises(ServiceError, match="không có quyền"):
            services.create_category(db.session, actor, "Của tôi")
    admin = make_person(roles=("admin",))
    assert services.create_category(db.session, admin, "Của quản trị").id
    assert services.create_category(db.session, SYSTEM, "Của hệ thống").created_by_id is None


def test_an_import_nests_the_files_categories_below_the_target_and_tags_conventions(trainer):
    result = ParseResult(
        questions=[single("Một", ("Iota", "Kappa"), tags=["CEDAW", "crc", "ND4", "khác"]), single("Hai")],
        categories=[ParsedCategory(("Iota",), "Mô tả Iota"), ParsedCategory(("Iota", "Kappa")),
                    ParsedCategory(("Iota", "Trống"))])
    outcome = services.import_questions(db.session, trainer, result, ("Nhập", "Moodle"))
    db.session.commit()
    assert outcome.created == 2
    paths = {c.path: c for c in db.session.scalars(sa.select(QuestionCategory))}
    assert set(paths) == {"Nhập", "Nhập/Moodle", "Nhập/Moodle/Iota", "Nhập/Moodle/Iota/Kappa",
                          "Nhập/Moodle/Iota/Trống"}
    assert paths["Nhập/Moodle/Iota"].description == "Mô tả Iota"
    one = db.session.scalar(sa.select(Question).where(Question.name == "Một"))
    assert one.category.path == "Nhập/Moodle/Iota/Kappa"
    assert [c.code for c in one.conventions] == ["CEDAW", "CRC"]
    assert [c.number for c in one.contents] == [4]
    two = db.session.scalar(sa.select(Question).where(Question.name == "Hai"))
    assert two.category.path == "Nhập/Moodle"
    entry = db.session.scalars(sa.select(AuditEntry).where(AuditEntry.action == "question.import")).one()
    assert "2 câu hỏi" in entry.summary


def test_questions_without_any_category_go_to_the_general_one(trainer):
    services.import_questions(db.session, trainer, ParseResult(questions=[single()]), ())
    db.session.commit()
    assert db.session.scalar(sa.select(Question)).category.path == services.DEFAULT_CATEGORY


def test_a_file_with_problems_or_no_question_is_not_saved(trainer):
    with pytest.raises(ServiceError, match="còn 1 lỗi"):
        services.import_questions(db.session, trainer, ParseResult(questions=[single()],
                                                                   problems=[Problem(2, 7, "Thiếu }")]), ())
    with pytest.raises(ServiceError, match="không có câu hỏi"):
        services.import_questions(db.session, trainer, ParseResult(), ())
    db.session.rollback()
    assert count_rows(Question) == 0 and count_rows(QuestionCategory) == 0


def test_a_stored_version_reads_back_as_it_was_written(trainer):
    category = services.create_category(db.session, trainer, "Chung")
    parsed = ParsedQuestion(1, 1, "numerical", "Năm", "CEDAW được thông qua năm nào?", "markdown", (),
                            [ParsedOption("1979", 1.0, "Đúng", tolerance=0.0),
                             ParsedOption("1980", 0.5, "Gần đúng", tolerance=1.5)], default_mark=2.5)
    question = services.create_question(db.session, trainer, category, parsed)
    db.session.commit()
    back = services.as_parsed(question.current, category.path)
    assert back.type == "numerical" and back.text_format == "markdown" and back.default_mark == 2.5
    assert [(o.text, o.fraction, o.tolerance) for o in back.options] == [("1979", 1.0, 0.0), ("1980", 0.5, 1.5)]
    assert back.category == ("Chung",)


def test_a_description_never_weighs_in_a_quiz_mark(make_course, trainer):
    """Text-only items carry no marks, whatever the file said, so they never lower a score."""
    from quizzes import building

    category = services.ensure_path(db.session, trainer, ["Chung"])
    text = services.create_question(db.session, trainer, category, ParsedQuestion(
        1, 1, "description", "Hướng dẫn", "Đọc đoạn sau rồi trả lời.", default_mark=1.0))
    quiz = building.create_quiz(db.session, trainer, make_course(), building.QuizSettings(title="Kiểm tra"))
    building.add_questions(db.session, trainer, quiz, [text.id])
    assert text.current.default_mark == 0
    assert [slot.mark for slot in quiz.slots] == [0]
    with pytest.raises(ServiceError, match="không có điểm"):
        building.set_slot_mark(db.session, trainer, quiz, quiz.slots[0].id, "2")
