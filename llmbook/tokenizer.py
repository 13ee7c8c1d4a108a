"""Turning text into token ids and back.

``CharTokenizer`` is the simplest possible tokenizer (one id per character), used in chapter 1
to show next-token prediction before chapter 3 builds byte-level BPE.

``BPETokenizer`` is chapter 3's byte-level BPE: ids 0..255 are the 256 byte values, every merge
adds one id, special tokens come last. Text is first cut into pieces by a split pattern
(:data:`GPT2_SPLIT_PATTERN`, :data:`GPT4_SPLIT_PATTERN`); merges never cross a piece boundary.
Encoding follows tiktoken's rule exactly (inside a piece, repeatedly merge the adjacent pair
whose joined bytes have the lowest id, leftmost first), so :meth:`BPETokenizer.to_tiktoken`
gives the same ids, only faster. Training lives in :mod:`llmbook.bpe`.

File format (:meth:`BPETokenizer.save`), plain UTF-8 JSON, version 1::

    {
     "format": "llmbook-bpe",
     "version": 1,
     "pattern": "<split regex>",
     "special_tokens": {"<|endoftext|>": 4095},
     "byte_order": [0, 1, ..., 255],
     "merges": [
      [32, 116],
      ...
     ]
    }

``byte_order[i]`` is the byte value of token ``i`` (0..255 in order for our own tokenizers;
GPT-2 numbers its bytes differently); ``merges[k] = [left, right]`` joins two tokens into token
``256 + k``.

OpenAI's GPT-4 and GPT-4o vocabularies are in :mod:`llmbook.openai_encodings`; our shipped
bilingual tokenizer and the ids every later stage uses are in :mod:`llmbook.tokens`.
"""

from __future__ import annotations

import json
import os
import warnings
from collections import Counter
from collections.abc import Collection, Iterable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Literal

import regex

from llmbook import bpe

if TYPE_CHECKING:
    import tiktoken

ENDOFTEXT = "<|endoftext|>"

# GPT-2's split pattern in tiktoken's form ("r50k"): contractions, letters, digits, other
# symbols, each optionally led by one space; runs of whitespace.
GPT2_SPLIT_PATTERN = (
    r"""'(?:[sdmt]|ll|ve|re)| ?\p{L}++| ?\p{N}++| ?[^\s\p{L}\p{N}]++|\s++$|\s+(?!\S)|\s"""
)
# GPT-4's ("cl100k_base"): case-insensitive contractions, a letter run may be led by one
# non-letter (not only a space), digits in groups of at most three, newlines kept apart.
GPT4_SPLIT_PATTERN = (
    r"""'(?i:[sdmt]|ll|ve|re)|[^\r\n\p{L}\p{N}]?+\p{L}++|\p{N}{1,3}+| ?[^\s\p{L}\p{N}]++[\r\n]*+"""
    r"""|\s++$|\s*[\r\n]|\s+(?!\S)|\s"""
)

FILE_FORMAT = "llmbook-bpe"
FILE_VERSION = 1
_CACHE_MAX = 1 << 16  # pieces remembered by one tokenizer's encoder


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


def _compile(pattern: str) -> regex.Pattern:
    if not isinstance(pattern, str) or not pattern:
        raise TypeError(f"pattern must be a non-empty regex string, got {pattern!r}")
    try:
        return regex.compile(pattern)
    except regex.error as e:
        raise ValueError(f"pattern is not a valid regular expression: {e}") from None


def _utf8(text: str) -> bytes:
    if not isinstance(text, str):
        raise TypeError(f"expected text as a str, got {type(text).__name__}")
    try:
        return text.encode("utf-8")
    except UnicodeEncodeError as e:
        raise ValueError(
            f"text contains {text[e.start]!r} (a lone surrogate), which has no UTF-8 bytes"
        ) from None


def _special_splitter(specials: Iterable[str]) -> regex.Pattern | None:
    """A regex matching any of ``specials`` (longest first), or None when there are none."""
    specials = sorted(specials, key=len, reverse=True)
    return regex.compile("|".join(map(regex.escape, specials))) if specials else None


