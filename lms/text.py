"""Vietnamese text at the edges: NFC normalisation, cleaning and diacritic-free folding."""

from __future__ import annotations

import re
import unicodedata

# C0/C1 controls (not the white space folded below), zero-width and bidi marks, word joiners and
# the byte-order mark that spreadsheets put at the start of a UTF-8 file.
_CONTROL = re.compile(
    r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x84\x86-\x9f\u061c\u200b-\u200f\u202a-\u202e"
    r"\u2060-\u2064\u2066-\u2069\ufeff]"
)
_SPACES = re.compile(r"\s+")


class NotText(ValueError):
    """Uploaded bytes that are not text: ``binary`` when they hold NUL or control bytes, else they
    decode in none of the accepted encodings."""

    def __init__(self, binary: bool) -> None:
        super().__init__("binary" if binary else "undecodable")
        self.binary = binary


def decode_text(content: bytes) -> str:
    """An uploaded text file as text: UTF-8 (with or without a BOM), UTF-16 with a BOM, or
    Vietnamese Windows-1258 (files saved by older Windows programs). Raises :class:`NotText`."""
    if content.startswith((b"\xff\xfe", b"\xfe\xff")):
        try:
            return content.decode("utf-16")
        except UnicodeDecodeError:
            raise NotText(binary=True) from None
    if b"\x00" in content:
        raise NotText(binary=True)
    try:
        return content.decode("utf-8-sig")
    except UnicodeDecodeError:
        pass
    try:
        text = content.decode("cp1258")
    except UnicodeDecodeError:
        raise NotText(binary=False) from None
    if re.search(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]", text):
        raise NotText(binary=True)
    return text


def nfc(value: str | None) -> str | None:
    if value is None:
        return None
    return unicodedata.normalize("NFC", value)


def clean(value: str | None) -> str:
    """NFC, control and bidi characters removed, runs of white space folded, trimmed."""
    if value is None:
        return ""
    value = _CONTROL.sub("", unicodedata.normalize("NFC", str(value)))
    return _SPACES.sub(" ", value).strip()


def strip_marks(value: str) -> str:
    """Vietnamese letters without their marks, case kept: "Quyền Đúng" -> "Quyen Dung"."""
    decomposed = unicodedata.normalize("NFD", value.replace("đ", "d").replace("Đ", "D"))
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


def fold(value: str | None) -> str:
    """Lower-case ASCII-ish form for search: "Quyền Trẻ Em" -> "quyen tre em"."""
    if not value:
        return ""
    stripped = strip_marks(_CONTROL.sub("", value))
    return _SPACES.sub(" ", stripped.casefold()).strip()


def email_key(email: str | None) -> str:
    """The identity of an e-mail address: NFC, trimmed, case-folded."""
    return clean(email).casefold()


def email_foreign_char(address: str) -> str | None:
    """The first character of ``address`` that an e-mail address here may not contain, or None.

    Addresses are plain ASCII: letters a–z, digits and ASCII punctuation. Everything else is
    refused rather than folded, because the look-alikes of a Latin letter are other characters
    with other identities: the dotless ``ı`` and the dotted ``İ`` (Turkish), the Cyrillic ``е`` and
    ``о``, the Greek ``ο``, full-width ``ａ`` and the other compatibility forms that NFKC would fold,
    letters with diacritics. Each would otherwise open another account for what a person reads as
    the same address. An internationalised domain is written in its ASCII form (``xn--…``).
    """
    for ch in address:
        if not ch.isascii():
            return ch
    return None


def mixed_script_label(domain: str) -> str | None:
    """The first label of an ASCII ``domain`` whose ``xn--`` form decodes to letters of more than
    one script (a Latin name with one Cyrillic letter inside, say), or that does not decode."""
    import idna

    for label in domain.split("."):
        if not label.lower().startswith("xn--"):
            continue
        try:
            decoded = idna.decode(label)
        except idna.IDNAError:
            return label
        scripts = {unicodedata.name(ch, "?").split(" ")[0] for ch in decoded if ch.isalpha()}
        if len(scripts) > 1:
            return label
    return None


def like_pattern(term: str) -> str:
    """A LIKE pattern matching ``term`` anywhere, with wildcards escaped (ESCAPE '\\')."""
    term = term.replace("\x00", "")
    escaped = term.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def is_formula_like(value: str) -> bool:
    """True when a spreadsheet would treat ``value`` as a formula."""
    return bool(value) and value[0] in "=+-@\t\r"


