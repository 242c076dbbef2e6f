"""The results screens of a quiz for its trainers: the list, an attempt, essay grading,
regrading, the Excel export and the item analysis."""

from __future__ import annotations

import io
import re
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from html import unescape

import openpyxl
import pytest
import sqlalchemy as sa

from courses import services as course_services
from courses.models import Enrolment, EnrolmentStatus
from lms.db import db
from lms.models import AuditEntry
from quizzes import attempts, building
from quizzes import services as bank
from quizzes.formats.base import ParsedOption, ParsedQuestion
from quizzes.models import Attempt, AttemptQuestion, QuizGrade
from tests.conftest import TEST_PASSWORD

NOW = datetime(2025, 3, 1, 3, 0, tzinfo=UTC)


def choice(name, right="Đúng", wrong=("Sai 1", "Sai 2")) -> ParsedQuestion:
    return ParsedQuestion(1, 1, "single_choice", name, f"{name}?", "plain", (),
                          [ParsedOption(right, 1.0, ""), *(ParsedOption(w, 0.0, "") for w in wrong)])


def login(app, email):
    client = app.test_client()
    response = client.post("/login", data={"email": email, "password": TEST_PASSWORD})
    assert response.status_code == 302, email
    return client


def text_of(response) -> str:
    return re.sub(r"\s+", " ", unescape(response.get_data(as_text=True)))


def right_option(aq: AttemptQuestion) -> int:
    return next(o.id for o in aq.version.options if o.fraction == 1)


def wrong_option(aq: AttemptQuestion) -> int:
    return next(o.id for o in aq.version.options if o.fraction == 0)


@pytest.fixture
def world(make_course, make_unit, make_person, trainer):
    root = make_unit(name="Sở Tư pháp", code="STP", kind="department")
    district = make_unit(name="Phòng Tư pháp huyện Đông Anh", code="PDA", kind="district", parent=root)
    commune = make_unit(name="Xã Cổ Loa", code="XCL", kind="commune", parent=district)
    other = make_unit(name="Sở Y tế", code="SYT", kind="department")
    people = {
        "an": make_person(name="Nguyễn Văn An", email="an@example.vn", unit=district),
        "binh": make_person(name="Trần Thị Bình", email="binh@example.vn", unit=commune),
        "cuong": make_person(name="Lê Văn Cường", email="cuong@example.vn", unit=other),
        "dung": make_person(name="Phạm Dũng", email="dung@example.vn", unit=other),
    }
    course = make_course(lessons=1)
    for person in people.values():
        course_services.self_enrol(db.session, person, course, NOW)
    category = bank.create_category(db.session, trainer, "CRC")
    questions = [bank.create_question(db.session, trainer, category, choice(f"Câu {i}")) for i in range(1, 5)]
    quiz = building.create_quiz(db.session, trainer, course, building.QuizSettings(
        title="Kiểm tra CRC", attempts_allowed=3, questions_per_page=5))
    building.add_questions(db.session, trainer, quiz, [q.id for q in questions])
    building.set_published(db.session, trainer, quiz, True)
    db.session.commit()
    return {"root": root, "district": district, "commune": commune, "other": other, "course": course,
            "quiz": quiz, "questions": questions, "category": category, **people}


def take(person, quiz, right: int, when=NOW, essay_text=None) -> Attempt:
    """An attempt with the first ``right`` choice questions right, the others wrong."""
    attempt = attempts.start(db.session, person, quiz, when)
    answers = {}
    choices = [aq for aq in attempt.questions if str(aq.version.type) == "single_choice"]
    for n, aq in enumerate(choices):
        answers[aq.id] = right_option(aq) if n < right else wrong_option(aq)
    for aq in attempt.questions:
        if str(aq.version.type) == "essay" and essay_text:
            answers[aq.id] = essay_text
    attempts.save(db.session, person, attempt, answers, when)
    attempts.finish(db.session, person, attempt, when + timedelta(minutes=7, seconds=30))
    db.session.commit()
    return attempt


