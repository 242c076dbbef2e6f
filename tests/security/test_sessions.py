"""Sessions (fixation, replay after logout / password change / lock, expiry, stolen database),
CSRF (missing token, another session's token, HTTPS referrer) and HTTP method confusion."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
import sqlalchemy as sa

from lms.db import db, utcnow
from lms.models import AuditEntry, LoginSession, Person, RoleAssignment
from tests.conftest import TEST_PASSWORD
from tests.security import csrf_token, login, snapshot, world  # noqa: F401  (fixture)

NEW_PASSWORD = "Một-Mật-Khẩu-Khác-Hẳn-2031"


def _cookie(client) -> str | None:
    cookie = client.get_cookie("lms_session")
    return cookie.value if cookie else None


def _replay(app, cookie: str):
    thief = app.test_client()
    thief.set_cookie("lms_session", cookie)
    return thief


def _logged_in(client) -> bool:
    response = client.get("/account/password")
    return response.status_code == 200


# -- session fixation and replay --------------------------------------------------------------

def test_pre_login_cookie_planted_by_an_attacker_gives_no_access(app, world):
    """The attacker obtains an anonymous session cookie and plants it in the victim's browser;
    after the victim logs in, the attacker's copy is still anonymous."""
    victim = app.test_client()
    victim.get("/login")
    planted = _cookie(victim)
    assert planted
    victim.post("/login", data={"email": world.ua.email, "password": TEST_PASSWORD})
    assert _logged_in(victim)
    assert _cookie(victim) != planted
    attacker = _replay(app, planted)
    assert not _logged_in(attacker)
    assert attacker.get("/admin/people/").status_code == 302


def test_login_rotates_the_csrf_secret(app_factory, world):
    """A CSRF token learned before log-in (login CSRF / fixation) is useless afterwards."""
    app = app_factory(WTF_CSRF_ENABLED=True)
    client = app.test_client()
    before_login = csrf_token(client)
    assert client.post("/login", data={"email": world.ua.email, "password": TEST_PASSWORD,
                                       "csrf_token": before_login}).status_code == 302
    response = client.post(f"/admin/people/{world.trainee_u.id}/deactivate", data={"csrf_token": before_login})
    assert response.status_code == 400
    db.session.expire_all()
    assert db.session.get(Person, world.trainee_u.id).active


def test_cookie_is_dead_after_logout(app, world):
    client = login(app, world.ua.email)
    stolen = _cookie(client)
    client.post("/logout")
    assert not _logged_in(_replay(app, stolen))


def test_cookie_is_dead_after_the_account_is_locked_and_stays_dead_after_unlock(app, world):
    victim = login(app, world.trainee_u.email)
    stolen = _cookie(victim)
    boss = login(app, world.admin.email)
    assert boss.post(f"/admin/people/{world.trainee_u.id}/deactivate").status_code == 302
    assert not _logged_in(victim)
    assert not _logged_in(_replay(app, stolen))
    assert boss.post(f"/admin/people/{world.trainee_u.id}/reactivate").status_code == 302
    assert not _logged_in(_replay(app, stolen))  # unlocking does not revive old sessions


def test_cookie_is_dead_after_an_administrator_resets_the_password(app, world):
    victim = login(app, world.trainee_u.email)
    stolen = _cookie(victim)
    boss = login(app, world.ua.email)
    assert boss.post(f"/admin/people/{world.trainee_u.id}/password", data={"pw-password": NEW_PASSWORD}
                     ).status_code == 302
    assert not _logged_in(_replay(app, stolen))
    assert not _logged_in(victim)


def test_cookie_is_dead_after_the_person_changes_their_password(app, world):
    client = login(app, world.trainee_u.email)
    other_device = login(app, world.trainee_u.email)
    stolen = _cookie(client)
    assert client.post("/account/password", data={"current_password": TEST_PASSWORD, "new_password": NEW_PASSWORD,
                                                   "confirm": NEW_PASSWORD}).status_code == 302
    assert _logged_in(client)
    assert _cookie(client) != stolen
    assert not _logged_in(_replay(app, stolen))
    assert not _logged_in(other_device)


def test_expired_login_session_is_refused(app, world):
    client = login(app, world.trainee_u.email)
    db.session.execute(sa.update(LoginSession).values(expires_at=utcnow() - timedelta(seconds=1)))
    db.session.commit()
    assert not _logged_in(client)


