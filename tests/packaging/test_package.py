"""The package installs as a wheel into a fresh virtual environment and works offline, with
only the dependencies it declares: every llmbook module and everything a chapter imports."""

import json
import subprocess
import sys
from pathlib import Path

import pytest
from declared_env import LEARNER, chapter_imports, learner_venv, link_site

ROOT = Path(__file__).resolve().parents[2]

SMOKE = """
import importlib, json, pathlib, pkgutil, sys
import llmbook
from llmbook import corpus, plotting
from llmbook.exercises import exercises_of
assert pathlib.Path(llmbook.__file__).is_relative_to(sys.prefix), llmbook.__file__
assert len(corpus.load("ko")) > 50_000 and corpus.split("en")[1]
assert plotting.korean_font_files()
assert exercises_of("01")
tools = {"llmbook.cli", "llmbook.grading", "llmbook.notebooks", "llmbook.sandbox"}  # [instructor]
modules = [m.name for m in pkgutil.walk_packages(llmbook.__path__, "llmbook.")
           if m.name not in tools and not m.name.startswith("llmbook.recipes")]
for name in modules + json.loads(sys.argv[1]):
    importlib.import_module(name)
print("ok", llmbook.__version__, len(modules))
"""


def test_the_declared_closure_leaves_out_what_llmbook_does_not_declare(tmp_path):
    """The install tests can see a missing dependency: test tools are not in a learner's site."""
    names = link_site(LEARNER, tmp_path / "site")
    assert {"torch", "tiktoken", "transformers", "ipykernel"} <= set(names)
    assert not {"pytest", "nbval", "jupyter-book", "playwright"} & set(names)
    assert not (tmp_path / "site" / "pytest").exists()


@pytest.mark.slow
def test_wheel_installs_in_a_fresh_venv_and_imports_offline(tmp_path):
    dist = tmp_path / "dist"
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "--no-build-isolation",
         "--wheel-dir", str(dist), str(ROOT)],
        check=True, capture_output=True,
    )  # fmt: skip
    (wheel,) = dist.glob("llmbook-*.whl")
    python, env = learner_venv(tmp_path)
    subprocess.run(
        [sys.executable, "-m", "pip", "--python", str(python), "install", "--quiet", "--no-deps",
         "--no-index", str(wheel)],
        check=True, capture_output=True,
    )  # fmt: skip
    out = subprocess.run([str(python), "-c", SMOKE, json.dumps(chapter_imports())], cwd=tmp_path,
                         env=env, capture_output=True, text=True)  # fmt: skip
    assert out.returncode == 0, out.stderr
    assert out.stdout.startswith("ok 0.1.0")
