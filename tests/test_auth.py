"""Logging in and out, sessions, forced password change, safe redirects, rate limits."""

from __future__ import annotations

import os
import uuid

import pytest
import sqlalchemy as sa

from lms.db import db
from lms.extensions import limiter
from lms.models import AuditEntry, LoginSession, Person
from lms.views.auth import safe_next
from tests.conftest import TEST_PASSWORD

NEW_PASSWORD = "Một-Mật-Khẩu-Mới-Hơn-77"


def _session_cookie(client):
    cookie = client.get_cookie("lms_session")
    return cookie.value if cookie else None


def test_login_success_opens_a_server_side_session(client, auth, make_person):
    person = make_person(email="lan@example.vn")
    response = auth.login("lan@example.vn")
    assert response.status_code == 302
    assert response.location == "/"
    sessions = db.session.scalars(sa.select(LoginSession).where(LoginSession.person_id == person.id)).all()
    assert len(sessions) == 1 and sessions[0].revoked_at is None
    page = client.get("/").get_data(as_text=True)
    assert person.full_name in page


def test_login_accepts_email_in_other_case_and_spaces(client, auth, make_person):
    make_person(email="lan@example.vn")
    assert auth.login("  LAN@Example.VN ").status_code == 302


@pytest.mark.parametrize("email,password", [
    ("lan@example.vn", "wrong-password-123"),
    ("nobody@example.vn", TEST_PASSWORD),
])
def test_wrong_credentials_give_one_vietnamese_message(client, auth, make_person, email, password):
    make_person(email="lan@example.vn")
    response = auth.login(email, password)
    assert response.status_code == 200
    assert "Thư điện tử hoặc mật khẩu không đúng." in response.get_data(as_text=True)
    assert db.session.scalar(sa.select(sa.func.count()).select_from(LoginSession)) == 0
    assert db.session.scalar(sa.select(sa.func.count()).select_from(AuditEntry).where(
        AuditEntry.action == "auth.failed")) == 1


@pytest.mark.parametrize("data,message", [
    ({"email": "", "password": ""}, "Vui lòng nhập địa chỉ thư điện tử."),
    ({"email": "a@b.vn", "password": ""}, "Vui lòng nhập mật khẩu."),
    ({"email": "a" * 300 + "@b.vn", "password": "x"}, "Địa chỉ thư điện tử quá dài."),
    ({"email": "a@b.vn", "password": "x" * 1025}, "Mật khẩu không được dài quá 1024 ký tự."),
])
def test_login_form_bad_input(client, data, message):
    response = client.post("/login", data=data)
    assert response.status_code == 200
    assert message in response.get_data(as_text=True)


def test_inactive_person_cannot_log_in(client, auth, make_person):
    person = make_person(email="off@example.vn")
    person.active = False
    db.session.commit()
    response = auth.login("off@example.vn")
    assert "Thư điện tử hoặc mật khẩu không đúng." in response.get_data(as_text=True)


def test_next_redirects_only_to_local_paths(client, make_person):
    make_person(email="lan@example.vn")
    ok = client.post("/login?next=/account/password", data={"email": "lan@example.vn", "password": TEST_PASSWORD})
    assert ok.location == "/account/password"
    client.post("/logout")
    for evil in ["https://evil.example/", "//evil.example/x", "/\\evil.example", "javascript:alert(1)",
                 "http:/evil.example", "/%0d%0aSet-Cookie:x"]:
        response = client.post("/login?next=" + evil, data={"email": "lan@example.vn", "password": TEST_PASSWORD})
        assert response.status_code == 302
        assert response.location in ("/", "/%0d%0aSet-Cookie:x"), evil
        client.post("/logout")


@pytest.mark.parametrize("target,expected", [
    ("/admin/people/?q=a", "/admin/people/?q=a"), ("//x.y", None), ("https://x.y", None), ("\\\\x", None),
    ("/a\\b", None), ("", None), (None, None), ("relative", None), ("/ok\n", "/ok"), ("/a\tb", None),
])
def test_safe_next(target, expected):
    assert safe_next(target) == expected


