"""Build the two-language site into ``_build/html``: ``ko/``, ``en/`` and a bilingual landing page.

Jupyter Book 1 has one interface language per build, so each language is built on its own (its
own search index, its own 'previous/next' texts) from the shared ``_config.yml`` and its part of
``_toc.yml``; both builds share one execution cache, emptied whenever the package, its shipped
data and models or the pinned versions change (jupyter-cache alone keys on a notebook's code).
Every page links to its twin through ``book/templates/twin-link.html``; the launch buttons open
the notebooks in the repository that ``llmbook.notebooks.REPOSITORY`` names.

The site works offline: MathJax, RequireJS and the widget manager, which Jupyter Book loads from
CDNs by default, are installed from the npm registry once (``_build/vendor``, like ``.venv`` for
Python packages) and served from the site's own ``_vendor/`` folder; Korean search uses
``book/korean_search.py``. ``book/page_scripts.py`` keeps each inline script once per page and
``book/widget-setup.js`` lets the widget manager find its files and MathJax 3. The landing page is
``index.md`` in ``book/landing.html``, with the course map drawn by ``book/course_map.py``. The
playground's files (``_playground/``: the shipped models, the tokenizer and the page's code, see
:mod:`llmbook.web_export`) are exported into the site whenever the models or that code change.

Usage: ``python book/build.py`` (from anywhere; ``--lang ko`` builds one language,
``--no-execute`` renders notebooks without running them, ``--build-dir DIR`` builds into
``DIR/html`` instead of ``_build/html``).
"""

from __future__ import annotations

import argparse
import copy
import fcntl
import fnmatch
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
from collections.abc import Sequence
from pathlib import Path

import yaml
from markdown_it import MarkdownIt

from llmbook import playground, web_export
from llmbook.notebooks import REPOSITORY

sys.path.insert(0, str(Path(__file__).resolve().parent))
from course_map import course_map_figure  # noqa: E402  (book/ is not a package)

ROOT = Path(__file__).resolve().parents[1]
BUILD = ROOT / "_build"
LANGS = ("ko", "en")
TITLES = {"ko": "LLM 밑바닥부터 만들기", "en": "Building an LLM from Scratch"}
VENDOR = BUILD / "vendor"
# npm packages the pages load, pinned, with the files the site needs from each (the rest of each
# package is left out). Served from _vendor/, outside _static/: Jupyter Book adds every .js and .css
# under _static/ to every page.
VENDORED = {
    "mathjax": ("mathjax@3.2.2", ["LICENSE", "es5/tex-chtml.js", "es5/input/tex/extensions/*",
                                  "es5/output/chtml/fonts/woff-v2/*", "es5/ui/*", "es5/a11y/*"]),
    "requirejs": ("requirejs@2.3.8", ["require.js"]),
    "html-manager": ("@jupyter-widgets/html-manager@1.0.15",
                     ["dist/embed-amd.js", "dist/*.woff", "dist/*.woff2"]),
}  # fmt: skip


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


