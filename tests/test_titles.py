"""Titles of legal dissemination: dated, with their decision, separate from employment; a person
may hold both titles; filters and enrolment read them as of a date."""

from __future__ import annotations

from datetime import date

import pytest
import sqlalchemy as sa

from lms import tree
from lms.actors import SYSTEM
from lms.db import db
from lms.errors import ServiceError
from lms.models import AuditEntry, LegalTitle, ReporterLevel, TitleKind
from lms.services import people as svc
from lms.services.directory import PeopleFilter, people_query
from tests.conftest import count_rows

D1, D2, D3 = date(2024, 3, 1), date(2024, 9, 1), date(2025, 2, 1)
TODAY = date(2025, 3, 1)


def titles_of(person):
    db.session.expire_all()
    return [(t.kind, t.level, t.valid_from, t.valid_to) for t in
            db.session.scalars(sa.select(LegalTitle).where(LegalTitle.person_id == person.id)
                               .order_by(LegalTitle.valid_from, LegalTitle.kind))]


@pytest.fixture
def person(make_person, make_unit):
    return make_person(name="Nguyễn Văn An", email="an@example.vn", unit=make_unit(code="STP"))


def test_a_civil_servant_holds_both_titles_with_their_decisions(person):
    reporter = svc.add_title(db.session, SYSTEM, person, svc.TitleInput(
        TitleKind.LEGAL_REPORTER, ReporterLevel.PROVINCIAL, " 125/QĐ-UBND ", D1, "Chủ tịch UBND tỉnh"), today=TODAY)
    svc.add_title(db.session, SYSTEM, person, svc.TitleInput(TitleKind.LEGAL_PROPAGANDIST, valid_from=D2), today=TODAY)
    db.session.commit()
    assert (reporter.decision_number, reporter.decision_date, reporter.valid_from) == ("125/QĐ-UBND", D1, D1)
    assert titles_of(person) == [(TitleKind.LEGAL_REPORTER, ReporterLevel.PROVINCIAL, D1, None),
                                 (TitleKind.LEGAL_PROPAGANDIST, None, D2, None)]
    entry = db.session.scalar(sa.select(AuditEntry).where(AuditEntry.action == "person.title_add"))
    assert entry.details["decision"] == "125/QĐ-UBND"


def test_recognition_at_another_level_closes_the_earlier_title(person):
    svc.add_title(db.session, SYSTEM, person, svc.TitleInput("legal_reporter", "district", "1/QĐ", D1), today=TODAY)
    svc.add_title(db.session, SYSTEM, person, svc.TitleInput("legal_reporter", "provincial", "2/QĐ", D3), today=TODAY)
    db.session.commit()
    assert titles_of(person) == [(TitleKind.LEGAL_REPORTER, ReporterLevel.DISTRICT, D1, D3),
                                 (TitleKind.LEGAL_REPORTER, ReporterLevel.PROVINCIAL, D3, None)]


@pytest.mark.parametrize("data, field", [
    (svc.TitleInput("legal_reporter", "district", valid_from=date(2025, 7, 1)), "level"),
    (svc.TitleInput("legal_propagandist", "provincial"), "level"),
    (svc.TitleInput("wizard"), "kind"),
    (svc.TitleInput("legal_reporter", "galactic"), "level"),
    (svc.TitleInput("legal_reporter", decision_date=date(2030, 1, 1)), "decision_date"),
    (svc.TitleInput("legal_reporter", decision_date=D2, valid_from=D1), "valid_from"),
    (svc.TitleInput("legal_reporter", decision_number="x" * 101), "decision_number"),
])
def test_bad_titles_are_refused_with_a_message_and_nothing_written(person, data, field):
    before = count_rows(LegalTitle), count_rows(AuditEntry)
    with pytest.raises(ServiceError) as exc:
        svc.add_title(db.session, SYSTEM, person, data, today=date(2030, 1, 1) if field == "level" else TODAY)
    assert exc.value.field == field and str(exc.value.message)
    db.session.rollback()
    assert (count_rows(LegalTitle), count_rows(AuditEntry)) == before