def add_essay(world, trainer):
    essay = bank.create_question(db.session, trainer, world["category"], ParsedQuestion(
        1, 1, "essay", "Tự luận", "Trình bày quyền trẻ em.", "plain"))
    building.add_questions(db.session, trainer, world["quiz"], [essay.id])
    db.session.commit()
    return essay


def url(quiz, suffix="results"):
    return f"/quizzes/{quiz.id}/{suffix}"


# -- who may see ----------------------------------------------------------------------------

def test_the_course_trainer_and_an_admin_see_each_trainees_grade_and_attempts(app, world, trainer, make_person):
    quiz = world["quiz"]
    take(world["an"], quiz, 4)
    take(world["binh"], quiz, 1)
    attempts.start(db.session, world["cuong"], quiz, NOW)
    db.session.commit()
    page = text_of(login(app, trainer.email).get(url(quiz)))
    assert "Kết quả bài kiểm tra" in page and "Kiểm tra CRC" in page
    assert "Có 4 học viên." in page
    # An: 10 points, passed, 7 minutes 30 seconds, submitted 10:07 Vietnam time.
    an = page[page.index("Nguyễn Văn An"):page.index("Nguyễn Văn An") + 600]
    assert "Phòng Tư pháp huyện Đông Anh" in an and "10" in an and "Đạt" in an
    assert "7 phút 30 giây" in an and "10:07 01/03/2025" in an
    binh = page[page.index("Trần Thị Bình"):page.index("Trần Thị Bình") + 600]
    assert "2,5" in binh and "Không đạt" in binh
    cuong = page[page.index("Lê Văn Cường"):page.index("Lê Văn Cường") + 600]
    assert "Đang làm" in cuong
    assert "Chưa làm" in page  # Dũng
    admin = make_person(email="admin@example.vn", roles=("admin",))
    assert login(app, admin.email).get(url(quiz)).status_code == 200


def test_trainees_and_other_trainers_are_refused(app, world, make_person):
    quiz = world["quiz"]
    attempt = take(world["an"], quiz, 4)
    other = make_person(email="other@example.vn", roles=("trainer",))
    outsider = make_person(email="outsider@example.vn", roles=("trainee",))
    paths = [url(quiz), url(quiz, "analysis"), url(quiz, "grading"), url(quiz, "regrade"),
             url(quiz, f"results/attempts/{attempt.id}")]
    for email in (world["an"].email, other.email):
        client = login(app, email)
        for path in paths:
            assert client.get(path).status_code == 403, (email, path)
        assert client.post(url(quiz, "regrade")).status_code == 403
        assert client.post(url(quiz, "results/export")).status_code == 403
    assert login(app, outsider.email).get(url(quiz)).status_code == 403
    assert login(app, other.email).get("/quizzes/999999/results").status_code == 404


def test_a_draft_course_quiz_is_not_found_for_people_who_cannot_see_the_course(app, make_course, make_person,
                                                                                trainer):
    course = make_course("Bản nháp", publish=False)
    quiz = building.create_quiz(db.session, trainer, course, building.QuizSettings(title="Nháp"))
    db.session.commit()
    other = make_person(email="other@example.vn", roles=("trainer",))
    assert login(app, other.email).get(url(quiz)).status_code == 404
    assert login(app, trainer.email).get(url(quiz)).status_code == 200


def test_an_attempt_of_another_quiz_in_the_url_is_not_found(app, world, trainer):
    quiz = world["quiz"]
    attempt = take(world["an"], quiz, 2)
    second = building.create_quiz(db.session, trainer, world["course"], building.QuizSettings(title="Bài 2"))
    db.session.commit()
    client = login(app, trainer.email)
    assert client.get(url(second, f"results/attempts/{attempt.id}")).status_code == 404
    assert client.get(url(quiz, "results/attempts/999999")).status_code == 404
    aq = attempt.questions[0]
    assert client.post(url(second, f"grading/{aq.id}"), data={f"g{aq.id}-mark": "1"}).status_code == 404
    assert client.get(url(quiz, f"results/attempts/{attempt.id}")).status_code == 200


