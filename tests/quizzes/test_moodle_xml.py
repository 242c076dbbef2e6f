"""Moodle XML: reading every supported type, refusing unsafe or broken files, writing files that read
back to the same questions."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from quizzes.formats import moodle_xml
from quizzes.formats.base import ParsedCategory, ParsedOption, ParsedQuestion, check
from quizzes.formats.moodle_xml import read_moodle_xml, write_moodle_xml

INTEROP = Path(__file__).resolve().parents[2].parent / "shared" / "interop" / "moodle" / "xml"


def _interop(name: str) -> bytes:
    path = INTEROP / name
    if not path.exists():
        pytest.skip(f"interop sample not here: {path}")
    return path.read_bytes()


def _quiz(*questions: str) -> str:
    return '<?xml version="1.0" encoding="UTF-8"?>\n<quiz>\n' + "\n".join(questions) + "\n</quiz>\n"


def _mc(name: str, *answers: str, single: str = "true") -> str:
    return (
        f'<question type="multichoice"><name><text>{name}</text></name>'
        f'<questiontext format="html"><text>Text of {name}</text></questiontext>'
        f"<single>{single}</single>" + "".join(answers) + "</question>"
    )


def _ans(fraction: str, text: str, feedback: str = "") -> str:
    return f'<answer fraction="{fraction}"><text>{text}</text><feedback><text>{feedback}</text></feedback></answer>'


# --- the interop sample ------------------------------------------------------------------------


def test_nested_categories_sample():
    result = read_moodle_xml(_interop("nested_categories_with_questions.xml"))

    assert result.problems == []
    assert [(c.path, c.description) for c in result.categories] == [
        (("Iota",), "This is Iota category for test"),
        (("Iota", "Kappa"), "This is Kappa category for test"),
        (("Iota", "Kappa", "Lambda"), "This is Lambda category for test"),
        (("Iota", "Mu"), "This is Mu category for test"),
    ]
    got = [(q.index, q.line, q.type, q.name, q.text, q.text_format, q.category) for q in result.questions]
    assert got == [
        (1, 15, "true_false", "Iota Question", "<p>Testing Iota Question</p>", "html", ("Iota",)),
        (2, 55, "essay", "Kappa Essay Question", "Testing Kappa Essay Question", "plain", ("Iota", "Kappa")),
        (3, 83, "true_false", "Kappa Question", "<p>Testing Kappa Question</p>", "html", ("Iota", "Kappa")),
        (4, 123, "true_false", "Lambda Question", "<p>Testing Lambda Question</p>", "html",
         ("Iota", "Kappa", "Lambda")),
        (5, 163, "true_false", "Mu Question", "<p>Testing Mu Question</p>", "html", ("Iota", "Mu")),
    ]
    for q in result.questions:
        if q.type == "true_false":
            assert [(o.text, o.fraction) for o in q.options] == [("true", 1.0), ("false", 0.0)]
        else:
            assert q.options == []


def test_nested_categories_sample_under_a_base_category():
    result = read_moodle_xml(_interop("nested_categories_with_questions.xml"), base_category=("Kho", "Moodle"))

    assert result.categories[0].path == ("Kho", "Moodle", "Iota")
    assert {q.category for q in result.questions} == {
        ("Kho", "Moodle", "Iota"), ("Kho", "Moodle", "Iota", "Kappa"),
        ("Kho", "Moodle", "Iota", "Kappa", "Lambda"), ("Kho", "Moodle", "Iota", "Mu")}


def test_interop_sample_survives_a_round_trip():
    first = read_moodle_xml(_interop("nested_categories_with_questions.xml"))
    second = read_moodle_xml(write_moodle_xml(first.questions, first.categories))

    assert second.problems == []
    assert second.categories == first.categories
    assert [_comparable(q) for q in second.questions] == [_comparable(q) for q in first.questions]


# --- reading each type -------------------------------------------------------------------------

EVERY_TYPE = _quiz(
    """<question type="category"><category><text>$course$/top/Công ước/CEDAW</text></category>
    <info format="html"><text>Về phụ nữ</text></info></question>""",
    """<question type="multichoice">
    <name><text>  Chọn một  </text></name>
    <questiontext format="html"><text><![CDATA[<p>Năm nào?</p>]]></text></questiontext>
    <generalfeedback format="html"><text>Chung</text></generalfeedback>
    <defaultgrade>2.5000000</defaultgrade>
    <single>true</single><shuffleanswers>1</shuffleanswers>
    <correctfeedback format="html"><text>Đúng rồi</text></correctfeedback>
    <partiallycorrectfeedback format="html"><text>Gần đúng</text></partiallycorrectfeedback>
    <incorrectfeedback format="html"><text>Sai</text></incorrectfeedback>
    <answer fraction="100" format="plain_text"><text>1979</text>
      <feedback format="markdown"><text>*Đúng*</text></feedback></answer>
    <answer fraction="33.33333"><text>1980</text></answer>
    <answer fraction="-50" format="html"><text>&lt;b&gt;1981&lt;/b&gt;</text></answer>
    <tags><tag><text>cedaw</text></tag><tag><text>năm</text></tag></tags>
    <coursetags><tag><text>cedaw</text></tag><tag><text>khoá 1</text></tag></coursetags>
    </question>""",
    """<question type="multichoice">
    <name><text>Nhiều</text></name>
    <questiontext format="markdown"><text>**Chọn** các quyền</text></questiontext>
    <single>false</single>
    <answer fraction="50"><text>a</text></answer>
    <answer fraction="50"><text>b</text></answer>
    <answer fraction="-100"><text>c</text></answer>
    </question>""",
    """<question type="truefalse">
    <name><text>Đúng sai</text></name>
    <questiontext format="moodle_auto_format"><text>Trời xanh?</text></questiontext>
    <answer fraction="0"><text>false</text><feedback><text>Không phải sai</text></feedback></answer>
    <answer fraction="100"><text>true</text><feedback><text>Đúng vậy</text></feedback></answer>
    </question>""",
    """<question type="shortanswer">
    <name><text>Ngắn</text></name>
    <questiontext format="plain_text"><text>Tên công ước?</text></questiontext>
    <usecase>1</usecase>
    <answer fraction="100" format="moodle_auto_format"><text>CEDAW</text></answer>
    <answer fraction="50"><text>CEDAW*</text><feedback><text>gần</text></feedback></answer>
    </question>""",
    """<question type="numerical">
    <name><text>Số</text></name>
    <questiontext><text>Năm?</text></questiontext>
    <answer fraction="100"><text>1979</text><tolerance>0.5</tolerance></answer>
    <answer fraction="10"><text>*</text></answer>
    </question>""",
    """<question type="matching">
    <name><text>Ghép</text></name>
    <questiontext format="html"><text>Ghép đôi</text></questiontext>
    <subquestion format="html"><text>CEDAW</text><answer><text>Phụ nữ</text></answer></subquestion>
    <subquestion format="html"><text>CRC</text><answer><text>Trẻ em</text></answer></subquestion>
    <subquestion format="html"><text></text><answer><text></text></answer></subquestion>
    <subquestion format="html"><text></text><answer><text>Lao động</text></answer></subquestion>
    </question>""",
    """<question type="essay">
    <name><text>Luận</text></name>
    <questiontext format="wiki_like"><text>Bàn về quyền.</text></questiontext>
    <defaultgrade>10</defaultgrade>
    </question>""",
    """<question type="description">
    <name><text>Mô tả</text></name>
    <questiontext format="unknown_format"><text>Phần hai</text></questiontext>
    <defaultgrade>1</defaultgrade>
    </question>""",
)


def test_every_type():
    result = read_moodle_xml(EVERY_TYPE.encode("utf-8"))

    assert result.problems == []
    assert result.categories == [ParsedCategory(("Công ước", "CEDAW"), "Về phụ nữ")]
    by_type = {q.type: q for q in result.questions}
    assert [q.type for q in result.questions] == [
        "single_choice", "multiple_response", "true_false", "short_answer", "numerical", "matching",
        "essay", "description"]
    assert [q.index for q in result.questions] == list(range(1, 9))
    assert all(q.category == ("Công ước", "CEDAW") for q in result.questions)

    single = by_type["single_choice"]
    assert (single.name, single.text, single.text_format) == ("Chọn một", "<p>Năm nào?</p>", "html")
    assert (single.general_feedback, single.default_mark) == ("Chung", 2.5)
    assert single.settings == {"shuffle": True, "correct_feedback": "Đúng rồi",
                               "partial_feedback": "Gần đúng", "incorrect_feedback": "Sai"}
    assert single.tags == ["cedaw", "năm", "khoá 1"]
    assert single.options == [
        ParsedOption("1979", 1.0, "*Đúng*", "markdown", "plain"),
        ParsedOption("1980", 0.3333333, "", "html", "html"),
        ParsedOption("<b>1981</b>", -0.5, "", "html", "html"),
    ]

    multi = by_type["multiple_response"]
    assert multi.text_format == "markdown"
    assert [o.fraction for o in multi.options] == [0.5, 0.5, -1.0]
    assert multi.settings["shuffle"] is False  # Moodle's default when <shuffleanswers> is missing

    tf = by_type["true_false"]
    assert tf.text_format == "plain"
    assert [(o.text, o.fraction, o.feedback) for o in tf.options] == [
        ("true", 1.0, "Đúng vậy"), ("false", 0.0, "Không phải sai")]

    short = by_type["short_answer"]
    assert short.settings == {"case_sensitive": True}
    assert [(o.text, o.fraction, o.feedback, o.text_format) for o in short.options] == [
        ("CEDAW", 1.0, "", "plain"), ("CEDAW*", 0.5, "gần", "plain")]

    num = by_type["numerical"]
    assert num.text_format == "html"  # no format attribute: Moodle's default
    assert [(o.text, o.fraction, o.tolerance) for o in num.options] == [("1979", 1.0, 0.5), ("*", 0.1, 0.0)]

    match = by_type["matching"]
    assert [(o.text, o.match) for o in match.options] == [
        ("CEDAW", "Phụ nữ"), ("CRC", "Trẻ em"), ("", "Lao động")]  # the blank pair is skipped
    assert match.settings["shuffle"] is True

    essay = by_type["essay"]
    assert (essay.text_format, essay.default_mark, essay.options) == ("plain", 10.0, [])
    description = by_type["description"]
    assert (description.text_format, description.default_mark) == ("html", 0.0)


def test_lines_and_indexes_skip_categories():
    xml = _quiz(
        '<question type="category"><category><text>$course$/A</text></category></question>',
        _mc("one", _ans("100", "x"), _ans("0", "y")),
        '<question type="category"><category><text>$course$/B</text></category></question>',
        _mc("two", _ans("100", "x"), _ans("0", "y")),
    )
    result = read_moodle_xml(xml)

    assert [(q.index, q.line, q.category) for q in result.questions] == [(1, 4, ("A",)), (2, 6, ("B",))]


@pytest.mark.parametrize(("raw", "path"), [
    ("$course$/top/Iota/Kappa", ("Iota", "Kappa")),
    ("$course$/Iota", ("Iota",)),
    ("$system$/top/Chung", ("Chung",)),
    ("$module$/top/Bài 1", ("Bài 1",)),
    ("$cat1$/top/Khoa", ("Khoa",)),
    ("top/X/Y", ("X", "Y")),
    ("X/Y", ("X", "Y")),
    ("$course$/top/top/X", ("top", "X")),
    ("$course$/top/A//B/C", ("A/B", "C")),
    ("$course$/top/Tricky // //// and so on/ //starts/ends// ", ("Tricky / // and so on", "/starts", "ends/")),
    ("$course$/top", ()),
    ("$course$/top/ A / /B", ("A", "B")),
])
def test_category_paths(raw, path):
    xml = _quiz(f'<question type="category"><category><text>{raw}</text></category></question>',
                _mc("q", _ans("100", "x"), _ans("0", "y")))
    result = read_moodle_xml(xml)

    assert result.questions[0].category == path
    assert [c.path for c in result.categories] == ([path] if path else [])


def test_category_without_questions_and_old_bare_category():
    xml = _quiz(
        '<question type="category"><category><text>$course$/Trống</text></category>'
        '<info format="html"><text>Không có câu nào</text></info></question>',
        '<question type="category"><category>$course$/Cũ/Kiểu</category></question>',
        _mc("q", _ans("100", "x"), _ans("0", "y")),
    )
    result = read_moodle_xml(xml)

    assert result.categories == [ParsedCategory(("Trống",), "Không có câu nào"), ParsedCategory(("Cũ", "Kiểu"))]
    assert result.questions[0].category == ("Cũ", "Kiểu")


def test_true_false_old_localised_answers_go_by_position():
    xml = _quiz("""<question type="truefalse"><name><text>tf</text></name>
        <questiontext><text>Đúng không?</text></questiontext>
        <answer fraction="0"><text>Đúng</text></answer><answer fraction="100"><text>Sai</text></answer>
        </question>""")
    (q,) = read_moodle_xml(xml).questions

    assert [(o.text, o.fraction) for o in q.options] == [("true", 0.0), ("false", 1.0)]


def test_missing_name_is_made_from_the_text():
    xml = _quiz("""<question type="essay"><questiontext format="html">
        <text><![CDATA[<p>Hãy trình bày <b>ngắn gọn</b> những quyền cơ bản của phụ nữ theo công ước CEDAW</p>]]></text>
        </questiontext></question>""")
    (q,) = read_moodle_xml(xml).questions

    assert q.name == "Hãy trình bày ngắn gọn những quyền cơ bản của phụ…"


def test_str_input_bom_and_windows_line_endings():
    xml = "\ufeff" + EVERY_TYPE.replace("\n", "\r\n")
    result = read_moodle_xml(xml)

    assert result.problems == []
    assert len(result.questions) == 8
    assert read_moodle_xml(("\ufeff" + EVERY_TYPE).encode("utf-8")).problems == []


def test_declared_encoding_of_bytes_is_honoured():
    question = _mc("Café", _ans("100", "oui"), _ans("0", "non"))
    xml = '<?xml version="1.0" encoding="ISO-8859-1"?>\n<quiz>' + question + "</quiz>"
    (q,) = read_moodle_xml(xml.encode("latin-1")).questions
    assert q.name == "Café"
    # Already decoded text is taken as it is, whatever the declaration says.
    (q,) = read_moodle_xml(xml).questions
    assert q.name == "Café"
    utf16 = _quiz(_mc("Ü", _ans("100", "a"), _ans("0", "b"))).replace("UTF-8", "UTF-16").encode("utf-16")
    assert [q.name for q in read_moodle_xml(utf16).questions] == ["Ü"]


# --- problems ----------------------------------------------------------------------------------


def test_unsupported_types_are_reported_never_dropped():
    kinds = ["ddwtos", "gapselect", "calculated", "calculatedmulti", "multianswer", "cloze", "randomsamatch",
             "ordering", "ddimageortext", "random"]
    xml = _quiz(*[f'<question type="{k}"><name><text>{k}</text></name></question>' for k in kinds],
                _mc("ok", _ans("100", "x"), _ans("0", "y")),
                "<question><name><text>no type</text></name></question>")
    result = read_moodle_xml(xml)

    assert [q.name for q in result.questions] == ["ok"]
    assert result.questions[0].index == len(kinds) + 1
    assert [(p.index, p.line, p.reason) for p in result.problems] == [
        *[(i, i + 2, f"Loại câu hỏi chưa được hỗ trợ: {k}.") for i, k in enumerate(kinds, start=1)],
        (len(kinds) + 2, len(kinds) + 4, "Câu hỏi thiếu thuộc tính type."),
    ]


def test_broken_questions_in_the_middle_are_reported_and_the_others_read():
    xml = _quiz(
        _mc("first", _ans("100", "x"), _ans("0", "y")),
        _mc("no answers"),
        _mc("bad fraction", _ans("abc", "x"), _ans("0", "y")),
        _mc("no right one", _ans("50", "x"), _ans("0", "y")),
        '<question type="numerical"><name><text>n</text></name><questiontext><text>?</text></questiontext>'
        '<answer fraction="100"><text>5</text><tolerance>much</tolerance></answer></question>',
        '<question type="essay"><name><text>e</text></name><questiontext><text>?</text></questiontext>'
        "<defaultgrade>ten</defaultgrade></question>",
        '<question type="essay"><name><text>tags</text></name>'
        "<questiontext><text>a <b>raw</b> tag</text></questiontext></question>",
        '<question type="essay"><name><text>empty</text></name><questiontext><text>  </text></questiontext></question>',
        _mc("last", _ans("100", "x"), _ans("0", "y")),
    )
    result = read_moodle_xml(xml)

    assert [(q.index, q.name) for q in result.questions] == [(1, "first"), (9, "last")]
    assert [(p.index, p.line, p.reason) for p in result.problems] == [
        (2, 4, "Câu hỏi một lựa chọn cần ít nhất 2 phương án."),
        (3, 5, "Tỷ lệ điểm (fraction) của phương án không phải là số: «abc»."),
        (4, 6, "Câu hỏi một lựa chọn cần một phương án đúng (100%)."),
        (5, 7, "Sai số (tolerance) của đáp án không phải là số: «much»."),
        (6, 8, "Điểm mặc định (defaultgrade) không phải là số: «ten»."),
        (7, 9, "Thẻ <text> trong <questiontext> chứa thẻ XML lồng bên trong "
               "(nội dung HTML phải nằm trong CDATA hoặc được mã hoá)."),
        (8, 10, "Câu hỏi không có nội dung."),
    ]


def test_nan_and_out_of_range_fractions():
    xml = _quiz(_mc("nan", _ans("NaN", "x"), _ans("0", "y")), _mc("big", _ans("200", "x"), _ans("100", "y")))
    reasons = [p.reason for p in read_moodle_xml(xml).problems]

    assert reasons == ["Tỷ lệ điểm (fraction) của phương án không phải là số: «NaN».",
                       "Tỷ lệ điểm của phương án phải từ -100% đến 100%."]


BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [
 <!ENTITY lol "lol">
 <!ENTITY lol1 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol2 "&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
 <!ENTITY lol9 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
]>
<quiz><question type="essay"><name><text>&lol9;</text></name>
<questiontext><text>&lol9;</text></questiontext></question></quiz>
"""

