"""Moodle XML: a reader and a writer (https://docs.moodle.org/en/Moodle_XML_format).

A file is ``<quiz>`` holding ``<question type="…">`` elements. ``type="category"`` is not a question:
it switches the category of the questions after it (``$course$/top/Công ước/CEDAW``). Types read:
``multichoice`` (``<single>`` true → single_choice, false → multiple_response), ``truefalse``,
``shortanswer``, ``numerical``, ``matching``, ``essay`` and ``description``; every other type (cloze,
calculated, drag and drop, ordering…) is reported, never dropped silently.

Reading follows Moodle's own importer where it is lenient (texts are trimmed, a missing format is
"html", an unknown one is read as "html", ``moodle_auto_format`` is plain text with line breaks) and
refuses what would make a broken question: a fraction or a mark that is not a number, ``<text>``
holding unescaped tags. Option text formats: choice answers and matching sub-questions keep the
format the file gives them; true/false, short-answer and numerical answers are "plain" (Moodle
stores them as plain text). Embedded ``<file>`` elements (base64 images referenced as
``@@PLUGINFILE@@/…``) are not imported yet: the text keeps its references as they are.

The parser is expat behind defusedxml: entity declarations, external references and DTDs are
refused before any element is read (billion laughs, XXE), so such a file yields one problem and no
question. SAX is used rather than ElementTree because it tells the line of each ``<question>``.

The writer produces what Moodle's importer reads back (and what :func:`read_moodle_xml` reads back
to the same questions): a category element before each run of questions of one category, texts in
CDATA when they hold markup, fractions in percent with up to 5 decimals (7 as a fraction).
"""

from __future__ import annotations

import math
import re
import xml.etree.ElementTree as ET
from collections.abc import Iterable
from decimal import Decimal
from io import BytesIO
from xml.sax import SAXParseException
from xml.sax.handler import ContentHandler, LexicalHandler, property_lexical_handler
from xml.sax.xmlreader import InputSource

from defusedxml import DTDForbidden, EntitiesForbidden, ExternalReferenceForbidden
from defusedxml.expatreader import DefusedExpatParser

from quizzes.formats.base import (
    MAX_QUESTIONS,
    ParsedCategory,
    ParsedOption,
    ParsedQuestion,
    ParseResult,
    Problem,
    check,
    name_from_text,
)

__all__ = ["read_moodle_xml", "write_moodle_xml"]

#: Moodle's text formats → ours. Moodle reads an unknown format as HTML; so do we.
_FORMAT_IN = {
    "html": "html",
    "moodle_auto_format": "plain",
    "plain_text": "plain",
    "wiki_like": "plain",
    "markdown": "markdown",
}
_FORMAT_OUT = {"html": "html", "plain": "plain_text", "markdown": "markdown"}

#: Our types → Moodle's (both choice types are ``multichoice``, told apart by ``<single>``).
_TYPE_OUT = {
    "single_choice": "multichoice",
    "multiple_response": "multichoice",
    "true_false": "truefalse",
    "short_answer": "shortanswer",
    "numerical": "numerical",
    "matching": "matching",
    "essay": "essay",
    "description": "description",
}

#: The combined feedback of choice and matching questions → keys of ``settings``.
_COMBINED_FEEDBACK = (
    ("correctfeedback", "correct_feedback"),
    ("partiallycorrectfeedback", "partial_feedback"),
    ("incorrectfeedback", "incorrect_feedback"),
)

#: A context segment opening a category path: ``$course$``, ``$system$``, ``$module$``, ``$cat1$``…
_CONTEXT = re.compile(r"^\$[a-z0-9_]+\$$")
#: A category path separator: a single "/" ("//" is a slash inside a name).
_SEPARATOR = re.compile(r"(?<!/)/(?!/)")
#: Characters XML 1.0 cannot carry at all, even escaped.
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff\ud800-\udfff]")

