"""The sandbox's worker, ``python -m llmbook.sandbox_worker <folder>``: runs a student's notebook
inside the sandbox the grader (:class:`llmbook.sandbox.Session`) started.

It runs the cells with IPython (magics work), then forks one child per exercise, so an answer
that exits, crashes or runs out of memory loses that exercise only and leaves the notebook's
state intact for the next. An audit hook (:class:`Guard`) refuses writes outside the working
folder, network use, new processes and signals: with bubblewrap it names the violation (the
sandbox already prevents it); without it, it is the only guard and native code can get past it.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any

import llmbook
from llmbook.exercises.plain import NotPlain, encode
from llmbook.sandbox_channel import decode_arg, recv, send


def package_dir() -> Path:
    """The installed ``llmbook`` package's folder."""
    return Path(llmbook.__file__).resolve().parent


def python_roots(repo: Path) -> list[Path]:
    """The folders Python and its packages live in, the course repository itself left out
    (a virtual environment inside it is kept)."""
    roots = {Path(sys.base_prefix).resolve(), Path(sys.prefix).absolute(), Path(sys.prefix).resolve()}
    roots |= {Path(p).resolve() for p in sys.path if p and Path(p).is_dir()}
    kept: list[Path] = []
    for root in sorted(roots):  # parents sort first: a folder inside a kept one is already there
        if not (repo.is_relative_to(root) or any(root.is_relative_to(k) for k in kept)):
            kept.append(root)
    return kept


WRITE_FLAGS = os.O_WRONLY | os.O_RDWR | os.O_CREAT | os.O_TRUNC | os.O_APPEND
PATH_EVENTS = {"os.remove": (0,), "os.rmdir": (0,), "os.rename": (0, 1), "os.replace": (0, 1),
               "os.chmod": (0,), "os.chown": (0,), "os.mkdir": (0,), "os.link": (1,),
               "os.symlink": (1,), "os.truncate": (0,), "os.utime": (0,), "shutil.rmtree": (0,),
               "os.chflags": (0,), "os.setxattr": (0,), "os.removexattr": (0,)}  # fmt: skip
DENIED = {"socket.connect": "network", "socket.bind": "network", "socket.sendto": "network",
          "subprocess.Popen": "starting a process", "os.system": "starting a process",
          "os.exec": "starting a process", "os.posix_spawn": "starting a process",
          "os.spawn": "starting a process", "os.fork": "starting a process",
          "os.forkpty": "starting a process", "os.kill": "signalling a process",
          "os.killpg": "signalling a process", "signal.pthread_kill": "signalling a process"}  # fmt: skip


class Guard:
    """An audit hook: refuses (``PermissionError``) and records what a submission may not do."""

    def __init__(self, root: Path, hidden: Path | None):
        self.root = os.path.realpath(root)
        self.hidden = hidden
        visible = [package_dir(), *(python_roots(hidden) if hidden else [])]
        self.visible = tuple(str(p) + os.sep for p in visible)
        self.on = False
        self.blocked: list[str] = []

    def _outside(self, path: Any) -> bool:
        if isinstance(path, int):
            return False
        real = os.path.realpath(os.fsdecode(path))
        return not (real == self.root or real.startswith(self.root + os.sep) or real == os.devnull)

    def _hidden(self, path: Any) -> bool:
        if self.hidden is None or isinstance(path, int):
            return False
        real = os.path.realpath(os.fsdecode(path))
        inside = real.startswith(str(self.hidden) + os.sep)
        return inside and not (real + os.sep).startswith(self.visible)

    def __call__(self, event: str, args: tuple) -> None:
        if not self.on:
            return
        why = None
        if event == "open" and args:
            path, mode, flags = (tuple(args) + (None, None))[:3]
            writes = (isinstance(mode, str) and any(c in mode for c in "wax+")) or (
                isinstance(flags, int) and flags & WRITE_FLAGS
            )
            if writes and self._outside(path):
                why = f"writing {os.fsdecode(path)}"
            elif self._hidden(path):
                why = f"reading the course's files ({os.fsdecode(path)})"
        elif event in PATH_EVENTS:
            for i in PATH_EVENTS[event]:
                if i < len(args) and self._outside(args[i]):
                    why = f"{event} {os.fsdecode(args[i])}"
        elif event in DENIED:
            why = DENIED[event]
        if why:
            self.blocked.append(why)
            raise PermissionError(f"llmbook sandbox: {why} is not allowed")


def _describe(namespace: dict, name: str) -> dict:
    if name not in namespace:
        return {"kind": "missing"}
    value = namespace[name]
    if value is None or value is Ellipsis:
        return {"kind": "unset"}
    if callable(value):
        return {"kind": "callable"}
    try:
        return {"kind": "value", "value": encode(value)}
    except Exception as e:  # not plain data, or a value whose methods raise
        return {"kind": "unreadable", "type": str(e) if isinstance(e, NotPlain) else type(value).__name__}


def _serve_exercise(namespace: dict, names: list, guard: Guard, req: int, res: int) -> None:
    """In a forked child: describe ``names``, then answer calls until "end"."""
    send(res, {"names": {n: _describe(namespace, n) for n in names if isinstance(n, str)}})
    while True:
        msg = recv(req)
        if msg.get("op") != "call":
            os._exit(0)
        guard.blocked.clear()
        try:
            fn, args = namespace.get(msg["name"]), [decode_arg(a) for a in msg["args"]]
            got = fn(*args)
        except BaseException as e:  # everything, sys.exit() included, becomes a reply
            reply = {"raised": [type(e).__name__, _text(e)]}
        else:
            try:
                reply = {"ok": encode(got)}
            except Exception as e:
                reply = {"unreadable": str(e) if isinstance(e, NotPlain) else type(got).__name__}
        if guard.blocked:
            reply = {"violation": guard.blocked[0]}
        send(res, reply)


def _text(e: BaseException) -> str:
    try:
        return str(e)[:300]
    except BaseException:
        return ""


def main(argv: list[str]) -> None:
    """The worker: run the cells it is sent, then serve one forked child per exercise."""
    req, res = os.dup(0), os.dup(1)
    null = os.open(os.devnull, os.O_RDWR)
    for fd in (0, 1, 2):
        os.dup2(null, fd)
    import numpy  # noqa: F401  (imported before the guard: they load native libraries)
    import torch
    from IPython.core.interactiveshell import InteractiveShell

    torch.set_num_threads(1)
    shell = InteractiveShell.instance(history_length=0)
    shell.history_manager.enabled = False
    package = package_dir()
    hidden = package.parent if (package.parent / "pyproject.toml").exists() else None
    guard = Guard(Path(argv[0]), hidden)
    sys.addaudithook(guard)
    send(res, {"ready": True})
    msg = recv(req)
    skip = set(msg.get("skip", []))
    guard.on = True
    for i, source in enumerate(msg.get("cells", [])):
        if i in skip:
            continue
        send(res, {"cell": i})
        guard.blocked.clear()
        shell.run_cell(source, store_history=False)
        send(res, {"done": i, "blocked": guard.blocked[:5]})
    send(res, {"ran": True})
    while True:
        msg = recv(req)
        if msg.get("op") != "begin":
            continue
        guard.on = False  # the worker's own fork; the learner's code may not fork
        pid = os.fork()
        guard.on = True
        if pid == 0:
            try:
                _serve_exercise(shell.user_ns, list(msg.get("names", [])), guard, req, res)
            finally:
                os._exit(0)
        _, status = os.waitpid(pid, 0)
        send(res, {"ended": status})


if __name__ == "__main__":
    main(sys.argv[1:])
