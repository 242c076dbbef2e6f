"""Demo question bank and quizzes (``flask --app app lms seed-demo``, development only).

A small bank under "Đề mẫu" written in GIFT (so the demo also exercises the importer), a timed
final test in the CEDAW course with an essay to grade by hand, a quick test of random questions in
the ICCPR course, and a few finished attempts by demo trainees so the trainer's results and item
analysis have something to show. The demo trainee (hocvien@…) has no attempt: they take the tests.
Idempotent: nothing is added once the "Đề mẫu" category exists.
"""

from __future__ import annotations

import random
from datetime import timedelta
from decimal import Decimal

import sqlalchemy as sa
from sqlalchemy.orm import Session

from courses.demo import COURSES, TRAINER_EMAIL
from courses.models import Course, Enrolment
from lms.db import utcnow
from lms.models import Person
from quizzes import attempts, building, services
from quizzes.importing import read_questions
from quizzes.models import AttemptQuestion, Question, QuestionCategory, QuestionVersion, Quiz

TOP = "Đề mẫu"

BANK = """\
// Ngân hàng câu hỏi mẫu: Công ước CEDAW và bảy công ước cốt lõi về quyền con người.

$CATEGORY: $course$/top/CEDAW

// [tag:CEDAW] [tag:ND2]
::Năm thông qua CEDAW::Công ước về xóa bỏ mọi hình thức phân biệt đối xử với phụ nữ (CEDAW) được
Đại hội đồng Liên hợp quốc thông qua năm nào? {
  =1979 # Đúng: ngày 18/12/1979.
  ~1966 # Năm 1966 là năm thông qua hai Công ước ICCPR và ICESCR.
  ~1989 # Năm 1989 là năm thông qua Công ước về quyền trẻ em.
  ~2006 # Năm 2006 là năm thông qua Công ước về quyền của người khuyết tật.
  ####Việt Nam ký Công ước ngày 29/7/1980 và phê chuẩn ngày 17/2/1982.
}

// [tag:CEDAW] [tag:ND2]
::Việt Nam ký CEDAW::Việt Nam là một trong những quốc gia đầu tiên ký Công ước CEDAW (ngày 29/7/1980). {T
  ####Việt Nam ký ngày 29/7/1980, phê chuẩn ngày 17/2/1982.}

// [tag:CEDAW] [tag:ND2]
::Các lĩnh vực bình đẳng::Công ước CEDAW yêu cầu quốc gia thành viên bảo đảm quyền bình đẳng của
phụ nữ với nam giới trong những lĩnh vực nào sau đây? (Chọn tất cả phương án đúng) {
  ~%33.33333%Đời sống chính trị và công cộng
  ~%33.33333%Giáo dục
  ~%33.33333%Việc làm
  ~%-100%Công ước không đề cập lĩnh vực cụ thể nào
}

// [tag:CEDAW]
::Số thành viên Ủy ban CEDAW::Ủy ban xóa bỏ phân biệt đối xử với phụ nữ, cơ quan giám sát việc thực hiện
Công ước CEDAW, gồm bao nhiêu chuyên gia? {#23}

// [tag:CEDAW] [tag:ND5]
::Liên hệ thực tiễn::Nêu hai việc cơ quan, đơn vị của đồng chí có thể làm để bảo đảm quyền bình đẳng
của phụ nữ theo Công ước CEDAW. {}

$CATEGORY: $course$/top/Bảy công ước cốt lõi

// [tag:CRC]
::Tuổi trẻ em theo CRC::Theo Điều 1 Công ước về quyền trẻ em, trẻ em là người dưới bao nhiêu tuổi (trừ
trường hợp pháp luật quốc gia quy định tuổi thành niên sớm hơn)? {#18}

// [tag:CRC] [tag:ND2]
::Tuổi trẻ em theo Luật Trẻ em::Theo Luật Trẻ em năm 2016 của Việt Nam, trẻ em là người dưới 16 tuổi. {T}

// [tag:CEDAW] [tag:CRC] [tag:CAT] [tag:CRPD]
::Năm thông qua các công ước::Ghép mỗi công ước với năm Đại hội đồng Liên hợp quốc thông qua. {
  =Công ước CEDAW -> 1979
  =Công ước về quyền trẻ em (CRC) -> 1989
  =Công ước chống tra tấn (CAT) -> 1984
  =Công ước về quyền của người khuyết tật (CRPD) -> 2006
}

// [tag:CAT] [tag:CRPD]
::Phê chuẩn CAT và CRPD::Việt Nam phê chuẩn Công ước chống tra tấn và Công ước về quyền của người
khuyết tật vào năm nào? {
  =2014 # Đúng: Quốc hội phê chuẩn cả hai Công ước ngày 28/11/2014.
  ~1982
  ~1990
  ~2020
}

// [tag:ICCPR]
::Tên viết tắt ICCPR::Viết tắt tiếng Anh của Công ước quốc tế về các quyền dân sự và chính trị là gì? {
  =ICCPR
}

// [tag:ICCPR]
::Việt Nam gia nhập ICCPR::Việt Nam gia nhập Công ước quốc tế về các quyền dân sự và chính trị năm nào? {
  =1982 # Đúng: ngày 24/9/1982, cùng với Công ước ICESCR.
  ~1966
  ~1990
  ~2014
}

// [tag:ICERD] [tag:CRPD] [tag:CAT]
::Công ước Việt Nam là thành viên::Những công ước nào sau đây Việt Nam là thành viên? (Chọn tất cả
phương án đúng) {
  ~%33.33333%Công ước về xóa bỏ mọi hình thức phân biệt chủng tộc (ICERD)
  ~%33.33333%Công ước về quyền của người khuyết tật (CRPD)
  ~%33.33333%Công ước chống tra tấn (CAT)
  ~%-100%Công ước quốc tế về bảo vệ quyền của tất cả người lao động di trú và thành viên gia đình họ
}
"""

