"""Interface language and time zone: Vietnamese by default, English on request.

Use :func:`lazy_gettext` from here (imported as ``_l``), never Flask-Babel's: theirs marks the
finished message as safe HTML, so a user's value interpolated into it (a name in "Đã tạo đơn vị
“%(name)s”") would reach the page unescaped. Ours is escaped like any other text.

One Vietnamese word that means two things gets a message context: :func:`lazy_pgettext`
(imported as ``_lp``; ``pybabel extract -k _lp:1c,2``) in code, ``pgettext("context", "…")``
in templates. "Đường dẫn" is the breadcrumb with context ``breadcrumb`` and a link's address
with context ``url``.
"""

from __future__ import annotations

from flask import Flask, current_app, has_request_context, session
from flask_babel import get_translations, gettext, pgettext
from flask_babel.speaklater import LazyString
from flask_login import current_user
from jinja2 import pass_context
from markupsafe import Markup, escape


class SafeLazyString(LazyString):
    """A lazily translated message that is text, not markup."""

    def __html__(self) -> Markup:
        return escape(str(self))


def lazy_gettext(string: str, **variables) -> SafeLazyString:
    return SafeLazyString(gettext, string, **variables)


def lazy_pgettext(context: str, string: str, **variables) -> SafeLazyString:
    """:func:`lazy_gettext` with a message context (escaped like it)."""
    return SafeLazyString(pgettext, context, string, **variables)


def msgid(label) -> str:
    """The untranslated (Vietnamese) text of a lazy label, for files that are always in
    Vietnamese (templates to fill in, official exports) whatever the reader's interface."""
    args = getattr(label, "_args", None)
    if args and getattr(label, "_func", None) is pgettext:
        return args[1]
    return args[0] if args else str(label)


def available_locales() -> tuple[str, ...]:
    return current_app.config["LMS_LOCALES"]


def select_locale() -> str:
    if not has_request_context():
        return current_app.config["BABEL_DEFAULT_LOCALE"]
    if current_user and getattr(current_user, "is_authenticated", False) and current_user.locale in available_locales():
        return current_user.locale
    chosen = session.get("locale")
    if chosen in available_locales():
        return chosen
    return current_app.config["BABEL_DEFAULT_LOCALE"]


def select_timezone() -> str:
    return current_app.config["LMS_TIMEZONE"]


# -- templates ------------------------------------------------------------------------------

@pass_context
def _template_gettext(context, string: str) -> str:
    """``_()`` in templates: the catalogue is looked up once per rendered page (a context value
    set when the page starts rendering, so a ``force_locale`` around it still holds) instead of
    once per message, a few microseconds saved on each of the dozens of messages of a page.
    Macros imported without the page's context look it up themselves."""
    translations = context.get("lms_translations")
    return (translations if translations is not None else get_translations()).ugettext(string)


@pass_context
def _template_ngettext(context, singular: str, plural: str, n: int) -> str:
    translations = context.get("lms_translations")
    return (translations if translations is not None else get_translations()).ungettext(singular, plural, n)


@pass_context
def _template_pgettext(context, message_context: str, string: str) -> str:
    translations = context.get("lms_translations")
    return (translations if translations is not None else get_translations()).upgettext(message_context, string)


def install_template_gettext(app: Flask) -> None:
    """Replace Flask-Babel's template callables (same messages, same escaping: Jinja's
    "newstyle" gettext formats and escapes the variables), with ``pgettext`` for messages
    that need a context."""
    app.jinja_env.install_gettext_callables(_template_gettext, _template_ngettext, newstyle=True,
                                            pgettext=_template_pgettext)
    app.context_processor(lambda: {"lms_translations": get_translations()})
