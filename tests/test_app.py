"""The app factory, configuration, error pages, security headers, languages."""

from __future__ import annotations

import pytest

from lms.config import ConfigError, load_config
from tests.conftest import TEST_PASSWORD


def test_production_refuses_to_start_without_a_secret():
    with pytest.raises(ConfigError, match="SECRET_KEY"):
        load_config("/tmp", env={"LMS_ENV": "production"})
    with pytest.raises(ConfigError, match="32"):
        load_config("/tmp", env={"LMS_ENV": "production", "SECRET_KEY": "short"})


def test_app_factory_refuses_without_secret(monkeypatch):
    from lms import create_app

    monkeypatch.setenv("LMS_ENV", "production")
    monkeypatch.delenv("SECRET_KEY", raising=False)
    with pytest.raises(ConfigError):
        create_app()


def test_configuration_from_environment():
    config = load_config("/srv/instance", env={
        "LMS_ENV": "production", "SECRET_KEY": "s" * 40, "DATABASE_URL": "postgres://u@db/lms",
        "REDIS_URL": "redis://cache:6379/0", "LMS_TIMEZONE": "Asia/Bangkok", "LMS_DEFAULT_LOCALE": "en",
        "LMS_PUBLIC_BASE_URL": "https://daotao.example.gov.vn/", "LMS_MAX_UPLOAD_MB": "50", "LMS_PROXY_COUNT": "1",
    })
    assert config["SQLALCHEMY_DATABASE_URI"] == "postgresql+psycopg://u@db/lms"
    assert config["RATELIMIT_STORAGE_URI"] == "redis://cache:6379/0"
    assert config["LMS_TIMEZONE"] == "Asia/Bangkok" and config["BABEL_DEFAULT_LOCALE"] == "en"
    assert config["PUBLIC_BASE_URL"] == "https://daotao.example.gov.vn"
    assert config["MAX_CONTENT_LENGTH"] == 50 * 1024 * 1024 and config["PROXY_COUNT"] == 1
    assert config["SESSION_COOKIE_SECURE"] is True
    defaults = load_config("/srv/instance", env={"LMS_ENV": "development"})
    assert defaults["SQLALCHEMY_DATABASE_URI"] == "sqlite:////srv/instance/lms.sqlite3"
    assert defaults["RATELIMIT_STORAGE_URI"] == "memory://"
    assert defaults["LMS_TIMEZONE"] == "Asia/Ho_Chi_Minh" and defaults["BABEL_DEFAULT_LOCALE"] == "vi"


@pytest.mark.parametrize("env", [{"LMS_ENV": "staging"}, {"LMS_ENV": "development", "LMS_MAX_UPLOAD_MB": "lots"},
                                 {"LMS_ENV": "development", "LMS_PROXY_COUNT": "-1"}])
def test_bad_configuration_is_refused(env):
    with pytest.raises(ConfigError):
        load_config("/tmp", env=env)


def test_lms_package_imports_no_feature_package():
    import ast
    import pathlib

    features = {"courses", "quizzes", "certificates", "reports", "app"}
    for path in pathlib.Path("lms").rglob("*.py"):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else \
                [node.module or ""] if isinstance(node, ast.ImportFrom) else []
            for name in names:
                assert name.split(".")[0] not in features, f"{path} imports {name}"


def test_security_headers(client):
    response = client.get("/login")
    assert "default-src 'self'" in response.headers["Content-Security-Policy"]
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["X-Frame-Options"] == "DENY"


def test_assets_are_served_by_the_app(client):
    page = client.get("/login").get_data(as_text=True)
    assert "cdn" not in page.lower() and "https://" not in page
    assert client.get("/bootstrap/static/css/bootstrap.min.css").status_code == 200
    assert client.get("/static/css/app.css").status_code == 200


def test_friendly_error_pages(app_factory, make_person):
    app = app_factory(MAX_CONTENT_LENGTH=1024)

    @app.get("/boom")
    def boom():
        raise RuntimeError("secret internal detail")

    boom.access = "public"
    client = app.test_client()
    not_found = client.get("/no-such-page")
    assert not_found.status_code == 404 and "Không tìm thấy trang" in not_found.get_data(as_text=True)
    crash = client.get("/boom")
    assert crash.status_code == 500
    text = crash.get_data(as_text=True)
    assert "Lỗi hệ thống" in text and "secret internal detail" not in text and "Traceback" not in text
    too_big = client.post("/login", data={"email": "a@b.vn", "password": "x" * 5000})
    assert too_big.status_code == 413 and "Tệp quá lớn" in too_big.get_data(as_text=True)
    wrong_method = client.delete("/login")
    assert wrong_method.status_code == 405 and "Thao tác không được phép" in wrong_method.get_data(as_text=True)
    trainee = make_person(email="t@example.vn")
    client.post("/login", data={"email": trainee.email, "password": TEST_PASSWORD})
    forbidden = client.get("/admin/people/")
    assert forbidden.status_code == 403 and "Không có quyền truy cập" in forbidden.get_data(as_text=True)