#: Who has already taken which demo test, and how well (the share of questions answered right).
ATTEMPTS = (
    ("CEDAW", "hocvien02@demo.stp.vn", 1.0, 12),
    ("CEDAW", "hocvien06@demo.stp.vn", 0.4, 5),
    ("ICCPR", "hocvien05@demo.stp.vn", 0.8, 10),
    ("ICCPR", "donvi.vuthu@demo.stp.vn", 0.6, 20),
    ("ICCPR", "hocvien03@demo.stp.vn", 0.2, 6),
)


def _course(session: Session, code: str) -> Course | None:
    title = next((spec.title for spec in COURSES if spec.code == code), None)
    return session.scalar(sa.select(Course).where(Course.title == title)) if title else None


def _category(session: Session, *names: str) -> QuestionCategory | None:
    return services.category_by_path(session, (TOP, *names))


def seed_quizzes(session: Session) -> list[Quiz]:
    """Create the demo bank and tests (idempotent); returns the quizzes created by this call."""
    trainer = session.scalar(sa.select(Person).where(Person.email == TRAINER_EMAIL))
    if trainer is None or _category(session) is not None:
        return []
    result = read_questions(BANK.encode(), "gift")
    if result.problems:  # the text above is ours: a problem is a bug, not bad input
        raise RuntimeError(f"demo question bank: {result.problems}")
    services.import_questions(session, trainer, result, (TOP,))
    created = []
    cedaw, iccpr = _course(session, "CEDAW"), _course(session, "ICCPR")
    if cedaw is not None:
        quiz = building.create_quiz(session, trainer, cedaw, building.QuizSettings(
            title="Bài kiểm tra cuối khóa: Công ước CEDAW",
            intro="Bài kiểm tra gồm 5 câu, làm trong 15 phút, được làm 2 lần; tính lần có điểm cao nhất. "
                  "Câu tự luận do giảng viên chấm.",
            time_limit_minutes=15, attempts_allowed=2, pass_mark=Decimal("5"), questions_per_page=3,
            bands=[{"label": "Giỏi", "min": 8}, {"label": "Khá", "min": 6.5}, {"label": "Trung bình", "min": 5}],
            review_answers="immediately"))
        question_ids = list(session.scalars(sa.select(Question.id).where(
            Question.category_id == _category(session, "CEDAW").id).order_by(Question.id)))
        building.add_questions(session, trainer, quiz, question_ids, mark=2)
        building.set_published(session, trainer, quiz, True)
        created.append(quiz)
    if iccpr is not None:
        quiz = building.create_quiz(session, trainer, iccpr, building.QuizSettings(
            title="Kiểm tra nhanh: bảy công ước cốt lõi",
            intro="Năm câu hỏi ngẫu nhiên, không giới hạn thời gian và số lần làm.",
            attempts_allowed=0, questions_per_page=5, shuffle_questions=True))
        building.add_random(session, trainer, quiz, _category(session, "Bảy công ước cốt lõi"), 5, mark=2)
        building.set_published(session, trainer, quiz, True)
        created.append(quiz)
    session.flush()
    _take(session, {code: quiz for code, quiz in zip(
        [c for c, course in (("CEDAW", cedaw), ("ICCPR", iccpr)) if course is not None], created, strict=True)})
    return created


