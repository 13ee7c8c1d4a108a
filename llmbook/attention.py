"""Self-attention, built in the order chapter 4 derives it.

1. :func:`simple_self_attention`: no weights at all; every token is a mix of all tokens, mixed in
   proportion to the softmax of dot products.
2. :func:`scaled_dot_product_attention`: queries, keys and values, scores divided by
   ``sqrt(head_dim)``, an optional mask (:func:`causal_mask`, :func:`masked_softmax`) and dropout on
   the attention weights.
3. :class:`SelfAttention`: one head with trainable query/key/value projections.
4. :class:`MultiHeadAttention`: ``n_head`` heads computed as one batched tensor operation, which
   is what the GPT in :mod:`llmbook.gpt` uses.

Masks follow PyTorch's convention: a boolean tensor where ``True`` means "may attend".
:class:`MultiHeadAttention` computes attention with our own :func:`scaled_dot_product_attention`
when asked for the weights (heatmaps) or when ``fast=False``, and otherwise with PyTorch's fused
``torch.nn.functional.scaled_dot_product_attention``; ``tests/test_attention.py`` proves the two
equal to 1e-6 in float64, so the fast path computes exactly what the chapter derives.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn


def simple_self_attention(x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Attention with no trainable weights: ``x`` ``(..., time, dim)`` -> (context, weights).

    Scores are the dot products of every token with every token; a row-wise softmax turns them
    into weights summing to 1; each output is the weighted average of the inputs.
    """
    scores = x @ x.transpose(-2, -1)
    weights = torch.softmax(scores, dim=-1)
    return weights @ x, weights


def causal_mask(n: int, device: torch.device | str | None = None) -> torch.Tensor:
    """``(n, n)`` boolean mask, ``True`` on and below the diagonal: position ``i`` may attend to
    positions ``0..i`` and never to the future."""
    if not isinstance(n, int) or n < 1:
        raise ValueError(f"causal_mask needs a sequence length >= 1, got {n!r}")
    return torch.ones(n, n, dtype=torch.bool, device=device).tril()


def masked_softmax(scores: torch.Tensor, mask: torch.Tensor | None = None) -> torch.Tensor:
    """Softmax over the last dimension where masked-out scores (``mask == False``) get weight 0.

    Setting them to ``-inf`` before the softmax (rather than zeroing weights after it) keeps each
    row summing to 1 over the allowed positions.
    """
    if mask is not None:
        if mask.dtype != torch.bool:
            raise TypeError(f"mask must be a boolean tensor (True = may attend), got {mask.dtype}")
        scores = scores.masked_fill(~mask, float("-inf"))
    return torch.softmax(scores, dim=-1)


def scaled_dot_product_attention(
    q: torch.Tensor,
    k: torch.Tensor,
    v: torch.Tensor,
    mask: torch.Tensor | None = None,
    dropout: float = 0.0,
) -> tuple[torch.Tensor, torch.Tensor]:
    """``softmax(q k^T / sqrt(d) + mask) v``, written out; returns (output, attention weights).

    ``q`` is ``(..., T_q, d)``, ``k`` and ``v`` are ``(..., T_k, d)``; ``mask`` broadcasts to
    ``(..., T_q, T_k)``. Dividing by ``sqrt(d)`` keeps the scores' variance near 1 whatever the
    head size, so the softmax does not saturate. ``dropout`` zeroes random attention weights
    (and rescales the rest) -- pass 0 at evaluation time.
    """
    if q.shape[-1] != k.shape[-1]:
        raise ValueError(f"queries and keys need the same size, got {q.shape[-1]} and {k.shape[-1]}")
    scores = q @ k.transpose(-2, -1) / math.sqrt(q.shape[-1])
    weights = masked_softmax(scores, mask)
    if dropout > 0:
        weights = F.dropout(weights, p=dropout)
    return weights @ v, weights


class SelfAttention(nn.Module):
    """One attention head with trainable query, key and value projections ``d_in -> d_out``.

    ``causal=True`` hides future positions; ``dropout`` drops attention weights in training.
    """

    def __init__(self, d_in: int, d_out: int, causal: bool = False, dropout: float = 0.0,
                 bias: bool = False):  # fmt: skip
        super().__init__()
        self.query = nn.Linear(d_in, d_out, bias=bias)
        self.key = nn.Linear(d_in, d_out, bias=bias)
        self.value = nn.Linear(d_in, d_out, bias=bias)
        self.causal = causal
        self.dropout = dropout

    def forward(self, x: torch.Tensor, return_weights: bool = False):
        """``x`` ``(..., time, d_in)`` -> ``(..., time, d_out)`` (and the weights if asked)."""
        mask = causal_mask(x.shape[-2], x.device) if self.causal else None
        out, weights = scaled_dot_product_attention(
            self.query(x), self.key(x), self.value(x), mask,
            self.dropout if self.training else 0.0,
        )  # fmt: skip
        return (out, weights) if return_weights else out


