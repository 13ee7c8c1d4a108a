"""Chapter 6 checks: cross-entropy from logits, the warm-up + cosine schedule, gradient
clipping, bits per character, a training-time estimate from 6·N·D, and the keystone: one
training step (loss, backward, clip, update) as a function over a dict of weights."""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

from llmbook.exercises.core import Fail, call, exercise, expect_close
from llmbook.gpt import GPT, GPTConfig
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
            value = _as_float(got)
            if value is not None and not math.isclose(value, lr_at(step, cfg), rel_tol=1e-5):
                if step < warmup and math.isclose(value, lr * step / warmup, rel_tol=1e-5):
                    raise Fail("워밍업이 0에서 시작합니다. 첫 단계부터 배우도록 lr * (step + 1) / warmup을 씁니다.",
                               "the warm-up starts at 0: use lr * (step + 1) / warmup, so the "
                               "first step already learns.")  # fmt: skip
                no_floor = TrainConfig(steps=steps, lr=lr, warmup_steps=warmup, min_lr_ratio=0.0)
                if floor and math.isclose(value, lr_at(step, no_floor), rel_tol=1e-5):
                    raise Fail("코사인이 0까지 내려갑니다. 바닥은 lr * min_lr_ratio입니다: "
                               "lr * (min_lr_ratio + (1 - min_lr_ratio) * cosine).",
                               "the cosine decays to 0: its floor is lr * min_lr_ratio, "
                               "lr * (min_lr_ratio + (1 - min_lr_ratio) * cosine).")  # fmt: skip
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
        per_tensor = [g * min(1.0, max_norm / (float(g.norm()) + 1e-6)) for g in grads]
        if scale > 1 and all(isinstance(g, torch.Tensor) and g.shape == w.shape
                             and torch.allclose(g, w, atol=1e-5) for g, w in zip(got, per_tensor)):  # fmt: skip
            raise Fail("텐서마다 따로 클리핑했습니다. 모든 기울기를 하나의 벡터로 보고 그 전체 노름으로 한 번에 줄여야 "
                       "합니다(방향이 보존됩니다).",
                       "each tensor was clipped on its own: treat all gradients as one vector and "
                       "scale them by its total norm (so the direction is kept).")  # fmt: skip
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


# --- keystone: one training step ----------------------------------------------------------------

STEP_CONFIG = GPTConfig(vocab_size=32, context_length=8, n_layer=1, n_head=2, n_embd=16)


def reference_step(weights: dict, x: torch.Tensor, y: torch.Tensor, lr: float, max_norm: float,
                   mistake: str = "") -> tuple[float, dict]:  # fmt: skip
    """One SGD step of a :data:`STEP_CONFIG` GPT loaded with ``weights``: mean next-token loss,
    backward, clip the gradient norm to ``max_norm``, ``w <- w - lr * grad``; or with a mistake."""
    model = GPT(STEP_CONFIG)
    model.load_state_dict(weights)
    logits = model(x)
    reduction = "sum" if mistake == "sum" else "mean"
    loss = F.cross_entropy(logits.flatten(0, 1), y.flatten(), reduction=reduction)
    loss.backward()
    if mistake != "no clip":
        torch.nn.utils.clip_grad_norm_(model.parameters(), max_norm)
    sign = 1.0 if mistake == "sign" else -1.0
    with torch.no_grad():
        for p in model.parameters():
            p.add_(sign * lr * p.grad)
    return loss.item(), {k: v.detach().clone() for k, v in model.state_dict().items()}


_STEP_HINTS = {
    "sign": (
        "가중치가 기울기 방향으로 움직였습니다. 손실을 줄이려면 기울기의 반대 방향으로 갑니다: "
        "w = w - lr * grad.",
        "the weights moved along the gradient: to lower the loss step against it, "
        "w = w - lr * grad.",
    ),
    "no clip": (
        "갱신에 클리핑하지 않은 기울기를 썼습니다. 클리핑은 backward 뒤, 갱신 전에 합니다(갱신 뒤의 클리핑은 "
        "아무 효과가 없습니다).",
        "the update used the unclipped gradient: clip after backward and before the update "
        "(clipping after the step changes nothing).",
    ),
}


