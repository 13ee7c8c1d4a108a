"""Chapter 1 checks: next-token pairs, temperature, model families, perplexity."""

from __future__ import annotations

import math
import random

import torch

from llmbook.exercises.core import Fail, call, exercise, expect_close, expect_equal
from llmbook.train import next_token_pairs


@exercise("01.1", "make_pairs", points=2, ko="다음 토큰 예측용 (문맥, 정답) 쌍 만들기",
          en="Build (context, next token) pairs")  # fmt: skip
def _make_pairs(make_pairs) -> None:
    rng = random.Random(1)
    for n, k in [(2, 1), (6, 3), (10, 4), (12, 20)]:
        ids = [rng.randrange(50) for _ in range(n)]
        got = call(make_pairs, ids, k)
        try:
            got = [(list(c), int(t)) for c, t in got]
        except (TypeError, ValueError):
            raise Fail(
                "(문맥 리스트, 정답 토큰) 튜플의 리스트를 반환해야 합니다.",
                "return a list of (context list, next token) tuples.",
            ) from None
        expect_equal(got, next_token_pairs(ids, k), f"make_pairs({ids}, {k})")


@exercise("01.2", "softmax_with_temperature", points=2, ko="온도를 적용한 소프트맥스",
          en="Softmax with temperature")  # fmt: skip
def _softmax_with_temperature(fn) -> None:
    gen = torch.Generator().manual_seed(2)
    for temperature in (1.0, 0.5, 2.0, 0.1):
        logits = torch.randn(7, generator=gen) * 3
        got = call(fn, logits.clone(), temperature)
        expected = torch.softmax(logits / temperature, dim=-1)
        expect_close(got, expected, f"T={temperature}", atol=1e-5)


FAMILIES = {"GPT-2": "decoder", "BERT": "encoder", "T5": "encoder-decoder"}


@exercise("01.3", "families", points=1, ko="모델과 구조 짝짓기", en="Match models to architectures")
def _families(families) -> None:
    if not isinstance(families, dict):
        raise Fail(
            f"`families`는 딕셔너리여야 하는데 {type(families).__name__}입니다.",
            f"`families` should be a dict, got a {type(families).__name__}.",
        )
    if set(families) != set(FAMILIES):
        raise Fail(
            f"키는 정확히 {sorted(FAMILIES)}여야 합니다.",
            f"the keys must be exactly {sorted(FAMILIES)}.",
        )
    allowed = set(FAMILIES.values())
    wrong = [m for m in FAMILIES if families[m] != FAMILIES[m]]
    if any(v not in allowed for v in families.values()):
        raise Fail(f"값은 {sorted(allowed)} 중 하나여야 합니다.", f"values must be one of {sorted(allowed)}.")
    if wrong:
        raise Fail(
            f"{wrong}의 구조를 다시 생각해 보세요. 모델이 앞쪽만 보는지, 양쪽을 다 보는지가 열쇠입니다.",
            f"rethink {wrong}: does the model look only backwards, or both ways?",
        )


@exercise("01.4", "perplexity", points=1, ko="손실에서 혼잡도 구하기", en="Perplexity from the loss")
def _perplexity(fn) -> None:
    for loss in (0.0, 1.0, math.log(65), 2.37):
        got = call(fn, loss)
        expect_close(got, math.exp(loss), f"perplexity({loss:.3g})", rtol=1e-6)
