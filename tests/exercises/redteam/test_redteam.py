"""Red team: a student who wants points without work, or wants to harm the grading machine.

Every submission below is graded once, together (``llmbook grade`` with two jobs). A cheat on
unsolved work must score 0; a harmful action must leave the machine unchanged (checked); an
honest answer beside a bad one keeps its points.
"""

from __future__ import annotations

import hashlib
import os
import socket
import threading
import time
from pathlib import Path

import nbformat
import pytest

from llmbook.exercises import exercises_of
from llmbook.grading import grade
from llmbook.sandbox import bwrap_works

ROOT = Path(__file__).resolve().parents[3]
MARKER = "llmbook-redteam-orphan-7f3a"
POINTS3 = {ex.id: ex.points for ex in exercises_of("03")}

# Cheats added to the *unsolved* chapter 3 notebook: each must still score 0.
CHEATS3 = {
    "patch_run_check": """
import llmbook.exercises as E, llmbook.exercises.core as C
def forged(id, ns, lang="en", *a, **k):
    return C.Verdict(id, True, C.get(id).points, C.get(id).points, "", lang)
C.run_check = E.run_check = forged
""",
    "replace_registry": """
import llmbook.exercises.core as C
for k, ex in list(C.REGISTRY.items()):
    C.REGISTRY[k] = C.Exercise(k, ex.names, ex.points, ex.title, lambda *a: None)
C.call = lambda fn, *a, **k: None
""",
    "read_solutions": """
import glob, json, os
for path in glob.glob("{root}/solutions/*/03_*.ipynb") + glob.glob("/**/solutions/*/03_*.ipynb", recursive=True):
    for cell in json.load(open(path))["cells"]:
        if cell["cell_type"] == "code" and "BEGIN SOLUTION" in "".join(cell["source"]):
            exec("".join(cell["source"]))
""",
    "forge_and_kill": """
import glob, json, os, signal
for d in glob.glob("/tmp/*") + glob.glob("/tmp/*/*"):
    try:
        open(d + ".result.json", "w").write(json.dumps({{"status": "graded", "verdicts": [["03.1", 9, ""]]}}))
    except OSError:
        pass
for pid in (os.getppid(), 1):
    try:
        os.kill(pid, signal.SIGKILL)
    except OSError:
        pass
""",
    "always_equal": """
class Yes:
    def __eq__(self, other): return True
    def __ne__(self, other): return False
    def __iter__(self): return iter([])
    def __len__(self): return 0
class YesDict(dict):
    def __eq__(self, other): return True
count_pairs = lambda ids: YesDict()
apply_merge = lambda ids, pair, new_id: Yes()
encode_with_merges = lambda s, merges: Yes()
sliding_windows = lambda ids, n, s: Yes()
""",
    "forge_protocol": """
import json, os, struct
def count_pairs(ids):
    for fd in range(3, 64):
        for msg in ({{"ok": {{"$": "dict", "v": []}}}}, {{"ended": 0}}):
            data = json.dumps(msg).encode()
            try:
                os.write(fd, struct.pack(">I", len(data)) + data)
            except OSError:
                pass
    return {{}}
""",
}

# Harmful actions added to the *solved* chapter 3 notebook (as a cell and inside an answer):
# the machine must stay unchanged, and the other answers keep their points.
HARM = """
import os, shutil, socket, subprocess
def attempt(f):
    try:
        f()
    except BaseException:
        pass
attempt(lambda: os.remove("{victim}"))
attempt(lambda: os.symlink("{victim}", "link") or open("link", "w").write("pwned"))
attempt(lambda: open("{feedback}/alice.txt", "w").write("10/10"))
attempt(lambda: open("{package}/grading.py", "a").write("# pwned"))
attempt(lambda: shutil.rmtree("{outside}"))
attempt(lambda: socket.create_connection(("127.0.0.1", {port}), timeout=1).sendall(b"leak"))
attempt(lambda: subprocess.Popen(["/bin/sh", "-c", "sleep 300; echo {marker}"]))
def spawn():
    if os.fork() == 0:
        os.setsid()
        os.execv("/bin/sh", ["/bin/sh", "-c", "sleep 300; echo {marker}"])
attempt(spawn)
"""

# One bad answer in an otherwise solved notebook: only that exercise is lost. (03.3's solution
# calls 03.2's apply_merge, so a bad apply_merge would rightly cost both: it is left alone.)
BAD_ANSWER = {
    "sys_exit": ("03.1", "import sys\ndef count_pairs(ids):\n    sys.exit()"),
    "os_exit": ("03.1", "import os\ndef count_pairs(ids):\n    os._exit(3)"),
    "bare_except_loop": ("03.4", """
def sliding_windows(ids, n, s):
    while True:
        try:
            while True:
                pass
        except:
            pass
"""),
    "ignores_sigint": ("03.1", """
import signal
def count_pairs(ids):
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGALRM, signal.SIG_IGN)
    while True:
        pass
"""),
    "memory_blowup": ("03.3", "def encode_with_merges(s, merges):\n    x = [bytearray(10**9) for _ in range(100)]"),
    "memory_at_once": ("03.3", "def encode_with_merges(s, merges):\n    return 'x' * 10**11"),
    "harmful_answer": ("03.4", "def sliding_windows(ids, n, s):\n{harm}\n    return []"),
}


