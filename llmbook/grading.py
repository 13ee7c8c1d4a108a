"""Batch grading of exercise notebooks: ``llmbook grade SUBMISSIONS... --out grades.csv``.

Each submission is read once (the original is never written to, moved or locked); its code cells
run in a sandboxed worker process (:mod:`llmbook.sandbox`) with memory and time limits, several
submissions at once. The checks run here, in the grader's process, by exercise id: they look the
learner's names up in the worker (so the score does not depend on cells a student can edit, split
or delete), call the learner's functions there with plain arguments and compare the plain results
here. Nothing the submission does to its own interpreter changes a verdict, and one bad answer
(an exit, a crash, an endless loop, a memory blow-up) costs that exercise only.
"""

from __future__ import annotations

import csv
import os
import re
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import nbformat

from llmbook.exercises import core, exercises_of
from llmbook.sandbox import Session, choose_mode

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
    statuses: dict[str, str] = field(default_factory=dict)  # per exercise: core.STATUSES
    notes: list[dict[str, str]] = field(default_factory=list)  # {"ko", "en"}: for the student

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


def notebook_deadline(n_cells: int, n_exercises: int, cell_timeout: float) -> float:
    """Seconds a whole notebook may take: every cell and every check at its limit, plus start-ups."""
    return 60 + n_cells * cell_timeout + n_exercises * (core.TIME_LIMIT_S + 5)


def grade_one(path: Path, chapter: str, cell_timeout: float, memory_mb: int, sandbox: str) -> Row:
    """Grade one submission into a :class:`Row`; every problem becomes the row's status."""
    row = Row(student_name(path), str(path))
    exercises = exercises_of(chapter)
    row.points = {ex.id: 0.0 for ex in exercises}
    row.statuses = {ex.id: "not graded" for ex in exercises}
    try:
        nb = nbformat.read(path, as_version=4)
        nbformat.validate(nb)
    except Exception as e:
        row.status = f"malformed notebook ({type(e).__name__})"
        return row
    row.lang = notebook_language(nb)
    code = [(i, c.source) for i, c in enumerate(nb.cells) if c.cell_type == "code"]
    if not any(source.strip() for _, source in code):
        row.status = "empty notebook"
        return row
    own = notebook_chapter(nb, path)
    if own != chapter:
        row.status = f"notebook of another chapter ({own or 'unknown'}), expected {chapter}"
        return row
    limit = notebook_deadline(len(code), len(exercises), cell_timeout)
    session = Session([source for _, source in code], sandbox, cell_timeout, memory_mb,
                      deadline=time.monotonic() + limit)  # fmt: skip
    try:
        for ex in exercises:
            verdict = session.check(ex, row.lang)
            row.points[ex.id], row.messages[ex.id] = verdict.points, verdict.message
            row.statuses[ex.id] = verdict.status
        out_of_time = time.monotonic() >= session.deadline
    finally:
        session.close()
    if not session.ran:
        row.status = "could not run the notebook (the sandbox did not start)"
        return row
    row.status = "graded"
    for k in session.timed_out_cells:
        row.status += f"; cell {code[k][0]} stopped after {cell_timeout:g} s"
        row.notes.append({"ko": f"{code[k][0]}번 셀이 {cell_timeout:g}초 안에 끝나지 않아 건너뛰었습니다.",
                          "en": f"cell {code[k][0]} did not finish in {cell_timeout:g} s and was skipped."})  # fmt: skip
    for k in session.died_cells:
        row.status += f"; cell {code[k][0]} ended the process and was skipped"
        row.notes.append({"ko": f"{code[k][0]}번 셀이 프로세스를 끝내서(종료, 충돌, 메모리 초과) 건너뛰었습니다.",
                          "en": f"cell {code[k][0]} ended the process (exit, crash or memory) and was skipped."})  # fmt: skip
    for what in dict.fromkeys(session.blocked):
        row.status += f"; sandbox refused: {what}"
        row.notes.append({"ko": f"샌드박스가 막은 동작: {what}", "en": f"the sandbox refused: {what}"})
    if out_of_time:
        row.status += f"; stopped after {limit:g} s in all"
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
    """The per-student feedback file, in the notebook's language; a notebook that could not be
    graded (its language perhaps unknown) gets both languages and what to do next."""
    ko = row.lang == "ko"
    lines = [f"{row.student} — {chapter}장 연습 문제" if ko else f"{row.student} — chapter {chapter} exercises"]
    if not row.status.startswith("graded"):
        advice = not_graded_advice(row.status)
        lines += [f"채점하지 못했습니다: {advice['ko']}", f"Could not grade: {advice['en']}", ""]
    lines += ["⚠ " + note[row.lang] for note in row.notes]
    for ex in exercises_of(chapter):
        got = row.points.get(ex.id, 0)
        status = row.statuses.get(ex.id, "not graded")
        head = core.HEADS[status][row.lang] if status in core.HEADS else ("채점 안 됨" if ko else "not graded")
        unit = "점" if ko else " points"
        lines.append(f"{core.MARKS[got == ex.points]} [{ex.id}] {ex.title[row.lang]}: {got:g}/{ex.points}{unit}"
                     f" ({head})")  # fmt: skip
        if row.messages.get(ex.id):
            lines.append("    " + row.messages[ex.id].replace("\n", "\n    "))
    max_total = sum(ex.points for ex in exercises_of(chapter))
    lines.append(f"합계: {row.total:g}/{max_total}점" if ko else f"Total: {row.total:g}/{max_total}")
    return "\n".join(lines) + "\n"