def vendor_assets(vendor: Path = VENDOR) -> Path:
    """The folder holding ``_vendor/``: the pinned npm packages' files, fetched with ``npm pack``
    on first use (the network is needed only then) and kept for later builds.

    A fetch goes into a temporary folder that replaces the current one only once every package is
    in, so a failed fetch (registry unreachable) leaves a complete earlier copy as it was. A lock
    keeps concurrent builds of one working tree from fetching over each other.
    """
    site = vendor / "site"
    stamp = vendor / "installed.json"
    wanted = json.loads(json.dumps(VENDORED))  # as the stamp reads back: lists, not tuples
    vendor.mkdir(parents=True, exist_ok=True)
    with open(vendor / ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if site.is_dir() and stamp.is_file() and json.loads(stamp.read_text()) == wanted:
            return site
        if shutil.which("npm") is None:
            raise SystemExit(
                "book/build.py needs npm (Node.js) once, to fetch MathJax, RequireJS and the widget "
                "manager into _build/vendor: install it (Debian/Ubuntu: apt-get install npm; macOS: "
                "brew install node; or https://nodejs.org) and build again"
            )
        with tempfile.TemporaryDirectory(dir=vendor) as tmp:
            fresh = Path(tmp) / "site"
            for name, (spec, patterns) in VENDORED.items():
                packed = subprocess.run(
                    ["npm", "pack", "--json", "--pack-destination", tmp, spec],
                    capture_output=True, text=True,
                )  # fmt: skip
                if packed.returncode != 0:
                    raise SystemExit(f"npm pack {spec} failed (is the npm registry reachable?); "
                                     f"{site} is left as it was:\n{packed.stderr}")  # fmt: skip
                tarball = Path(tmp) / json.loads(packed.stdout)[0]["filename"]
                with tarfile.open(tarball) as tar:
                    for member in tar.getmembers():
                        path = member.name.removeprefix("package/")
                        if member.isfile() and any(fnmatch.fnmatch(path, p) for p in patterns):
                            target = fresh / "_vendor" / name / path
                            target.parent.mkdir(parents=True, exist_ok=True)
                            target.write_bytes(tar.extractfile(member).read())
            stamp.unlink(missing_ok=True)
            if site.exists():
                site.rename(Path(tmp) / "old")  # removed with the temporary folder
            fresh.rename(site)
            stamp.write_text(json.dumps(wanted))
    return site


def language_config(config: dict, lang: str, execute: bool = True) -> dict:
    """The shared configuration with this language's interface, title and absolute paths."""
    cfg = copy.deepcopy(config)
    cfg["title"] = TITLES[lang]
    cfg["execute"]["cache"] = str(BUILD / ".jupyter_cache")  # shared by both builds
    cfg["repository"]["url"] = REPOSITORY  # the launch buttons open the notebooks there
    if not execute:
        cfg["execute"]["execute_notebooks"] = "off"
    cfg.setdefault("sphinx", {})["local_extensions"] = {
        name: str(ROOT / "book") for name in ("korean_search", "page_scripts")
    }
    sphinx = cfg["sphinx"].setdefault("config", {})
    sphinx["language"] = lang
    sphinx["templates_path"] = [str(ROOT / "book" / "templates")]
    sphinx["html_static_path"] = [str(ROOT / "book" / "static")]
    sphinx["html_css_files"] = ["llmbook.css"]
    # Without an icon, browsers ask for /favicon.ico, which the site does not have: a 404.
    sphinx["html_favicon"] = str(ROOT / "book" / "favicon.svg")
    # pydata-sphinx-theme logs "Got invalid theme mode" on every first visit without a default.
    sphinx["html_context"] = {"default_mode": "auto"}
    # Relative paths are taken from _static/; the vendored files sit beside it, in _vendor/.
    sphinx["html_extra_path"] = [str(vendor_assets())]
    sphinx["mathjax_path"] = "../_vendor/mathjax/es5/tex-chtml.js"
    # In this order on the page: RequireJS; book/widget-setup.js (where the manager's files are,
    # MathJax 3 for the widgets' labels); the manager, which calls RequireJS's define() as it loads.
    setup = (ROOT / "book" / "widget-setup.js").read_text(encoding="utf-8")
    sphinx["nb_ipywidgets_js"] = {
        "../_vendor/requirejs/require.js": {},
        "": {"body": setup},
        "../_vendor/html-manager/dist/embed-amd.js": {},
    }
    return cfg


def build_language(lang: str, config: dict, toc: dict, build: Path = BUILD,
                   execute: bool = True) -> Path:  # fmt: skip
    """Run Jupyter Book for one language (warnings are errors); returns its HTML folder."""
    work = build / "config" / lang
    work.mkdir(parents=True, exist_ok=True)
    (work / "_config.yml").write_text(
        # Keys in their order: myst-nb writes nb_ipywidgets_js's scripts in the order given.
        yaml.safe_dump(language_config(config, lang, execute), allow_unicode=True, sort_keys=False),
        encoding="utf-8",
    )
    (work / "_toc.yml").write_text(
        yaml.safe_dump(language_toc(toc, lang), allow_unicode=True), encoding="utf-8"
    )
    out = build / lang
    cmd = [
        str(Path(sys.executable).parent / "jupyter-book"), "build", str(ROOT),
        "--config", str(work / "_config.yml"), "--toc", str(work / "_toc.yml"),
        "--path-output", str(out), "-W", "-n", "--keep-going",
    ]  # fmt: skip
    # The chapters' playground cells show the browser version (a frame) when this is set.
    env = {**os.environ, playground.SITE_ENV: "1"}
    if subprocess.run(cmd, cwd=ROOT, env=env).returncode != 0:
        # Sphinx would treat the failed pages as up to date next time and publish them as they
        # are: remove this language's build, so the next one starts afresh.
        shutil.rmtree(out, ignore_errors=True)
        raise SystemExit(f"the {lang} book failed to build: see the warnings above")
    return out / "_build" / "html"


def cache_key() -> str:
    """What executed outputs depend on besides a notebook's own code: the package, its shipped
    data and models, and the pinned versions. jupyter-cache keys on the notebook alone."""
    digest = hashlib.sha256()
    files = [*sorted((ROOT / "llmbook").rglob("*")), ROOT / "requirements.txt"]
    for path in files:
        if path.is_file() and "__pycache__" not in path.parts:
            digest.update(path.relative_to(ROOT).as_posix().encode() + b"\0")
            digest.update(path.read_bytes())
    return digest.hexdigest()


def fresh_cache(cache: Path = BUILD / ".jupyter_cache", builds: Sequence[Path] = ()) -> None:
    """Empty the execution cache when the package, its data or the pins changed since it was
    filled, so no page shows outputs that the current package would not print; remove the
    language ``builds`` then too, or Sphinx would keep the pages of every notebook whose own
    text did not change, with their old outputs, without running them again."""
    stamp = cache.with_name(cache.name + ".key")
    key = cache_key()
    if not stamp.is_file() or stamp.read_text() != key:
        for folder in (cache, *builds):
            shutil.rmtree(folder, ignore_errors=True)
        stamp.parent.mkdir(parents=True, exist_ok=True)
        stamp.write_text(key)


def export_playground(site: Path, build: Path = BUILD) -> None:
    """``site/_playground/``: the browser playground, exported again (into ``build``, then
    copied) only when the models, the tokenizer or the playground's code changed."""
    folder, stamp = build / "playground", build / "playground.key"
    key = web_export.export_key()
    if not (folder.is_dir() and stamp.is_file() and stamp.read_text() == key):
        shutil.rmtree(folder, ignore_errors=True)
        web_export.export(folder)
        stamp.write_text(key)
    shutil.rmtree(site / "_playground", ignore_errors=True)
    shutil.copytree(folder, site / "_playground")


def write_landing(site: Path) -> None:
    """``_build/html/index.html``: the bilingual landing page, rendered from ``index.md``, with
    the course map drawn by ``book/course_map.py`` where ``<!-- course-map LANG -->`` stands."""
    body = (
        MarkdownIt("commonmark", {"html": True})
        .enable("table")
        .render((ROOT / "index.md").read_text(encoding="utf-8"))
    )
    for lang in LANGS:
        body = body.replace(f"<!-- course-map {lang} -->", course_map_figure(lang))
    template = (ROOT / "book" / "landing.html").read_text(encoding="utf-8")
    (site / "index.html").write_text(template.replace("{{ body }}", body), encoding="utf-8")
    shutil.copyfile(ROOT / "book" / "favicon.svg", site / "favicon.svg")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lang", choices=LANGS, nargs="*", default=list(LANGS))
    parser.add_argument(
        "--no-execute",
        dest="execute",
        action="store_false",
        help="render notebooks as stored, without running them (quick)",
    )
    parser.add_argument(
        "--build-dir",
        type=Path,
        default=BUILD,
        help="where the builds go; the site is BUILD_DIR/html (default: _build)",
    )
    args = parser.parse_args(argv)
    config = yaml.safe_load((ROOT / "_config.yml").read_text(encoding="utf-8"))
    toc = yaml.safe_load((ROOT / "_toc.yml").read_text(encoding="utf-8"))
    build = args.build_dir.resolve()
    site = build / "html"
    site.mkdir(parents=True, exist_ok=True)
    if args.execute:
        fresh_cache(builds=[build / lang for lang in LANGS])
    for lang in args.lang:
        html = build_language(lang, config, toc, build, args.execute)
        shutil.rmtree(site / lang, ignore_errors=True)
        shutil.copytree(html, site / lang)
    export_playground(site, build)
    write_landing(site)
    print(f"site: {site / 'index.html'}")


if __name__ == "__main__":
    main()
