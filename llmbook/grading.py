"""Batch grading of exercise notebooks: ``llmbook grade SUBMISSIONS... --out grades.csv``.

Each submission is copied (the original is never written to, moved or locked) and run in a fresh
kernel, in its own process with a memory limit and a per-cell time limit, several at once. After
the notebook has run, the package's own checks are run again against the kernel's namespace by
exercise id, so the score does not depend on cells a student can edit, split or delete: the
verdicts are the very ones ``check("01.2")`` shows the student in the notebook.
"""

from __future__ import annotations

import csv
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import nbformat

from llmbook.exercises import exercises_of

RESULT_MARK = "LLMBOOK-GRADING-RESULT:"
CHECKS_TIMEOUT_S = 300.0
CHAPTER_FILE = re.compile(r"^(\d\d)_[a-z_]+$")


@dataclass
class Row:
    """One student's line of the grade sheet."""

    student: str
    file: str
    status: str = "graded"
    lang: str = "en"
    points: dict[str, float] = field(default_factory=dict)
    messages: dict[str, str] = field(default_factory=dict)

    @property
    def total(self) -> float:
        return sum(self.points.values())


def notebook_chapter(nb: nbformat.NotebookNode, path: Path) -> str | None:
    """The chapter ("01") a notebook belongs to: its llmbook metadata, its check cells, or its
    file name, in that order of trust."""
    meta = nb.metadata.get("llmbook", {}).get("chapter")
    if meta:
        return str(meta)
    ids = [c.metadata.get("llmbook", {}).get("exercise", "") for c in nb.cells]
    chapters = {i.split(".")[0] for i in ids if i}
    if len(chapters) == 1:
        return chapters.pop()
    m = CHAPTER_FILE.match(path.stem)
    return m.group(1) if m else None


def notebook_language(nb: nbformat.NotebookNode) -> str:
    """'ko' or 'en': the notebook's llmbook metadata, else its ``checker("ko")`` call."""
    lang = nb.metadata.get("llmbook", {}).get("lang")
    if lang in ("ko", "en"):
        return lang
    for cell in nb.cells:
        if cell.cell_type == "code" and re.search(r"""checker\(\s*["']ko["']\s*\)""", cell.source):
            return "ko"
    return "en"


def student_name(path: Path) -> str:
    """The file's stem (``alice.ipynb``), or its folder when the file keeps the exercise's name
    (``alice/01_intro.ipynb``)."""
    return path.parent.name if CHAPTER_FILE.match(path.stem) else path.stem


def grading_cell(ids: list[str], lang: str) -> str:
    """Code run in the student's kernel after their notebook: the package's checks, by id."""
    return (
        "import json as _j\n"
        "from llmbook.exercises import run_check as _rc\n"
        f"_v = [_rc(i, globals(), {lang!r}) for i in {ids!r}]\n"
        f"print({RESULT_MARK!r} + _j.dumps([[v.id, v.points, v.message] for v in _v]))"
    )


def run_one(notebook: Path, ids: list[str], lang: str, cell_timeout: float) -> dict:
    """Execute a notebook copy and the grading cell in a fresh kernel (called in a child process
    that carries the memory limit). Returns ``{"status": ..., "verdicts": [[id, points, msg]]}``."""
    from nbclient import NotebookClient
    from nbclient.exceptions import DeadKernelError

    nb = nbformat.read(notebook, as_version=4)
    checks = nbformat.v4.new_code_cell(grading_cell(ids, lang))
    nb.cells.append(checks)
    client = NotebookClient(
        nb, interrupt_on_timeout=True, allow_errors=True, kernel_name="python3",
        # the student's cells get the limit; our checks bound themselves (TIME_LIMIT_S each)
        timeout_func=lambda cell: CHECKS_TIMEOUT_S if cell is checks else cell_timeout,
        resources={"metadata": {"path": str(notebook.parent)}},
    )  # fmt: skip
    try:
        client.execute()
    except DeadKernelError:
        return {"status": "kernel died (it crashed or ran out of memory)", "verdicts": []}
    timed_out = [
        i for i, c in enumerate(nb.cells[:-1])
        if c.cell_type == "code" and any(
            o.get("ename") in ("TimeoutError", "CellTimeoutError", "KeyboardInterrupt")
            for o in c.get("outputs", [])
        )
    ]  # fmt: skip
    for out in nb.cells[-1].get("outputs", []):
        text = out.get("text", "")
        if RESULT_MARK in text:
            verdicts = json.loads(text.split(RESULT_MARK, 1)[1])
            status = "graded"
            if timed_out:
                status = f"graded; cell {timed_out[0]} stopped after {cell_timeout:g} s"
            return {"status": status, "verdicts": verdicts}
    return {"status": "could not run the checks (the kernel did not answer)", "verdicts": []}


def _run_in_child(copy: Path, ids: list[str], lang: str, cell_timeout: float, memory_mb: int,
                  overall_timeout: float) -> dict:  # fmt: skip
    """Run :func:`run_one` in a subprocess limited to ``memory_mb`` of address space (the kernel
    inherits the limit) and ``overall_timeout`` seconds."""

    def limit_memory() -> None:
        import resource

        size = memory_mb * 1024 * 1024
        resource.setrlimit(resource.RLIMIT_AS, (size, size))
        os.setsid()  # its own process group, so a timeout kills the kernel too

    result = copy.with_suffix(".result.json")
    cmd = [sys.executable, "-m", "llmbook.grading", str(copy), str(result), lang,
           str(cell_timeout), *ids]  # fmt: skip
    env = {**os.environ, "LLMBOOK_STRICT_CHECKS": "0", "LLMBOOK_DEVICE": "cpu"}
    proc = subprocess.Popen(cmd, env=env, preexec_fn=limit_memory, cwd=copy.parent,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)  # fmt: skip
    try:
        _, err = proc.communicate(timeout=overall_timeout)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, 9)
        proc.wait()
        return {"status": f"stopped after {overall_timeout:g} s in all", "verdicts": []}
    if result.exists():
        return json.loads(result.read_text(encoding="utf-8"))
    tail = err.decode(errors="replace").strip().splitlines()[-1:] or ["no message"]
    return {"status": f"grading failed: {tail[0][:200]}", "verdicts": []}