def test_the_attempt_detail_shows_responses_key_and_marks(app, world, trainer):
    attempt = take(world["an"], world["quiz"], 3)
    page = text_of(login(app, trainer.email).get(url(world["quiz"], f"results/attempts/{attempt.id}")))
    assert "Bài làm của Nguyễn Văn An" in page and "7,5/10" in page
    assert page.count("1/1 điểm") == 3 and page.count("0/1 điểm") == 1
    assert page.count("Đã chọn") >= 4 and "Đáp án" in page


# -- filters --------------------------------------------------------------------------------

def test_the_unit_filter_takes_the_subtree_and_the_state_filter_works(app, world, trainer):
    quiz = world["quiz"]
    take(world["an"], quiz, 4)
    take(world["binh"], quiz, 0)
    client = login(app, trainer.email)
    page = text_of(client.get(url(quiz) + f"?unit={world['district'].id}"))
    assert "Nguyễn Văn An" in page and "Trần Thị Bình" in page and "Lê Văn Cường" not in page
    page = text_of(client.get(url(quiz) + f"?unit={world['commune'].id}"))
    assert "Trần Thị Bình" in page and "Nguyễn Văn An" not in page
    page = text_of(client.get(url(quiz) + "?state=passed"))
    assert "Nguyễn Văn An" in page and "Trần Thị Bình" not in page and "Có 1 học viên." in page
    page = text_of(client.get(url(quiz) + "?state=not_started"))
    assert "Lê Văn Cường" in page and "Nguyễn Văn An" not in page
    page = text_of(client.get(url(quiz) + "?q=binh"))
    assert "Trần Thị Bình" in page and "Nguyễn Văn An" not in page
    page = text_of(client.get(url(quiz) + "?sort=grade"))
    assert page.index("Nguyễn Văn An") < page.index("Trần Thị Bình")
    # Nonsense in the query string is ignored, never an error.
    for query in ("?unit=abc", "?state=<script>", "?sort=drop", "?page=-4", "?unit=99999999"):
        assert client.get(url(quiz) + query).status_code == 200


# -- essays ---------------------------------------------------------------------------------

@pytest.fixture
def essay_attempt(world, trainer):
    quiz = world["quiz"]
    quiz.required_for_completion = True
    add_essay(world, trainer)
    lesson = world["course"].sections[0].lessons[0]
    course_services.mark_done(db.session, world["an"], lesson, NOW)
    db.session.commit()
    attempt = take(world["an"], quiz, 2, essay_text="Trẻ em có quyền được bảo vệ.")
    row = next(aq for aq in attempt.questions if str(aq.version.type) == "essay")
    return attempt, row


@pytest.mark.parametrize(("value", "message"), [
    ("-1", "Điểm phải từ 0 đến 1"),
    ("1,5", "Điểm phải từ 0 đến 1"),
    ("mười", "Điểm phải là một số"),
    ("1e309", "Điểm phải là một số"),
    ("", "Vui lòng nhập điểm"),
])
def test_bad_marks_are_refused_with_a_message_and_nothing_changes(app, world, trainer, essay_attempt, value,
                                                                  message):
    attempt, row = essay_attempt
    client = login(app, trainer.email)
    page = text_of(client.get(url(world["quiz"], "grading")))
    assert "Có 1 câu tự luận chờ chấm." in page and "Trẻ em có quyền được bảo vệ." in page
    response = client.post(url(world["quiz"], f"grading/{row.id}"), data={f"g{row.id}-mark": value,
                                                                          f"g{row.id}-comment": "Ổn"})
    assert response.status_code == 422
    assert message in text_of(response)
    db.session.expire_all()
    again = db.session.get(AttemptQuestion, row.id)
    assert again.fraction is None and again.comment == ""
    assert db.session.get(Attempt, attempt.id).mark is None
    assert db.session.scalar(sa.select(sa.func.count()).select_from(AuditEntry).where(
        AuditEntry.action == "attempt.grade")) == 0


