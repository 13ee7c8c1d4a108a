"""Chapter 6 checks: cross-entropy from logits, the warm-up + cosine schedule, gradient
clipping, bits per character, and a training-time estimate from 6·N·D."""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

from llmbook.exercises.core import Fail, call, exercise, expect_close
from llmbook.metrics import perplexity
from llmbook.scaling import training_flops, training_seconds
from llmbook.train import TrainConfig, lr_at


def _as_float(x) -> float | None:
    try:
        return float(x)
    except (TypeError, ValueError, RuntimeError):
        return None


@exercise("06.1", "next_token_loss", points=2, ko="로짓에서 교차 엔트로피 구하기",
          en="Cross-entropy from logits")  # fmt: skip
def _next_token_loss(fn) -> None:
    gen = torch.Generator().manual_seed(6)
    for B, T, V in [(1, 1, 3), (2, 5, 7), (3, 4, 50)]:
        logits = torch.randn(B, T, V, generator=gen) * 3
        targets = torch.randint(0, V, (B, T), generator=gen)
        got = call(fn, logits.clone(), targets.clone())
        want = F.cross_entropy(logits.flatten(0, 1), targets.flatten()).item()
        value = _as_float(got)
        if value is not None and math.isclose(value, -want, rel_tol=1e-4):
            raise Fail("손실의 부호가 반대입니다. 정답 토큰의 로그 확률 평균에 -를 붙여야 합니다.",
                       "the sign is flipped: the loss is minus the mean log-probability.")  # fmt: skip
        expect_close(got, want, f"logits {B}x{T}x{V}", atol=1e-5)


@exercise("06.2", "learning_rate", points=2, ko="워밍업 + 코사인 학습률 스케줄",
          en="Warm-up + cosine learning-rate schedule")  # fmt: skip
def _learning_rate(fn) -> None:
    for lr, warmup, steps, floor in [(1.0, 10, 100, 0.1), (3e-3, 0, 50, 0.0), (0.5, 5, 20, 0.2)]:
        cfg = TrainConfig(steps=steps, lr=lr, warmup_steps=warmup, min_lr_ratio=floor)
        for step in sorted({0, max(0, warmup - 1), warmup, steps // 2, steps - 1, steps}):
            got = call(fn, step, lr, warmup, steps, floor)
            expect_close(got, lr_at(step, cfg),
                         f"learning_rate({step}, {lr}, {warmup}, {steps}, {floor})")  # fmt: skip


@exercise("06.3", "clip_gradients", points=2, ko="기울기 클리핑", en="Gradient clipping")
def _clip_gradients(fn) -> None:
    gen = torch.Generator().manual_seed(7)
    for scale, max_norm in [(10.0, 1.0), (0.01, 1.0), (3.0, 0.5)]:
        grads = [torch.randn(4, 3, generator=gen) * scale, torch.randn(5, generator=gen) * scale]
        params = [torch.nn.Parameter(torch.zeros_like(g)) for g in grads]
        for p, g in zip(params, grads, strict=True):
            p.grad = g.clone()
        torch.nn.utils.clip_grad_norm_(params, max_norm)  # the reference: PyTorch's own rule
        got = call(fn, [g.clone() for g in grads], max_norm)
        if not isinstance(got, (list, tuple)) or len(got) != len(grads):
            raise Fail("기울기 텐서의 리스트를 (같은 순서로) 반환해야 합니다.",
                       "return a list of gradient tensors, in the same order.")  # fmt: skip
        for i, (g, p) in enumerate(zip(got, params, strict=True)):
            expect_close(g, p.grad, f"gradient {i} (scale {scale}, max_norm {max_norm})", atol=1e-5)


@exercise("06.4", "bits_per_char", points=1, ko="문자당 비트 수", en="Bits per character")
def _bits_per_char(fn) -> None:
    gen = torch.Generator().manual_seed(8)
    for n_tokens, n_chars in [(1, 1), (10, 31), (100, 250)]:
        log_probs = -torch.rand(n_tokens, generator=gen, dtype=torch.float64) * 6
        got = call(fn, log_probs.clone(), n_chars)
        want = math.log2(perplexity(log_probs, n_units=n_chars))
        value = _as_float(got)
        if value is not None and math.isclose(value, want * math.log(2), rel_tol=1e-6):
            raise Fail("문자당 nat이 나왔습니다. 비트로 바꾸려면 ln 2로 나눠야 합니다.",
                       "that is nats per character: divide by ln 2 to get bits.")  # fmt: skip
        expect_close(got, want, f"{n_tokens} log-probabilities over {n_chars} characters")


@exercise("06.5", "training_days", points=1, ko="훈련 기간 어림하기", en="Estimate training time")
def _training_days(fn) -> None:
    cases = [(124_439_808, 2.5e9, 989e12, 0.4), (175e9, 300e9, 989e12, 0.4),
             (2.6e6, 1.6e6, 1.5e10, 1.0), (1e6, 1e6, 1e9, 0.5)]  # fmt: skip
    for n_params, n_tokens, peak, util in cases:
        got = call(fn, n_params, n_tokens, peak, util)
        want = training_seconds(training_flops(n_params, n_tokens), peak, util) / 86400
        value = _as_float(got)
        if value is not None and math.isclose(value, want * 86400, rel_tol=1e-6):
            raise Fail("초 단위 값이 나왔습니다. 하루는 86,400초입니다.",
                       "that is in seconds: a day has 86,400 seconds.")  # fmt: skip
        expect_close(got, want, f"training_days({n_params:g}, {n_tokens:g}, {peak:g}, {util})",
                     atol=0, rtol=1e-6)  # fmt: skip
