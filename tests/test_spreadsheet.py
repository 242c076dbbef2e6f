"""The platform's spreadsheet and PDF modules: one reader for every import, one formula-safe
streaming writer with the official header block, one PDF layout with embedded Vietnamese fonts."""

from __future__ import annotations

import io
import zipfile
from datetime import UTC, date, datetime

import openpyxl
import pytest

from lms import pdf, spreadsheet
from lms.spreadsheet import Column, OfficialHeader, SheetWriter, SpreadsheetError

COLUMNS = (Column("name", "Họ và tên", aliases=("name",), required=True, width=24),
           Column("day", "Ngày", aliases=("date",)), Column("n", "Số"))


def test_the_writer_streams_many_rows_with_the_official_header(app, tmp_path):
    path = tmp_path / "lon.xlsx"
    with SheetWriter(str(path), COLUMNS, title="Danh sách thử", subtitle="Xuất ngày 01/12/2026",
                     header=OfficialHeader("Sở Tư pháp", "Ủy ban nhân dân tỉnh Hưng Yên")) as out:
        for n in range(20_000):
            out.row([f"Người {n}", date(2025, 1, 1), n])
    book = openpyxl.load_workbook(path, read_only=True)
    rows = list(book.active.iter_rows(values_only=True))
    assert rows[0][0] == "ỦY BAN NHÂN DÂN TỈNH HƯNG YÊN" and rows[0][2] == "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM"
    assert rows[1][0] == "SỞ TƯ PHÁP" and rows[1][2] == "Độc lập - Tự do - Hạnh phúc"
    header = next(n for n, row in enumerate(rows) if row[0] == "Họ và tên")
    assert rows[header + 1] == ("Người 0", datetime(2025, 1, 1), 0)
    assert len(rows) - header - 1 == 20_000


def test_the_writer_never_writes_a_formula_and_keeps_the_text(app):
    hostile = ['=HYPERLINK("http://evil")', "+1", "-2", "@SUM(A1)", "\tTab", "bình thường"]
    data = spreadsheet.workbook_bytes(COLUMNS, [[value, None, None] for value in hostile],
                                      title="=tiêu đề", header=OfficialHeader("=Sở"))
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        assert not any(b"<f>" in archive.read(name) for name in archive.namelist() if name.endswith(".xml"))
    sheet = openpyxl.load_workbook(io.BytesIO(data)).active
    cells = {cell.value: cell for row in sheet.iter_rows() for cell in row if isinstance(cell.value, str)}
    for value in hostile[:5] + ["=tiêu đề", "=SỞ"]:
        assert cells[value].data_type == "s" and cells[value].quotePrefix, value
    assert not cells["bình thường"].quotePrefix


def test_times_are_written_in_the_configured_zone(app):
    data = spreadsheet.workbook_bytes(COLUMNS, [["A", datetime(2025, 3, 1, 3, 0, tzinfo=UTC), None]])
    sheet = openpyxl.load_workbook(io.BytesIO(data)).active
    assert sheet["B2"].value == datetime(2025, 3, 1, 10, 0)  # Asia/Ho_Chi_Minh


def test_the_reader_finds_the_header_by_its_aliases_below_a_title(app):
    data = "DANH SÁCH\n\nNAME;DATE;Ghi chú\nAn;01/02/2025;x\n".encode("utf-8-sig")  # ; separated, title above
    table = spreadsheet.read_table(data, COLUMNS)
    assert table.header_row == 3 and table.ignored == ["Ghi chú"]
    assert table.rows == [(4, {"name": "An", "day": "01/02/2025"})]


@pytest.mark.parametrize("content, message", [
    (b"", "Tệp rỗng"),
    (b"%PDF-1.4 not a sheet", "không phải là bảng tính"),
    ("Số\n1\n".encode(), "Thiếu cột bắt buộc: “Họ và tên”"),
    ("Họ và tên;Name\nAn;B\n".encode(), "Dòng tiêu đề có cột bị lặp"),
])
def test_the_reader_refuses_unusable_files_with_one_message(app, content, message):
    with pytest.raises(SpreadsheetError) as exc:
        spreadsheet.read_table(content, COLUMNS)
    assert message in str(exc.value.message)


def test_the_pdf_module_embeds_vietnamese_fonts_and_is_deterministic():
    from reportlab.platypus import Spacer

    s = pdf.styles()

    def build():
        story = [pdf.official_header(pdf.Letterhead("Sở Tư pháp", "Ủy ban nhân dân tỉnh Hưng Yên"),
                                     pdf.content_width()),
                 Spacer(1, 10), pdf.para("GIẤY CHỨNG NHẬN <b>không phải markup</b>", s["title"]),
                 pdf.para(pdf.place_and_date("Hưng Yên", date(2026, 1, 5)), s["dateline"])]
        return pdf.build(story, pdf.PageSetup(title="Thử nghiệm"))

    first, second = build(), build()
    assert first == second and first.startswith(b"%PDF")
    assert b"BeVietnamPro" in first  # the font travels with the document
    assert pdf.place_and_date("Hưng Yên", date(2026, 1, 5)) == "Hưng Yên, ngày 05 tháng 01 năm 2026"