XXE = b"""<?xml version="1.0"?>
<!DOCTYPE quiz [
<!ENTITY xxe SYSTEM "file:///etc/passwd">
]>
<quiz><question type="essay"><name><text>x</text></name>
<questiontext><text>&xxe;</text></questiontext></question></quiz>
"""

PARAMETER_ENTITY = b"""<?xml version="1.0"?>
<!DOCTYPE quiz [<!ENTITY % remote SYSTEM "http://example.invalid/evil.dtd"> %remote;]>
<quiz/>
"""

EXTERNAL_DTD = b"""<?xml version="1.0"?>
<!DOCTYPE quiz SYSTEM "file:///etc/passwd">
<quiz><question type="essay"><name><text>x</text></name><questiontext><text>x</text></questiontext></question></quiz>
"""

PLAIN_DTD = b"""<?xml version="1.0"?>
<!DOCTYPE quiz [<!ELEMENT quiz ANY>]>
<quiz><question type="essay"><name><text>x</text></name><questiontext><text>x</text></questiontext></question></quiz>
"""

ENTITY = "Tệp XML có khai báo thực thể (entity) — bị từ chối vì lý do an toàn."


@pytest.mark.parametrize(("data", "line", "reason"), [
    (BILLION_LAUGHS, 3, ENTITY),
    (XXE, 3, ENTITY),
    (PARAMETER_ENTITY, 2, ENTITY),
    (EXTERNAL_DTD, 2, "Tệp XML tham chiếu tới tài nguyên bên ngoài — bị từ chối vì lý do an toàn."),
    (PLAIN_DTD, 2, "Tệp XML có khai báo DTD (<!DOCTYPE …>) — bị từ chối vì lý do an toàn."),
    (BILLION_LAUGHS.decode(), 3, ENTITY),
])
def test_unsafe_files_are_refused(data, line, reason):
    result = read_moodle_xml(data)

    assert result.questions == []
    assert result.categories == []
    assert [(p.index, p.line, p.reason) for p in result.problems] == [(None, line, reason)]


