"""The ``llmbook`` command: course-maintenance tasks for authors and instructors."""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from llmbook.recipes.build import ARTIFACTS, build

# The instructors' tools need what `pip install "llmbook[instructor]"` brings (nbformat, ...);
# without it the command still starts and says what to install.
try:
    from llmbook.grading import grade, summary
    from llmbook.notebooks import sync_exercises, word_counts
    from llmbook.sandbox import choose_mode, protection
except ModuleNotFoundError as err:
    MISSING: ModuleNotFoundError | None = err
else:
    MISSING = None


def _make_exercises(args: argparse.Namespace) -> int:
    changed = sync_exercises(Path(args.root), check_only=args.check)
    for path in changed:
        print(("out of date: " if args.check else "wrote ") + str(path))
    if args.check and changed:
        print("run `llmbook make-exercises` and commit the result", file=sys.stderr)
        return 1
    return 0


def _words(args: argparse.Namespace) -> int:
    rows = word_counts(Path(args.root))
    print(f"{'chapter':<18} {'en words':>9} {'ko 어절':>8} {'ko 음절':>8}  self-check")
    for r in rows:
        print(f"{r['chapter']:<18} {r['en_words']:>9,} {r['ko_eojeol']:>8,} {r['ko_syllables']:>8,}"
              f"  {'yes' if r['self_check'] else 'no'}")  # fmt: skip
    return 0


def _grade(args: argparse.Namespace) -> int:
    try:
        mode = choose_mode(args.sandbox)
    except RuntimeError as e:
        print(f"llmbook grade: {e}", file=sys.stderr)
        return 2
    print(protection(mode), file=sys.stderr if mode == "none" else sys.stdout)
    start = time.monotonic()
    rows = grade(args.submissions, args.out, chapter=args.chapter, jobs=args.jobs,
                 cell_timeout=args.cell_timeout, memory_mb=args.memory_mb, sandbox=mode)  # fmt: skip
    for r in rows:
        print(f"{r.student}: {r.total:g} ({r.status})")
    print(f"wrote {args.out} and {Path(args.out).stem}_feedback/")
    print(summary(rows, time.monotonic() - start))
    return 0


def _build(args: argparse.Namespace) -> int:
    shared = [*(["--out", args.out] if args.out else []), *(["--device", args.device] if args.device else []),
              *(["--seed", str(args.seed)] if args.seed is not None else []), *(["--quiet"] if args.quiet else [])]  # fmt: skip
    try:
        return build(args.artifacts, shared, args.steps, args.dry_run, args.inputs)
    except ValueError as e:
        print(f"llmbook build: {e}", file=sys.stderr)
        return 2


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="llmbook", description=__doc__.replace("``", ""))
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser(
        "make-exercises",
        help="regenerate exercises/ from solutions/ (solution code replaced by stubs)",
    )
    p.add_argument("--root", default=".", help="the course repository (default: here)")
    p.add_argument("--check", action="store_true", help="only report what is out of date")
    p.set_defaults(run=_make_exercises, instructor=True)
    p = sub.add_parser("words", help="print each chapter's prose size (English words, Korean 어절)")
    p.add_argument("--root", default=".", help="the course repository (default: here)")
    p.set_defaults(run=_words, instructor=True)
    p = sub.add_parser(
        "grade",
        help="grade students' exercise notebooks into a CSV",
        description="Grade students' exercise notebooks into a CSV and one feedback file per "
        "student. Each notebook runs in a sandbox (bubblewrap on Linux); the checks run outside it.",
    )
    p.add_argument("submissions", nargs="+", type=Path, help="the students' .ipynb files")
    p.add_argument("--out", type=Path, default=Path("grades.csv"), help="the grade sheet (default: %(default)s)")
    p.add_argument("--chapter", help="the assignment's chapter, e.g. 01 (default: inferred)")
    p.add_argument("--jobs", type=int, default=None, help="notebooks at once (default: cores)")
    p.add_argument("--cell-timeout", type=float, default=60.0, help="seconds per cell (default: %(default)g)")
    p.add_argument("--memory-mb", type=int, default=4096, help="memory limit per notebook, in MB (default: %(default)d)")
    p.add_argument("--sandbox", choices=("auto", "bwrap", "none"), default="auto",
                   help="auto: bubblewrap when it works, else none with a warning (default: %(default)s)")  # fmt: skip
    p.set_defaults(run=_grade, instructor=True)
    p = sub.add_parser(
        "build",
        help="rebuild shipped artifacts (corpus, tokenizer, models) in dependency order",
        description="Run the recipes that make the shipped files, in dependency order: "
        + " -> ".join(ARTIFACTS) + ". Model recipes write through llmbook.store.",
    )
    p.add_argument("artifacts", nargs="+", metavar="ARTIFACT", help=f"all, or some of: {', '.join(ARTIFACTS)}")
    p.add_argument("--dry-run", action="store_true", help="print the order and each command, run nothing")
    p.add_argument("--out", help="model folder to write to and read parents from (default: the shipped models)")
    p.add_argument("--device", help="cpu, cuda, ... (default: the best available)")
    p.add_argument("--seed", type=int, help="seed of every model recipe (default: each recipe's, 0)")
    p.add_argument("--steps", type=int, help="optimizer steps of every model recipe (default: the shipped runs')")
    p.add_argument("--quiet", action="store_true", help="no progress bars")
    p.add_argument("--inputs", default="runs/corpus-inputs", help="where the corpus recipe downloads its inputs")
    p.set_defaults(run=_build, instructor=False)
    args = parser.parse_args(argv)
    if MISSING is not None and args.instructor:
        print(f"llmbook {args.command} needs the instructors' tools ({MISSING.name} is missing): "
              'pip install "llmbook[instructor]"', file=sys.stderr)  # fmt: skip
        return 2
    return args.run(args)


if __name__ == "__main__":
    raise SystemExit(main())