#: expat's commonest complaints, for the trainer; any other is shown as expat words it.
_EXPAT_ERRORS = {
    "mismatched tag": "thẻ đóng không khớp với thẻ mở",
    "not well-formed (invalid token)": "ký tự hoặc cú pháp không hợp lệ",
    "no element found": "tệp kết thúc khi còn thẻ chưa đóng",
    "unclosed token": "thẻ chưa được đóng",
    "undefined entity": "thực thể (entity) chưa được khai báo; ký tự & phải viết là &amp;",
    "junk after document element": "có nội dung sau thẻ gốc",
    "syntax error": "lỗi cú pháp",
    "encoding specified in XML declaration is incorrect": "bảng mã khai báo trong tệp không đúng",
    "unknown encoding": "bảng mã không được hỗ trợ",
}

# --- reading -----------------------------------------------------------------------------------

class _Unreadable(Exception):
    """The file as a whole cannot be read: one problem, no question."""

    def __init__(self, line: int, reason: str) -> None:
        super().__init__(reason)
        self.line = line
        self.reason = reason

class _Refused(Exception):
    """One item cannot be read; the others still are."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason

class _TreeHandler(ContentHandler, LexicalHandler):
    """Builds an ElementTree from SAX events, noting the line of each child of the root."""

    def __init__(self) -> None:
        super().__init__()
        self.builder = ET.TreeBuilder()
        self.lines: dict[ET.Element, int] = {}
        self._depth = 0
        self._locator = None
        self._doctype = ""

    def setDocumentLocator(self, locator) -> None:
        self._locator = locator

    def startElement(self, name, attrs) -> None:
        element = self.builder.start(name, dict(attrs.items()))
        self._depth += 1
        if self._depth == 2 and self._locator is not None:
            # expat's position inside a start-tag callback is the start of that tag.
            self.lines[element] = self._locator.getLineNumber()

    def endElement(self, name) -> None:
        self.builder.end(name)
        self._depth -= 1

    def characters(self, content) -> None:
        self.builder.data(content)

    # Lexical events: a DTD is refused once it ends, so that an entity declaration inside it is
    # refused first (by defusedxml) and reported as what it is.
    def startDTD(self, name, public_id, system_id) -> None:
        self._doctype = name

    def endDTD(self) -> None:
        raise DTDForbidden(self._doctype, None, None)

    def startCDATA(self) -> None:
        pass

    def endCDATA(self) -> None:
        pass

    def comment(self, content) -> None:
        pass

def _parse(data: bytes | str) -> tuple[ET.Element, dict[ET.Element, int]]:
    """The root element and the line of each of its children; raises :class:`_Unreadable`."""
    source = InputSource()
    if isinstance(data, str):
        # Already decoded: whatever encoding the declaration names, these are UTF-8 bytes now.
        source.setByteStream(BytesIO(data.encode("utf-8", "surrogatepass")))
        source.setEncoding("utf-8")
        empty = not data.strip("\ufeff \t\r\n")
    else:
        source.setByteStream(BytesIO(data))
        empty = not data.strip(b"\xef\xbb\xbf \t\r\n")
    if empty:
        raise _Unreadable(1, "Tệp XML trống.")
    parser = DefusedExpatParser(forbid_dtd=False, forbid_entities=True, forbid_external=True)
    handler = _TreeHandler()
    parser.setContentHandler(handler)
    parser.setProperty(property_lexical_handler, handler)
    try:
        parser.parse(source)
    except SAXParseException as exc:
        line, column = exc.getLineNumber() or 1, (exc.getColumnNumber() or 0) + 1
        detail = _EXPAT_ERRORS.get(exc.getMessage(), exc.getMessage())
        raise _Unreadable(line, f"Tệp XML không hợp lệ ở dòng {line}, cột {column}: {detail}.") from None
    except EntitiesForbidden:
        raise _Unreadable(
            parser.getLineNumber() or 1,
            "Tệp XML có khai báo thực thể (entity) — bị từ chối vì lý do an toàn.",
        ) from None
    except ExternalReferenceForbidden:
        raise _Unreadable(
            parser.getLineNumber() or 1,
            "Tệp XML tham chiếu tới tài nguyên bên ngoài — bị từ chối vì lý do an toàn.",
        ) from None
    except DTDForbidden:
        raise _Unreadable(
            parser.getLineNumber() or 1,
            "Tệp XML có khai báo DTD (<!DOCTYPE …>) — bị từ chối vì lý do an toàn.",
        ) from None
    return handler.builder.close(), handler.lines

def _text(element: ET.Element | None) -> str:
    """The trimmed ``<text>`` of ``element`` ("" when either is missing)."""
    if element is None:
        return ""
    node = element.find("text")
    if node is None:
        return ""
    if len(node):
        # Moodle refuses this too: HTML must be escaped or wrapped in CDATA inside <text>.
        raise _Refused(
            f"Thẻ <text> trong <{element.tag}> chứa thẻ XML lồng bên trong "
            "(nội dung HTML phải nằm trong CDATA hoặc được mã hoá)."
        )
    return (node.text or "").strip()

def _value(element: ET.Element, tag: str) -> str | None:
    """The trimmed text of the child ``tag``; None when there is no such child."""
    child = element.find(tag)
    return None if child is None else (child.text or "").strip()

def _format(element: ET.Element | None, default: str) -> str:
    if element is None or element.get("format") is None:
        return default
    return _FORMAT_IN.get(element.get("format", "").strip(), "html")

def _flag(raw: str | None, default: bool) -> bool:
    """Moodle's reading of yes/no fields: "", "0" and "false" are no, anything else yes."""
    if raw is None:
        return default
    return raw.strip().lower() not in ("", "0", "false", "no")