def test_logout_invalidates_a_copied_cookie(app, client, auth, make_person):
    make_person(email="lan@example.vn")
    auth.login("lan@example.vn")
    stolen = _session_cookie(client)
    assert stolen
    thief = app.test_client()
    thief.set_cookie("lms_session", stolen)
    assert thief.get("/account/password").status_code == 200  # the copy works while logged in
    assert client.post("/logout").status_code == 302
    response = thief.get("/account/password")
    assert response.status_code == 302 and response.location.startswith("/login")
    assert db.session.scalar(sa.select(LoginSession.revoked_at)) is not None


def test_logout_requires_post(client, auth, make_person):
    make_person(email="lan@example.vn")
    auth.login("lan@example.vn")
    assert client.get("/logout").status_code == 405
    assert client.get("/account/password").status_code == 200  # still logged in


def test_session_is_renewed_at_login(app, client, make_person):
    make_person(email="lan@example.vn")
    with client.session_transaction() as s:
        s["planted"] = "by-attacker"
    client.post("/login", data={"email": "lan@example.vn", "password": TEST_PASSWORD})
    with client.session_transaction() as s:
        assert "planted" not in s
        first = s["_user_id"]
    client.post("/logout")
    client.post("/login", data={"email": "lan@example.vn", "password": TEST_PASSWORD})
    with client.session_transaction() as s:
        assert s["_user_id"] != first


def test_password_change_ends_every_other_session(app, client, auth, make_person):
    person = make_person(email="lan@example.vn")
    other = app.test_client()
    other.post("/login", data={"email": "lan@example.vn", "password": TEST_PASSWORD})
    auth.login("lan@example.vn")
    old_cookie = _session_cookie(client)
    response = client.post("/account/password", data={
        "current_password": TEST_PASSWORD, "new_password": NEW_PASSWORD, "confirm": NEW_PASSWORD})
    assert response.status_code == 302
    assert client.get("/account/password").status_code == 200  # this browser stays logged in
    assert other.get("/account/password").status_code == 302  # the other device is logged out
    replay = app.test_client()
    replay.set_cookie("lms_session", old_cookie)
    assert replay.get("/account/password").status_code == 302  # the old cookie is dead
    client.post("/logout")
    assert auth.login("lan@example.vn", NEW_PASSWORD).status_code == 302
    db.session.refresh(person)
    assert person.must_change_password is False


@pytest.mark.parametrize("data,message", [
    ({"current_password": "wrong", "new_password": NEW_PASSWORD, "confirm": NEW_PASSWORD}, "Mật khẩu hiện tại không đúng."),
    ({"current_password": TEST_PASSWORD, "new_password": "short", "confirm": "short"}, "Mật khẩu phải có ít nhất 10 ký tự."),
    ({"current_password": TEST_PASSWORD, "new_password": "password123", "confirm": "password123"}, "quá phổ biến"),
    ({"current_password": TEST_PASSWORD, "new_password": NEW_PASSWORD, "confirm": NEW_PASSWORD + "x"}, "không khớp"),
    ({"current_password": TEST_PASSWORD, "new_password": TEST_PASSWORD, "confirm": TEST_PASSWORD}, "phải khác"),
    ({"current_password": "", "new_password": "", "confirm": ""}, "Vui lòng nhập mật khẩu hiện tại."),
])
def test_password_change_bad_input(client, auth, make_person, data, message):
    person = make_person(email="lan@example.vn")
    auth.login("lan@example.vn")
    before = person.password_hash
    response = client.post("/account/password", data=data)
    assert response.status_code == 200
    assert message in response.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(Person, person.id).password_hash == before


def test_admin_set_password_must_be_changed_at_next_login(client, auth, make_person):
    make_person(email="new@example.vn", must_change=True)
    response = auth.login("new@example.vn")
    assert response.location == "/account/password"
    forced = client.get("/")
    assert forced.status_code == 302 and forced.location == "/account/password"
    assert "Bạn cần đổi mật khẩu" in client.get("/account/password").get_data(as_text=True)
    client.post("/account/password", data={"current_password": TEST_PASSWORD, "new_password": NEW_PASSWORD,
                                           "confirm": NEW_PASSWORD})
    assert client.get("/").status_code == 200


def test_session_cookie_flags(app_factory):
    from lms.config import load_config

    production = load_config("/tmp", env={"SECRET_KEY": "x" * 40, "LMS_ENV": "production"})
    assert production["SESSION_COOKIE_SECURE"] is True
    assert production["SESSION_COOKIE_HTTPONLY"] is True
    assert production["SESSION_COOKIE_SAMESITE"] == "Lax"


