"""Turning text into token ids and back.

``CharTokenizer`` is the simplest possible tokenizer (one id per character), used in chapter 1
to show next-token prediction before chapter 3 builds byte-level BPE.
"""

from __future__ import annotations


class CharTokenizer:
    """One token per distinct character of a training text, ids in sorted character order."""

    def __init__(self, text: str):
        if not isinstance(text, str) or not text:
            raise ValueError("CharTokenizer needs a non-empty training text (a str)")
        self.chars = sorted(set(text))
        self._id = {c: i for i, c in enumerate(self.chars)}

    @property
    def vocab_size(self) -> int:
        return len(self.chars)

    def encode(self, text: str) -> list[int]:
        unknown = sorted(set(text) - self._id.keys())
        if unknown:
            raise ValueError(f"characters not in the vocabulary: {unknown[:10]!r}")
        return [self._id[c] for c in text]

    def decode(self, ids) -> str:
        return "".join(self.chars[int(i)] for i in ids)
