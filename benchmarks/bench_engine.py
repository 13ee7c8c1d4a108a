"""One training step (forward, cross-entropy, backward, clipping, AdamW) of our GPT on our
engine against nanoGPT's ``model.py`` and ``transformers.GPT2LMHeadModel``, side by side in one run.

Each contender trains the same architecture (GPT-2 blocks, tied embeddings, dropout off) on the
same batch, with its own usual optimizer: ours through :func:`llmbook.train.train_step` and
:func:`llmbook.train.make_optimizer`, nanoGPT through its ``configure_optimizers``, transformers
with ``torch.optim.AdamW``. The models take turns round by round (the order rotates) and each
reports the median over rounds of its wall-clock time and of the CPU time of this process (all
its threads), so a machine busy with other work slows all of them alike; the CPU time is the
steadier of the two there, since waiting for a core does not count.

nanoGPT is not a dependency and is never shipped: pass the path of its ``model.py`` (from a clone
of github.com/karpathy/nanoGPT) with ``--nanogpt`` or ``NANOGPT_MODEL``; without it that column
is skipped. Run: ``OMP_WAIT_POLICY=PASSIVE python benchmarks/bench_engine.py --nanogpt
/path/to/nanoGPT/model.py`` (``--threads 2`` by default, ``--configs A B``).
"""

from __future__ import annotations

import argparse
import contextlib
import importlib.util
import io
import os
import resource
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass

import torch
import torch.nn.functional as F

import llmbook
from llmbook.engine import Distributed, Precision
from llmbook.gpt import GPT, GPTConfig
from llmbook.train import lm_loss, make_optimizer, train_step

LR, WEIGHT_DECAY, BETAS, CLIP = 3e-4, 0.1, (0.9, 0.95), 1.0


@dataclass(frozen=True)
class Setup:
    name: str
    config: GPTConfig
    batch_size: int


CONFIGS = {
    "A": Setup("A: vocab 4096, context 128, 4 layers x 6 heads x 192, batch 16",
               GPTConfig(vocab_size=4096, context_length=128, n_layer=4, n_head=6, n_embd=192), 16),
    "B": Setup("B: vocab 4096, context 128, 2 layers x 12 heads x 768, batch 16",
               GPTConfig(vocab_size=4096, context_length=128, n_layer=2, n_head=12, n_embd=768), 16),
}  # fmt: skip

Step = Callable[[torch.Tensor, torch.Tensor], float]


def ours(cfg: GPTConfig) -> Step:
    """Our GPT on our engine, as :func:`llmbook.train.train` runs it."""
    model = GPT(cfg).train()
    opt = make_optimizer(model, LR, WEIGHT_DECAY)
    precision, parallel = Precision(torch.device("cpu")), Distributed(model)
    return lambda x, y: train_step(model, opt, lm_loss, (x, y), grad_clip=CLIP,
                                   precision=precision, parallel=parallel)  # fmt: skip


def plain_step(model: torch.nn.Module, opt: torch.optim.Optimizer,
               loss_of: Callable[[torch.Tensor, torch.Tensor], torch.Tensor]) -> Step:  # fmt: skip
    """A peer's training step as its own scripts take it: forward, backward, clip, step, zero."""

    def step(x: torch.Tensor, y: torch.Tensor) -> float:
        loss = loss_of(x, y)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), CLIP)
        opt.step()
        opt.zero_grad(set_to_none=True)
        return loss.item()

    return step


