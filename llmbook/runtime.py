"""Where code runs and how repeatable it is: device choice, seeding, CPU speed settings."""

from __future__ import annotations

import os
import random

import numpy as np
import torch


def device() -> torch.device:
    """The best available device: CUDA (Colab's GPU), then Apple's MPS, then the CPU.

    Set ``LLMBOOK_DEVICE=cpu`` to force one (the tests and the book build do, so results are
    the same everywhere).
    """
    forced = os.environ.get("LLMBOOK_DEVICE")
    if forced:
        return torch.device(forced)
    if torch.cuda.is_available():
        return torch.device("cuda")
    if getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available():
        return torch.device("mps")
    return torch.device("cpu")


def seed(n: int = 0) -> torch.Generator:
    """Seed Python, NumPy and PyTorch (every device) so a cell gives the same output each run.

    Returns a CPU ``torch.Generator`` seeded with ``n`` for code that wants its own stream.
    """
    if not isinstance(n, int) or isinstance(n, bool) or n < 0:
        raise ValueError(f"seed expects a non-negative whole number, got {n!r}")
    random.seed(n)
    np.random.seed(n % 2**32)
    torch.manual_seed(n)
    return torch.Generator().manual_seed(n)


def setup_cpu() -> None:
    """Speed settings for CPU training: flush denormals (AdamW slowed 3-5x without it)."""
    torch.set_flush_denormal(True)


def in_colab() -> bool:
    """True when running inside Google Colab."""
    try:
        import google.colab  # noqa: F401
    except ImportError:
        return False
    return True
