"""The options every recipe shares (``--out``, ``--device``, ``--seed``, ``--quiet``,
``--steps``), defined once, and the facts about a run that every card records."""

from __future__ import annotations

import argparse

import torch

from llmbook import store
from llmbook.runtime import device as best_device


def parser(module: str, description: str, steps: int | None = None) -> argparse.ArgumentParser:
    """An argument parser for ``python -m <module>`` with the shared options (``--steps`` only
    when the recipe trains for a number of ``steps``: its default)."""
    ap = argparse.ArgumentParser(prog=f"python -m {module}", description=description)
    ap.add_argument("--out", default=str(store.ROOT),
                    help="the model folder written to; the models a recipe starts from are read "
                         "from it too (default: the package's shipped models)")  # fmt: skip
    ap.add_argument("--device", default=None, help="cpu, cuda, ... (default: best_device())")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--quiet", action="store_true", help="no progress bars")
    if steps is not None:
        ap.add_argument("--steps", type=int, default=steps, help="optimizer steps (default: %(default)s)")
    return ap


def device(args: argparse.Namespace) -> torch.device:
    return torch.device(args.device) if args.device else best_device()


def device_name(dev: torch.device) -> str:
    """What a card says it ran on: ``cpu (2 threads)``, ``cuda:0``."""
    n = torch.get_num_threads()
    return f"cpu ({n} thread{'s' * (n > 1)})" if dev.type == "cpu" else str(dev)


def command(module: str, argv: list[str]) -> str:
    """The command line a card records."""
    return " ".join(["python -m", module, *argv])
