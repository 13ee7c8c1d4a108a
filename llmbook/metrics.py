"""Evaluation metrics shared by every chapter: perplexity (language models) and BLEU (translation).

Chapter 2 compares n-gram and RNN models with :func:`perplexity`; chapter 6 calls the same
function on GPT's log-probabilities, so the numbers compare when the units (e.g. characters) match.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Hashable, Sequence

import torch


def perplexity(log_probs, n_units: int | None = None) -> float:
    """``exp(-sum(log p) / n_units)``: the effective number of choices per unit of text.

    ``log_probs`` are natural-log probabilities the model gave to each token of a text. By default
    ``n_units`` is the number of tokens; pass the text's character count to get a per-character
    perplexity that compares models with different tokenizers. A zero probability gives ``inf``.
    """
    lp = torch.as_tensor(log_probs, dtype=torch.float64).flatten()
    if lp.numel() == 0:
        raise ValueError("perplexity needs at least one log-probability")
    if torch.isnan(lp).any() or (lp > 1e-9).any():
        raise ValueError("log_probs must be natural-log probabilities: <= 0 and not NaN")
    n = lp.numel() if n_units is None else n_units
    if not isinstance(n, int) or n < 1:
        raise ValueError(f"n_units must be a positive whole number, got {n_units!r}")
    return math.exp(-lp.sum().item() / n)


def _tokens(x) -> list[Hashable]:
    if isinstance(x, str):
        return x.split()
    if isinstance(x, Sequence):
        return list(x)
    raise TypeError(f"a sentence is a str (split on spaces) or a list of tokens, got {type(x)}")


def _ngrams(tokens: list[Hashable], n: int) -> Counter:
    return Counter(tuple(tokens[i : i + n]) for i in range(len(tokens) - n + 1))


def bleu(candidates, references, max_n: int = 4, smooth: bool = False) -> float:
    """Corpus BLEU (Papineni et al., 2002) in [0, 1].

    ``candidates[i]`` is a system output; ``references[i]`` is its list of reference sentences.
    A sentence is a str (split on spaces) or a list of tokens. Clipped n-gram counts (n = 1 ..
    ``max_n``) are summed over the corpus, their precisions combined by a geometric mean, times
    the brevity penalty ``exp(1 - r/c)`` when the candidates (length c) are shorter than the
    closest-length references (length r). ``smooth=True`` adds 1 to the counts for n > 1 (useful
    for a single short sentence, where a missing 4-gram would otherwise give 0).
    """
    if isinstance(candidates, str) or isinstance(references, str):
        raise TypeError("bleu takes lists: bleu([candidate], [[reference, ...]])")
    if len(candidates) != len(references) or not candidates:
        raise ValueError("bleu needs one list of references per candidate (and at least one)")
    if max_n < 1:
        raise ValueError(f"max_n must be at least 1, got {max_n}")
    matches, totals = [0] * max_n, [0] * max_n
    cand_len = ref_len = 0
    for cand, refs in zip(candidates, references, strict=True):
        if isinstance(refs, str) or not refs:
            raise TypeError("each references[i] is a non-empty list of reference sentences")
        c = _tokens(cand)
        rs = [_tokens(r) for r in refs]
        cand_len += len(c)
        ref_len += min((len(r) for r in rs), key=lambda n: (abs(n - len(c)), n))
        for n in range(1, max_n + 1):
            counts = _ngrams(c, n)
            most = Counter()
            for r in rs:
                most |= _ngrams(r, n)
            matches[n - 1] += sum(min(k, most[g]) for g, k in counts.items())
            totals[n - 1] += max(len(c) - n + 1, 0)
    if cand_len == 0:
        return 0.0
    log_p = 0.0
    for n in range(max_n):
        m, t = matches[n], totals[n]
        if smooth and n > 0:
            m, t = m + 1, t + 1
        if m == 0 or t == 0:
            return 0.0
        log_p += math.log(m / t) / max_n
    bp = 1.0 if cand_len > ref_len else math.exp(1 - ref_len / cand_len)
    return bp * math.exp(log_p)
