"""GIFT reader and writer: a table of cases per construct, Moodle's own sample files, broken items
reported where they are while the items around them are read, and the writer's round trip."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from quizzes.formats.base import MAX_QUESTIONS, ParsedOption, ParsedQuestion, ParseResult
from quizzes.formats.gift import read_gift, write_gift

#: Moodle's samples (../shared/interop); the tests reading them skip when the folder is absent.
INTEROP = Path(__file__).resolve().parents[2].parent / "shared" / "interop"


def interop_text(name: str) -> str:
    path = INTEROP / "moodle" / "gift" / name
    if not path.exists():
        pytest.skip(f"{path} is not here (the shared interop samples are optional)")
    return path.read_text(encoding="utf-8")


def one(text: str, **kwargs) -> ParsedQuestion:
    result = read_gift(text, **kwargs)
    assert result.problems == [] and len(result.questions) == 1, (result.problems, result.questions)
    return result.questions[0]


def options(q: ParsedQuestion, *fields: str) -> list[tuple]:
    """The options' fields as tuples, numbers rounded so that 33.33333% reads as 0.3333333."""
    fields = fields or ("text", "fraction", "feedback")
    return [tuple(round(v, 9) if isinstance(v, float) else v for v in (getattr(o, f) for f in fields))
            for o in q.options]


def plain(qs: list[ParsedQuestion]) -> list[ParsedQuestion]:
    """Questions without their place in the file, for comparing two readings."""
    return [dataclasses.replace(q, index=0, line=0) for q in qs]


# --- One construct at a time ----------------------------------------------------------------------

CASES = [
    ("single choice", "Who's buried in Grant's tomb?{~Grant ~Jefferson =no one}",
     "single_choice", "Who's buried in Grant's tomb?",
     [("Grant", 0.0, ""), ("Jefferson", 0.0, ""), ("no one", 1.0, "")]),
    ("missing word", "Grant is {~buried =entombed ~living} in Grant's tomb.",
     "single_choice", "Grant is _____ in Grant's tomb.",
     [("buried", 0.0, ""), ("entombed", 1.0, ""), ("living", 0.0, "")]),
    ("missing word at the start", "{=Hà Nội ~Huế} là thủ đô.", "single_choice", "_____ là thủ đô.",
     [("Hà Nội", 1.0, ""), ("Huế", 0.0, "")]),
    ("partial credit", "Difficult question.{~wrong answer ~%50%half credit answer =full credit answer}",
     "single_choice", "Difficult question.",
     [("wrong answer", 0.0, ""), ("half credit answer", 0.5, ""), ("full credit answer", 1.0, "")]),
    ("option feedback", "Q?{\n~wrong#not this\n=right # Very good!\n}", "single_choice", "Q?",
     [("wrong", 0.0, "not this"), ("right", 1.0, "Very good!")]),
    ("only tildes without weights stay single choice", "Q?{~a ~%100%b}", "multiple_response", "Q?",
     [("a", 0.0, ""), ("b", 1.0, "")]),
    ("multiple response", "Which?{~%50%yellow ~%-100%red ~%50%off-beige ~blue}", "multiple_response",
     "Which?", [("yellow", 0.5, ""), ("red", -1.0, ""), ("off-beige", 0.5, ""), ("blue", 0.0, "")]),
    ("thirds", "Which?{~%33.33333%a ~%33.33333%b ~%33.33334%c ~%-100%d}", "multiple_response", "Which?",
     [("a", 0.3333333, ""), ("b", 0.3333333, ""), ("c", 0.3333334, ""), ("d", -1.0, "")]),
    ("weight with a comma", "Which?{~%12,5%a ~%87.5%b}", "multiple_response", "Which?",
     [("a", 0.125, ""), ("b", 0.875, "")]),
    ("'=' takes no weight in a choice (Moodle)", "Q?{=%50%a ~b}", "single_choice", "Q?",
     [("%50%a", 1.0, ""), ("b", 0.0, "")]),
    ("true", "The sun rises in the east.{T}", "true_false", "The sun rises in the east.",
     [("true", 1.0, ""), ("false", 0.0, "")]),
    ("TRUE", "Đúng không?{TRUE}", "true_false", "Đúng không?", [("true", 1.0, ""), ("false", 0.0, "")]),
    ("F", "Grant is buried in Grant's tomb.{F}", "true_false", "Grant is buried in Grant's tomb.",
     [("true", 0.0, ""), ("false", 1.0, "")]),
    ("FALSE", "Sai?{FALSE}", "true_false", "Sai?", [("true", 0.0, ""), ("false", 1.0, "")]),
    ("lower case true", "Sai?{false}", "true_false", "Sai?", [("true", 0.0, ""), ("false", 1.0, "")]),
    # The first feedback is for a wrong answer, the second for a right one.
    ("true with both feedbacks", "Q{TRUE#you chose false#you chose true}", "true_false", "Q",
     [("true", 1.0, "you chose true"), ("false", 0.0, "you chose false")]),
    ("false with both feedbacks", "Q{FALSE#you chose true#you chose false}", "true_false", "Q",
     [("true", 0.0, "you chose true"), ("false", 1.0, "you chose false")]),
    ("false with the wrong feedback only", "Q{FALSE#No one is buried there.}", "true_false", "Q",
     [("true", 0.0, "No one is buried there."), ("false", 1.0, "")]),
    ("true with the right feedback only", "Q{T##well done}", "true_false", "Q",
     [("true", 1.0, "well done"), ("false", 0.0, "")]),
    ("short answer", "Which is the best animal?{\n=Frog#Good!\n=%50%Cat#Hmm\n=%0%*#Completely wrong\n}",
     "short_answer", "Which is the best animal?",
     [("Frog", 1.0, "Good!"), ("Cat", 0.5, "Hmm"), ("*", 0.0, "Completely wrong")]),
    ("short answer in the middle", "Two plus two equals {=four =4}.", "short_answer", "Two plus two equals _____.",
     [("four", 1.0, ""), ("4", 1.0, "")]),
    ("essay", "::Q8:: How are you? {}", "essay", "How are you?", []),
    ("description", "Phần II: Công ước CEDAW", "description", "Phần II: Công ước CEDAW", []),
    ("multi-line item", "Japanese characters originally\n    came from what country? {\n    ~India\n    =China\n}",
     "single_choice", "Japanese characters originally\ncame from what country?",
     [("India", 0.0, ""), ("China", 1.0, "")]),
    ("escapes", r"1 \~ 2 \= 3 \# 4 \{ 5 \} 6 \: 7 \\ 8\n9 \x{=\~a\=b\#c\{d\}e\:f\\g}",
     "short_answer", "1 ~ 2 = 3 # 4 { 5 } 6 : 7 \\ 8\n9 \\x", [("~a=b#c{d}e:f\\g", 1.0, "")]),
    ("escaped backslash before a control character", r"Path C:\\{=\\}", "short_answer", "Path C:\\",
     [("\\", 1.0, "")]),
    ("control characters",
     "Which?{\n   ~ \\~     # \\~ is a control character.\n   = \\\\     # Correct! \\\\ is not.\n}",
     "single_choice", "Which?", [("~", 0.0, "~ is a control character."), ("\\", 1.0, "Correct! \\ is not.")]),
    ("feedback over two lines", "Q{\n=a # first line\n    second line\n~b}", "single_choice", "Q",
     [("a", 1.0, "first line\nsecond line"), ("b", 0.0, "")]),
]


