"""What crosses the sandbox's wall: messages as length-prefixed JSON over pipes, and the checks'
arguments as plain data (:mod:`llmbook.exercises.plain`; one of our GPTs as its config and
weights). Both the grader (:mod:`llmbook.sandbox`) and the worker (:mod:`llmbook.sandbox_worker`)
speak it.
"""

from __future__ import annotations

import json
import os
import select
import struct
import time
from dataclasses import asdict
from typing import Any

from llmbook.exercises.plain import NotPlain, decode, encode
from llmbook.gpt import GPT, GPTConfig

MAX_MESSAGE = 64 * 1024 * 1024  # bytes; a bigger answer is refused
HEADER = struct.Struct(">I")


class Dead(Exception):
    """The other side closed its pipe (the process ended)."""


class Late(Exception):
    """No message before the deadline."""


def send(fd: int, message: dict) -> None:
    """Write one message to ``fd``."""
    data = json.dumps(message, allow_nan=True).encode()
    view = memoryview(HEADER.pack(len(data)) + data)
    while view:
        view = view[os.write(fd, view) :]


def _read_exactly(fd: int, n: int, deadline: float | None) -> bytes:
    chunks, got = [], 0
    while got < n:
        if deadline is not None:
            left = deadline - time.monotonic()
            if left <= 0 or not select.select([fd], [], [], left)[0]:
                raise Late
        chunk = os.read(fd, min(n - got, 1 << 20))
        if not chunk:
            raise Dead
        chunks.append(chunk)
        got += len(chunk)
    return b"".join(chunks)


def recv(fd: int, deadline: float | None = None) -> dict:
    """Read one message from ``fd`` before ``deadline`` (``time.monotonic()``); :class:`Late`,
    :class:`Dead`, or :class:`NotPlain` for a malformed or oversized one."""
    (size,) = HEADER.unpack(_read_exactly(fd, HEADER.size, deadline))
    if size > MAX_MESSAGE:
        raise NotPlain("message too big")
    try:
        message = json.loads(_read_exactly(fd, size, deadline))
    except (ValueError, RecursionError):
        raise NotPlain("malformed message") from None
    if type(message) is not dict:
        raise NotPlain("malformed message")
    return message


# --- arguments the checks pass: plain data, or one of our own models --------------------------


def encode_arg(x: Any) -> Any:
    """A check's argument as plain data; a :class:`llmbook.gpt.GPT` travels as its config and
    weights and is rebuilt on the other side."""
    if isinstance(x, GPT):
        state = {k: encode(v) for k, v in x.state_dict().items()}
        return {"$": "gpt", "config": asdict(x.config), "state": state, "training": x.training}
    return encode(x)


def decode_arg(d: Any) -> Any:
    """The inverse of :func:`encode_arg` (runs in the worker)."""
    if type(d) is dict and d.get("$") == "gpt":
        import torch

        with torch.random.fork_rng(devices=[]):
            model = GPT(GPTConfig(**d["config"]))
        model.load_state_dict({k: decode(v) for k, v in d["state"].items()})
        return model.train(d["training"])
    return decode(d)