@pytest.mark.parametrize(("data", "line", "start"), [
    (b'<?xml version="1.0"?>\n<quiz>\n<question type="essay">\n</quiz>\n', 4,
     "Tệp XML không hợp lệ ở dòng 4, cột 3: thẻ đóng không khớp với thẻ mở."),
    (b"<quiz>\n\n<question>&nbsp;</question></quiz>", 3, "Tệp XML không hợp lệ ở dòng 3"),
    (b"<quiz>\n<question type='essay'>\xff\xfe</question></quiz>", 2, "Tệp XML không hợp lệ ở dòng 2"),
    (b"GIFT? ::x:: y {}", 1, "Tệp XML không hợp lệ ở dòng 1"),
    (b"", 1, "Tệp XML trống."),
    ("\ufeff \n", 1, "Tệp XML trống."),
    (b"<questions/>", 1, "Tệp XML không phải là tệp câu hỏi Moodle"),
])
def test_unreadable_files(data, line, start):
    result = read_moodle_xml(data)

    assert result.questions == []
    assert len(result.problems) == 1
    assert (result.problems[0].index, result.problems[0].line) == (None, line)
    assert result.problems[0].reason.startswith(start)


def test_cap_on_questions(monkeypatch):
    monkeypatch.setattr(moodle_xml, "MAX_QUESTIONS", 3)
    xml = _quiz(*[_mc(f"q{i}", _ans("100", "x"), _ans("0", "y")) for i in range(1, 6)])
    result = read_moodle_xml(xml)

    assert [q.name for q in result.questions] == ["q1", "q2", "q3"]
    assert [(p.index, p.line, p.reason) for p in result.problems] == [
        (4, 6, "Tệp có hơn 3 câu hỏi; từ câu này trở đi không được đọc.")]


