"""One PDF module for every feature: embedded Vietnamese fonts, page templates, the official
header with the national motto.

Text is set in Be Vietnam Pro (shipped by the ``fontpkg_be_vietnam_pro`` package and embedded in
every PDF), so Vietnamese diacritics render on any reader without fonts of its own. Documents are
deterministic (ReportLab's ``invariant``): the same input gives the same bytes. Every text given
to :func:`para` is escaped: user data never becomes ReportLab markup.

Users: course handouts (``courses.handout``), certificates and official reports later.
"""

from __future__ import annotations

import io
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date
from xml.sax.saxutils import escape

FONT = "BeVietnamPro"
FONT_BOLD = "BeVietnamPro-Bold"
FONT_ITALIC = "BeVietnamPro-Italic"
FONT_BOLD_ITALIC = "BeVietnamPro-BoldItalic"
FONT_FAMILY_NAME = "Be Vietnam Pro"
NATIONAL_NAME = "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM"
NATIONAL_MOTTO = "Độc lập - Tự do - Hạnh phúc"
INK = "#1b2a41"
ACCENT = "#0b5394"

_registered = False
_lock = threading.Lock()


def register_fonts() -> None:
    """Register Be Vietnam Pro (regular, bold, italic, bold italic) with ReportLab, once per process."""
    global _registered
    if _registered:
        return
    with _lock:
        if _registered:
            return
        import fontpkg_be_vietnam_pro
        from reportlab.lib.fonts import addMapping
        from reportlab.pdfbase import pdfmetrics
        from reportlab.pdfbase.ttfonts import TTFont

        files = fontpkg_be_vietnam_pro.ROOT / "files"
        for name, file in ((FONT, "Regular"), (FONT_BOLD, "Bold"), (FONT_ITALIC, "Italic"),
                           (FONT_BOLD_ITALIC, "BoldItalic")):
            pdfmetrics.registerFont(TTFont(name, str(files / f"BeVietnamPro-{file}.ttf")))
        addMapping(FONT, 0, 0, FONT)
        addMapping(FONT, 1, 0, FONT_BOLD)
        addMapping(FONT, 0, 1, FONT_ITALIC)
        addMapping(FONT, 1, 1, FONT_BOLD_ITALIC)
        _registered = True


def vn_date(value: date) -> str:
    """dd/mm/yyyy, the Vietnamese administrative style."""
    return f"{value.day:02d}/{value.month:02d}/{value.year}"


def place_and_date(place: str, value: date) -> str:
    """"Hưng Yên, ngày 05 tháng 01 năm 2026" (the dateline of an official document)."""
    return f"{place}, ngày {value.day:02d} tháng {value.month:02d} năm {value.year}"


def styles() -> dict:
    """The paragraph styles every document shares (body, headings, table cells, the official
    header's lines)."""
    from reportlab.lib import colors
    from reportlab.lib.enums import TA_CENTER, TA_RIGHT
    from reportlab.lib.styles import ParagraphStyle

    register_fonts()
    ink, accent = colors.HexColor(INK), colors.HexColor(ACCENT)
    base = ParagraphStyle("body", fontName=FONT, bulletFontName=FONT, fontSize=10.5, leading=15, textColor=ink,
                          spaceAfter=4)
    return {
        "body": base,
        "issuer": ParagraphStyle("issuer", parent=base, fontName=FONT_BOLD, fontSize=9, alignment=TA_CENTER,
                                 textColor=accent),
        "title": ParagraphStyle("title", parent=base, fontName=FONT_BOLD, fontSize=17, leading=22,
                                alignment=TA_CENTER, spaceBefore=6, spaceAfter=4),
        "subtitle": ParagraphStyle("subtitle", parent=base, fontSize=11, alignment=TA_CENTER, spaceAfter=10,
                                   textColor=colors.HexColor("#44546a")),
        "heading": ParagraphStyle("heading", parent=base, fontName=FONT_BOLD, fontSize=12.5, leading=17,
                                  textColor=accent, spaceBefore=10, spaceAfter=4),
        "cell": ParagraphStyle("cell", parent=base, fontSize=9.5, leading=13, spaceAfter=0),
        "cell_label": ParagraphStyle("cell_label", parent=base, fontName=FONT_BOLD, fontSize=9.5, leading=13,
                                     spaceAfter=0),
        "official": ParagraphStyle("official", parent=base, fontSize=11, leading=14, alignment=TA_CENTER,
                                   spaceAfter=0, textColor=colors.black),
        "official_bold": ParagraphStyle("official_bold", parent=base, fontName=FONT_BOLD, fontSize=11, leading=14,
                                        alignment=TA_CENTER, spaceAfter=0, textColor=colors.black),
        "motto": ParagraphStyle("motto", parent=base, fontName=FONT_BOLD, fontSize=12, leading=15,
                                alignment=TA_CENTER, spaceAfter=0, textColor=colors.black),
        "dateline": ParagraphStyle("dateline", parent=base, fontName=FONT_ITALIC, fontSize=11, alignment=TA_RIGHT,
                                   textColor=colors.black),
    }


