"""Configuration, read from the environment when the app is created (never at import).

Every variable is documented in README.md ("Configuration"). Secrets have no fallback outside
development and testing: :func:`load_config` raises :class:`ConfigError` and the app refuses to
start.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from datetime import timedelta
from pathlib import Path
from typing import Any

ENVIRONMENTS = ("production", "development", "testing")


class ConfigError(RuntimeError):
    """The environment does not describe a runnable app."""


def _int(env: Mapping[str, str], name: str, default: int, minimum: int = 0) -> int:
    raw = env.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError as exc:
        raise ConfigError(f"{name} must be a whole number, got {raw!r}") from exc
    if value < minimum:
        raise ConfigError(f"{name} must be at least {minimum}, got {value}")
    return value


def load_config(
    instance_path: str, env: Mapping[str, str] | None = None, overrides: Mapping[str, Any] | None = None,
    *, command_line: bool = False,
) -> dict[str, Any]:
    """Build the Flask config from ``env`` (default: ``os.environ``) and test ``overrides``.

    ``command_line``: the app serves a ``flask … lms``/``db`` command, not web requests. Nothing
    is signed then, so a missing ``SECRET_KEY`` is replaced by a random one for that process
    (``flask --app app lms --help`` and ``lms init`` work before the secret is set)."""
    env = os.environ if env is None else env
    overrides = dict(overrides or {})
    lms_env = overrides.pop("LMS_ENV", None) or env.get("LMS_ENV", "production")
    if lms_env not in ENVIRONMENTS:
        raise ConfigError(f"LMS_ENV must be one of {', '.join(ENVIRONMENTS)}, got {lms_env!r}")
    relaxed = lms_env in ("development", "testing")

    secret = overrides.pop("SECRET_KEY", None) or env.get("SECRET_KEY", "")
    if not secret and command_line and not relaxed:
        import secrets

        secret = secrets.token_urlsafe(48)
    elif not secret:
        if not relaxed:
            raise ConfigError(
                "SECRET_KEY is not set. Set it to a long random value "
                "(python -c 'import secrets; print(secrets.token_urlsafe(48))')."
            )
        secret = "development-only-insecure-key"
    elif not relaxed and len(secret) < 32:
        raise ConfigError("SECRET_KEY must be at least 32 characters long in production.")

    default_db = "sqlite:///" + str(Path(instance_path) / "lms.sqlite3")
    database_url = env.get("DATABASE_URL") or default_db
    if database_url.startswith("postgres://"):
        database_url = "postgresql+psycopg://" + database_url[len("postgres://"):]
    elif database_url.startswith("postgresql://"):
        database_url = "postgresql+psycopg://" + database_url[len("postgresql://"):]

    redis_url = env.get("REDIS_URL") or None
    upload_mb = _int(env, "LMS_MAX_UPLOAD_MB", 20, 1)
    config: dict[str, Any] = {
        "LMS_ENV": lms_env,
        "DEBUG": lms_env == "development",
        "TESTING": lms_env == "testing",
        "SECRET_KEY": secret,
        "SQLALCHEMY_DATABASE_URI": database_url,
        # hide_parameters: a database error's text (logs, tracebacks) never carries the values it
        # was writing (a password's hash, people's data).
        "SQLALCHEMY_ENGINE_OPTIONS": {"pool_pre_ping": True, "hide_parameters": True},
        "REDIS_URL": redis_url,
        "RATELIMIT_STORAGE_URI": redis_url or "memory://",
        "RATELIMIT_STRATEGY": "moving-window",
        "RATELIMIT_HEADERS_ENABLED": True,
        "RATELIMIT_ENABLED": env.get("LMS_RATELIMIT_ENABLED", "1") != "0",
        "LOGIN_LIMIT_ACCOUNT": env.get("LMS_LOGIN_LIMIT_ACCOUNT", "10 per 15 minutes"),
        "LOGIN_LIMIT_ADDRESS": env.get("LMS_LOGIN_LIMIT_ADDRESS", "50 per 15 minutes"),
        # Self-service password reset (lms/services/password_reset.py): how long a link works, and
        # how many requests are accepted per e-mail address and per client address.
        "PASSWORD_RESET_MINUTES": _int(env, "LMS_PASSWORD_RESET_MINUTES", 60, 5),
        "RESET_LIMIT_ACCOUNT": env.get("LMS_RESET_LIMIT_ACCOUNT", "3 per hour"),
        "RESET_LIMIT_ADDRESS": env.get("LMS_RESET_LIMIT_ADDRESS", "20 per hour"),
        # Outgoing mail (lms/mail.py). Without LMS_SMTP_HOST mails are written to LMS_MAIL_DIR
        # (default <instance>/mail) and to the log, so a trial needs no mail server.
        "SMTP_HOST": env.get("LMS_SMTP_HOST") or None,
        "SMTP_PORT": _int(env, "LMS_SMTP_PORT", 0, 0) or None,
        "SMTP_USER": env.get("LMS_SMTP_USER") or None,
        "SMTP_PASSWORD": env.get("LMS_SMTP_PASSWORD") or None,
        "SMTP_SECURITY": env.get("LMS_SMTP_SECURITY") or "starttls",
        "MAIL_FROM": env.get("LMS_MAIL_FROM") or None,
        "MAIL_DIR": env.get("LMS_MAIL_DIR") or None,
        "LMS_TIMEZONE": env.get("LMS_TIMEZONE", "Asia/Ho_Chi_Minh"),
        "BABEL_DEFAULT_TIMEZONE": env.get("LMS_TIMEZONE", "Asia/Ho_Chi_Minh"),
        "BABEL_DEFAULT_LOCALE": env.get("LMS_DEFAULT_LOCALE", "vi"),
        "LMS_LOCALES": ("vi", "en"),
        "PUBLIC_BASE_URL": (env.get("LMS_PUBLIC_BASE_URL") or "").rstrip("/") or None,
        "MAX_CONTENT_LENGTH": upload_mb * 1024 * 1024,
        "LMS_MAX_UPLOAD_MB": upload_mb,
        "LMS_MAX_VIDEO_MB": _int(env, "LMS_MAX_VIDEO_MB", 500, 1),
        # Bodies that are not uploads, and anything sent before signing in, are held to these
        # limits before they are parsed (lms/request_limits.py).
        "LMS_MAX_FORM_KB": _int(env, "LMS_MAX_FORM_KB", 2048, 16),
        "LMS_MAX_FORM_FIELDS": _int(env, "LMS_MAX_FORM_FIELDS", 5000, 100),
        "MAX_FORM_PARTS": _int(env, "LMS_MAX_FORM_FIELDS", 5000, 100),
        "LMS_MAX_ANONYMOUS_FORM_KB": _int(env, "LMS_MAX_ANONYMOUS_FORM_KB", 64, 4),
        "LMS_MAX_ANONYMOUS_FORM_FIELDS": _int(env, "LMS_MAX_ANONYMOUS_FORM_FIELDS", 100, 10),
        # SQLite only: how long a write waits for another one to finish before the user is asked
        # to retry (HTTP 503). PostgreSQL is not affected.
        "LMS_SQLITE_BUSY_TIMEOUT_MS": _int(env, "LMS_SQLITE_BUSY_TIMEOUT_MS", 5000, 0),
        "LMS_STORAGE": env.get("LMS_STORAGE", "local"),
        "LMS_STORAGE_PATH": env.get("LMS_STORAGE_PATH") or None,
        "LMS_S3_BUCKET": env.get("LMS_S3_BUCKET") or None,
        "LMS_S3_ENDPOINT_URL": env.get("LMS_S3_ENDPOINT_URL") or None,
        "LMS_S3_REGION": env.get("LMS_S3_REGION") or None,
        "LMS_S3_PREFIX": env.get("LMS_S3_PREFIX", ""),
        "LMS_IMPORT_MAX_MB": _int(env, "LMS_IMPORT_MAX_MB", 5, 1),
        "LMS_IMPORT_MAX_ROWS": _int(env, "LMS_IMPORT_MAX_ROWS", 5000, 1),
        "PROXY_COUNT": _int(env, "LMS_PROXY_COUNT", 0),
        "PASSWORD_MIN_LENGTH": _int(env, "LMS_PASSWORD_MIN_LENGTH", 10, 8),
        "SESSION_HOURS": _int(env, "LMS_SESSION_HOURS", 8, 1),
        "PERMANENT_SESSION_LIFETIME": timedelta(hours=_int(env, "LMS_SESSION_HOURS", 8, 1)),
        "SESSION_COOKIE_NAME": "lms_session",
        # The cookie is re-signed when the login session is marked as seen (every few minutes,
        # lms/auth.py), not on every request: same sliding expiry, less work per page.
        "SESSION_REFRESH_EACH_REQUEST": False,
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SAMESITE": "Lax",
        "SESSION_COOKIE_SECURE": not relaxed,
        "REMEMBER_COOKIE_SECURE": not relaxed,
        "WTF_CSRF_TIME_LIMIT": None,
        "BOOTSTRAP_SERVE_LOCAL": True,
        # argon2id cost: OWASP's minimum in production (19 MiB, 2 passes, 1 lane: about 40 ms a log-in
        # on one core); lighter in tests only, so the suite stays fast. Older, costlier hashes are
        # rewritten with these parameters at the next log-in.
        "ARGON2_TIME_COST": 1 if lms_env == "testing" else 2,
        "ARGON2_MEMORY_KIB": 1024 if lms_env == "testing" else 19456,
        "PAGE_SIZE": 25,
        #: Job queue storage: immediate (tests), sqlite (a file under instance/) or redis.
        "LMS_JOBS": env.get("LMS_JOBS") or None,
        "LMS_JOBS_PATH": env.get("LMS_JOBS_PATH") or None,
        "LMS_AGENCY_NAME": env.get("LMS_AGENCY_NAME") or "Sở Tư pháp",
        "LMS_AGENCY_SUPERIOR": env.get("LMS_AGENCY_SUPERIOR") or "",
    }
    if env.get("LMS_SECURE_COOKIES") is not None:
        secure = env.get("LMS_SECURE_COOKIES") != "0"
        config["SESSION_COOKIE_SECURE"] = secure
        config["REMEMBER_COOKIE_SECURE"] = secure
    config.update(overrides)
    if config["LMS_STORAGE"] not in ("local", "s3"):
        raise ConfigError(f"LMS_STORAGE must be 'local' or 's3', got {config['LMS_STORAGE']!r}")
    if config["LMS_STORAGE"] == "s3" and not config["LMS_S3_BUCKET"]:
        raise ConfigError("LMS_STORAGE=s3 needs LMS_S3_BUCKET")
    if config["LMS_JOBS"] not in (None, "immediate", "sqlite", "redis"):
        raise ConfigError(f"LMS_JOBS must be 'immediate', 'sqlite' or 'redis', got {config['LMS_JOBS']!r}")
    if config["LMS_JOBS"] == "redis" and not config["REDIS_URL"]:
        raise ConfigError("LMS_JOBS=redis needs REDIS_URL")
    if config["SMTP_SECURITY"] not in ("starttls", "ssl", "none"):
        raise ConfigError(f"LMS_SMTP_SECURITY must be 'starttls', 'ssl' or 'none', got {config['SMTP_SECURITY']!r}")
    if config["SMTP_HOST"] and not config["MAIL_FROM"]:
        raise ConfigError("LMS_SMTP_HOST needs LMS_MAIL_FROM (the sender's address, e.g. "
                          "'Sở Tư pháp <daotao@stp.example.gov.vn>')")
    return config
