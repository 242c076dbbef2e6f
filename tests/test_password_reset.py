"""Self-service password reset by e-mail (lms/services/password_reset.py, lms/mail.py), and the
forced change at first log-in saying why."""

from __future__ import annotations

import email
import email.policy
import logging
import re
import uuid
from datetime import timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa

from lms import mail
from lms.config import ConfigError, load_config
from lms.db import db, utcnow
from lms.extensions import limiter
from lms.models import AuditEntry, Job, LoginSession, PasswordReset, Person
from lms.passwords import verify_password
from lms.services import password_reset
from tests.conftest import TEST_PASSWORD, count_rows

NEW_PASSWORD = "Đồng-Lúa-Chín-Vàng-2029"
FLASH = "Nếu địa chỉ này là thư điện tử của một tài khoản đang hoạt động"


def mails(app) -> list[email.message.EmailMessage]:
    folder = Path(app.config["MAIL_DIR"])
    if not folder.exists():
        return []
    return [email.message_from_bytes(p.read_bytes(), policy=email.policy.default) for p in sorted(folder.glob("*.eml"))]


def body(message) -> str:
    return message.get_body(("plain",)).get_content()


def link_in(message) -> str:
    match = re.search(r"https?://\S+/password/reset/\S+", body(message))
    assert match, body(message)
    return match.group(0)


def ask(client, address="lan@example.vn", **kwargs):
    return client.post("/password/forgot", data={"email": address}, **kwargs)


def follow_link(client, link):
    path = link.split("://", 1)[1].split("/", 1)[1]
    response = client.get("/" + path)
    assert response.status_code == 302 and response.location == "/password/reset"
    return client.get("/password/reset")


def choose(client, password=NEW_PASSWORD, confirm=None):
    return client.post("/password/reset", data={"new_password": password,
                                                "confirm": password if confirm is None else confirm})


# -- the forced change at first log-in --------------------------------------------------------

def test_forced_change_says_why(client, auth, make_person):
    make_person(email="new@example.vn", must_change=True)
    assert auth.login("new@example.vn").location == "/account/password"
    page = client.get("/account/password").get_data(as_text=True)
    assert 'id="forced-change-reason"' in page
    assert "mật khẩu ban đầu do quản trị viên đặt" in page
    assert "trước khi tiếp tục" in page


def test_a_voluntary_change_shows_no_such_reason(client, auth, make_person):
    make_person(email="lan@example.vn")
    auth.login("lan@example.vn")
    assert 'id="forced-change-reason"' not in client.get("/account/password").get_data(as_text=True)


# -- asking for a link ------------------------------------------------------------------------

def test_login_page_links_to_the_reset_form(client):
    page = client.get("/login").get_data(as_text=True)
    assert 'href="/password/forgot"' in page and "Quên mật khẩu?" in page
    form = client.get("/password/forgot").get_data(as_text=True)
    assert 'name="email"' in form and "60 phút" in form


def test_a_known_address_gets_one_mail_with_a_single_use_link(app, client, make_person):
    person = make_person(name="Nguyễn Thị Lan", email="lan@example.vn")
    response = ask(client, "  LAN@Example.vn ", environ_base={"REMOTE_ADDR": "10.1.2.3"})
    assert response.status_code == 302 and response.location == "/login"
    assert FLASH in client.get("/login").get_data(as_text=True)
    [message] = mails(app)
    assert message["To"] == "lan@example.vn"
    assert message["Subject"] == "Đặt lại mật khẩu tài khoản bồi dưỡng trực tuyến"
    text = body(message)
    assert "Kính gửi Ông/Bà Nguyễn Thị Lan," in text and "60 phút" in text and "bỏ qua thư này" in text
    link = link_in(message)
    assert link.startswith("http://localhost/password/reset/")
    token = link.rsplit("/", 1)[1]
    [reset] = db.session.scalars(sa.select(PasswordReset)).all()
    assert reset.person_id == person.id and reset.ip == "10.1.2.3"
    assert token not in reset.token_hash and len(reset.token_hash) == 64  # only a hash is stored
    assert timedelta(minutes=59) < reset.expires_at - reset.created_at <= timedelta(minutes=60)
    assert db.session.scalar(sa.select(AuditEntry.action).where(AuditEntry.object_id == person.id,
                                                                AuditEntry.action.like("auth.password_reset%"))) \
        == "auth.password_reset_request"
    # the job keeps neither the address nor anything that tells whether it had an account
    job = db.session.scalar(sa.select(Job))
    assert job.kind == "auth.password_reset_mail" and job.status.value == "done"
    assert "lan@example.vn" not in repr(job.params) and job.result == {}