def nanogpt(cfg: GPTConfig, path: str) -> Step:
    """nanoGPT's model and optimizer, stepped like its ``train.py`` (one micro-batch)."""
    spec = importlib.util.spec_from_file_location("nanogpt_model", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    model = module.GPT(module.GPTConfig(
        block_size=cfg.context_length, vocab_size=cfg.vocab_size, n_layer=cfg.n_layer,
        n_head=cfg.n_head, n_embd=cfg.n_embd, dropout=0.0, bias=True)).train()  # fmt: skip
    with contextlib.redirect_stdout(io.StringIO()):  # it prints its parameter counts
        opt = model.configure_optimizers(WEIGHT_DECAY, LR, BETAS, "cpu")

    return plain_step(model, opt, lambda x, y: model(x, y)[1])


def transformers_gpt2(cfg: GPTConfig) -> Step:
    """``GPT2LMHeadModel`` (tied head) with ``torch.optim.AdamW``; the loss computed like ours."""
    from transformers import GPT2Config, GPT2LMHeadModel

    model = GPT2LMHeadModel(GPT2Config(
        vocab_size=cfg.vocab_size, n_positions=cfg.context_length, n_embd=cfg.n_embd,
        n_layer=cfg.n_layer, n_head=cfg.n_head, resid_pdrop=0.0, embd_pdrop=0.0,
        attn_pdrop=0.0, bos_token_id=None, eos_token_id=None)).train()  # fmt: skip
    opt = torch.optim.AdamW(model.parameters(), lr=LR, betas=BETAS, weight_decay=WEIGHT_DECAY)

    return plain_step(model, opt, lambda x, y: F.cross_entropy(
        model(input_ids=x).logits.flatten(0, 1), y.flatten()))  # fmt: skip


def contenders(cfg: GPTConfig, nanogpt_path: str | None) -> dict[str, Step]:
    llmbook.seed(0)
    steps = {"llmbook GPT + engine": ours(cfg)}
    if nanogpt_path and os.path.isfile(nanogpt_path):
        steps["nanoGPT model.py"] = nanogpt(cfg, nanogpt_path)
    else:
        print("nanoGPT's model.py not given (--nanogpt or NANOGPT_MODEL): skipped")
    try:
        steps["transformers GPT2LMHeadModel"] = transformers_gpt2(cfg)
    except ImportError:
        print("transformers is not installed: skipped")
    return steps


def _cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def bench(setup: Setup, nanogpt_path: str | None, rounds: int,
          steps: int) -> dict[str, tuple[float, float]]:  # fmt: skip
    """Median (wall, CPU) milliseconds per step of every contender, in interleaved rounds."""
    cfg = setup.config
    g = torch.Generator().manual_seed(0)
    x = torch.randint(0, cfg.vocab_size, (setup.batch_size, cfg.context_length), generator=g)
    y = torch.randint(0, cfg.vocab_size, (setup.batch_size, cfg.context_length), generator=g)
    runs = contenders(cfg, nanogpt_path)
    for step in runs.values():  # warm-up: first-call allocations, optimizer state
        step(x, y)
        step(x, y)
    wall: dict[str, list[float]] = {name: [] for name in runs}
    cpu: dict[str, list[float]] = {name: [] for name in runs}
    names = list(runs)
    for r in range(rounds):
        for name in names[r % len(names):] + names[: r % len(names)]:
            t0, c0 = time.perf_counter(), _cpu_seconds()
            for _ in range(steps):
                runs[name](x, y)
            wall[name].append((time.perf_counter() - t0) / steps * 1000)
            cpu[name].append((_cpu_seconds() - c0) / steps * 1000)
    return {name: (statistics.median(wall[name]), statistics.median(cpu[name])) for name in runs}


def report(setup: Setup, ms: dict[str, tuple[float, float]]) -> None:
    wall, cpu = ms["llmbook GPT + engine"]
    print(f"\nconfig {setup.name}, fp32, {torch.get_num_threads()} threads")
    print(f"{'ms per step':32} {'wall':>8} {'CPU':>8}   ours is x faster (wall, CPU)")
    for name, (w, c) in ms.items():
        ratio = "" if name == "llmbook GPT + engine" else f"{w / wall:.2f}x, {c / cpu:.2f}x"
        print(f"{name:32} {w:8.1f} {c:8.1f}   {ratio}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--nanogpt", default=os.environ.get("NANOGPT_MODEL"),
                    help="path of nanoGPT's model.py (not shipped; skipped when absent)")  # fmt: skip
    ap.add_argument("--configs", nargs="+", default=["A", "B"], choices=sorted(CONFIGS))
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--rounds", type=int, default=7)
    ap.add_argument("--steps", type=int, default=3, help="steps per contender per round")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    print(f"torch {torch.__version__}, OMP_WAIT_POLICY={os.environ.get('OMP_WAIT_POLICY')}")
    for key in args.configs:
        report(CONFIGS[key], bench(CONFIGS[key], args.nanogpt, args.rounds, args.steps))


if __name__ == "__main__":
    main()