# --- writing -----------------------------------------------------------------------------------


def _comparable(q: ParsedQuestion) -> dict:
    """What a round trip keeps: everything but the line (which is the written file's)."""
    data = q.as_dict()
    del data["line"]
    return data


def test_written_file_shape():
    questions = [
        ParsedQuestion(1, 1, "essay", "Không mục", "Ở gốc", "plain"),
        ParsedQuestion(2, 1, "single_choice", "Một", "a ]]> b <i>", "html", ("Công ước", "CEDAW/CRC"),
                       options=[ParsedOption("Đúng", 1.0), ParsedOption("Sai", -0.3333333)],
                       settings={"shuffle": False}, tags=["thẻ & thẻ"]),
        ParsedQuestion(3, 1, "essay", "Gốc lại", "x", "plain"),
    ]
    categories = [ParsedCategory(("Công ước",), "Mô tả <b>có thẻ</b>"), ParsedCategory(("Trống",), "")]
    data = write_moodle_xml(questions, categories)
    text = data.decode("utf-8")

    assert text.startswith('<?xml version="1.0" encoding="UTF-8"?>\n<quiz>\n')
    assert "<![CDATA[a ]]]]><![CDATA[> b <i>]]>" in text
    assert 'fraction="-33.33333"' in text
    # Leading questions with no category need no category element; later ones go back to the top.
    assert text.index("Không mục") < text.index("<text>$course$/top/Công ước/CEDAW//CRC</text>")
    assert text.index("Một") < text.index("<text>$course$/top</text>") < text.index("Gốc lại")
    assert text.index("Gốc lại") < text.index("<text>$course$/top/Công ước</text>")
    assert text.rstrip().endswith("</quiz>")

    result = read_moodle_xml(data)
    assert result.problems == []
    assert [q.category for q in result.questions] == [(), ("Công ước", "CEDAW/CRC"), ()]
    assert result.categories == [
        ParsedCategory(("Công ước", "CEDAW/CRC")), ParsedCategory(("Công ước",), "Mô tả <b>có thẻ</b>"),
        ParsedCategory(("Trống",))]


