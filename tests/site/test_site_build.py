"""``book/build.py`` without a browser: the vendored assets and the execution settings."""

import importlib.util
import json
import logging
import stat
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]


def _book_build_module():
    spec = importlib.util.spec_from_file_location("book_build_site", ROOT / "book" / "build.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


build = _book_build_module()


def installed_vendor(folder: Path, stamp: object) -> Path:
    """A vendor folder as a finished fetch leaves it, with the given stamp."""
    asset = folder / "site" / "_vendor" / "requirejs" / "require.js"
    asset.parent.mkdir(parents=True)
    asset.write_text("/* require.js */")
    (folder / "installed.json").write_text(json.dumps(stamp))
    return asset


def no_npm(monkeypatch, tmp_path: Path, script: str | None = None) -> None:
    """PATH without npm, or with an ``npm`` that runs ``script`` (a registry that fails)."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    if script is not None:
        npm = bin_dir / "npm"
        npm.write_text(f"#!/bin/sh\n{script}\n")
        npm.chmod(npm.stat().st_mode | stat.S_IEXEC)
    monkeypatch.setenv("PATH", str(bin_dir))


def test_present_assets_are_used_without_npm_or_the_network(tmp_path, monkeypatch):
    """The stamp as JSON reads it back (lists) matches the pins (tuples): no fetch, no npm."""
    asset = installed_vendor(tmp_path / "vendor", build.VENDORED)
    no_npm(monkeypatch, tmp_path)
    assert build.vendor_assets(tmp_path / "vendor") == tmp_path / "vendor" / "site"
    assert asset.read_text() == "/* require.js */"


def test_a_failed_fetch_keeps_the_earlier_assets(tmp_path, monkeypatch):
    """New pins and an unreachable registry: the build stops, the complete old copy stays."""
    asset = installed_vendor(tmp_path / "vendor", {"requirejs": ["requirejs@0.0.1", ["x"]]})
    no_npm(monkeypatch, tmp_path, "echo 'npm ERR! network unreachable' >&2; exit 1")
    with pytest.raises(SystemExit, match=r"npm pack .* failed .*left as it was"):
        build.vendor_assets(tmp_path / "vendor")
    assert asset.read_text() == "/* require.js */"
    assert sorted(p.name for p in (tmp_path / "vendor").iterdir()) == [
        ".lock", "installed.json", "site"]  # fmt: skip


def test_a_first_build_without_npm_says_what_to_install(tmp_path, monkeypatch):
    no_npm(monkeypatch, tmp_path)
    with pytest.raises(SystemExit, match=r"needs npm .*apt-get install npm"):
        build.vendor_assets(tmp_path / "vendor")
    assert not (tmp_path / "vendor" / "site").exists()


def test_exercise_notebooks_are_not_executed():
    """myst-nb matches ``execute.exclude_patterns`` against a notebook's absolute path from the
    right (``PurePosixPath.match``), so ``exercises/*`` matched nothing and the unsolved exercises
    were run. Asked as the build asks: every exercise is left as it is, every chapter is run."""
    import nbformat
    from myst_nb.core.config import NbParserConfig
    from myst_nb.core.execute import NotebookClientBase, NotebookClientDirect, create_client

    config = yaml.safe_load((ROOT / "_config.yml").read_text(encoding="utf-8"))
    nb_config = NbParserConfig(
        execution_mode="force", execution_excludepatterns=config["execute"]["exclude_patterns"]
    )
    exercises = sorted(ROOT.glob("exercises/*/*.ipynb"))
    chapters = sorted(ROOT.glob("chapters/*/0[1-9]_*.ipynb"))
    assert len(exercises) >= 18 and len(chapters) >= 18

    def client(path: Path) -> type:
        notebook = nbformat.read(path, as_version=4)
        return type(create_client(notebook, str(path), nb_config, logging.getLogger("test")))

    assert {path.relative_to(ROOT).as_posix(): client(path) for path in exercises} == {
        path.relative_to(ROOT).as_posix(): NotebookClientBase for path in exercises}  # fmt: skip
    assert {path.relative_to(ROOT).as_posix(): client(path) for path in chapters} == {
        path.relative_to(ROOT).as_posix(): NotebookClientDirect for path in chapters}  # fmt: skip
