"""Chapter 4 checks: masked softmax, causal mask, one attention head, sinusoidal positions."""

from __future__ import annotations

import torch

from llmbook.attention import causal_mask, masked_softmax, scaled_dot_product_attention
from llmbook.embedding import sinusoidal_positions
from llmbook.exercises.core import call, exercise, expect_close, expect_equal


def _as_tensor(x) -> torch.Tensor:
    return torch.as_tensor(x)


@exercise("04.1", "masked_softmax", points=2, ko="마스크를 적용한 소프트맥스",
          en="Softmax with a mask")  # fmt: skip
def _masked_softmax(fn) -> None:
    gen = torch.Generator().manual_seed(41)
    for n in (1, 3, 6):
        scores = torch.randn(n, n, generator=gen) * 2
        mask = (torch.rand(n, n, generator=gen) < 0.6) | torch.eye(n, dtype=torch.bool)
        got = call(fn, scores.clone(), mask.clone())
        expect_close(got, masked_softmax(scores, mask), f"masked_softmax(scores {n}x{n}, mask)",
                     atol=1e-5)  # fmt: skip


@exercise("04.2", "causal_mask", points=1, ko="인과 마스크 만들기", en="Build a causal mask")
def _causal_mask(fn) -> None:
    for n in (1, 2, 5):
        got = _as_tensor(call(fn, n))
        expect_equal(got.bool().tolist(), causal_mask(n).tolist(), f"causal_mask({n})")


@exercise("04.3", "attention_head", points=3, ko="어텐션 헤드 하나 구현하기",
          en="One attention head")  # fmt: skip
def _attention_head(fn) -> None:
    gen = torch.Generator().manual_seed(43)
    for T, d_in, d in ((4, 6, 3), (7, 8, 4), (1, 5, 5)):
        x = torch.randn(T, d_in, generator=gen)
        w_q, w_k, w_v = (torch.randn(d_in, d, generator=gen) for _ in range(3))
        got = call(fn, x.clone(), w_q.clone(), w_k.clone(), w_v.clone())
        mask = causal_mask(T)
        expected = scaled_dot_product_attention(x @ w_q, x @ w_k, x @ w_v, mask)[0]
        expect_close(got, expected, f"attention_head(x of shape {(T, d_in)}, ...)", atol=1e-5)


@exercise("04.4", "sinusoidal", points=2, ko="사인파 위치 인코딩", en="Sinusoidal positions")
def _sinusoidal(fn) -> None:
    for n, dim in ((4, 2), (10, 8), (32, 16)):
        got = call(fn, n, dim)
        expect_close(got, sinusoidal_positions(n, dim), f"sinusoidal({n}, {dim})", atol=1e-5)