def test_writer_drops_what_xml_cannot_carry():
    q = ParsedQuestion(1, 1, "essay", "n", "a\x00b\x1fc\r\nd\re", "plain")
    (back,) = read_moodle_xml(write_moodle_xml([q])).questions
    assert back.text == "abc\nd\ne"


def test_writer_refuses_unknown_types():
    with pytest.raises(ValueError):
        write_moodle_xml([ParsedQuestion(1, 1, "cloze", "n", "t")])


AWKWARD = ["<>&]]>", "]]>", "]]", 'nói "vậy" đó', "'đơn'", "Tiếng Việt có dấu: ỷ ở ữ Đ", "dòng 1\ndòng 2",
           "<![CDATA[x]]>", "&amp;", "a\tb", "$course$", "top", "😀", "x//y", "/"]
_letters = st.sampled_from(list("aăâbcdđeêghikloôơpqrstuưvxyAĐƯ áàảãạ ếềểễệ 0123456789<>&]\"'/\n\t$*."))
_free = st.one_of(st.sampled_from(AWKWARD), st.text(_letters, max_size=30)).map(str.strip)
_some = _free.filter(bool)
_format = st.sampled_from(["html", "plain", "markdown"])
_name = st.one_of(st.sampled_from(AWKWARD), st.text(_letters.filter(lambda c: c != "\n"), max_size=12)).map(
    str.strip).filter(bool)
