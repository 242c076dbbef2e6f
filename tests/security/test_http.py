"""HTTP surface: open redirects, security headers and cookie flags, error pages that leak
nothing, header injection through file names, and odd query strings that must not crash."""

from __future__ import annotations

import re
from urllib.parse import quote

import pytest

from lms.db import db
from lms.models import ImportBatch
from tests.conftest import TEST_PASSWORD
from tests.security import ON_POSTGRES, login, roster_csv, upload, world  # noqa: F401  (fixture)

EVIL_NEXT = [
    "https://evil.example/", "http://evil.example", "//evil.example", "///evil.example", "////evil.example/x",
    "/\\evil.example", "\\\\evil.example", "\\/evil.example", "/\\/evil.example", " //evil.example",
    "\t//evil.example", "\n//evil.example", "/\t/evil.example", "/\r\n/evil.example", "//evil.example/%2f..",
    "https:evil.example", "http:/evil.example", "javascript:alert(1)", "JaVaScRiPt:alert(1)",
    "data:text/html,<script>alert(1)</script>", "evil.example", ".evil.example", "@evil.example",
    "/%0d%0aLocation:%20https://evil.example", "/\x00//evil.example", "https://lms.example.vn@evil.example/",
    "\u3000//evil.example", "/\u2028/evil.example",
]


def _is_local(location: str) -> bool:
    return location.startswith("/") and not location.startswith("//") and "\\" not in location \
        and not re.search(r"[\x00-\x1f\x7f]", location)


# -- open redirects ---------------------------------------------------------------------------

def test_login_next_never_leaves_the_site(app, world):
    for target in EVIL_NEXT:
        client = app.test_client()
        response = client.post("/login?next=" + quote(target, safe=""), data={"email": world.trainee_u.email,
                                                                                "password": TEST_PASSWORD})
        if "\x00" in target:  # a NUL byte is refused at the door
            assert response.status_code == 400, target
            continue
        assert response.status_code == 302, target
        assert _is_local(response.location), (target, response.location)
        # and when already logged in (the GET shortcut)
        again = client.get("/login?next=" + quote(target, safe=""))
        assert again.status_code == 302 and _is_local(again.location), (target, again.location)


def test_language_next_never_leaves_the_site(app):
    client = app.test_client()
    for target in EVIL_NEXT:
        response = client.post("/language", data={"locale": "en", "next": target})
        if "\x00" in target:  # a NUL byte is refused at the door
            assert response.status_code == 400, target
            continue
        assert response.status_code == 302, target
        assert _is_local(response.location), (target, response.location)


def test_local_next_is_kept(app, world):
    client = app.test_client()
    assert client.post("/language", data={"locale": "en", "next": "/admin/people/?q=a&page=2"}
                       ).location == "/admin/people/?q=a&page=2"
    response = client.post("/login?next=" + quote("/admin/people/?q=a", safe=""),
                           data={"email": world.ua.email, "password": TEST_PASSWORD})
    assert response.location == "/admin/people/?q=a"


# -- headers and cookies ----------------------------------------------------------------------

REQUIRED_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
}


def _check_headers(response, where):
    for name, value in REQUIRED_HEADERS.items():
        assert response.headers.get(name) == value, (where, name)
    csp = response.headers.get("Content-Security-Policy", "")
    for directive in ("default-src 'self'", "script-src 'self'", "object-src 'none'", "frame-ancestors 'none'",
                      "base-uri 'self'", "form-action 'self'"):
        assert directive in csp, (where, directive)
    assert "unsafe-inline" not in csp and "unsafe-eval" not in csp, where


