"""nbgrader itself takes our exercise notebooks and agrees with `llmbook grade`."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from llmbook.grading import grade

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent  # nbgrader calls alembic: the venv's bin must be on PATH


@pytest.mark.slow
def test_nbgrader_autograde_gives_the_same_points_as_llmbook_grade(tmp_path):
    pytest.importorskip("nbgrader")
    from nbgrader.api import Gradebook

    course = tmp_path / "course"
    subs = {"solved": ROOT / "solutions/ko/01_intro.ipynb", "unsolved": ROOT / "exercises/en/01_intro.ipynb"}
    (course / "source/ch01").mkdir(parents=True)
    shutil.copy(ROOT / "solutions/en/01_intro.ipynb", course / "source/ch01/01_intro.ipynb")
    for student, nb in subs.items():
        (course / "submitted" / student / "ch01").mkdir(parents=True)
        shutil.copy(nb, course / "submitted" / student / "ch01/01_intro.ipynb")
    (course / "nbgrader_config.py").write_text(
        "c = get_config()\n"
        f"c.CourseDirectory.root = {str(course)!r}\n"
        "c.CourseDirectory.course_id = 'llmbook'\n"
        "c.CourseDirectory.db_assignments = [dict(name='ch01')]\n"
        "c.CourseDirectory.db_students = [dict(id='solved'), dict(id='unsolved')]\n"
        "c.ExecutePreprocessor.timeout = 120\n"
    )
    # Strict checks: a failing check raises, which is how nbgrader scores a grade cell 0.
    env = {**os.environ, "PATH": f"{BIN}:{os.environ['PATH']}", "LLMBOOK_STRICT_CHECKS": "1"}
    for step in (["generate_assignment", "ch01", "--force"], ["autograde", "ch01", "--force"]):
        done = subprocess.run([str(BIN / "nbgrader"), *step], cwd=course, env=env,
                              capture_output=True, text=True)  # fmt: skip
        assert done.returncode == 0, done.stderr[-2000:]
    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gb:
        nbgrader_points = {
            s: {g.name: g.score for g in gb.find_submission("ch01", s).notebooks[0].grades}
            for s in subs
        }
    rows = grade(list(subs.values()), tmp_path / "grades.csv", chapter="01")
    ours = {s: {"ex" + k.replace(".", "_"): v for k, v in r.points.items()}
            for s, r in zip(subs, rows)}  # fmt: skip
    assert nbgrader_points == ours
    assert sum(ours["solved"].values()) == 6 and sum(ours["unsolved"].values()) == 0
