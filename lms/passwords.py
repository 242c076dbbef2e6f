"""Password hashing (argon2) and the password policy."""

from __future__ import annotations

import unicodedata
from functools import lru_cache

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from flask import current_app

from lms.i18n import lazy_gettext as _l
from lms.text import fold

#: The longest password, in characters after NFC (what the person typed, whether their keyboard sent
#: composed letters or combining marks). Long enough for any passphrase; argon2 hashes any length
#: at the same cost, and the strength estimate reads only the first 72 characters.
MAX_LENGTH = 1024

# Common choices in Vietnamese offices that generic lists miss.
_LOCAL_COMMON = {
    "matkhau", "matkhau123", "matkhau@123", "matkhau1234", "123456789a", "abc@12345", "admin@123",
    "admin123456", "password@123", "quantri123", "sotuphap", "sotuphap123", "tuphap123",
    "vietnam123", "hanoi12345", "quantri", "tuphap", "phongtuphap", "ubnd", "admin",
    "vietnam", "hanoi", "hochiminh", "saigon", "thaibinh", "hungyen", "daotao", "hocvien", "giangvien",
    "quyenconnguoi", "nhanquyen", "congan", "password", "welcome", "xinchao", "abcd@1234", "1234567890", "qwerty123456", "12345678910",
}


@lru_cache(maxsize=8)
def _hasher(time_cost: int, memory_kib: int) -> PasswordHasher:
    return PasswordHasher(time_cost=time_cost, memory_cost=memory_kib, parallelism=1)


def hasher() -> PasswordHasher:
    config = current_app.config
    return _hasher(config.get("ARGON2_TIME_COST", 3), config.get("ARGON2_MEMORY_KIB", 65536))


def _normal(password: str) -> str:
    """NFC, so a Vietnamese password typed as composed or as combining characters (the two
    "Unicode" modes of Vietnamese keyboards) is the same password."""
    return unicodedata.normalize("NFC", password)


def too_long(password: str) -> bool:
    """More than :data:`MAX_LENGTH` characters after NFC. Input many times longer than any
    passphrase is refused before it is normalised."""
    return len(password) > 4 * MAX_LENGTH or len(_normal(password)) > MAX_LENGTH


def hash_password(password: str) -> str:
    return hasher().hash(_normal(password))


def verify_password(password_hash: str | None, password: str) -> tuple[bool, bool]:
    """(matches, needs_rehash). A missing hash still costs one verification, so timing does
    not reveal which accounts exist."""
    password = _normal(password)
    ph = hasher()
    if not password_hash:
        try:
            ph.verify(_dummy_hash(), password + "x")
        except VerificationError:
            pass
        return False, False
    try:
        ph.verify(password_hash, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False, False
    return True, ph.check_needs_rehash(password_hash)


@lru_cache(maxsize=1)
def _common_passwords() -> frozenset[str]:
    from zxcvbn.frequency_lists import FREQUENCY_LISTS

    return frozenset(FREQUENCY_LISTS["passwords"]) | _LOCAL_COMMON


_DUMMY: dict[tuple[int, int], str] = {}


def _dummy_hash() -> str:
    key = (current_app.config.get("ARGON2_TIME_COST", 3), current_app.config.get("ARGON2_MEMORY_KIB", 65536))
    if key not in _DUMMY:
        _DUMMY[key] = hasher().hash("not-a-real-password")
    return _DUMMY[key]


def _alnum(value: str) -> str:
    return "".join(ch for ch in value if ch.isalnum())


def password_problems(password: str, *, user_inputs: tuple[str, ...] = ()) -> list:
    """The reasons ``password`` is refused (empty when it is acceptable)."""
    return general_problems(password) or personal_problems(password, user_inputs) or _guessable(password, user_inputs)


def general_problems(password: str) -> list:
    """Length and common passwords: what does not depend on whose password it is."""
    min_length = current_app.config.get("PASSWORD_MIN_LENGTH", 10)
    password = _normal(password)
    if len(password) < min_length:
        return [_l("Mật khẩu phải có ít nhất %(n)s ký tự.", n=min_length)]
    if too_long(password):
        return [_l("Mật khẩu không được dài quá %(n)s ký tự.", n=MAX_LENGTH)]
    lowered = password.casefold()
    folded = fold(password).replace(" ", "")
    # "Sotuphap@2024", "Matkhau#123": a common word dressed up with digits and symbols
    core = "".join(ch for ch in folded if ch.isalpha())
    if (lowered in _common_passwords() or folded in _common_passwords() or len(set(password)) < 4
            or (len(core) >= 3 and core in _common_passwords())):
        return [_l("Mật khẩu này quá phổ biến, dễ bị đoán. Hãy chọn mật khẩu khác.")]
    return []


def personal_problems(password: str, user_inputs: tuple[str, ...]) -> list:
    """The person's name or e-mail inside the password (cheap: fit for checking one shared
    initial password against thousands of imported people)."""
    letters = _alnum(fold(_normal(password)).replace(" ", ""))
    for value in user_inputs:
        value = fold(value)
        # the whole name or address, and an address's local part, ignoring spaces and punctuation
        tokens = {_alnum(value), _alnum(value.rpartition("@")[0])}
        if any(len(token) >= 4 and token in letters for token in tokens):
            return [_l("Mật khẩu không được chứa tên hoặc địa chỉ thư điện tử của bạn.")]
    return []


def _guessable(password: str, user_inputs: tuple[str, ...] = ()) -> list:
    from zxcvbn import zxcvbn

    # zxcvbn refuses (ValueError) anything longer than its max_length of 72 characters.
    if zxcvbn(_normal(password)[:72], user_inputs=[u for u in user_inputs if u])["score"] < 2:
        return [_l("Mật khẩu quá dễ đoán. Hãy dùng một cụm từ dài hơn, kết hợp chữ và số.")]
    return []


def shared_password_problems(password: str) -> list:
    """A password given to many people at once (an import's initial password): the general
    checks and the guessability check, done once; :func:`personal_problems` then per person."""
    return general_problems(password) or _guessable(password)