@pytest.fixture
def limited(app_factory):
    def make(**extra):
        application = app_factory(RATELIMIT_ENABLED=True, RATELIMIT_KEY_PREFIX=f"t{uuid.uuid4().hex[:8]}", **extra)
        with application.app_context():
            limiter.reset()
        return application

    return make


def _fail_login(client, email, address="10.0.0.1"):
    return client.post("/login", data={"email": email, "password": "wrong-password-1"},
                       environ_base={"REMOTE_ADDR": address})


def test_login_is_rate_limited_per_account(limited, make_person):
    application = limited(LOGIN_LIMIT_ACCOUNT="3 per minute", LOGIN_LIMIT_ADDRESS="100 per minute")
    client = application.test_client()
    for i in range(3):
        assert _fail_login(client, "lan@example.vn", f"10.0.0.{i + 1}").status_code == 200
    blocked = _fail_login(client, "LAN@example.vn", "10.0.0.99")
    assert blocked.status_code == 429
    assert "Bạn đã thử quá nhiều lần" in blocked.get_data(as_text=True)
    assert blocked.headers.get("Retry-After")
    assert _fail_login(client, "other@example.vn", "10.0.0.99").status_code == 200


def test_login_is_rate_limited_per_address(limited):
    application = limited(LOGIN_LIMIT_ACCOUNT="100 per minute", LOGIN_LIMIT_ADDRESS="3 per minute")
    client = application.test_client()
    for i in range(3):
        assert _fail_login(client, f"u{i}@example.vn", "10.0.0.7").status_code == 200
    assert _fail_login(client, "u9@example.vn", "10.0.0.7").status_code == 429
    assert _fail_login(client, "u9@example.vn", "10.0.0.8").status_code == 200


def test_successful_logins_are_not_counted(limited, make_person):
    make_person(email="lan@example.vn")
    application = limited(LOGIN_LIMIT_ACCOUNT="2 per minute")
    client = application.test_client()
    for _ in range(4):
        assert client.post("/login", data={"email": "lan@example.vn", "password": TEST_PASSWORD}).status_code == 302
        client.post("/logout")


def _redis_up() -> bool:
    try:
        import redis

        return bool(redis.Redis.from_url("redis://127.0.0.1:6379/15", socket_connect_timeout=1).ping())
    except Exception:
        return False


def test_workers_share_the_login_count_through_redis(app_factory):
    if not _redis_up():
        if os.environ.get("CI"):
            pytest.fail("Redis is expected at 127.0.0.1:6379 in CI")
        pytest.skip("Redis is not running at 127.0.0.1:6379")
    prefix = f"t{uuid.uuid4().hex[:8]}"
    common = dict(RATELIMIT_ENABLED=True, RATELIMIT_STORAGE_URI="redis://127.0.0.1:6379/15",
                  RATELIMIT_KEY_PREFIX=prefix, LOGIN_LIMIT_ACCOUNT="2 per minute")
    first = app_factory(**common)
    client = first.test_client()
    assert _fail_login(client, "lan@example.vn").status_code == 200
    assert _fail_login(client, "lan@example.vn").status_code == 200
    second = app_factory(**common)  # another worker process, same Redis
    assert _fail_login(second.test_client(), "lan@example.vn", "10.9.9.9").status_code == 429


def test_password_change_guesses_are_rate_limited(limited, make_person):
    make_person(email="lan@example.vn")
    application = limited(LOGIN_LIMIT_ACCOUNT="3 per minute")
    client = application.test_client()
    client.post("/login", data={"email": "lan@example.vn", "password": TEST_PASSWORD})
    for _ in range(3):
        response = client.post("/account/password", data={"current_password": "guess-guess-1",
                                                          "new_password": NEW_PASSWORD, "confirm": NEW_PASSWORD})
        assert response.status_code == 200
    blocked = client.post("/account/password", data={"current_password": TEST_PASSWORD,
                                                     "new_password": NEW_PASSWORD, "confirm": NEW_PASSWORD})
    assert blocked.status_code == 429
    db.session.expire_all()
    from lms.passwords import verify_password

    person = db.session.scalar(sa.select(Person).where(Person.email_key == "lan@example.vn"))
    assert verify_password(person.password_hash, TEST_PASSWORD)[0]
