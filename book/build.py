"""Build the two-language site into ``_build/html``: ``ko/``, ``en/`` and a bilingual landing page.

Jupyter Book 1 has one interface language per build, so each language is built on its own (its
own search index, its own 'previous/next' texts) from the shared ``_config.yml`` and its part of
``_toc.yml``; both builds share one execution cache. Every page links to its twin through
``book/templates/twin-link.html``.

Usage: ``python book/build.py`` (from anywhere; ``--lang ko`` builds one language).
"""

from __future__ import annotations

import argparse
import copy
import shutil
import subprocess
import sys
from pathlib import Path

import yaml
from markdown_it import MarkdownIt

ROOT = Path(__file__).resolve().parents[1]
BUILD = ROOT / "_build"
LANGS = ("ko", "en")
TITLES = {"ko": "LLM 밑바닥부터 만들기", "en": "Building an LLM from Scratch"}


def part_language(part: dict) -> str:
    """A part's language: the language folder its files live in (all of them must agree)."""
    langs = {Path(ch["file"]).parent.name for ch in part["chapters"]}
    if len(langs) != 1 or not langs <= set(LANGS):
        raise ValueError(f"_toc.yml part {part.get('caption')!r} mixes languages: {sorted(langs)}")
    return langs.pop()


def language_toc(toc: dict, lang: str) -> dict:
    """The table of contents of one language: its parts, rooted at ``chapters/LANG/index``."""
    root = f"chapters/{lang}/index"
    parts = []
    for part in toc["parts"]:
        if part_language(part) != lang:
            continue
        chapters = [ch for ch in part["chapters"] if ch["file"] != root]
        if chapters:
            parts.append({**part, "chapters": chapters})
    return {"format": toc["format"], "root": root, "parts": parts}


def language_config(config: dict, lang: str) -> dict:
    """The shared configuration with this language's interface, title and absolute paths."""
    cfg = copy.deepcopy(config)
    cfg["title"] = TITLES[lang]
    cfg["execute"]["cache"] = str(BUILD / ".jupyter_cache")  # shared by both builds
    sphinx = cfg.setdefault("sphinx", {}).setdefault("config", {})
    sphinx["language"] = lang
    sphinx["templates_path"] = [str(ROOT / "book" / "templates")]
    sphinx["html_static_path"] = [str(ROOT / "book" / "static")]
    sphinx["html_css_files"] = ["llmbook.css"]
    return cfg


def build_language(lang: str, config: dict, toc: dict) -> Path:
    """Run Jupyter Book for one language (warnings are errors); returns its HTML folder."""
    work = BUILD / "config" / lang
    work.mkdir(parents=True, exist_ok=True)
    (work / "_config.yml").write_text(
        yaml.safe_dump(language_config(config, lang), allow_unicode=True), encoding="utf-8"
    )
    (work / "_toc.yml").write_text(
        yaml.safe_dump(language_toc(toc, lang), allow_unicode=True), encoding="utf-8"
    )
    out = BUILD / lang
    cmd = [
        str(Path(sys.executable).parent / "jupyter-book"), "build", str(ROOT),
        "--config", str(work / "_config.yml"), "--toc", str(work / "_toc.yml"),
        "--path-output", str(out), "-W", "-n", "--keep-going",
    ]  # fmt: skip
    subprocess.run(cmd, check=True, cwd=ROOT)
    return out / "_build" / "html"


def write_landing(site: Path) -> None:
    """``_build/html/index.html``: the bilingual landing page, rendered from ``index.md``."""
    body = MarkdownIt("commonmark", {"html": True}).render(
        (ROOT / "index.md").read_text(encoding="utf-8")
    )
    template = (ROOT / "book" / "landing.html").read_text(encoding="utf-8")
    (site / "index.html").write_text(template.replace("{{ body }}", body), encoding="utf-8")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lang", choices=LANGS, nargs="*", default=list(LANGS))
    args = parser.parse_args(argv)
    config = yaml.safe_load((ROOT / "_config.yml").read_text(encoding="utf-8"))
    toc = yaml.safe_load((ROOT / "_toc.yml").read_text(encoding="utf-8"))
    site = BUILD / "html"
    site.mkdir(parents=True, exist_ok=True)
    for lang in args.lang:
        html = build_language(lang, config, toc)
        shutil.rmtree(site / lang, ignore_errors=True)
        shutil.copytree(html, site / lang)
    write_landing(site)
    print(f"site: {site / 'index.html'}")


if __name__ == "__main__":
    main()
