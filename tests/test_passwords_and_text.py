"""The password policy and hashing (lms/passwords.py) and Vietnamese text helpers (lms/text.py)."""

from __future__ import annotations

import unicodedata

import pytest
from argon2 import PasswordHasher

from lms import passwords
from lms.passwords import hash_password, password_problems, verify_password
from lms.text import clean, email_key, fold, is_formula_like, like_pattern, nfc

NAME = "Nguyễn Văn An"
EMAIL = "an.nguyen@example.vn"


def problems(password, user_inputs=()):
    return [str(p) for p in password_problems(password, user_inputs=user_inputs)]


# -- password policy --------------------------------------------------------------------------

@pytest.mark.parametrize("password", ["", "Ab1!", "Xy7#qLm2z"])  # the testing minimum is 10
def test_too_short(app, password):
    assert problems(password) == ["Mật khẩu phải có ít nhất 10 ký tự."]


def test_minimum_length_comes_from_config(app_factory):
    application = app_factory(PASSWORD_MIN_LENGTH=14)
    with application.app_context():
        assert problems("Tre-xanh-2028") == ["Mật khẩu phải có ít nhất 14 ký tự."]
        assert problems("Tre-xanh-ven-2028") == []


def test_too_long(app):
    strong = "Tre xanh bờ ao, mùa gặt 2028! "
    assert problems((strong * 40)[:1025]) == ["Mật khẩu không được dài quá 1024 ký tự."]
    assert problems((strong * 40)[:1024]) == []


def test_length_counts_characters_not_combining_marks(app):
    # Typed with combining marks (a Vietnamese keyboard's "Unicode tổ hợp" mode) the same
    # password is longer in code points; the limits apply to what the person typed.
    password = "Đường về quê mẹ trồng nhiều hoa sen đỏ thắm, gió đưa hương sen ngào ngạt bay xa khắp lối nhỏ ở làng quê Việt, 2028!"
    assert len(password) <= 128 < len(unicodedata.normalize("NFD", password))
    assert problems(unicodedata.normalize("NFD", password)) == []


@pytest.mark.parametrize("password", [
    "password123", "Password123", "PASSWORD123", "matkhau123", "MatKhau123", "Mật khẩu 123", "Mật Khẩu@123",
    "12345678910", "1234567890", "qwertyuiop", "sotuphap123", "admin123456", "aaaaaaaaaaaa", "abababababab",
    "Sotuphap@2024", "Matkhau@2024", "Quantri@2024", "Welcome#2025", "#Vietnam2028!",
])
def test_common_passwords_refused(app, password):
    assert problems(password) == ["Mật khẩu này quá phổ biến, dễ bị đoán. Hãy chọn mật khẩu khác."]


@pytest.mark.parametrize("password", [
    "NguyenVanAn#2028x",
    "Nguyễn Văn An 2028!!",
    "nguyen.van.an-2028!",
    "an.nguyen-Quyen-2028",
    "Quyen-An.Nguyen@2028",
    "Quyen-an.nguyen@example.vn",
    unicodedata.normalize("NFD", "Cây tre Nguyễn-Văn-An 99"),
])
def test_passwords_containing_name_or_email_refused(app, password):
    assert problems(password, (NAME, EMAIL)) == ["Mật khẩu không được chứa tên hoặc địa chỉ thư điện tử của bạn."]


def test_short_user_inputs_do_not_refuse_everything(app):
    # a three-letter local part or name is too short to be a meaningful match
    assert problems("Cây tre làng Việt 2028", ("Lý", "tre@example.vn")) == []


@pytest.mark.parametrize("password", [
    "Rất-Khó-Đoán-2028!",
    "ngựa vằn nhảy qua cầu tre 2028",
    "correct horse battery staple",
    unicodedata.normalize("NFD", "Cây-Tre-Làng-Việt-2029?"),
])
def test_strong_passphrases_accepted(app, password):
    assert problems(password, (NAME, EMAIL)) == []


