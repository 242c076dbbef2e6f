"""What may be uploaded as lesson material, decided by content (and an extension allow-list).

Accepted: PDF, Word, PowerPoint, Excel (OOXML, checked as zip containers: entry count and total
uncompressed size), images (PNG, JPEG, GIF, WebP), MP3 and MP4. HTML, SVG, scripts, executables
and everything else are refused. The type we serve is the type we found, never the browser's.
"""

from __future__ import annotations

import zipfile
from dataclasses import dataclass
from typing import BinaryIO

import filetype

from lms.i18n import lazy_gettext as _l
from lms.office import active_content

MAX_ZIP_ENTRIES = 5000
MAX_ZIP_RATIO_BYTES = 300 * 1024 * 1024  # uncompressed size an Office file may claim


@dataclass(frozen=True)
class Kind:
    mimetype: str
    extensions: tuple[str, ...]
    video: bool = False
    inline: bool = True  # may be shown in the browser (still with nosniff and a CSP)


KINDS = {
    "pdf": Kind("application/pdf", ("pdf",)),
    "docx": Kind("application/vnd.openxmlformats-officedocument.wordprocessingml.document", ("docx",), inline=False),
    "pptx": Kind("application/vnd.openxmlformats-officedocument.presentationml.presentation", ("pptx",), inline=False),
    "xlsx": Kind("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", ("xlsx",), inline=False),
    "png": Kind("image/png", ("png",)),
    "jpg": Kind("image/jpeg", ("jpg", "jpeg")),
    "gif": Kind("image/gif", ("gif",)),
    "webp": Kind("image/webp", ("webp",)),
    "mp3": Kind("audio/mpeg", ("mp3",)),
    "mp4": Kind("video/mp4", ("mp4", "m4v"), video=True),
}
_BY_EXTENSION = {ext: name for name, kind in KINDS.items() for ext in kind.extensions}
_OOXML_PART = {"docx": "word/", "pptx": "ppt/", "xlsx": "xl/"}
ALLOWED_EXTENSIONS = sorted(_BY_EXTENSION)


class UploadRefused(Exception):
    def __init__(self, message):
        super().__init__(str(message))
        self.message = message


def extension_of(filename: str) -> str:
    return filename.rsplit(".", 1)[-1].lower() if "." in filename else ""


def kind_for(filename: str) -> Kind | None:
    """The kind a file name claims (before its content is checked), or None."""
    name = _BY_EXTENSION.get(extension_of(filename))
    return KINDS[name] if name else None


def _sniff(head: bytes) -> str | None:
    if head.startswith(b"%PDF-"):
        return "pdf"
    if head.startswith(b"ID3") or (len(head) > 1 and head[0] == 0xFF and (head[1] & 0xE0) == 0xE0):
        return "mp3"
    guess = filetype.guess(head)
    if guess is None:
        return None
    return {"application/pdf": "pdf", "image/png": "png", "image/jpeg": "jpg", "image/gif": "gif",
            "image/webp": "webp", "audio/mpeg": "mp3", "video/mp4": "mp4", "video/x-m4v": "mp4",
            "application/zip": "zip"}.get(guess.mime, "zip" if guess.extension in ("docx", "pptx", "xlsx") else None)


def _check_ooxml(source: BinaryIO, name: str) -> None:
    source.seek(0)
    try:
        with zipfile.ZipFile(source) as archive:
            infos = archive.infolist()
            if len(infos) > MAX_ZIP_ENTRIES:
                raise UploadRefused(_l("Tệp Office có quá nhiều thành phần bên trong; có thể là tệp độc hại."))
            if sum(i.file_size for i in infos) > MAX_ZIP_RATIO_BYTES:
                raise UploadRefused(_l("Tệp Office giải nén ra quá lớn; có thể là tệp độc hại (zip bomb)."))
            names = {i.filename for i in infos}
            if "[Content_Types].xml" not in names or not any(n.startswith(_OOXML_PART[name]) for n in names):
                raise UploadRefused(_l("Nội dung tệp không khớp với phần mở rộng .%(ext)s.", ext=name))
            if active_content(archive):  # declared macro project / ActiveX, whatever its part's name
                raise UploadRefused(_l("Tệp Office chứa macro; hãy lưu lại ở dạng không có macro."))
    except zipfile.BadZipFile:
        raise UploadRefused(_l("Tệp bị hỏng hoặc không phải tệp Office hợp lệ.")) from None


def classify(source: BinaryIO, filename: str) -> tuple[str, Kind]:
    """The kind of ``source`` (seekable), or :class:`UploadRefused` with a user message."""
    ext = extension_of(filename)
    expected = _BY_EXTENSION.get(ext)
    if expected is None:
        raise UploadRefused(_l("Không nhận loại tệp này. Chỉ nhận: %(list)s.", list=", ".join(ALLOWED_EXTENSIONS)))
    source.seek(0)
    head = source.read(8192)
    if not head:
        raise UploadRefused(_l("Tệp rỗng."))
    found = _sniff(head)
    if expected in _OOXML_PART:
        if found != "zip":
            raise UploadRefused(_l("Nội dung tệp không khớp với phần mở rộng .%(ext)s.", ext=ext))
        _check_ooxml(source, expected)
    elif found != expected:
        raise UploadRefused(_l("Nội dung tệp không khớp với phần mở rộng .%(ext)s.", ext=ext))
    source.seek(0)
    return expected, KINDS[expected]
