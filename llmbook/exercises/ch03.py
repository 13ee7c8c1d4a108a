"""Chapter 3 checks: count pairs, apply one merge, encode with a merge table, sliding windows."""

from __future__ import annotations

import random

from llmbook import bpe
from llmbook.data import SlidingWindowDataset
from llmbook.exercises.core import Fail, call, exercise, expect_equal


def _random_ids(rng: random.Random, n: int, alphabet: int = 4) -> list[int]:
    return [rng.randrange(alphabet) for _ in range(n)]


@exercise("03.1", "count_pairs", points=1, ko="인접한 쌍 세기", en="Count adjacent pairs")
def _count_pairs(count_pairs) -> None:
    rng = random.Random(31)
    for n in (0, 1, 2, 5, 12, 40):
        ids = _random_ids(rng, n)
        got = call(count_pairs, list(ids))
        if not isinstance(got, dict):
            raise Fail(
                f"딕셔너리 {{(a, b): 횟수}}를 반환해야 하는데 {type(got).__name__}입니다.",
                f"return a dict {{(a, b): count}}, got a {type(got).__name__}.",
            )
        expect_equal(dict(got), bpe.count_pairs(ids), f"count_pairs({ids})")


@exercise("03.2", "apply_merge", points=2, ko="병합 하나 적용하기", en="Apply one merge")
def _apply_merge(apply_merge) -> None:
    rng = random.Random(32)
    cases = [([0, 0, 0], (0, 0)), ([0, 1, 0, 1], (0, 1)), ([1, 2], (2, 1))]
    cases += [(_random_ids(rng, n, 3), (rng.randrange(3), rng.randrange(3))) for n in (6, 15, 30)]
    for ids, pair in cases:
        got = call(apply_merge, list(ids), pair, 99)
        expect_equal(list(got), bpe.merge_pair(ids, pair, 99), f"apply_merge({ids}, {pair}, 99)")


def _random_merge_table(rng: random.Random, text: str) -> list[tuple[int, int]]:
    """A real merge table: the merges our trainer learns from ``text``."""
    words = {tuple(text.encode("utf-8")): 1}
    return bpe.train_fast(words, [bytes([b]) for b in range(256)], rng.randrange(3, 12))


@exercise("03.3", "encode_with_merges", points=2, ko="병합표로 인코딩하기",
          en="Encode with a merge table")  # fmt: skip
def _encode_with_merges(encode_with_merges) -> None:
    rng = random.Random(33)
    for _ in range(6):
        text = "".join(rng.choice("ab 가") for _ in range(rng.randrange(5, 30)))
        merges = _random_merge_table(rng, text)
        probe = "".join(rng.choice("ab 가") for _ in range(12))
        for s in (text, probe):
            got = call(encode_with_merges, s, list(merges))
            expected = bpe.apply_merges(list(s.encode("utf-8")), merges)
            expect_equal(list(got), expected, f"encode_with_merges({s!r}, {merges})")


@exercise("03.4", "sliding_windows", points=2, ko="슬라이딩 윈도 만들기",
          en="Build sliding windows")  # fmt: skip
def _sliding_windows(sliding_windows) -> None:
    rng = random.Random(34)
    for n, context_length, stride in [(5, 4, 1), (10, 4, 2), (10, 3, 3), (30, 5, 7), (9, 2, 1)]:
        ids = _random_ids(rng, n, 50)
        got = call(sliding_windows, list(ids), context_length, stride)
        dataset = SlidingWindowDataset(ids, context_length, stride)
        expected = [(x.tolist(), y.tolist()) for x, y in dataset]
        try:
            got = [(list(x), list(y)) for x, y in got]
        except (TypeError, ValueError):
            raise Fail(
                "(입력 리스트, 정답 리스트) 튜플의 리스트를 반환해야 합니다.",
                "return a list of (input list, target list) tuples.",
            ) from None
        expect_equal(got, expected, f"sliding_windows({ids}, {context_length}, {stride})")
