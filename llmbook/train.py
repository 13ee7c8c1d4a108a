"""Training a language model on a stream of token ids: batches, AdamW, LR schedule, evaluation.

The loop is the classic one: sample (input, next-token target) windows, minimise cross-entropy
with AdamW (weight decay only on matrices), warm the learning rate up then decay it on a cosine,
clip gradients, and evaluate on held-out text now and then.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import torch
import torch.nn.functional as F
from tqdm.auto import tqdm


@dataclass
class TrainConfig:
    """How long and how fast to train. ``steps`` optimizer steps of ``batch_size`` windows."""

    steps: int = 500
    batch_size: int = 32
    context_length: int = 64
    lr: float = 3e-3
    min_lr_ratio: float = 0.1  # the cosine decays to lr * min_lr_ratio
    warmup_steps: int = 50
    weight_decay: float = 0.1
    grad_clip: float = 1.0
    eval_every: int = 100
    eval_batches: int = 8
    seed: int = 0

    def __post_init__(self) -> None:
        for name in ("steps", "batch_size", "context_length", "eval_every", "eval_batches"):
            if getattr(self, name) < 1:
                raise ValueError(f"TrainConfig.{name} must be at least 1, got {getattr(self, name)}")
        if not 0 <= self.warmup_steps <= self.steps:
            raise ValueError("TrainConfig.warmup_steps must be between 0 and steps")


@dataclass
class History:
    """What happened during training: losses per step and evaluations."""

    steps: list[int] = field(default_factory=list)
    train_loss: list[float] = field(default_factory=list)
    eval_steps: list[int] = field(default_factory=list)
    eval_loss: list[float] = field(default_factory=list)
    lr: list[float] = field(default_factory=list)


def next_token_pairs(ids: Sequence[int], context_length: int) -> list[tuple[list[int], int]]:
    """Every (context, next token) pair a text offers, the context being at most
    ``context_length`` preceding tokens: one text is many training examples, no labels needed."""
    if not isinstance(context_length, int) or context_length < 1:
        raise ValueError(f"context_length must be a whole number >= 1, got {context_length!r}")
    ids = list(ids)
    return [(ids[max(0, i - context_length) : i], ids[i]) for i in range(1, len(ids))]


def as_token_tensor(tokens, context_length: int) -> torch.Tensor:
    """Token ids (list or tensor) as a 1-D ``long`` tensor long enough for one window."""
    t = torch.as_tensor(tokens, dtype=torch.long).flatten()
    if t.numel() <= context_length:
        raise ValueError(
            f"the text has {t.numel()} tokens, too few for windows of {context_length} + 1 tokens"
        )
    return t


def random_batch(
    tokens: torch.Tensor, batch_size: int, context_length: int, generator: torch.Generator
) -> tuple[torch.Tensor, torch.Tensor]:
    """``batch_size`` random windows: inputs ``x`` and targets ``y`` = ``x`` shifted by one."""
    starts = torch.randint(0, tokens.numel() - context_length, (batch_size,), generator=generator)
    offsets = torch.arange(context_length + 1)
    windows = tokens[starts[:, None] + offsets]
    return windows[:, :-1], windows[:, 1:]


def lm_loss(model: torch.nn.Module, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """Mean next-token cross-entropy of ``model(x)`` (logits ``(B, T, V)``) against ``y``."""
    logits = model(x)
    return F.cross_entropy(logits.flatten(0, 1), y.flatten())


def make_optimizer(model: torch.nn.Module, lr: float, weight_decay: float) -> torch.optim.AdamW:
    """AdamW with decoupled weight decay on matrices only (not on biases, norms' gains)."""
    params = [p for p in model.parameters() if p.requires_grad]
    decay = [p for p in params if p.dim() >= 2]
    no_decay = [p for p in params if p.dim() < 2]
    groups = [
        {"params": decay, "weight_decay": weight_decay},
        {"params": no_decay, "weight_decay": 0.0},
    ]
    return torch.optim.AdamW(groups, lr=lr, betas=(0.9, 0.95))


def lr_at(step: int, cfg: TrainConfig) -> float:
    """Linear warm-up for ``warmup_steps``, then cosine decay to ``lr * min_lr_ratio``."""
    if step < cfg.warmup_steps:
        return cfg.lr * (step + 1) / cfg.warmup_steps
    progress = (step - cfg.warmup_steps) / max(1, cfg.steps - cfg.warmup_steps)
    cosine = 0.5 * (1 + math.cos(math.pi * min(1.0, progress)))
    return cfg.lr * (cfg.min_lr_ratio + (1 - cfg.min_lr_ratio) * cosine)


@torch.no_grad()
def evaluate(
    model: torch.nn.Module, tokens, context_length: int, batch_size: int = 32,
    batches: int = 8, seed: int = 0,
) -> float:  # fmt: skip
    """Mean next-token loss on ``batches`` random windows of held-out ``tokens`` (same windows
    every call for a given seed, so evaluations compare)."""
    tokens = as_token_tensor(tokens, context_length)
    was_training = model.training
    model.eval()
    dev = next(model.parameters()).device
    gen = torch.Generator().manual_seed(seed)
    losses = []
    for _ in range(batches):
        x, y = random_batch(tokens, batch_size, context_length, gen)
        losses.append(lm_loss(model, x.to(dev), y.to(dev)).item())
    model.train(was_training)
    return sum(losses) / len(losses)


def train(
    model: torch.nn.Module,
    train_tokens,
    cfg: TrainConfig,
    eval_tokens=None,
    on_eval: Callable[[int, float | None], None] | None = None,
    progress: bool = True,
) -> History:
    """Train ``model`` (returns logits ``(B, T, V)``) on ``train_tokens``; returns the history.

    ``on_eval(step, eval_loss)`` is called every ``cfg.eval_every`` steps and at the end (e.g. to
    print a sample), with ``eval_loss`` None when there is no held-out text.
    """
    params = list(model.parameters())
    if not params:
        raise ValueError("the model has no parameters to train")
    dev = params[0].device
    tokens = as_token_tensor(train_tokens, cfg.context_length)
    gen = torch.Generator().manual_seed(cfg.seed)
    opt = make_optimizer(model, cfg.lr, cfg.weight_decay)
    hist = History()
    model.train()
    bar = tqdm(range(cfg.steps), desc="train", disable=not progress, mininterval=1.0)
    for step in bar:
        lr = lr_at(step, cfg)
        for group in opt.param_groups:
            group["lr"] = lr
        x, y = random_batch(tokens, cfg.batch_size, cfg.context_length, gen)
        loss = lm_loss(model, x.to(dev), y.to(dev))
        opt.zero_grad(set_to_none=True)
        loss.backward()
        if cfg.grad_clip:
            torch.nn.utils.clip_grad_norm_(model.parameters(), cfg.grad_clip)
        opt.step()
        hist.steps.append(step)
        hist.train_loss.append(loss.item())
        hist.lr.append(lr)
        if (step + 1) % cfg.eval_every == 0 or step + 1 == cfg.steps:
            val = None
            if eval_tokens is not None:
                val = evaluate(model, eval_tokens, cfg.context_length, cfg.batch_size,
                               cfg.eval_batches, cfg.seed)  # fmt: skip
                hist.eval_steps.append(step + 1)
                hist.eval_loss.append(val)
                bar.set_postfix(loss=f"{loss.item():.3f}", eval=f"{val:.3f}")
            if on_eval is not None:
                on_eval(step + 1, val)
                model.train()
    return hist