class BPETokenizer:
    """Byte-level BPE: a split pattern, a merge table and special tokens.

    Build one with :meth:`train`, :meth:`load` or :meth:`from_gpt2_files`. ``merges[k]`` is the
    pair of ids that token ``256 + k`` joins; ``special_tokens`` maps each special string to its
    id, above every merged token.
    """

    def __init__(
        self,
        merges: Sequence[tuple[int, int]],
        pattern: str = GPT4_SPLIT_PATTERN,
        special_tokens: Mapping[str, int] | None = None,
        byte_order: Sequence[int] | None = None,
    ):
        self.pattern = pattern
        self._split = _compile(pattern)
        byte_order = list(range(256)) if byte_order is None else list(byte_order)
        if sorted(byte_order) != list(range(256)) or not all(type(b) is int for b in byte_order):
            raise ValueError("byte_order must list each byte value 0..255 exactly once")
        tokens = [bytes([b]) for b in byte_order]
        self.ranks: dict[bytes, int] = {t: i for i, t in enumerate(tokens)}
        self.merges: list[tuple[int, int]] = []
        for k, pair in enumerate(merges):
            if (
                not isinstance(pair, Sequence)
                or len(pair) != 2
                or not all(type(t) is int and 0 <= t < len(tokens) for t in pair)
            ):
                raise ValueError(
                    f"merge {k} must be a pair of existing token ids (0..{len(tokens) - 1}), "
                    f"got {pair!r}"
                )
            joined = tokens[pair[0]] + tokens[pair[1]]
            if joined in self.ranks:
                raise ValueError(
                    f"merge {k} {list(pair)} makes {joined!r}, which token "
                    f"{self.ranks[joined]} already is (each byte string needs exactly one id)"
                )
            self.ranks[joined] = len(tokens)
            tokens.append(joined)
            self.merges.append((pair[0], pair[1]))
        self.special_tokens: dict[str, int] = dict(special_tokens or {})
        ids = list(self.special_tokens.values())
        for text, i in self.special_tokens.items():
            if not isinstance(text, str) or not text or type(i) is not int:
                raise ValueError(
                    f"special tokens map non-empty strings to ids, got {text!r}: {i!r}"
                )
            if i < len(tokens) or ids.count(i) > 1:
                raise ValueError(
                    f"special token {text!r} has id {i}, which is already taken "
                    f"(ids 0..{len(tokens) - 1} are byte and merged tokens)"
                )
        self._decoder = {i: t for i, t in enumerate(tokens)}
        self._decoder.update({i: s.encode("utf-8") for s, i in self.special_tokens.items()})
        self._cache: dict[str, list[int]] = {}

    # ---- sizes and contents -------------------------------------------------------------------
    @property
    def vocab_size(self) -> int:
        """Number of ids: bytes, merged tokens, special tokens (one past the largest id)."""
        return max(self._decoder) + 1

    def token_bytes(self, token_id: int) -> bytes:
        """The bytes that one id stands for."""
        try:
            return self._decoder[int(token_id)]
        except (KeyError, ValueError, TypeError):
            raise ValueError(f"{token_id!r} is not a token id of this tokenizer") from None

    def __repr__(self) -> str:
        return (
            f"BPETokenizer(vocab_size={self.vocab_size}, merges={len(self.merges)}, "
            f"special_tokens={list(self.special_tokens)})"
        )

    # ---- training -----------------------------------------------------------------------------
    @classmethod
    def train(
        cls,
        text: str | os.PathLike,
        vocab_size: int,
        pattern: str = GPT4_SPLIT_PATTERN,
        special_tokens: Collection[str] = (ENDOFTEXT,),
        method: Literal["fast", "simple"] = "fast",
    ) -> BPETokenizer:
        """Learn ``vocab_size - 256 - len(special_tokens)`` merges from ``text``.

        ``text`` is the training text, or a path to a UTF-8 text file. Special-token strings in
        the text are cut out before counting, so no merge ever crosses them. ``method`` picks the
        trainer: ``"fast"`` (incremental counts) or ``"simple"`` (the teaching version); both give
        identical merges (see :mod:`llmbook.bpe` for the tie-break rule). If the text runs out of
        pairs first, the vocabulary is smaller and a warning says so.
        """
        if isinstance(text, os.PathLike):
            path = Path(text)
            try:
                text = path.read_text(encoding="utf-8")
            except UnicodeDecodeError as e:
                raise ValueError(
                    f"{path}: not a UTF-8 text file ({e.reason} at byte {e.start})"
                ) from None
        _utf8(text)
        trainers = {"fast": bpe.train_fast, "simple": bpe.train_simple}
        if method not in trainers:
            raise ValueError(f"method must be 'fast' or 'simple', got {method!r}")
        if isinstance(special_tokens, str):
            raise TypeError(
                "special_tokens must be a collection of strings, e.g. ['<|endoftext|>']"
            )
        specials = list(dict.fromkeys(special_tokens))
        n_merges = vocab_size - 256 - len(specials) if type(vocab_size) is int else -1
        if n_merges < 0:
            raise ValueError(
                f"vocab_size must be an int of at least 256 + {len(specials)} (bytes + special "
                f"tokens), got {vocab_size!r}"
            )
        words = count_words(text, pattern, specials)
        merges = trainers[method](words, [bytes([b]) for b in range(256)], n_merges)
        if len(merges) < n_merges:
            warnings.warn(
                f"the text only allows {len(merges)} merges, not {n_merges}: the vocabulary has "
                f"{256 + len(merges) + len(specials)} tokens",
                stacklevel=2,
            )
        first = 256 + len(merges)
        return cls(merges, pattern, {s: first + i for i, s in enumerate(specials)})

    # ---- encoding and decoding ----------------------------------------------------------------
    def _encode_piece(self, piece: bytes) -> list[int]:
        """tiktoken's rule: merge the adjacent pair with the lowest-ranked joined bytes, repeat."""
        ranks = self.ranks
        parts = [piece[i : i + 1] for i in range(len(piece))]
        while len(parts) > 1:
            best, at = None, -1
            for i in range(len(parts) - 1):
                rank = ranks.get(parts[i] + parts[i + 1])
                if rank is not None and (best is None or rank < best):
                    best, at = rank, i
            if best is None:
                break
            parts[at : at + 2] = [parts[at] + parts[at + 1]]
        return [ranks[p] for p in parts]

    def encode_ordinary(self, text: str) -> list[int]:
        """Encode ``text``, treating special-token strings as plain text: cut it into pieces with
        the split pattern, and encode each piece's UTF-8 bytes on its own."""
        _utf8(text)
        out: list[int] = []
        for piece in self._split.findall(text):
            out.extend(self._encode_cached(piece))
        return out

    def _encode_cached(self, piece: str) -> list[int]:
        """:meth:`_encode_piece` of a piece, remembered (text repeats its words)."""
        ids = self._cache.get(piece)
        if ids is None:
            ids = self._encode_piece(piece.encode("utf-8"))
            if len(self._cache) < _CACHE_MAX:
                self._cache[piece] = ids
        return ids

    def encode(
        self, text: str, allowed_special: Literal["all"] | Collection[str] = ()
    ) -> list[int]:
        """Token ids of ``text``; identical to ``self.to_tiktoken().encode(text, ...)``.

        Special-token strings become their special id only when listed in ``allowed_special``
        (or when it is ``"all"``); any other special-token string in the text is an error, as in
        tiktoken, so that user text cannot smuggle in an end-of-text marker. Use
        :meth:`encode_ordinary` to encode them as plain text instead.
        """
        _utf8(text)
        allowed = set(self.special_tokens if allowed_special == "all" else allowed_special)
        if unknown := allowed - self.special_tokens.keys():
            raise ValueError(f"not special tokens of this tokenizer: {sorted(unknown)}")
        for s in self.special_tokens.keys() - allowed:
            if s in text:
                raise ValueError(
                    f"the text contains the special token {s!r}; pass allowed_special={{{s!r}}} "
                    "to encode it as one token, or use encode_ordinary() to treat it as text"
                )
        splitter = _special_splitter(allowed)
        if splitter is None:
            return self.encode_ordinary(text)
        out, start = [], 0
        for m in splitter.finditer(text):
            out += self.encode_ordinary(text[start : m.start()])
            out.append(self.special_tokens[m.group()])
            start = m.end()
        return out + self.encode_ordinary(text[start:])

    def decode_bytes(self, ids: Iterable[int]) -> bytes:
        """The bytes of a sequence of ids (a list, or a 1-D tensor)."""
        return b"".join(self.token_bytes(i) for i in ids)

    def decode(self, ids: Iterable[int], errors: str = "replace") -> str:
        """Text of a sequence of ids; bytes that are not valid UTF-8 become U+FFFD by default."""
        return self.decode_bytes(ids).decode("utf-8", errors=errors)

    # ---- the bridge to tiktoken ---------------------------------------------------------------
    def to_tiktoken(self, name: str = "llmbook-bpe") -> tiktoken.Encoding:
        """The same tokenizer as a ``tiktoken.Encoding`` (Rust): same ids, many times faster."""
        import tiktoken

        return tiktoken.Encoding(
            name=name,
            pat_str=self.pattern,
            mergeable_ranks=dict(self.ranks),
            special_tokens=dict(self.special_tokens),
        )

    @classmethod
    def from_gpt2_files(cls, encoder_json: str | os.PathLike, vocab_bpe: str | os.PathLike):
        """GPT-2's tokenizer from the two files OpenAI published (``encoder.json``, ``vocab.bpe``).

        GPT-2 writes every byte as a printable character (:func:`gpt2_byte_chars`);
        ``encoder.json`` maps those strings to ids and ``vocab.bpe`` lists the merges in order.
        The files are checked against each other: merge ``k`` must make token ``256 + k``.
        """
        chars = gpt2_byte_chars()
        encoder = _read_json(Path(encoder_json))
        lines = _read_text(Path(vocab_bpe)).splitlines()
        if not isinstance(encoder, dict):
            raise ValueError(f"{encoder_json}: expected a JSON object mapping tokens to ids")

        ids = {}
        byte_order = [None] * 256
        for token, i in encoder.items():
            if type(i) is not int:
                raise ValueError(f"{encoder_json}: the id of {token!r} is {i!r}, not an int")
            ids[token] = i
            if len(token) == 1 and token in chars:
                if not 0 <= i < 256:
                    raise ValueError(f"{encoder_json}: byte token {token!r} has id {i}, not 0..255")
                byte_order[i] = chars[token]
        if None in byte_order:
            raise ValueError(f"{encoder_json}: ids 0..255 must be the 256 single-byte tokens")
        merges = []
        for line in lines:
            if not line.strip() or line.startswith("#version"):
                continue
            left, sep, right = line.partition(" ")
            if not sep or left not in ids or right not in ids or left + right not in ids:
                raise ValueError(f"{vocab_bpe}: merge {line!r} uses tokens not in {encoder_json}")
            if ids[left + right] != 256 + len(merges):
                raise ValueError(
                    f"{vocab_bpe}: merge {len(merges)} {line!r} should make id "
                    f"{256 + len(merges)}, but {encoder_json} gives {ids[left + right]}"
                )
            merges.append((ids[left], ids[right]))
        specials = {t: i for t, i in ids.items() if i >= 256 + len(merges)}
        tokenizer = cls(merges, GPT2_SPLIT_PATTERN, specials, byte_order)
        for token, i in ids.items():
            if token in specials:
                continue
            if any(c not in chars for c in token) or (
                bytes(chars[c] for c in token) != tokenizer.token_bytes(i)
            ):
                raise ValueError(f"{encoder_json}: {token!r} (id {i}) disagrees with {vocab_bpe}")
        return tokenizer

    # ---- files --------------------------------------------------------------------------------
    def to_json(self) -> str:
        """The file contents :meth:`save` writes (format described in the module docstring)."""
        head = {
            "format": FILE_FORMAT,
            "version": FILE_VERSION,
            "pattern": self.pattern,
            "special_tokens": self.special_tokens,
        }
        byte_order = [t[0] for t in (self._decoder[i] for i in range(256))]
        lines = ["{"]
        lines += [
            f" {json.dumps(k)}: {json.dumps(v, ensure_ascii=False)}," for k, v in head.items()
        ]
        lines.append(f' "byte_order": {json.dumps(byte_order)},')
        merges = ",\n".join(f"  [{a}, {b}]" for a, b in self.merges)
        lines += [' "merges": [', merges, " ]"] if merges else [' "merges": []']
        lines.append("}")
        return "\n".join(lines) + "\n"

    def save(self, path: str | os.PathLike) -> Path:
        """Write the tokenizer to ``path`` (plain JSON, see the module docstring); returns it."""
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(self.to_json(), encoding="utf-8")
        return path

    @classmethod
    def load(cls, path: str | os.PathLike) -> BPETokenizer:
        """Read a file written by :meth:`save`; a damaged or wrong-version file is a ValueError."""
        path = Path(path)
        data = _read_json(path)
        if not isinstance(data, dict) or data.get("format") != FILE_FORMAT:
            raise ValueError(
                f'{path}: not an llmbook tokenizer file (no "format": "{FILE_FORMAT}")'
            )
        if data.get("version") != FILE_VERSION:
            raise ValueError(
                f"{path}: tokenizer file version {data.get('version')!r}, but this llmbook reads "
                f"version {FILE_VERSION}; re-create it with BPETokenizer.train(...).save(path)"
            )
        missing = {"pattern", "special_tokens", "byte_order", "merges"} - data.keys()
        if missing:
            raise ValueError(f"{path}: tokenizer file is missing {sorted(missing)}")
        try:
            return cls(
                [tuple(m) if isinstance(m, list) else m for m in data["merges"]],
                data["pattern"],
                data["special_tokens"],
                data["byte_order"],
            )
        except (TypeError, ValueError) as e:
            raise ValueError(f"{path}: damaged tokenizer file: {e}") from None


