"""Every graded exercise of every chapter: a right answer passes with full points, and each
plausible wrong answer fails with no points and its targeted hint, in both languages.

The tables live in ``tests/exercises/wrong_answers/chNN.py``, one module per chapter, each with
``RIGHT = {exercise id: {learner's name: object}}`` and
``WRONG = {exercise id: [({learner's name: object}, "a fragment of the English hint"), ...]}``.
"""

from __future__ import annotations

import importlib.util
import re
from pathlib import Path

import pytest

from llmbook.exercises import exercises_of, run_check

TABLES = Path(__file__).resolve().parent / "wrong_answers"
CHAPTERS = [f"{n:02d}" for n in range(1, 10)]
HANGUL = re.compile(r"[\uac00-\ud7a3]")


def table(chapter: str):
    path = TABLES / f"ch{chapter}.py"
    if not path.is_file():
        return None
    spec = importlib.util.spec_from_file_location(f"wrong_answers_ch{chapter}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def cases() -> list[tuple[str, int]]:
    found = []
    for chapter in CHAPTERS:
        t = table(chapter)
        for id, wrongs in sorted(getattr(t, "WRONG", {}).items()):
            found += [(id, k) for k in range(len(wrongs))]
    return found


@pytest.mark.parametrize("chapter", CHAPTERS)
def test_every_exercise_has_a_right_and_a_wrong_answer(chapter):
    ids = [ex.id for ex in exercises_of(chapter)]
    t = table(chapter)
    assert t is not None, f"tests/exercises/wrong_answers/ch{chapter}.py is missing"
    assert sorted(t.RIGHT) == ids, f"chapter {chapter}: right answers for {sorted(t.RIGHT)}"
    assert sorted(id for id, wrongs in t.WRONG.items() if wrongs) == ids


@pytest.mark.parametrize("chapter", CHAPTERS)
def test_right_answers_pass(chapter):
    t = table(chapter)
    if t is None:
        pytest.fail(f"tests/exercises/wrong_answers/ch{chapter}.py is missing")
    for id, answer in t.RIGHT.items():
        verdict = run_check(id, answer, "en")
        assert verdict.passed and verdict.points == verdict.max_points, (id, str(verdict))


@pytest.mark.parametrize("id, k", cases())
def test_wrong_answer_fails_with_its_hint(id, k):
    answer, hint = table(id[:2]).WRONG[id][k]
    en, ko = run_check(id, answer, "en"), run_check(id, answer, "ko")
    assert not en.passed and en.points == 0, str(en)
    assert hint in en.message, f"{id} wrong answer {k}: expected {hint!r} in\n{en.message}"
    assert not ko.passed and HANGUL.search(ko.message), str(ko)
