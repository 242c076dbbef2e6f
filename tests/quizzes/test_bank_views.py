"""The question bank's screens: categories, questions by type, versions, import, export."""

from __future__ import annotations

import io

import pytest
import sqlalchemy as sa

from lms.db import db
from lms.models import ImportBatch, Job
from quizzes import services
from quizzes.formats.base import ParsedOption, ParsedQuestion
from quizzes.models import Question, QuestionCategory, QuestionVersion
from tests.conftest import TEST_PASSWORD, count_rows, csrf_from
from tests.courses.conftest import convention
from tests.quizzes.conftest import INTEROP, interop_file

B = "/quizzes/bank"


def text(response) -> str:
    return response.get_data(as_text=True)


@pytest.fixture
def as_trainer(auth, trainer):
    auth.login(trainer.email)
    return auth.client


@pytest.fixture
def bank(trainer):
    """Công ước ⊃ CEDAW (two questions), Kỹ năng (empty)."""
    top = services.create_category(db.session, trainer, "Công ước")
    cedaw = services.create_category(db.session, trainer, "CEDAW", top)
    empty = services.create_category(db.session, trainer, "Kỹ năng")
    services.create_question(db.session, trainer, cedaw, ParsedQuestion(
        1, 1, "single_choice", "Năm Việt Nam tham gia CEDAW", "Việt Nam tham gia **CEDAW** năm nào?", "markdown",
        options=[ParsedOption("1982", 1.0), ParsedOption("1990", 0.0)]), conventions=[convention("CEDAW")])
    services.create_question(db.session, trainer, cedaw, ParsedQuestion(
        1, 1, "true_false", "Quyền bình đẳng", "Phụ nữ có quyền bình đẳng với nam giới.", "plain",
        options=[ParsedOption("true", 1.0), ParsedOption("false", 0.0)]))
    db.session.commit()
    return {"top": top, "cedaw": cedaw, "empty": empty}


def option_rows(rows):
    data = {}
    for i, row in enumerate(rows):
        for key, value in row.items():
            data[f"options-{i}-{key}"] = value
    return data


def question_data(text="Nội dung câu hỏi mới", **extra):
    return {"text": text, "text_format": "markdown", "default_mark": "1", "name": "", "general_feedback": "",
            "tf_answer": "true", **extra}


# -- the list --------------------------------------------------------------------------------

def test_the_bank_lists_categories_and_questions_and_searches_without_diacritics(as_trainer, bank, trainer):
    page = text(as_trainer.get(B))
    assert "Công ước" in page and "CEDAW" in page and "Kỹ năng" in page
    assert "Năm Việt Nam tham gia CEDAW" in page and "Một lựa chọn" in page and "Đúng/Sai" in page
    # the category "Công ước" includes its subcategory by default, not without it
    page = text(as_trainer.get(f"{B}?category={bank['top'].id}"))
    assert "Năm Việt Nam tham gia CEDAW" in page
    page = text(as_trainer.get(f"{B}?category={bank['top'].id}&sub=0&sub=1"))  # the box ticked
    assert "Năm Việt Nam tham gia CEDAW" in page
    page = text(as_trainer.get(f"{B}?category={bank['top'].id}&sub=0"))
    assert "Năm Việt Nam tham gia CEDAW" not in page and "Nhóm này chưa có câu hỏi" in page
    # the tree in Vietnamese alphabetical order, with the count of each category's own questions
    services.create_category(db.session, trainer, "Đạo đức")  # Đ sorts after D, before K (not by code point)
    db.session.commit()
    page = text(as_trainer.get(f"{B}?category={bank['top'].id}&sub=0"))
    assert page.index(">Công ước<") < page.index(">CEDAW<") < page.index(">Đạo đức<") < page.index(">Kỹ năng<")
    assert "Số câu hỏi trong nhóm\">2<" in page.replace("\n", "")
    page = text(as_trainer.get(f"{B}?q=BINH+DANG"))
    assert "Quyền bình đẳng" in page and "Năm Việt Nam tham gia" not in page
    page = text(as_trainer.get(f"{B}?type=single_choice"))
    assert "Năm Việt Nam tham gia CEDAW" in page and "Quyền bình đẳng" not in page
    cedaw = convention("CEDAW")
    page = text(as_trainer.get(f"{B}?convention={cedaw.id}"))
    assert "Năm Việt Nam tham gia CEDAW" in page and "Quyền bình đẳng" not in page
    page = text(as_trainer.get(f"{B}?q=%25_%5C"))
    assert "Không có câu hỏi nào khớp" in page
    assert as_trainer.get(f"{B}?category=999999").status_code == 404


