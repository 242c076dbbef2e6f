"""Long Vietnamese passphrases (the length limit counts characters after NFC, and every password
field agrees), and e-mail look-alikes refused everywhere an address enters (issue 7)."""

from __future__ import annotations

import re
import unicodedata

import pytest
import sqlalchemy as sa
from wtforms import PasswordField

from lms import forms as lms_forms
from lms.db import db
from lms.errors import ServiceError
from lms.models import AuditEntry, Job, LoginSession, Membership, Person
from lms.passwords import MAX_LENGTH, password_problems, too_long
from lms.services import people, roster
from tests.conftest import TEST_PASSWORD, count_rows
from tests.test_roster_import import csv_bytes, row

#: 200 characters once composed; a "Unicode tổ hợp" keyboard sends about 260 code points for it.
PASSPHRASE = ("Trên đồng cạn, dưới đồng sâu, chồng cày, vợ cấy, con trâu đi bừa; ở bầu thì tròn, ở ống thì dài; "
              "bầu ơi thương lấy bí cùng, tuy rằng khác giống nhưng chung một giàn — Hưng Yên, mùa gặt năm 2028!")
NFD = unicodedata.normalize("NFD", PASSPHRASE)


def test_the_passphrase_is_long_and_typed_two_ways():
    assert PASSPHRASE == unicodedata.normalize("NFC", PASSPHRASE)
    assert len(PASSPHRASE) >= 191 and len(NFD) > len(PASSPHRASE) + 50


# -- passphrases ------------------------------------------------------------------------------

@pytest.mark.parametrize("typed", [PASSPHRASE, NFD], ids=["composed", "decomposed"])
def test_policy_accepts_a_long_vietnamese_passphrase(app, typed):
    assert password_problems(typed, user_inputs=("Nguyễn Văn An", "an@example.vn")) == []


def test_the_limit_counts_characters_after_nfc(app):
    composed = (PASSPHRASE * 6)[:MAX_LENGTH]
    decomposed = unicodedata.normalize("NFD", composed)
    assert len(decomposed) > MAX_LENGTH  # longer in code points, the same length to the person typing it
    assert not too_long(composed) and not too_long(decomposed)
    assert password_problems(decomposed) == []
    over = (PASSPHRASE * 6)[:MAX_LENGTH + 1]
    message = f"Mật khẩu không được dài quá {MAX_LENGTH} ký tự."
    assert [str(p) for p in password_problems(over)] == [message]
    assert [str(p) for p in password_problems(unicodedata.normalize("NFD", over))] == [message]
    assert too_long("a" * (4 * MAX_LENGTH + 1))  # absurd input is refused before it is normalised


@pytest.mark.parametrize("typed_at_login", [PASSPHRASE, NFD], ids=["composed", "decomposed"])
def test_log_in_with_a_long_passphrase_typed_either_way(client, make_person, typed_at_login):
    make_person(email="lan@example.vn", password=NFD if typed_at_login == PASSPHRASE else PASSPHRASE)
    response = client.post("/login", data={"email": "lan@example.vn", "password": typed_at_login})
    assert response.status_code == 302 and response.location == "/"


def test_change_to_a_long_passphrase_then_log_in_with_it(client, auth, make_person):
    person = make_person(email="lan@example.vn")
    auth.login("lan@example.vn")
    response = client.post("/account/password", data={"current_password": TEST_PASSWORD, "new_password": NFD,
                                                      "confirm": NFD})
    assert response.status_code == 302, response.get_data(as_text=True)
    auth.logout()
    assert auth.login("lan@example.vn", PASSPHRASE).status_code == 302
    db.session.refresh(person)
    assert person.must_change_password is False


def test_change_to_a_too_long_passphrase_is_refused_and_nothing_changes(client, auth, make_person):
    person = make_person(email="lan@example.vn")
    before = person.password_hash
    auth.login("lan@example.vn")
    too_long_phrase = unicodedata.normalize("NFD", (PASSPHRASE * 6)[:MAX_LENGTH + 1])
    response = client.post("/account/password", data={
        "current_password": TEST_PASSWORD, "new_password": too_long_phrase, "confirm": too_long_phrase})
    assert response.status_code == 200
    assert f"Mật khẩu không được dài quá {MAX_LENGTH} ký tự." in response.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(Person, person.id).password_hash == before


