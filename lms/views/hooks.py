"""Per-request rules: security headers, forced password change."""

from __future__ import annotations

from flask import Flask, abort, flash, redirect, request, url_for
from flask_login import current_user

from lms.i18n import lazy_gettext as _l

_ALLOWED_WHILE_CHANGING = {"auth.change_password", "auth.logout", "auth.set_language", "static", "bootstrap.static",
                           "main.health"}

CSP = (
    "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
    "object-src 'none'; base-uri 'self'; form-action 'self'; frame-ancestors 'none'"
)


_STATIC = {"static", "bootstrap.static"}


def _has_nul(values) -> bool:
    return any("\x00" in value for value in values)


def register(app: Flask) -> None:
    @app.before_request
    def _refuse_nul_bytes():
        """A NUL byte is never valid input (PostgreSQL cannot even store it): 400 at the door."""
        if "\x00" in request.path or _has_nul(request.args.values()) or _has_nul(request.args.keys()):
            abort(400)
        if request.method == "POST" and request.mimetype in ("application/x-www-form-urlencoded",
                                                             "multipart/form-data"):
            if _has_nul(request.form.values()) or _has_nul(request.form.keys()):
                abort(400)
        return None

    @app.before_request
    def _force_password_change():
        if (
            current_user.is_authenticated
            and current_user.must_change_password
            and request.endpoint not in _ALLOWED_WHILE_CHANGING
        ):
            if request.method == "GET":
                flash(_l("Bạn cần đổi mật khẩu trước khi tiếp tục."), "warning")
            return redirect(url_for("auth.change_password"))
        return None

    @app.after_request
    def _security_headers(response):
        response.headers.setdefault("Content-Security-Policy", CSP)
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("X-Frame-Options", "DENY")
        response.headers.setdefault("Referrer-Policy", "same-origin")
        response.headers.setdefault("Permissions-Policy", "camera=(), microphone=(), geolocation=()")
        if not app.config["DEBUG"] and not app.config["TESTING"]:
            response.headers.setdefault("Strict-Transport-Security", "max-age=31536000")
        if current_user and current_user.is_authenticated and request.endpoint not in _STATIC:
            response.headers["Cache-Control"] = "no-store"
        response.vary.add("Cookie")
        return response
