"""The training engine: batches, AdamW, LR schedule, evaluation, and the loop built from them.

The loop is the classic one: sample (input, next-token target) windows, minimise cross-entropy
with AdamW (weight decay only on matrices), warm the learning rate up then decay it on a cosine,
clip gradients, and evaluate on held-out text now and then. :func:`train_step` is one optimizer
step (forward through a loss function, backward, clip, step) that any trainer can call;
:func:`train` repeats it and adds the parts that own their state: :class:`WeightAverage` here,
and from :mod:`llmbook.engine` :class:`~llmbook.engine.Precision` (mixed precision on CUDA, a
disabled scaler elsewhere), :class:`~llmbook.engine.Distributed` (the process's share of a batch
under ``torchrun``) and :class:`~llmbook.engine.Checkpointer` (exact resume: model, optimizer,
weight average, step, RNG and data position).

Another loop (a reward model, GRPO, DPO) gets the same step by calling :func:`train_step` with
its own loss: ``train_step(model, make_optimizer(model, lr, 0.0), loss_fn, batch, lr=lr_at(step,
cfg))``, where ``batch`` is a tuple of sliceable parts and ``loss_fn(model, *parts)`` their mean
loss.
"""

from __future__ import annotations

import contextlib
import math
import os
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field, is_dataclass

import torch
import torch.nn.functional as F
from tqdm.auto import tqdm

from llmbook.engine import Checkpointer, Distributed, Precision

Sampler = Callable[[int, torch.Generator], tuple]
LossFn = Callable[..., torch.Tensor]


@dataclass
class TrainConfig:
    """How long and how fast to train. ``steps`` optimizer steps of ``batch_size`` windows; the
    window length is the model's own (``model.config.context_length``, see :class:`Windows`)."""

    steps: int = 500
    batch_size: int = 32
    lr: float = 3e-3
    min_lr_ratio: float = 0.1  # the cosine decays to lr * min_lr_ratio
    warmup_steps: int = 50
    weight_decay: float = 0.1
    grad_clip: float = 1.0
    eval_every: int = 100
    eval_batches: int = 8
    seed: int = 0
    grad_accum: int = 1  # batch_size windows per step, fed as grad_accum micro-batches
    amp: bool = True  # mixed precision on CUDA (bf16, or fp16 with loss scaling); CPU stays fp32
    ema_decay: float = 0.0  # > 0: evaluate and return a moving average of the weights (see train)

    def __post_init__(self) -> None:
        for name in ("steps", "batch_size", "eval_every", "eval_batches", "grad_accum"):
            if getattr(self, name) < 1:
                raise ValueError(f"TrainConfig.{name} must be at least 1, got {getattr(self, name)}")
        if not 0 <= self.warmup_steps <= self.steps:
            raise ValueError("TrainConfig.warmup_steps must be between 0 and steps")
        if not 0 <= self.ema_decay < 1:
            raise ValueError(f"TrainConfig.ema_decay must be in [0, 1) (0: no averaging), "
                             f"got {self.ema_decay}")  # fmt: skip
        if self.batch_size % self.grad_accum:
            raise ValueError(f"batch_size ({self.batch_size}) must be divisible by grad_accum "
                             f"({self.grad_accum}): each micro-batch gets the same number of windows")  # fmt: skip


@dataclass
class History:
    """What happened during training: losses per step and evaluations."""

    steps: list[int] = field(default_factory=list)
    train_loss: list[float] = field(default_factory=list)
    eval_steps: list[int] = field(default_factory=list)
    eval_loss: list[float] = field(default_factory=list)
    lr: list[float] = field(default_factory=list)


# ----- data: windows of a token stream ------------------------------------------------------------

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


def context_length_of(model: torch.nn.Module) -> int:
    """The window length ``model`` trains on: its ``config.context_length``, the one source."""
    n = getattr(getattr(model, "config", None), "context_length", None)
    if n is None:
        raise ValueError(f"{type(model).__name__} has no config.context_length: train it on "
                         "Windows(tokens, context_length) instead of a bare token stream")  # fmt: skip
    return n


class Windows:
    """A sampler of random windows of one token stream: ``windows(batch_size, generator)`` gives
    inputs ``x`` and targets ``y`` (``x`` shifted by one) of ``context_length`` tokens."""

    def __init__(self, tokens, context_length: int):
        self.tokens = as_token_tensor(tokens, context_length)
        self.context_length = context_length

    def __call__(self, batch_size: int, generator: torch.Generator):
        return random_batch(self.tokens, batch_size, self.context_length, generator)


# ----- loss, optimizer, schedule, evaluation ------------------------------------------------------

