"""Password guessing and account discovery: identical answers for unknown, wrong and locked
accounts, equal work (timing), and rate limits that e-mail spelling or forged proxy headers
cannot get around."""

from __future__ import annotations

import re
import uuid

import pytest
from argon2 import PasswordHasher

from lms.db import db
from lms.extensions import limiter
from tests.conftest import TEST_PASSWORD

GENERIC = "Thư điện tử hoặc mật khẩu không đúng."


@pytest.fixture
def accounts(make_person, make_unit):
    unit = make_unit(name="Sở Tư pháp", code="STP")
    lan = make_person(name="Trần Thị Lan", email="lan@example.vn", unit=unit)
    # An account made before addresses had to be plain ASCII (issue 7: new ones are refused) still
    # logs in, by any spelling of its address.
    lan_vi = make_person(name="Lê Văn Lân", email="lan.vi@example.vn", unit=unit)
    lan_vi.email, lan_vi.email_key = "lân@example.vn", "lân@example.vn"
    locked = make_person(name="Người Bị Khóa", email="locked@example.vn", unit=unit)
    locked.active = False
    db.session.commit()
    return {"lan": lan, "lan_vi": lan_vi, "locked": locked}


def _body(response) -> str:
    return re.sub(r'value="[^"]*"', 'value=""', response.get_data(as_text=True))


def test_unknown_wrong_and_locked_accounts_get_the_same_answer(app, accounts):
    client = app.test_client()
    answers = []
    for email, password in (("nobody@example.vn", TEST_PASSWORD), ("lan@example.vn", "wrong-password-1"),
                            ("locked@example.vn", TEST_PASSWORD), ("locked@example.vn", "wrong-password-1")):
        response = client.post("/login", data={"email": email, "password": password})
        assert response.status_code == 200 and GENERIC in response.get_data(as_text=True)
        answers.append(_body(response).replace(email, "EMAIL"))
    assert len(set(answers)) == 1


def test_unknown_accounts_cost_the_same_password_work(app, accounts, monkeypatch):
    """A missing account still runs one argon2 verification, so response time does not reveal
    which e-mail addresses have accounts."""
    calls = []
    original = PasswordHasher.verify

    def counting(self, hash, password):
        calls.append(1)
        return original(self, hash, password)

    monkeypatch.setattr(PasswordHasher, "verify", counting)
    client = app.test_client()
    counts = {}
    for email in ("nobody@example.vn", "lan@example.vn", "locked@example.vn"):
        calls.clear()
        client.post("/login", data={"email": email, "password": "wrong-password-1"})
        counts[email] = len(calls)
    assert set(counts.values()) == {1}, counts


@pytest.fixture
def limited(app_factory):
    def make(**extra):
        application = app_factory(RATELIMIT_ENABLED=True, RATELIMIT_KEY_PREFIX=f"sec{uuid.uuid4().hex[:8]}", **extra)
        with application.app_context():
            limiter.reset()
        return application

    return make


# Spellings of an address that log in to the same account.
SAME_ACCOUNT = {
    "lan": ["LAN@EXAMPLE.VN", "  lan@example.vn  ", "Lan@Example.Vn", "lan@example.vn\u00a0", "\tlan@example.vn",
            "l\u200ban@example.vn", "lan@example.vn\ufeff", "\u202elan@example.vn",
            "lan@example.vn\x00", "lan\x07@example.vn"],
    "lan_vi": ["la\u0302n@example.vn", "LÂN@example.vn", "LA\u0302N@EXAMPLE.VN", " lân@example.vn"],
}


def test_every_spelling_that_logs_in_shares_one_rate_limit(app, limited, accounts):
    # 1. each spelling really opens the account (limits off) ...
    for spellings in SAME_ACCOUNT.values():
        for spelling in spellings:
            client = app.test_client()
            response = client.post("/login", data={"email": spelling, "password": TEST_PASSWORD})
            if "\x00" in spelling:  # a NUL byte is refused at the door: no log-in, no guess
                assert response.status_code == 400, repr(spelling)
                continue
            assert response.status_code == 302, spelling
    # 2. ... so once the account's budget is used up, none of them gets through, even with the
    #    right password and from another address.
    application = limited(LOGIN_LIMIT_ACCOUNT="3 per minute", LOGIN_LIMIT_ADDRESS="1000 per minute")
    client = application.test_client()
    for key, spellings in SAME_ACCOUNT.items():
        base = accounts[key].email
        for n in range(3):
            assert client.post("/login", data={"email": base, "password": "wrong-password-1"},
                               environ_base={"REMOTE_ADDR": f"10.1.0.{n}"}).status_code == 200
        for n, spelling in enumerate(spellings):
            response = client.post("/login", data={"email": spelling, "password": TEST_PASSWORD},
                                   environ_base={"REMOTE_ADDR": f"10.2.0.{n}"})
            assert response.status_code == (400 if "\x00" in spelling else 429), repr(spelling)