def test_the_nav_shows_the_bank_to_trainers_only(auth, client, trainer, trainee):
    auth.login(trainee.email)
    assert "Ngân hàng câu hỏi" not in text(client.get("/"))
    auth.logout()
    auth.login(trainer.email)
    assert "Ngân hàng câu hỏi" in text(client.get("/"))


# -- categories ------------------------------------------------------------------------------

def test_a_trainer_creates_renames_and_deletes_categories(as_trainer, bank):
    response = as_trainer.post(f"{B}/categories/new", data={"name": "CRC", "parent": str(bank["top"].id)})
    assert response.status_code == 302
    crc = db.session.scalar(sa.select(QuestionCategory).where(QuestionCategory.name == "CRC"))
    assert crc.path == "Công ước/CRC"
    assert "CRC" in text(as_trainer.get(response.location))
    response = as_trainer.post(f"{B}/categories/{crc.id}/rename", data={"name": "Quyền trẻ em"})
    assert response.status_code == 302
    db.session.expire_all()
    assert db.session.get(QuestionCategory, crc.id).path == "Công ước/Quyền trẻ em"
    crc_id = crc.id
    response = as_trainer.post(f"{B}/categories/{crc_id}/delete", follow_redirects=True)
    assert "Đã xóa nhóm câu hỏi" in text(response)
    db.session.expire_all()
    assert db.session.get(QuestionCategory, crc_id) is None


@pytest.mark.parametrize(("name", "message"), [
    ("", "Hãy nhập tên nhóm câu hỏi."),
    ("   ", "Hãy nhập tên nhóm câu hỏi."),
    (" / ", "Hãy nhập tên nhóm câu hỏi."),
    ("x" * 256, "Tên nhóm câu hỏi dài quá 255 ký tự."),
    ("CEDAW", "Đã có nhóm câu hỏi “CEDAW” ở đây."),
])
def test_bad_category_names_are_refused_next_to_the_field(as_trainer, bank, name, message):
    before = count_rows(QuestionCategory)
    response = as_trainer.post(f"{B}/categories/new", data={"name": name, "parent": str(bank["top"].id)})
    assert response.status_code == 422
    assert message in text(response)
    assert count_rows(QuestionCategory) == before
    response = as_trainer.post(f"{B}/categories/{bank['empty'].id}/rename",
                               data={"name": name if name != "CEDAW" else "Công ước"})
    assert response.status_code == 422
    db.session.expire_all()
    assert db.session.get(QuestionCategory, bank["empty"].id).name == "Kỹ năng"


def test_a_parent_that_does_not_exist_is_refused(as_trainer, bank):
    before = count_rows(QuestionCategory)
    response = as_trainer.post(f"{B}/categories/new", data={"name": "Mới", "parent": "999999"})
    assert response.status_code == 422 and "Lựa chọn không hợp lệ." in text(response)
    assert count_rows(QuestionCategory) == before


def test_a_category_that_is_not_empty_is_not_deleted(as_trainer, bank):
    for category in (bank["top"], bank["cedaw"]):
        response = as_trainer.post(f"{B}/categories/{category.id}/delete", follow_redirects=True)
        assert "Chỉ xóa được nhóm câu hỏi trống" in text(response)
        assert db.session.get(QuestionCategory, category.id) is not None
    assert as_trainer.post(f"{B}/categories/999999/delete").status_code == 404


# -- questions by type -----------------------------------------------------------------------

CREATED = [
    ("single_choice", {**option_rows([{"text": "Hà Nội", "fraction": "100", "feedback": "Đúng rồi"},
                                      {"text": "Huế", "fraction": ""}]), "shuffle": "y"},
     [("Hà Nội", 1), ("Huế", 0)]),
    ("multiple_response", option_rows([{"text": "CEDAW", "fraction": "50"}, {"text": "CRC", "fraction": "50"},
                                       {"text": "Hiến chương", "fraction": "-100"}]),
     [("CEDAW", 0.5), ("CRC", 0.5), ("Hiến chương", -1)]),
    ("true_false", {"tf_answer": "false", "tf_false_feedback": "Chính xác"}, [("true", 0), ("false", 1)]),
    ("short_answer", {**option_rows([{"text": "Hà Nội", "fraction": "100"}, {"text": "Ha*", "fraction": "50"}]),
                      "ignore_diacritics": "y"},
     [("Hà Nội", 1), ("Ha*", 0.5)]),
    ("numerical", option_rows([{"text": "1982", "fraction": "100", "tolerance": "0"},
                               {"text": "3,5", "fraction": "50", "tolerance": "0,5"}]),
     [("1982", 1), ("3.5", 0.5)]),
    ("matching", option_rows([{"text": "CEDAW", "match": "Phụ nữ"}, {"text": "CRC", "match": "Trẻ em"},
                              {"text": "", "match": "Người cao tuổi"}]),
     [("CEDAW", 0), ("CRC", 0), ("", 0)]),
    ("essay", {}, []),
    ("description", {}, []),
]


