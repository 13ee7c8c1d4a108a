"""Training a language model on a stream of token ids: batches, AdamW, LR schedule, evaluation.

The loop is the classic one: sample (input, next-token target) windows, minimise cross-entropy
with AdamW (weight decay only on matrices), warm the learning rate up then decay it on a cosine,
clip gradients, and evaluate on held-out text now and then. On top of that it accumulates
gradients over micro-batches, can keep a moving average of the weights (:class:`WeightAverage`),
uses mixed precision on CUDA (fp32 on CPU), saves checkpoints that resume exactly (model,
optimizer, weight average, step, RNG and data position), and runs unchanged under ``torchrun``
with DistributedDataParallel (each process takes its slice of the same global batch).
"""

from __future__ import annotations

import contextlib
import math
import os
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field, is_dataclass

import torch
import torch.distributed as dist
import torch.nn.functional as F
from tqdm.auto import tqdm

from llmbook.checkpoint import load_checkpoint, save_checkpoint


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
    grad_accum: int = 1  # batch_size windows per step, fed as grad_accum micro-batches
    amp: bool = True  # mixed precision on CUDA (bf16, or fp16 with loss scaling); CPU stays fp32
    ema_decay: float = 0.0  # > 0: evaluate and return a moving average of the weights (see train)

    def __post_init__(self) -> None:
        for name in ("steps", "batch_size", "context_length", "eval_every", "eval_batches",
                     "grad_accum"):  # fmt: skip
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


def _world() -> tuple[int, int]:
    """(rank, world size): (0, 1) unless running under ``torch.distributed``."""
    if dist.is_available() and dist.is_initialized():
        return dist.get_rank(), dist.get_world_size()
    return 0, 1


def _config_dict(obj) -> dict | None:
    return asdict(obj) if is_dataclass(obj) else None


def _autocast(dev: torch.device, cfg: TrainConfig):
    """Mixed precision on CUDA (bf16 when the GPU has it, else fp16); nothing on CPU/MPS."""
    if dev.type != "cuda" or not cfg.amp:
        return contextlib.nullcontext(), None
    dtype = torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
    scaler = torch.amp.GradScaler("cuda") if dtype == torch.float16 else None
    return torch.autocast("cuda", dtype=dtype), scaler