def test_the_answer_is_the_same_whether_or_not_the_address_exists(app, client, make_person):
    make_person(email="lan@example.vn")
    make_person(email="off@example.vn").active = False
    db.session.commit()
    answers = []
    for address in ("lan@example.vn", "nobody@example.vn", "off@example.vn"):
        other = app.test_client()
        response = ask(other, address)
        answers.append((response.status_code, response.location, other.get("/login").get_data(as_text=True)
                        .count(FLASH)))
    assert answers[0] == answers[1] == answers[2] == (302, "/login", 1)
    # the same work is done for each: one job queued per request
    assert count_rows(Job) == 3
    # only the active account got a mail; the disabled one is recorded, not mailed
    assert [m["To"] for m in mails(app)] == ["lan@example.vn"]
    assert count_rows(PasswordReset) == 1
    assert db.session.scalar(sa.select(sa.func.count()).select_from(AuditEntry).where(
        AuditEntry.action == "auth.password_reset_refused")) == 1


@pytest.mark.parametrize("address,message", [
    ("", "Vui lòng nhập địa chỉ thư điện tử."),
    ("a" * 300 + "@example.vn", "Địa chỉ thư điện tử quá dài."),
    ("khong-phai-thu", "không hợp lệ"),
    ("lan@ex\u0430mple.vn", "có ký tự “\u0430” (U+0430)"),
])
def test_asking_with_bad_input_changes_nothing(app, client, make_person, address, message):
    make_person(email="lan@example.vn")
    before = (count_rows(Job), count_rows(PasswordReset), count_rows(AuditEntry))
    response = ask(client, address)
    assert response.status_code == 422
    assert message in response.get_data(as_text=True)
    assert (count_rows(Job), count_rows(PasswordReset), count_rows(AuditEntry)) == before
    assert mails(app) == []


def test_production_without_a_public_address_offers_no_reset(app_factory, make_person):
    make_person(email="lan@example.vn")
    application = app_factory(TESTING=False, LMS_JOBS="immediate")
    client = application.test_client()
    page = client.get("/password/forgot").get_data(as_text=True)
    assert 'id="reset-unavailable"' in page and 'name="email"' not in page
    assert ask(client).status_code == 200
    assert count_rows(Job) == 0 and mails(application) == []


def test_the_link_uses_the_public_address_never_the_host_header(app_factory, make_person):
    make_person(email="lan@example.vn")
    application = app_factory(PUBLIC_BASE_URL="https://daotao.stp.example.gov.vn/lms")
    client = application.test_client()
    assert ask(client, headers={"Host": "evil.example"}).status_code == 302
    link = link_in(mails(application)[0])
    assert link.startswith("https://daotao.stp.example.gov.vn/lms/password/reset/")


# -- using the link ---------------------------------------------------------------------------

def test_reset_sets_the_password_ends_every_session_and_is_audited(app, client, make_person):
    person = make_person(email="lan@example.vn", must_change=True)
    elsewhere = app.test_client()
    assert elsewhere.post("/login", data={"email": "lan@example.vn", "password": TEST_PASSWORD}).status_code == 302
    ask(client)
    page = follow_link(client, link_in(mails(app)[0]))
    assert page.status_code == 200 and 'name="new_password"' in page.get_data(as_text=True)
    assert page.headers["Cache-Control"] == "no-store"
    response = choose(client)
    assert response.status_code == 302 and response.location == "/login"
    assert "Đã đặt mật khẩu mới" in client.get("/login").get_data(as_text=True)
    # every session of the person has ended
    assert elsewhere.get("/account/password").status_code == 302
    assert db.session.scalar(sa.select(sa.func.count()).select_from(LoginSession).where(
        LoginSession.person_id == person.id, LoginSession.revoked_at.is_(None))) == 0
    db.session.expire_all()
    person = db.session.get(Person, person.id)
    assert verify_password(person.password_hash, NEW_PASSWORD)[0]
    assert not verify_password(person.password_hash, TEST_PASSWORD)[0]
    assert person.must_change_password is False  # they chose it themselves
    entry = db.session.scalar(sa.select(AuditEntry).where(AuditEntry.action == "auth.password_reset"))
    assert entry.actor_id == person.id and entry.object_id == person.id
    assert client.post("/login", data={"email": "lan@example.vn", "password": NEW_PASSWORD}).location == "/"


