"""Question, option and feedback text as safe HTML, whatever format it was written in: Markdown
rendered and HTML cleaned with the courses' allow-list (nh3), plain text escaped with its line
breaks kept. Shared by the bank, the attempt, the review and the results pages."""

from __future__ import annotations

import nh3
from markupsafe import Markup, escape

from courses.text import ALLOWED_ATTRIBUTES, ALLOWED_TAGS
from courses.text import render as render_markdown
from lms.i18n import lazy_gettext as _l

#: Inside an option or a matching item only inline markup is kept (it sits in a label).
_INLINE_TAGS = {"strong", "em", "b", "i", "u", "s", "code", "sub", "sup", "br", "span"}
_TAGS = ALLOWED_TAGS | {"sub", "sup", "span"}


def render_text(text: str | None, fmt="html", *, inline: bool = False) -> Markup:
    text = text or ""
    fmt = str(fmt or "html")
    if fmt == "plain":
        return Markup("<br>".join(str(escape(line)) for line in text.splitlines()))
    if fmt == "markdown" and not inline:
        return Markup(render_markdown(text))
    tags = _INLINE_TAGS if inline else _TAGS
    return Markup(nh3.clean(text, tags=tags, attributes={} if inline else ALLOWED_ATTRIBUTES,
                            url_schemes={"http", "https", "mailto"}, link_rel="noopener noreferrer nofollow"))


#: True/false questions store their two options as "true" and "false"; people read Đúng / Sai.
TRUE_FALSE = {"true": _l("Đúng"), "false": _l("Sai")}


def option_label(text: str | None, fmt="html", qtype: str = "") -> Markup:
    """An option as people read it, on the attempt, review, results and analysis pages alike."""
    word = (text or "").strip().lower()
    if str(qtype) == "true_false" and word in TRUE_FALSE:
        return escape(str(TRUE_FALSE[word]))
    return render_text(text, fmt, inline=True)
