"""Chapter 1: right and typical wrong answers for every exercise (see tests/exercises/test_wrong_answers.py)."""

import math

import torch

from llmbook.train import next_token_pairs


def _pairs_with_target_in_context(ids, k):  # wrong: the context ends at the target
    return [(ids[max(0, i - k + 1) : i + 1], ids[i]) for i in range(1, len(ids))]


def _pairs_full_windows_only(ids, k):  # wrong: skips the first positions
    return [(ids[i - k : i], ids[i]) for i in range(k, len(ids))]


RIGHT = {
    "01.1": {"make_pairs": next_token_pairs},
    "01.2": {"softmax_with_temperature": lambda logits, t: torch.softmax(logits / t, dim=-1)},
    "01.3": {"families": {"GPT-2": "decoder", "BERT": "encoder", "T5": "encoder-decoder"}},
    "01.4": {"perplexity": lambda loss: math.exp(loss)},
}
WRONG = {
    "01.1": [
        ({"make_pairs": _pairs_with_target_in_context}, "the context contains the token to predict"),
        ({"make_pairs": _pairs_full_windows_only}, "including the first ones"),
    ],
    "01.2": [
        ({"softmax_with_temperature": lambda logits, t: torch.softmax(logits * t, dim=-1)},
         "multiplied by the temperature"),
        ({"softmax_with_temperature": lambda logits, t: torch.softmax(logits, dim=-1)},
         "the temperature has no effect"),
    ],
    "01.3": [
        ({"families": {"GPT-2": "encoder", "BERT": "decoder", "T5": "encoder-decoder"}}, "rethink"),
        ({"families": ["decoder", "encoder", "encoder-decoder"]}, "should be a dict"),
    ],
    "01.4": [
        ({"perplexity": lambda loss: 2**loss}, "a power of 2"),
        ({"perplexity": lambda loss: math.exp(-loss)}, "its inverse"),
    ],
}
