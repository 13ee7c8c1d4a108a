"""Chapter 7 checks: the fine-tuning loss mask, a padded batch, a LoRA layer and its merge, int8
quantization, LoRA's trainable-parameter count."""

from __future__ import annotations

import random

import torch
from torch import nn

from llmbook.exercises.core import Fail, call, exercise, expect_close, expect_equal
from llmbook.finetune import collate
from llmbook.gpt import GPT, GPTConfig
from llmbook.lora import LoRALinear, add_lora, count_parameters
from llmbook.quantize import dequantize_int8, quantize_int8


def _examples(rng: random.Random, n: int) -> list[tuple[list[int], list[int]]]:
    """``n`` random (prompt ids, response ids) pairs of 1..6 and 1..5 tokens."""
    return [([rng.randrange(50) for _ in range(rng.randint(1, 6))],
             [rng.randrange(50) for _ in range(rng.randint(1, 5))]) for _ in range(n)]  # fmt: skip


def _pair(got, what: str) -> tuple:
    if not isinstance(got, (tuple, list)) or len(got) != 2:
        raise Fail(f"{what}: 두 값을 튜플로 반환해야 합니다. 받은 값: {type(got).__name__}",
                   f"{what}: return a tuple of two values, got a {type(got).__name__}")  # fmt: skip
    return tuple(got)


def _as_list(x):
    return x.tolist() if isinstance(x, torch.Tensor) else x


@exercise("07.1", "sft_example", points=2, ko="응답에만 손실을 거는 레이블",
          en="Labels that train the response only")  # fmt: skip
def _sft_example(fn) -> None:
    rng = random.Random(71)
    for prompt, response in [([5, 6, 7], [8, 9]), ([1], [2]), *_examples(rng, 6)]:
        got = _pair(call(fn, list(prompt), list(response)), f"sft_example({prompt}, {response})")
        x, y = collate([(prompt, response)], pad_id=0)
        what = f"sft_example({prompt}, {response})"
        expect_equal(_as_list(got[0]), x[0].tolist(), f"inputs of {what}")
        labels = _as_list(got[1])
        if len(prompt) > 1 and labels == (prompt + response)[1:]:
            raise Fail(f"{what}: 레이블이 다음 토큰 전부입니다. 프롬프트 토큰을 예측하는 자리의 레이블은 "
                       "-100이어야 손실에서 빠집니다.",
                       f"{what}: the labels are every next token. The labels of positions that "
                       "predict a prompt token must be -100, so the loss skips them.")  # fmt: skip
        expect_equal(labels, y[0].tolist(), f"labels of {what}")


@exercise("07.2", "pad_batch", points=2, ko="패딩으로 배치 만들기", en="A padded batch")
def _pad_batch(fn) -> None:
    rng = random.Random(72)
    for n, pad_id in ((1, 0), (3, 0), (4, 99), (5, 7)):
        examples = _examples(rng, n)
        got = _pair(call(fn, [(list(p), list(r)) for p, r in examples], pad_id),
                    f"pad_batch(<{n} examples>, pad_id={pad_id})")  # fmt: skip
        x, y = collate(examples, pad_id)
        labels = got[1]
        if (isinstance(labels, torch.Tensor) and labels.shape == y.shape and n > 1
                and bool(((labels == pad_id) & (y == -100) & (x == pad_id)).any())):  # fmt: skip
            raise Fail(f"pad_batch(<{n}개 예제>, pad_id={pad_id}): 패딩 자리의 레이블이 pad_id입니다. "
                       "패딩도 -100이어야 손실에서 빠집니다.",
                       f"pad_batch(<{n} examples>, pad_id={pad_id}): padding positions have the label "
                       "pad_id. Padding must be -100 too, so the loss skips it.")  # fmt: skip
        for name, g, ref in (("inputs", got[0], x), ("labels", got[1], y)):
            expect_close(g, ref, f"{name} of pad_batch(<{n} examples>, pad_id={pad_id})", atol=0, rtol=0)


def _lora_cases(seed: int):
    """(layer, x) for a few shapes: square and not, r = 1 and more, alpha != r."""
    gen = torch.Generator().manual_seed(seed)
    for d_in, d_out, r, alpha in ((4, 3, 1, 1.0), (6, 5, 2, 4.0), (8, 8, 4, 16.0), (5, 7, 2, 3.0)):
        with torch.random.fork_rng(devices=[]):  # leave the notebook's random state alone
            layer = LoRALinear(nn.Linear(d_in, d_out), r=r, alpha=alpha)
        with torch.no_grad():
            for t in (layer.base.weight, layer.base.bias, layer.A, layer.B):
                t.copy_(torch.randn(t.shape, generator=gen))
        yield layer, torch.randn(3, d_in, generator=gen)