def test_a_link_works_once(app, client, make_person):
    make_person(email="lan@example.vn")
    ask(client)
    link = link_in(mails(app)[0])
    follow_link(client, link)
    assert choose(client).status_code == 302
    again = app.test_client()
    page = follow_link(again, link).get_data(as_text=True)
    assert "đã được dùng" in page and 'name="new_password"' not in page


def test_an_expired_link_says_so(app, client, make_person):
    make_person(email="lan@example.vn")
    ask(client)
    reset = db.session.scalar(sa.select(PasswordReset))
    reset.expires_at = utcnow() - timedelta(seconds=1)
    db.session.commit()
    page = follow_link(client, link_in(mails(app)[0])).get_data(as_text=True)
    assert "đã hết hạn" in page and 'href="/password/forgot"' in page


def test_a_link_expiring_while_the_form_is_open_sets_nothing(app, client, make_person):
    person = make_person(email="lan@example.vn")
    before = person.password_hash
    ask(client)
    follow_link(client, link_in(mails(app)[0]))
    reset = db.session.scalar(sa.select(PasswordReset))
    reset.expires_at = utcnow() - timedelta(seconds=1)
    db.session.commit()
    response = choose(client)
    assert "đã hết hạn" in response.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(Person, person.id).password_hash == before


def test_expiry_comes_from_the_configuration(app_factory, make_person):
    make_person(email="lan@example.vn")
    application = app_factory(PASSWORD_RESET_MINUTES=15)
    ask(application.test_client())
    reset = db.session.scalar(sa.select(PasswordReset))
    assert reset.expires_at - reset.created_at == timedelta(minutes=15)
    assert "15 phút" in body(mails(application)[0])
    with pytest.raises(ConfigError):
        load_config("/tmp", env={"LMS_ENV": "testing", "LMS_PASSWORD_RESET_MINUTES": "1"})
    assert load_config("/tmp", env={"LMS_ENV": "testing"})["PASSWORD_RESET_MINUTES"] == 60


def test_a_newer_link_voids_the_older_ones(app, client, make_person):
    make_person(email="lan@example.vn")
    ask(client)
    ask(client)
    first, second = (link_in(m) for m in mails(app))
    assert first != second
    page = follow_link(app.test_client(), first).get_data(as_text=True)
    assert "liên kết mới hơn" in page
    fresh = app.test_client()
    follow_link(fresh, second)
    assert choose(fresh).status_code == 302


def test_a_password_set_another_way_voids_the_link(app, client, auth, make_person):
    make_person(email="lan@example.vn")
    ask(client)
    link = link_in(mails(app)[0])
    auth.login("lan@example.vn")
    client.post("/account/password", data={"current_password": TEST_PASSWORD, "new_password": NEW_PASSWORD,
                                           "confirm": NEW_PASSWORD})
    page = follow_link(app.test_client(), link).get_data(as_text=True)
    assert "liên kết mới hơn" in page


def test_a_disabled_account_cannot_use_an_earlier_link(app, client, make_person):
    person = make_person(email="lan@example.vn")
    ask(client)
    link = link_in(mails(app)[0])
    person.active = False
    db.session.commit()
    page = follow_link(app.test_client(), link).get_data(as_text=True)
    assert "không đúng hoặc không còn hiệu lực" in page


@pytest.mark.parametrize("token", ["x" * 43, "", "a" * 500])
def test_an_unknown_link_says_so(client, token):
    if token:
        client.get(f"/password/reset/{token}")
    page = client.get("/password/reset")
    assert page.status_code == 200
    text = page.get_data(as_text=True)
    assert "không đúng hoặc không còn hiệu lực" in text and 'name="new_password"' not in text
    assert choose(client).status_code == 200  # posting without a valid link sets nothing


