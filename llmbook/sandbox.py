"""The batch grader's sandbox: a student's notebook runs in a separate, confined process; the
checks, their inputs and the reference answers stay in the grader's process.

Grader side, :class:`Session`: starts the worker (:mod:`llmbook.sandbox_worker`) inside
bubblewrap when the machine has it (no network, a private working folder and home, read-only
system and Python, no view of the course repository or of other processes), with memory, file
size and wall-clock limits, and kills the whole sandbox at a limit. It sends the notebook's code
cells, then, per exercise, asks for the learner's names and calls the learner's functions with
plain arguments (:mod:`llmbook.exercises.plain`). Only plain data comes back, decoded and
type-checked here, so nothing the submission does to its own interpreter decides a verdict.

The worker's side, and what it guards, is :mod:`llmbook.sandbox_worker`;
the messages between the two are :mod:`llmbook.sandbox_channel`. :func:`protection` says what
the sandbox protects on this machine.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

from llmbook.exercises import core
from llmbook.exercises.plain import NotPlain, decode
from llmbook.sandbox_channel import Dead, Late, encode_arg, recv, send
from llmbook.sandbox_worker import package_dir, python_roots

FILE_SIZE_MB = 256  # largest file the sandbox may write
START_TIMEOUT_S = 60.0  # the worker's start (imports) and each exercise's set-up
ETC = ("/etc/fonts", "/etc/ld.so.cache", "/etc/localtime", "/etc/alternatives", "/etc/ssl/certs")


# --- what the sandbox protects, per machine ---------------------------------------------------


@lru_cache(maxsize=1)
def bwrap_works() -> bool:
    """Whether bubblewrap is installed and can create its namespaces here."""
    exe = shutil.which("bwrap")
    if not exe:
        return False
    try:
        done = subprocess.run([exe, "--unshare-all", "--die-with-parent", "--ro-bind", "/", "/", "true"],
                              capture_output=True, timeout=20)  # fmt: skip
    except (OSError, subprocess.TimeoutExpired):
        return False
    return done.returncode == 0


def protection(mode: str) -> str:
    """One line for the instructor: what the sandbox of ``mode`` ("bwrap"/"none") protects."""
    if mode == "bwrap":
        return ("sandbox: bubblewrap (no network; private working folder and home; system, Python "
                "and llmbook read-only; course repository, grader and other processes hidden; "
                "memory, file-size and time limits)")  # fmt: skip
    return ("WARNING: bubblewrap is not available, submissions run UNCONFINED apart from memory, "
            "file-size and time limits and an audit hook that native code can bypass: they can "
            "read your files, reach the network and leave processes behind. Install it "
            "(Debian/Ubuntu: apt-get install -y bubblewrap) or grade in a throwaway VM.")  # fmt: skip


def choose_mode(wanted: str) -> str:
    """``"auto"``: bubblewrap when it works, else none; ``"bwrap"`` fails clearly without it."""
    if wanted not in ("auto", "bwrap", "none"):
        raise ValueError(f"sandbox must be auto, bwrap or none, got {wanted!r}")
    if wanted == "auto":
        return "bwrap" if bwrap_works() else "none"
    if wanted == "bwrap" and not bwrap_works():
        raise RuntimeError("bubblewrap (bwrap) is not installed or cannot create namespaces here; "
                           "install it (apt-get install -y bubblewrap) or pass --sandbox none")  # fmt: skip
    return wanted


def _bwrap_prefix(workdir: Path) -> list[str]:
    """bubblewrap's arguments: everything read-only but ``workdir``; the course repository
    (where an editable install lives) shows only the package."""
    package = package_dir()
    repo = package.parent
    # A private /tmp first: the mounts after it stay visible even where Python, the package or
    # the working folder live under /tmp (a clone in /tmp, a temporary grading folder).
    args = ["bwrap", "--unshare-all", "--die-with-parent", "--new-session", "--cap-drop", "ALL",
            "--proc", "/proc", "--dev", "/dev", "--bind", str(workdir / "tmp"), "/tmp"]  # fmt: skip
    for path in ("/usr", "/bin", "/sbin", "/lib", "/lib32", "/lib64", *ETC):
        args += ["--ro-bind-try", path, path]
    for root in python_roots(repo):
        args += ["--ro-bind", str(root), str(root)]
    args += ["--ro-bind", str(package), str(package),
             "--bind", str(workdir), str(workdir), "--chdir", str(workdir)]  # fmt: skip
    return args


# --- the grader's side ------------------------------------------------------------------------


@dataclass
class Session:
    """One submission's sandbox: the notebook's cells, run once, then the exercises checked one
    by one. A time-out or a dead worker restarts it (the offending cell skipped)."""

    cells: list[str]
    mode: str
    cell_timeout: float
    memory_mb: int
    deadline: float  # time.monotonic() after which nothing more is run
    timed_out_cells: list[int] = field(default_factory=list)
    died_cells: list[int] = field(default_factory=list)
    blocked: list[str] = field(default_factory=list)  # what the notebook's cells tried
    proc: subprocess.Popen | None = None
    ran: bool = False  # the notebook's cells have run at least once

    def __post_init__(self) -> None:
        self.workdir = Path(tempfile.mkdtemp(prefix="llmbook-sandbox-"))
        self._to = self._from = -1
        self._call_deadline = 0.0
        self._child = False  # an exercise's child process is serving calls

    # process management

    def _spawn(self) -> None:
        shutil.rmtree(self.workdir, ignore_errors=True)
        (self.workdir / "tmp").mkdir(parents=True)
        req_r, req_w = os.pipe()
        res_r, res_w = os.pipe()
        memory, fsize = self.memory_mb * 1024 * 1024, FILE_SIZE_MB * 1024 * 1024

        def limits() -> None:
            import resource

            resource.setrlimit(resource.RLIMIT_AS, (memory, memory))
            resource.setrlimit(resource.RLIMIT_FSIZE, (fsize, fsize))
            resource.setrlimit(resource.RLIMIT_CORE, (0, 0))

        env = {"PATH": "/usr/bin:/bin", "HOME": str(self.workdir), "TMPDIR": str(self.workdir / "tmp"),
               "LANG": "C.UTF-8", "LLMBOOK_GRADING_SANDBOX": "1", "LLMBOOK_DEVICE": "cpu",
               "LLMBOOK_STRICT_CHECKS": "0", "MPLBACKEND": "Agg", "OMP_NUM_THREADS": "1",
               "PYTHONDONTWRITEBYTECODE": "1", "PYTHONNOUSERSITE": "1"}  # fmt: skip
        prefix = _bwrap_prefix(self.workdir) if self.mode == "bwrap" else []
        cmd = [*prefix, sys.executable, "-m", "llmbook.sandbox_worker", str(self.workdir)]
        self.proc = subprocess.Popen(cmd, stdin=req_r, stdout=res_w, stderr=subprocess.DEVNULL, env=env,
                                     cwd=self.workdir, preexec_fn=limits, start_new_session=True)  # fmt: skip
        os.close(req_r)
        os.close(res_w)
        self._to, self._from = req_w, res_r

    def kill(self) -> None:
        """Kill the worker's whole process group (with bubblewrap: its whole pid namespace)."""
        if self.proc is not None:
            try:
                os.killpg(self.proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            self.proc.wait()
            self.proc = None
            for fd in (self._to, self._from):
                os.close(fd)

    def close(self) -> None:
        """Kill the worker and remove its working folder."""
        self.kill()
        shutil.rmtree(self.workdir, ignore_errors=True)

    @property
    def alive(self) -> bool:
        return self.proc is not None

    def _send(self, message: dict) -> None:
        try:
            send(self._to, message)
        except OSError:
            raise Dead from None

    def _recv(self, seconds: float) -> dict:
        return recv(self._from, min(time.monotonic() + seconds, self.deadline))

    # running the notebook

    def start(self) -> None:
        """Start the worker and run the notebook's cells, skipping those that timed out or ended
        the process before. Raises :class:`Late` when the notebook's time is up."""
        while True:
            if time.monotonic() >= self.deadline:
                raise Late
            self._spawn()
            current = None
            try:
                self._recv(START_TIMEOUT_S)  # ready
                skip = set(self.timed_out_cells) | set(self.died_cells)
                self._send({"op": "run", "cells": self.cells, "skip": sorted(skip)})
                while True:
                    msg = self._recv(self.cell_timeout if current is not None else START_TIMEOUT_S)
                    if "cell" in msg:
                        current = int(msg["cell"])
                    elif "done" in msg:
                        current = None
                        self.blocked += [str(b)[:200] for b in msg.get("blocked", [])][:5]
                    elif "ran" in msg:
                        self.ran = True
                        return
            except Late:
                self.kill()
                if current is None or time.monotonic() >= self.deadline:
                    raise
                self.timed_out_cells.append(current)
            except (Dead, NotPlain):
                self.kill()
                if current is None:
                    raise Dead from None
                self.died_cells.append(current)

    # grading one exercise

    def check(self, ex: core.Exercise, lang: str) -> core.Verdict:
        """Exercise ``ex``'s verdict: its check runs here, the learner's code in the sandbox."""
        try:
            if not self.alive:
                self.start()
            self._send({"op": "begin", "names": list(ex.names)})
            described = self._recv(START_TIMEOUT_S).get("names")
        except (Late, Dead, NotPlain):
            self.kill()
            return self._verdict(ex, lang, core.Fail("노트북을 실행할 수 없었습니다.",
                                                     "the notebook could not be run.", "crashed"))  # fmt: skip
        namespace: dict[str, Any] = {}
        for name in ex.names:
            info = described.get(name) if type(described) is dict else None
            kind = info.get("kind") if type(info) is dict else None
            if kind == "callable":
                namespace[name] = core.Remote(name, self._invoke)
            elif kind == "unset":
                namespace[name] = None
            elif kind == "value":
                try:
                    namespace[name] = decode(info.get("value"))
                except NotPlain as e:
                    return self._verdict(ex, lang, core.not_plain(name, str(e)))
            elif kind == "unreadable":
                return self._verdict(ex, lang, core.not_plain(name, str(info.get("type"))[:80]))
        self._call_deadline = time.monotonic() + core.TIME_LIMIT_S
        self._child = True
        verdict = core.run_check(ex.id, namespace, lang, sandboxed=True)
        if self.alive and self._child:
            try:
                self._send({"op": "end"})
                self._recv(5.0)
            except (Late, Dead, NotPlain):
                self.kill()
        return verdict

    @staticmethod
    def _verdict(ex: core.Exercise, lang: str, fail: core.Fail) -> core.Verdict:
        return core.Verdict(ex.id, False, 0, ex.points, fail.text[lang], lang, fail.status)

    def _invoke(self, name: str, args: tuple) -> Any:
        """Call the learner's ``name`` in the sandbox: the plain result, or a :class:`Fail`."""
        if not (self.alive and self._child):
            raise _crashed(name)
        try:
            self._send({"op": "call", "name": name, "args": [encode_arg(a) for a in args]})
            reply = self._recv(max(0.0, self._call_deadline - time.monotonic()))
        except Late:
            self.kill()
            raise core.timed_out(core.TIME_LIMIT_S) from None
        except (Dead, NotPlain):
            self.kill()
            raise _crashed(name) from None
        if "ok" in reply:
            try:
                return decode(reply["ok"])
            except NotPlain as e:
                raise core.not_plain(name, str(e)) from None
        if "violation" in reply:
            what = str(reply["violation"])[:120]
            raise core.Fail(f"`{name}`이(가) 샌드박스 밖을 건드리려 했습니다: {what}",
                            f"`{name}` tried to reach outside the sandbox: {what}",
                            "sandbox violation")  # fmt: skip
        if "raised" in reply and type(reply["raised"]) is list and len(reply["raised"]) == 2:
            kind, text = (str(x)[:300] for x in reply["raised"])
            known = {"SystemExit": SystemExit, "MemoryError": MemoryError,
                     "NotImplementedError": NotImplementedError}  # fmt: skip
            error = known[kind](text) if kind in known else type(kind, (Exception,), {})(text)
            raise core.raised(name, error)
        if "unreadable" in reply:
            raise core.not_plain(name, str(reply["unreadable"])[:80])
        self._child = False  # "ended": the exercise's process died during the call
        raise _crashed(name)


def _crashed(name: str) -> core.Fail:
    return core.Fail(f"`{name}`을(를) 실행하던 프로세스가 죽었습니다 (종료, 충돌 또는 메모리 초과).",
                     f"the process running `{name}` died (it exited, crashed or ran out of memory).",
                     "crashed")  # fmt: skip


