"""Publishing, tested as far as it runs offline: the GitHub workflows run the README's commands,
the Binder configuration installs llmbook, and the Colab cell does nothing outside Colab.
(The launch links of the built pages are checked in tests/site/test_site.py, which builds the site.)"""

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from declared_env import LEARNER, chapter_imports, learner_venv

from llmbook.notebooks import COLAB_CELL, REPOSITORY

ROOT = Path(__file__).resolve().parents[2]
WORKFLOWS = ROOT / ".github" / "workflows"


def readme_commands() -> set[str]:
    """The commands in the README's shell blocks, without their comments."""
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    blocks = re.findall(r"```bash\n(.*?)```", text, re.S)
    lines = (line.split("#")[0].strip() for block in blocks for line in block.splitlines())
    return {line for line in lines if line}


def workflow(name: str) -> dict:
    data = yaml.safe_load((WORKFLOWS / name).read_text(encoding="utf-8"))
    assert isinstance(data, dict) and data.get("jobs"), f"{name}: no jobs"
    return data


def run_steps(data: dict) -> list[str]:
    return [step["run"].strip() for job in data["jobs"].values()
            for step in job.get("steps", []) if "run" in step]  # fmt: skip


def test_readme_names_the_two_commands():
    assert {"make book", "make test"} <= readme_commands()


@pytest.mark.parametrize("name, command", [("book.yml", "make book"), ("tests.yml", "make test")])
def test_workflow_runs_the_readme_command(name, command):
    data = workflow(name)
    # PyYAML reads the key `on` as True.
    assert data.get("on", data.get(True)), f"{name}: no trigger"
    steps = run_steps(data)
    assert command in steps
    # The build and the tests are the README's command and nothing else: no extra make target,
    # pytest call or build script that a reader following the README would not run.
    others = [s for s in steps if s != command]
    assert not [s for s in others if re.search(r"\bmake\b|pytest|build\.py|jupyter-book", s)]


def test_book_workflow_deploys_the_readme_site_folder():
    data = workflow("book.yml")
    steps = [s for job in data["jobs"].values() for s in job.get("steps", [])]
    upload = [
        s for s in steps if str(s.get("uses", "")).startswith("actions/upload-pages-artifact")
    ]
    assert [s["with"]["path"] for s in upload] == ["_build/html"]
    assert any(str(s.get("uses", "")).startswith("actions/deploy-pages") for s in steps)
    assert data["permissions"]["pages"] == "write"


