"""Friendly error pages in the interface language; no stack trace ever reaches the user."""

from __future__ import annotations

from flask import Flask, render_template, request
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException

from lms.db import db
from lms.i18n import lazy_gettext as _l

MESSAGES = {
    400: (_l("Yêu cầu không hợp lệ"), _l("Máy chủ không hiểu yêu cầu này. Vui lòng quay lại và thử lại.")),
    403: (_l("Không có quyền truy cập"), _l("Bạn không có quyền xem trang này hoặc thực hiện thao tác này.")),
    404: (_l("Không tìm thấy trang"), _l("Trang bạn tìm không tồn tại hoặc đã bị chuyển đi.")),
    405: (_l("Thao tác không được phép"), _l("Trang này không hỗ trợ thao tác bạn vừa thực hiện.")),
    413: (_l("Tệp quá lớn"), _l("Tệp bạn gửi vượt quá dung lượng cho phép.")),
    429: (_l("Quá nhiều yêu cầu"), _l("Bạn đã thử quá nhiều lần. Vui lòng đợi một lúc rồi thử lại.")),
    500: (_l("Lỗi hệ thống"), _l("Đã có lỗi xảy ra và lỗi đã được ghi lại. Vui lòng thử lại sau.")),
}


def _render(code: int, detail=None):
    title, message = MESSAGES.get(code, MESSAGES[500] if code >= 500 else MESSAGES[400])
    return render_template("errors/error.html", code=code, title=title, message=detail or message), code


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

    @app.errorhandler(Exception)
    def _crash(error: Exception):
        app.logger.exception("Unhandled error on %s %s", request.method, request.path)
        db.session.rollback()
        return _render(500)