def _read_text(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except UnicodeDecodeError as e:
        raise ValueError(f"{path}: not a UTF-8 text file ({e.reason} at byte {e.start})") from None


def _read_json(path: Path):
    try:
        return json.loads(_read_text(path))
    except json.JSONDecodeError as e:
        raise ValueError(f"{path}: not valid JSON ({e.msg}, line {e.lineno})") from None


def count_words(
    text: str, pattern: str = GPT4_SPLIT_PATTERN, special_tokens: Collection[str] = ()
) -> dict[tuple[int, ...], int]:
    """Pre-tokenize ``text`` and count the pieces: {piece as a tuple of byte values: count}.

    Special-token strings are cut out first and not counted. This is what both trainers learn from.
    """
    split = _compile(pattern)
    splitter = _special_splitter(special_tokens)
    chunks = splitter.split(text) if splitter else [text]
    counts = Counter(piece for chunk in chunks for piece in split.findall(chunk))
    return {tuple(piece.encode("utf-8")): n for piece, n in counts.items()}


def gpt2_byte_chars() -> dict[str, int]:
    """GPT-2's byte alphabet: {printable character: byte value}.

    Bytes that are printable, non-space Latin-1 characters stand for themselves; the other 68
    (controls, space, soft hyphen, ...) get the characters U+0100, U+0101, ... in byte order.
    """
    printable = [*range(ord("!"), ord("~") + 1), *range(0xA1, 0xAC + 1), *range(0xAE, 0xFF + 1)]
    chars = {chr(b): b for b in printable}
    others = [b for b in range(256) if b not in chars.values()]
    chars.update({chr(256 + k): b for k, b in enumerate(others)})
    return chars
