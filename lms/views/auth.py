"""Log in, log out, change one's password, choose the interface language."""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import Blueprint, current_app, flash, redirect, render_template, request, session, url_for
from flask_login import current_user, login_user, logout_user

from lms import permissions
from lms.db import db, utcnow
from lms.errors import ServiceError
from lms.extensions import limiter
from lms.forms import ChangePasswordForm, ConfirmForm, LoginForm
from lms.i18n import lazy_gettext as _l
from lms.services import auth as auth_service
from lms.text import email_key

bp = Blueprint("auth", __name__)


def safe_next(target: str | None) -> str | None:
    """``target`` if it is a local path on this site, else None."""
    if not target or len(target) > 2000:
        return None
    target = target.strip()
    if "\\" in target or any(ord(ch) < 32 for ch in target):
        return None
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return None
    return target


def _account_key() -> str:
    # The login form reads only form data (never a JSON body), so the limit and the check
    # always see the same e-mail.
    return "login-account:" + email_key(request.form.get("email", ""))[:254]


def _person_key() -> str:
    return "password-change:" + str(current_user.get_id() and current_user.id)


def _failed(response) -> bool:
    return response.status_code != 302


@bp.route("/login", methods=["GET", "POST"])
@permissions.public
@limiter.limit(lambda: current_app.config["LOGIN_LIMIT_ADDRESS"], methods=["POST"], deduct_when=_failed,
               scope="login-address")
@limiter.limit(lambda: current_app.config["LOGIN_LIMIT_ACCOUNT"], methods=["POST"], key_func=_account_key,
               deduct_when=_failed, scope="login-account")
def login():
    if current_user.is_authenticated:
        return redirect(safe_next(request.args.get("next")) or url_for("main.index"))
    form = LoginForm(formdata=request.form if request.method == "POST" else None)
    error = None
    if form.validate_on_submit():
        now = utcnow()
        person = auth_service.authenticate(db.session, form.email.data, form.password.data, now=now,
                                           ip=request.remote_addr)
        if person is None:
            db.session.commit()
            error = _l("Thư điện tử hoặc mật khẩu không đúng.")
        else:
            locale = session.get("locale")
            session.clear()
            if locale:
                session["locale"] = locale
            auth_service.start_session(db.session, person, now=now, ip=request.remote_addr,
                                       user_agent=request.user_agent.string)
            db.session.commit()
            login_user(person)
            session.permanent = True
            if person.must_change_password:
                return redirect(url_for("auth.change_password"))
            return redirect(safe_next(request.args.get("next")) or url_for("main.index"))
    return render_template("auth/login.html", form=form, error=error)


@bp.post("/logout")
@permissions.login
def logout():
    ConfirmForm()  # CSRF is checked globally; the form documents the intent
    auth_service.end_session(db.session, current_user.get_id(), now=utcnow())
    db.session.commit()
    logout_user()
    locale = session.get("locale")
    session.clear()
    if locale:
        session["locale"] = locale
    flash(_l("Bạn đã đăng xuất."), "info")
    return redirect(url_for("auth.login"))


def _password_change_failed(response) -> bool:
    return response.status_code != 302


@bp.route("/account/password", methods=["GET", "POST"])
@permissions.login
@limiter.limit(lambda: current_app.config["LOGIN_LIMIT_ACCOUNT"], methods=["POST"], key_func=_person_key,
               deduct_when=_password_change_failed, scope="password-change")
def change_password():
    form = ChangePasswordForm(formdata=request.form if request.method == "POST" else None)
    if form.validate_on_submit():
        person = current_user._get_current_object()
        now = utcnow()
        try:
            auth_service.change_password(db.session, person, form.current_password.data, form.new_password.data,
                                         now=now)
        except ServiceError as exc:
            db.session.rollback()
            getattr(form, exc.field or "new_password").errors.append(exc.message)
        else:
            auth_service.start_session(db.session, person, now=now, ip=request.remote_addr,
                                       user_agent=request.user_agent.string)
            db.session.commit()
            session.clear()
            login_user(person)
            session.permanent = True
            flash(_l("Đã đổi mật khẩu. Các phiên đăng nhập khác đã bị đăng xuất."), "success")
            return redirect(url_for("main.index"))
    return render_template("auth/password.html", form=form)


@bp.post("/language")
@permissions.public
def set_language():
    ConfirmForm()
    locale = request.form.get("locale", "")
    if locale in current_app.config["LMS_LOCALES"]:
        session["locale"] = locale
        if current_user.is_authenticated:
            auth_service.set_locale(db.session, current_user._get_current_object(), locale)
            db.session.commit()
    return redirect(safe_next(request.form.get("next")) or url_for("main.index"))