def grade_one(path: Path, chapter: str, cell_timeout: float, memory_mb: int) -> Row:
    """Grade one submission into a :class:`Row`; every problem becomes the row's status."""
    row = Row(student_name(path), str(path))
    exercises = exercises_of(chapter)
    row.points = {ex.id: 0.0 for ex in exercises}
    try:
        nb = nbformat.read(path, as_version=4)
        nbformat.validate(nb)
    except Exception as e:
        row.status = f"malformed notebook ({type(e).__name__})"
        return row
    row.lang = notebook_language(nb)
    if not any(c.cell_type == "code" and c.source.strip() for c in nb.cells):
        row.status = "empty notebook"
        return row
    own = notebook_chapter(nb, path)
    if own != chapter:
        row.status = f"notebook of another chapter ({own or 'unknown'}), expected {chapter}"
        return row
    ids = [ex.id for ex in exercises]
    with tempfile.TemporaryDirectory(prefix="llmbook-grade-") as tmp:
        copy = Path(tmp) / "submission.ipynb"
        shutil.copyfile(path, copy)
        n_cells = len(nb.cells) + 1
        outcome = _run_in_child(copy, ids, row.lang, cell_timeout, memory_mb,
                                overall_timeout=CHECKS_TIMEOUT_S + n_cells * cell_timeout)  # fmt: skip
    row.status = outcome["status"]
    for id, points, message in outcome["verdicts"]:
        row.points[id] = points
        row.messages[id] = message
    return row


def assignment_chapter(paths: list[Path]) -> str:
    """The chapter most submissions belong to (unreadable ones aside)."""
    found = Counter()
    for p in paths:
        try:
            chapter = notebook_chapter(nbformat.read(p, as_version=4), p)
        except Exception:
            continue
        if chapter:
            found[chapter] += 1
    if not found:
        raise ValueError("no submission is a readable llmbook exercise notebook")
    return found.most_common(1)[0][0]


def feedback_text(row: Row, chapter: str) -> str:
    """The per-student feedback file, in the notebook's language."""
    ko = row.lang == "ko"
    lines = [f"{row.student} — {chapter}장 연습 문제" if ko else f"{row.student} — chapter {chapter} exercises"]
    if not row.status.startswith("graded"):
        lines.append(("채점하지 못했습니다: " if ko else "Could not grade: ") + row.status)
    for ex in exercises_of(chapter):
        got = row.points.get(ex.id, 0)
        mark = "✅" if got == ex.points else "❌"
        unit = "점" if ko else " points"
        lines.append(f"{mark} [{ex.id}] {ex.title[row.lang]}: {got:g}/{ex.points}{unit}")
        if row.messages.get(ex.id):
            lines.append("    " + row.messages[ex.id].replace("\n", "\n    "))
    max_total = sum(ex.points for ex in exercises_of(chapter))
    lines.append(f"합계: {row.total:g}/{max_total}점" if ko else f"Total: {row.total:g}/{max_total}")
    return "\n".join(lines) + "\n"


def grade(submissions: list[Path], out: Path, chapter: str | None = None, jobs: int | None = None,
          cell_timeout: float = 60.0, memory_mb: int = 4096) -> list[Row]:  # fmt: skip
    """Grade every submission (in parallel) into the CSV ``out`` and one feedback file per
    student in ``<out stem>_feedback/``. Returns the rows."""
    paths = [Path(p) for p in submissions]
    missing = [str(p) for p in paths if not p.is_file()]
    if missing:
        raise FileNotFoundError(f"no such submission file(s): {', '.join(missing)}")
    chapter = chapter or assignment_chapter(paths)
    exercises = exercises_of(chapter)
    if not exercises:
        raise ValueError(f"chapter {chapter} has no graded exercises")
    jobs = jobs or os.cpu_count() or 1
    with ThreadPoolExecutor(max_workers=jobs) as pool:
        rows = list(pool.map(lambda p: grade_one(p, chapter, cell_timeout, memory_mb), paths))
    seen: Counter[str] = Counter()
    for r in rows:  # two 'alice.ipynb' in different folders: alice, alice-2
        seen[r.student] += 1
        if seen[r.student] > 1:
            r.student = f"{r.student}-{seen[r.student]}"
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    with out.open("w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(["student", "file", "status", *[ex.id for ex in exercises], "total", "max"])
        max_total = sum(ex.points for ex in exercises)
        for r in rows:
            w.writerow([r.student, r.file, r.status, *[f"{r.points[ex.id]:g}" for ex in exercises],
                        f"{r.total:g}", max_total])  # fmt: skip
    feedback = out.with_name(out.stem + "_feedback")
    feedback.mkdir(exist_ok=True)
    for r in rows:
        (feedback / f"{r.student}.txt").write_text(feedback_text(r, chapter), encoding="utf-8")
    return rows


def _child_main(argv: list[str]) -> None:
    notebook, result, lang, cell_timeout, *ids = argv
    outcome = run_one(Path(notebook), ids, lang, float(cell_timeout))
    Path(result).write_text(json.dumps(outcome), encoding="utf-8")


if __name__ == "__main__":  # the child process of _run_in_child
    _child_main(sys.argv[1:])