def _password_fields():
    """Every password field of every form of the platform."""
    found = []
    for name in dir(lms_forms):
        form_class = getattr(lms_forms, name)
        if isinstance(form_class, type) and issubclass(form_class, lms_forms.FlaskForm):
            for field_name in dir(form_class):
                unbound = getattr(form_class, field_name)
                if getattr(unbound, "field_class", None) is PasswordField:
                    found.append((form_class, field_name))
    return found


def test_every_password_field_takes_a_long_passphrase_and_has_no_maxlength(app):
    fields = _password_fields()
    assert {f"{form.__name__}.{name}" for form, name in fields} >= {
        "LoginForm.password", "ChangePasswordForm.new_password", "NewPersonForm.password",
        "ResetPasswordForm.password", "ImportConfirmForm.password", "NewPasswordForm.new_password"}
    for form_class, name in fields:
        with app.test_request_context(method="POST", data={name: NFD}):
            form = form_class(meta={"csrf": False})
            field = getattr(form, name)
            assert "maxlength" not in field(), f"{form_class.__name__}.{name}"
            for validator in field.validators:
                try:
                    validator(form, field)
                except Exception as exc:  # noqa: BLE001 - only length problems matter here
                    assert "dài" not in str(exc), f"{form_class.__name__}.{name}: {exc}"


def test_no_password_input_on_the_pages_has_a_maxlength(client, make_person):
    page = client.get("/login").get_data(as_text=True)
    assert re.search(r'<input[^>]*type="password"', page)
    assert not re.search(r'<input[^>]*maxlength[^>]*type="password"|<input[^>]*type="password"[^>]*maxlength', page)


def test_admin_sets_a_long_initial_password(client, auth, make_person, make_unit):
    admin = make_person(email="admin@example.vn", roles=("admin",))
    auth.login(admin.email)
    unit = admin.current_unit
    response = client.post("/admin/people/new", data={
        "full_name": "Trần Thị Mai", "email": "mai@example.vn", "unit": unit.id, "on": "2024-03-01",
        "password": NFD, "roles": ["trainee"]})
    assert response.status_code == 302, response.get_data(as_text=True)
    fresh = client.application.test_client()
    assert fresh.post("/login", data={"email": "mai@example.vn", "password": PASSPHRASE}).location == "/account/password"


# -- e-mail look-alikes -----------------------------------------------------------------------

#: Each of these read as linh@example.vn, and each opened an account of its own.
LOOKALIKES = [
    "l\u0131nh@example.vn",  # dotless ı (Turkish)
    "L\u0130NH@example.vn",  # dotted capital İ
    "linh@\u0435xample.vn",  # Cyrillic е
    "\uff4cinh@example.vn",  # full-width ｌ
    "linh@example\uff0evn",  # full-width full stop
    "li\u0301nh@example.vn",  # a combining accent
    "linh@xn--xample-2of.vn",  # the Cyrillic е again, written as an IDN's ASCII form
]


@pytest.mark.parametrize("email", LOOKALIKES)
def test_clean_email_refuses_lookalikes_with_a_clear_message(app, email):
    with pytest.raises(ServiceError) as raised:
        people.clean_email(email)
    message = str(raised.value.message)
    assert raised.value.field == "email"
    assert "có ký tự" in message or "nhiều hệ chữ viết" in message, message


def test_clean_email_names_the_character_and_its_code_point(app):
    with pytest.raises(ServiceError) as raised:
        people.clean_email("linh@\u0435xample.vn")
    assert "“\u0435” (U+0435)" in str(raised.value.message)
    assert "xn--" in str(raised.value.message)  # says how to write an internationalised domain


def test_plain_addresses_and_ascii_idn_domains_are_accepted(app):
    assert people.clean_email(" Linh@Example.VN ") == "Linh@example.vn"
    # a Vietnamese domain (hưngyên.vn) in its ASCII form is kept in that form
    assert people.clean_email("linh@XN--HNGYN-KSA69K.vn") == "linh@xn--hngyn-ksa69k.vn"