def test_a_copy_of_the_database_gives_no_usable_cookie(app, world):
    """The database stores a hash of the session token: putting the stored value in a cookie
    (or a forged session without the secret key) does not log anyone in."""
    client = login(app, world.admin.email)
    stored = db.session.scalar(sa.select(LoginSession.token_hash))
    forged = app.test_client()
    with forged.session_transaction() as s:
        s["_user_id"] = stored
        s["_fresh"] = True
    assert not _logged_in(forged)
    assert forged.get("/admin/people/").status_code == 302
    # a cookie signed with another key is ignored
    other = app.test_client()
    other.set_cookie("lms_session", _cookie(client)[:-3] + "AAA")
    assert not _logged_in(other)


def test_session_id_is_not_the_person_id(app, world):
    client = login(app, world.ua.email)
    with client.session_transaction() as s:
        user_id = s["_user_id"]
    assert user_id != str(world.ua.id) and len(user_id) >= 40
    probe = app.test_client()
    with probe.session_transaction() as s:
        s["_user_id"] = str(world.admin.id)
    assert not _logged_in(probe)


def test_forced_password_change_blocks_every_other_action(app, world, make_person):
    """An account with an administrator-set password (e.g. a stolen initial password) must change it
    before using any rights, including POSTs."""
    boss = make_person(name="Quản Trị Mới", email="newadmin@example.vn", unit=world.root, roles=("admin",),
                       must_change=True)
    client = app.test_client()
    assert client.post("/login", data={"email": boss.email, "password": TEST_PASSWORD}).location == "/account/password"
    before = snapshot()
    for method, path, data in (
        ("GET", "/admin/people/", None),
        ("POST", "/admin/people/new", {"full_name": "Ai Đó", "email": "x@example.vn", "unit": world.u.id,
                                       "roles": ["trainee"], "on": "2025-01-02", "password": TEST_PASSWORD,
                                       "employment_type": "civil_servant"}),
        ("POST", f"/admin/people/{world.trainee_u.id}/deactivate", {}),
        ("POST", f"/admin/people/{world.admin.id}/password", {"pw-password": NEW_PASSWORD}),
        ("POST", f"/admin/units/{world.u.id}/close", {"close-on": "2025-01-02"}),
        ("GET", "/admin/import/template.xlsx", None),
        ("GET", "/admin/audit/", None),
    ):
        response = client.open(path, method=method, data=data)
        assert response.status_code == 302 and response.location == "/account/password", path
    assert snapshot() == before


# -- CSRF -------------------------------------------------------------------------------------

def _rules_with_post(app):
    return [r for r in app.url_map.iter_rules() if "POST" in r.methods and r.endpoint not in ("static",)]


def _fill(rule, world) -> str:
    values = {"person_id": world.trainee_u.id, "unit_id": world.u.id, "assignment_id": world.trainee_u.roles[0].id,
              "token": "t" * 43}
    path = rule.rule
    for arg in rule.arguments:
        if arg == "action":
            choices = re.search(r"any\(([^)]*)\)", path).group(1).split(",")
            path = re.sub(r"<any\([^)]*\):action>", choices[0].strip(" '"), path)
        else:
            path = re.sub(rf"<(?:[^:<>]+:)?{arg}>", str(values.get(arg, 1)), path)  # CSRF is checked first
    return path


def test_anonymous_posts_need_a_csrf_token(app_factory, world):
    app = app_factory(WTF_CSRF_ENABLED=True)
    client = app.test_client()
    client.get("/login")
    before = snapshot()
    response = client.post("/login", data={"email": world.admin.email, "password": TEST_PASSWORD})
    assert response.status_code == 400  # login CSRF: no forced log-in into the attacker's account
    response = client.post("/language", data={"locale": "en", "next": "/"})
    assert response.status_code == 400
    with client.session_transaction() as s:
        assert "locale" not in s and "_user_id" not in s
    assert snapshot() == before


def test_every_post_refuses_another_sessions_token(app_factory, world):
    app = app_factory(WTF_CSRF_ENABLED=True)
    attacker = app.test_client()
    attacker.post("/login", data={"email": world.trainee_v.email, "password": TEST_PASSWORD,
                                  "csrf_token": csrf_token(attacker)})
    foreign = csrf_token(attacker, "/account/password")
    victim = app.test_client()
    assert victim.post("/login", data={"email": world.admin.email, "password": TEST_PASSWORD,
                                       "csrf_token": csrf_token(victim)}).status_code == 302
    before = snapshot()
    checked = 0
    for rule in _rules_with_post(app):
        if rule.endpoint == "auth.logout":
            continue
        for token in (foreign, foreign[:-4] + "AAAA", "", "null"):
            response = victim.post(_fill(rule, world), data={"csrf_token": token, "locale": "en"})
            assert response.status_code == 400, (rule.endpoint, token)
        # a token in a header from another session is refused too
        response = victim.post(_fill(rule, world), headers={"X-CSRFToken": foreign})
        assert response.status_code == 400, rule.endpoint
        checked += 1
    assert checked >= 8
    assert victim.post("/logout", data={"csrf_token": foreign}).status_code == 400
    assert _logged_in(victim)
    assert snapshot() == before
    # the victim's own token still works (so the refusals above are about the token)
    own = csrf_token(victim, "/account/password")
    assert victim.post(f"/admin/people/{world.trainee_u.id}/deactivate", data={"csrf_token": own}).status_code == 302