def not_graded_advice(status: str) -> dict[str, str]:
    """What a student whose notebook could not be graded should do next, in both languages."""
    if status.startswith("malformed"):
        return {"ko": "파일이 올바른 노트북(.ipynb)이 아닙니다. Jupyter나 Colab에서 열리는지 확인하고, 열리지 "
                      "않으면 '파일 > 다운로드 > .ipynb'로 다시 받아 제출하세요.",
                "en": "the file is not a valid notebook (.ipynb). Check that it opens in Jupyter or Colab; "
                      "if not, download it again (File > Download > .ipynb) and resubmit."}  # fmt: skip
    if status == "empty notebook":
        return {"ko": "노트북에 코드가 없습니다. 풀이를 작성하고 저장한 뒤 다시 제출하세요.",
                "en": "the notebook has no code. Write your answers, save, and resubmit."}  # fmt: skip
    if status.startswith("notebook of another chapter"):
        return {"ko": f"다른 장의 노트북입니다 ({status}). 이 과제의 노트북을 제출하세요.",
                "en": f"this is another chapter's notebook ({status}). Submit this assignment's notebook."}  # fmt: skip
    return {"ko": f"채점 환경에서 노트북을 실행하지 못했습니다 ({status}). 강사에게 알려 주세요.",
            "en": f"the grader could not run the notebook ({status}). Tell your instructor."}  # fmt: skip


def summary(rows: list[Row], seconds: float) -> str:
    """One line per run: how many were graded, scored zero, could not run, and the time taken."""
    graded = [r for r in rows if r.status.startswith("graded")]
    zero = sum(1 for r in graded if r.total == 0)
    return (f"graded {len(graded)} of {len(rows)}, {zero} with zero points, "
            f"{len(rows) - len(graded)} failed to run, in {seconds:.0f} s")  # fmt: skip


def grade(submissions: list[Path], out: Path, chapter: str | None = None, jobs: int | None = None,
          cell_timeout: float = 60.0, memory_mb: int = 4096, sandbox: str = "auto") -> list[Row]:  # fmt: skip
    """Grade every submission (in parallel) into the CSV ``out`` and one feedback file per
    student in ``<out stem>_feedback/``. ``sandbox``: "auto" (bubblewrap when it works), "bwrap"
    or "none" (see :func:`llmbook.sandbox.protection`). Returns the rows."""
    paths = [Path(p) for p in submissions]
    missing = [str(p) for p in paths if not p.is_file()]
    if missing:
        raise FileNotFoundError(f"no such submission file(s): {', '.join(missing)}")
    chapter = chapter or assignment_chapter(paths)
    exercises = exercises_of(chapter)
    if not exercises:
        raise ValueError(f"chapter {chapter} has no graded exercises")
    mode = choose_mode(sandbox)
    jobs = jobs or os.cpu_count() or 1
    with ThreadPoolExecutor(max_workers=jobs) as pool:
        rows = list(pool.map(lambda p: grade_one(p, chapter, cell_timeout, memory_mb, mode), paths))
    seen: Counter[str] = Counter()
    for r in rows:  # two 'alice.ipynb' in different folders: alice, alice-2
        seen[r.student] += 1
        if seen[r.student] > 1:
            r.student = f"{r.student}-{seen[r.student]}"
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    with out.open("w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(["student", "file", "status", *[ex.id for ex in exercises], "total", "max",
                    *[f"{ex.id} status" for ex in exercises]])  # fmt: skip
        max_total = sum(ex.points for ex in exercises)
        for r in rows:
            w.writerow([r.student, r.file, r.status, *[f"{r.points[ex.id]:g}" for ex in exercises],
                        f"{r.total:g}", max_total, *[r.statuses[ex.id] for ex in exercises]])  # fmt: skip
    feedback = out.with_name(out.stem + "_feedback")
    feedback.mkdir(exist_ok=True)
    for r in rows:
        (feedback / f"{r.student}.txt").write_text(feedback_text(r, chapter), encoding="utf-8")
    return rows