@pytest.mark.parametrize("password", ["abcdefghijk", "Abcd1234abcd", "0912345678", "2024-01-01"])
def test_guessable_password_refused_by_strength_estimate(app, password):
    assert problems(password) == ["Mật khẩu quá dễ đoán. Hãy dùng một cụm từ dài hơn, kết hợp chữ và số."]


@pytest.mark.parametrize("length", [72, 73, 100, 128])
def test_long_passphrases_are_checked_without_error(app, length):
    phrase = ("Tre xanh bờ ao, mùa gặt 2028! " * 5)[:length]
    assert problems(phrase) == []
    assert problems(("abc" * 50)[:length]) == ["Mật khẩu này quá phổ biến, dễ bị đoán. Hãy chọn mật khẩu khác."]


# -- hashing ----------------------------------------------------------------------------------

def test_hash_and_verify(app):
    hashed = hash_password("Rất-Khó-Đoán-2028!")
    assert hashed.startswith("$argon2id$")
    assert "Rất" not in hashed
    assert hash_password("Rất-Khó-Đoán-2028!") != hashed  # salted
    assert verify_password(hashed, "Rất-Khó-Đoán-2028!") == (True, False)
    assert verify_password(hashed, "rất-khó-đoán-2028!") == (False, False)
    assert verify_password(hashed, "") == (False, False)
    assert verify_password(None, "Rất-Khó-Đoán-2028!") == (False, False)
    assert verify_password("", "Rất-Khó-Đoán-2028!") == (False, False)
    assert verify_password("not-a-hash", "Rất-Khó-Đoán-2028!") == (False, False)


def test_verify_accepts_the_same_vietnamese_password_typed_composed_or_decomposed(app):
    composed = "Rất-Khó-Đoán-2028!"
    decomposed = unicodedata.normalize("NFD", composed)
    assert composed != decomposed
    assert verify_password(hash_password(composed), decomposed)[0]
    assert verify_password(hash_password(decomposed), composed)[0]


def test_rehash_needed_when_parameters_change(app):
    old = PasswordHasher(time_cost=2, memory_cost=2048, parallelism=1).hash("Rất-Khó-Đoán-2028!")
    assert verify_password(old, "Rất-Khó-Đoán-2028!") == (True, True)
    assert verify_password(old, "sai mật khẩu") == (False, False)
    current = hash_password("Rất-Khó-Đoán-2028!")
    assert verify_password(current, "Rất-Khó-Đoán-2028!") == (True, False)


def test_hasher_uses_configured_cost(app):
    params = passwords.hasher()
    assert (params.time_cost, params.memory_cost) == (app.config["ARGON2_TIME_COST"], app.config["ARGON2_MEMORY_KIB"])


# -- text -------------------------------------------------------------------------------------

@pytest.mark.parametrize("value, folded", [
    ("Quyền Trẻ Em", "quyen tre em"),
    ("Đ", "d"),
    ("đường Đê La Thành", "duong de la thanh"),
    ("  NGUYỄN   Thị\tHƯƠNG ", "nguyen thi huong"),
    (unicodedata.normalize("NFD", "Nguyễn Văn Đạt"), "nguyen van dat"),
    ("Ưu tiên ơ ư ă â ê ô", "uu tien o u a a e o"),
    ("CEDAW-1979", "cedaw-1979"),
    ("", ""),
    (None, ""),
])
def test_fold(value, folded):
    assert fold(value) == folded


def test_fold_is_the_same_for_nfc_and_nfd():
    text = "Công ước về quyền của người khuyết tật"
    assert fold(text) == fold(unicodedata.normalize("NFD", text)) == "cong uoc ve quyen cua nguoi khuyet tat"