def _take(session: Session, quizzes: dict[str, Quiz]) -> None:
    """Finished attempts by demo trainees enrolled in the courses (answers chosen from the key)."""
    now = utcnow()
    rng = random.Random(2026)
    for code, email, share, days_ago in ATTEMPTS:
        quiz = quizzes.get(code)
        person = session.scalar(sa.select(Person).where(Person.email == email))
        if quiz is None or person is None or session.scalar(sa.select(Enrolment.id).where(
                Enrolment.course_id == quiz.course_id, Enrolment.person_id == person.id)) is None:
            continue
        started = now - timedelta(days=days_ago)
        attempt = attempts.start(session, person, quiz, started, rng)
        rows = list(session.scalars(sa.select(AttemptQuestion).where(AttemptQuestion.attempt_id == attempt.id)
                                    .order_by(AttemptQuestion.position)))
        responses = {aq.id: _answer(session.get(QuestionVersion, aq.version_id), rng.random() < share)
                     for aq in rows}
        attempts.save(session, person, attempt, {k: v for k, v in responses.items() if v is not None},
                      started + timedelta(minutes=4))
        attempts.finish(session, person, attempt, started + timedelta(minutes=rng.randint(5, 12)))


def _answer(version: QuestionVersion, right: bool):
    """A response in the shape the attempt pages post: right or wrong, from the key."""
    kind = str(version.type)
    good = [o for o in version.options if o.fraction > 0]
    bad = [o for o in version.options if o.fraction <= 0]
    if kind in ("single_choice", "true_false"):
        return (good if right or not bad else bad)[0].id
    if kind == "multiple_response":
        return [o.id for o in good] if right else [o.id for o in (good[:1] + bad[:1])]
    if kind in ("short_answer", "numerical"):
        return good[0].text if right and good else "0"
    if kind == "matching":
        pairs = [o for o in version.options if o.text.strip()]
        answers = [o.match for o in pairs]
        if not right:
            answers = answers[1:] + answers[:1]
        return {str(o.id): a for o, a in zip(pairs, answers, strict=True)}
    if kind == "essay":
        return ("Tổ chức hội nghị phổ biến Công ước CEDAW cho cán bộ, công chức; bảo đảm tỷ lệ nữ trong "
                "quy hoạch cán bộ lãnh đạo của đơn vị.") if right else "Tuyên truyền."
    return None


__all__ = ["BANK", "seed_quizzes"]
