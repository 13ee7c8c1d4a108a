"""The ``llmbook`` command: course-maintenance tasks for authors and instructors."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path


def _make_exercises(args: argparse.Namespace) -> int:
    from llmbook.notebooks import sync_exercises

    changed = sync_exercises(Path(args.root), check_only=args.check)
    for path in changed:
        print(("out of date: " if args.check else "wrote ") + str(path))
    if args.check and changed:
        print("run `llmbook make-exercises` and commit the result", file=sys.stderr)
        return 1
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="llmbook", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser(
        "make-exercises",
        help="regenerate exercises/ from solutions/ (solution code replaced by stubs)",
    )
    p.add_argument("--root", default=".", help="the course repository (default: here)")
    p.add_argument("--check", action="store_true", help="only report what is out of date")
    p.set_defaults(run=_make_exercises)
    args = parser.parse_args(argv)
    return args.run(args)


if __name__ == "__main__":
    raise SystemExit(main())