def _lora_diagnose(got, candidates: dict[str, torch.Tensor], what: str) -> None:
    """Name the typical mistake whose result ``got`` matches, if any."""
    hints = {
        "no scale": ("갱신에 alpha / r 배율을 곱하지 않았습니다.",
                     "the update is not multiplied by the scale alpha / r."),
        "inverted": ("배율이 거꾸로입니다: r / alpha가 아니라 alpha / r입니다.",
                     "the scale is inverted: it is alpha / r, not r / alpha."),
        "alpha only": ("배율이 alpha뿐입니다: alpha / r로 나누어야 r를 바꿔도 갱신의 크기가 유지됩니다.",
                       "the scale is alpha alone: divide by r (alpha / r), so changing r keeps the "
                       "update's size."),
        "swapped": ("A와 B가 뒤바뀌었습니다: A는 (r, in), B는 (out, r)이므로 갱신은 x @ A.T @ B.T "
                    "(가중치로는 B @ A)입니다.",
                    "A and B are swapped: A is (r, in) and B is (out, r), so the update is "
                    "x @ A.T @ B.T (as a weight, B @ A)."),
        "transposed": ("병합한 가중치가 전치되어 있습니다: nn.Linear처럼 (out, in) 모양이어야 합니다 "
                       "(B @ A, A.T @ B.T가 아니라).",
                       "the merged weight is transposed: it must be (out, in) like nn.Linear's "
                       "(B @ A, not A.T @ B.T)."),
        "no base": ("기본 가중치 W(와 b)가 빠졌습니다: LoRA는 고정된 W에 갱신을 더합니다.",
                    "the frozen base W (and b) is missing: LoRA adds the update to W."),
    }
    if not isinstance(got, torch.Tensor):
        return
    for name, c in candidates.items():
        if c is not None and got.shape == c.shape and torch.allclose(got.double(), c.double(), atol=1e-4):
            ko, en = hints[name]
            raise Fail(f"{what}: {ko}", f"{what}: {en}")


def _shape_hint(f: Fail) -> Fail:
    """A shape error inside the learner's function: add where A and B's shapes come from."""
    if "size" in f.text["en"] or "shape" in f.text["en"]:
        return Fail(f.text["ko"] + " — A와 B가 뒤바뀌거나 전치되지 않았나요? A는 (r, in), B는 (out, r), "
                    "W는 (out, in) 모양입니다.",
                    f.text["en"] + " — are A and B swapped or transposed? A is (r, in), B is (out, r) "
                    "and W is (out, in).")  # fmt: skip
    return f


@exercise("07.3", "lora_forward", points=2, ko="LoRA 층의 순전파", en="A LoRA layer's forward pass")
def _lora_forward(fn) -> None:
    for layer, x in _lora_cases(73):
        W, b, A, B, alpha, r = layer.base.weight, layer.base.bias, layer.A, layer.B, layer.alpha, layer.r
        with torch.no_grad():
            expected = layer(x)
            base_out, update = x @ W.T + b, x @ A.T @ B.T
            candidates = {
                "no scale": base_out + update, "inverted": base_out + update * r / alpha,
                "alpha only": base_out + update * alpha, "no base": update * alpha / r,
                "swapped": base_out + x @ B @ A * alpha / r if W.shape[0] == W.shape[1] else None,
            }
        what = f"lora_forward(x, W, b, A, B, alpha={alpha:g}) with r={r}"
        args = (x, W, b, A, B, alpha)
        try:
            got = call(fn, *(a.detach().clone() if isinstance(a, torch.Tensor) else a for a in args))
        except Fail as f:
            raise _shape_hint(f) from None
        right = (isinstance(got, torch.Tensor) and got.shape == expected.shape
                 and torch.allclose(got.double(), expected.double(), atol=1e-5))  # fmt: skip
        if not right:
            _lora_diagnose(got, {k: v for k, v in candidates.items() if k != "alpha only" or alpha != 1},
                           what)  # fmt: skip
        expect_close(got, expected, what, atol=1e-5)


@exercise("07.6", "merge_lora_weights", points=2, ko="LoRA를 가중치 하나로 병합하기",
          en="Merge LoRA into one weight")  # fmt: skip