def add_cell(src: Path, dst: Path, code: str) -> Path:
    nb = nbformat.read(src, as_version=4)
    nb.cells.append(nbformat.v4.new_code_cell(code))
    nbformat.write(nb, dst)
    return dst


def machine_state(paths: list[Path]) -> dict:
    """Hashes of files a submission must not touch."""
    return {str(p): hashlib.sha256(p.read_bytes()).hexdigest() if p.is_file() else None for p in paths}


def orphans() -> list[int]:
    found = []
    for pid in os.listdir("/proc"):
        try:
            cmd = Path(f"/proc/{pid}/cmdline").read_bytes()
        except OSError:
            continue
        if MARKER.encode() in cmd:
            found.append(int(pid))
    return found


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    d = tmp_path_factory.mktemp("redteam")
    outside = d / "outside"
    outside.mkdir()
    victim = outside / "precious.txt"
    victim.write_text("keep me")
    out = d / "out" / "grades.csv"
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen()
    server.settimeout(0.2)
    received: list[bytes] = []
    stop = threading.Event()

    def listen() -> None:
        while not stop.is_set():
            try:
                conn, _ = server.accept()
                received.append(conn.recv(100))
            except OSError:
                continue

    threading.Thread(target=listen, daemon=True).start()
    fields = dict(root=ROOT, victim=victim, feedback=out.with_name("grades_feedback"),
                  package=ROOT / "llmbook", outside=outside, port=server.getsockname()[1],
                  marker=MARKER)  # fmt: skip
    solved, unsolved = ROOT / "solutions/en/03_tokenization.ipynb", ROOT / "exercises/en/03_tokenization.ipynb"
    subs = {name: add_cell(unsolved, d / f"{name}.ipynb", code.format(**fields)) for name, code in CHEATS3.items()}
    subs["harm_cell"] = add_cell(solved, d / "harm_cell.ipynb", HARM.format(**fields))
    harm_in_answer = "\n".join("    " + line for line in HARM.format(**fields).splitlines())
    for name, (_, code) in BAD_ANSWER.items():
        subs[name] = add_cell(solved, d / f"{name}.ipynb", code.format(harm=harm_in_answer))
    subs["alice"] = add_cell(solved, d / "alice.ipynb", "")  # honest, graded beside the others
    guarded = [victim, *sorted((ROOT / "llmbook").glob("*.py")), *subs.values()]
    before = machine_state(guarded)
    start = time.monotonic()
    rows = grade(list(subs.values()), out, chapter="03", jobs=2, cell_timeout=20)
    seconds = time.monotonic() - start
    time.sleep(0.5)
    stop.set()
    after = machine_state(guarded)
    left = orphans()
    for pid in left:  # do not leave them behind even when the test fails
        os.kill(pid, 9)
    return {"rows": {r.student: r for r in rows}, "before": before, "after": after, "orphans": left,
            "received": received, "seconds": seconds, "out": out, "victim": victim}  # fmt: skip


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(CHEATS3))
def test_every_cheat_on_unsolved_work_scores_zero(graded, name):
    if name == "read_solutions" and not bwrap_works():
        pytest.skip("without bubblewrap only the audit hook hides the solutions")
    row = graded["rows"][name]
    assert row.total == 0, (row.status, row.statuses)


@pytest.mark.slow
def test_harmful_actions_leave_the_machine_unchanged(graded):
    assert graded["after"] == graded["before"], "a file outside the sandbox changed"
    assert graded["victim"].read_text() == "keep me"
    assert graded["received"] == [], "a submission reached the network"
    assert graded["orphans"] == [], "a submission's process outlived its grading"
    feedback = sorted(p.name for p in graded["out"].with_name("grades_feedback").iterdir())
    assert feedback == sorted(f"{s}.txt" for s in graded["rows"])
    assert "10/10" not in (graded["out"].with_name("grades_feedback") / "alice.txt").read_text()


@pytest.mark.slow
def test_harm_in_a_cell_costs_nothing_and_is_reported(graded):
    row = graded["rows"]["harm_cell"]
    assert row.total == sum(POINTS3.values())
    assert "sandbox refused" in row.status


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(BAD_ANSWER))
def test_one_bad_answer_costs_one_exercise(graded, name):
    row = graded["rows"][name]
    bad = BAD_ANSWER[name][0]
    assert row.points[bad] == 0
    assert row.total == sum(POINTS3.values()) - POINTS3[bad], (row.status, row.statuses)
    expected = {"sys_exit": {"crashed"}, "os_exit": {"crashed"}, "bare_except_loop": {"timed out"},
                "ignores_sigint": {"timed out"}, "memory_at_once": {"crashed"},
                # filling 4 GB page by page may outlast the 10 s on a loaded machine
                "memory_blowup": {"crashed", "timed out"},
                "harmful_answer": {"sandbox violation"}}  # fmt: skip
    assert row.statuses[bad] in expected[name]


@pytest.mark.slow
def test_the_honest_student_and_the_run_time(graded):
    assert graded["rows"]["alice"].total == sum(POINTS3.values())
    # 15 notebooks, two of them hitting a 10 s limit, on 2 jobs: bounded, not minutes per notebook
    assert graded["seconds"] < 240
