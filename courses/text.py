"""Lesson and course text: Markdown rendered to HTML, then sanitised with an allow-list (nh3).

Raw HTML in the source is not interpreted; whatever the renderer produces is cleaned again, so
no script, event handler, style or foreign frame survives.
"""

from __future__ import annotations

import nh3
from markdown_it import MarkdownIt

from lms.text import nfc

_md = MarkdownIt("commonmark", {"html": False, "linkify": False, "typographer": False}).enable("table")

ALLOWED_TAGS = {
    "p", "br", "hr", "strong", "em", "b", "i", "u", "s", "code", "pre", "blockquote", "ul", "ol", "li",
    "h2", "h3", "h4", "h5", "h6", "a", "table", "thead", "tbody", "tr", "th", "td", "img",
}
ALLOWED_ATTRIBUTES = {"a": {"href", "title"}, "img": {"src", "alt", "title"}, "th": {"align"}, "td": {"align"},
                      "ol": {"start"}}
MAX_SOURCE = 200_000


def render(source: str | None) -> str:
    """Markdown → safe HTML. Headings are shifted down one level (the page owns ``<h1>``)."""
    text = nfc(source or "")[:MAX_SOURCE]
    html = _md.render(text)
    html = html.replace("<h1>", "<h2>").replace("</h1>", "</h2>")
    return nh3.clean(html, tags=ALLOWED_TAGS, attributes=ALLOWED_ATTRIBUTES, url_schemes={"http", "https", "mailto"},
                     link_rel="noopener noreferrer nofollow")
