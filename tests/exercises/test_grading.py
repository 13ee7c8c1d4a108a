"""`llmbook grade`: one row per submission whatever it holds, originals untouched."""

from __future__ import annotations

import csv
import hashlib
from pathlib import Path

import nbformat
import pytest

from llmbook.cli import main
from llmbook.exercises import exercises_of, run_check
from llmbook.grading import Row, grade, notebook_chapter, student_name, summary

ROOT = Path(__file__).resolve().parents[2]
MAX = sum(ex.points for ex in exercises_of("01"))


def with_extra_cell(src: Path, dst: Path, code: str, index: int | None = None) -> Path:
    nb = nbformat.read(src, as_version=4)
    cell = nbformat.v4.new_code_cell(code)
    nb.cells.insert(len(nb.cells) if index is None else index, cell)
    nbformat.write(nb, dst)
    return dst


@pytest.fixture(scope="module")
def submissions(tmp_path_factory) -> dict[str, Path]:
    d = tmp_path_factory.mktemp("subs")
    solved, unsolved = ROOT / "solutions/ko/01_intro.ipynb", ROOT / "exercises/en/01_intro.ipynb"
    subs = {
        "solved": d / "solved.ipynb",
        "unsolved": d / "unsolved.ipynb",
        "hanging": with_extra_cell(solved, d / "hanging.ipynb", "while True:\n    pass", 3),
        "malformed": d / "malformed.ipynb",
        "garbage": with_extra_cell(
            unsolved, d / "garbage.ipynb",
            "make_pairs = 5\nsoftmax_with_temperature = lambda l, t: 'x'\nfamilies = None\n"
            "def perplexity(loss):\n    raise ValueError('nope')",
        ),  # fmt: skip
    }
    subs["solved"].write_bytes(solved.read_bytes())
    subs["unsolved"].write_bytes(unsolved.read_bytes())
    subs["malformed"].write_text('{"cells": [ this is not json', encoding="utf-8")
    return subs


def digest(paths):
    return {p: hashlib.sha256(p.read_bytes()).hexdigest() for p in paths}


@pytest.mark.slow
def test_five_submissions_give_five_rows_with_the_right_totals(submissions, tmp_path):
    before = digest(submissions.values())
    out = tmp_path / "grades.csv"
    rows = grade(list(submissions.values()), out, cell_timeout=10, jobs=2)
    assert digest(submissions.values()) == before, "a submission was changed"
    by = {r.student: r for r in rows}
    assert len(rows) == 5
    assert by["solved"].total == MAX and by["solved"].status == "graded"
    assert by["unsolved"].total == 0 and by["unsolved"].status == "graded"
    assert by["garbage"].total == 0 and by["garbage"].status == "graded"
    # The endless loop is cut after 10 s; the answers defined in the other cells still count.
    assert by["hanging"].total == MAX and "stopped after 10 s" in by["hanging"].status
    assert by["malformed"].total == 0 and by["malformed"].status.startswith("malformed")
    with out.open(encoding="utf-8") as f:
        sheet = list(csv.DictReader(f))
    assert [r["student"] for r in sheet] == [r.student for r in rows]
    assert sheet[0]["total"] == str(MAX) and sheet[0]["max"] == str(MAX)
    feedback = (tmp_path / "grades_feedback" / "solved.txt").read_text(encoding="utf-8")
    assert "합계" in feedback  # the solved notebook is the Korean one
    assert "Total: 0" in (tmp_path / "grades_feedback" / "unsolved.txt").read_text()
    assert sheet[0]["01.1 status"] == "passed" and sheet[1]["01.1 status"] == "failed"
    hanging = (tmp_path / "grades_feedback" / "hanging.txt").read_text(encoding="utf-8")
    assert "10초 안에 끝나지 않아" in hanging  # the student hears about the skipped cell
    malformed = (tmp_path / "grades_feedback" / "malformed.txt").read_text(encoding="utf-8")
    assert "다시 받아 제출" in malformed and "download it again" in malformed


