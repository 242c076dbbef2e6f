"""Log in, log out, change one's password, reset a forgotten one by e-mail, choose the interface
language."""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import (
    Blueprint,
    current_app,
    flash,
    make_response,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_babel import get_locale
from flask_login import current_user, login_user, logout_user

from lms import permissions
from lms.db import db, utcnow
from lms.errors import ServiceError
from lms.extensions import limiter
from lms.forms import ChangePasswordForm, ConfirmForm, ForgotPasswordForm, LoginForm, NewPasswordForm
from lms.i18n import lazy_gettext as _l
from lms.services import auth as auth_service
from lms.services import password_reset
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


def _sign_out() -> None:
    """Forget who is logged in in this browser, keeping only the chosen language."""
    logout_user()
    locale = session.get("locale")
    session.clear()
    if locale:
        session["locale"] = locale


@bp.post("/logout")
@permissions.login
def logout():
    ConfirmForm()  # CSRF is checked globally; the form documents the intent
    auth_service.end_session(db.session, current_user.get_id(), now=utcnow())
    db.session.commit()
    _sign_out()
    flash(_l("Bạn đã đăng xuất."), "info")
    return redirect(url_for("auth.login"))


def _password_change_failed(response) -> bool:
    """A refused change or reset (not a redirect) counts against the limit."""
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


# -- a forgotten password ---------------------------------------------------------------------

def _reset_account_key() -> str:
    return "reset-account:" + email_key(request.form.get("email", ""))[:254]


def reset_base_url() -> str | None:
    """Where the links in reset mails point: ``LMS_PUBLIC_BASE_URL``. Never the Host header of
    the request in production (anyone can send one, and the link would lead to their site);
    in development and tests, where that setting is usually empty, the address of this page."""
    base = current_app.config.get("PUBLIC_BASE_URL")
    if base:
        return base
    if current_app.debug or current_app.testing:
        return request.url_root.rstrip("/")
    return None


@bp.route("/password/forgot", methods=["GET", "POST"])
@permissions.public
@limiter.limit(lambda: current_app.config["RESET_LIMIT_ADDRESS"], methods=["POST"], scope="reset-address")
@limiter.limit(lambda: current_app.config["RESET_LIMIT_ACCOUNT"], methods=["POST"], key_func=_reset_account_key,
               scope="reset-account")
def forgot_password():
    base_url = reset_base_url()
    form = ForgotPasswordForm(formdata=request.form if request.method == "POST" else None)
    if base_url is not None and form.validate_on_submit():
        try:
            password_reset.request_reset(db.session, form.email.data, base_url=base_url, ip=request.remote_addr,
                                         locale=str(get_locale()))
        except ServiceError as exc:
            db.session.rollback()
            form.email.errors.append(exc.message)
        else:
            db.session.commit()
            # The same words whether or not the address has an account.
            flash(_l("Nếu địa chỉ này là thư điện tử của một tài khoản đang hoạt động, hệ thống đã gửi đến đó một "
                     "thư có liên kết để đặt mật khẩu mới; liên kết có hiệu lực trong %(n)s phút. Không thấy thư "
                     "sau vài phút, hãy xem cả mục thư rác (Spam) hoặc liên hệ quản trị đơn vị của bạn.",
                     n=current_app.config["PASSWORD_RESET_MINUTES"]), "info")
            return redirect(url_for("auth.login"))
    status = 422 if form.errors else 200
    return render_template("auth/forgot.html", form=form, available=base_url is not None), status


@bp.get("/password/reset/<token>")
@permissions.public
def reset_link(token: str):
    """The link in the mail. The token moves into the session and the page that follows has a
    URL without it (so it is not kept in the browser's history or sent on as a referrer)."""
    session["password_reset_token"] = token[:200]
    return redirect(url_for("auth.reset_password"))


@bp.route("/password/reset", methods=["GET", "POST"])
@permissions.public
@limiter.limit(lambda: current_app.config["LOGIN_LIMIT_ADDRESS"], methods=["POST"], deduct_when=_password_change_failed,
               scope="reset-password")
def reset_password():
    token = session.get("password_reset_token")
    now = utcnow()
    state = password_reset.check_link(db.session, token, now=now)
    form = NewPasswordForm(formdata=request.form if request.method == "POST" else None)
    if state == "valid" and form.validate_on_submit():
        try:
            password_reset.reset_password(db.session, token, form.new_password.data, now=now, ip=request.remote_addr)
        except ServiceError as exc:
            db.session.rollback()
            if exc.field == "token":
                state = password_reset.check_link(db.session, token, now=now)
                state = "used" if state == "valid" else state
            else:
                form.new_password.errors.append(exc.message)
        else:
            db.session.commit()
            _sign_out()
            flash(_l("Đã đặt mật khẩu mới. Mọi phiên đăng nhập trước đó của tài khoản đã kết thúc; hãy đăng nhập "
                     "bằng mật khẩu mới."), "success")
            return redirect(url_for("auth.login"))
    if state != "valid":
        session.pop("password_reset_token", None)
        response = make_response(render_template("auth/reset.html", form=None,
                                                 problem=password_reset.STATE_MESSAGES[state]))
    else:
        response = make_response(render_template("auth/reset.html", form=form, problem=None),
                                 422 if form.errors else 200)
    response.headers["Cache-Control"] = "no-store"
    return response


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
