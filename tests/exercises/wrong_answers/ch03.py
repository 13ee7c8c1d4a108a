"""Chapter 3: right and typical wrong answers for every exercise (see tests/exercises/test_wrong_answers.py).
Moved here from tests/test_ch03.py, with the targeted hints."""

from llmbook import bpe


def _no_overlap_count(ids):  # wrong: counts each pair once
    return dict.fromkeys(zip(ids, ids[1:]), 1)


def _merge_right_to_left(ids, pair, new_id):  # wrong for (0, 0) in [0, 0, 0]
    return bpe.merge_pair(ids[::-1], pair[::-1], new_id)[::-1]


def _windows(ids, c, s):
    return [(ids[i : i + c], ids[i + 1 : i + 1 + c]) for i in range(0, len(ids) - c, s)]


def _windows_one_short(ids, context_length, stride):  # wrong: drops the last window
    return [
        (ids[s : s + context_length], ids[s + 1 : s + 1 + context_length])
        for s in range(0, len(ids) - context_length - 1, stride)
    ]


RIGHT = {
    "03.1": {"count_pairs": bpe.count_pairs},
    "03.2": {"apply_merge": bpe.merge_pair},
    "03.3": {"encode_with_merges": lambda text, merges: bpe.apply_merges(list(text.encode()), merges)},
    "03.4": {"sliding_windows": _windows},
}
WRONG = {
    "03.1": [({"count_pairs": _no_overlap_count}, "counted once")],
    "03.2": [({"apply_merge": _merge_right_to_left}, "merged from the right")],
    "03.3": [
        ({"encode_with_merges": lambda text, merges: list(text.encode())}, "no merge was applied"),
        ({"encode_with_merges": lambda text, merges: bpe.apply_merges(list(text.encode()), merges[:1])},
         "only the first merge"),
    ],
    "03.4": [
        ({"sliding_windows": _windows_one_short}, "the last window is missing"),
        ({"sliding_windows": lambda ids, c, s: [(x, x) for x, _ in _windows(ids, c, s)]},
         "the target is the input shifted"),
    ],
}
