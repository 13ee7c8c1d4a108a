"""Token embeddings and the three ways chapter 4 gives a transformer a sense of word order.

Attention by itself ignores order: shuffle the input tokens and every output is shuffled the same
way. Position information fixes that:

- learned absolute positions (:class:`TokenAndPositionEmbedding`, GPT-2): a trained vector per
  position index, added to the token's vector;
- sinusoidal positions (:func:`sinusoidal_positions`, the original transformer): fixed sines and
  cosines of geometrically spaced frequencies, added the same way, defined for any length;
- rotary positions (:func:`apply_rope`, RoPE, used by most current LLMs): queries and keys are
  rotated by an angle proportional to their position, so their dot product depends only on the
  *distance* between the two positions.
"""

from __future__ import annotations

import torch
from torch import nn


class TokenAndPositionEmbedding(nn.Module):
    """Token ids ``(..., time)`` -> vectors ``(..., time, n_embd)``: token embedding + learned
    position embedding (GPT-2's input layer)."""

    def __init__(self, vocab_size: int, n_embd: int, context_length: int):
        super().__init__()
        for name, value in (("vocab_size", vocab_size), ("n_embd", n_embd),
                            ("context_length", context_length)):  # fmt: skip
            if not isinstance(value, int) or value < 1:
                raise ValueError(f"{name} must be a whole number >= 1, got {value!r}")
        self.tok = nn.Embedding(vocab_size, n_embd)
        self.pos = nn.Embedding(context_length, n_embd)

    @property
    def context_length(self) -> int:
        return self.pos.num_embeddings

    def forward(self, idx: torch.Tensor, start: int = 0) -> torch.Tensor:
        """Embed ``idx``, whose first token sits at position ``start`` (> 0 when earlier tokens
        are held in a KV cache)."""
        if idx.dtype not in (torch.long, torch.int):
            raise TypeError(f"token ids must be an integer tensor, got {idx.dtype}")
        T = idx.shape[-1]
        if start + T > self.context_length:
            raise ValueError(
                f"{start + T} tokens is longer than the context_length ({self.context_length}) "
                f"this embedding has positions for; crop the input to its last "
                f"{self.context_length} tokens"
            )
        pos = torch.arange(start, start + T, device=idx.device)
        try:
            tokens = self.tok(idx)
        except IndexError:  # checked only on failure: a check on every call would cost a sync
            raise ValueError(
                f"token ids must lie in [0, {self.tok.num_embeddings}) (the vocabulary size), "
                f"got ids from {int(idx.min())} to {int(idx.max())}"
            ) from None
        return tokens + self.pos(pos)


def sinusoidal_positions(n_positions: int, dim: int, base: float = 10000.0) -> torch.Tensor:
    """The original transformer's fixed position vectors, ``(n_positions, dim)``.

    Entry ``(p, 2i)`` is ``sin(p / base**(2i/dim))`` and ``(p, 2i+1)`` is the cosine of the same
    angle: low dimensions oscillate fast, high dimensions slowly, like the digits of a clock.
    """
    if dim % 2:
        raise ValueError(f"sinusoidal positions need an even dimension, got {dim}")
    angles = _angles(torch.arange(n_positions), dim, base).float()
    out = torch.empty(n_positions, dim)
    out[:, 0::2] = angles.sin()
    out[:, 1::2] = angles.cos()
    return out


def _angles(positions: torch.Tensor, dim: int, base: float) -> torch.Tensor:
    """``(len(positions), dim // 2)`` in float64: position ``p`` times ``base**(-2i/dim)``."""
    i2 = torch.arange(0, dim, 2, device=positions.device, dtype=torch.float64)
    return positions.to(torch.float64)[:, None] * base ** (-i2 / dim)


def apply_rope(x: torch.Tensor, positions: torch.Tensor | None = None,
               base: float = 10000.0) -> torch.Tensor:  # fmt: skip
    """Rotary position embedding of queries or keys ``x`` ``(..., time, dim)``.

    Each pair of dimensions ``(2i, 2i+1)`` is rotated by the angle ``position * base**(-2i/dim)``.
    A rotation preserves lengths, and the dot product of a query rotated for position ``m`` with
    a key rotated for position ``n`` depends on ``m - n`` only. ``positions`` (default ``0..T-1``)
    lets a KV cache rotate new tokens for where they actually are.
    """
    T, dim = x.shape[-2], x.shape[-1]
    if dim % 2:
        raise ValueError(f"RoPE rotates pairs of dimensions, so dim must be even, got {dim}")
    if positions is None:
        positions = torch.arange(T, device=x.device)
    angles = _angles(positions, dim, base).to(x.dtype)  # (T, dim/2)
    cos, sin = angles.cos(), angles.sin()
    even, odd = x[..., 0::2], x[..., 1::2]
    out = torch.empty_like(x)
    out[..., 0::2] = even * cos - odd * sin
    out[..., 1::2] = even * sin + odd * cos
    return out
