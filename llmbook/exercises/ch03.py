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
        expected = bpe.count_pairs(ids)
        if dict(got) == dict.fromkeys(expected, 1) != expected:
            raise Fail("쌍마다 1만 셌습니다. 겹치는 것(a a a의 (a, a) 두 번)까지 나올 때마다 세세요.",
                       "each pair was counted once: count every occurrence, overlapping ones "
                       "included (two (a, a) in a a a).")  # fmt: skip
        expect_equal(dict(got), expected, f"count_pairs({ids})")


@exercise("03.2", "apply_merge", points=2, ko="병합 하나 적용하기", en="Apply one merge")
def _apply_merge(apply_merge) -> None:
    rng = random.Random(32)
    cases = [([0, 0, 0], (0, 0)), ([0, 1, 0, 1], (0, 1)), ([1, 2], (2, 1))]
    cases += [(_random_ids(rng, n, 3), (rng.randrange(3), rng.randrange(3))) for n in (6, 15, 30)]
    for ids, pair in cases:
        got = call(apply_merge, list(ids), pair, 99)
        expected = bpe.merge_pair(ids, pair, 99)
        if list(got) != expected and list(got) == bpe.merge_pair(ids[::-1], pair[::-1], 99)[::-1]:
            raise Fail("오른쪽부터 병합했습니다. 왼쪽에서 오른쪽으로 훑으며, 합친 두 토큰은 건너뛰세요.",
                       "you merged from the right: scan left to right, and skip both tokens "
                       "of a merged pair.")  # fmt: skip
        expect_equal(list(got), expected, f"apply_merge({ids}, {pair}, 99)")


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
            if list(got) != expected and list(got) == list(s.encode("utf-8")):
                raise Fail("병합을 하나도 적용하지 않았습니다. UTF-8 바이트에 병합표를 순서대로 적용하세요.",
                           "no merge was applied: apply the merge table, in order, to the UTF-8 "
                           "bytes.")  # fmt: skip
            if list(got) != expected and list(got) == list(s.encode("utf-16-le")):
                raise Fail("UTF-8 바이트에서 시작하세요: text.encode('utf-8').",
                           "start from the UTF-8 bytes: text.encode('utf-8').")  # fmt: skip
            if list(got) != expected and any(t >= 256 for t in expected) and list(got) == \
                    bpe.apply_merges(list(s.encode("utf-8")), merges[:1]):  # fmt: skip
                raise Fail("첫 병합만 적용했습니다. 병합 i는 id 256 + i를 만들고, 모든 병합을 순서대로 적용합니다.",
                           "only the first merge was applied: merge i makes id 256 + i, and every "
                           "merge is applied in order.")  # fmt: skip
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
        if got and all(x == y for x, y in got):
            raise Fail("정답이 입력과 같습니다. 정답은 입력을 한 칸 오른쪽으로 민 것입니다: ids[s + 1 : s + 1 + c].",
                       "the targets equal the inputs: the target is the input shifted one to the "
                       "right, ids[s + 1 : s + 1 + c].")  # fmt: skip
        if len(got) == len(expected) - 1 and got == expected[:-1]:
            raise Fail("마지막 윈도가 빠졌습니다. 정답이 ids 안에 들어가는 윈도는 모두 넣으세요 "
                       "(시작 위치 s는 len(ids) - context_length 미만).",
                       "the last window is missing: keep every window whose target fits in ids "
                       "(starts s < len(ids) - context_length).")  # fmt: skip
        expect_equal(got, expected, f"sliding_windows({ids}, {context_length}, {stride})")