@pytest.mark.parametrize(("qtype", "data", "options"), CREATED, ids=[c[0] for c in CREATED])
def test_a_trainer_creates_each_type_through_the_form(as_trainer, bank, qtype, data, options):
    url = f"{B}/questions/new?category={bank['empty'].id}&type={qtype}"
    page = text(as_trainer.get(url))
    assert "Nội dung câu hỏi" in page and "%%" not in page
    cedaw = convention("CEDAW")
    response = as_trainer.post(url, data=question_data(f"Câu hỏi {qtype}", conventions=[str(cedaw.id)], **data))
    assert response.status_code == 302, text(response)
    question = db.session.scalars(sa.select(Question).order_by(Question.id.desc())).first()
    assert str(question.type) == qtype and question.category_id == bank["empty"].id
    assert [(o.text, float(o.fraction)) for o in question.current.options] == [(t, f) for t, f in options]
    assert [c.code for c in question.conventions] == ["CEDAW"]
    preview = text(as_trainer.get(response.location))
    assert f"Câu hỏi {qtype}" in preview and "Đáp án (chỉ giảng viên thấy)" in preview or qtype == "description"
    if qtype == "short_answer":
        assert question.current.settings["ignore_diacritics"] is True
    if qtype == "numerical":
        assert question.current.options[1].tolerance == 0.5


BAD = [
    ("single_choice", question_data(**option_rows([{"text": "A", "fraction": "0"}, {"text": "B", "fraction": "0"}])),
     "Câu hỏi một lựa chọn cần một phương án đúng (100%)."),
    ("multiple_response", question_data(**option_rows([{"text": "A", "fraction": "50"},
                                                       {"text": "B", "fraction": "30"}])),
     "Tổng tỷ lệ điểm của các phương án đúng phải bằng 100%."),
    ("single_choice", question_data(text="", **option_rows([{"text": "A", "fraction": "100"}, {"text": "B"}])),
     "Hãy nhập nội dung câu hỏi."),
    ("single_choice", question_data(text="x" * 1_000_000, **option_rows([{"text": "A", "fraction": "100"},
                                                                         {"text": "B"}])),
     "Nội dung câu hỏi dài quá 20.000 ký tự."),
    ("single_choice", question_data(**option_rows([{"text": "A", "fraction": "1e308"}, {"text": "B"}])),
     "Tỷ lệ điểm phải là số từ -100 đến 100."),
    ("single_choice", question_data(**option_rows([{"text": "A", "fraction": "mười"}, {"text": "B"}])),
     "Tỷ lệ điểm phải là số từ -100 đến 100."),
    ("essay", question_data(default_mark="99999999999999999999"), "Điểm phải là số từ 0 đến 1000."),
    ("essay", question_data(default_mark="-1"), "Điểm phải là số từ 0 đến 1000."),
    ("numerical", question_data(**option_rows([{"text": "1e400", "fraction": "100"}])),
     "Đáp án số không hợp lệ"),
    ("numerical", question_data(**option_rows([{"text": "1982", "fraction": "100", "tolerance": "-1"}])),
     "Sai số phải là số không âm."),
    ("short_answer", question_data(), "Câu trả lời ngắn cần ít nhất một đáp án được chấp nhận."),
    ("matching", question_data(**option_rows([{"text": "A", "match": "1"}])), "Câu hỏi ghép đôi cần ít nhất 2 cặp."),
    ("true_false", question_data(tf_answer="maybe"), "Lựa chọn không hợp lệ."),
]


@pytest.mark.parametrize(("qtype", "data", "message"), BAD, ids=[f"{b[0]}-{i}" for i, b in enumerate(BAD)])
def test_bad_questions_are_refused_with_a_clear_message_and_nothing_saved(as_trainer, bank, qtype, data, message):
    before = (count_rows(Question), count_rows(QuestionVersion))
    response = as_trainer.post(f"{B}/questions/new?category={bank['empty'].id}&type={qtype}", data=data)
    assert response.status_code == 422
    assert message in text(response)
    assert (count_rows(Question), count_rows(QuestionVersion)) == before


def test_add_rows_shows_more_option_rows_and_saves_nothing(as_trainer, bank):
    url = f"{B}/questions/new?category={bank['empty'].id}&type=single_choice"
    assert text(as_trainer.get(url)).count("Nội dung phương án") == 6
    response = as_trainer.post(url, data=question_data(add_rows="y", **option_rows([{"text": "Giữ lại"}])))
    page = text(response)
    assert response.status_code == 200 and page.count("Nội dung phương án") == 9 and "Giữ lại" in page
    assert count_rows(Question) == 2


