"""The parts of the training engine that own state across steps, so the loop does not:
:class:`Precision` (autocast and the loss scaler, simply disabled where fp32 is used),
:class:`Distributed` (this process's rank, its DDP-wrapped model and its share of each batch) and
:class:`Checkpointer` (everything an exact resume needs, in one atomically written file).
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Sequence
from dataclasses import asdict
from typing import Any

import torch
import torch.distributed as dist

from llmbook.checkpoint import load_checkpoint, save_checkpoint


class Precision:
    """Mixed precision: on CUDA (with ``enabled``) bf16 autocast, or fp16 with a loss-scaling
    :class:`torch.amp.GradScaler` on GPUs without bf16. Elsewhere plain fp32: the autocast and the
    scaler are there but disabled, so the step runs the same code everywhere."""

    def __init__(self, device: torch.device, enabled: bool = True):
        self.device_type = device.type
        self.dtype = None
        if enabled and device.type == "cuda":
            self.dtype = torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
        self.scaler = torch.amp.GradScaler(device.type, enabled=self.dtype == torch.float16)

    def autocast(self) -> torch.autocast:
        return torch.autocast(self.device_type, dtype=self.dtype, enabled=self.dtype is not None)


class Distributed:
    """This process's place in a ``torch.distributed`` run: its rank, the number of processes,
    the model to call (wrapped in DistributedDataParallel) and its share of every batch. Without
    a process group it is rank 0 of 1 and wraps nothing. Create it once per training run."""

    def __init__(self, model: torch.nn.Module):
        running = dist.is_available() and dist.is_initialized()
        self.rank, self.world = (dist.get_rank(), dist.get_world_size()) if running else (0, 1)
        self.net = model
        if self.world > 1:
            dev = next(model.parameters()).device
            ids = [dev.index] if dev.type == "cuda" else None
            self.net = torch.nn.parallel.DistributedDataParallel(model, device_ids=ids)

    def share_size(self, batch_size: int, micro_batches: int) -> int:
        """Examples per micro-batch on this process; the global batch must split evenly."""
        per, rest = divmod(batch_size, micro_batches * self.world)
        if rest or per < 1:
            raise ValueError(f"batch_size ({batch_size}) must split evenly into grad_accum "
                             f"({micro_batches}) x processes ({self.world}) micro-batches")  # fmt: skip
        return per

    def share(self, batch: Sequence, micro: int, micro_batches: int) -> tuple:
        """This process's slice of micro-batch ``micro`` of every part of ``batch``."""
        per = self.share_size(len(batch[0]), micro_batches)
        lo = (micro * self.world + self.rank) * per
        return tuple(part[lo : lo + per] for part in batch)

    def sync(self, last: bool):
        """Gradients are averaged across processes on the last micro-batch only."""
        return contextlib.nullcontext() if last or self.world == 1 else self.net.no_sync()

    def mean(self, value: float) -> float:
        """The mean of ``value`` over the processes (the loss of the whole global batch)."""
        if self.world == 1:
            return value
        total = torch.tensor([value], dtype=torch.float64)
        dist.all_reduce(total)
        return total.item() / self.world


class Checkpointer:
    """The whole training state in one file, so that a resumed run is bit-identical to an
    uninterrupted one: ``parts`` (objects with ``state_dict``/``load_state_dict``: model,
    optimizer, scaler, weight average), the data generator, the torch RNGs, the step and the
    history (a dataclass of lists). ``identity`` (the configs) must match on resume. Only rank 0 writes."""

    def __init__(self, path: str | os.PathLike | None, every: int, identity: dict[str, Any],
                 parts: dict[str, Any], data_rng: torch.Generator, device: torch.device,
                 writes: bool = True):  # fmt: skip
        self.path, self.every, self.identity, self.parts = path, every, identity, parts
        self.data_rng, self.device, self.writes = data_rng, device, writes

    def restore(self, history: Any) -> int:
        """Load everything back from the file; returns the step to continue from."""
        state = load_checkpoint(self.path, expect=self.identity)
        for name, part in self.parts.items():
            part.load_state_dict(state[name])
        self.data_rng.set_state(state["data_rng"])
        torch.set_rng_state(state["torch_rng"])
        if self.device.type == "cuda" and state.get("cuda_rng") is not None:
            torch.cuda.set_rng_state(state["cuda_rng"], self.device)
        history.__dict__.update({k: list(v) for k, v in state["history"].items()})
        return state["step"]

    def save(self, step: int, history: Any) -> None:
        if self.path is None or not self.writes:
            return
        cuda = torch.cuda.get_rng_state(self.device) if self.device.type == "cuda" else None
        save_checkpoint({
            **self.identity, "step": step, **{n: p.state_dict() for n, p in self.parts.items()},
            "data_rng": self.data_rng.get_state(), "torch_rng": torch.get_rng_state(),
            "cuda_rng": cuda, "history": asdict(history),
        }, self.path)  # fmt: skip

    def after_step(self, step: int, end: int, history: Any) -> None:
        """Save every ``every`` steps (the end of the run is saved by :meth:`save` itself)."""
        if self.every and step % self.every == 0 and step < end:
            self.save(step, history)