def _number(raw: str, what: str) -> float:
    try:
        value = float(raw)
    except ValueError:
        value = math.nan
    if not math.isfinite(value):
        raise _Refused(f"{what} không phải là số: «{raw[:40]}».")
    return value

def _fraction(answer: ET.Element) -> float:
    """``fraction="33.33333"`` (percent) → 0.3333333; Moodle keeps 7 decimals."""
    raw = answer.get("fraction", "0").strip() or "0"
    return round(_number(raw, "Tỷ lệ điểm (fraction) của phương án") / 100, 7)

def _category_path(raw: str) -> tuple[str, ...]:
    """``$course$/top/Iota/Kappa`` → ("Iota", "Kappa"); "//" is a slash inside a name."""
    names = [part.replace("//", "/").strip() for part in _SEPARATOR.split(raw.strip())]
    if names and _CONTEXT.match(names[0]):
        names = names[1:]
    if names and names[0] == "top":
        names = names[1:]
    return tuple(name for name in names if name)

def _category_text(element: ET.Element) -> str:
    """``<category><text>…</text></category>``, or the bare ``<category>…</category>`` of old files."""
    holder = element.find("category")
    if holder is None:
        return ""
    return _text(holder) if holder.find("text") is not None else (holder.text or "").strip()

def _choice_settings(element: ET.Element, shuffle_default: bool) -> dict:
    settings: dict = {"shuffle": _flag(_value(element, "shuffleanswers"), shuffle_default)}
    for tag, key in _COMBINED_FEEDBACK:
        settings[key] = _text(element.find(tag))
    return settings

def _answers(element: ET.Element, text_format: str, *, plain: bool, tolerance: bool = False) -> list[ParsedOption]:
    """The ``<answer>`` children; ``plain``: the answer text is plain whatever the file says;
    ``tolerance``: read each answer's ``<tolerance>`` (numerical)."""
    options = []
    for answer in element.findall("answer"):
        feedback = answer.find("feedback")
        option = ParsedOption(
            text=_text(answer),
            fraction=_fraction(answer),
            feedback=_text(feedback),
            feedback_format=_format(feedback, text_format),
            text_format="plain" if plain else _format(answer, text_format),
        )
        if tolerance:
            option.tolerance = _number(_value(answer, "tolerance") or "0", "Sai số (tolerance) của đáp án")
        options.append(option)
    return options

