"""Notebook tooling: exercise notebooks generated from solutions, and the twin comparison.

``solutions/LANG/NN_slug.ipynb`` is the source. Code between ``### BEGIN SOLUTION`` and
``### END SOLUTION`` is replaced by a stub in ``exercises/LANG/NN_slug.ipynb``, so the two can
never drift. Grade cells (``check("NN.K")``) get nbgrader-compatible metadata from the registry.
"""

from __future__ import annotations

import ast
import copy
import re
from pathlib import Path

import nbformat

from llmbook.exercises import get

BEGIN, END = "### BEGIN SOLUTION", "### END SOLUTION"
YOUR_CODE = {"ko": "# 여기에 코드를 작성하세요", "en": "# YOUR CODE HERE"}
CHECK_CALL = re.compile(r"""^\s*check\(\s*["'](\d\d\.\d+)["']\s*\)\s*$""", re.M)
NBGRADER_SCHEMA = 3
REPOSITORY = "https://github.com/llmbook/llmbook"

# The first code cell of every chapter and exercise notebook: installs llmbook in Colab only.
_INSTALL = (
    'import sys\n\nif "google.colab" in sys.modules:\n'
    f'    %pip install -q "llmbook @ git+{REPOSITORY}"'
)
COLAB_CELL = {
    "ko": "# Colab에서 실행할 때만 llmbook을 설치합니다. 다른 곳에서는 아무 일도 하지 않습니다.\n"
    + _INSTALL,
    "en": "# Installs llmbook when this runs in Colab; does nothing anywhere else.\n" + _INSTALL,
}


def language_of(path: Path) -> str:
    """'ko' or 'en', from the notebook's folder (chapters/ko/..., solutions/en/...)."""
    lang = Path(path).parent.name
    if lang not in ("ko", "en"):
        raise ValueError(f"{path}: a notebook must live in a 'ko' or 'en' folder")
    return lang


def _stub(block: list[str], indent: str, lang: str) -> list[str]:
    """What replaces a solution block: the 'your code here' comment, then either
    ``raise NotImplementedError()`` (inside a function) or ``name = ...`` for each top-level
    name the solution assigned (so 'Run all' goes on and the check reports 'not written yet')."""
    lines = [indent + YOUR_CODE[lang]]
    if indent:
        return [*lines, indent + "raise NotImplementedError()"]
    names: list[str] = []
    for node in ast.parse("\n".join(block)).body:
        targets = node.targets if isinstance(node, ast.Assign) else []
        if isinstance(node, (ast.AnnAssign, ast.AugAssign)):
            targets = [node.target]
        if isinstance(node, (ast.FunctionDef, ast.ClassDef)):
            names.append(node.name)
        names += [t.id for t in targets if isinstance(t, ast.Name) and t.id not in names]
    return [*lines, *(f"{n} = ..." for n in names)]


def strip_solution(source: str, lang: str) -> str:
    """The exercise version of a solution cell's source."""
    out: list[str] = []
    block: list[str] | None = None
    indent = ""
    for line in source.split("\n"):
        marker = line.strip()
        if marker == BEGIN:
            if block is not None:
                raise ValueError(f"nested {BEGIN!r} in:\n{source}")
            block, indent = [], line[: len(line) - len(line.lstrip())]
        elif marker == END:
            if block is None:
                raise ValueError(f"{END!r} without {BEGIN!r} in:\n{source}")
            out += _stub([b[len(indent) :] for b in block], indent, lang)
            block = None
        elif block is not None:
            block.append(line)
        else:
            out.append(line)
    if block is not None:
        raise ValueError(f"{BEGIN!r} without {END!r} in:\n{source}")
    return "\n".join(out)


def _nbgrader(**fields) -> dict:
    return {"schema_version": NBGRADER_SCHEMA, "grade": False, "solution": False,
            "locked": False, **fields}  # fmt: skip


def with_grading_metadata(nb: nbformat.NotebookNode, chapter: str, lang: str) -> nbformat.NotebookNode:
    """A copy of a solution notebook whose answer and check cells carry nbgrader metadata
    (``grade_id``, ``points`` from the registry), so an instructor's tools find them, and whose
    notebook metadata names its chapter and language (for ``llmbook grade``)."""
    nb = copy.deepcopy(nb)
    nb.metadata["llmbook"] = {"chapter": chapter, "lang": lang}
    answers = 0
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        ids = CHECK_CALL.findall(cell.source)
        if len(ids) > 1:
            raise ValueError(f"one check per cell, found {ids} in:\n{cell.source}")
        if ids:
            ex = get(ids[0])
            cell.metadata["nbgrader"] = _nbgrader(
                grade=True, locked=True, grade_id=ex.grade_id, points=ex.points
            )
            cell.metadata["llmbook"] = {"exercise": ex.id}
        elif BEGIN in cell.source:
            answers += 1
            cell.metadata["nbgrader"] = _nbgrader(solution=True, grade_id=f"answer_{answers}")
    return nb