def test_an_unknown_type_offers_the_choice_of_types(as_trainer, bank):
    page = text(as_trainer.get(f"{B}/questions/new?category={bank['empty'].id}&type=quiz"))
    assert "Chọn loại câu hỏi" in page and "Ghép đôi" in page
    assert as_trainer.get(f"{B}/questions/new?category=999999&type=essay").status_code == 404
    assert as_trainer.get(f"{B}/questions/new?type=essay").status_code == 404


def test_editing_creates_a_new_version_and_keeps_the_old_one(as_trainer, bank):
    question = db.session.scalar(sa.select(Question).where(Question.name == "Năm Việt Nam tham gia CEDAW"))
    url = f"{B}/questions/{question.id}/edit"
    page = text(as_trainer.get(url))
    assert "Sửa sẽ tạo phiên bản mới; bài đã làm giữ nguyên câu hỏi cũ" in page
    assert "Việt Nam tham gia **CEDAW** năm nào?" in page and "1982</textarea>" in page
    response = as_trainer.post(url, data=question_data(
        "Việt Nam phê chuẩn CEDAW năm nào?", name="Năm phê chuẩn CEDAW",
        **option_rows([{"text": "1982", "fraction": "100"}, {"text": "1990", "fraction": "0"},
                       {"text": "2015", "fraction": "0"}])))
    assert response.status_code == 302
    db.session.expire_all()
    question = db.session.get(Question, question.id)
    assert question.current_number == 2 and question.name == "Năm phê chuẩn CEDAW"
    assert [v.text for v in question.versions] == ["Việt Nam tham gia **CEDAW** năm nào?",
                                                   "Việt Nam phê chuẩn CEDAW năm nào?"]
    assert len(question.versions[0].options) == 2 and len(question.versions[1].options) == 3
    page = text(as_trainer.get(f"{B}/questions/{question.id}?version=1"))
    assert "<strong>CEDAW</strong>" in page and "Phiên bản 1 / 2" in page
    assert as_trainer.get(f"{B}/questions/{question.id}?version=7").status_code == 404
    # a bad edit changes nothing
    response = as_trainer.post(url, data=question_data(**option_rows([{"text": "A"}, {"text": "B"}])))
    assert response.status_code == 422
    db.session.expire_all()
    assert db.session.get(Question, question.id).current_number == 2


def test_the_preview_sanitises_the_text_and_shows_the_key(as_trainer, bank, trainer):
    question = services.create_question(db.session, trainer, bank["empty"], ParsedQuestion(
        1, 1, "single_choice", "Có mã độc", '<p onclick="x()">Chọn <script>alert(1)</script><b>đúng</b></p>', "html",
        options=[ParsedOption("<img src=x onerror=alert(1)>Một", 1.0, "Hay"), ParsedOption("Hai", 0.0)]))
    db.session.commit()
    page = text(as_trainer.get(f"{B}/questions/{question.id}"))
    assert "<script>" not in page and "onclick" not in page and "onerror" not in page
    assert "<b>đúng</b>" in page and "Học viên sẽ thấy" in page and ">100%</td>" in page


def test_hiding_a_question_takes_it_out_of_the_list(as_trainer, bank):
    question = db.session.scalar(sa.select(Question).where(Question.name == "Quyền bình đẳng"))
    response = as_trainer.post(f"{B}/questions/{question.id}/hide", follow_redirects=True)
    assert "Đã ẩn câu hỏi" in text(response)
    db.session.expire_all()
    assert db.session.get(Question, question.id).hidden is True
    assert "Quyền bình đẳng" not in text(as_trainer.get(B))
    assert "Quyền bình đẳng" in text(as_trainer.get(f"{B}?hidden=1"))
    as_trainer.post(f"{B}/questions/{question.id}/hide")
    db.session.expire_all()
    assert db.session.get(Question, question.id).hidden is False
    assert as_trainer.post(f"{B}/questions/999999/hide").status_code == 404


# -- who may -----------------------------------------------------------------------------------