def test_lookalike_spellings_do_not_open_the_account(app, accounts):
    """Spellings that would get a rate-limit bucket of their own must not log in either."""
    client = app.test_client()
    for spelling in ("ｌａｎ@example.vn", "lan@example.vn.", "lan@еxample.vn", "lan+x@example.vn", "lan@EXAMPLE.VN.", "lan @example.vn"):
        response = client.post("/login", data={"email": spelling, "password": TEST_PASSWORD})
        assert response.status_code != 302, repr(spelling)


def test_forged_forwarding_headers_do_not_reset_the_address_limit(limited, accounts):
    application = limited(LOGIN_LIMIT_ACCOUNT="1000 per minute", LOGIN_LIMIT_ADDRESS="3 per minute")
    client = application.test_client()
    for n in range(3):
        client.post("/login", data={"email": f"u{n}@example.vn", "password": "wrong-password-1"},
                    environ_base={"REMOTE_ADDR": "10.0.0.7"})
    for n, headers in enumerate(({"X-Forwarded-For": "1.2.3.4"}, {"X-Real-IP": "1.2.3.5"},
                                 {"Forwarded": "for=1.2.3.6"}, {"X-Forwarded-For": "10.0.0.8, 10.0.0.9"},
                                 {"True-Client-IP": "1.2.3.7"}, {"CF-Connecting-IP": "1.2.3.8"})):
        response = client.post("/login", data={"email": f"v{n}@example.vn", "password": "wrong-password-1"},
                               headers=headers, environ_base={"REMOTE_ADDR": "10.0.0.7"})
        assert response.status_code == 429, headers


def test_behind_one_proxy_only_the_proxys_hop_is_trusted(limited, accounts):
    """With LMS_PROXY_COUNT=1 the client cannot pick its address by prepending to X-Forwarded-For."""
    application = limited(LOGIN_LIMIT_ACCOUNT="1000 per minute", LOGIN_LIMIT_ADDRESS="3 per minute", PROXY_COUNT=1)
    client = application.test_client()
    for n in range(3):
        client.post("/login", data={"email": f"u{n}@example.vn", "password": "wrong-password-1"},
                    headers={"X-Forwarded-For": f"9.9.9.{n}, 203.0.113.5"})
    response = client.post("/login", data={"email": "w@example.vn", "password": "wrong-password-1"},
                           headers={"X-Forwarded-For": "8.8.8.8, 203.0.113.5"})
    assert response.status_code == 429


def test_blocked_attempts_are_not_checked_at_all(limited, accounts, monkeypatch):
    """Once limited, the password is not even verified (no oracle through the 429 page)."""
    application = limited(LOGIN_LIMIT_ACCOUNT="2 per minute", LOGIN_LIMIT_ADDRESS="1000 per minute")
    client = application.test_client()
    for _ in range(2):
        client.post("/login", data={"email": "lan@example.vn", "password": "wrong-password-1"})
    calls = []
    original = PasswordHasher.verify
    monkeypatch.setattr(PasswordHasher, "verify", lambda self, h, p: calls.append(1) or original(self, h, p))
    right = client.post("/login", data={"email": "lan@example.vn", "password": TEST_PASSWORD})
    wrong = client.post("/login", data={"email": "lan@example.vn", "password": "wrong-password-2"})
    assert right.status_code == wrong.status_code == 429
    assert _body(right) == _body(wrong)
    assert calls == []


def test_a_json_body_does_not_escape_the_account_limit(limited, accounts):
    application = limited(LOGIN_LIMIT_ACCOUNT="3 per minute", LOGIN_LIMIT_ADDRESS="1000 per minute")
    client = application.test_client()
    for n in range(3):
        client.post("/login", data={"email": "lan@example.vn", "password": "wrong-password-1"},
                    environ_base={"REMOTE_ADDR": f"10.3.0.{n}"})
    # the account's budget is used up: more guesses, in any body format, are refused
    # a JSON body is not read at all: no password is checked, so nothing escapes the limit
    guess = client.post("/login", json={"email": "lan@example.vn", "password": "wrong-password-2"},
                        environ_base={"REMOTE_ADDR": "10.3.1.1"})
    assert guess.status_code in (200, 429)
    assert "Thư điện tử hoặc mật khẩu không đúng." not in guess.get_data(as_text=True)
    right = client.post("/login", json={"email": "lan@example.vn", "password": TEST_PASSWORD},
                        environ_base={"REMOTE_ADDR": "10.3.1.2"})
    assert right.status_code != 302