@pytest.mark.slow
def test_binder_config_installs_llmbook_in_a_fresh_venv(tmp_path):
    """Run binder/postBuild as repo2docker does (from the repository root) with a fresh venv's
    python first on PATH. Offline, pip installs only llmbook; the venv sees just the packages a
    learner's install declares (linked from ours), and the index options of postBuild are
    overridden by PIP_NO_INDEX. Every module the chapters import must then import."""
    python, env = learner_venv(tmp_path, [*LEARNER, "pip", "setuptools"])  # Binder's image has pip
    env.update({"PIP_NO_INDEX": "1", "PIP_NO_DEPS": "1",
                "PIP_NO_BUILD_ISOLATION": "0"})  # pip's inverted flag: --no-build-isolation
    post_build = ROOT / "binder" / "postBuild"
    assert os.access(post_build, os.X_OK), "binder/postBuild must be executable"
    assert (ROOT / "binder" / "runtime.txt").read_text().strip().startswith("python-3.")
    done = subprocess.run([str(post_build)], cwd=ROOT, env=env, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    check = (
        "import importlib, json, pathlib, sys, llmbook\n"
        "from llmbook import corpus\n"
        f"for name in {chapter_imports()!r}: importlib.import_module(name)\n"
        "print(json.dumps([str(pathlib.Path(llmbook.__file__).parent), sys.prefix,"
        " len(corpus.load('ko'))]))"
    )
    out = subprocess.run([str(python), "-c", check], cwd=tmp_path, env=env,
                         capture_output=True, text=True)  # fmt: skip
    assert out.returncode == 0, out.stderr
    package, prefix, n_chars = json.loads(out.stdout)
    assert Path(package).is_relative_to(prefix), "llmbook was not installed into the new venv"
    assert n_chars > 50_000


COLAB_PROBE = """
import json, sys, types
from IPython.core.interactiveshell import InteractiveShell
from IPython.utils.capture import capture_output

shell = InteractiveShell.instance()
calls = []
shell.register_magic_function(lambda line: calls.append(line), "line", "pip")
cell = json.loads(sys.argv[1])
results = {}
for place in ("elsewhere", "colab"):
    if place == "colab":
        sys.modules["google.colab"] = types.ModuleType("google.colab")
    calls.clear()
    with capture_output() as captured:
        ok = shell.run_cell(cell).success
    results[place] = [ok, list(calls), captured.stdout, captured.stderr]
print(json.dumps(results))
"""


@pytest.mark.parametrize("lang", ["ko", "en"])
def test_colab_cell_installs_only_in_colab(lang, tmp_path):
    """Outside Colab the cell runs, installs nothing and prints nothing; in (a stand-in for)
    Colab it calls %pip install for llmbook from the repository."""
    env = {**os.environ, "HOME": str(tmp_path), "IPYTHONDIR": str(tmp_path / "ipython")}
    out = subprocess.run([sys.executable, "-c", COLAB_PROBE, json.dumps(COLAB_CELL[lang])],
                         env=env, capture_output=True, text=True)  # fmt: skip
    assert out.returncode == 0, out.stderr
    results = json.loads(out.stdout)
    assert results["elsewhere"] == [True, [], "", ""]
    ok, calls, stdout, _ = results["colab"]
    assert ok and stdout == ""
    assert calls == ['install -q "llmbook @ git+https://github.com/llmbook/llmbook"']


def _book_build_module():
    import importlib.util

    spec = importlib.util.spec_from_file_location("book_build", ROOT / "book" / "build.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_a_failed_book_build_is_not_retried_and_leaves_no_stale_pages(tmp_path, monkeypatch):
    """No retry hides a failure (the hang it covered was spinning OpenMP threads: see the
    Makefile); the failed language's pages are removed so the next build starts afresh."""
    build = _book_build_module()
    runs = []

    def fake_run(cmd, cwd, env=None):
        runs.append(cmd)
        stale = tmp_path / "en" / "_build" / "stale-page.html"
        stale.parent.mkdir(parents=True, exist_ok=True)
        stale.write_text("half-built")
        return subprocess.CompletedProcess(cmd, 1)

    monkeypatch.setattr(build.subprocess, "run", fake_run)
    monkeypatch.setattr(build, "vendor_assets", lambda: tmp_path / "vendor")
    config = yaml.safe_load((ROOT / "_config.yml").read_text(encoding="utf-8"))
    toc = yaml.safe_load((ROOT / "_toc.yml").read_text(encoding="utf-8"))
    with pytest.raises(SystemExit, match="en book failed to build"):
        build.build_language("en", config, toc, tmp_path)
    assert len(runs) == 1 and not (tmp_path / "en").exists()


def test_the_execution_cache_is_emptied_when_the_package_changes(tmp_path, monkeypatch):
    """Executed outputs depend on llmbook and its shipped models, not only on a notebook's code:
    a changed package empties the cache and the language builds (whose Sphinx environment
    would otherwise keep unchanged notebooks' pages as they were)."""
    build = _book_build_module()
    cache = tmp_path / ".jupyter_cache"
    cache.mkdir()
    (cache / "entry").write_text("outputs")
    build.fresh_cache(cache)  # no key yet: emptied
    assert not cache.exists()
    cache.mkdir()
    (cache / "entry").write_text("outputs")
    build.fresh_cache(cache)  # same package: kept
    assert (cache / "entry").exists()
    pages = tmp_path / "ko" / "_build" / "html" / "chapters"  # a language build from before
    pages.mkdir(parents=True)
    build.fresh_cache(cache, builds=[tmp_path / "ko"])  # same package: kept
    assert pages.exists()
    monkeypatch.setattr(build, "cache_key", lambda: "another package")
    build.fresh_cache(cache, builds=[tmp_path / "ko"])  # changed package: emptied, pages too
    assert not cache.exists() and not (tmp_path / "ko").exists()


def test_one_address_names_where_llmbook_installs_from():
    """The Colab cell, the launch buttons, the package metadata and the README agree."""
    import tomllib

    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    assert project["urls"]["Repository"] == REPOSITORY
    build = _book_build_module()
    config = yaml.safe_load((ROOT / "_config.yml").read_text(encoding="utf-8"))
    assert "url" not in config["repository"]  # one place: book/build.py sets it
    assert build.language_config(config, "en", execute=False)["repository"]["url"] == REPOSITORY
    assert f"git+{REPOSITORY}" in COLAB_CELL["ko"] and f"git+{REPOSITORY}" in COLAB_CELL["en"]
    for page in ("README.md", "index.md"):
        text = (ROOT / page).read_text(encoding="utf-8")
        repos = set(re.findall(r"(?:github\.com|/gh|/github)/([\w.-]+/[\w.-]+)", text))
        assert repos <= {REPOSITORY.removeprefix("https://github.com/")}, (page, repos)