def test_https_post_from_another_origin_is_refused(app_factory, world):
    app = app_factory(WTF_CSRF_ENABLED=True)
    client = app.test_client()
    base = "https://lms.example.vn"
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"',
                      client.get("/login", base_url=base).get_data(as_text=True)).group(1)
    response = client.post("/login", base_url=base, headers={"Referer": "https://evil.example/"},
                           data={"email": world.admin.email, "password": TEST_PASSWORD, "csrf_token": token})
    assert response.status_code == 400
    response = client.post("/login", base_url=base, data={"email": world.admin.email, "password": TEST_PASSWORD,
                                                          "csrf_token": token})
    assert response.status_code == 400  # no Referer at all over HTTPS
    response = client.post("/login", base_url=base, headers={"Referer": base + "/login"},
                           data={"email": world.admin.email, "password": TEST_PASSWORD, "csrf_token": token})
    assert response.status_code == 302


# -- HTTP method confusion ----------------------------------------------------------------------

def test_state_changing_routes_refuse_other_methods(app, world):
    client = login(app, world.admin.email)
    before = snapshot()
    checked = 0
    readable = {r.rule for r in app.url_map.iter_rules() if "GET" in r.methods}
    for rule in app.url_map.iter_rules():
        if rule.endpoint == "static" or "GET" in rule.methods or rule.rule in readable:
            continue  # (a POST sharing its path with a page answers GET with that page)
        path = _fill(rule, world)
        for method in ("GET", "PUT", "DELETE", "PATCH"):
            response = client.open(path, method=method)
            assert response.status_code == 405, (method, path)
            assert "POST" in response.headers.get("Allow", ""), path
        checked += 1
    assert checked >= 6
    assert snapshot() == before
    assert _logged_in(client)


def test_method_override_headers_are_not_honoured(app, world):
    client = login(app, world.admin.email)
    before = snapshot()
    for header in ("X-HTTP-Method-Override", "X-HTTP-Method", "X-Method-Override"):
        response = client.get(f"/admin/people/{world.trainee_u.id}/deactivate", headers={header: "POST"})
        assert response.status_code == 405
        response = client.get(f"/admin/people/{world.trainee_u.id}/deactivate?_method=POST")
        assert response.status_code == 405
    assert snapshot() == before


def test_get_pages_change_nothing(app, world):
    """Every GET an administrator can open leaves the data as it was (no state change by link)."""
    client = login(app, world.admin.email)
    before = snapshot()
    audit = db.session.scalar(sa.select(sa.func.count()).select_from(AuditEntry))
    roles = db.session.scalar(sa.select(sa.func.count()).select_from(RoleAssignment))
    for path in ("/", "/login?next=/admin/people/", "/healthz", "/account/password", "/admin/people/",
                 f"/admin/people/{world.trainee_u.id}", "/admin/people/new", "/admin/units/",
                 f"/admin/units/{world.u.id}", "/admin/units/new", "/admin/audit/", "/admin/import/",
                 "/admin/import/template.xlsx", "/admin/import/" + "t" * 43, "/logout", "/language"):
        assert client.get(path).status_code in (200, 302, 404, 405), path
    assert snapshot() == before
    assert db.session.scalar(sa.select(sa.func.count()).select_from(AuditEntry)) == audit
    assert db.session.scalar(sa.select(sa.func.count()).select_from(RoleAssignment)) == roles
    assert _logged_in(client)


@pytest.mark.parametrize("path", ["/logout", "/language"])
def test_logout_and_language_are_post_only(app, world, path):
    client = login(app, world.admin.email)
    assert client.get(path + "?locale=en&next=//evil.example").status_code == 405
    assert _logged_in(client)
    assert "Đăng xuất" in client.get("/").get_data(as_text=True)  # still Vietnamese
