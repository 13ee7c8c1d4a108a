"""The shipped bilingual tokenizer and the token ids every later stage uses.

:func:`default_tokenizer` is our own Korean + English 4,096-token BPE (chapter 3), shipped in
``llmbook/data/tokenizer/``, and :func:`default_encoding` the same tokenizer as one cached
tiktoken encoder (same ids, faster). :func:`encode` and :func:`eot_id` are what the models are
trained on and prompted with, in one place so that no stage encodes differently.
:func:`build_default` rebuilds the file bit for bit (:mod:`llmbook.recipes.tokenizer`).
"""

from __future__ import annotations

import functools
import hashlib
import os
import re
from pathlib import Path
from typing import TYPE_CHECKING

from llmbook import corpus
from llmbook.tokenizer import ENDOFTEXT, GPT4_SPLIT_PATTERN, BPETokenizer

if TYPE_CHECKING:
    import tiktoken

DATA_DIR = Path(__file__).parent / "data" / "tokenizer"
DEFAULT_VOCAB_SIZE = 4096
DEFAULT_PATH = DATA_DIR / f"bilingual_bpe_{DEFAULT_VOCAB_SIZE}.json"


def default_training_text() -> str:
    """What the default tokenizer learns from: every Korean then every English training text
    (:func:`llmbook.corpus.training_texts`)."""
    return "".join(text for lang in corpus.LANGS for text in corpus.training_texts(lang))


def train_default(vocab_size: int = DEFAULT_VOCAB_SIZE) -> BPETokenizer:
    """Train the default tokenizer's recipe (GPT-4 split pattern, ``<|endoftext|>``)."""
    return BPETokenizer.train(default_training_text(), vocab_size, GPT4_SPLIT_PATTERN, [ENDOFTEXT])


@functools.lru_cache(maxsize=1)
def default_tokenizer() -> BPETokenizer:
    """The shipped bilingual (Korean + English) 4,096-token BPE tokenizer."""
    return BPETokenizer.load(DEFAULT_PATH)


@functools.lru_cache(maxsize=1)
def default_encoding() -> tiktoken.Encoding:
    """The default tokenizer as one cached ``tiktoken`` encoder: the same ids, built once
    (building takes milliseconds; encoding a short text takes microseconds)."""
    return default_tokenizer().to_tiktoken()


def build_default(path: str | os.PathLike = DEFAULT_PATH) -> str:
    """Re-train the default tokenizer and write it to ``path``; returns the file's SHA-256."""
    path = train_default().save(path)
    return hashlib.sha256(path.read_bytes()).hexdigest()


def encode(text: str) -> list[int]:
    """Token ids of ``text`` under the shipped tokenizer (the cached fast encoder; special-token
    strings in ``text`` stay plain text)."""
    return default_encoding().encode_ordinary(text)


def eot_id() -> int:
    """The id of ``<|endoftext|>``, which ends every training text and stops generation."""
    return default_tokenizer().special_tokens[ENDOFTEXT]


@functools.lru_cache(maxsize=1)
def vocab_strings() -> tuple[str, ...]:
    """The text of every token id of the shipped tokenizer (to find digits, line breaks, ...)."""
    tok = default_tokenizer()
    return tuple(tok.decode([i]) for i in range(tok.vocab_size))


def digit_token_ids() -> list[int]:
    """Ids of the tokens made only of digits ("7", "12", "200", ...)."""
    return [i for i, s in enumerate(vocab_strings()) if re.fullmatch(r"\d+", s)]
