"""Chapter 6: right and typical wrong answers for every exercise (see tests/exercises/test_wrong_answers.py)."""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

from llmbook.exercises.ch06 import STEP_CONFIG
from llmbook.gpt import GPT


def next_token_loss(logits, targets, sign=1.0):
    log_probs = torch.log_softmax(logits, dim=-1).gather(-1, targets[..., None])[..., 0]
    return -sign * log_probs.mean()


def learning_rate(step, lr, warmup, steps, floor_ratio, off_by_one=False, floor=True):
    if step < warmup:
        return lr * (step if off_by_one else step + 1) / warmup
    progress = min(1.0, (step - warmup) / max(1, steps - warmup))
    cosine = 0.5 * (1 + math.cos(math.pi * progress))
    if not floor:
        return lr * cosine
    return lr * (floor_ratio + (1 - floor_ratio) * cosine)


def clip_gradients(grads, max_norm, per_tensor=False):
    if per_tensor:
        return [g * min(1.0, max_norm / (g.norm() + 1e-6)) for g in grads]
    total = torch.sqrt(sum((g**2).sum() for g in grads))
    scale = min(1.0, max_norm / (float(total) + 1e-6))
    return [g * scale for g in grads]


def bits_per_char(log_probs, n_chars, bits=True):
    return -float(sum(log_probs)) / (math.log(2) if bits else 1.0) / n_chars


def training_days(n_params, n_tokens, peak_flops, utilisation, per_day=86400):
    return 6 * n_params * n_tokens / (peak_flops * utilisation) / per_day


def make_training_step(zero_grad=True, clip_before=True, sign=-1.0, reduction="mean"):
    model = GPT(STEP_CONFIG)

    def training_step(weights, x, y, lr, max_norm):
        model.load_state_dict(weights)
        if zero_grad:
            model.zero_grad()
        logits = model(x)
        loss = F.cross_entropy(logits.flatten(0, 1), y.flatten(), reduction=reduction)
        loss.backward()
        if clip_before:
            torch.nn.utils.clip_grad_norm_(model.parameters(), max_norm)
        with torch.no_grad():
            for p in model.parameters():
                p += sign * lr * p.grad
        if not clip_before:
            torch.nn.utils.clip_grad_norm_(model.parameters(), max_norm)
        return loss.item(), {k: v.clone() for k, v in model.state_dict().items()}

    return training_step


def _with(fn, **kw):
    return lambda *args: fn(*args, **kw)


RIGHT = {
    "06.1": {"next_token_loss": next_token_loss},
    "06.2": {"learning_rate": learning_rate},
    "06.3": {"clip_gradients": clip_gradients},
    "06.4": {"bits_per_char": bits_per_char},
    "06.5": {"training_days": training_days},
    "06.6": {"training_step": make_training_step()},
}

WRONG = {
    "06.1": [({"next_token_loss": _with(next_token_loss, sign=-1.0)}, "sign is flipped")],
    "06.2": [
        ({"learning_rate": _with(learning_rate, off_by_one=True)}, "step + 1"),
        ({"learning_rate": _with(learning_rate, floor=False)}, "min_lr_ratio"),
    ],
    "06.3": [({"clip_gradients": _with(clip_gradients, per_tensor=True)}, "one vector")],
    "06.4": [({"bits_per_char": _with(bits_per_char, bits=False)}, "nats per character")],
    "06.5": [({"training_days": _with(training_days, per_day=1)}, "in seconds")],
    "06.6": [
        ({"training_step": make_training_step(zero_grad=False)}, "accumulated"),
        ({"training_step": make_training_step(clip_before=False)}, "unclipped"),
        ({"training_step": make_training_step(sign=1.0)}, "step against it"),
        ({"training_step": make_training_step(reduction="sum")}, "is a sum, not a mean"),
    ],
}