@pytest.mark.parametrize(("gift", "kind", "text", "expected"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_each_construct_is_read(gift, kind, text, expected):
    q = one(gift)
    assert (q.type, q.text, q.index, q.line) == (kind, text, 1, 1)
    assert options(q) == expected
    assert q.text_format == "plain" and q.category == () and q.general_feedback == ""


def test_shuffle_marks_and_defaults():
    assert one("Q{~a =b}").settings == {"shuffle": True}
    assert one("Q{~%50%a ~%50%b}").settings == {"shuffle": True}
    assert one("Q{=a -> 1 =b -> 2}").settings == {"shuffle": True}
    assert one("Q{T}").settings == {} and one("Q{=a}").settings == {}
    assert one("Q{~a =b}").default_mark == 1.0 and one("Q{}").default_mark == 1.0
    assert one("Chỉ là đoạn mô tả").default_mark == 0.0


def test_names_and_their_escapes():
    q = one("::Câu 1\\: CEDAW\\:\\:a::[html]<p>Nội dung</p>{T}")
    assert (q.name, q.text, q.text_format) == ("Câu 1: CEDAW::a", "<p>Nội dung</p>", "html")
    q = one("::Numerical example::\nWhen was Ulysses S. Grant born? {#1822}")
    assert (q.name, q.text) == ("Numerical example", "When was Ulysses S. Grant born?")
    assert one("No name {T}").name == ""
    # Only the first "::" after the name ends it; later ones are text (Moodle).
    assert one("::n::a::b{T}").text == "a::b"


@pytest.mark.parametrize(("prefix", "fmt"), [("[html]", "html"), ("[moodle]", "plain"), ("[plain]", "plain"),
                                              ("[markdown]", "markdown"), ("", "plain"), ("[HTML]", "plain")])
def test_format_prefixes(prefix, fmt):
    q = one(f"::n::{prefix}Text{{=a}}")
    assert q.text_format == fmt
    assert q.text == ("[HTML]Text" if prefix == "[HTML]" else "Text")
    # Answers and feedback default to the question's format and may name their own.
    q = one(f"{prefix}Q{{=[markdown]**a**#[html]<b>ok</b> ~b#[moodle]no ~[plain]c####[html]chung}}")
    assert options(q, "text", "text_format", "feedback", "feedback_format") == [
        ("**a**", "markdown", "<b>ok</b>", "html"), ("b", fmt, "no", "plain"), ("c", "plain", "", fmt)]
    assert q.general_feedback == "chung"


def test_general_feedback():
    q = one("Q1:: 42 is the answer.{\nFALSE#42 is the Ultimate Answer.#Right.\n####A Hitchhiker's Guide reference.}")
    assert q.general_feedback == "A Hitchhiker's Guide reference."
    assert options(q) == [("true", 0.0, "42 is the Ultimate Answer."), ("false", 1.0, "Right.")]
    q = one("Q{~a =b#fb ####Giải thích: vì b.}")
    assert q.general_feedback == "Giải thích: vì b." and options(q)[1] == ("b", 1.0, "fb")
    q = one("Viết bài luận.{####Chấm theo thang 10.}")
    assert (q.type, q.general_feedback) == ("essay", "Chấm theo thang 10.")


NUMERICAL = [
    ("{#3:2}", [("3", 1.0, 2.0)]),
    ("{#1822}", [("1822", 1.0, 0.0)]),
    ("{#1..5}", [("3", 1.0, 2.0)]),
    ("{#3.141..3.142}", [("3.1415", 1.0, 0.0005)]),
    ("{#-5..-1}", [("-3", 1.0, 2.0)]),
    ("{#3.1415:0.0005}", [("3.1415", 1.0, 0.0005)]),
    ("{#1.50}", [("1.5", 1.0, 0.0)]),
    ("{#-1.5e2:1e-1}", [("-150", 1.0, 0.1)]),
    ("{#+0.0}", [("0", 1.0, 0.0)]),
    ("{#=3:0 =%50%3:2 ~#feedback}", [("3", 1.0, 0.0), ("3", 0.5, 2.0), ("*", 0.0, 0.0)]),
    ("{#\n=1822:0 #Correct!\n=%50%1822:2 #Close.\n}", [("1822", 1.0, 0.0), ("1822", 0.5, 2.0)]),
    ("{#3:2~#Completely wrong}", [("3", 1.0, 2.0), ("*", 0.0, 0.0)]),
    ("{#=1 =%10%*#gần}", [("1", 1.0, 0.0), ("*", 0.1, 0.0)]),
]


@pytest.mark.parametrize(("block", "expected"), NUMERICAL, ids=[n[0] for n in NUMERICAL])
def test_numerical(block, expected):
    q = one("Số?" + block)
    assert q.type == "numerical" and q.text == "Số?"
    assert options(q, "text", "fraction", "tolerance") == expected


def test_numerical_feedback():
    q = one("Q{#=3:0 #Đúng! =%50%3:2 #Gần đúng ~#Sai hẳn}")
    assert [o.feedback for o in q.options] == ["Đúng!", "Gần đúng", "Sai hẳn"]


def test_matching_with_a_distractor_and_formats():
    q = one("::m::[html]Match.{\n=[html]<b>CEDAW</b> -> Phụ nữ\n=[moodle]CRC->Trẻ em\n=CRPD  ->  Người khuyết tật"
            "\n= -> Lao động\n=a#b -> c -> d\n}")
    assert q.type == "matching"
    assert options(q, "text", "match", "text_format") == [
        ("<b>CEDAW</b>", "Phụ nữ", "html"), ("CRC", "Trẻ em", "plain"), ("CRPD", "Người khuyết tật", "html"),
        ("", "Lao động", "html"),
        # "#" is text in a pair (no feedback there) and the first "->" splits it (Moodle).
        ("a#b", "c -> d", "html")]


def test_comments_bom_crlf_and_lines():
    text = ("\ufeff// header comment\r\n// another\r\n::A::Q1{T}\r\n\r\n\r\n// before B\r\n::B::\r\n"
            "Q2{F}\r\n// trailing comment in the item\r\n\r\n// only a comment\r\n\r\nQ3{}\r\n")
    result = read_gift(text)
    assert result.problems == []
    assert [(q.index, q.line, q.name, q.type) for q in result.questions] == [
        (1, 3, "A", "true_false"), (2, 7, "B", "true_false"), (3, 13, "", "essay")]
    assert result.questions[1].text == "Q2"


def test_categories():
    text = """// question: 0  name: switch category
$CATEGORY: $course$/top/Công ước/CEDAW

Q1{T}
$CATEGORY: $system$/Khác//Mục a/ b

Q2{T}

$CATEGORY: $cat2$/top

Q3{T}

$CATEGORY: top/Tài liệu\\: 2025
Q4{T}

$CATEGORY: Khác//Mục a/b
Q5{T}
"""
    result = read_gift(text)
    assert result.problems == []
    assert [(q.index, q.line, q.category) for q in result.questions] == [
        (1, 4, ("Công ước", "CEDAW")), (2, 7, ("Khác/Mục a", "b")), (3, 11, ()), (4, 14, ("Tài liệu: 2025",)),
        (5, 17, ("Khác/Mục a", "b"))]
    assert [c.path for c in result.categories] == [
        ("Công ước", "CEDAW"), ("Khác/Mục a", "b"), ("Tài liệu: 2025",)]
    based = read_gift(text, base_category=("Nhập",))
    assert [q.category for q in based.questions][:3] == [("Nhập", "Công ước", "CEDAW"), ("Nhập", "Khác/Mục a", "b"),
                                                        ("Nhập",)]
    assert [c.path for c in based.categories][:3] == [("Nhập", "Công ước", "CEDAW"), ("Nhập", "Khác/Mục a", "b"),
                                                      ("Nhập",)]
    assert one("Q{T}", base_category=("Nhập",)).category == ("Nhập",)


def test_tags_from_comments():
    q = one("// question: 12  name: x\n// [id:abc] [tag:CEDAW] [tag: Nghị định 1 ]\n::x::Q{T}\n"
            "// [tag:a\\]b] [tag:CEDAW]")
    assert q.tags == ["CEDAW", "Nghị định 1", "a]b"]
    assert one("// [tag:orphan]\n\n::y::Q{T}").tags == []


# --- Moodle's samples -----------------------------------------------------------------------------

def test_moodle_questions_fixture():
    result = read_gift(interop_text("questions.gift.txt"))
    assert result.problems == [] and result.categories == []
    qs = {(q.index, q.name): q for q in result.questions}
    assert [(q.index, q.line, q.name, q.type) for q in result.questions] == [
        (1, 2, "Q8", "essay"), (2, 5, "Moodle activities", "matching"), (3, 14, "Q2", "single_choice"),
        (4, 22, "colours", "multiple_response"), (5, 31, "Q5", "numerical"), (6, 34, "Shortanswer", "short_answer"),
        (7, 41, "Q1", "true_false"), (8, 46, "2-08 TSL", "true_false"), (9, 49, "2-08 TSL", "true_false")]
    assert qs[1, "Q8"].text == "How are you?" and qs[1, "Q8"].options == []
    activities = qs[2, "Moodle activities"]
    assert (activities.text, activities.text_format) == ("Match the <b>activity</b> to the description.", "html")
    assert options(activities, "text", "text_format", "match") == [
        ("An activity supporting asynchronous discussions.", "html", "Forum"),
        ("A teacher asks a question and specifies a choice of multiple responses.", "plain", "Choice"),
        ("A bank of record entries which participants can add to.", "plain", "Database"),
        ("A collection of web pages that anyone can add to or edit.", "markdown", "Wiki"),
        ("", "html", "Chat")]
    q2 = qs[3, "Q2"]
    assert q2.text == "What's between orange and green in the spectrum?" and q2.text_format == "plain"
    assert options(q2, "text", "fraction", "feedback", "feedback_format") == [
        ("yellow", 1.0, "right; good!", "plain"), ("red", 0.0, "wrong, it's yellow", "html"),
        ("blue", 0.0, "wrong, it's yellow", "plain")]
    assert options(qs[4, "colours"]) == [("yellow", 0.5, "right; good!"), ("red", -1.0, "wrong"),
                                         ("off-beige", 0.5, "right; good!"), ("blue", -1.0, "wrong")]
    # `{…}";`: Moodle keeps text after the closing brace, so the block is a missing word there.
    q5 = qs[5, "Q5"]
    assert q5.text == 'What is a number from 1 to 5? _____";'
    assert options(q5, "text", "fraction", "tolerance", "feedback") == [
        ("3", 1.0, 2.0, ""), ("*", 0.0, 0.0, "Completely wrong")]
    assert options(qs[6, "Shortanswer"]) == [("Frog", 1.0, "Good!"), ("Cat", 0.5, "What is it with Moodlers and cats?"),
                                             ("*", 0.0, "Completely wrong")]
    q1 = qs[7, "Q1"]
    assert q1.text == '42 is the Absolute Answer to everything._____";'
    assert options(q1) == [("true", 0.0, "42 is the Ultimate Answer."), ("false", 1.0, "You gave the right answer.")]
    assert q1.general_feedback == "This is, of course, a Hitchiker's Guide to the Galaxy reference."
    for key in ((8, "2-08 TSL"), (9, "2-08 TSL")):
        assert qs[key].text == "TSL is blablabla." and options(qs[key]) == [("true", 1.0, ""), ("false", 0.0, "")]


def test_moodle_questions_in_category_fixture():
    result = read_gift(interop_text("questions_in_category.gift.txt"))
    assert result.problems == []
    assert [c.path for c in result.categories] == [("Default for New Features",)]
    assert [(q.index, q.line, q.name, q.type, q.text_format) for q in result.questions] == [
        (1, 5, "Moodle activities", "matching", "html"), (2, 14, "Greeting", "single_choice", "html"),
        (3, 22, "Moodle user", "short_answer", "html"), (4, 27, "Moodle acronym", "true_false", "html")]
    assert all(q.category == ("Default for New Features",) for q in result.questions)
    activities, greeting, user, acronym = result.questions
    assert options(activities, "text", "match")[-1] == ("", "Chat") and len(activities.options) == 5
    assert greeting.text == ('<a href="http://demo.moodle.net/file.php/5/media/bonjour.mp3">Listen to this greeting:'
                             '</a><br /><br />What language is being spoken?')
    assert options(greeting)[1] == ("French", 1.0, "Yes, well done!")
    assert options(user) == [("Moodler", 1.0, "")]
    assert acronym.text.endswith('<span style="font-style: italic;">Modular Object-Oriented Dynamic Learning '
                                 'Environment</span>.')
    assert options(acronym) == [("true", 1.0, ""), ("false", 0.0, "")]


def test_moodle_examples_fixture():
    result = read_gift(interop_text("examples.gift.txt"))
    assert result.problems == []
    kinds = [q.type for q in result.questions]
    assert len(kinds) == 43
    assert {k: kinds.count(k) for k in set(kinds)} == {
        "single_choice": 16, "short_answer": 9, "true_false": 5, "numerical": 8, "matching": 3,
        "multiple_response": 2}
    by_line = {q.line: q for q in result.questions}
    assert by_line[29].text == "The American holiday of Thanksgiving is celebrated on the _____ Thursday of November."
    assert options(by_line[74], "text", "tolerance") == [("3.1415", 0.0005)]
    assert by_line[74].text == "What is the value of pi (to 3 decimal places)? _____."
    assert by_line[108].text_format == "markdown" and by_line[108].text == "Who's buried in **Grant's tomb**?"
    assert options(by_line[117], "text", "fraction") == [("Jerusalem", 0.0), ("Bethlehem", 0.25), ("Galilee", 0.5),
                                                          ("Nazareth", 1.0)]
    assert options(by_line[136], "fraction") == [(-0.5,), (0.5,), (0.5,), (-0.5,)]
    assert [o.text for o in by_line[143].options] == ["= 2 + 2", "= 2 + 3", "= 2 + 4"]
    control = by_line[148]
    assert [o.text for o in control.options] == ["~", "=", "#", "{", "}", "\\"]
    assert control.options[-1].feedback.startswith("Correct! \\ (backslash) is not a control character. BUT,\nit is")
    assert options(by_line[202], "text", "fraction", "tolerance", "feedback") == [
        ("1822", 1.0, 0.0, "Correct! 100% credit"),
        ("1822", 0.5, 2.0, "He was born in 1822.\nYou get 50% credit for being close.")]


@pytest.mark.parametrize("name", ["questions.gift.txt", "questions_in_category.gift.txt", "examples.gift.txt"])
def test_moodle_fixtures_survive_a_round_trip(name):
    first = read_gift(interop_text(name))
    again = read_gift(write_gift(first.questions))
    assert again.problems == [] and plain(again.questions) == plain(first.questions)


# --- Broken items ---------------------------------------------------------------------------------

BROKEN = [
    ("unclosed block", "Q {~a =b", "Thiếu dấu } đóng khối đáp án"),
    ("closing brace only", "Q ~a =b}", "Có dấu } mà không có dấu {"),
    ("brace before block", "Q } {~a =b}", "Có dấu } mà không có dấu {"),
    ("nested brace", "Q {~a {=b}", "Có dấu { trong khối đáp án"),
    ("two blocks", "Q {=a} and {=b}", "nhiều hơn một khối đáp án"),
    ("stray brace after block", "Q {=a} and }", "nhiều hơn một khối đáp án"),
    ("unclosed name", "::tên Q{T}", "Thiếu dấu :: đóng tên câu hỏi"),
    ("letters as a number", "Q{#abc}", "Không đọc được đáp án số: “abc”."),
    ("decimal comma", "Q{#3,5}", "Không đọc được đáp án số: “3,5” (dùng dấu chấm"),
    ("bad tolerance", "Q{#3:x}", "Không đọc được đáp án số: “3:x”."),
    ("bad range", "Q{#1..x}", "Không đọc được đáp án số: “1..x”."),
    ("huge number", "Q{#1e999}", "Đáp án số quá lớn hoặc quá nhỏ"),
    ("exponent beyond Decimal", "Q{#1e99999999999999999999}", "Không đọc được đáp án số"),
    ("digits other than 0-9", "Q{#١٢}", "Không đọc được đáp án số: “١٢”."),
    ("no numerical answer", "Q{#}", "Khối đáp án số không có đáp án nào."),
    ("feedback only", "Q{#~#sai}", "Khối đáp án số không có đáp án nào."),
    ("empty numerical answer", "Q{#=#fb}", "Có đáp án số để trống."),
    ("value after ~ in numerical", "Q{#3 ~5}", "Sau dấu ~ của câu hỏi số chỉ được có #nhận xét"),
    ("bad weight", "Q{~%5O%a =b}", "Không đọc được tỷ lệ điểm: “%5O%”."),
    ("bad short answer weight", "Q{=%x%a}", "Không đọc được tỷ lệ điểm: “%x%”."),
    ("text before the first mark", "Q{foo ~a =b}", "Không hiểu “foo” trong khối đáp án"),
    ("unknown word", "Q{maybe}", "Không hiểu “maybe” trong khối đáp án"),
    ("pair without arrow", "Q{=a -> b =c}", "Cặp ghép đôi thiếu dấu ->: “c”."),
    ("garbage", '";', "Không hiểu đoạn “\";”: đây không phải là câu hỏi GIFT."),
    # What check() refuses, reported the same way.
    ("no right answer", "Q{~a ~b}", "Câu hỏi một lựa chọn cần một phương án đúng (100%)."),
    ("one choice", "Q{=a ~}", "Có phương án để trống."),
    ("weights not adding up", "Q{~%50%a ~%30%b}", "Tổng tỷ lệ điểm của các phương án đúng phải bằng 100%."),
    ("weight over 100", "Q{=a ~%150%b}", "Tỷ lệ điểm của phương án phải từ -100% đến 100%."),
    ("one pair", "Q{=a -> b}", "Câu hỏi ghép đôi cần ít nhất 2 cặp."),
    ("pair without answer", "Q{=a -> b =c -> }", "Có cặp ghép đôi thiếu đáp án."),
    ("no full credit", "Q{=%50%a}", "Câu trả lời ngắn cần một đáp án được 100% điểm."),
    ("reversed range", "Q{#5..1}", "Đáp án số không hợp lệ: 3."),
    ("no text", "::tên::{T}", "Câu hỏi không có nội dung."),
    ("name only", "::tên::", "Câu hỏi không có nội dung."),
]


@pytest.mark.parametrize(("item", "reason"), [b[1:] for b in BROKEN], ids=[b[0] for b in BROKEN])
def test_a_broken_item_is_reported_and_its_neighbours_read(item, reason):
    text = f"::before::Trước?{{T}}\n\n// a comment above the broken item\n{item}\n\n::after::Sau?{{=đúng ~sai}}\n"
    result = read_gift(text)
    assert [(q.index, q.line, q.name) for q in result.questions] == [(1, 1, "before"), (3, 6, "after")]
    assert [(p.index, p.line) for p in result.problems] == [(2, 4)]
    assert reason in result.problems[0].reason


def test_every_reason_is_one_problem():
    result = read_gift("::a::{~x ~y}")
    assert [(p.index, p.line, p.reason) for p in result.problems] == [
        (1, 1, "Câu hỏi không có nội dung."), (1, 1, "Câu hỏi một lựa chọn cần một phương án đúng (100%).")]


def test_a_blank_line_inside_a_block_splits_it_and_both_halves_are_reported():
    result = read_gift("Q {\n=a\n\n=b}\n\nGood{T}")
    assert [(p.index, p.line) for p in result.problems] == [(1, 1), (2, 4)]
    assert "Thiếu dấu }" in result.problems[0].reason and "Có dấu }" in result.problems[1].reason
    assert [(q.index, q.line) for q in result.questions] == [(3, 6)]


def test_too_many_items_are_one_problem():
    extra = 3
    text = "\n\n".join(f"::q{n}::Câu {n}?{{T}}" for n in range(1, MAX_QUESTIONS + extra + 1))
    result = read_gift(text)
    assert len(result.questions) == MAX_QUESTIONS
    [problem] = result.problems
    assert (problem.index, problem.line) == (MAX_QUESTIONS + 1, 2 * MAX_QUESTIONS + 1)
    assert f"{extra} câu" in problem.reason and "5.001" in problem.reason


def test_empty_and_comment_only_text():
    assert read_gift("") == ParseResult()
    assert read_gift("// nothing\n\n   \n// here\n") == ParseResult()


GIFTISH = st.lists(st.sampled_from(list("ab T=~#{}:\\%->\n[]/$.1,eE+") + [
    "::", "####", "[html]", "\n\n", "\r\n", "$CATEGORY: ", "$course$/top/", "{#", "//", "%50%", "..", "đ", "[tag:x]",
])).map("".join)


@settings(max_examples=500, deadline=None)
@given(st.one_of(GIFTISH, st.text()))
def test_any_text_is_read_without_losing_an_item_and_what_is_read_is_written_back(text):
    result = read_gift(text)
    read = {q.index for q in result.questions}
    refused = {p.index for p in result.problems}
    assert not read & refused
    assert sorted(read | refused) == list(range(1, len(read | refused) + 1))
    again = read_gift(write_gift(result.questions))
    assert again.problems == [] and plain(again.questions) == plain(result.questions)


# --- Writing --------------------------------------------------------------------------------------

def q_(kind: str, text: str, opts=(), **kwargs) -> ParsedQuestion:
    return ParsedQuestion(0, 0, kind, kwargs.pop("name", ""), text, kwargs.pop("text_format", "plain"),
                          options=list(opts), **kwargs)


def test_the_writer_writes_each_type():
    qs = [
        q_("single_choice", "Thủ đô?", [ParsedOption("Hà Nội", 1.0, "Đúng", "plain", "plain"),
                                        ParsedOption("Huế", 0.0, "", "plain", "plain"),
                                        ParsedOption("Đà Nẵng", 0.5, "<i>gần</i>", "html", "plain")],
           name="Câu 1: thủ đô", category=("Địa lý",), general_feedback="Hà Nội từ 1010."),
        q_("multiple_response", "Chọn", [ParsedOption("a", 1 / 3, text_format="plain"),
                                         ParsedOption("b", 2 / 3, text_format="plain"),
                                         ParsedOption("c", -1.0, text_format="markdown")], category=("Địa lý",)),
        q_("true_false", "Đúng?", [ParsedOption("true", 0.0, "Sai rồi", "plain"),
                                   ParsedOption("false", 1.0, "", "plain")]),
        q_("short_answer", "Tên?", [ParsedOption("CEDAW", 1.0, text_format="plain"),
                                    ParsedOption("%Cedaw", 0.5, text_format="plain")]),
        q_("numerical", "Năm?", [ParsedOption("1979", 1.0), ParsedOption("1980", 0.5, "Gần", "plain", tolerance=1.0),
                                 ParsedOption("*", 0.0, "Sai", "plain")]),
        q_("matching", "Ghép", [ParsedOption("CEDAW", match="Phụ nữ", text_format="plain"),
                                ParsedOption("CRC", match="Trẻ em", text_format="html"),
                                ParsedOption("", match="Lao động", text_format="plain")], category=()),
        q_("essay", "Viết {một} đoạn.", general_feedback="Chấm tay", text_format="html"),
        q_("description", "Phần #2", text_format="markdown", tags=["CEDAW", "a]b"]),
    ]
    assert write_gift(qs) == """$CATEGORY: $course$/top/Địa lý

::Câu 1\\: thủ đô::[plain]Thủ đô?{
\t=Hà Nội#Đúng
\t~Huế
\t~%50%Đà Nẵng#[html]<i>gần</i>
\t####Hà Nội từ 1010.
}

[plain]Chọn{
\t~%33.33333%a
\t~%66.66667%b
\t~%-100%[markdown]c
}

$CATEGORY: $course$/top

[plain]Đúng?{FALSE#Sai rồi}

[plain]Tên?{
\t=CEDAW
\t=%50%%Cedaw
}

[plain]Năm?{#
\t=1979
\t=%50%1980:1#Gần
\t~#Sai
}

[plain]Ghép{
\t=CEDAW -> Phụ nữ
\t=[html]CRC -> Trẻ em
\t= -> Lao động
}

[html]Viết \\{một\\} đoạn.{####Chấm tay}

// [tag:CEDAW] [tag:a\\]b]
[markdown]Phần \\#2
"""
    again = read_gift(write_gift(qs))
    assert again.problems == []
    assert [q.type for q in again.questions] == [q.type for q in qs]
    assert options(again.questions[1], "fraction") == [(0.3333333,), (0.6666667,), (-1.0,)]


def test_the_writer_escapes_and_protects():
    q = q_("single_choice", "[html] is text\nline 2 ~ = # { } : \\ //",
           [ParsedOption("=1", 1.0, "#a", "plain", "plain"), ParsedOption("%50%b", 0.0, "[plain]c", "plain", "plain")],
           name="a::b\nc")
    written = write_gift([q])
    assert written.startswith("::a\\:\\:b\\nc::[plain][html] is text\\nline 2 \\~ \\= \\# \\{ \\} \\: \\\\ //{\n")
    assert "\t=\\=1#\\#a\n\t~%0%%50%b#[plain][plain]c\n" in written
    assert plain(read_gift(written).questions) == plain([dataclasses.replace(q, settings={"shuffle": True})])


def test_a_choice_with_only_right_answers_stays_a_choice():
    q = q_("single_choice", "Q", [ParsedOption("a", 1.0, "", "plain", "plain"),
                                  ParsedOption("b", 1.0, "", "plain", "plain")], settings={"shuffle": True})
    assert "\t=a\n\t~%100%b\n" in write_gift([q])
    assert plain(read_gift(write_gift([q])).questions) == plain([q])


@pytest.mark.parametrize("q", [
    q_("matching", "Q", [ParsedOption("a -> b", match="c"), ParsedOption("d", match="e")]),
    q_("short_answer", "Q", [ParsedOption("a->b", 1.0)]),
    q_("short_answer", "Q", [ParsedOption("a", 1.0, "x -> y")]),
])
def test_what_gift_cannot_hold_is_refused(q):
    with pytest.raises(ValueError, match="->"):
        write_gift([q])


def test_nothing_to_write():
    assert write_gift([]) == ""


def test_odd_inputs_to_the_writer():
    with pytest.raises(ValueError, match="không được hỗ trợ"):
        write_gift([q_("cloze", "Q")])
    # Tags stay on their comment line; a description's general feedback has no place in GIFT.
    q = q_("description", "Mô tả", tags=["a\nb", "c\\"], general_feedback="bỏ")
    written = write_gift([q])
    assert written == "// [tag:a b] [tag:c\\ ]\n[plain]Mô tả\n"
    assert one(written).tags == ["a b", "c\\"] and one(written).general_feedback == ""


# --- Round trip of generated questions ------------------------------------------------------------

FORMATS = st.sampled_from(("html", "markdown", "plain"))
AWKWARD = list("~=#{}:\\\n\t%[]_/-> $aZ9") + ["->", "[html]", "[moodle]", "::", "####", "//", "_____", "$CATEGORY:",
                                             "đắk lắk", "Người", "Ệ", "ư", "\u00a0", "\u2028", "%50%"]
CHARS = st.one_of(st.sampled_from(AWKWARD), st.characters(exclude_categories=("Cs",), exclude_characters="\r"))


def texts(*, arrow: bool = True, letter: bool = False, min_size: int = 1) -> st.SearchStrategy[str]:
    found = st.lists(CHARS, min_size=min_size, max_size=12).map(lambda parts: "".join(parts).strip())
    if min_size:
        found = found.filter(bool)
    if not arrow:
        found = found.filter(lambda s: "->" not in s)
    if letter:
        found = found.filter(lambda s: any(ch.isalnum() for ch in s))
    return found


PERCENT = st.sampled_from(["0", "50", "-50", "12.5", "33.33333", "-33.33333", "-100", "0.00001", "99.99999"])


@st.composite
def feedback(draw, fmt: str, *, arrow: bool = True) -> tuple[str, str]:
    comment = draw(st.one_of(st.just(""), texts(arrow=arrow)))
    return comment, (draw(FORMATS) if comment else fmt)


@st.composite
def questions(draw) -> ParsedQuestion:
    kind = draw(st.sampled_from(("single_choice", "multiple_response", "true_false", "short_answer", "numerical",
                                 "matching", "essay", "description")))
    fmt = draw(FORMATS)
    q = ParsedQuestion(0, 0, kind, draw(st.one_of(st.just(""), texts())), draw(texts(letter=kind == "description")),
                       fmt, category=tuple(draw(st.lists(st.sampled_from(["Công ước", "CEDAW", "a/b", "x: {y}",
                                                                          "Chủ đề #1", "top", "\\n"]), max_size=2))),
                       tags=draw(st.lists(st.sampled_from(["CEDAW", "CRC", "Nghị định 1", "a]b"]), unique=True,
                                          max_size=2)))
    if kind != "description":
        q.general_feedback = draw(st.one_of(st.just(""), texts()))

    def option(text: str, fraction: float, *, arrow: bool = True) -> ParsedOption:
        comment, comment_format = draw(feedback(fmt, arrow=arrow))
        return ParsedOption(text, fraction, comment, comment_format, draw(FORMATS))

    match kind:
        case "single_choice" | "multiple_response":
            if kind == "single_choice":
                fractions = [1.0] + [float(p) / 100 for p in draw(st.lists(PERCENT, min_size=1, max_size=4))]
            else:
                rights = draw(st.sampled_from([["100"], ["50", "50"], ["33.33333", "33.33333", "33.33334"],
                                               ["25", "75"]]))
                wrongs = draw(st.lists(st.sampled_from(["0", "-100", "-50", "-33.33333"]), max_size=3))
                fractions = [float(p) / 100 for p in rights + wrongs]
                if len(fractions) < 2:
                    fractions.append(0.0)
            fractions = draw(st.permutations(fractions))
            q.options = [option(draw(texts()), f) for f in fractions]
            q.settings["shuffle"] = True
        case "true_false":
            right = draw(st.booleans())
            q.options = [ParsedOption("true", 1.0 if right else 0.0, *draw(feedback(fmt)), fmt),
                         ParsedOption("false", 0.0 if right else 1.0, *draw(feedback(fmt)), fmt)]
        case "short_answer":
            fractions = [1.0] + [float(p) / 100 for p in draw(st.lists(PERCENT.filter(lambda p: p[0] != "-"),
                                                                        max_size=3))]
            q.options = [option(draw(texts(arrow=False)), f, arrow=False) for f in draw(st.permutations(fractions))]
        case "numerical":
            values = st.one_of(st.integers(-10**6, 10**6).map(str),
                               st.sampled_from(["1.5", "-0.25", "3.1415", "0.001", "1000000.5"]))
            for fraction in [1.0] + [float(p) / 100 for p in draw(st.lists(PERCENT, max_size=2))]:
                comment, comment_format = draw(feedback(fmt))
                tolerance = draw(st.sampled_from([0.0, 0.5, 2.0, 0.0005, 1e-05, 1000.0, 1.5e20]))
                q.options.append(ParsedOption(draw(values), fraction, comment, comment_format, fmt,
                                              tolerance=tolerance))
            if draw(st.booleans()):
                comment, comment_format = draw(feedback(fmt))
                q.options.insert(draw(st.integers(0, len(q.options))),
                                 ParsedOption("*", draw(st.sampled_from([0.0, 0.1])), comment, comment_format, fmt))
        case "matching":
            pairs = draw(st.lists(st.tuples(texts(arrow=False), texts()), min_size=2, max_size=4))
            extra = draw(st.lists(texts(), max_size=2))
            q.options = [ParsedOption(a, 0.0, "", fmt, draw(FORMATS), match=b) for a, b in pairs]
            q.options += [ParsedOption("", 0.0, "", fmt, draw(FORMATS), match=b) for b in extra]
            q.settings["shuffle"] = True
        case "description":
            q.default_mark = 0.0
    return q


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])
@given(st.lists(questions(), min_size=1, max_size=4))
def test_what_is_written_reads_back_the_same(qs):
    written = write_gift(qs)
    result = read_gift(written)
    assert result.problems == [], written
    assert plain(result.questions) == plain(qs), written
    assert [q.index for q in result.questions] == list(range(1, len(qs) + 1))
    assert write_gift(result.questions) == written
