"""Fixtures for the quizzes feature."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.courses.conftest import make_course, trainee, trainer  # noqa: F401  (as in the course tests)

#: Real files exported by Moodle (../shared/interop); tests that read them skip when it is absent.
INTEROP = Path(__file__).resolve().parents[2].parent / "shared" / "interop"


def interop_file(*parts: str) -> Path:
    path = INTEROP.joinpath(*parts)
    if not path.exists():
        pytest.skip(f"{path} is not here (the shared interop samples are optional)")
    return path