def lm_loss(model: torch.nn.Module, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """Mean next-token cross-entropy of ``model(x)`` (logits ``(B, T, V)``) against ``y``."""
    logits = model(x)
    return F.cross_entropy(logits.flatten(0, 1), y.flatten())


def make_optimizer(model: torch.nn.Module, lr: float, weight_decay: float) -> torch.optim.AdamW:
    """AdamW with decoupled weight decay on matrices only (not on biases, norms' gains).

    On CPU and CUDA it is PyTorch's fused AdamW: the same update in one kernel over all tensors,
    3-4x faster than its loop over tensors (benchmarks/bench_engine.py)."""
    params = [p for p in model.parameters() if p.requires_grad]
    decay = [p for p in params if p.dim() >= 2]
    no_decay = [p for p in params if p.dim() < 2]
    groups = [
        {"params": decay, "weight_decay": weight_decay},
        {"params": no_decay, "weight_decay": 0.0},
    ]
    fused = all(p.device.type in ("cpu", "cuda") for p in params)
    return torch.optim.AdamW(groups, lr=lr, betas=(0.9, 0.95), fused=fused)


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


class WeightAverage:
    """An exponential moving average of a model's trained weights (Polyak averaging).

    With a high learning rate the weights jitter around a good region; their running average sits
    nearer its middle, which on small data beats the last iterate. Each update does
    ``average = decay * average + (1 - decay) * weights``, starting from the initial weights, so
    the average remembers about the last ``1 / (1 - decay)`` steps. With ``decay = 0`` the average
    is the weights themselves, so nothing is stored or swapped.
    """

    def __init__(self, model: torch.nn.Module, decay: float):
        if not 0 <= decay < 1:
            raise ValueError(f"the decay of a weight average must be in [0, 1), got {decay}")
        self.decay = decay
        self.params = {n: p for n, p in model.named_parameters() if p.requires_grad and decay}
        self.average = {n: p.detach().clone() for n, p in self.params.items()}

    @torch.no_grad()
    def update(self) -> None:
        for n, p in self.params.items():
            self.average[n].lerp_(p.detach(), 1 - self.decay)

    @contextlib.contextmanager
    @torch.no_grad()
    def swapped_in(self):
        """Inside the block the model holds the averaged weights; its own come back after."""
        own = {n: p.detach().clone() for n, p in self.params.items()}
        self.copy_to_model()
        try:
            yield
        finally:
            for n, p in self.params.items():
                p.copy_(own[n])

    @torch.no_grad()
    def copy_to_model(self) -> None:
        for n, p in self.params.items():
            p.copy_(self.average[n])

    def state_dict(self) -> dict[str, torch.Tensor]:
        return self.average

    def load_state_dict(self, state: dict[str, torch.Tensor]) -> None:
        for n, t in state.items():
            self.average[n].copy_(t)


# ----- one step, and the loop ---------------------------------------------------------------------

def train_step(model: torch.nn.Module, optimizer: torch.optim.Optimizer, loss_fn: LossFn,
               batch: Sequence, *, lr: float | None = None, grad_clip: float = 1.0,
               micro_batches: int = 1, precision: Precision | None = None,
               parallel: Distributed | None = None) -> float:  # fmt: skip
    """One optimizer step on ``batch``; returns its mean loss.

    ``batch`` is a tuple of parts sliced along their first dimension (tensors or lists: ids,
    masks, pair indices ...); ``loss_fn(model, *parts)`` returns the mean loss of a slice. The
    step sets the learning rate (when ``lr`` is given), zeroes the gradients, runs forward and
    backward on ``micro_batches`` slices (this process's share of each under
    :class:`Distributed`), clips the gradient norm to ``grad_clip`` (0: no clipping) and steps
    the optimizer through the precision's scaler.
    """
    precision = precision or Precision(next(model.parameters()).device, enabled=False)
    parallel = parallel or Distributed(model)
    if lr is not None:
        for group in optimizer.param_groups:
            group["lr"] = lr
    optimizer.zero_grad(set_to_none=True)
    total = 0.0
    for micro in range(micro_batches):
        part = parallel.share(batch, micro, micro_batches)
        with parallel.sync(micro == micro_batches - 1), precision.autocast():
            loss = loss_fn(parallel.net, *part) / micro_batches
        precision.scaler.scale(loss).backward()
        total += loss.item()
    precision.scaler.unscale_(optimizer)
    if grad_clip:
        torch.nn.utils.clip_grad_norm_(model.parameters(), grad_clip)
    precision.scaler.step(optimizer)
    precision.scaler.update()
    return parallel.mean(total)


def _config_dict(obj) -> dict | None:
    return asdict(obj) if is_dataclass(obj) else None


def train(
    model: torch.nn.Module,
    train_tokens,
    cfg: TrainConfig,
    eval_tokens=None,
    on_eval: Callable[[int, float | None], None] | None = None,
    progress: bool = True,
    checkpoint: str | os.PathLike | None = None,
    checkpoint_every: int = 0,
    resume: bool = False,
    stop_at: int | None = None,
    loss_fn: LossFn = lm_loss,
) -> History:
    """Train ``model`` (returns logits ``(B, T, V)``) on ``train_tokens``; returns the history.

    ``train_tokens`` is a token stream (random windows of ``model.config.context_length`` tokens
    are cut from it) or a sampler ``sample(batch_size, generator) -> (x, y)`` that draws a batch
    itself (:class:`Windows` of another length; fine-tuning: padded prompt/response pairs with
    masked labels; classification: texts and class ids), with ``loss_fn(model, x, y)`` (default
    :func:`lm_loss`) scoring it. Only parameters with ``requires_grad`` are optimized.

    ``on_eval(step, eval_loss)`` is called every ``cfg.eval_every`` steps and at the end (e.g. to
    print a sample), with ``eval_loss`` None when there is no held-out text.

    ``cfg.ema_decay > 0`` keeps a :class:`WeightAverage` of the weights: evaluations and
    ``on_eval`` see the averaged weights, and when training reaches ``cfg.steps`` the model is left
    holding them.

    ``checkpoint``: a file to save the whole training state to every ``checkpoint_every`` steps
    and when the call ends. ``resume=True`` first loads it (it must exist and match this ``cfg``
    and the model's ``config``) and continues from its step, so the final weights are bit-identical
    to an uninterrupted run. ``stop_at`` ends the call after that many steps in total (train in
    pieces). Under ``torch.distributed`` the model is wrapped in DistributedDataParallel, rank r
    takes its share of every global batch, and only rank 0 writes checkpoints and shows progress.
    """
    params = [p for p in model.parameters() if p.requires_grad]
    if not params:
        raise ValueError("the model has no parameters to train (all frozen: requires_grad=False)")
    if resume and checkpoint is None:
        raise ValueError("resume=True needs checkpoint=<the file to resume from>")
    if stop_at is not None and not 0 <= stop_at <= cfg.steps:
        raise ValueError(f"stop_at must be between 0 and cfg.steps={cfg.steps}, got {stop_at}")
    parallel = Distributed(model)
    parallel.share_size(cfg.batch_size, cfg.grad_accum)
    dev = params[0].device
    sample = train_tokens if callable(train_tokens) else Windows(train_tokens, context_length_of(model))
    gen = torch.Generator().manual_seed(cfg.seed)
    opt = make_optimizer(model, cfg.lr, cfg.weight_decay)
    precision = Precision(dev, cfg.amp)
    average = WeightAverage(model, cfg.ema_decay)
    hist = History()
    identity = {"train_config": asdict(cfg),
                "model_config": _config_dict(getattr(model, "config", None))}  # fmt: skip
    parts = {"model": model, "optimizer": opt, "scaler": precision.scaler, "weight_average": average}
    saver = Checkpointer(checkpoint, checkpoint_every, identity, parts, gen, dev,
                         writes=parallel.rank == 0)  # fmt: skip
    start = saver.restore(hist) if resume else 0
    end = cfg.steps if stop_at is None else stop_at
    if end < start:
        raise ValueError(f"{checkpoint} is already at step {start}, past stop_at={stop_at}")
    window = sample.context_length if isinstance(sample, Windows) else None
    model.train()
    bar = tqdm(range(start, end), desc="train", disable=not progress or parallel.rank != 0,
               mininterval=1.0)  # fmt: skip
    for step in bar:
        lr = lr_at(step, cfg)
        batch = tuple(part.to(dev) for part in sample(cfg.batch_size, gen))  # the global batch
        loss = train_step(model, opt, loss_fn, batch, lr=lr, grad_clip=cfg.grad_clip,
                          micro_batches=cfg.grad_accum, precision=precision, parallel=parallel)  # fmt: skip
        average.update()
        hist.steps.append(step)
        hist.train_loss.append(loss)
        hist.lr.append(lr)
        if (step + 1) % cfg.eval_every == 0 or step + 1 == cfg.steps:
            with average.swapped_in():
                val = None
                if eval_tokens is not None:
                    with precision.autocast():
                        val = evaluate(model, eval_tokens, window or context_length_of(model),
                                       cfg.batch_size, cfg.eval_batches, cfg.seed)  # fmt: skip
                    hist.eval_steps.append(step + 1)
                    hist.eval_loss.append(val)
                    bar.set_postfix(loss=f"{loss:.3f}", eval=f"{val:.3f}")
                if on_eval is not None:
                    on_eval(step + 1, val)
                    model.train()
        saver.after_step(step + 1, end, hist)
    saver.save(end, hist)
    if end == cfg.steps:
        average.copy_to_model()
    return hist