class WeightAverage:
    """An exponential moving average of a model's trained weights (Polyak averaging).

    With a high learning rate the weights jitter around a good region; their running average sits
    nearer its middle, which on small data beats the last iterate. Each update does
    ``average = decay * average + (1 - decay) * weights``, starting from the initial weights, so
    the average remembers about the last ``1 / (1 - decay)`` steps.
    """

    def __init__(self, model: torch.nn.Module, decay: float):
        if not 0 <= decay < 1:
            raise ValueError(f"the decay of a weight average must be in [0, 1), got {decay}")
        self.decay = decay
        self.params = {n: p for n, p in model.named_parameters() if p.requires_grad}
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
    loss_fn: Callable[[torch.nn.Module, torch.Tensor, torch.Tensor], torch.Tensor] = lm_loss,
) -> History:
    """Train ``model`` (returns logits ``(B, T, V)``) on ``train_tokens``; returns the history.

    ``train_tokens`` is a token stream (random windows are cut from it) or a callable
    ``sample(batch_size, generator) -> (x, y)`` that draws a batch itself (fine-tuning: padded
    prompt/response pairs with masked labels; classification: texts and class ids), with
    ``loss_fn(model, x, y)`` (default :func:`lm_loss`) scoring it. Only parameters with
    ``requires_grad`` are optimized (frozen layers, LoRA).

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
    rank, world = _world()
    per_rank, rest = divmod(cfg.batch_size, cfg.grad_accum * world)
    if rest or per_rank < 1:
        raise ValueError(f"batch_size ({cfg.batch_size}) must split evenly into grad_accum "
                         f"({cfg.grad_accum}) x processes ({world}) micro-batches")  # fmt: skip
    dev = params[0].device
    sample = train_tokens if callable(train_tokens) else None
    if sample is None:
        tokens = as_token_tensor(train_tokens, cfg.context_length)
    gen = torch.Generator().manual_seed(cfg.seed)
    opt = make_optimizer(model, cfg.lr, cfg.weight_decay)
    autocast, scaler = _autocast(dev, cfg)
    hist = History()
    average = WeightAverage(model, cfg.ema_decay) if cfg.ema_decay else None
    identity = {
        "train_config": asdict(cfg),
        "model_config": _config_dict(getattr(model, "config", None)),
    }
    start = 0
    if resume:
        state = load_checkpoint(checkpoint, expect=identity)
        model.load_state_dict(state["model"])
        opt.load_state_dict(state["optimizer"])
        gen.set_state(state["data_rng"])
        torch.set_rng_state(state["torch_rng"])
        if dev.type == "cuda" and state.get("cuda_rng") is not None:
            torch.cuda.set_rng_state(state["cuda_rng"], dev)
        if scaler is not None and state.get("scaler"):
            scaler.load_state_dict(state["scaler"])
        if average is not None:
            average.load_state_dict(state["weight_average"])
        hist.__dict__.update({k: list(v) for k, v in state["history"].items()})
        start = state["step"]

    def save(step: int) -> None:
        if checkpoint is None or rank != 0:
            return
        save_checkpoint({
            **identity, "step": step, "model": model.state_dict(), "optimizer": opt.state_dict(),
            "data_rng": gen.get_state(), "torch_rng": torch.get_rng_state(),
            "cuda_rng": torch.cuda.get_rng_state(dev) if dev.type == "cuda" else None,
            "scaler": scaler.state_dict() if scaler is not None else None,
            "weight_average": average.state_dict() if average is not None else None,
            "history": asdict(hist),
        }, checkpoint)  # fmt: skip

    net = model
    if world > 1:
        ids = [dev.index] if dev.type == "cuda" else None
        net = torch.nn.parallel.DistributedDataParallel(model, device_ids=ids)
    end = cfg.steps if stop_at is None else stop_at
    if end < start:
        raise ValueError(f"{checkpoint} is already at step {start}, past stop_at={stop_at}")
    model.train()
    bar = tqdm(range(start, end), desc="train", disable=not progress or rank != 0,
               mininterval=1.0)  # fmt: skip
    for step in bar:
        lr = lr_at(step, cfg)
        for group in opt.param_groups:
            group["lr"] = lr
        if sample is not None:
            x, y = sample(cfg.batch_size, gen)  # the global batch
        else:
            x, y = random_batch(tokens, cfg.batch_size, cfg.context_length, gen)
        x, y = x.to(dev), y.to(dev)
        opt.zero_grad(set_to_none=True)
        step_loss = 0.0
        for micro in range(cfg.grad_accum):
            lo = (micro * world + rank) * per_rank
            sync = micro == cfg.grad_accum - 1 or world == 1
            with (contextlib.nullcontext() if sync else net.no_sync()), autocast:
                loss = loss_fn(net, x[lo : lo + per_rank], y[lo : lo + per_rank]) / cfg.grad_accum
            (scaler.scale(loss) if scaler is not None else loss).backward()
            step_loss += loss.item()
        if world > 1:  # log the loss of the whole global batch, not this process's share
            total = torch.tensor([step_loss], dtype=torch.float64)
            dist.all_reduce(total)
            step_loss = total.item() / world
        if scaler is not None:
            scaler.unscale_(opt)
        if cfg.grad_clip:
            torch.nn.utils.clip_grad_norm_(model.parameters(), cfg.grad_clip)
        if scaler is not None:
            scaler.step(opt)
            scaler.update()
        else:
            opt.step()
        if average is not None:
            average.update()
        hist.steps.append(step)
        hist.train_loss.append(step_loss)
        hist.lr.append(lr)
        if (step + 1) % cfg.eval_every == 0 or step + 1 == cfg.steps:
            with average.swapped_in() if average is not None else contextlib.nullcontext():
                val = None
                if eval_tokens is not None:
                    with autocast:
                        val = evaluate(model, eval_tokens, cfg.context_length, cfg.batch_size,
                                       cfg.eval_batches, cfg.seed)  # fmt: skip
                    hist.eval_steps.append(step + 1)
                    hist.eval_loss.append(val)
                    bar.set_postfix(loss=f"{step_loss:.3f}", eval=f"{val:.3f}")
                if on_eval is not None:
                    on_eval(step + 1, val)
                    model.train()
        if checkpoint_every and (step + 1) % checkpoint_every == 0 and step + 1 < end:
            save(step + 1)
    save(end)
    if average is not None and end == cfg.steps:
        average.copy_to_model()
    return hist