#: Fractions as Moodle stores them (7 decimals); the writer and reader keep exactly these.
_partial = st.sampled_from([0.0, 0.0, -1.0, -0.5, -0.3333333, 0.1, 0.5, 0.9, 0.3333333, 0.1428571])


@st.composite
def _question(draw, index: int) -> ParsedQuestion:
    qtype = draw(st.sampled_from(list(moodle_xml._TYPE_OUT)))
    fmt = draw(_format)
    q = ParsedQuestion(
        index=index, line=0, type=qtype, name=draw(_some), text=draw(_some), text_format=fmt,
        category=tuple(draw(st.lists(_name, max_size=3))), general_feedback=draw(_free),
        default_mark=0.0 if qtype == "description" else draw(st.integers(0, 100_000)) / 100,
        tags=draw(st.lists(_some, max_size=3, unique=True)),
    )

    def feedback_option(text: str, fraction: float, text_format: str) -> ParsedOption:
        return ParsedOption(text, fraction, draw(_free), draw(_format), text_format)

    def combined() -> dict:
        return {"shuffle": draw(st.booleans()), "correct_feedback": draw(_free),
                "partial_feedback": draw(_free), "incorrect_feedback": draw(_free)}

    match qtype:
        case "single_choice":
            fractions = [1.0, *draw(st.lists(_partial, min_size=1, max_size=4))]
            q.options = [feedback_option(draw(_some), f, draw(_format)) for f in draw(st.permutations(fractions))]
            q.settings = combined()
        case "multiple_response":
            right = draw(st.integers(1, 7))
            share = round(1 / right, 7)
            wrong = draw(st.lists(st.sampled_from([0.0, -0.5, -1.0]), min_size=0 if right > 1 else 1, max_size=3))
            fractions = draw(st.permutations([share] * right + wrong))
            q.options = [feedback_option(draw(_some), f, draw(_format)) for f in fractions]
            q.settings = combined()
        case "true_false":
            right = draw(st.booleans())
            q.options = [feedback_option("true", float(right), "plain"),
                         feedback_option("false", float(not right), "plain")]
        case "short_answer":
            fractions = [1.0, *draw(st.lists(_partial, max_size=3))]
            q.options = [feedback_option(draw(_some), f, "plain") for f in fractions]
            q.settings = {"case_sensitive": draw(st.booleans())}
        case "numerical":
            values = st.one_of(st.just("*"), st.decimals(-10**6, 10**6, places=3).map(str))
            fractions = [1.0, *draw(st.lists(_partial, max_size=3))]
            q.options = [feedback_option(draw(values), f, "plain") for f in fractions]
            for option in q.options:
                option.tolerance = draw(st.floats(0, 1000, allow_nan=False))
        case "matching":
            pairs = draw(st.lists(st.tuples(_some, _some), min_size=2, max_size=4))
            extra = draw(st.lists(_some, max_size=2))
            q.options = [ParsedOption(t, match=m, text_format=draw(_format)) for t, m in pairs]
            q.options += [ParsedOption("", match=m, text_format=draw(_format)) for m in extra]
            q.settings = combined()
    return q


@st.composite
def _questions(draw) -> list[ParsedQuestion]:
    count = draw(st.integers(1, 6))
    return [draw(_question(i)) for i in range(1, count + 1)]


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_questions(), st.data())
def test_round_trip(questions, data):
    assert all(check(q) == [] for q in questions)
    paths = {q.category for q in questions if q.category} | set(data.draw(st.lists(st.lists(_name, min_size=1,
                                                                                          max_size=2).map(tuple))))
    categories = [ParsedCategory(path, data.draw(_free)) for path in sorted(paths)]

    written = write_moodle_xml(questions, categories)
    result = read_moodle_xml(written)

    assert result.problems == []
    assert [_comparable(q) for q in result.questions] == [_comparable(q) for q in questions]
    assert {c.path: c.description for c in result.categories} == {c.path: c.description for c in categories}