@pytest.mark.slow
def test_a_dying_kernel_and_another_chapter_get_rows_that_say_so(tmp_path):
    solved = ROOT / "solutions/en/01_intro.ipynb"
    dying = with_extra_cell(solved, tmp_path / "dying.ipynb", "import os\nos._exit(1)", 2)
    other = tmp_path / "other.ipynb"
    nb = nbformat.read(solved, as_version=4)
    nb.metadata["llmbook"]["chapter"] = "02"
    nbformat.write(nb, other)
    empty = tmp_path / "empty.ipynb"
    nbformat.write(nbformat.v4.new_notebook(), empty)
    rows = grade([dying, other, empty], tmp_path / "g.csv", chapter="01", cell_timeout=5)
    by = {r.student: r for r in rows}
    # The cell that ends the process is skipped; the answers in the other cells still count.
    assert "cell 2 ended the process" in by["dying"].status and by["dying"].total == MAX
    assert "another chapter (02)" in by["other"].status
    assert by["empty"].status == "empty notebook"
    assert by["other"].total == 0 and by["empty"].total == 0
    feedback = (tmp_path / "g_feedback" / "other.txt").read_text(encoding="utf-8")
    assert "채점하지 못했습니다" in feedback and "Could not grade" in feedback


def test_the_grade_is_the_verdict_the_student_sees():
    """The grader and the notebook's check() both call run_check: same answers, same points."""
    ns = {"perplexity": lambda loss: 2.718281828459045**loss}
    in_notebook = run_check("01.4", ns, "ko")
    assert in_notebook.passed and in_notebook.points == exercises_of("01")[3].points


def test_student_names_and_chapters():
    assert student_name(Path("subs/alice.ipynb")) == "alice"
    assert student_name(Path("subs/bob/01_intro.ipynb")) == "bob"
    nb = nbformat.read(ROOT / "exercises/ko/01_intro.ipynb", as_version=4)
    assert notebook_chapter(nb, Path("x.ipynb")) == "01"
    del nb.metadata["llmbook"]
    assert notebook_chapter(nb, Path("x.ipynb")) == "01"  # from the check cells' metadata


def test_the_summary_counts_graded_zero_and_failed_rows():
    rows = [Row("a", "a", points={"01.1": 2}), Row("b", "b"), Row("c", "c", status="empty notebook")]
    assert summary(rows, 12.3) == "graded 2 of 3, 1 with zero points, 1 failed to run, in 12 s"


def test_help_is_plain_text_with_defaults(capsys):
    with pytest.raises(SystemExit):
        main(["grade", "--help"])
    out = capsys.readouterr().out
    assert "``" not in out and "(default: 60)" in out and "(default: auto)" in out


def test_missing_files_are_a_clear_error(tmp_path):
    with pytest.raises(FileNotFoundError, match="no such submission"):
        grade([tmp_path / "nope.ipynb"], tmp_path / "g.csv")


@pytest.mark.slow
def test_a_sandbox_that_cannot_start_is_a_clear_status(tmp_path, monkeypatch):
    import llmbook.sandbox

    monkeypatch.setattr(llmbook.sandbox.sys, "executable", "/bin/false")
    solved = tmp_path / "solved.ipynb"
    solved.write_bytes((ROOT / "solutions/en/01_intro.ipynb").read_bytes())
    (row,) = grade([solved], tmp_path / "g.csv", sandbox="none")
    assert row.status.startswith("could not run the notebook") and row.total == 0
    assert "Tell your instructor" in (tmp_path / "g_feedback" / "solved.txt").read_text()


def test_the_command_names_the_missing_extra():
    """Without the instructor extra, `llmbook grade` says what to install instead of a traceback."""
    import subprocess
    import sys

    blocked = "import sys; sys.modules['nbformat'] = None; from llmbook.cli import main; "
    out = subprocess.run([sys.executable, "-c", blocked + "raise SystemExit(main(['grade', 'x.ipynb']))"],
                         capture_output=True, text=True)  # fmt: skip
    assert out.returncode == 2, out.stderr
    assert 'pip install "llmbook[instructor]"' in out.stderr and "nbformat" in out.stderr