def test_a_trainee_may_not_use_the_bank_at_all(auth, client, trainee, bank):
    auth.login(trainee.email)
    question = db.session.scalar(sa.select(Question).limit(1))
    cid = bank["cedaw"].id
    for url in (B, f"{B}/categories/new", f"{B}/categories/{cid}/rename", f"{B}/questions/new?category={cid}",
                f"{B}/questions/{question.id}", f"{B}/questions/{question.id}/edit", f"{B}/import",
                f"{B}/template.xlsx"):
        assert client.get(url).status_code == 403, url
    before = (count_rows(QuestionCategory), count_rows(Question), count_rows(QuestionVersion))
    for url, data in ((f"{B}/categories/new", {"name": "X", "parent": "0"}),
                      (f"{B}/categories/{bank['empty'].id}/delete", {}),
                      (f"{B}/categories/{cid}/rename", {"name": "X"}),
                      (f"{B}/questions/new?category={cid}&type=essay", question_data()),
                      (f"{B}/questions/{question.id}/edit", question_data()),
                      (f"{B}/questions/{question.id}/hide", {}),
                      (f"{B}/categories/{cid}/export", {"format": "gift"})):
        assert client.post(url, data=data).status_code == 403, url
    assert (count_rows(QuestionCategory), count_rows(Question), count_rows(QuestionVersion)) == before
    db.session.expire_all()
    assert db.session.get(Question, question.id).hidden is False


def test_nobody_logged_in_is_sent_to_the_login_page(client, bank):
    response = client.get(B)
    assert response.status_code in (302, 401) and "login" in (response.location or "login")


def test_posts_without_the_csrf_token_are_refused(app_factory, trainer, bank):
    app = app_factory(WTF_CSRF_ENABLED=True)
    with app.app_context():
        client = app.test_client()
        token = csrf_from(text(client.get("/login")))
        client.post("/login", data={"email": trainer.email, "password": TEST_PASSWORD, "csrf_token": token})
        before = count_rows(QuestionCategory)
        assert client.post(f"{B}/categories/new", data={"name": "Mới", "parent": "0"}).status_code == 400
        assert client.post(f"{B}/categories/{bank['empty'].id}/delete").status_code == 400
        assert count_rows(QuestionCategory) == before
        page = text(client.get(B))
        token = csrf_from(page)
        response = client.post(f"{B}/categories/new", data={"name": "Mới", "parent": "0", "csrf_token": token})
        assert response.status_code == 302 and count_rows(QuestionCategory) == before + 1


# -- import ------------------------------------------------------------------------------------

GIFT = """// Câu hỏi về công ước
::CEDAW::Việt Nam tham gia CEDAW năm nào? {=1982 ~1990 ~2015}

::Trẻ em::Công ước về quyền trẻ em được thông qua năm 1989. {T}

$CATEGORY: Kỹ năng/Truyền thông

::Nhiều::Những công ước nào Việt Nam đã tham gia? {~%50%CEDAW ~%50%CRC ~%-100%Không có}
"""

GIFT_WITH_PROBLEMS = """::Tốt::Câu hỏi tốt? {T}

::Hỏng::Câu hỏi thiếu ngoặc {=A ~B

::Cũng tốt::Câu khác? {F}
"""


def upload(client, content: bytes, filename: str, category):
    return client.post(f"{B}/import", data={"file": (io.BytesIO(content), filename), "category": str(category.id)},
                       content_type="multipart/form-data")


def confirm(client, page: str):
    import re

    action = re.search(r'action="(/quizzes/bank/import/[^"]+/confirm)"', page).group(1)
    category = re.search(r'name="category" type="hidden" value="(\d+)"', page).group(1)
    return client.post(action, data={"category": category})


def test_import_preview_lists_every_question_then_confirm_saves_them(as_trainer, bank):
    before = count_rows(Question)
    response = upload(as_trainer, GIFT.encode(), "cau-hoi.txt", bank["empty"])
    page = text(response)
    assert response.status_code == 200
    assert "3 câu hỏi đọc được" in page and "Nhập 3 câu hỏi" in page
    assert "Việt Nam tham gia CEDAW" not in page or "CEDAW" in page
    assert "Kỹ năng / Kỹ năng / Truyền thông" in page and "Nhiều lựa chọn" in page
    assert count_rows(Question) == before and count_rows(ImportBatch) == 1
    response = confirm(as_trainer, page)
    assert response.status_code == 302 and "/jobs/" in response.location
    job_page = text(as_trainer.get(response.location))
    assert "Đã nhập 3 câu hỏi" in job_page
    assert count_rows(Question) == before + 3
    paths = set(db.session.scalars(sa.select(QuestionCategory.path)))
    assert "Kỹ năng/Kỹ năng/Truyền thông" in paths
    assert db.session.scalar(sa.select(ImportBatch)).content == b""
    # a second confirmation of the same upload imports nothing more
    again = confirm(as_trainer, page)
    assert again.status_code in (302, 303)
    assert count_rows(Question) == before + 3


