"""Chapter 4 checks: masked softmax, causal mask, one attention head, sinusoidal positions, the
keystone (multi-head attention as a function of ``MultiHeadAttention``'s weights) and RoPE."""

from __future__ import annotations

import math

import torch

from llmbook.attention import (
    MultiHeadAttention,
    causal_mask,
    masked_softmax,
    scaled_dot_product_attention,
)
from llmbook.embedding import apply_rope, sinusoidal_positions
from llmbook.exercises.core import Fail, call, exercise, expect_close, expect_equal


def _as_tensor(x) -> torch.Tensor:
    return torch.as_tensor(x)


def _close(got, expected: torch.Tensor) -> bool:
    """Whether the learner's value equals one typical wrong answer."""
    return (isinstance(got, torch.Tensor) and got.shape == expected.shape
            and bool(torch.allclose(got.double(), expected.double(), atol=1e-5, equal_nan=True)))  # fmt: skip


@exercise("04.1", "masked_softmax", points=2, ko="마스크를 적용한 소프트맥스",
          en="Softmax with a mask")  # fmt: skip
def _masked_softmax(fn) -> None:
    gen = torch.Generator().manual_seed(41)
    for n in (1, 3, 6):
        scores = torch.randn(n, n, generator=gen) * 2
        mask = (torch.rand(n, n, generator=gen) < 0.6) | torch.eye(n, dtype=torch.bool)
        got = call(fn, scores.clone(), mask.clone())
        if n > 1 and _close(got, torch.softmax(scores, -1) * mask):
            raise Fail("소프트맥스 뒤에 마스크를 곱했습니다. 가려진 점수를 먼저 -inf로 바꾼 뒤 소프트맥스를 취하세요.",
                       "the mask was applied after the softmax: set the masked scores to -inf "
                       "first, then take the softmax.")  # fmt: skip
        if _close(got, masked_softmax(scores, ~mask)):
            raise Fail("마스크가 거꾸로입니다. True는 '볼 수 있음'이고, False인 자리를 가려야 합니다.",
                       "the mask is inverted: True means 'may attend'; hide the False positions.")  # fmt: skip
        expect_close(got, masked_softmax(scores, mask), f"masked_softmax(scores {n}x{n}, mask)",
                     atol=1e-5)  # fmt: skip


@exercise("04.2", "causal_mask", points=1, ko="인과 마스크 만들기", en="Build a causal mask")
def _causal_mask(fn) -> None:
    for n in (1, 2, 5):
        got = _as_tensor(call(fn, n))
        if n > 1 and got.shape == (n, n) and got.bool().tolist() == causal_mask(n).T.tolist():
            raise Fail("위아래가 뒤집혔습니다. 위치 i는 0..i를 보므로 대각선과 그 아래가 True입니다 (tril).",
                       "upside down: position i sees 0..i, so True on and below the diagonal "
                       "(tril).")  # fmt: skip
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
        q, k, v = x @ w_q, x @ w_k, x @ w_v
        if T > 1 and _close(got, masked_softmax(q @ k.T, mask) @ v):
            raise Fail("점수를 나누지 않았습니다. q·k를 √d로 나누세요 (d는 쿼리의 크기).",
                       "the scores are not scaled: divide q·k by √d (d, the query size).")  # fmt: skip
        if T > 1 and _close(got, torch.softmax(q @ k.T / math.sqrt(d), -1) @ v):
            raise Fail("인과 마스크가 없습니다. 위치 i는 j > i를 보면 안 됩니다.",
                       "the causal mask is missing: position i must not attend to any j > i.")  # fmt: skip
        expect_close(got, expected, f"attention_head(x of shape {(T, d_in)}, ...)", atol=1e-5)


@exercise("04.4", "sinusoidal", points=2, ko="사인파 위치 인코딩", en="Sinusoidal positions")
def _sinusoidal(fn) -> None:
    for n, dim in ((4, 2), (10, 8), (32, 16)):
        got = call(fn, n, dim)
        expect_close(got, sinusoidal_positions(n, dim), f"sinusoidal({n}, {dim})", atol=1e-5)