def para(text: str, style):
    """A paragraph of plain text (escaped: no user text is ever read as markup)."""
    from reportlab.platypus import Paragraph

    return Paragraph(escape(text or ""), style)


def underlined(text: str, style):
    """A centred line underlined as the motto and the agency name are in official documents."""
    from reportlab.platypus import Paragraph

    return Paragraph(f"<u>{escape(text)}</u>", style)


@dataclass(frozen=True)
class Letterhead:
    """The two columns at the top of an official document (Nghị định 30/2020/NĐ-CP style):
    superior agency and issuing agency on the left, the national name and motto on the right."""

    agency: str
    superior: str = ""


def official_header(letterhead: Letterhead, width: float):
    """A borderless two-column table: the agency block and the national motto block."""
    from reportlab.platypus import Table, TableStyle

    s = styles()
    left = []
    if letterhead.superior:
        left.append(para(letterhead.superior.upper(), s["official"]))
    left.append(underlined(letterhead.agency.upper(), s["official_bold"]))
    right = [para(NATIONAL_NAME, s["official_bold"]), underlined(NATIONAL_MOTTO, s["motto"])]
    table = Table([[left, right]], colWidths=[width * 0.42, width * 0.58])
    table.setStyle(TableStyle([("VALIGN", (0, 0), (-1, -1), "TOP"), ("LEFTPADDING", (0, 0), (-1, -1), 0),
                               ("RIGHTPADDING", (0, 0), (-1, -1), 0)]))
    return table


def facts_table(rows: Sequence[tuple[str, str]], label_width: float):
    """Label / value rows in a light grid (a course's facts, a certificate's details)."""
    from reportlab.lib import colors
    from reportlab.platypus import Table, TableStyle

    s = styles()
    table = Table([[para(label, s["cell_label"]), para(value, s["cell"])] for label, value in rows],
                  colWidths=[label_width, None], hAlign="LEFT")
    table.setStyle(TableStyle([
        ("GRID", (0, 0), (-1, -1), 0.5, colors.HexColor("#b7c4d6")),
        ("BACKGROUND", (0, 0), (0, -1), colors.HexColor("#eef3f9")),
        ("VALIGN", (0, 0), (-1, -1), "TOP"),
        ("TOPPADDING", (0, 0), (-1, -1), 4),
        ("BOTTOMPADDING", (0, 0), (-1, -1), 4),
    ]))
    return table


@dataclass
class PageSetup:
    """What every page carries besides its content."""

    title: str
    author: str = ""
    subject: str = ""
    keywords: Sequence[str] = ()
    #: Small text at the bottom left of every page.
    footer: str = ""
    #: "Trang N" at the bottom right.
    page_numbers: bool = True
    landscape: bool = False


def build(story: list, setup: PageSetup, *, margins_mm: tuple[float, float, float, float] = (20, 20, 18, 20),
          decorate: Callable | None = None) -> bytes:
    """Lay ``story`` out on A4 pages (left, right, top, bottom margins in mm) and return the PDF."""
    from reportlab.lib import colors
    from reportlab.lib.pagesizes import A4, landscape
    from reportlab.lib.units import mm
    from reportlab.platypus import SimpleDocTemplate

    register_fonts()
    size = landscape(A4) if setup.landscape else A4
    left, right, top, bottom = (m * mm for m in margins_mm)

    def on_page(canvas, doc) -> None:
        canvas.saveState()
        canvas.setFont(FONT, 8)
        canvas.setFillColor(colors.HexColor("#6b7a90"))
        if setup.footer:
            canvas.drawString(doc.leftMargin, 10 * mm, setup.footer)
        if setup.page_numbers:
            canvas.drawRightString(size[0] - doc.rightMargin, 10 * mm, f"Trang {doc.page}")
        canvas.restoreState()
        if decorate is not None:
            decorate(canvas, doc)

    buffer = io.BytesIO()
    document = SimpleDocTemplate(
        buffer, pagesize=size, leftMargin=left, rightMargin=right, topMargin=top, bottomMargin=bottom,
        title=setup.title, author=setup.author, subject=setup.subject, keywords=", ".join(setup.keywords),
        creator="LMS quyền con người", lang="vi-VN", invariant=1, initialFontName=FONT, initialFontSize=10.5,
    )
    document.build(story, onFirstPage=on_page, onLaterPages=on_page)
    return buffer.getvalue()


def content_width(landscape_page: bool = False, margins_mm: tuple[float, float] = (20, 20)) -> float:
    from reportlab.lib.pagesizes import A4, landscape
    from reportlab.lib.units import mm

    size = landscape(A4) if landscape_page else A4
    return size[0] - (margins_mm[0] + margins_mm[1]) * mm
