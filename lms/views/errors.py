"""Friendly error pages in the interface language; no stack trace ever reaches the user."""

from __future__ import annotations

from flask import Flask, make_response, render_template, request
from flask_wtf.csrf import CSRFError
from sqlalchemy.exc import DBAPIError
from werkzeug.exceptions import HTTPException

from lms.db import db, is_lock_conflict, is_storage_full
from lms.i18n import lazy_gettext as _l
from lms.request_limits import FormTooLarge
from lms.storage import STORAGE_FAILED, StorageError

MESSAGES = {
    400: (_l("Yêu cầu không hợp lệ"), _l("Máy chủ không hiểu yêu cầu này. Vui lòng quay lại và thử lại.")),
    403: (_l("Không có quyền truy cập"), _l("Bạn không có quyền xem trang này hoặc thực hiện thao tác này.")),
    404: (_l("Không tìm thấy trang"), _l("Trang bạn tìm không tồn tại hoặc đã bị chuyển đi.")),
    405: (_l("Thao tác không được phép"), _l("Trang này không hỗ trợ thao tác bạn vừa thực hiện.")),
    413: (_l("Tệp quá lớn"), _l("Tệp bạn gửi vượt quá dung lượng cho phép.")),
    429: (_l("Quá nhiều yêu cầu"), _l("Bạn đã thử quá nhiều lần. Vui lòng đợi một lúc rồi thử lại.")),
    500: (_l("Lỗi hệ thống"), _l("Đã có lỗi xảy ra và lỗi đã được ghi lại. Vui lòng thử lại sau.")),
}


#: Seconds a client is asked to wait when another write held the database.
BUSY_RETRY_AFTER = 5
BUSY = (_l("Hệ thống đang bận"),
        _l("Một thao tác khác đang ghi vào cùng dữ liệu nên yêu cầu của bạn chưa được thực hiện và không có gì "
           "bị thay đổi. Vui lòng đợi vài giây rồi thử lại."))
NO_SPACE_TITLE = _l("Không đủ chỗ lưu trữ")
STORAGE_TITLE = _l("Lỗi lưu trữ")


def _render(code: int, detail=None, title=None):
    default_title, message = MESSAGES.get(code, MESSAGES[500] if code >= 500 else MESSAGES[400])
    return render_template("errors/error.html", code=code, title=title or default_title,
                           message=detail or message), code


def register(app: Flask) -> None:
    @app.errorhandler(CSRFError)
    def _csrf(error):
        return _render(400, _l("Phiên làm việc của biểu mẫu đã hết hạn hoặc không hợp lệ. "
                               "Vui lòng tải lại trang và thử lại."))

    @app.errorhandler(HTTPException)
    def _http(error: HTTPException):
        if error.code is None or error.code < 400:
            return error
        response = _render(error.code)
        if error.code == 429:
            headers = getattr(error, "response", None)
            retry = None
            if headers is not None and hasattr(headers, "headers"):
                retry = headers.headers.get("Retry-After")
            body, code = response
            from flask import make_response

            resp = make_response(body, code)
            if retry:
                resp.headers["Retry-After"] = retry
            return resp
        if error.code == 405:
            body, code = response
            from flask import make_response

            resp = make_response(body, code)
            valid = getattr(error, "valid_methods", None)
            if valid:
                resp.headers["Allow"] = ", ".join(valid)
            return resp
        return response

    @app.errorhandler(FormTooLarge)
    def _form_too_large(error: FormTooLarge):
        return _render(413, error.message, error.title)

    @app.errorhandler(DBAPIError)
    def _database(error: DBAPIError):
        db.session.rollback()  # nothing of this request is written (its new files go too)
        if is_lock_conflict(error):
            app.logger.warning("Database busy on %s %s: %s", request.method, request.path, error.orig)
            body, code = _render(503, BUSY[1], BUSY[0])
            return make_response(body, code, {"Retry-After": str(BUSY_RETRY_AFTER)})
        if is_storage_full(error):
            return _no_space(error)
        return _crash(error)

    @app.errorhandler(OSError)
    def _os_error(error: OSError):
        if is_storage_full(error):
            db.session.rollback()
            return _no_space(error)
        return _crash(error)

    @app.errorhandler(StorageError)
    def _storage(error: StorageError):
        app.logger.error("Storage failed on %s %s: %s", request.method, request.path, error)
        db.session.rollback()
        return _render(503, STORAGE_FAILED, STORAGE_TITLE)

    def _no_space(error):
        # A full disk or temporary folder (an upload spooled by werkzeug, a spreadsheet being
        # built, the database file): the same message as a full storage folder.
        app.logger.error("No space left on %s %s: %s", request.method, request.path, error)
        return _render(507, STORAGE_FAILED, NO_SPACE_TITLE)

    @app.errorhandler(Exception)
    def _crash(error: Exception):
        app.logger.exception("Unhandled error on %s %s", request.method, request.path)
        db.session.rollback()
        return _render(500)