def test_security_headers_on_every_kind_of_response(app_factory, world):
    app = app_factory(WTF_CSRF_ENABLED=True)
    anonymous = app.test_client()
    for path in ("/", "/login", "/no-such-page", "/static/css/app.css", "/healthz", "/admin/people/"):
        _check_headers(anonymous.get(path), path)
    _check_headers(anonymous.post("/language", data={}), "csrf 400")
    _check_headers(anonymous.get("/logout"), "405")
    client = app.test_client()
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"',
                      client.get("/login").get_data(as_text=True)).group(1)
    client.post("/login", data={"email": world.admin.email, "password": TEST_PASSWORD, "csrf_token": token})
    for path in ("/admin/people/", f"/admin/people/{world.trainee_u.id}", "/admin/import/template.xlsx",
                 "/admin/people/999999"):
        response = client.get(path)
        _check_headers(response, path)
        assert "no-store" in response.headers.get("Cache-Control", "") or path.endswith(".xlsx"), path
    template = client.get("/admin/import/template.xlsx")
    assert "public" not in template.headers.get("Cache-Control", "")
    assert re.search(r"no-(store|cache)", template.headers.get("Cache-Control", ""))


def test_hsts_outside_development_and_testing(app_factory):
    app = app_factory(TESTING=False, DEBUG=False)
    response = app.test_client().get("/login")
    assert response.headers.get("Strict-Transport-Security", "").startswith("max-age=")
    assert int(response.headers["Strict-Transport-Security"].split("=")[1].split(";")[0]) >= 15552000


def test_session_cookie_flags(app, world):
    response = app.test_client().post("/login", data={"email": world.ua.email, "password": TEST_PASSWORD})
    cookie = response.headers["Set-Cookie"]
    assert cookie.startswith("lms_session=")
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie
    from lms.config import load_config

    production = load_config("/tmp", env={"SECRET_KEY": "x" * 40})
    assert production["SESSION_COOKIE_SECURE"] and production["REMEMBER_COOKIE_SECURE"]
    assert production["DEBUG"] is False and production["TESTING"] is False


def test_production_refuses_a_missing_or_weak_secret_key():
    from lms.config import ConfigError, load_config

    for env in ({}, {"SECRET_KEY": ""}, {"SECRET_KEY": "short"}):
        with pytest.raises(ConfigError):
            load_config("/tmp", env=env)


# -- error pages ------------------------------------------------------------------------------

def test_crash_page_leaks_no_stack_trace(app_factory):
    app = app_factory()

    @app.get("/__boom")
    def boom():
        raise RuntimeError("secret-detail: password=hunter2 at /srv/lms/lms/services/people.py")

    boom.access = "public"
    response = app.test_client().get("/__boom")
    assert response.status_code == 500
    body = response.get_data(as_text=True)
    for leak in ("secret-detail", "hunter2", "Traceback", "RuntimeError", "/srv/lms", "werkzeug", "File \""):
        assert leak not in body, leak
    assert "Lỗi hệ thống" in body


def test_not_found_and_method_pages_leak_nothing(app, world):
    client = login(app, world.admin.email)
    for path in ("/admin/people/999999", "/admin/units/999999", "/admin/import/" + "x" * 43, "/nope"):
        response = client.get(path)
        assert response.status_code == 404
        body = response.get_data(as_text=True)
        assert "Traceback" not in body and "sqlalchemy" not in body.lower()


ODD_QUERIES = [
    "/admin/people/?page=-1", "/admin/people/?page=abc", "/admin/people/?page=99999999999999999999999",
    "/admin/people/?unit=abc", "/admin/people/?unit=-1", "/admin/people/?unit=99999999999999999999999",
    "/admin/people/?title=%3Cx%3E&employment=%3Cy%3E&role=%27&key=2&active=x", "/admin/people/?q=" + "a" * 5000,
    "/admin/people/?q=%E2%80%AE%F0%9F%98%80", "/admin/people/?q=%ff%fe", "/admin/people/?q=a&q=b",
    "/admin/audit/?from=2024-02-31&to=0001-01-01", "/admin/audit/?from=9999-12-31",
    "/admin/audit/?from=1-1-1&page=0", "/admin/audit/?action=" + "%25" * 100, "/admin/audit/?actor=%5C",
    "/admin/units/?closed=%00", "/admin/people/new?unit=abc", "/admin/people/new?unit=99999999999999999999999",
    "/admin/units/new?parent=-5", "/admin/units/new?parent=99999999999999999999999",
    "/admin/import/" + "a" * 500, "/admin/people/-1", "/admin/units/0",
]


