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


def fold(value: str | None) -> str:
    """Lower-case ASCII-ish form for search: "Quyền Trẻ Em" -> "quyen tre em"."""
    if not value:
        return ""
    value = _CONTROL.sub("", value)
    decomposed = unicodedata.normalize("NFD", value.replace("đ", "d").replace("Đ", "D"))
    stripped = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return _SPACES.sub(" ", stripped.casefold()).strip()


def email_key(email: str | None) -> str:
    """The identity of an e-mail address: NFC, trimmed, case-folded."""
    return clean(email).casefold()


def like_pattern(term: str) -> str:
    """A LIKE pattern matching ``term`` anywhere, with wildcards escaped (ESCAPE '\\')."""
    term = term.replace("\x00", "")
    escaped = term.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def is_formula_like(value: str) -> bool:
    """True when a spreadsheet would treat ``value`` as a formula."""
    return bool(value) and value[0] in "=+-@\t\r"