def _true_false(element: ET.Element, text_format: str) -> list[ParsedOption]:
    """Always ["true", "false"]; answers named otherwise (old, localised exports) go by position."""
    answers = element.findall("answer")
    named = {_text(a).lower(): a for a in answers if _text(a).lower() in ("true", "false")}
    if len(named) < len(answers):
        named = dict(zip(("true", "false"), answers, strict=False))
    options = []
    for key in ("true", "false"):
        answer = named.get(key)
        feedback = None if answer is None else answer.find("feedback")
        options.append(
            ParsedOption(
                text=key,
                fraction=0.0 if answer is None else _fraction(answer),
                feedback=_text(feedback),
                feedback_format=_format(feedback, text_format),
                text_format="plain",
            )
        )
    return options

def _matching(element: ET.Element, text_format: str) -> list[ParsedOption]:
    options = []
    for sub in element.findall("subquestion"):
        text, match = _text(sub), _text(sub.find("answer"))
        if not text and not match:
            continue  # a blank row of Moodle's form, which Moodle skips too
        options.append(ParsedOption(text=text, match=match, text_format=_format(sub, text_format)))
    return options

def _tags(element: ET.Element) -> list[str]:
    tags: list[str] = []
    for group in ("tags", "coursetags"):
        for tag in element.findall(f"{group}/tag"):
            name = _text(tag)
            if name and name not in tags:
                tags.append(name)
    return tags

def _read_question(
    element: ET.Element, index: int, line: int, category: tuple[str, ...]
) -> ParsedQuestion:
    kind = element.get("type", "").strip()
    if kind == "multichoice":
        qtype = "single_choice" if _flag(_value(element, "single"), True) else "multiple_response"
    elif kind in ("matching", "match"):
        qtype = "matching"
    elif kind in ("truefalse", "shortanswer", "numerical", "essay", "description"):
        qtype = {"truefalse": "true_false", "shortanswer": "short_answer"}.get(kind, kind)
    elif not kind:
        raise _Refused("Câu hỏi thiếu thuộc tính type.")
    else:
        raise _Refused(f"Loại câu hỏi chưa được hỗ trợ: {kind[:40]}.")

    questiontext = element.find("questiontext")
    text_format = _format(questiontext, "html")
    text = _text(questiontext)
    mark = _value(element, "defaultgrade")
    question = ParsedQuestion(
        index=index,
        line=line,
        type=qtype,
        name=_text(element.find("name")) or name_from_text(text, text_format),
        text=text,
        text_format=text_format,
        category=category,
        general_feedback=_text(element.find("generalfeedback")),
        default_mark=_number(mark, "Điểm mặc định (defaultgrade)") if mark else 1.0,
        tags=_tags(element),
    )
    match qtype:
        case "single_choice" | "multiple_response":
            question.options = _answers(element, text_format, plain=False)
            question.settings = _choice_settings(element, shuffle_default=False)
        case "true_false":
            question.options = _true_false(element, text_format)
        case "short_answer":
            question.options = _answers(element, text_format, plain=True)
            question.settings = {"case_sensitive": _flag(_value(element, "usecase"), False)}
        case "numerical":
            question.options = _answers(element, text_format, plain=True, tolerance=True)
        case "matching":
            question.options = _matching(element, text_format)
            question.settings = _choice_settings(element, shuffle_default=True)
        case "description":
            question.default_mark = 0.0  # as Moodle: a description carries no mark
    return question