#: Unicode categories that are never text a person means to write: controls and format
#: characters (those :func:`clean` does not already remove), unassigned code points, private-use
#: characters (a symbol font's glyphs) and surrogates.
_NOT_TEXT = frozenset({"Cc", "Cf", "Cn", "Co", "Cs"})


def invalid_char(value: str | None) -> str | None:
    """The first character of a free-text ``value`` (a position, a unit's name) that is not
    text, or None: see ``_NOT_TEXT``, and U+FFFD, which a file read in the wrong encoding leaves.

    Markup and punctuation (``<``, ``>``, ``{``, ``&``, quotes) are text: they are stored as
    written, escaped where shown (Jinja's autoescape) and written as text in exports (the
    spreadsheet writer's formula guard)."""
    for ch in value or "":
        if ch == "\ufffd" or unicodedata.category(ch) in _NOT_TEXT:
            return ch
    return None


def char_code(ch: str) -> str:
    """How a message names a character: ``U+003C``."""
    return f"U+{ord(ch):04X}"


# -- Vietnamese alphabetical order ----------------------------------------------------------

_COLLATORS: dict[str, object] = {}


def _collator():
    """ICU's Vietnamese collator (CLDR "vi"): a ă â b c d đ e ê … with the tones after the
    letters (a à ả ã á ạ), so "Đặng" sorts after "Dũng" and before "Vũ"."""
    collator = _COLLATORS.get("vi")
    if collator is None:
        import icu

        collator = _COLLATORS["vi"] = icu.Collator.createInstance(icu.Locale("vi"))
    return collator


def sort_key(value: str | None) -> bytes:
    """A byte string that orders ``value`` in Vietnamese alphabetical order when compared byte
    by byte — as SQLite (BLOB) and PostgreSQL (bytea) compare it. ICU ends every key with one
    zero byte and puts none inside, so keys can be joined to sort by several parts."""
    return bytes(_collator().getSortKey(clean(value)))


def person_sort_key(full_name: str | None) -> bytes:
    """Vietnamese people are listed by given name (tên: the last word), then by the rest of
    the name (họ and tên đệm): "Trần Văn An" before "Lê Thị Bình"."""
    words = clean(full_name).split(" ")
    return sort_key(words[-1]) + sort_key(" ".join(words[:-1]))


# -- telephone numbers ----------------------------------------------------------------------

PHONE_REGION = "VN"
_PHONE_QUERY = re.compile(r"^\+?[\d .()\-]{6,}$")


def canonical_phone(value: str | None) -> str | None:
    """One stored form for a telephone number: E.164 (``+84912345678``), read as Vietnamese
    unless it starts with ``+``/``00`` and another country code. None when it is not a
    possible number."""
    import phonenumbers

    text = clean(value)
    if not text:
        return None
    if text.startswith("00"):
        text = "+" + text[2:]
    try:
        number = phonenumbers.parse(text, PHONE_REGION)
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_possible_number(number) or not phonenumbers.is_valid_number(number):
        return None
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def display_phone(value: str | None) -> str:
    """How a stored number is shown: the national form for Vietnamese numbers (0912 345 678),
    the international one for others; anything else as stored."""
    import phonenumbers

    if not value:
        return ""
    try:
        number = phonenumbers.parse(value, PHONE_REGION)
    except phonenumbers.NumberParseException:
        return value
    if phonenumbers.region_code_for_number(number) == PHONE_REGION:
        return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.NATIONAL)
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.INTERNATIONAL)


def phone_search_text(value: str | None) -> str:
    """What a person search finds a stored number by: its digits in the international and the
    national form, so "0584…", "+84 584…" and "584…" all match."""
    if not value:
        return ""
    digits = re.sub(r"\D", "", value)
    national = re.sub(r"\D", "", display_phone(value))
    return f"{digits} {national}" if national and national != digits else digits


def search_terms(query: str | None, limit: int = 8) -> list[str]:
    """The words of a search box, folded; a query that is a telephone number ("0584 123 456",
    "+84 584-123-456") becomes one term of the digits after the trunk 0 or the country code 84."""
    text = clean(query)
    if _PHONE_QUERY.match(text) and sum(ch.isdigit() for ch in text) >= 6:
        digits = re.sub(r"\D", "", text)
        if text.startswith("+84") or (text.startswith("84") and len(digits) >= 11):
            digits = digits[2:]
        elif text.startswith("00"):
            digits = digits[2:]
        digits = digits.lstrip("0") if text.startswith("0") else digits
        return [digits]
    return fold(text).split()[:limit]
