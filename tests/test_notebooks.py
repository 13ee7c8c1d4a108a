"""Notebook rules: twins, the Colab cell, generated exercises, unsolved exercises fail cleanly."""

from __future__ import annotations

import os
from pathlib import Path

import nbformat
import pytest
import yaml

from llmbook.exercises.core import MARKS
from llmbook.notebooks import (
    COLAB_CELL,
    code_cells,
    code_signature,
    language_of,
    strip_solution,
    sync_exercises,
)

ROOT = Path(__file__).resolve().parents[1]
FOLDERS = ("chapters", "solutions", "exercises")
NOTEBOOKS = sorted(p for f in FOLDERS for p in (ROOT / f).glob("*/*.ipynb"))
PAIRS = sorted({(p.parts[-3], p.name) for p in NOTEBOOKS})


def rel(p: Path) -> str:
    return str(p.relative_to(ROOT))


def twin_difference(ko: Path, en: Path) -> str | None:
    """None if the two notebooks have the same code (comments and strings aside), else why not."""
    a, b = code_cells(ko), code_cells(en)
    if len(a) != len(b):
        return f"{len(a)} code cells in {rel(ko)} but {len(b)} in {rel(en)}"
    for i, (x, y) in enumerate(zip(a, b, strict=True)):
        if code_signature(x) != code_signature(y):
            return f"code cell {i} differs:\n--- ko\n{x}\n--- en\n{y}"
    return None


@pytest.mark.parametrize("folder,name", PAIRS, ids=[f"{f}/{n}" for f, n in PAIRS])
def test_twins_have_the_same_code(folder, name):
    ko, en = ROOT / folder / "ko" / name, ROOT / folder / "en" / name
    assert ko.exists() and en.exists(), f"{folder}/{name} needs both a ko and an en version"
    assert twin_difference(ko, en) is None, twin_difference(ko, en)


def test_twin_test_sees_a_changed_line_but_not_a_translation(tmp_path):
    ko = ROOT / "chapters" / "ko" / "01_intro.ipynb"
    nb = nbformat.read(ko, as_version=4)
    cell = next(c for c in nb.cells if c.cell_type == "code" and "n_layer=2" in c.source)
    original = cell.source
    cell.source = "# a new comment\n" + original.replace("매개변수", "parameters")
    nbformat.write(nb, tmp_path / "translated.ipynb")
    assert twin_difference(ko, tmp_path / "translated.ipynb") is None
    cell.source = original.replace("n_layer=2", "n_layer=3")
    nbformat.write(nb, tmp_path / "broken.ipynb")
    assert "differs" in twin_difference(ko, tmp_path / "broken.ipynb")


def test_code_signature_ignores_comments_strings_and_reads_magics():
    assert code_signature('x = f("a")  # note') == code_signature("x = f('b')\n# other")
    assert code_signature('print(f"{n} 개")') == code_signature('print(f"{n} items")')
    assert code_signature("x = 1") != code_signature("x = 2")
    assert code_signature("%pip install a") == code_signature("%pip install b")


@pytest.mark.parametrize("path", NOTEBOOKS, ids=rel)
def test_first_code_cell_installs_llmbook_in_colab_only(path):
    first = code_cells(path)[0]
    assert first == COLAB_CELL[language_of(path)]


def test_exercises_are_generated_from_the_solutions():
    assert sync_exercises(ROOT, check_only=True) == [], "run `llmbook make-exercises`"


def test_strip_solution_stubs():
    src = "def f(x):\n    ### BEGIN SOLUTION\n    return x\n    ### END SOLUTION"
    assert strip_solution(src, "en") == (
        "def f(x):\n    # YOUR CODE HERE\n    raise NotImplementedError()"
    )
    src = "### BEGIN SOLUTION\na = 1\nb: int = 2\n### END SOLUTION\nprint(a)"
    assert strip_solution(src, "ko") == "# 여기에 코드를 작성하세요\na = ...\nb = ...\nprint(a)"
    with pytest.raises(ValueError, match="without"):
        strip_solution("### BEGIN SOLUTION\nx = 1", "en")


def toc_files() -> set[str]:
    toc = yaml.safe_load((ROOT / "_toc.yml").read_text(encoding="utf-8"))
    return {ch["file"] for part in toc["parts"] for ch in part["chapters"]}


@pytest.mark.parametrize("path", [p for p in NOTEBOOKS if p.parts[-3] != "solutions"], ids=rel)
def test_every_page_is_in_the_table_of_contents(path):
    if path.name.startswith("00_"):
        pytest.skip("the template is not a page")
    assert rel(path.with_suffix("")) in toc_files()


EXERCISES = sorted((ROOT / "exercises").glob("*/*.ipynb"))


@pytest.mark.slow
@pytest.mark.parametrize("path", EXERCISES, ids=rel)
def test_unsolved_exercise_fails_every_check_without_crashing(path, monkeypatch):
    from nbclient import NotebookClient

    monkeypatch.setenv("LLMBOOK_STRICT_CHECKS", "0")  # the learner's default: verdicts, no raise
    nb = nbformat.read(path, as_version=4)
    NotebookClient(nb, timeout=60, kernel_name="python3", allow_errors=True,
                   resources={"metadata": {"path": str(ROOT)}}).execute()  # fmt: skip
    graded = [c for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade")]
    assert graded, f"{rel(path)} has no graded cells"
    failed = MARKS[False]
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        kinds = [o.output_type for o in cell.outputs]
        assert "error" not in kinds, f"{rel(path)}: a cell crashed:\n{cell.source}"
        assert not any(o.get("name") == "stderr" for o in cell.outputs), cell.source
    for cell in graded:
        text = "".join(o.get("text", "") for o in cell.outputs)
        assert text.count(failed) == 1, f"{cell.source}: expected one failing verdict, got {text!r}"
    assert os.environ["LLMBOOK_STRICT_CHECKS"] == "0"


def test_word_counts_count_prose_only(tmp_path):
    """``llmbook words``: markdown words, not code blocks or display math; 어절 hold Hangul."""
    from llmbook.notebooks import word_counts

    for lang, text in [("en", "Attention is all.\n\n```python\nx = 1\n```\n$$a+b$$"),
                       ("ko", "**어텐션**(attention)은 중요합니다. 2017년\n\n```\n코드 블록\n```")]:  # fmt: skip
        nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell(text)])
        (tmp_path / "chapters" / lang).mkdir(parents=True)
        nbformat.write(nb, tmp_path / "chapters" / lang / "02_x.ipynb")
    (row,) = word_counts(tmp_path)
    assert row == {"chapter": "02_x", "en_words": 3, "ko_eojeol": 3, "ko_syllables": 10,
                   "self_check": False}  # fmt: skip