def test_five_lookalikes_no_longer_make_five_accounts(client, auth, make_person):
    admin = make_person(email="admin@example.vn", roles=("admin",))
    auth.login(admin.email)
    unit = admin.current_unit
    good = {"full_name": "Lê Thị Linh", "unit": unit.id, "on": "2024-03-01", "password": "Khởi-Tạo-Mật-Khẩu-9",
            "roles": ["trainee"]}
    assert client.post("/admin/people/new", data={**good, "email": "linh@example.vn"}).status_code == 302
    before = (count_rows(Person), count_rows(Membership), count_rows(AuditEntry))
    for email in LOOKALIKES:
        response = client.post("/admin/people/new", data={**good, "email": email})
        assert response.status_code == 422, email
        errors = re.findall(r'invalid-feedback d-block">([^<]+)<', response.get_data(as_text=True))
        assert any("thư điện tử" in e and ("có ký tự" in e or "hệ chữ viết" in e) for e in errors), errors
    assert (count_rows(Person), count_rows(Membership), count_rows(AuditEntry)) == before


def test_editing_a_person_to_a_lookalike_is_refused(client, auth, make_person):
    admin = make_person(email="admin@example.vn", roles=("admin",))
    person = make_person(email="linh@example.vn")
    auth.login(admin.email)
    response = client.post(f"/admin/people/{person.id}/edit", data={
        "edit-full_name": person.full_name, "edit-email": "linh@\u0435xample.vn"})
    assert response.status_code == 422
    db.session.expire_all()
    assert db.session.get(Person, person.id).email == "linh@example.vn"


def test_roster_import_refuses_lookalikes_row_by_row(app, make_unit, make_person):
    root = make_unit(name="Sở Tư pháp", code="STP", kind="department")
    make_unit(name="Phòng Phổ biến", code="U1", parent=root)
    admin = make_person(email="admin@example.vn", unit=root, roles=("admin",))
    content = csv_bytes([row("Lê Thị Linh", "linh@example.vn")]
                        + [row(f"Người Giống {i}", email) for i, email in enumerate(LOOKALIKES)])
    before = count_rows(Person)
    preview = roster.check(db.session, admin, content, "danh-sach.csv", today=roster_today())
    assert [r.number for r in preview.problem_rows] == list(range(3, 3 + len(LOOKALIKES)))
    text = "\n".join(preview.messages())
    assert "Dòng 5: Thư điện tử: Địa chỉ thư điện tử “linh@\u0435xample.vn” có ký tự “\u0435” (U+0435)" in text
    with pytest.raises(ServiceError):
        roster.apply(db.session, admin, content, "danh-sach.csv", password=TEST_PASSWORD, today=roster_today())
    db.session.rollback()
    assert count_rows(Person) == before


def roster_today():
    from datetime import date

    return date(2025, 3, 1)


@pytest.mark.parametrize("email", LOOKALIKES[:4])
def test_cli_create_admin_refuses_lookalikes(runner, make_person, email):
    make_person(email="linh@example.vn")
    before = count_rows(Person)
    result = runner.invoke(args=["lms", "create-admin", "--email", email, "--name", "Lê Thị Linh",
                                 "--password", "Quản-Trị-Viên-Mạnh-1"])
    assert result.exit_code != 0
    assert "có ký tự" in result.output
    assert count_rows(Person) == before


@pytest.mark.parametrize("email", LOOKALIKES)
def test_log_in_with_a_lookalike_does_not_match(client, make_person, email):
    make_person(email="linh@example.vn")
    response = client.post("/login", data={"email": email, "password": TEST_PASSWORD})
    assert response.status_code == 200
    assert "Thư điện tử hoặc mật khẩu không đúng." in response.get_data(as_text=True)
    assert count_rows(LoginSession) == 0


def test_forgot_password_with_a_lookalike_is_refused_and_queues_nothing(client, make_person):
    make_person(email="linh@example.vn")
    response = client.post("/password/forgot", data={"email": "linh@\u0435xample.vn"})
    assert response.status_code == 422
    assert "có ký tự" in response.get_data(as_text=True)
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Job)) == 0