def read_moodle_xml(data: bytes | str, *, base_category: Iterable[str] = ()) -> ParseResult:
    """Read a Moodle XML question file.

    ``data``: the file's bytes (the encoding comes from the XML declaration, UTF-8 by default) or
    its decoded text. ``base_category`` is put in front of every category path of the file.
    ``index`` counts the ``<question>`` elements that are not categories, from 1; ``line`` is where
    the element starts.
    """
    result = ParseResult()
    base = tuple(base_category)
    try:
        root, lines = _parse(data)
    except _Unreadable as exc:
        result.problems.append(Problem(None, exc.line, exc.reason))
        return result
    if root.tag != "quiz":
        reason = f"Tệp XML không phải là tệp câu hỏi Moodle: phần tử gốc là <{root.tag}>, không phải <quiz>."
        result.problems.append(Problem(None, 1, reason))
        return result

    category = base
    index = 0
    for element in root:
        if element.tag != "question":
            continue
        line = lines.get(element, 1)
        if element.get("type", "").strip() == "category":
            try:
                path = _category_path(_category_text(element))
                description = _text(element.find("info"))
            except _Refused as exc:
                result.problems.append(Problem(None, line, exc.reason))
                continue
            category = base + path
            if path:
                result.add_category(category, description)
            continue

        index += 1
        if index > MAX_QUESTIONS:
            result.problems.append(
                Problem(
                    index,
                    line,
                    f"Tệp có hơn {MAX_QUESTIONS:,} câu hỏi; từ câu này trở đi không được đọc.".replace(",", "."),
                )
            )
            break
        try:
            question = _read_question(element, index, line, category)
        except _Refused as exc:
            result.problems.append(Problem(index, line, exc.reason))
            continue
        reasons = check(question)
        if reasons:
            result.problems.extend(Problem(index, line, reason) for reason in reasons)
        else:
            result.questions.append(question)
    return result

# --- writing -----------------------------------------------------------------------------------

def _decimal(value: float) -> str:
    """A float as a plain decimal that reads back as the same float: "1", "0.5", "0.0000001"."""
    if not math.isfinite(value):
        raise ValueError(f"not a finite number: {value!r}")
    if value == int(value) and abs(value) < 1e15:
        return str(int(value))
    return format(Decimal(repr(value)), "f")

def _percent(fraction: float) -> str:
    return _decimal(round(fraction * 100, 5))

def _text_xml(value: str) -> str:
    """``<text>…</text>``, in CDATA when the text holds markup (as Moodle writes it)."""
    # XML cannot carry these, and a parser turns "\r\n" into "\n" anyway.
    value = _NOT_XML.sub("", value.replace("\r\n", "\n").replace("\r", "\n"))
    if any(c in value for c in "<>&"):
        # "]]>" would end the section: split it across two.
        return "<text><![CDATA[" + value.replace("]]>", "]]]]><![CDATA[>") + "]]></text>"
    return f"<text>{value}</text>"

def _field(tag: str, value: str, text_format: str | None = None, indent: int = 4) -> list[str]:
    pad = " " * indent
    attr = f' format="{_FORMAT_OUT.get(text_format, "html")}"' if text_format else ""
    return [f"{pad}<{tag}{attr}>", f"{pad}  {_text_xml(value)}", f"{pad}</{tag}>"]

def _answer_xml(option: ParsedOption, text: str, text_format: str, extra: tuple[str, ...] = ()) -> list[str]:
    return [
        f'    <answer fraction="{_percent(option.fraction)}" format="{text_format}">',
        f"      {_text_xml(text)}",
        *_field("feedback", option.feedback, option.feedback_format, indent=6),
        *extra,
        "    </answer>",
    ]

def _category_xml(path: tuple[str, ...], description: str) -> list[str]:
    names = []
    for name in path:
        escaped = name.replace("/", "//")
        # A name starting or ending with "/" is padded, or its "//" would touch the separator.
        if escaped.startswith("/"):
            escaped = " " + escaped
        if escaped.endswith("/"):
            escaped += " "
        names.append(escaped)
    return [
        '  <question type="category">',
        *_field("category", "/".join(["$course$", "top", *names])),
        *_field("info", description, "html"),
        "  </question>",
    ]