def test_switch_language_to_english_and_back(client, make_person):
    assert "Đăng nhập" in client.get("/login").get_data(as_text=True)
    client.post("/language", data={"locale": "en", "next": "/login"})
    page = client.get("/login").get_data(as_text=True)
    assert '<html lang="en">' in page and "Log in" in page
    client.post("/language", data={"locale": "xx"})
    assert '<html lang="en">' in client.get("/login").get_data(as_text=True)
    client.post("/language", data={"locale": "vi", "next": "https://evil.example/"})
    assert "Đăng nhập" in client.get("/login").get_data(as_text=True)


def test_templates_translate_pages_macros_and_forced_locales(app):
    """Messages in templates follow the page's language, in the page itself, in macros imported
    without its context, in escaped variables, and under ``force_locale`` (e-mails, jobs)."""
    from flask import render_template_string
    from flask_babel import force_locale

    source = ('{% from "courses/_macros.html" import tags %}{{ _("Đăng xuất") }}|'
              '{{ _("Xin chào, %(name)s", name="<b>") }}|{{ tags(course) }}')
    course = type("Course", (), {"conventions": [], "contents": []})()
    with app.test_request_context("/"):
        vi = render_template_string(source, course=course)
        with force_locale("en"):
            en = render_template_string(source, course=course)
        again = render_template_string(source, course=course)
    assert vi.startswith("Đăng xuất|Xin chào, &lt;b&gt;|") and 'aria-label="Chủ đề"' in vi
    assert en.startswith("Log out|") and "&lt;b&gt;" in en and "Chủ đề" not in en
    assert again == vi


def test_language_choice_is_remembered_for_the_account(app, client, make_person):
    person = make_person(email="en@example.vn")
    client.post("/login", data={"email": person.email, "password": TEST_PASSWORD})
    client.post("/language", data={"locale": "en"})
    other = app.test_client()
    other.post("/login", data={"email": person.email, "password": TEST_PASSWORD})
    assert '<html lang="en">' in other.get("/").get_data(as_text=True)


def test_dates_follow_the_locale(client, make_person):
    admin = make_person(email="admin@example.vn", roles=("admin",))
    client.post("/login", data={"email": admin.email, "password": TEST_PASSWORD})
    vi = client.get(f"/admin/people/{admin.id}").get_data(as_text=True)
    assert "01/01/2024" in vi
    client.post("/language", data={"locale": "en"})
    en = client.get(f"/admin/people/{admin.id}").get_data(as_text=True)
    assert "Jan 1, 2024" in en


def test_english_catalogue_is_complete():
    from babel.messages.pofile import read_po

    with open("translations/en/LC_MESSAGES/messages.po", "rb") as handle:
        catalog = read_po(handle)
    untranslated = [m.id for m in catalog if m.id and not m.string]
    fuzzy = [m.id for m in catalog if m.id and m.fuzzy]
    assert not untranslated, untranslated[:10]
    assert not fuzzy, fuzzy[:10]


def test_every_interface_string_is_in_the_catalogue():
    import io

    from babel.messages.extract import extract_from_dir
    from babel.messages.pofile import read_po

    with open("translations/en/LC_MESSAGES/messages.po", "rb") as handle:
        known = {(m.context, m.id if isinstance(m.id, str) else m.id[0]) for m in read_po(handle) if m.id}
    method_map = [("lms/**.py", "python"), ("courses/**.py", "python"), ("lms/templates/**.html", "jinja2"),
                  ("courses/templates/**.html", "jinja2")]
    keywords = {"_": None, "_l": None, "gettext": None, "lazy_gettext": None, "ngettext": (1, 2),
                "pgettext": ((1, "c"), 2), "_lp": ((1, "c"), 2)}  # a message and its context are one entry
    found = {(msg[4], msg[2] if isinstance(msg[2], str) else msg[2][0])
             for msg in extract_from_dir(".", method_map, keywords=keywords)}
    missing = [f"{context}|{message}" if context else message
               for context, message in sorted(found - known, key=lambda x: (x[0] or "", x[1]))]
    assert not missing, f"run `make extract-messages` and translate: {missing[:10]}"


@pytest.mark.parametrize("env,message", [
    ({"LMS_ENV": "development", "LMS_STORAGE": "ftp"}, "LMS_STORAGE"),
    ({"LMS_ENV": "development", "LMS_STORAGE": "s3"}, "LMS_S3_BUCKET"),
    ({"LMS_ENV": "development", "LMS_MAX_VIDEO_MB": "0"}, "LMS_MAX_VIDEO_MB"),
])
def test_bad_storage_configuration_is_refused(env, message):
    with pytest.raises(ConfigError, match=message):
        load_config("/tmp", env=env)


def test_storage_configuration():
    config = load_config("/srv/i", env={"LMS_ENV": "development", "LMS_STORAGE": "s3", "LMS_S3_BUCKET": "lms",
                                        "LMS_S3_ENDPOINT_URL": "https://minio.local", "LMS_MAX_VIDEO_MB": "800"})
    assert (config["LMS_STORAGE"], config["LMS_S3_BUCKET"], config["LMS_S3_ENDPOINT_URL"]) == (
        "s3", "lms", "https://minio.local")
    assert config["LMS_MAX_VIDEO_MB"] == 800