def multi_head_reference(x, w_qkv, b_qkv, w_proj, b_proj, n_head, scale="head", mask="before",
                         split=True, merge=True, proj=True) -> torch.Tensor:  # fmt: skip
    """Multi-head causal attention as a function of ``MultiHeadAttention``'s weights; the keyword
    arguments build the typical wrong answers (scale "model"/"none", mask "after"/"none", a
    split or merge without the transpose, no output projection) to recognise them."""
    B, T, C = x.shape
    d = C // n_head
    q, k, v = (x @ w_qkv.T + b_qkv).split(C, dim=-1)
    if split:
        q, k, v = (t.view(B, T, n_head, d).transpose(1, 2) for t in (q, k, v))
    else:
        q, k, v = (t.reshape(B, n_head, T, d) for t in (q, k, v))
    scores = q @ k.transpose(-2, -1) / {"head": math.sqrt(d), "model": math.sqrt(C), "none": 1.0}[scale]
    allowed = causal_mask(T)
    if mask == "before":
        weights = masked_softmax(scores, allowed)
    elif mask == "after":
        weights = torch.softmax(scores, dim=-1) * allowed
    else:
        weights = torch.softmax(scores, dim=-1)
    y = weights @ v
    y = y.transpose(1, 2).reshape(B, T, C) if merge else y.reshape(B, T, C)
    return y @ w_proj.T + b_proj if proj else y


MHA_MISTAKES = [
    (dict(scale="model"), "점수를 √C(모델 너비)로 나눴습니다. 헤드 하나의 크기 √d_head = √(C / n_head)로 나누세요.",
     "the scores were divided by √C (the model width): divide by √d_head = √(C / n_head), the size "
     "of one head."),
    (dict(scale="none"), "점수를 나누지 않았습니다. q·k를 √d_head = √(C / n_head)로 나누세요.",
     "the scores are not scaled: divide q·k by √d_head = √(C / n_head)."),
    (dict(mask="after"), "마스크를 소프트맥스 뒤에 적용했습니다. 미래 위치의 점수를 소프트맥스 전에 -inf로 바꾸세요.",
     "the mask was applied after the softmax: set the future scores to -inf before it, so each row "
     "still sums to 1."),
    (dict(mask="none"), "인과 마스크가 없습니다. 위치 i는 j > i인 위치를 보면 안 됩니다.",
     "the causal mask is missing: position i must not attend to any j > i."),
    (dict(merge=False), "헤드를 합칠 때 순서가 틀렸습니다. (B, h, T, d)를 transpose(1, 2)로 (B, T, h, d)로 "
     "되돌린 뒤 reshape(B, T, C) 하세요.",
     "the heads were merged in the wrong order: transpose (B, h, T, d) back to (B, T, h, d) with "
     "transpose(1, 2) before the reshape to (B, T, C)."),
    (dict(split=False), "헤드를 나눌 때 순서가 틀렸습니다. (B, T, C)를 view(B, T, h, d)로 본 뒤 transpose(1, 2) "
     "하세요. 곧바로 (B, h, T, d)로 reshape하면 시간과 헤드가 뒤섞입니다.",
     "the heads were split in the wrong order: view (B, T, C) as (B, T, h, d), then transpose(1, 2); "
     "reshaping straight to (B, h, T, d) mixes time steps and heads."),
    (dict(split=False, merge=False), "헤드를 나누고 합칠 때 transpose 없이 reshape만 했습니다. 나눌 때는 "
     "view(B, T, h, d) 뒤 transpose(1, 2), 합칠 때는 transpose(1, 2) 뒤 reshape(B, T, C)입니다.",
     "the heads were split and merged with a reshape and no transpose: split with view(B, T, h, d) "
     "then transpose(1, 2), merge with transpose(1, 2) then reshape(B, T, C)."),
    (dict(proj=False), "출력 투영이 빠졌습니다. 헤드를 합친 뒤 y @ w_proj.T + b_proj를 적용하세요.",
     "the output projection is missing: after merging the heads, apply y @ w_proj.T + b_proj."),
]


@exercise("04.5", "multi_head_attention", points=4, ko="멀티 헤드 어텐션 (배치, 헤드 나누기와 합치기)",
          en="Multi-head attention (batches, splitting and merging heads)")  # fmt: skip
