"""Chapter 4: right and typical wrong answers for every exercise (see tests/exercises/test_wrong_answers.py)."""

import functools
import math

import torch

from llmbook.attention import causal_mask, masked_softmax
from llmbook.embedding import apply_rope, sinusoidal_positions
from llmbook.exercises.ch04 import _rope_variant, multi_head_reference


def _head(x, w_q, w_k, w_v, scale=True, mask=True):
    q, k, v = x @ w_q, x @ w_k, x @ w_v
    scores = q @ k.T / (math.sqrt(q.shape[-1]) if scale else 1.0)
    return (masked_softmax(scores, causal_mask(x.shape[0])) if mask else scores.softmax(-1)) @ v


def _mha(**mistake):
    return functools.partial(multi_head_reference, **mistake)


RIGHT = {
    "04.1": {"masked_softmax": masked_softmax},
    "04.2": {"causal_mask": causal_mask},
    "04.3": {"attention_head": _head},
    "04.4": {"sinusoidal": sinusoidal_positions},
    "04.5": {"multi_head_attention": multi_head_reference},
}
WRONG = {
    "04.1": [
        ({"masked_softmax": lambda s, m: torch.softmax(s, -1) * m}, "after the softmax"),
        ({"masked_softmax": lambda s, m: masked_softmax(s, ~m)}, "the mask is inverted"),
    ],
    "04.2": [({"causal_mask": lambda n: torch.ones(n, n, dtype=torch.bool).triu()}, "upside down")],
    "04.3": [
        ({"attention_head": functools.partial(_head, scale=False)}, "not scaled"),
        ({"attention_head": functools.partial(_head, mask=False)}, "causal mask is missing"),
    ],
    "04.4": [({"sinusoidal": lambda n, d: sinusoidal_positions(n, d).flip(-1)}, "values differ")],
    "04.5": [
        ({"multi_head_attention": _mha(scale="model")}, "divided by √C"),
        ({"multi_head_attention": _mha(scale="none")}, "not scaled"),
        ({"multi_head_attention": _mha(mask="after")}, "after the softmax"),
        ({"multi_head_attention": _mha(mask="none")}, "causal mask is missing"),
        ({"multi_head_attention": _mha(merge=False)}, "merged in the wrong order"),
        ({"multi_head_attention": _mha(split=False)}, "split in the wrong order"),
        ({"multi_head_attention": _mha(proj=False)}, "output projection is missing"),
    ],
}

RIGHT["04.6"] = {"rope": apply_rope}
WRONG["04.6"] = [
    ({"rope": functools.partial(_rope_variant, pairs="halves")}, "paired the first half"),
    ({"rope": functools.partial(_rope_variant, sign=-1.0)}, "the rotation goes the wrong way"),
    ({"rope": functools.partial(_rope_variant, exponent=1.0)}, "wrong exponent"),
]