def test_a_file_with_problems_lists_them_with_lines_and_saves_nothing(as_trainer, bank):
    before = (count_rows(Question), count_rows(QuestionCategory))
    response = upload(as_trainer, GIFT_WITH_PROBLEMS.encode(), "loi.gift", bank["empty"])
    page = text(response)
    assert response.status_code == 422
    assert "Tệp có lỗi nên chưa có câu hỏi nào được nhập" in page and "1 lỗi" in page
    assert "<td class=\"text-end\">3</td>" in page  # the broken item starts on line 3
    assert "Câu hỏi tốt?" not in page and "Tốt" in page and "Cũng tốt" in page
    assert "/confirm" not in page
    assert (count_rows(Question), count_rows(QuestionCategory)) == before and count_rows(ImportBatch) == 0


@pytest.mark.parametrize(("content", "filename", "message"), [
    (b"", "rong.txt", "Tệp rỗng"),
    (b"   \n", "rong.txt", "Tệp rỗng"),
    (b"\x00\x01\x02binary", "x.bin", "Không nhận ra định dạng tệp"),
    ("Chỉ là một đoạn văn".encode(), "x.txt", "Không nhận ra định dạng tệp"),
])
def test_unusable_files_get_a_clear_message(as_trainer, bank, content, filename, message):
    response = upload(as_trainer, content, filename, bank["empty"])
    assert response.status_code == 422 and message in text(response)
    assert count_rows(ImportBatch) == 0


def test_an_upload_without_a_file_is_refused_next_to_the_field(as_trainer, bank):
    response = as_trainer.post(f"{B}/import", data={"category": str(bank["empty"].id)},
                               content_type="multipart/form-data")
    assert response.status_code == 422 and "Vui lòng chọn tệp câu hỏi để tải lên." in text(response)
    response = upload(as_trainer, GIFT.encode(), "a.gift", bank["empty"])
    response = as_trainer.post(f"{B}/import", data={"file": (io.BytesIO(GIFT.encode()), "a.gift"),
                                                    "category": "999999"}, content_type="multipart/form-data")
    assert response.status_code == 422 and "Lựa chọn không hợp lệ." in text(response)