def _multi_head_attention(fn) -> None:
    gen = torch.Generator().manual_seed(45)
    for B, T, C, h in ((2, 5, 8, 2), (1, 6, 12, 3), (3, 7, 16, 4), (2, 4, 12, 6), (1, 1, 8, 2)):
        mha = MultiHeadAttention(C, h, causal=True).double().eval()
        with torch.no_grad():
            for p in mha.parameters():
                p.copy_(torch.randn(p.shape, generator=gen, dtype=torch.float64))
        x = torch.randn(B, T, C, generator=gen, dtype=torch.float64)
        w = {k: v.clone() for k, v in mha.state_dict().items()}
        args = (x, w["qkv.weight"], w["qkv.bias"], w["proj.weight"], w["proj.bias"], h)
        got = call(fn, *(a.clone() if isinstance(a, torch.Tensor) else a for a in args))
        with torch.no_grad():
            expected = mha(x)
        what = f"multi_head_attention(x {tuple(x.shape)}, ..., n_head={h})"
        try:
            expect_close(got, expected, what, atol=1e-6)
        except Fail:
            if isinstance(got, torch.Tensor) and got.shape == expected.shape:
                for kw, ko, en in MHA_MISTAKES:
                    if torch.allclose(got.double(), multi_head_reference(*args, **kw), atol=1e-6):
                        raise Fail(ko, en) from None
            raise


def _rope_variant(x, positions, pairs="adjacent", sign=1.0, exponent=2.0, base=10000.0):
    """RoPE with the typical mistakes: halves paired instead of neighbours, the rotation the
    other way, ``base**(-i/dim)`` instead of ``base**(-2i/dim)``."""
    dim = x.shape[-1]
    i = torch.arange(dim // 2, dtype=torch.float64)
    angles = sign * positions.double()[:, None] * base ** (-exponent * i / dim)
    cos, sin = angles.cos(), angles.sin()
    if pairs == "adjacent":
        even, odd = x[..., 0::2], x[..., 1::2]
        out = torch.empty_like(x)
        out[..., 0::2], out[..., 1::2] = even * cos - odd * sin, even * sin + odd * cos
        return out
    a, b = x[..., : dim // 2], x[..., dim // 2 :]
    return torch.cat([a * cos - b * sin, a * sin + b * cos], dim=-1)


ROPE_MISTAKES = [
    (dict(pairs="halves"), "앞 절반과 뒤 절반을 짝지었습니다. 이 책의 RoPE는 이웃한 차원 (2i, 2i+1)을 함께 회전합니다.",
     "you paired the first half with the second: this book's RoPE rotates neighbouring dimensions "
     "(2i, 2i+1) together."),
    (dict(sign=-1.0), "반대 방향으로 회전했습니다. 짝수 성분은 x_2i·cos - x_2i+1·sin, 홀수 성분은 x_2i·sin + x_2i+1·cos입니다.",
     "the rotation goes the wrong way: the even entry is x_2i·cos - x_2i+1·sin, the odd one "
     "x_2i·sin + x_2i+1·cos."),
    (dict(exponent=1.0), "각도의 지수가 틀렸습니다. 쌍 i의 각도는 position · base^(-2i/dim)입니다.",
     "wrong exponent in the angle: pair i turns by position · base^(-2i/dim)."),
]


@exercise("04.6", "rope", points=2, ko="회전 위치 임베딩(RoPE)", en="Rotary position embedding (RoPE)")
def _rope(fn) -> None:
    gen = torch.Generator().manual_seed(46)
    for shape, start in (((3, 4), 0), ((5, 8), 2), ((2, 3, 6, 16), 7), ((1, 2, 9, 32), 100)):
        x = torch.randn(*shape, generator=gen, dtype=torch.float64)
        positions = torch.arange(shape[-2]) + start
        got = call(fn, x.clone(), positions.clone())
        expected = apply_rope(x, positions)
        try:
            expect_close(got, expected, f"rope(x {tuple(shape)}, positions {start}..)", atol=1e-6)
        except Fail:
            for kw, ko, en in ROPE_MISTAKES:
                if _close(got, _rope_variant(x, positions, **kw)):
                    raise Fail(ko, en) from None
            raise
