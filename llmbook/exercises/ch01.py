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
        expected = next_token_pairs(ids, k)
        if got and all(c and c[-1] == t for c, t in got):
            raise Fail(
                "문맥에 정답 토큰이 들어 있습니다. 문맥은 ids[i] 바로 앞에서 끝나야 합니다: ids[max(0, i - k) : i].",
                "the context contains the token to predict: it must stop just before ids[i], "
                "ids[max(0, i - k) : i].",
            )
        if len(got) != len(expected):
            raise Fail(
                f"쌍이 {len(expected)}개여야 하는데 {len(got)}개입니다. i = 1부터 마지막 위치까지, 문맥이 "
                "k개보다 짧은 앞부분도 포함합니다.",
                f"expected {len(expected)} pairs, got {len(got)}: every i from 1 to the last position, "
                "including the first ones whose context is shorter than k.",
            )
        expect_equal(got, expected, f"make_pairs({ids}, {k})")


@exercise("01.2", "softmax_with_temperature", points=2, ko="온도를 적용한 소프트맥스",
          en="Softmax with temperature")  # fmt: skip
def _softmax_with_temperature(fn) -> None:
    gen = torch.Generator().manual_seed(2)
    for temperature in (1.0, 0.5, 2.0, 0.1):
        logits = torch.randn(7, generator=gen) * 3
        got = call(fn, logits.clone(), temperature)
        expected = torch.softmax(logits / temperature, dim=-1)
        for wrong, ko, en in [
            (logits * temperature, "로짓에 온도를 곱했습니다. 온도로 나눠야 합니다: softmax(logits / T).",
             "the logits were multiplied by the temperature: divide them, softmax(logits / T)."),
            (logits, "온도가 반영되지 않았습니다. 소프트맥스 전에 로짓을 온도로 나누세요.",
             "the temperature has no effect: divide the logits by it before the softmax."),
        ]:  # fmt: skip
            if temperature != 1.0 and _close(got, torch.softmax(wrong, dim=-1)):
                raise Fail(ko, en)
        expect_close(got, expected, f"T={temperature}", atol=1e-5)


def _close(got, expected) -> bool:
    try:
        return bool(torch.allclose(torch.as_tensor(got, dtype=torch.float64),
                                   expected.to(torch.float64), atol=1e-5))  # fmt: skip
    except (TypeError, ValueError, RuntimeError):
        return False


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
        if loss and isinstance(got, (int, float)) and math.isclose(got, 2**loss, rel_tol=1e-6):
            raise Fail("2의 거듭제곱을 썼습니다. 손실은 자연로그로 잰 값이므로 혼잡도는 e^loss입니다.",
                       "you used a power of 2: the loss is in natural-log units, so perplexity "
                       "is e^loss.")  # fmt: skip
        if loss and isinstance(got, (int, float)) and math.isclose(got, math.exp(-loss), rel_tol=1e-6):
            raise Fail("e^(-loss)는 평균 확률입니다. 혼잡도는 그 역수, e^loss입니다.",
                       "e^(-loss) is the average probability; perplexity is its inverse, e^loss.")  # fmt: skip
        expect_close(got, math.exp(loss), f"perplexity({loss:.3g})", rtol=1e-6)