@pytest.mark.parametrize("password,confirm,message", [
    ("", "", "Vui lòng nhập mật khẩu mới."),
    ("ngắn-1", None, "Mật khẩu phải có ít nhất 10 ký tự."),
    ("password123", None, "quá phổ biến"),
    ("Lan@example.vn 2029!", None, "không được chứa tên hoặc địa chỉ thư điện tử"),
    (NEW_PASSWORD, NEW_PASSWORD + "x", "không khớp"),
    ("Tre xanh bờ ao 2028! " * 60, None, "Mật khẩu không được dài quá 1024 ký tự."),
])
def test_a_refused_new_password_changes_nothing_and_keeps_the_link(app, client, make_person, password, confirm,
                                                                   message):
    person = make_person(email="lan@example.vn")
    before = person.password_hash
    ask(client)
    follow_link(client, link_in(mails(app)[0]))
    response = choose(client, password, confirm)
    assert response.status_code == 422
    assert message in response.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(Person, person.id).password_hash == before
    assert db.session.scalar(sa.select(PasswordReset.used_at)) is None
    assert db.session.scalar(sa.select(sa.func.count()).select_from(AuditEntry).where(
        AuditEntry.action == "auth.password_reset")) == 0
    assert choose(client).status_code == 302  # the link still works


def test_link_state_is_a_pure_rule(app, make_person):
    now = utcnow()
    person = make_person(email="lan@example.vn")
    reset = PasswordReset(person=person, token_hash="0" * 64, created_at=now, expires_at=now + timedelta(minutes=5))
    assert password_reset.link_state(reset, now=now) == "valid"
    assert password_reset.link_state(reset, now=now + timedelta(minutes=5)) == "expired"
    reset.revoked_at = now
    assert password_reset.link_state(reset, now=now) == "replaced"
    reset.used_at = now
    assert password_reset.link_state(reset, now=now) == "used"
    assert password_reset.link_state(None, now=now) == "unknown"


# -- rate limits ------------------------------------------------------------------------------

@pytest.fixture
def limited(app_factory):
    def make(**extra):
        application = app_factory(RATELIMIT_ENABLED=True, RATELIMIT_KEY_PREFIX=f"t{uuid.uuid4().hex[:8]}", **extra)
        with application.app_context():
            limiter.reset()
        return application

    return make


def test_requests_are_limited_per_address(limited, make_person):
    make_person(email="lan@example.vn")
    application = limited(RESET_LIMIT_ACCOUNT="2 per hour", RESET_LIMIT_ADDRESS="100 per hour")
    client = application.test_client()
    for i in range(2):
        assert ask(client, "lan@example.vn", environ_base={"REMOTE_ADDR": f"10.0.0.{i}"}).status_code == 302
    blocked = ask(client, "LAN@example.vn", environ_base={"REMOTE_ADDR": "10.0.0.9"})
    assert blocked.status_code == 429 and blocked.headers.get("Retry-After")
    assert ask(client, "other@example.vn", environ_base={"REMOTE_ADDR": "10.0.0.9"}).status_code == 302
    assert len(mails(application)) == 2


def test_requests_are_limited_per_client_address(limited):
    application = limited(RESET_LIMIT_ACCOUNT="100 per hour", RESET_LIMIT_ADDRESS="3 per hour")
    client = application.test_client()
    for i in range(3):
        assert ask(client, f"u{i}@example.vn", environ_base={"REMOTE_ADDR": "10.0.0.7"}).status_code == 302
    assert ask(client, "u9@example.vn", environ_base={"REMOTE_ADDR": "10.0.0.7"}).status_code == 429
    assert ask(client, "u9@example.vn", environ_base={"REMOTE_ADDR": "10.0.0.8"}).status_code == 302


# -- mail -------------------------------------------------------------------------------------

def test_without_smtp_mail_goes_to_a_folder_and_the_log(app, caplog, monkeypatch):
    monkeypatch.setattr(mail.log, "disabled", False)  # the migrations' logging set-up disabled it in this process
    with caplog.at_level(logging.WARNING, logger="lms.mail"):
        where = mail.send("lan@example.vn", "Thử gửi thư", "Nội dung có dấu: Sở Tư pháp.\n")
    path = Path(where)
    assert path.parent == Path(app.config["MAIL_DIR"]) and path.suffix == ".eml"
    assert path.stat().st_mode & 0o077 == 0  # owner only: such a file may hold a reset link
    [message] = mails(app)
    assert message["Subject"] == "Thử gửi thư" and "Sở Tư pháp" in body(message)
    assert message["Auto-Submitted"] == "auto-generated"
    assert "Nội dung có dấu: Sở Tư pháp." in caplog.text and str(path) in caplog.text