def test_grading_an_essay_sets_the_grade_and_completes_the_course(app, world, trainer, essay_attempt):
    attempt, row = essay_attempt
    client = login(app, trainer.email)
    assert "Chờ chấm" in text_of(client.get(url(world["quiz"]) + "?state=waiting"))
    response = client.post(url(world["quiz"], f"grading/{row.id}"),
                           data={f"g{row.id}-mark": "0,5", f"g{row.id}-comment": "Cần nêu thêm ví dụ."})
    assert response.status_code == 302
    page = text_of(client.get(response.location))
    assert "Đã chấm câu" in page and "0,5/1 điểm" in page
    assert "Không có câu tự luận nào chờ chấm." in page
    db.session.expire_all()
    graded = db.session.get(AttemptQuestion, row.id)
    assert graded.fraction == Decimal("0.5") and graded.comment == "Cần nêu thêm ví dụ."
    # 2 of 4 choices + half the essay: 2.5 of 5 marks → 5 of 10, the pass mark.
    assert db.session.get(Attempt, attempt.id).mark == Decimal("5.00")
    grade = db.session.scalar(sa.select(QuizGrade).where(QuizGrade.person_id == world["an"].id))
    assert grade.grade == Decimal("5.00") and grade.passed
    enrolment = db.session.scalar(sa.select(Enrolment).where(Enrolment.person_id == world["an"].id))
    assert enrolment.status == EnrolmentStatus.COMPLETED
    entry = db.session.scalar(sa.select(AuditEntry).where(AuditEntry.action == "attempt.grade"))
    assert entry.details == {"before": None, "after": 0.5}
    assert "Đạt" in text_of(client.get(url(world["quiz"]) + "?state=passed"))


def test_an_essay_can_be_regraded_from_the_attempt_page(app, world, trainer, essay_attempt):
    attempt, row = essay_attempt
    client = login(app, trainer.email)
    page = text_of(client.get(url(world["quiz"], f"results/attempts/{attempt.id}")))
    assert "Trẻ em có quyền được bảo vệ." in page and "Lưu điểm" in page
    bad = client.post(url(world["quiz"], f"grading/{row.id}?from=attempt"), data={f"g{row.id}-mark": "2"})
    assert bad.status_code == 302
    assert "Điểm phải từ 0 đến 1" in text_of(client.get(bad.location))
    good = client.post(url(world["quiz"], f"grading/{row.id}?from=attempt"), data={f"g{row.id}-mark": "1"})
    assert good.status_code == 302 and f"results/attempts/{attempt.id}" in good.location
    db.session.expire_all()
    assert db.session.get(Attempt, attempt.id).mark == Decimal("6.00")


# -- regrading ------------------------------------------------------------------------------

def test_regrade_after_fixing_a_key_changes_the_grades_and_is_audited(app, world, trainer):
    quiz = world["quiz"]
    attempt = take(world["an"], quiz, 0)  # all wrong
    take(world["binh"], quiz, 4)
    first = attempt.questions[0]
    chosen = wrong_option(first)
    question = first.version.question
    fixed = bank.as_parsed(question.current)
    position = [o.id for o in first.version.options].index(chosen)
    for i, option in enumerate(fixed.options):
        option.fraction = 1.0 if i == position else 0.0
    bank.revise_question(db.session, trainer, question, fixed)
    db.session.commit()
    client = login(app, trainer.email)
    page = text_of(client.get(url(quiz, "regrade")))
    assert "2 bài làm đã nộp sẽ được chấm lại" in page
    response = client.post(url(quiz, "regrade"))
    assert response.status_code == 302
    assert "Đã chấm lại 2 bài làm" in text_of(client.get(response.location))
    db.session.expire_all()
    assert db.session.get(Attempt, attempt.id).mark == Decimal("2.50")
    entry = db.session.scalar(sa.select(AuditEntry).where(AuditEntry.action == "quiz.regrade"))
    assert entry is not None and entry.actor_id == trainer.id
    assert {"attempt": attempt.id, "before": "0.00", "after": "2.50"} in entry.details["changed"]