def _weights_close(got, want: dict) -> bool:
    if not isinstance(got, dict):
        return False
    for k, v in want.items():
        if k == "head.weight":
            continue
        g = got.get(k)
        if (
            not isinstance(g, torch.Tensor)
            or g.shape != v.shape
            or not torch.allclose(g, v, atol=1e-5)
        ):
            return False
    return True


def _step_case(seed: int) -> tuple[dict, torch.Tensor, torch.Tensor]:
    torch.manual_seed(seed)
    model = GPT(STEP_CONFIG)
    gen = torch.Generator().manual_seed(seed)
    x = torch.randint(0, STEP_CONFIG.vocab_size, (4, STEP_CONFIG.context_length), generator=gen)
    y = torch.randint(0, STEP_CONFIG.vocab_size, (4, STEP_CONFIG.context_length), generator=gen)
    return {k: v.detach().clone() for k, v in model.state_dict().items()}, x, y


@exercise("06.6", "training_step", points=4, ko="손실을 낮추는 훈련 한 단계",
          en="One training step that lowers the loss")  # fmt: skip
def _training_step(fn) -> None:
    first = None
    for seed, lr, max_norm in ((62, 0.1, 100.0), (62, 0.1, 100.0), (61, 0.5, 0.05)):
        weights, x, y = _step_case(seed)
        what = f"training_step(weights, x, y, lr={lr}, max_norm={max_norm})"
        got = call(
            fn, {k: v.clone() for k, v in weights.items()}, x.clone(), y.clone(), lr, max_norm
        )
        if not isinstance(got, tuple) or len(got) != 2:
            raise Fail("(손실, 새 가중치 딕셔너리) 두 값을 튜플로 반환해야 합니다.",
                       "return a tuple of two: (loss, dict of new weights).")  # fmt: skip
        loss, new = got
        want_loss, want = reference_step(weights, x, y, lr, max_norm)
        value = _as_float(loss)
        if value is not None and math.isclose(value, want_loss * x.numel(), rel_tol=1e-4):
            raise Fail("손실이 평균이 아니라 합입니다. 토큰 수로 나눈 평균 교차 엔트로피를 쓰세요"
                       "(합을 쓰면 배치가 클수록 갱신이 커집니다).",
                       "the loss is a sum, not a mean: use the cross-entropy averaged over the "
                       "tokens (with a sum the step grows with the batch).")  # fmt: skip
        if first is not None and _weights_close(first, want) and not _weights_close(new, want):
            raise Fail("같은 입력으로 다시 불렀더니 결과가 달라졌습니다. 이전 호출의 기울기가 쌓였습니다: "
                       "backward 전에 기울기를 0으로 만드세요(model.zero_grad()).",
                       "called again with the same inputs, it gave another result: the previous "
                       "call's gradients accumulated. Zero them before backward (model.zero_grad()).")  # fmt: skip
        expect_close(loss, want_loss, f"{what}: the loss before the step", atol=1e-5)
        if not _weights_close(new, want):
            for mistake, hint in _STEP_HINTS.items():
                if _weights_close(new, reference_step(weights, x, y, lr, max_norm, mistake)[1]):
                    raise Fail(*hint)
            if not isinstance(new, dict) or set(want) - {"head.weight"} - set(new):
                raise Fail("새 가중치는 받은 weights와 같은 이름의 텐서 딕셔너리여야 합니다.",
                           "the new weights must be a dict of tensors with the names of `weights`.")  # fmt: skip
            for k, v in want.items():
                if k != "head.weight":
                    expect_close(new.get(k), v, f"{what}: new {k}", atol=1e-5)
        if first is None:
            first = new