class FakeSMTP:
    instances: list[FakeSMTP] = []

    def __init__(self, host, port, timeout=None, context=None):
        self.host, self.port, self.calls = host, port, []
        FakeSMTP.instances.append(self)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.calls.append("quit")
        return False

    def starttls(self, context=None):
        self.calls.append("starttls")

    def login(self, user, password):
        self.calls.append(("login", user, password))

    def send_message(self, message):
        self.calls.append(("send", message["To"], message["From"]))


@pytest.mark.parametrize("security,cls,port,first", [
    ("starttls", "SMTP", 587, ["starttls"]), ("ssl", "SMTP_SSL", 465, []), ("none", "SMTP", 25, [])])
def test_with_smtp_mail_is_sent_through_the_server(app_factory, monkeypatch, security, cls, port, first):
    FakeSMTP.instances = []
    monkeypatch.setattr(f"smtplib.{cls}", FakeSMTP)
    application = app_factory(SMTP_HOST="smtp.example.gov.vn", SMTP_SECURITY=security, SMTP_USER="daotao",
                              SMTP_PASSWORD="bí-mật", MAIL_FROM="Sở Tư pháp <daotao@stp.example.gov.vn>")
    with application.app_context():
        assert mail.send("lan@example.vn", "Tiêu đề", "Nội dung") == "smtp"
    [smtp] = FakeSMTP.instances
    assert (smtp.host, smtp.port) == ("smtp.example.gov.vn", port)
    assert smtp.calls == [*first, ("login", "daotao", "bí-mật"),
                          ("send", "lan@example.vn", "Sở Tư pháp <daotao@stp.example.gov.vn>"), "quit"]
    assert mails(application) == []


def test_a_failing_mail_server_leaves_no_link_behind(app_factory, make_person, monkeypatch):
    import smtplib

    class Refusing(FakeSMTP):
        def send_message(self, message):
            raise smtplib.SMTPRecipientsRefused({})

    monkeypatch.setattr("smtplib.SMTP", Refusing)
    make_person(email="lan@example.vn")
    application = app_factory(SMTP_HOST="smtp.example.gov.vn", MAIL_FROM="daotao@stp.example.gov.vn")
    assert ask(application.test_client()).status_code == 302  # the visitor is told the same
    assert count_rows(PasswordReset) == 0
    assert db.session.scalar(sa.select(Job.status)).value == "failed"


@pytest.mark.parametrize("env,problem", [
    ({"LMS_SMTP_SECURITY": "tls"}, "LMS_SMTP_SECURITY"),
    ({"LMS_SMTP_HOST": "smtp.example.gov.vn"}, "LMS_MAIL_FROM"),
    ({"LMS_SMTP_PORT": "cổng"}, "LMS_SMTP_PORT"),
])
def test_mail_settings_are_checked_at_start(env, problem):
    with pytest.raises(ConfigError, match=problem):
        load_config("/tmp", env={"LMS_ENV": "testing", **env})


def test_mail_settings_are_read_from_the_environment():
    config = load_config("/tmp", env={
        "LMS_ENV": "testing", "LMS_SMTP_HOST": "smtp.example.gov.vn", "LMS_SMTP_PORT": "2525",
        "LMS_SMTP_USER": "daotao", "LMS_SMTP_PASSWORD": "x", "LMS_SMTP_SECURITY": "ssl",
        "LMS_MAIL_FROM": "daotao@stp.example.gov.vn", "LMS_MAIL_DIR": "/tmp/thu", "LMS_PASSWORD_RESET_MINUTES": "30",
        "LMS_RESET_LIMIT_ACCOUNT": "1 per hour", "LMS_RESET_LIMIT_ADDRESS": "5 per hour"})
    assert (config["SMTP_HOST"], config["SMTP_PORT"], config["SMTP_USER"], config["SMTP_PASSWORD"],
            config["SMTP_SECURITY"], config["MAIL_FROM"], config["MAIL_DIR"], config["PASSWORD_RESET_MINUTES"],
            config["RESET_LIMIT_ACCOUNT"], config["RESET_LIMIT_ADDRESS"]) == (
        "smtp.example.gov.vn", 2525, "daotao", "x", "ssl", "daotao@stp.example.gov.vn", "/tmp/thu", 30,
        "1 per hour", "5 per hour")
