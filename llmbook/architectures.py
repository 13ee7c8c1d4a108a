"""The other transformer families and what larger models change, as small runnable modules.

GPT (:mod:`llmbook.gpt`) is a decoder: causal self-attention, next-token prediction. Changing
three things gives the other families chapter 5 contrasts with it:

- :class:`MaskedLM` (BERT-style encoder): *the mask* -- no causal mask, every token sees the whole
  text; *the objective* -- predict randomly hidden tokens (:func:`mask_tokens`) from both sides.
- :class:`EncoderDecoder` (T5-style): an encoder reads the source with full attention; a causal
  decoder writes the target and, in every block, *cross-attends* (:class:`CrossAttention`) to the
  encoder's output. (T5 itself uses relative position biases; we keep learned positions so that
  only the structure differs from GPT.)

And two things larger models change:

- :class:`GroupedQueryAttention` (GQA): several query heads share one key/value head, so the KV
  cache shrinks by ``n_head / n_kv_head``.
- :class:`MoEFeedForward` (mixture of experts): a router sends each token to ``top_k`` of
  ``n_expert`` feed-forward networks; parameters grow with ``n_expert``, compute with ``top_k``.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from llmbook.attention import causal_mask, scaled_dot_product_attention
from llmbook.embedding import TokenAndPositionEmbedding
from llmbook.gpt import GPT, Block, FeedForward, GPTConfig


def mask_tokens(idx: torch.Tensor, mask_id: int, p: float = 0.15,
                generator: torch.Generator | None = None) -> tuple[torch.Tensor, torch.Tensor]:  # fmt: skip
    """BERT's objective: hide a random fraction ``p`` of the tokens behind ``mask_id``.

    Returns (inputs with the hidden tokens replaced, targets holding the original token where
    hidden and -100 -- ignored by the loss -- elsewhere). At least one token per row is hidden.
    (BERT also leaves some chosen tokens unchanged or random; we keep the core idea only.)
    """
    if not 0 < p < 1:
        raise ValueError(f"p must be in (0, 1), got {p}")
    noise = torch.rand(idx.shape, generator=generator).to(idx.device)
    hidden = noise < p
    hidden[torch.arange(idx.shape[0]), noise.argmin(-1)] = True  # never an empty row
    inputs = idx.masked_fill(hidden, mask_id)
    targets = idx.masked_fill(~hidden, -100)
    return inputs, targets


class MaskedLM(nn.Module):
    """An encoder-only (BERT-style) model: the GPT blocks without the causal mask.

    ``model(idx)`` -> logits ``(batch, time, vocab)`` for every position, using context on both
    sides; train with ``model.loss(*mask_tokens(idx, mask_id))``.
    """

    def __init__(self, cfg: GPTConfig):
        super().__init__()
        self.config = cfg
        self.embed = TokenAndPositionEmbedding(cfg.vocab_size, cfg.n_embd, cfg.context_length)
        self.blocks = nn.ModuleList(Block(cfg, causal=False) for _ in range(cfg.n_layer))
        self.ln_f = nn.LayerNorm(cfg.n_embd, bias=cfg.bias)
        self.head = nn.Linear(cfg.n_embd, cfg.vocab_size, bias=False)
        self.head.weight = self.embed.tok.weight
        self.apply(GPT._init_weights)

    def forward(self, idx: torch.Tensor) -> torch.Tensor:
        x = self.embed(idx)
        for block in self.blocks:
            x = block(x)
        return self.head(self.ln_f(x))

    def loss(self, inputs: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        """Cross-entropy on the hidden positions only (targets -100 elsewhere)."""
        return F.cross_entropy(self(inputs).flatten(0, 1), targets.flatten(), ignore_index=-100)


class CrossAttention(nn.Module):
    """Multi-head attention whose queries come from ``x`` (the decoder) and whose keys and values
    come from ``memory`` (the encoder's output): no mask, the whole source is visible."""

    def __init__(self, n_embd: int, n_head: int):
        super().__init__()
        if n_embd % n_head:
            raise ValueError(f"n_embd ({n_embd}) must be divisible by n_head ({n_head})")
        self.n_head = n_head
        self.q = nn.Linear(n_embd, n_embd)
        self.kv = nn.Linear(n_embd, 2 * n_embd)
        self.proj = nn.Linear(n_embd, n_embd)

    def _heads(self, t: torch.Tensor) -> torch.Tensor:
        B, T, C = t.shape
        return t.view(B, T, self.n_head, C // self.n_head).transpose(1, 2)

    def forward(self, x: torch.Tensor, memory: torch.Tensor, return_weights: bool = False):
        B, T, C = x.shape
        k, v = self.kv(memory).split(C, dim=2)
        y, w = scaled_dot_product_attention(self._heads(self.q(x)), self._heads(k), self._heads(v))
        y = self.proj(y.transpose(1, 2).reshape(B, T, C))
        return (y, w) if return_weights else y


class DecoderBlock(nn.Module):
    """Causal self-attention, then cross-attention to the encoder, then the MLP (all pre-LN)."""

    def __init__(self, cfg: GPTConfig):
        super().__init__()
        self.self_block = Block(cfg, causal=True)  # self-attention + MLP ...
        self.ln_cross = nn.LayerNorm(cfg.n_embd)
        self.cross = CrossAttention(cfg.n_embd, cfg.n_head)

    def forward(self, x: torch.Tensor, memory: torch.Tensor) -> torch.Tensor:
        b = self.self_block
        x = x + b.attn(b.ln1(x))
        x = x + self.cross(self.ln_cross(x), memory)  # ... with cross-attention in between
        return x + b.mlp(b.ln2(x))


class EncoderDecoder(nn.Module):
    """A T5-style encoder-decoder: ``model(src, tgt_in)`` -> logits ``(batch, T_tgt, vocab)``
    for the next target token at every target position. Source and target share one vocabulary
    and embedding, as in T5."""

    def __init__(self, cfg: GPTConfig):
        super().__init__()
        self.config = cfg
        self.embed = TokenAndPositionEmbedding(cfg.vocab_size, cfg.n_embd, cfg.context_length)
        self.encoder = nn.ModuleList(Block(cfg, causal=False) for _ in range(cfg.n_layer))
        self.ln_enc = nn.LayerNorm(cfg.n_embd)
        self.decoder = nn.ModuleList(DecoderBlock(cfg) for _ in range(cfg.n_layer))
        self.ln_f = nn.LayerNorm(cfg.n_embd)
        self.head = nn.Linear(cfg.n_embd, cfg.vocab_size, bias=False)
        self.head.weight = self.embed.tok.weight
        self.apply(GPT._init_weights)

    def encode(self, src: torch.Tensor) -> torch.Tensor:
        x = self.embed(src)
        for block in self.encoder:
            x = block(x)
        return self.ln_enc(x)

    def forward(self, src: torch.Tensor, tgt_in: torch.Tensor) -> torch.Tensor:
        memory = self.encode(src)
        y = self.embed(tgt_in)
        for block in self.decoder:
            y = block(y, memory)
        return self.head(self.ln_f(y))

    @torch.no_grad()
    def greedy(self, src: torch.Tensor, bos_id: int, max_new_tokens: int) -> torch.Tensor:
        """Greedy decoding: start from ``bos_id``, append the most likely token each step."""
        out = torch.full((src.shape[0], 1), bos_id, dtype=torch.long, device=src.device)
        memory = self.encode(src)
        for _ in range(max_new_tokens):
            y = self.embed(out)
            for block in self.decoder:
                y = block(y, memory)
            nxt = self.head(self.ln_f(y[:, -1])).argmax(-1, keepdim=True)
            out = torch.cat([out, nxt], dim=1)
        return out


class GroupedQueryAttention(nn.Module):
    """Causal attention with ``n_head`` query heads sharing ``n_kv_head`` key/value heads.

    ``n_kv_head == n_head`` is ordinary multi-head attention; ``n_kv_head == 1`` is multi-query
    attention. Keys and values (and so the KV cache) are ``n_head / n_kv_head`` times smaller.
    """

    def __init__(self, n_embd: int, n_head: int, n_kv_head: int):
        super().__init__()
        if n_embd % n_head or n_head % n_kv_head:
            raise ValueError(f"n_embd ({n_embd}) must be divisible by n_head ({n_head}) and "
                             f"n_head by n_kv_head ({n_kv_head})")  # fmt: skip
        self.n_head, self.n_kv_head, self.head_dim = n_head, n_kv_head, n_embd // n_head
        self.q = nn.Linear(n_embd, n_embd, bias=False)
        self.kv = nn.Linear(n_embd, 2 * n_kv_head * self.head_dim, bias=False)
        self.proj = nn.Linear(n_embd, n_embd, bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        B, T, C = x.shape
        q = self.q(x).view(B, T, self.n_head, self.head_dim).transpose(1, 2)
        k, v = (t.view(B, T, self.n_kv_head, self.head_dim).transpose(1, 2)
                for t in self.kv(x).split(self.n_kv_head * self.head_dim, dim=2))  # fmt: skip
        group = self.n_head // self.n_kv_head  # query heads per key/value head
        k, v = k.repeat_interleave(group, dim=1), v.repeat_interleave(group, dim=1)
        y, _ = scaled_dot_product_attention(q, k, v, causal_mask(T, x.device))
        return self.proj(y.transpose(1, 2).reshape(B, T, C))


class MoEFeedForward(nn.Module):
    """A mixture-of-experts feed-forward layer with top-k routing.

    A linear router scores the ``n_expert`` experts for each token; the token goes to its
    ``top_k`` best, and their outputs are mixed with the softmax of those scores.
    """

    def __init__(self, n_embd: int, n_expert: int = 4, top_k: int = 2):
        super().__init__()
        if not 1 <= top_k <= n_expert:
            raise ValueError(f"top_k must be between 1 and n_expert ({n_expert}), got {top_k}")
        self.top_k = top_k
        self.router = nn.Linear(n_embd, n_expert, bias=False)
        self.experts = nn.ModuleList(FeedForward(n_embd) for _ in range(n_expert))

    def route(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(gate weights ``(..., top_k)`` summing to 1, chosen expert ids ``(..., top_k)``)."""
        scores, chosen = self.router(x).topk(self.top_k, dim=-1)
        return torch.softmax(scores, dim=-1), chosen

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        gates, chosen = self.route(x)
        flat, out = x.reshape(-1, x.shape[-1]), torch.zeros_like(x).reshape(-1, x.shape[-1])
        gates, chosen = gates.reshape(-1, self.top_k), chosen.reshape(-1, self.top_k)
        for e, expert in enumerate(self.experts):
            token, slot = (chosen == e).nonzero(as_tuple=True)  # the tokens routed to expert e
            if token.numel():
                out.index_add_(0, token, gates[token, slot, None] * expert(flat[token]))
        return out.view_as(x)
