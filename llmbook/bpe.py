"""Byte-pair encoding (BPE) on token ids: the merge step and two trainers with one output.

A *word* here is one pre-token (a piece the split pattern cut out of the text) written as a tuple
of token ids; training sees each distinct word once, with its frequency. A merge replaces every
adjacent occurrence of a pair ``(left, right)``, scanning left to right, by a new id.

Both trainers choose merges by the same rule, so they return identical merge lists:

1. the pair with the highest count wins (a pair inside a word counts that word's frequency, and
   overlapping occurrences such as the two ``(a, a)`` in ``a a a`` both count);
2. ties go to the smallest ``(left id, right id)``;
3. a pair whose merged bytes already are a token is never chosen: every byte string has exactly
   one id, as ``tiktoken`` requires.

``train_simple`` recounts every pair after every merge: short and obviously right, and what
chapter 3 walks through. ``train_fast`` counts once, then after each merge re-counts only the
words that contained the merged pair, and keeps candidates in a heap (stale entries are skipped
when popped).
"""

from __future__ import annotations

import heapq
from collections import Counter, defaultdict
from collections.abc import Mapping, Sequence

Pair = tuple[int, int]


def count_pairs(ids: Sequence[int], counts: dict[Pair, int] | None = None, weight: int = 1):
    """Add ``weight`` to ``counts[(a, b)]`` for every adjacent pair of ``ids``; returns ``counts``.

    With no ``counts`` given, a fresh dict of pair -> occurrences is returned.
    """
    counts = {} if counts is None else counts
    for pair in zip(ids, ids[1:]):
        counts[pair] = counts.get(pair, 0) + weight
    return counts


def merge_pair(ids: Sequence[int], pair: Pair, new_id: int) -> list[int]:
    """``ids`` with each occurrence of ``pair`` (scanning left to right) replaced by ``new_id``."""
    out = []
    i, n = 0, len(ids)
    left, right = pair
    while i < n:
        if i + 1 < n and ids[i] == left and ids[i + 1] == right:
            out.append(new_id)
            i += 2
        else:
            out.append(ids[i])
            i += 1
    return out


def apply_merges(ids: Sequence[int], merges: Sequence[Pair], first_id: int = 256) -> list[int]:
    """Apply a merge table in order: merge ``i`` turns ``merges[i]`` into id ``first_id + i``.

    This is how training segments its words; it is the definition of "encode with a merge table"
    used by chapter 3's exercise.
    """
    ids = list(ids)
    for i, pair in enumerate(merges):
        ids = merge_pair(ids, pair, first_id + i)
    return ids


def _check(words: Mapping[tuple[int, ...], int], vocab: Sequence[bytes], n_merges: int) -> None:
    if not isinstance(n_merges, int) or n_merges < 0:
        raise ValueError(f"n_merges must be an int >= 0, got {n_merges!r}")
    for word, freq in words.items():
        if not isinstance(freq, int) or freq < 1:
            raise ValueError(f"word frequencies must be positive ints, got {freq!r} for {word!r}")
        if any(not 0 <= t < len(vocab) for t in word):
            raise ValueError(
                f"word {word!r} uses an id outside the vocabulary (0..{len(vocab) - 1})"
            )


def train_simple(
    words: Mapping[tuple[int, ...], int], vocab: Sequence[bytes], n_merges: int
) -> list[Pair]:
    """Teaching trainer: recount all pairs, merge the best, repeat. Returns the merges in order.

    ``vocab[i]`` is the bytes of token ``i``; merge ``k`` creates id ``len(vocab) + k``. Stops
    early when no pair is left to merge.
    """
    _check(words, vocab, n_merges)
    vocab, merges = list(vocab), []
    known = set(vocab)
    words = dict(words)
    for _ in range(n_merges):
        counts: dict[Pair, int] = {}
        for word, freq in words.items():
            count_pairs(word, counts, freq)
        candidates = [p for p in counts if vocab[p[0]] + vocab[p[1]] not in known]
        if not candidates:
            break
        best = min(candidates, key=lambda p: (-counts[p], p))  # rule 1, then rule 2
        new_id = len(vocab)
        vocab.append(vocab[best[0]] + vocab[best[1]])
        known.add(vocab[-1])
        merges.append(best)
        merged: Counter[tuple[int, ...]] = Counter()
        for word, freq in words.items():
            merged[tuple(merge_pair(word, best, new_id))] += freq
        words = merged
    return merges


def train_fast(
    words: Mapping[tuple[int, ...], int], vocab: Sequence[bytes], n_merges: int
) -> list[Pair]:
    """Fast trainer: same merges as :func:`train_simple`, with incremental pair counts.

    ``where[pair]`` lists the words containing ``pair``; a merge re-counts only those words and
    pushes the pairs whose count changed onto the heap ``(-count, pair)``. A popped entry whose
    count is no longer current is stale and skipped.
    """
    _check(words, vocab, n_merges)
    vocab, merges = list(vocab), []
    known = set(vocab)
    seqs = [list(w) for w in words]
    freqs = list(words.values())
    counts: dict[Pair, int] = defaultdict(int)
    where: dict[Pair, set[int]] = defaultdict(set)
    for i, (seq, freq) in enumerate(zip(seqs, freqs)):
        for pair in zip(seq, seq[1:]):
            counts[pair] += freq
            where[pair].add(i)
    heap = [(-c, p) for p, c in counts.items()]
    heapq.heapify(heap)
    while len(merges) < n_merges and heap:
        neg, best = heapq.heappop(heap)
        if counts.get(best, 0) != -neg or vocab[best[0]] + vocab[best[1]] in known:
            continue  # stale entry, or rule 3
        new_id = len(vocab)
        vocab.append(vocab[best[0]] + vocab[best[1]])
        known.add(vocab[-1])
        merges.append(best)
        delta: dict[Pair, int] = defaultdict(int)
        for i in where.pop(best):
            old, freq = seqs[i], freqs[i]
            new = merge_pair(old, best, new_id)
            old_pairs, new_pairs = set(zip(old, old[1:])), set(zip(new, new[1:]))
            for pair in zip(old, old[1:]):
                delta[pair] -= freq
            for pair in zip(new, new[1:]):
                delta[pair] += freq
            for pair in old_pairs - new_pairs - {best}:
                where[pair].discard(i)
            for pair in new_pairs - old_pairs:
                where[pair].add(i)
            seqs[i] = new
        for pair, d in delta.items():
            if d == 0:
                continue
            counts[pair] += d
            if counts[pair] > 0:
                heapq.heappush(heap, (-counts[pair], pair))
            else:
                del counts[pair]
                where.pop(pair, None)
    return merges
