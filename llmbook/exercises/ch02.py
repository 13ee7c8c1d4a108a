"""Chapter 2 checks: bigram counts, add-k bigram probability, Viterbi on a small HMM."""

from __future__ import annotations

import random

import numpy as np

from llmbook.exercises.core import Fail, call, exercise, expect_close, expect_equal
from llmbook.hmm import HMM
from llmbook.ngram import NGramLM


def _random_ids(rng: random.Random, n: int, vocab_size: int) -> list[int]:
    return [rng.randrange(vocab_size) for _ in range(n)]


@exercise("02.1", "bigram_counts", points=1, ko="바이그램 세기", en="Count bigrams")
def _bigram_counts(fn) -> None:
    rng = random.Random(21)
    for n, v in [(2, 2), (10, 3), (40, 6), (200, 12)]:
        ids = _random_ids(rng, n, v)
        got = call(fn, list(ids))
        if not isinstance(got, dict):
            raise Fail(
                f"(앞 토큰, 다음 토큰) 튜플을 키로, 횟수를 값으로 하는 dict를 반환해야 하는데 "
                f"{type(got).__name__}입니다.",
                f"return a dict from (previous, next) tuples to counts, got a {type(got).__name__}.",
            )
        got = {k: v for k, v in got.items() if v}  # a Counter with zero entries is fine
        expected = NGramLM(2, v, smoothing="addk", k=0).fit(ids).counts[1]
        expected = {(a[0], b): c for a, row in expected.items() for b, c in row.items()}
        expect_equal(got, expected, f"bigram_counts({ids if n <= 10 else '...'})")


@exercise("02.2", "addk_prob", points=2, ko="add-k 바이그램 확률", en="Add-k bigram probability")
def _addk_prob(fn) -> None:
    rng = random.Random(22)
    for n, v, k in [(20, 4, 1.0), (50, 8, 0.5), (100, 10, 0.01), (30, 5, 0.0)]:
        ids = _random_ids(rng, n, v)
        lm = NGramLM(2, v, smoothing="addk", k=k).fit(ids)
        for prev, token in [(ids[0], ids[1]), (rng.randrange(v), rng.randrange(v))]:
            if k == 0 and prev not in ids[:-1]:
                continue  # raw counts: P(. | unseen context) is undefined
            got = call(fn, list(ids), v, k, prev, token)
            expect_close(got, lm.prob(token, [prev]),
                         f"addk_prob(ids, vocab_size={v}, k={k}, prev={prev}, token={token})",
                         rtol=1e-6)  # fmt: skip


def _random_hmm(rng: np.random.Generator, s: int, o: int) -> HMM:
    start, trans, emit = rng.dirichlet(np.ones(s)), rng.dirichlet(np.ones(s), s), rng.dirichlet(np.ones(o), s)
    return HMM(start, trans, emit)


@exercise("02.3", "viterbi", points=2, ko="2상태 HMM의 비터비 디코딩", en="Viterbi on a 2-state HMM")
def _viterbi(fn) -> None:
    rng = np.random.default_rng(23)
    for length in (1, 3, 8, 30):
        hmm = _random_hmm(rng, 2, 3)
        obs = [int(x) for x in rng.integers(0, 3, length)]
        got = call(fn, hmm.start.copy(), hmm.trans.copy(), hmm.emit.copy(), list(obs))
        try:
            got = [int(s) for s in got]
        except (TypeError, ValueError):
            raise Fail("상태 번호의 리스트를 반환해야 합니다.", "return a list of state numbers.") from None
        expect_equal(got, hmm.viterbi(obs)[0].tolist(), f"viterbi(..., obs={obs})")