class KVCache:
    """The keys and values one attention layer has computed so far, ``(batch, heads, time, d)``.

    During generation each new token's query attends to every earlier key and value; keeping them
    means each step computes projections for the newest token only.
    """

    def __init__(self) -> None:
        self.k: torch.Tensor | None = None
        self.v: torch.Tensor | None = None

    @property
    def length(self) -> int:
        """How many positions are cached."""
        return 0 if self.k is None else self.k.shape[-2]

    def extend(self, k: torch.Tensor, v: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Append this step's keys and values; return all of them so far."""
        if self.k is not None:
            k = torch.cat([self.k, k], dim=-2)
            v = torch.cat([self.v, v], dim=-2)
        self.k, self.v = k, v
        return k, v


class MultiHeadAttention(nn.Module):
    """``n_head`` attention heads as one batched module.

    One linear layer computes the queries, keys and values of all heads at once; the
    ``n_embd``-wide result is split into heads of ``n_embd // n_head`` dimensions, each head
    attends on its own, and the heads' outputs are concatenated and mixed by an output projection.
    """

    def __init__(self, n_embd: int, n_head: int, causal: bool = True, dropout: float = 0.0,
                 bias: bool = True, fast: bool = True):  # fmt: skip
        super().__init__()
        if n_embd % n_head:
            raise ValueError(
                f"n_embd ({n_embd}) must be divisible by n_head ({n_head}): each head gets "
                f"n_embd / n_head dimensions"
            )
        self.n_head = n_head
        self.causal = causal
        self.dropout = dropout
        self.fast = fast
        self.qkv = nn.Linear(n_embd, 3 * n_embd, bias=bias)
        self.proj = nn.Linear(n_embd, n_embd, bias=bias)

    def split_heads(self, t: torch.Tensor) -> torch.Tensor:
        """``(B, T, C)`` -> ``(B, n_head, T, C // n_head)``: each head gets its own slice of the
        width, and the transpose puts the heads next to the batch so they run as one batch."""
        B, T, C = t.shape
        return t.view(B, T, self.n_head, C // self.n_head).transpose(1, 2)

    @staticmethod
    def merge_heads(y: torch.Tensor) -> torch.Tensor:
        """``(B, n_head, T, head_dim)`` -> ``(B, T, n_head * head_dim)``: the heads' outputs side
        by side again (transpose back first, or time steps and heads get mixed)."""
        B, _, T, _ = y.shape
        return y.transpose(1, 2).reshape(B, T, -1)

    def forward(self, x: torch.Tensor, cache: KVCache | None = None, return_weights: bool = False):
        """``x`` ``(batch, time, n_embd)`` -> same shape; with ``return_weights`` also the weights
        ``(batch, n_head, time, time)``. With a ``cache`` the keys/values of earlier positions are
        reused and ``x`` holds only the new positions."""
        B, T, C = x.shape
        q, k, v = (self.split_heads(t) for t in self.qkv(x).split(C, dim=2))  # (B, h, T, C/h) each
        if cache is not None:
            k, v = cache.extend(k, v)
        y, weights = self.attend(q, k, v, return_weights)  # (B, h, T, C/h)
        y = self.proj(self.merge_heads(y))
        return (y, weights) if return_weights else y

    def attend(self, q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, return_weights: bool = False):
        """Every head's attention at once: (output, weights or None). Our
        :func:`scaled_dot_product_attention` when the weights are wanted or ``fast=False``,
        otherwise PyTorch's fused kernel, which computes the same numbers."""
        T, past = q.shape[2], k.shape[2] - q.shape[2]  # past: positions cached before this call
        p = self.dropout if self.training else 0.0
        fused = self.fast and not return_weights
        if fused and self.causal and past == 0 and T > 1:  # the fused kernel builds the mask itself
            return F.scaled_dot_product_attention(q, k, v, dropout_p=p, is_causal=True), None
        mask = None
        if self.causal and T > 1:  # the new queries sit after `past` positions they may all see
            mask = torch.ones(T, past + T, dtype=torch.bool, device=q.device).tril(past)
        if not fused:
            return scaled_dot_product_attention(q, k, v, mask, p)
        return F.scaled_dot_product_attention(q, k, v, attn_mask=mask, dropout_p=p), None