def test_a_file_over_ten_megabytes_is_refused(as_trainer, bank):
    big = b"::A::x {T}\n\n" * (11 * 1024 * 1024 // 12)
    response = upload(as_trainer, big, "lon.gift", bank["empty"])
    assert response.status_code in (413, 422)
    assert count_rows(ImportBatch) == 0 and count_rows(Question) == 2


BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [
 <!ENTITY lol "lol">
 <!ENTITY lol1 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol2 "&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;">
 <!ENTITY lol9 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
]>
<quiz><question type="essay"><name><text>&lol9;</text></name>
<questiontext><text>&lol9;</text></questiontext></question></quiz>
"""

XXE = b"""<?xml version="1.0"?>
<!DOCTYPE quiz [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>
<quiz><question type="essay"><name><text>x</text></name>
<questiontext><text>&xxe;</text></questiontext></question></quiz>
"""


@pytest.mark.parametrize("content", [BILLION_LAUGHS, XXE], ids=["billion-laughs", "external-entity"])
def test_hostile_xml_is_refused_with_a_clear_message(as_trainer, bank, content):
    response = upload(as_trainer, content, "cau-hoi.xml", bank["empty"])
    page = text(response)
    assert response.status_code == 422
    assert "bị từ chối vì lý do an toàn" in page and "root:" not in page
    assert count_rows(Question) == 2 and count_rows(ImportBatch) == 0


def test_an_excel_file_with_formulas_is_refused(as_trainer, bank):
    from openpyxl import Workbook

    book = Workbook()
    sheet = book.active
    sheet.append(["Loại", "Nội dung câu hỏi", "Phương án A", "Phương án B", "Đáp án"])
    sheet.append(["Một lựa chọn", "Câu hỏi?", "x", "y", "A"])
    sheet["E2"] = "=1+1"
    out = io.BytesIO()
    book.save(out)
    response = upload(as_trainer, out.getvalue(), "cau-hoi.xlsx", bank["empty"])
    assert response.status_code == 422 and "công thức" in text(response)
    assert count_rows(Question) == 2 and count_rows(ImportBatch) == 0


def test_the_excel_template_downloads_and_imports_once_filled(as_trainer, bank):
    from openpyxl import load_workbook

    response = as_trainer.get(f"{B}/template.xlsx")
    assert response.status_code == 200
    assert "filename*=UTF-8''m%E1%BA%ABu-c%C3%A2u-h%E1%BB%8Fi.xlsx" in response.headers["Content-Disposition"]
    book = load_workbook(io.BytesIO(response.data))
    sheet = book.active
    headers = [c.value for c in sheet[1]]
    assert "Nội dung câu hỏi" in headers and "Đáp án" in headers
    row = {h: "" for h in headers}
    row.update({"Loại": "Một lựa chọn", "Nội dung câu hỏi": "Thủ đô?", "Phương án A": "Hà Nội",
                "Phương án B": "Huế", "Đáp án": "A", "Thẻ": "CRC"})
    sheet.append([row[h] for h in headers])
    out = io.BytesIO()
    book.save(out)
    page = text(upload(as_trainer, out.getvalue(), "mau.xlsx", bank["empty"]))
    assert "1 câu hỏi đọc được" in page
    confirm(as_trainer, page)
    question = db.session.scalar(sa.select(Question).where(Question.name == "Thủ đô?"))
    assert question is not None and [c.code for c in question.conventions] == ["CRC"]


def test_someone_elses_upload_is_not_found(as_trainer, bank, make_person, app):
    page = text(upload(as_trainer, GIFT.encode(), "cau-hoi.txt", bank["empty"]))
    other = make_person(name="Trần Văn Bình", email="binh@example.vn", roles=("trainer",))
    client = app.test_client()
    client.post("/login", data={"email": other.email, "password": TEST_PASSWORD})
    assert confirm(client, page).status_code == 404
    batch = db.session.scalar(sa.select(ImportBatch))
    assert client.post(f"{B}/import/{batch.token}/discard").status_code == 404
    assert as_trainer.post(f"{B}/import/not-a-token/confirm", data={"category": "1"}).status_code == 404
    assert count_rows(Question) == 2
    # the uploader may discard it
    response = as_trainer.post(f"{B}/import/{batch.token}/discard", follow_redirects=True)
    assert "Đã hủy tệp vừa tải lên" in text(response)
    assert confirm(as_trainer, page).status_code == 302 and count_rows(Question) == 2


def test_a_trainee_may_not_import(auth, client, trainee, bank):
    auth.login(trainee.email)
    assert upload(client, GIFT.encode(), "cau-hoi.txt", bank["empty"]).status_code == 403
    assert count_rows(ImportBatch) == 0


@pytest.mark.parametrize(("parts", "expected"), [
    (("moodle", "gift", "questions.gift.txt"), 9),
    (("moodle", "gift", "questions_in_category.gift.txt"), 4),
    (("moodle", "gift", "examples.gift.txt"), 43),
    (("moodle", "aiken", "questions.aiken.txt"), 2),
    (("moodle", "xml", "nested_categories_with_questions.xml"), 5),
])
def test_the_real_moodle_files_import_through_the_web(as_trainer, bank, parts, expected):
    path = interop_file(*parts)
    before = count_rows(Question)
    page = text(upload(as_trainer, path.read_bytes(), path.name, bank["empty"]))
    assert f"{expected} câu hỏi đọc được" in page and "0 lỗi" in page
    response = confirm(as_trainer, page)
    assert "/jobs/" in response.location
    assert count_rows(Question) == before + expected
    if parts[-1].endswith(".xml"):
        paths = set(db.session.scalars(sa.select(QuestionCategory.path)))
        assert any(p.startswith("Kỹ năng/") and p.endswith("Lambda") for p in paths), paths


def test_the_malformed_moodle_aiken_file_is_reported_and_saves_nothing(as_trainer, bank):
    path = interop_file("moodle", "aiken", "aiken_errors.txt")
    response = upload(as_trainer, path.read_bytes(), path.name, bank["empty"])
    page = text(response)
    assert response.status_code == 422 and "4 lỗi" in page and "2 câu hỏi đọc được" in page
    assert count_rows(Question) == 2


# -- export ------------------------------------------------------------------------------------

@pytest.mark.parametrize(("fmt", "extension"), [("gift", "gift.txt"), ("xml", "xml")])
def test_export_then_import_gives_the_same_questions(as_trainer, bank, trainer, fmt, extension):
    sub = services.create_category(db.session, trainer, "Sâu hơn", bank["cedaw"])
    services.create_question(db.session, trainer, sub, ParsedQuestion(
        1, 1, "matching", "Ghép công ước", "Ghép công ước với nhóm được bảo vệ", "plain",
        options=[ParsedOption("CEDAW", match="Phụ nữ"), ParsedOption("CRC", match="Trẻ em"),
                 ParsedOption("", match="Người cao tuổi")]))
    db.session.commit()
    response = as_trainer.post(f"{B}/categories/{bank['cedaw'].id}/export", data={"format": fmt})
    assert response.status_code == 200
    disposition = response.headers["Content-Disposition"]
    assert disposition.startswith("attachment;") and f".{extension}" in disposition and "CEDAW" in disposition
    page = text(upload(as_trainer, response.data, f"xuat.{extension}", bank["empty"]))
    assert "3 câu hỏi đọc được" in page and "0 lỗi" in page
    confirm(as_trainer, page)

    def shape(category_path):
        out = []
        for q in db.session.scalars(sa.select(Question).join(QuestionCategory)
                                    .where(QuestionCategory.path.startswith(category_path))
                                    .order_by(Question.name)):
            v = q.current
            out.append((q.category.path[len(category_path):], str(v.type), v.name, v.text,
                        [(o.text, float(o.fraction), o.match) for o in v.options],
                        [c.code for c in q.conventions]))
        return out

    assert shape("Kỹ năng/") == [(p.replace("Công ước/", "", 1), *rest) for p, *rest in shape("Công ước/")]


def test_export_of_an_unknown_category_or_format_is_not_found(as_trainer, bank):
    assert as_trainer.post(f"{B}/categories/999999/export", data={"format": "gift"}).status_code == 404
    assert as_trainer.post(f"{B}/categories/{bank['cedaw'].id}/export", data={"format": "pdf"}).status_code == 404


def test_a_large_category_is_exported_by_a_job_and_offered_on_its_page(as_trainer, bank, trainer, monkeypatch):
    from quizzes import importing

    monkeypatch.setattr(importing, "EXPORT_INLINE_MAX", 1)
    response = as_trainer.post(f"{B}/categories/{bank['top'].id}/export", data={"format": "xml"})
    assert response.status_code == 302 and "/jobs/" in response.location
    job = db.session.scalar(sa.select(Job).where(Job.kind == "quizzes.export_questions"))
    assert "Đã xuất 2 câu hỏi" in text(as_trainer.get(response.location))
    download = as_trainer.get(f"/jobs/{job.id}/file")
    assert download.status_code == 200 and b"<quiz>" in download.data and "C%C3%B4ng" in \
        download.headers["Content-Disposition"]


def test_changes_made_through_the_screens_are_audited(as_trainer, bank, trainer):
    from lms.models import AuditEntry

    as_trainer.post(f"{B}/categories/new", data={"name": "Mới", "parent": "0"})
    as_trainer.post(f"{B}/questions/new?category={bank['empty'].id}&type=essay", data=question_data("Viết bài"))
    question = db.session.scalar(sa.select(Question).where(Question.name == "Viết bài"))
    as_trainer.post(f"{B}/questions/{question.id}/edit", data=question_data("Viết bài luận"))
    as_trainer.post(f"{B}/questions/{question.id}/hide")
    page = text(upload(as_trainer, GIFT.encode(), "cau-hoi.txt", bank["empty"]))
    confirm(as_trainer, page)
    actions = [a for (a,) in db.session.execute(sa.select(AuditEntry.action).where(
        AuditEntry.actor_id == trainer.id).order_by(AuditEntry.id))]
    for action in ("question_category.create", "question.create", "question.update", "question.import"):
        assert action in actions, actions
    assert actions.count("question.update") == 2  # the new version, then hiding it


def test_the_list_is_paged(as_trainer, bank, trainer):
    for i in range(30):
        services.create_question(db.session, trainer, bank["empty"], ParsedQuestion(
            1, 1, "essay", f"Bài luận số {i:02d}", f"Viết về chủ đề {i}", "plain"), audit_it=False)
    db.session.commit()
    first = text(as_trainer.get(f"{B}?category={bank['empty'].id}"))
    assert "30 câu hỏi" in first and first.count("Bài luận số") == 25 and "Trang sau" in first
    second = text(as_trainer.get(f"{B}?category={bank['empty'].id}&page=2"))
    assert second.count("Bài luận số") == 5
    assert "Bài luận số" not in text(as_trainer.get(f"{B}?category={bank['empty'].id}&page=99"))


def test_a_question_upload_is_not_served_by_the_roster_import_pages(auth, client, make_person, bank):
    """The roster pages read the batch by token; a question file is not theirs to preview or run."""
    admin = make_person(name="Quản Trị", email="quantri@example.vn", roles=("admin",))
    auth.login(admin.email)
    upload(client, GIFT.encode(), "cau-hoi.txt", bank["empty"])
    batch = db.session.scalar(sa.select(ImportBatch))
    assert batch.kind == "questions"
    assert client.get(f"/admin/import/{batch.token}").status_code == 404
    assert client.post(f"/admin/import/{batch.token}/confirm", data={"password": "x" * 12}).status_code == 404
    assert client.post(f"/admin/import/{batch.token}/discard").status_code == 404
    assert count_rows(Question) == 2 and count_rows(ImportBatch) == 1