def _question_xml(q: ParsedQuestion) -> list[str]:
    if q.type not in _TYPE_OUT:
        raise ValueError(f"question type not written to Moodle XML: {q.type}")
    fmt = q.text_format
    out = [
        f'  <question type="{_TYPE_OUT[q.type]}">',
        *_field("name", q.name),
        *_field("questiontext", q.text, fmt),
        *_field("generalfeedback", q.general_feedback, fmt),
        f"    <defaultgrade>{_decimal(q.default_mark)}</defaultgrade>",
        "    <hidden>0</hidden>",
    ]
    settings = q.settings
    if q.type in ("single_choice", "multiple_response", "matching"):
        if q.type != "matching":
            out.append(f"    <single>{'true' if q.type == 'single_choice' else 'false'}</single>")
        out.append(f"    <shuffleanswers>{'true' if settings.get('shuffle', True) else 'false'}</shuffleanswers>")
        if q.type != "matching":
            out.append("    <answernumbering>abc</answernumbering>")
        for tag, key in _COMBINED_FEEDBACK:
            out += _field(tag, settings.get(key, ""), fmt)
    match q.type:
        case "single_choice" | "multiple_response":
            for option in q.options:
                out += _answer_xml(option, option.text, _FORMAT_OUT.get(option.text_format, "html"))
        case "true_false":
            for option, text in zip(q.options, ("true", "false"), strict=False):
                out += _answer_xml(option, text, "moodle_auto_format")
        case "short_answer":
            out.append(f"    <usecase>{1 if settings.get('case_sensitive') else 0}</usecase>")
            for option in q.options:
                out += _answer_xml(option, option.text, "moodle_auto_format")
        case "numerical":
            for option in q.options:
                tolerance = (f"      <tolerance>{_decimal(option.tolerance)}</tolerance>",)
                out += _answer_xml(option, option.text, "moodle_auto_format", tolerance)
        case "matching":
            for option in q.options:
                out += [
                    f'    <subquestion format="{_FORMAT_OUT.get(option.text_format, "html")}">',
                    f"      {_text_xml(option.text)}",
                    "      <answer>",
                    f"        {_text_xml(option.match)}",
                    "      </answer>",
                    "    </subquestion>",
                ]
        case "essay":
            # Moodle's defaults for a new essay question: an editor, no attachments.
            out += [
                "    <responseformat>editor</responseformat>",
                "    <responserequired>1</responserequired>",
                "    <responsefieldlines>10</responsefieldlines>",
                "    <attachments>0</attachments>",
                "    <attachmentsrequired>0</attachmentsrequired>",
                *_field("graderinfo", "", "html"),
                *_field("responsetemplate", "", "html"),
            ]
    if q.tags:
        out.append("    <tags>")
        out += [f"      <tag>{_text_xml(tag)}</tag>" for tag in q.tags]
        out.append("    </tags>")
    out.append("  </question>")
    return out

def write_moodle_xml(
    questions: list[ParsedQuestion], categories: list[ParsedCategory] | None = None
) -> bytes:
    """The questions as a Moodle XML file (UTF-8 bytes).

    Each question goes into ``question.category`` (written as ``$course$/top/…`` before the first
    question of each run); leading questions with no category stay in the category the import
    targets. ``categories`` gives descriptions; those holding no question are written at the end,
    so that they are created too.
    """
    descriptions = {c.path: c.description for c in categories or ()}
    out = ['<?xml version="1.0" encoding="UTF-8"?>', "<quiz>"]
    current: tuple[str, ...] = ()
    written: set[tuple[str, ...]] = set()
    for question in questions:
        if question.category != current:
            current = tuple(question.category)
            out += _category_xml(current, descriptions.get(current, ""))
            written.add(current)
        out += _question_xml(question)
    for cat in categories or ():
        if cat.path and cat.path not in written:
            out += _category_xml(cat.path, cat.description)
            written.add(cat.path)
    out.append("</quiz>")
    return ("\n".join(out) + "\n").encode("utf-8")
