"""Password hashing (argon2) and the password policy."""

from __future__ import annotations

from functools import lru_cache

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from flask import current_app
from flask_babel import lazy_gettext as _l

from lms.text import fold

MAX_LENGTH = 128

# Common choices in Vietnamese offices that generic lists miss.
_LOCAL_COMMON = {
    "matkhau", "matkhau123", "matkhau@123", "matkhau1234", "123456789a", "abc@12345", "admin@123",
    "admin123456", "password@123", "quantri123", "sotuphap", "sotuphap123", "tuphap123",
    "vietnam123", "hanoi12345", "abcd@1234", "1234567890", "qwerty123456", "12345678910",
}


@lru_cache(maxsize=8)
def _hasher(time_cost: int, memory_kib: int) -> PasswordHasher:
    return PasswordHasher(time_cost=time_cost, memory_cost=memory_kib, parallelism=1)


def hasher() -> PasswordHasher:
    config = current_app.config
    return _hasher(config.get("ARGON2_TIME_COST", 3), config.get("ARGON2_MEMORY_KIB", 65536))


def hash_password(password: str) -> str:
    return hasher().hash(password)


def verify_password(password_hash: str | None, password: str) -> tuple[bool, bool]:
    """(matches, needs_rehash). A missing hash still costs one verification, so timing does
    not reveal which accounts exist."""
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


def password_problems(password: str, *, user_inputs: tuple[str, ...] = ()) -> list:
    """The reasons ``password`` is refused (empty when it is acceptable)."""
    min_length = current_app.config.get("PASSWORD_MIN_LENGTH", 10)
    problems = []
    if len(password) < min_length:
        problems.append(_l("Mật khẩu phải có ít nhất %(n)s ký tự.", n=min_length))
        return problems
    if len(password) > MAX_LENGTH:
        problems.append(_l("Mật khẩu không được dài quá %(n)s ký tự.", n=MAX_LENGTH))
        return problems
    lowered = password.casefold()
    folded = fold(password).replace(" ", "")
    if lowered in _common_passwords() or folded in _common_passwords() or len(set(password)) < 4:
        problems.append(_l("Mật khẩu này quá phổ biến, dễ bị đoán. Hãy chọn mật khẩu khác."))
        return problems
    for value in user_inputs:
        token = fold(value).replace(" ", "")
        if len(token) >= 4 and token in folded:
            problems.append(_l("Mật khẩu không được chứa tên hoặc địa chỉ thư điện tử của bạn."))
            return problems
    from zxcvbn import zxcvbn

    if zxcvbn(password[:100], user_inputs=[u for u in user_inputs if u])["score"] < 2:
        problems.append(_l("Mật khẩu quá dễ đoán. Hãy dùng một cụm từ dài hơn, kết hợp chữ và số."))
    return problems