def test_many_attempts_are_regraded_by_a_background_job(app, world, trainer, monkeypatch):
    from quizzes import reporting

    monkeypatch.setattr(reporting, "REGRADE_INLINE_MAX", 1)
    take(world["an"], world["quiz"], 1)
    take(world["binh"], world["quiz"], 2)
    client = login(app, trainer.email)
    assert "chế độ nền" in text_of(client.get(url(world["quiz"], "regrade")))
    response = client.post(url(world["quiz"], "regrade"))
    assert response.status_code == 302 and "/jobs/" in response.location
    assert "Đã chấm lại 2 bài làm." in text_of(client.get(response.location))
    assert db.session.scalar(sa.select(AuditEntry).where(AuditEntry.action == "quiz.regrade")) is not None


# -- export ---------------------------------------------------------------------------------

def data_rows(sheet):
    rows = list(sheet.iter_rows(values_only=True))
    start = next(n for n, row in enumerate(rows) if row and row[0] == "STT") + 1
    return rows[start:]


def test_the_excel_export_has_the_rows_and_writes_formula_like_names_as_text(app, world, trainer, make_person):
    quiz = world["quiz"]
    # The services refuse "=" in a name; an account from an older system may still have one.
    world["dung"].full_name = '=HYPERLINK("http://x")'
    db.session.commit()
    take(world["an"], quiz, 4)
    take(world["dung"], quiz, 1)
    client = login(app, trainer.email)
    response = client.post(url(quiz, "results/export"), data={"sort": "name"})
    assert response.status_code == 302 and "/jobs/" in response.location
    page = text_of(client.get(response.location))
    assert "Đã xuất 4 học viên." in page
    download = client.get(response.location + "/file")
    assert download.status_code == 200
    book = openpyxl.load_workbook(io.BytesIO(download.data))
    rows = data_rows(book.active)
    names = {row[1]: row for row in rows}
    assert set(names) == {"Nguyễn Văn An", "Trần Thị Bình", "Lê Văn Cường", '=HYPERLINK("http://x")'}
    an = names["Nguyễn Văn An"]
    assert an[5] == 1 and an[6] == 10 and an[9] == "Đạt" and an[11] == "Đạt" and an[12] == 7.5
    assert names['=HYPERLINK("http://x")'][6] == 2.5
    assert names["Lê Văn Cường"][11] == "Chưa làm"
    # The formula-like name is a text cell, not a formula.
    cell = next(c for row in book.active.iter_rows() for c in row if c.value == '=HYPERLINK("http://x")')
    assert cell.data_type == "s"
    # Filtered: only the unit's subtree.
    filtered = client.post(url(quiz, "results/export"), data={"unit": world["district"].id})
    assert "Đã xuất 2 học viên." in text_of(client.get(filtered.location))
    other = make_person(email="other@example.vn", roles=("trainer",))
    assert login(app, other.email).get(response.location + "/file").status_code == 404


# -- item analysis --------------------------------------------------------------------------

def test_item_analysis_figures_on_a_small_fixed_data_set(app, world, trainer):
    quiz = world["quiz"]
    take(world["an"], quiz, 4)    # 1 1 1 1
    take(world["binh"], quiz, 2)  # 1 1 0 0
    take(world["cuong"], quiz, 0)  # 0 0 0 0
    page = text_of(login(app, trainer.email).get(url(quiz, "analysis")))
    assert "Tính trên 3 bài làm đã nộp." in page
    assert "point-biserial" in page
    # Questions 1–2: facility 2/3 (67%); rest of the test 3, 1, 0 vs 1, 1, 0 → r = 0,76.
    # Questions 3–4: facility 1/3 (33%); rest 3, 2, 0 vs 1, 0, 0 → r = 0,76.
    page = re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", page))
    rows = re.findall(r"Câu (\d) Phiên bản đã dùng: 1 (\d) (\d+%) ([−\d,]+)", page)
    assert rows == [("1", "3", "67%", "0,76"), ("2", "3", "67%", "0,76"), ("3", "3", "33%", "0,76"),
                    ("4", "3", "33%", "0,76")]
    assert page.count("A Đáp án : 2 (67%)") == 2 and page.count("A Đáp án : 1 (33%)") == 2