def _merge_lora_weights(fn) -> None:
    for layer, x in _lora_cases(76):
        W, A, B, alpha, r = layer.base.weight, layer.A, layer.B, layer.alpha, layer.r
        with torch.no_grad():
            merged = layer.merged().weight
            delta = B @ A
            candidates = {
                "no scale": W + delta, "inverted": W + delta * r / alpha, "no base": delta * alpha / r,
                "alpha only": W + delta * alpha if alpha != 1 else None,
                "transposed": (W + delta * alpha / r).T if W.shape[0] != W.shape[1] else None,
                "swapped": W + A @ B * alpha / r if W.shape[0] == W.shape[1] == A.shape[0] else None,
            }
        what = f"merge_lora_weights(W, A, B, alpha={alpha:g}) with r={r}"
        try:
            got = call(fn, W.detach().clone(), A.detach().clone(), B.detach().clone(), alpha)
        except Fail as f:
            raise _shape_hint(f) from None
        if isinstance(got, torch.Tensor) and not (got.shape == merged.shape
                                                  and torch.allclose(got.double(), merged.double(), atol=1e-5)):  # fmt: skip
            _lora_diagnose(got, candidates, what)
            if got.shape == merged.shape:
                with torch.no_grad():
                    diff = (x.double() @ (got.double() - merged.double()).T).abs().max().item()
                raise Fail(f"{what}: 병합한 가중치로 계산한 x @ W_merged.T + b가 어댑터의 출력 "
                           f"base(x) + (alpha / r) * x @ A.T @ B.T와 다릅니다 (최대 차이 {diff:.3g}).",
                           f"{what}: x @ W_merged.T + b with your merged weight differs from the adapter's "
                           f"output base(x) + (alpha / r) * x @ A.T @ B.T (max difference {diff:.3g}).")  # fmt: skip
        expect_close(got, merged, what, atol=1e-5)


@exercise("07.4", "int8_quantize", points=3, ko="int8 양자화 (행마다 absmax)",
          en="Int8 quantization (absmax per row)")  # fmt: skip
def _int8_quantize(fn) -> None:
    gen = torch.Generator().manual_seed(74)
    cases = [torch.randn(3, 5, generator=gen), torch.randn(6, 16, generator=gen) * 0.02,
             torch.cat([torch.zeros(1, 4), torch.randn(2, 4, generator=gen)])]  # fmt: skip
    for w in cases:
        zeros = ", with a row of zeros" if not w[0].any() else ""
        what = f"int8_quantize(<{tuple(w.shape)} matrix{zeros}>)"
        q, scale = _pair(call(fn, w.clone()), what)
        ref_q, ref_scale = quantize_int8(w)
        if not isinstance(q, torch.Tensor) or q.dtype != torch.int8:
            kind = getattr(q, "dtype", type(q).__name__)
            raise Fail(f"{what}: q는 torch.int8 텐서여야 합니다 (받은 값: {kind}).",
                       f"{what}: q must be a torch.int8 tensor (got {kind}).")  # fmt: skip
        s_got = torch.as_tensor(scale, dtype=torch.float64) if isinstance(scale, (torch.Tensor, float)) else None
        if s_got is not None and s_got.numel() == 1 and w.shape[0] > 1:
            raise Fail(f"{what}: 행렬 전체에 scale이 하나뿐입니다. 행마다 자기 absmax로 scale을 따로 "
                       "구해야 합니다 (모양 (행 수, 1)).",
                       f"{what}: one scale for the whole matrix. Each row needs its own scale from its "
                       "own absmax (shape (rows, 1)).")  # fmt: skip
        if s_got is not None and s_got.shape == ref_scale.shape and torch.allclose(
                s_got, ref_scale.double() * 127 / 128, atol=1e-7):  # fmt: skip
            raise Fail(f"{what}: scale = absmax / 127이어야 합니다 (int8의 대칭 범위 -127..127).",
                       f"{what}: scale = absmax / 127 (int8's symmetric range -127..127).")  # fmt: skip
        expect_close(scale, ref_scale, f"scale of {what}", atol=1e-7)
        expect_close(q, ref_q, f"q of {what}", atol=0, rtol=0)
        expect_close(q.float() * torch.as_tensor(scale), dequantize_int8(ref_q, ref_scale),
                     f"q * scale of {what}", atol=1e-6)  # fmt: skip


@exercise("07.5", "lora_trainable", points=2, ko="LoRA가 훈련하는 매개변수 수",
          en="How many parameters LoRA trains")  # fmt: skip
def _lora_trainable(fn) -> None:
    for n_embd, n_layer, r in ((8, 1, 1), (16, 2, 4), (32, 3, 8), (24, 4, 2)):
        cfg = GPTConfig(vocab_size=32, context_length=8, n_layer=n_layer, n_head=2, n_embd=n_embd)
        with torch.random.fork_rng(devices=[]):  # leave the notebook's random state alone
            expected = count_parameters(add_lora(GPT(cfg), r=r))[0]
        got = call(fn, n_embd, n_layer, r)
        expect_equal(got, expected, f"lora_trainable(n_embd={n_embd}, n_layer={n_layer}, r={r})")
