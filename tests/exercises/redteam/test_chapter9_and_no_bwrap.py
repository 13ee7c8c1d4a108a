"""Red team, continued: objects that equal everything on chapter 9 (6 of its checks compare with
``==``), and what still holds on a machine without bubblewrap."""

from __future__ import annotations

import shutil
from pathlib import Path

import nbformat
import pytest

from llmbook import sandbox
from llmbook.exercises import exercises_of
from llmbook.grading import grade

ROOT = Path(__file__).resolve().parents[3]

ALWAYS_EQUAL = """
class Yes:
    def __eq__(self, other): return True
    def __ne__(self, other): return False
    def __hash__(self): return 0
class YesStr(str):
    def __eq__(self, other): return True
few_shot = lambda demos, question: YesStr("")
extract_answer = lambda text: Yes()
majority_vote = lambda answers: Yes()
chat_template = lambda messages, gen: YesStr("nope")
digits_only = lambda logits, allowed: Yes()
bm25_scores = lambda docs, query: [Yes() for _ in docs]
"""


def add_cell(src: Path, dst: Path, code: str) -> Path:
    nb = nbformat.read(src, as_version=4)
    nb.cells.append(nbformat.v4.new_code_cell(code))
    nbformat.write(nb, dst)
    return dst


@pytest.mark.slow
def test_chapter_9_objects_that_equal_everything_score_zero_and_honest_work_scores_full(tmp_path):
    cheat = add_cell(ROOT / "exercises/en/09_prompting.ipynb", tmp_path / "cheat.ipynb", ALWAYS_EQUAL)
    honest = add_cell(ROOT / "solutions/ko/09_prompting.ipynb", tmp_path / "honest.ipynb", "")
    rows = {r.student: r for r in grade([cheat, honest], tmp_path / "g.csv", jobs=2)}
    assert rows["cheat"].total == 0, rows["cheat"].statuses
    assert rows["honest"].total == sum(ex.points for ex in exercises_of("09"))


@pytest.mark.slow
def test_without_bubblewrap_the_grade_still_cannot_be_forged_and_the_grader_says_so(tmp_path):
    victim = tmp_path / "precious.txt"
    victim.write_text("keep me")
    unsolved = ROOT / "exercises/en/03_tokenization.ipynb"
    patch = add_cell(unsolved, tmp_path / "patch.ipynb",
                     "import llmbook.exercises.core as C\nC.run_check = lambda *a, **k: None\n"
                     "C.REGISTRY.clear()")  # fmt: skip
    harm = add_cell(ROOT / "solutions/en/03_tokenization.ipynb", tmp_path / "harm.ipynb",
                    f"import os\ntry:\n    os.remove({str(victim)!r})\nexcept OSError:\n    pass")  # fmt: skip
    rows = {r.student: r for r in grade([patch, harm], tmp_path / "g.csv", sandbox="none", jobs=2)}
    assert rows["patch"].total == 0
    assert rows["harm"].total == sum(ex.points for ex in exercises_of("03"))
    assert "sandbox refused" in rows["harm"].status
    assert victim.read_text() == "keep me"  # the audit hook refused it


def test_the_missing_protection_is_said_clearly(monkeypatch):
    assert "UNCONFINED" in sandbox.protection("none")
    assert "apt-get install -y bubblewrap" in sandbox.protection("none")
    assert "no network" in sandbox.protection("bwrap")
    monkeypatch.setattr(shutil, "which", lambda name: None)
    sandbox.bwrap_works.cache_clear()
    try:
        assert sandbox.choose_mode("auto") == "none"
        with pytest.raises(RuntimeError, match="apt-get install -y bubblewrap"):
            sandbox.choose_mode("bwrap")
    finally:
        sandbox.bwrap_works.cache_clear()