def test_true_false_options_read_dung_and_sai_on_the_analysis_and_attempt_pages(app, world, trainer):
    question = bank.create_question(db.session, trainer, world["category"], ParsedQuestion(
        1, 1, "true_false", "Đúng sai", "Việt Nam là thành viên CRC.", "plain", (),
        [ParsedOption("true", 1.0, ""), ParsedOption("false", 0.0, "")]))
    building.add_questions(db.session, trainer, world["quiz"], [question.id])
    db.session.commit()
    attempt = take(world["an"], world["quiz"], 4)
    client = login(app, trainer.email)
    analysis = re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", text_of(client.get(url(world["quiz"], "analysis")))))
    assert "A Đáp án : 0 (0%) — Đúng" in analysis and "B : 0 (0%) — Sai" in analysis
    assert "— true" not in analysis and "— false" not in analysis
    detail = text_of(client.get(url(world["quiz"], f"results/attempts/{attempt.id}")))
    assert "true" not in re.sub(r"<[^>]+>", " ", detail).split("Đúng sai")[-1][:2000]


def test_the_analysis_statements_do_not_grow_with_the_attempts(app, world, trainer):
    from quizzes import reporting

    quiz = world["quiz"]
    statements = []

    def count(*_args, **_kwargs):
        statements.append(1)

    take(world["an"], quiz, 4)
    db.session.expire_all()
    sa.event.listen(db.engine, "before_cursor_execute", count)
    try:
        reporting.item_analysis(db.session, quiz)
        few = len(statements)
        for person in ("binh", "cuong", "dung"):
            sa.event.remove(db.engine, "before_cursor_execute", count)
            take(world[person], quiz, 1)
            sa.event.listen(db.engine, "before_cursor_execute", count)
        statements.clear()
        db.session.expire_all()
        reporting.item_analysis(db.session, quiz)
        assert len(statements) == few <= 4  # the quiz reloaded, then three reads
    finally:
        sa.event.remove(db.engine, "before_cursor_execute", count)


def test_grading_and_regrading_need_the_csrf_token(app_factory, world, trainer, essay_attempt):
    from tests.conftest import csrf_from

    _, row = essay_attempt
    app = app_factory(WTF_CSRF_ENABLED=True)
    with app.app_context():
        client = app.test_client()
        token = csrf_from(client.get("/login").get_data(as_text=True))
        client.post("/login", data={"email": trainer.email, "password": TEST_PASSWORD, "csrf_token": token})
        quiz_id = world["quiz"].id
        assert client.post(f"/quizzes/{quiz_id}/grading/{row.id}", data={f"g{row.id}-mark": "1"}).status_code == 400
        assert client.post(f"/quizzes/{quiz_id}/regrade").status_code == 400
        assert client.post(f"/quizzes/{quiz_id}/results/export").status_code == 400
        page = client.get(f"/quizzes/{quiz_id}/grading").get_data(as_text=True)
        assert f'name="g{row.id}-csrf_token"' in page
        response = client.post(f"/quizzes/{quiz_id}/grading/{row.id}",
                               data={f"g{row.id}-mark": "1", f"g{row.id}-csrf_token": csrf_from(page)})
        assert response.status_code == 302
    db.session.expire_all()
    assert db.session.get(AttemptQuestion, row.id).fraction == Decimal("1")


def test_regrade_with_no_finished_attempt_says_so(app, world, trainer):
    client = login(app, trainer.email)
    assert "Chưa có bài làm nào đã nộp để chấm lại." in text_of(client.get(url(world["quiz"], "regrade")))
    response = client.post(url(world["quiz"], "regrade"))
    assert response.status_code == 302
    assert db.session.scalar(sa.select(AuditEntry).where(AuditEntry.action == "quiz.regrade")) is None


def test_an_attempt_in_progress_cannot_be_graded(app, world, trainer):
    attempt = attempts.start(db.session, world["an"], world["quiz"], NOW)
    db.session.commit()
    row = attempt.questions[0]
    response = login(app, trainer.email).post(url(world["quiz"], f"grading/{row.id}"), data={f"g{row.id}-mark": "1"})
    assert response.status_code == 422 and "Chỉ chấm được bài đã nộp." in text_of(response)
    db.session.expire_all()
    assert db.session.get(AttemptQuestion, row.id).fraction is None
