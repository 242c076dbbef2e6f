"""Office macros are found by what a package declares, not by a part's name (issue 7).

The check went by part name (``vbaProject.bin``): a macro project renamed ``word/innocent.bin``
and declared in ``[Content_Types].xml`` passed. Now any package that declares a macro project,
macro sheet, VBA data or ActiveX control — as a content type, a relationship type or a part
name — is refused, by the material upload and by the roster import alike (one check,
:func:`lms.office.active_content`).
"""

from __future__ import annotations

import io
import zipfile

import pytest

from courses import uploads
from courses.models import Material
from lms.models import ImportBatch, Person
from lms.office import active_content
from lms.services import roster
from lms.spreadsheet import SpreadsheetError, read_table
from tests.conftest import count_rows
from tests.courses.conftest import make_course, trainer  # noqa: F401  (fixtures)
from tests.security import login, world  # noqa: F401  (fixture)
from tests.test_roster_import import row, xlsx_bytes

OLE = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 512  # what a vbaProject.bin starts with
VBA = "application/vnd.ms-office.vbaProject"
REL_VBA = "http://schemas.microsoft.com/office/2006/relationships/vbaProject"
REL_DOC = "http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument"
DOCX_MAIN = "application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml"


def package(main: str = "word/document.xml", main_type: str = DOCX_MAIN, *, defaults: str = "",
            overrides: str = "", parts: dict[str, bytes | str] | None = None) -> bytes:
    """A minimal Office package with the given extra declarations and parts."""
    types = ('<?xml version="1.0" encoding="UTF-8"?>'
             '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
             '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
             f'<Default Extension="xml" ContentType="application/xml"/>{defaults}'
             f'<Override PartName="/{main}" ContentType="{main_type}"/>{overrides}</Types>')
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("[Content_Types].xml", types)
        archive.writestr("_rels/.rels", '<?xml version="1.0"?><Relationships xmlns="http://schemas.openxmlformats.org/'
                         f'package/2006/relationships"><Relationship Id="rId1" Type="{REL_DOC}" Target="{main}"/>'
                         '</Relationships>')
        archive.writestr(main, '<?xml version="1.0"?><document/>')
        for name, data in (parts or {}).items():
            archive.writestr(name, data)
    return buffer.getvalue()


def doc_rels(target: str, rel_type: str = REL_VBA) -> str:
    return ('<?xml version="1.0"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/'
            f'relationships"><Relationship Id="rId9" Type="{rel_type}" Target="{target}"/></Relationships>')


MACRO_DOCX = {
    "renamed part, declared by override": package(
        overrides=f'<Override PartName="/word/innocent.bin" ContentType="{VBA}"/>',
        parts={"word/innocent.bin": OLE}),
    "renamed part, declared by extension": package(
        defaults=f'<Default Extension="dat" ContentType="{VBA}"/>', parts={"word/tailieu.dat": OLE}),
    "type hidden behind a character reference and capitals": package(
        overrides='<Override PartName="/word/a.bin" ContentType="application/vnd.MS-office.vba&#80;roject"/>',
        parts={"word/a.bin": OLE}),
    "only a relationship names it": package(
        parts={"word/innocent.bin": OLE, "word/_rels/document.xml.rels": doc_rels("innocent.bin")}),
    "macro-enabled main document saved as .docx": package(
        main_type="application/vnd.ms-word.document.macroEnabled.main+xml"),
    "ActiveX control": package(
        overrides='<Override PartName="/word/ctl/c1.xml" ContentType="application/vnd.ms-office.activeX+xml"/>',
        parts={"word/ctl/c1.xml": "<ax/>"}),
    "part named like a macro project": package(parts={"word/vbaProject.bin": OLE}),
}


@pytest.mark.parametrize("case", sorted(MACRO_DOCX))
def test_macro_packages_are_refused_whatever_the_part_is_called(case):
    data = MACRO_DOCX[case]
    assert active_content(zipfile.ZipFile(io.BytesIO(data)))
    with pytest.raises(uploads.UploadRefused, match="macro"):
        uploads.classify(io.BytesIO(data), "tai-lieu.docx")


def test_ordinary_office_parts_are_not_mistaken_for_macros():
    """Printer settings are .bin parts too; images, styles and hyperlinks are fine."""
    clean = package(
        overrides='<Override PartName="/word/printerSettings/printerSettings1.bin" '
                  'ContentType="application/vnd.openxmlformats-officedocument.wordprocessingml.printerSettings"/>',
        defaults='<Default Extension="png" ContentType="image/png"/>',
        parts={"word/printerSettings/printerSettings1.bin": b"\x00" * 64, "word/media/image1.png": b"\x89PNG",
               "word/_rels/document.xml.rels": doc_rels(
                   "https://example.vn", "http://schemas.openxmlformats.org/officeDocument/2006/relationships/hyperlink")})
    assert active_content(zipfile.ZipFile(io.BytesIO(clean))) == []
    assert uploads.classify(io.BytesIO(clean), "tai-lieu.docx")[0] == "docx"


def test_a_material_upload_of_a_renamed_macro_is_refused(app, trainer, make_course):  # noqa: F811
    course = make_course(publish=False)
    lesson = course.sections[0].lessons[0]
    client = login(app, trainer.email)
    response = client.post(f"/courses/teaching/{course.id}/lessons/{lesson.id}/materials/file",
                           data={"upload-file": (io.BytesIO(MACRO_DOCX["renamed part, declared by override"]),
                                                 "tai-lieu.docx")},
                           content_type="multipart/form-data")
    assert response.status_code == 422
    assert "Tệp Office chứa macro" in response.get_data(as_text=True)
    assert count_rows(Material) == 0


def macro_xlsx(data: bytes) -> bytes:
    """A real workbook with a macro project added as ``xl/innocent.bin`` and declared."""
    source = zipfile.ZipFile(io.BytesIO(data))
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for info in source.infolist():
            content = source.read(info)
            if info.filename == "[Content_Types].xml":
                content = content.replace(b"</Types>", f'<Override PartName="/xl/innocent.bin" '
                                                      f'ContentType="{VBA}"/></Types>'.encode())
            archive.writestr(info.filename, content)
        archive.writestr("xl/innocent.bin", OLE)
    return buffer.getvalue()


def test_an_imported_workbook_with_a_renamed_macro_is_refused(app, world):
    clean = xlsx_bytes([row(unit="U")])
    read_table(clean, roster.COLUMNS)  # the clean workbook reads
    with pytest.raises(SpreadsheetError, match="macro"):
        read_table(macro_xlsx(clean), roster.COLUMNS)
    client = login(app, world.admin.email)
    people, batches = count_rows(Person), count_rows(ImportBatch)
    response = client.post("/admin/import/", data={"file": (io.BytesIO(macro_xlsx(clean)), "danh-sach.xlsx")},
                           content_type="multipart/form-data")
    assert response.status_code == 422
    assert "Tệp chứa macro hoặc điều khiển ActiveX" in response.get_data(as_text=True)
    assert (count_rows(Person), count_rows(ImportBatch)) == (people, batches)