def make_exercise(solution: nbformat.NotebookNode, chapter: str, lang: str) -> nbformat.NotebookNode:
    """The learner's notebook: solutions stubbed, outputs cleared, grading metadata kept."""
    nb = with_grading_metadata(solution, chapter, lang)
    for cell in nb.cells:
        if cell.cell_type == "code":
            cell.outputs, cell.execution_count = [], None
            if BEGIN in cell.source:
                cell.source = strip_solution(cell.source, lang)
    return nb


def sync_exercises(root: Path, check_only: bool = False) -> list[Path]:
    """Bring solution metadata and the generated exercises up to date; returns the files that
    were (or, with ``check_only``, would be) written."""
    changed = []
    for sol_path in sorted(Path(root).glob("solutions/*/*.ipynb")):
        lang, chapter = language_of(sol_path), sol_path.name[:2]
        solution = nbformat.read(sol_path, as_version=4)
        targets = {
            sol_path: with_grading_metadata(solution, chapter, lang),
            Path(root) / "exercises" / lang / sol_path.name: make_exercise(solution, chapter, lang),
        }
        for path, nb in targets.items():
            text = nbformat.writes(nb) + "\n"
            if not path.exists() or path.read_text(encoding="utf-8") != text:
                changed.append(path)
                if not check_only:
                    path.parent.mkdir(parents=True, exist_ok=True)
                    path.write_text(text, encoding="utf-8")
    return changed


# --- twins ------------------------------------------------------------------------------------


class _BlankStrings(ast.NodeTransformer):
    """Replace every string literal by one placeholder: strings are translated between twins."""

    def visit_Constant(self, node: ast.Constant) -> ast.AST:
        return ast.Constant("…") if isinstance(node.value, str) else node

    def visit_JoinedStr(self, node: ast.JoinedStr) -> ast.AST:
        return ast.Constant("…")


def code_signature(source: str) -> str:
    """A cell's code with comments and string literals set aside: twins must have equal ones.
    IPython magics (``%pip``) are turned into Python first, as IPython runs them."""
    from IPython.core.inputtransformer2 import TransformerManager

    python = TransformerManager().transform_cell(source)
    tree = _BlankStrings().visit(ast.parse(python))
    return ast.dump(tree, annotate_fields=False)


def code_cells(path: Path) -> list[str]:
    """The sources of a notebook's code cells, in order."""
    nb = nbformat.read(path, as_version=4)
    return [c.source for c in nb.cells if c.cell_type == "code"]


# --- prose size, for authors (issue: at least 2,500 English words per chapter 2-9) ------------

_CODE = re.compile(r"^(```|~~~).*?^\1", re.M | re.S)
_MATH = re.compile(r"\$\$.*?\$\$", re.S)
_HANGUL = re.compile(r"[\uac00-\ud7a3]")


def prose(path: Path) -> str:
    """A notebook's markdown, without code blocks and display math."""
    nb = nbformat.read(path, as_version=4)
    text = "\n\n".join(c.source for c in nb.cells if c.cell_type == "markdown")
    return _MATH.sub(" ", _CODE.sub(" ", text))


def word_counts(root: Path) -> list[dict[str, object]]:
    """Per chapter: English words, Korean 어절 (space-separated words with Hangul) and Hangul
    syllables of the markdown, and whether the chapter ends with self-check questions."""
    rows = []
    for en in sorted((Path(root) / "chapters" / "en").glob("[0-9][0-9]_*.ipynb")):
        if en.stem.startswith("00"):
            continue
        ko = en.parents[1] / "ko" / en.name
        en_text, ko_text = prose(en), prose(ko) if ko.is_file() else ""
        rows.append({
            "chapter": en.stem,
            "en_words": len(re.findall(r"[A-Za-z][A-Za-z'’-]*", en_text)),
            "ko_eojeol": sum(1 for w in ko_text.split() if _HANGUL.search(w)),
            "ko_syllables": len(_HANGUL.findall(ko_text)),
            "self_check": "<details>" in en_text and "<details>" in ko_text,
        })  # fmt: skip
    return rows
