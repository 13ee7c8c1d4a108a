"""The package installs as a wheel into a fresh virtual environment and works offline."""

import subprocess
import sys
import sysconfig
import venv
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DEAD_PROXY = "http://127.0.0.1:9"  # any attempt to reach the network fails at once

SMOKE = """
import pathlib, sys
import llmbook
from llmbook import corpus, plotting
from llmbook.exercises import exercises_of
assert pathlib.Path(llmbook.__file__).is_relative_to(sys.prefix), llmbook.__file__
assert len(corpus.load("ko")) > 50_000 and corpus.split("en")[1]
assert plotting.korean_font_files()
assert exercises_of("01")
print("ok", llmbook.__version__)
"""


@pytest.mark.slow
def test_wheel_installs_in_a_fresh_venv_and_imports_offline(tmp_path):
    dist = tmp_path / "dist"
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "--no-build-isolation",
         "--wheel-dir", str(dist), str(ROOT)],
        check=True, capture_output=True,
    )  # fmt: skip
    (wheel,) = dist.glob("llmbook-*.whl")
    env_dir = tmp_path / "venv"
    venv.create(env_dir, with_pip=False)
    python = env_dir / "bin" / "python"
    subprocess.run(
        [sys.executable, "-m", "pip", "--python", str(python), "install", "--quiet", "--no-deps",
         "--no-index", str(wheel)],
        check=True, capture_output=True,
    )  # fmt: skip
    # The fresh venv takes llmbook from the wheel and only its dependencies from ours.
    fresh_site = subprocess.run(
        [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        check=True, capture_output=True, text=True,
    ).stdout.strip()  # fmt: skip
    (Path(fresh_site) / "deps.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    env = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path), "LLMBOOK_DEVICE": "cpu",
           "http_proxy": DEAD_PROXY, "https_proxy": DEAD_PROXY, "HTTP_PROXY": DEAD_PROXY,
           "HTTPS_PROXY": DEAD_PROXY, "MPLCONFIGDIR": str(tmp_path / "mpl")}  # fmt: skip
    out = subprocess.run([str(python), "-c", SMOKE], cwd=tmp_path, env=env,
                         capture_output=True, text=True)  # fmt: skip
    assert out.returncode == 0, out.stderr
    assert out.stdout.startswith("ok 0.1.0")
