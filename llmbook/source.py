"""The package's own code, shown in a chapter where it is taught.

``show(llmbook.gpt.Block)`` displays the source of a class, function or method as it is in the
installed package (read from its file when the cell runs, so the code a reader sees is the code
that runs and can never drift from it), highlighted in Jupyter, Colab and on the site alike.
"""

from __future__ import annotations

import inspect
import textwrap
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]  # the folder that holds the llmbook package


class Source:
    """The source of one object: shown as a highlighted code block (``text/markdown``), or as
    plain text where no renderer understands Markdown."""

    def __init__(self, obj: object):
        target = inspect.unwrap(obj)
        try:
            lines, first = inspect.getsourcelines(target)
        except (OSError, TypeError) as err:
            raise TypeError(f"show() needs a class, function or method of llmbook, "
                            f"got {obj!r}") from err  # fmt: skip
        module = inspect.getmodule(target)
        if module is None or not module.__name__.startswith("llmbook"):
            raise TypeError(f"show() displays llmbook's own code; {obj!r} comes from "
                            f"{getattr(module, '__name__', 'nowhere')}")  # fmt: skip
        self.code = textwrap.dedent("".join(lines)).rstrip("\n")
        self.name = getattr(target, "__qualname__", getattr(target, "__name__", repr(target)))
        path = Path(inspect.getfile(target)).resolve()
        self.path = path.relative_to(ROOT).as_posix() if path.is_relative_to(ROOT) else path.name
        self.lines = (first, first + len(lines) - 1)

    def caption(self) -> str:
        return f"{self.path}, lines {self.lines[0]}–{self.lines[1]}: {self.name}"

    def _repr_markdown_(self) -> str:
        fence = "`" * max(3, 1 + max((len(run) for run in _backtick_runs(self.code)), default=0))
        return f"`{self.caption()}`\n\n{fence}python\n{self.code}\n{fence}\n"

    def __repr__(self) -> str:
        return f"# {self.caption()}\n{self.code}"


def _backtick_runs(text: str) -> list[str]:
    runs, current = [], ""
    for ch in text:
        if ch == "`":
            current += ch
        elif current:
            runs.append(current)
            current = ""
    return [*runs, current] if current else runs


def show(obj: object) -> Source:
    """Display the package's source of ``obj`` (a class, function or method of llmbook)."""
    return Source(obj)
