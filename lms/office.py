"""Office Open XML packages (.docx, .xlsx, .pptx): is there active content inside?

A package's parts are typed by ``[Content_Types].xml`` and tied together by relationships
(``*.rels``), not by their names: Word runs a macro project stored as ``word/innocent.bin`` as
readily as one stored as ``word/vbaProject.bin``. So a package is refused when any of these
declares a macro project, macro sheet, VBA data or ActiveX control, whatever the part is called:

- a content type (``Default`` or ``Override``) such as ``application/vnd.ms-office.vbaProject``,
  ``application/vnd.ms-office.activeX+xml``, ``application/vnd.ms-excel.macrosheet+xml`` or any
  ``*.macroEnabled.*`` main part;
- a relationship type such as ``.../relationships/vbaProject``, ``.../activeXControl``,
  ``.../xlMacrosheet`` or ``.../wordVbaData``;
- a part named like a macro project (``vbaProject.bin``, ``vbaData.xml``, ``activeX/``).

Used by every place that accepts an Office file: lesson materials (``courses/uploads.py``) and
spreadsheet imports (:mod:`lms.spreadsheet`). Character references are decoded and the check is
case-insensitive, so ``vba&#80;roject`` or ``VBAPROJECT`` do not slip through.
"""

from __future__ import annotations

import html
import re
import zipfile
import zlib

#: Words that mark active content in a content type or a relationship type (lower case).
ACTIVE_MARKERS = ("vbaproject", "vbadata", "activex", "macroenabled", "macrosheet", "intlmacrosheet")
#: Words that mark a part as a macro project or an ActiveX control by its name (lower case).
ACTIVE_NAME_MARKERS = ("vbaproject", "vbadata", "activex")
_CONTENT_TYPE = re.compile(r"""\bContentType\s*=\s*(["'])(.*?)\1""", re.IGNORECASE | re.DOTALL)
_REL_TYPE = re.compile(r"""\bType\s*=\s*(["'])(.*?)\1""", re.IGNORECASE | re.DOTALL)
#: The most a declaration part may weigh before the package is treated as hostile.
MAX_DECLARATION_BYTES = 8 * 1024 * 1024


def _flagged(value: str) -> bool:
    folded = re.sub(r"\s+", "", html.unescape(value)).lower()
    return any(marker in folded for marker in ACTIVE_MARKERS)


def _read(archive: zipfile.ZipFile, info: zipfile.ZipInfo) -> str:
    if info.file_size > MAX_DECLARATION_BYTES:
        raise zipfile.BadZipFile(f"{info.filename} is too large")
    with archive.open(info) as handle:
        data = handle.read(MAX_DECLARATION_BYTES + 1)
    if len(data) > MAX_DECLARATION_BYTES:
        raise zipfile.BadZipFile(f"{info.filename} is too large")
    return data.decode("utf-8", "replace")


def active_content(archive: zipfile.ZipFile) -> list[str]:
    """The parts or declarations of ``archive`` that make it macro-enabled or carry ActiveX
    (empty: none). Raises :class:`zipfile.BadZipFile` if a declaration cannot be read."""
    found: list[str] = []
    try:
        for info in archive.infolist():
            name = info.filename
            lowered = name.lower()
            if any(marker in lowered for marker in ACTIVE_NAME_MARKERS):
                found.append(name)
                continue
            if lowered == "[content_types].xml":
                found += [f"{name}: {m.group(2)}" for m in _CONTENT_TYPE.finditer(_read(archive, info))
                          if _flagged(m.group(2))]
            elif lowered.endswith(".rels"):
                found += [f"{name}: {m.group(2)}" for m in _REL_TYPE.finditer(_read(archive, info))
                          if _flagged(m.group(2))]
    except (OSError, RuntimeError, NotImplementedError, EOFError, ValueError, KeyError, zlib.error) as exc:
        raise zipfile.BadZipFile(str(exc)) from exc
    return found
