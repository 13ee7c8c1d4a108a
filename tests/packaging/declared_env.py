"""A site folder with only the distributions some requirements declare, for install tests.

Installing llmbook's dependencies into a fresh environment needs the network and minutes; linking
the development environment's whole site-packages hides a dependency we forgot to declare. This
links, from the development environment, exactly the distributions that the requirements need,
followed through each distribution's own ``Requires-Dist`` (markers and extras honoured): a module
that llmbook imports but does not declare is missing there, as it would be after ``pip install``.
"""

from __future__ import annotations

import json
import re
import subprocess
import sysconfig
import venv
from importlib.metadata import PackageNotFoundError, distribution
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parents[2]
SITE = Path(sysconfig.get_paths()["purelib"])
DEAD_PROXY = "http://127.0.0.1:9"  # any attempt to reach the network fails at once
# What a learner's environment holds: llmbook with the extras its chapters use, and a kernel.
LEARNER = ["llmbook[hf]", "ipykernel"]


def closure(requirements: list[str]) -> dict[str, object]:
    """Every distribution the requirements need, by canonical name (``llmbook`` excluded: the
    tests install it themselves)."""
    found: dict[str, object] = {}
    todo = [(Requirement(r), frozenset()) for r in requirements]
    seen: set[tuple[str, frozenset[str]]] = set()
    while todo:
        req, parent_extras = todo.pop()
        if req.marker and not any(req.marker.evaluate({"extra": e}) for e in parent_extras or {""}):
            continue
        name = canonicalize_name(req.name)
        key = (name, frozenset(req.extras))
        if key in seen:
            continue
        seen.add(key)
        try:
            dist = distribution(req.name)
        except PackageNotFoundError as err:
            raise AssertionError(f"{req} is required but not installed here") from err
        if name != "llmbook":
            found[name] = dist
        todo += [(Requirement(r), frozenset(req.extras)) for r in dist.requires or []]
    return found


def link_site(requirements: list[str], target: Path) -> list[str]:
    """Link the closure's files (top-level packages, modules and ``.dist-info``) into ``target``;
    returns the distribution names."""
    target.mkdir(parents=True, exist_ok=True)
    dists = closure(requirements)
    for dist in dists.values():
        for file in dist.files or []:
            top = Path(file).parts[0]
            source = SITE / top
            if top == ".." or not source.exists() or (target / top).exists():
                continue
            (target / top).symlink_to(source)
    return sorted(dists)


def learner_venv(tmp_path: Path, requirements: list[str] = LEARNER) -> tuple[Path, dict[str, str]]:
    """A fresh venv (no llmbook yet) whose site sees exactly the distributions ``requirements``
    need, and an offline environment to run it in: ``(python, env)``."""
    env_dir = tmp_path / "venv"
    venv.create(env_dir, with_pip=False)
    python = env_dir / "bin" / "python"
    fresh_site = subprocess.run(
        [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        check=True, capture_output=True, text=True,
    ).stdout.strip()  # fmt: skip
    link_site(requirements, tmp_path / "declared")
    (Path(fresh_site) / "deps.pth").write_text(str(tmp_path / "declared") + "\n")
    env = {"PATH": f"{env_dir / 'bin'}:/usr/bin:/bin", "HOME": str(tmp_path),
           "LLMBOOK_DEVICE": "cpu", "http_proxy": DEAD_PROXY, "https_proxy": DEAD_PROXY,
           "HTTP_PROXY": DEAD_PROXY, "HTTPS_PROXY": DEAD_PROXY,
           "MPLCONFIGDIR": str(tmp_path / "mpl")}  # fmt: skip
    return python, env


def chapter_imports() -> list[str]:
    """The top-level modules that chapter, exercise and solution notebooks import."""
    found = set()
    for path in [*ROOT.glob("chapters/*/*.ipynb"), *ROOT.glob("solutions/*/*.ipynb")]:
        for cell in json.loads(path.read_text(encoding="utf-8"))["cells"]:
            if cell["cell_type"] == "code":
                source = "".join(cell["source"])
                found |= set(re.findall(r"^\s*(?:from|import)\s+(\w+)", source, re.M))
    return sorted(found - {"google"})  # google.colab: only in Colab, behind a check
