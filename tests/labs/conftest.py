"""Shared fixtures of the lesson tests: each lesson runs once per session, at the quick budget."""
from __future__ import annotations

import pytest

pytest.importorskip("scipy", reason="the lessons need the labs extra (scipy)")
pytest.importorskip("matplotlib", reason="the lessons need the labs extra (matplotlib)")

from chainrule.labs import LessonResult, run_lesson

_CACHE: dict[str, LessonResult] = {}


@pytest.fixture(scope="session")
def lesson():
    """``lesson(name)``: the lesson's result at the quick budget, computed once per session."""
    def get(name: str) -> LessonResult:
        if name not in _CACHE:
            _CACHE[name] = run_lesson(name, quick=True, seed=0)
        return _CACHE[name]
    return get
