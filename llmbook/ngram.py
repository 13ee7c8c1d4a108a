"""n-gram language models on token ids: counts, add-k and interpolated Kneser-Ney smoothing,
held-out log-probabilities (for :func:`llmbook.metrics.perplexity`) and sampling.

An n-gram model predicts the next token from the previous n-1 only. Raw counts (add-k with
k = 0) give unseen n-grams probability 0, so held-out perplexity is infinite; add-k moves a
little mass to every token; Kneser-Ney subtracts a discount D from each seen count and gives
it to a lower-order model built from *continuation* counts (in how many contexts a token
appears), down to the uniform distribution, so every probability is positive and each
conditional distribution sums to 1.
"""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from collections.abc import Sequence

import numpy as np


class NGramLM:
    """An n-gram model over token ids ``0 .. vocab_size-1`` (see :class:`llmbook.textproc.Vocab`).

    ``smoothing`` is ``"kn"`` (interpolated Kneser-Ney, discount per order from the counts of
    counts, D = n1 / (n1 + 2 n2) kept within [0.1, 0.9]) or ``"addk"`` (add ``k`` to every count; ``k=0`` is the raw
    maximum-likelihood estimate).
    """

    def __init__(self, n: int, vocab_size: int, smoothing: str = "kn", k: float = 1.0):
        if not isinstance(n, int) or n < 1:
            raise ValueError(f"n (the order) must be a whole number >= 1, got {n!r}")
        if not isinstance(vocab_size, int) or vocab_size < 1:
            raise ValueError(f"vocab_size must be a positive whole number, got {vocab_size!r}")
        if smoothing not in ("kn", "addk"):
            raise ValueError(f"smoothing must be 'kn' or 'addk', got {smoothing!r}")
        if k < 0:
            raise ValueError(f"k must be >= 0, got {k}")
        self.n, self.vocab_size, self.smoothing, self.k = n, vocab_size, smoothing, float(k)
        # per order m = 1..n: context (tuple of m-1 ids) -> {next id: count}
        self.counts: list[dict[tuple, dict[int, int]]] = []
        self.totals: list[dict[tuple, int]] = []
        self.discounts: list[float] = []

    def fit(self, ids: Sequence[int]) -> NGramLM:
        """Count the n-grams of a training sequence of ids (returns self)."""
        ids = [int(i) for i in ids]
        if len(ids) < self.n:
            raise ValueError(f"need at least n={self.n} training tokens, got {len(ids)}")
        if min(ids) < 0 or max(ids) >= self.vocab_size:
            raise ValueError(f"token ids must lie in 0..{self.vocab_size - 1}")
        n = self.n
        grams = [Counter(tuple(ids[i : i + m]) for i in range(len(ids) - m + 1))
                 for m in range(1, n + 1)]  # fmt: skip
        self.counts, self.totals, self.discounts = [], [], []
        for m in range(1, n + 1):
            if m == n or self.smoothing == "addk":
                table = grams[m - 1]
            else:  # Kneser-Ney: continuation count = number of distinct left neighbours
                table = Counter(g[1:] for g in grams[m])
            nxt: dict[tuple, dict[int, int]] = defaultdict(dict)
            for g, c in table.items():
                nxt[g[:-1]][g[-1]] = c
            self.counts.append(dict(nxt))
            self.totals.append({h: sum(d.values()) for h, d in nxt.items()})
            cc = Counter(table.values())
            n1, n2 = cc.get(1, 0), cc.get(2, 0)
            D = n1 / (n1 + 2 * n2) if n1 + n2 else 0.5
            self.discounts.append(min(max(D, 0.1), 0.9))  # D > 0 keeps unseen tokens possible
        return self

    def _check_fitted(self) -> None:
        if not self.counts:
            raise ValueError("call .fit(train_ids) before asking for probabilities")

    def prob(self, token: int, context: Sequence[int] = ()) -> float:
        """P(token | the last n-1 ids of context)."""
        self._check_fitted()
        ctx = tuple(int(i) for i in context)[-(self.n - 1) :] if self.n > 1 else ()
        if self.smoothing == "addk":
            h = ctx
            d = self.counts[len(h)].get(h, {})
            total = self.totals[len(h)].get(h, 0)
            denom = total + self.k * self.vocab_size
            return (d.get(token, 0) + self.k) / denom if denom > 0 else 0.0
        return self._kn(int(token), ctx)

    def _kn(self, w: int, h: tuple) -> float:
        p = 1.0 / self.vocab_size  # order 0: uniform
        for m in range(len(h) + 1):  # from unigrams up to the full context
            ctx = h[len(h) - m :]
            total = self.totals[m].get(ctx)
            if not total:
                break  # an unseen context: the longer ones are unseen too
            d, D = self.counts[m][ctx], self.discounts[m]
            p = max(d.get(w, 0) - D, 0) / total + D * len(d) / total * p
        return p

    def distribution(self, context: Sequence[int] = ()) -> np.ndarray:
        """P(. | context) over the whole vocabulary, as an array that sums to 1."""
        self._check_fitted()
        ctx = tuple(int(i) for i in context)[-(self.n - 1) :] if self.n > 1 else ()
        V = self.vocab_size
        if self.smoothing == "addk":
            d = self.counts[len(ctx)].get(ctx, {})
            p = np.full(V, self.k)
            for w, c in d.items():
                p[w] += c
            s = p.sum()
            return p / s if s > 0 else np.full(V, 1.0 / V)
        p = np.full(V, 1.0 / V)
        for m in range(len(ctx) + 1):
            h = ctx[len(ctx) - m :]
            total = self.totals[m].get(h)
            if not total:
                break
            d, D = self.counts[m][h], self.discounts[m]
            new = p * (D * len(d) / total)
            idx = np.fromiter(d.keys(), dtype=np.int64, count=len(d))
            new[idx] += np.maximum(np.fromiter(d.values(), dtype=float, count=len(d)) - D, 0) / total
            p = new
        return p

    def log_probs(self, ids: Sequence[int], context: Sequence[int] = ()) -> list[float]:
        """Natural-log probability of each id given the ids before it (and ``context`` before
        the first): the input of :func:`llmbook.metrics.perplexity`. A zero gives ``-inf``."""
        seq = [int(i) for i in context] + [int(i) for i in ids]
        start = len(seq) - len(ids)
        out = []
        for t in range(start, len(seq)):
            p = self.prob(seq[t], seq[max(0, t - self.n + 1) : t])
            out.append(math.log(p) if p > 0 else -math.inf)
        return out

    def sample(self, length: int, context: Sequence[int] = (), seed: int = 0) -> list[int]:
        """Draw ``length`` ids one at a time from P(. | previous n-1 ids)."""
        if length < 0:
            raise ValueError(f"length must be >= 0, got {length}")
        rng = np.random.default_rng(seed)
        seq = [int(i) for i in context]
        for _ in range(length):
            p = self.distribution(seq)
            seq.append(int(rng.choice(self.vocab_size, p=p / p.sum())))
        return seq[len(seq) - length :] if length else []