@pytest.mark.parametrize("value, cleaned", [
    ("  Sở   Tư  pháp  ", "Sở Tư pháp"),
    ("a\tb\nc\r\nd", "a b c d"),
    ("An\x00\x07\x1b[31m", "An[31m"),
    ("Bình\u200b\u200c\u200d", "Bình"),
    ("\u202eTrần\u202c", "Trần"),
    ("\u2066Lê\u2069 \u200eVăn\u200f", "Lê Văn"),
    ("\u061cHà", "Hà"),
    ("\ufeffNguyễn", "Nguyễn"),
    ("Thu\u2060Hà", "ThuHà"),
    ("Thảo\x9b31m", "Thảo31m"),
    ("Lan\u00a0Anh", "Lan Anh"),
    (unicodedata.normalize("NFD", "Phạm Thị Ngọc"), "Phạm Thị Ngọc"),
    (None, ""),
    (123, "123"),
])
def test_clean(value, cleaned):
    result = clean(value)
    assert result == cleaned
    assert unicodedata.is_normalized("NFC", result)


def test_nfc():
    assert nfc(None) is None
    assert nfc(unicodedata.normalize("NFD", "Việt")) == "Việt"


@pytest.mark.parametrize("value, key", [
    (" Nguyen.Van.A@Example.VN ", "nguyen.van.a@example.vn"),
    ("AN@EXAMPLE.VN", "an@example.vn"),
    (unicodedata.normalize("NFD", "Thư@Ví-Dụ.vn"), "thư@ví-dụ.vn"),
    ("\ufeffan@example.vn", "an@example.vn"),
    (None, ""),
])
def test_email_key(value, key):
    assert email_key(value) == key


def test_email_keys_differing_only_by_case_are_equal():
    assert email_key("Lan.Anh@SoTuPhap.gov.vn") == email_key("lan.anh@sotuphap.GOV.VN")
    assert email_key("lan.anh@sotuphap.gov.vn") != email_key("lananh@sotuphap.gov.vn")


@pytest.mark.parametrize("term, pattern", [
    ("nguyen", "%nguyen%"),
    ("100%", "%100\\%%"),
    ("a_b", "%a\\_b%"),
    ("c:\\x", "%c:\\\\x%"),
    ("%_\\", "%\\%\\_\\\\%"),
])
def test_like_pattern(term, pattern):
    assert like_pattern(term) == pattern


@pytest.mark.parametrize("value, expected", [
    ("=cmd|' /C calc'!A0", True), ("+1", True), ("-2+3", True), ("@SUM(A1)", True), ("\t=1", True),
    ("\r=1", True), ("Nguyễn Văn An", False), ("", False), ("1+1", False), ("a=b", False),
])
def test_is_formula_like(value, expected):
    assert is_formula_like(value) is expected


def test_production_cost_is_at_least_owasps_minimum(tmp_path):
    from lms.config import load_config

    config = load_config(str(tmp_path), env={"LMS_ENV": "production", "SECRET_KEY": "k" * 40})
    assert config["ARGON2_MEMORY_KIB"] >= 19 * 1024 and config["ARGON2_TIME_COST"] >= 2


def test_an_older_hash_is_rewritten_at_the_next_log_in(app, client, make_person):
    import sqlalchemy as sa
    from argon2 import extract_parameters

    from lms.db import db
    from lms.models import Person

    person = make_person(email="cu@example.vn")
    person.password_hash = PasswordHasher(time_cost=3, memory_cost=4096, parallelism=1).hash("Rất-Khó-Đoán-2028!")
    db.session.commit()
    assert client.post("/login", data={"email": "cu@example.vn", "password": "Rất-Khó-Đoán-2028!"}).status_code == 302
    db.session.expire_all()
    stored = db.session.scalar(sa.select(Person.password_hash).where(Person.id == person.id))
    params = extract_parameters(stored)
    assert (params.time_cost, params.memory_cost) == (app.config["ARGON2_TIME_COST"], app.config["ARGON2_MEMORY_KIB"])
