"""What a request body may cost, decided before a byte of it is parsed.

Werkzeug caps a ``multipart/form-data`` body (``MAX_CONTENT_LENGTH``, the number of parts, the
size of each text part), but an ``application/x-www-form-urlencoded`` body is read whole and
split into fields with only ``MAX_CONTENT_LENGTH`` to stop it (werkzeug 3.1,
``FormDataParser._parse_urlencoded``: "max_form_parts ... doesn't impose a useful limit"): a
19 MB body of millions of fields held a worker for seconds. :class:`LmsRequest` therefore holds

- every body that is not an upload (``multipart/form-data``) to ``LMS_MAX_FORM_KB``;
- every body sent by a visitor who is not signed in (uploads included: no anonymous page takes a
  file) to ``LMS_MAX_ANONYMOUS_FORM_KB``;
- the number of fields of a form, urlencoded or multipart, to ``LMS_MAX_FORM_FIELDS``
  (``LMS_MAX_ANONYMOUS_FORM_FIELDS`` when not signed in), counted on the raw bytes before they
  are split.

A declared ``Content-Length`` over the limit is refused before anything is read; a chunked body
without one is read through a stream that stops at the limit. The refusal is
:class:`FormTooLarge` (HTTP 413, a page in the user's language). Uploads keep their own limit
(``MAX_CONTENT_LENGTH``, raised per request by the views that take large files).
"""

from __future__ import annotations

from flask import Request, current_app
from werkzeug.exceptions import RequestEntityTooLarge
from werkzeug.formparser import FormDataParser

from lms.i18n import lazy_gettext as _l

UPLOAD_MIMETYPE = "multipart/form-data"


class FormTooLarge(RequestEntityTooLarge):
    """A form or request body over the limits above (not an upload that is too large)."""

    title = _l("Dữ liệu gửi lên quá lớn")
    message = _l("Biểu mẫu bạn gửi quá lớn hoặc có quá nhiều trường nên máy chủ đã từ chối mà không xử lý. "
                 "Không có gì được lưu. Vui lòng kiểm tra lại nội dung rồi gửi lại.")


def _signed_in() -> bool:
    from flask_login import current_user

    return bool(current_user and current_user.is_authenticated)


class LimitedFormDataParser(FormDataParser):
    """Counts the fields of an urlencoded body on its raw bytes before splitting them."""

    def _parse_urlencoded(self, stream, mimetype, content_length, options):
        from io import BytesIO

        try:
            raw = stream.read()  # a stream already limited to max_content_length
        except RequestEntityTooLarge:
            raise FormTooLarge() from None
        if content_length is None and self.max_content_length is not None and len(raw) >= self.max_content_length:
            # A body without a declared length (chunked) that filled the limit: werkzeug's limited
            # stream stops there without saying whether more was coming.
            raise FormTooLarge()
        if self.max_form_parts is not None and raw.count(b"&") + 1 > self.max_form_parts:
            raise FormTooLarge()
        return super()._parse_urlencoded(BytesIO(raw), mimetype, content_length, options)


class LmsRequest(Request):
    form_data_parser_class = LimitedFormDataParser

    def _body_limit(self) -> int | None:
        """The most bytes this request's body may have under the form limits (None: no cap)."""
        config = current_app.config
        if not _signed_in():
            return config["LMS_MAX_ANONYMOUS_FORM_KB"] * 1024
        if self.mimetype != UPLOAD_MIMETYPE:
            return config["LMS_MAX_FORM_KB"] * 1024
        return None

    @property
    def max_content_length(self) -> int | None:
        limit = Request.max_content_length.fget(self)
        if not current_app:
            return limit
        cap = self._body_limit()
        if cap is None:
            return limit
        return cap if limit is None else min(limit, cap)

    @max_content_length.setter
    def max_content_length(self, value: int | None) -> None:
        Request.max_content_length.fset(self, value)

    @property
    def max_form_parts(self) -> int | None:
        if self._max_form_parts is not None or not current_app:
            return Request.max_form_parts.fget(self)
        config = current_app.config
        return config["LMS_MAX_FORM_FIELDS"] if _signed_in() else config["LMS_MAX_ANONYMOUS_FORM_FIELDS"]

    @max_form_parts.setter
    def max_form_parts(self, value: int | None) -> None:
        Request.max_form_parts.fset(self, value)

    def _load_form_data(self) -> None:
        if "form" not in self.__dict__ and self.want_form_data_parsed and current_app:
            cap = self._body_limit()
            length = self.content_length
            if cap is not None and length is not None and length > cap:
                raise FormTooLarge()  # refused on the declared length: nothing is read
        super()._load_form_data()
