"""Chapter 3's graded checks: right answers pass, plausible wrong answers fail with a hint."""

from __future__ import annotations

import pytest

from llmbook import bpe
from llmbook.exercises import exercises_of, run_check


def _no_overlap_count(ids):  # wrong: counts each pair once
    return dict.fromkeys(zip(ids, ids[1:]), 1)


def _merge_right_to_left(ids, pair, new_id):  # wrong for (0, 0) in [0, 0, 0]
    return bpe.merge_pair(ids[::-1], pair[::-1], new_id)[::-1]


def _windows_one_short(ids, context_length, stride):  # wrong: drops the last window
    return [
        (ids[s : s + context_length], ids[s + 1 : s + 1 + context_length])
        for s in range(0, len(ids) - context_length - 1, stride)
    ]


RIGHT = {
    "count_pairs": bpe.count_pairs,
    "apply_merge": bpe.merge_pair,
    "encode_with_merges": lambda text, merges: bpe.apply_merges(list(text.encode()), merges),
    "sliding_windows": lambda ids, c, s: [
        (ids[i : i + c], ids[i + 1 : i + 1 + c]) for i in range(0, len(ids) - c, s)
    ],
}
WRONG = {
    "03.1": {"count_pairs": _no_overlap_count},
    "03.2": {"apply_merge": _merge_right_to_left},
    "03.3": {"encode_with_merges": lambda text, merges: list(text.encode())},
    "03.4": {"sliding_windows": _windows_one_short},
}


def test_chapter_3_has_3_to_5_exercises():
    assert [ex.id for ex in exercises_of("03")] == ["03.1", "03.2", "03.3", "03.4"]


@pytest.mark.parametrize("id", sorted(WRONG))
def test_right_answer_passes_and_wrong_answer_fails(id):
    ok = run_check(id, RIGHT, "en")
    assert ok.passed and ok.points == ok.max_points
    bad = run_check(id, WRONG[id], "ko")
    assert not bad.passed and bad.points == 0 and "기대한 값과 다릅니다" in bad.message
