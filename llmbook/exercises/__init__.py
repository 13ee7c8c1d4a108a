"""Graded exercises: ``check = checker("ko")`` in a notebook, then ``check("01.2")``.

Each chapter's checks live in ``llmbook/exercises/chNN.py``; the machinery in ``core``.
"""

from llmbook.exercises.core import (
    REGISTRY,
    CheckFailed,
    Exercise,
    Fail,
    Verdict,
    call,
    checker,
    exercise,
    exercises_of,
    expect_close,
    expect_equal,
    get,
    run_check,
)

__all__ = [
    "REGISTRY",
    "CheckFailed",
    "Exercise",
    "Fail",
    "Verdict",
    "call",
    "checker",
    "exercise",
    "exercises_of",
    "expect_close",
    "expect_equal",
    "get",
    "run_check",
]
