"""Chapter 2 checks: bigram counts, add-k bigram probability, Viterbi on a small HMM."""

from __future__ import annotations

import math
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
        if got == {(b, a): c for (a, b), c in expected.items()} != expected:
            raise Fail("키의 순서가 뒤집혔습니다. (앞 토큰, 다음 토큰) 순서여야 합니다.",
                       "the keys are reversed: use (previous, next).")  # fmt: skip
        if got == dict.fromkeys(expected, 1) != expected:
            raise Fail("쌍마다 1만 셌습니다. 같은 쌍이 나올 때마다 횟수를 1씩 늘리세요.",
                       "every pair was counted once: add 1 each time a pair occurs.")  # fmt: skip
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
            expected = lm.prob(token, [prev])
            pair = sum(1 for a, b in zip(ids, ids[1:]) if (a, b) == (prev, token))
            context = sum(1 for a in ids[:-1] if a == prev)
            if k and _same(got, (pair + k) / (context + k)) and not _same(got, expected):
                raise Fail("분모에 k를 한 번만 더했습니다. 어휘의 토큰마다 k를 더하므로 분모는 "
                           "count(prev) + k·V입니다.",
                           "the denominator adds k once: k is added for every token of the "
                           "vocabulary, so it is count(prev) + k·V.")  # fmt: skip
            if k and context and _same(got, pair / context) and not _same(got, expected):
                raise Fail("k를 더하지 않았습니다. 분자에 k, 분모에 k·V를 더하세요.",
                           "k is not added: add k to the count and k·V to the denominator.")  # fmt: skip
            expect_close(got, expected,
                         f"addk_prob(ids, vocab_size={v}, k={k}, prev={prev}, token={token})",
                         rtol=1e-6)  # fmt: skip


def _same(got, value: float) -> bool:
    return isinstance(got, (int, float)) and math.isclose(got, value, rel_tol=1e-6)


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
        expected = hmm.viterbi(obs)[0].tolist()
        if got != expected and got == expected[::-1]:
            raise Fail("경로가 거꾸로입니다. 역추적은 끝에서 시작하므로 마지막에 뒤집어야 합니다.",
                       "the path is reversed: backtracking starts at the end, so reverse it.")  # fmt: skip
        if got != expected and got in (_greedy(hmm, obs), hmm.posteriors(obs).argmax(1).tolist()):
            raise Fail("위치마다 가장 좋아 보이는 상태를 골랐습니다. 비터비는 상태마다 그 상태로 들어오는 "
                       "가장 좋은 경로(δ)와 역추적 포인터를 기억하고, 끝에서 거슬러 올라갑니다.",
                       "you chose the best-looking state at each position: Viterbi keeps, for "
                       "every state, the best path into it (δ) and a back-pointer, and backtracks "
                       "from the end.")  # fmt: skip
        expect_equal(got, expected, f"viterbi(..., obs={obs})")


def _greedy(hmm: HMM, obs: list[int]) -> list[int]:
    """The greedy tagger: the best state at each step given only the previous choice."""
    path = [int(np.argmax(hmm.log_start + hmm.log_emit[:, obs[0]]))]
    for o in obs[1:]:
        path.append(int(np.argmax(hmm.log_trans[path[-1]] + hmm.log_emit[:, o])))
    return path