def test_a_title_that_would_overlap_an_older_one_is_refused(person):
    old = svc.add_title(db.session, SYSTEM, person, svc.TitleInput("legal_propagandist", valid_from=D1), today=TODAY)
    svc.end_title(db.session, SYSTEM, person, old, D2, "Chuyển công tác")
    db.session.commit()
    with pytest.raises(ServiceError) as exc:
        svc.add_title(db.session, SYSTEM, person, svc.TitleInput("legal_propagandist", valid_from=date(2024, 5, 1)),
                      today=TODAY)
    assert "trùng thời gian" in str(exc.value.message)
    db.session.rollback()
    assert titles_of(person) == [(TitleKind.LEGAL_PROPAGANDIST, None, D1, D2)]
    assert db.session.scalar(sa.select(LegalTitle.end_reason)) == "Chuyển công tác"


def test_title_holders_as_of_a_date(make_unit, make_person):
    root = make_unit(code="ROOT")
    child = make_unit(code="CHILD", parent=root)
    early = make_person(email="early@example.vn", unit=child)
    late = make_person(email="late@example.vn", unit=child)
    title = svc.add_title(db.session, SYSTEM, early, svc.TitleInput("legal_reporter", valid_from=D1), today=TODAY)
    svc.end_title(db.session, SYSTEM, early, title, D3)
    svc.add_title(db.session, SYSTEM, late, svc.TitleInput("legal_reporter", valid_from=D2), today=TODAY)
    db.session.commit()

    def holders(day):
        return set(db.session.scalars(tree.member_ids_select(root.id, day, title=TitleKind.LEGAL_REPORTER)))

    assert holders(date(2024, 1, 1)) == set()
    assert holders(D1) == {early.id}
    assert holders(D2) == {early.id, late.id}
    assert holders(D3) == {late.id}
    listed = db.session.scalars(people_query(db.session, SYSTEM, PeopleFilter(title=TitleKind.LEGAL_REPORTER,
                                                                               on=D2))).unique().all()
    assert {p.id for p in listed} == {early.id, late.id}


# -- the person page -------------------------------------------------------------------------

@pytest.fixture
def admin_client(app, make_person, person):
    admin = make_person(email="admin@example.vn", unit=person.current_unit, roles=("admin",))
    client = app.test_client()
    assert client.post("/login", data={"email": admin.email, "password": "Rất-Khó-Đoán-2028!"}).status_code == 302
    return client


def test_adding_and_ending_a_title_on_the_person_page(admin_client, person):
    response = admin_client.post(f"/admin/people/{person.id}/title", data={
        "title-kind": "legal_reporter", "title-level": "provincial", "title-decision_number": "9/QĐ-UBND",
        "title-decision_date": "2024-03-01", "title-issuing_authority": "Chủ tịch UBND tỉnh"})
    assert response.status_code == 302
    page = admin_client.get(response.location).get_data(as_text=True)
    assert "Báo cáo viên pháp luật (Cấp tỉnh)" in page and "9/QĐ-UBND" in page
    title = db.session.scalar(sa.select(LegalTitle))
    ended = admin_client.post(f"/admin/people/{person.id}/titles/{title.id}/end",
                              data={"end-on": "2025-01-01", "end-reason": "Nghỉ hưu"})
    assert ended.status_code == 302
    assert titles_of(person) == [(TitleKind.LEGAL_REPORTER, ReporterLevel.PROVINCIAL, D1, date(2025, 1, 1))]


@pytest.mark.parametrize("data, message", [
    ({"title-kind": "legal_propagandist", "title-level": "central"}, "Tuyên truyền viên pháp luật không có cấp"),
    ({"title-kind": "wizard"}, "Lựa chọn không hợp lệ."),
    ({"title-kind": "legal_reporter", "title-decision_date": "2024-02-30"}, "theo dạng ngày/tháng/năm"),
    ({"title-kind": "legal_reporter", "title-decision_number": "x" * 200}, "không được dài quá 100 ký tự"),
])
def test_bad_title_input_on_the_page(admin_client, person, data, message):
    response = admin_client.post(f"/admin/people/{person.id}/title", data=data)
    assert response.status_code == 422
    assert message in response.get_data(as_text=True)
    assert count_rows(LegalTitle) == 0


def test_ending_someone_elses_title_is_404(admin_client, person, make_person):
    other = make_person(email="other@example.vn", unit=person.current_unit)
    title = svc.add_title(db.session, SYSTEM, other, svc.TitleInput("legal_propagandist", valid_from=D1), today=TODAY)
    db.session.commit()
    response = admin_client.post(f"/admin/people/{person.id}/titles/{title.id}/end", data={"end-on": "2025-01-01"})
    assert response.status_code == 404
    assert titles_of(other)[0][3] is None
