"""Training checkpoints: write atomically, read back with errors that name the file.

A checkpoint is a dict of tensors and plain values saved with ``torch.save``. Writing goes to a
temporary file in the same folder, is flushed to disk (``fsync``) and then renamed over the old
file (``os.replace``, atomic on one file system): a run killed mid-write leaves the previous
checkpoint intact, never a half-written one that a resume would load.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Any

import torch


class CheckpointError(ValueError):
    """A checkpoint that cannot be used: missing, unreadable, or from another configuration."""


def save_checkpoint(state: dict[str, Any], path: str | os.PathLike) -> Path:
    """Write ``state`` to ``path`` atomically (temp file in the same folder, fsync, rename)."""
    if not isinstance(state, dict):
        raise TypeError(f"a checkpoint is a dict of state, got {type(state).__name__}")
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            torch.save(state, f)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, 0o644)  # mkstemp makes it private; a checkpoint is an ordinary file
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    try:  # make the rename itself durable (not possible on every OS)
        dir_fd = os.open(path.parent, os.O_RDONLY)
    except OSError:
        return path
    try:
        os.fsync(dir_fd)
    except OSError:
        pass
    finally:
        os.close(dir_fd)
    return path


def load_checkpoint(
    path: str | os.PathLike, expect: dict[str, Any] | None = None, map_location="cpu"
) -> dict[str, Any]:
    """Read a checkpoint written by :func:`save_checkpoint`.

    ``expect`` maps keys to the values this run needs (e.g. ``{"model_config": ...}``); a
    checkpoint whose value differs raises :class:`CheckpointError` naming the file and the
    differing fields, instead of failing later with a shape error deep in ``load_state_dict``.
    """
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"checkpoint {path} does not exist: nothing to resume from "
                              "(start without resuming, or check the path)")  # fmt: skip
    try:
        state = torch.load(path, map_location=map_location, weights_only=False)
    except Exception as err:  # truncated, not a torch file, ...
        raise CheckpointError(
            f"checkpoint {path} is corrupt or not a checkpoint ({type(err).__name__}: {err}); "
            "delete it to start over"
        ) from err
    if not isinstance(state, dict):
        raise CheckpointError(f"checkpoint {path} holds a {type(state).__name__}, not a dict")
    for key, want in (expect or {}).items():
        if key not in state:
            raise CheckpointError(f"checkpoint {path} has no {key!r}: not written by this code")
        have = state[key]
        if have != want:
            if isinstance(have, dict) and isinstance(want, dict):
                diff = sorted(k for k in set(have) | set(want) if have.get(k) != want.get(k))
                detail = ", ".join(f"{k}: {have.get(k)!r} in the file, {want.get(k)!r} now"
                                   for k in diff)  # fmt: skip
            else:
                detail = f"{have!r} in the file, {want!r} now"
            raise CheckpointError(
                f"checkpoint {path} was written for another {key} ({detail}); "
                "resume with the same settings or start a new run elsewhere"
            )
    return state