def test_odd_query_strings_do_not_crash(app, world):
    client = login(app, world.admin.email)
    crashed = [path for path in ODD_QUERIES if client.get(path).status_code >= 500]
    assert not crashed


def test_huge_ids_give_404_not_500(app, world):
    client = login(app, world.admin.email)
    huge = "99999999999999999999999"
    crashed = []
    for method, path in (("GET", f"/admin/people/{huge}"), ("GET", f"/admin/units/{huge}"),
                         ("POST", f"/admin/people/{huge}/edit"), ("POST", f"/admin/units/{huge}/edit"),
                         ("POST", f"/admin/people/{world.trainee_u.id}/roles/{huge}/revoke")):
        if client.open(path, method=method).status_code >= 500:
            crashed.append(path)
    assert not crashed


def test_audit_date_filters_at_the_edges_do_not_crash(app, world):
    client = login(app, world.admin.email)
    for args in ("to=9999-12-31", "from=9999-12-31&to=9999-12-31", "from=0001-01-01&to=0001-01-01",
                 "to=" + "9" * 50, "from=2024-13-01"):
        assert client.get("/admin/audit/?" + args).status_code == 200, args


NUL_QUERIES = ["/admin/people/?q=a%00b", "/admin/audit/?actor=a%00b", "/admin/audit/?action=a%00b",
               "/admin/import/%00"]


def test_nul_bytes_do_not_crash(app, world):
    client = login(app, world.admin.email)
    crashed = [path for path in NUL_QUERIES if client.get(path).status_code >= 500]
    response = app.test_client().post("/login", data={"email": world.ua.email, "password": TEST_PASSWORD},
                                      headers={"User-Agent": "Mozilla/5.0\x00evil"})
    if response.status_code >= 500:
        crashed.append("login with a NUL in User-Agent")
    assert not crashed


# -- header injection through file names ------------------------------------------------------

def test_template_download_has_a_fixed_safe_file_name(app, world):
    client = login(app, world.ua.email)
    response = client.get("/admin/import/template.xlsx?download_name=evil.html&filename=x%0d%0aSet-Cookie:a=b")
    assert response.status_code == 200
    assert response.headers["Content-Disposition"] == "attachment; filename=mau-danh-sach-nguoi-dung.xlsx"
    assert response.mimetype == "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    assert "a=b" not in response.headers.get("Set-Cookie", "")


FILENAMES = [
    "x\r\nSet-Cookie: pwn=1\r\n.csv", '"><img src=x onerror=alert(1)>.csv', "../../etc/passwd",
    "..\\..\\windows\\win.ini", "=HYPERLINK(\"http://evil\").csv", "\u202ecod.exe.csv", "a" * 1000 + ".csv",
]


def test_uploaded_file_name_is_inert(app, world):
    client = login(app, world.ua.email)
    for filename in FILENAMES:
        response = upload(client, roster_csv(("Người Mới", "moi@example.vn", "U", "", "")), filename)
        assert response.status_code in (200, 422), filename
        for name, value in response.headers.items():
            assert "pwn" not in name.lower() and "pwn" not in value, filename
        body = response.get_data(as_text=True)
        assert "<img src=x" not in body and "\u202e" not in body, filename
    batches = db.session.query(ImportBatch).all()
    assert len(batches) >= 4  # (the test client cannot send some of the names at all)
    for batch in batches:
        assert "/" not in batch.filename and "\\" not in batch.filename and "\r" not in batch.filename
        assert not batch.filename.startswith(("=", "+", "-", "@")) and len(batch.filename) <= 120
        assert "<" not in batch.filename and '"' not in batch.filename and "\u202e" not in batch.filename


def test_static_files_cannot_escape_their_folder(app):
    client = app.test_client()
    for path in ("/static/../config.py", "/static/..%2f..%2fapp.py", "/static/%2e%2e/%2e%2e/app.py",
                 "/static/....//....//app.py", "/static/css/..%5c..%5c..%5capp.py", "/static//etc/passwd"):
        response = client.get(path)
        assert response.status_code in (404, 400, 308), path
        assert b"create_app" not in response.data and b"root:" not in response.data, path
