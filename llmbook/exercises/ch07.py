"""Chapter 7 checks: the fine-tuning loss mask, a padded batch, a LoRA layer, int8 quantization,
LoRA's trainable-parameter count."""

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
        expect_equal(_as_list(got[0]), x[0].tolist(), f"inputs of sft_example({prompt}, {response})")
        expect_equal(_as_list(got[1]), y[0].tolist(), f"labels of sft_example({prompt}, {response})")


@exercise("07.2", "pad_batch", points=2, ko="패딩으로 배치 만들기", en="A padded batch")
def _pad_batch(fn) -> None:
    rng = random.Random(72)
    for n, pad_id in ((1, 0), (3, 0), (4, 99), (5, 7)):
        examples = _examples(rng, n)
        got = _pair(call(fn, [(list(p), list(r)) for p, r in examples], pad_id),
                    f"pad_batch(<{n} examples>, pad_id={pad_id})")  # fmt: skip
        x, y = collate(examples, pad_id)
        for name, g, ref in (("inputs", got[0], x), ("labels", got[1], y)):
            expect_close(g, ref, f"{name} of pad_batch(<{n} examples>, pad_id={pad_id})", atol=0, rtol=0)


@exercise("07.3", "lora_forward", points=2, ko="LoRA 층의 순전파", en="A LoRA layer's forward pass")
def _lora_forward(fn) -> None:
    gen = torch.Generator().manual_seed(73)
    for d_in, d_out, r, alpha in ((4, 3, 1, 1.0), (6, 5, 2, 4.0), (8, 8, 4, 16.0)):
        with torch.random.fork_rng(devices=[]):  # leave the notebook's random state alone
            layer = LoRALinear(nn.Linear(d_in, d_out), r=r, alpha=alpha)
        with torch.no_grad():
            for t in (layer.base.weight, layer.base.bias, layer.A, layer.B):
                t.copy_(torch.randn(t.shape, generator=gen))
            x = torch.randn(3, d_in, generator=gen)
            expected = layer(x)
        args = (x, layer.base.weight, layer.base.bias, layer.A, layer.B, alpha)
        got = call(fn, *(a.detach().clone() if isinstance(a, torch.Tensor) else a for a in args))
        expect_close(got, expected, f"lora_forward(x, W, b, A, B, alpha={alpha}) with r={r}", atol=1e-5)


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
