"""Sequence-to-sequence models on a synthetic task: Arabic numerals -> Korean number words
(``"30512"`` -> ``"삼만 오백십이"``), generated here, so any amount of data is free.

Both models share a bidirectional GRU encoder and a GRU decoder. Without attention (Cho et al.,
2014) the decoder sees one fixed context vector (the encoder's final states) at every step: the
whole input must squeeze into it, and accuracy falls with input length. With Bahdanau attention
(Bahdanau et al., 2015) each decoder step scores every encoder state,
``e_j = v . tanh(W s + U h_j)``, and reads their softmax-weighted mean, so long inputs work.
The shipped pair (``store.load("seq2seq_plain")``, ``"seq2seq_attention"``) is built by
:mod:`llmbook.recipes.seq2seq`.
"""

from __future__ import annotations

import random
from collections.abc import Sequence

import torch
import torch.nn.functional as F

from llmbook.metrics import bleu

DIGITS = "영일이삼사오육칠팔구"
GROUP_UNITS = ("", "만", "억", "조")
PAD, BOS, EOS = 0, 1, 2
SRC_CHARS = list("0123456789")
TGT_CHARS = sorted(set(DIGITS + "십백천" + "".join(GROUP_UNITS) + " "))
SRC_ITOS = ["<pad>", "<bos>", "<eos>", *SRC_CHARS]
TGT_ITOS = ["<pad>", "<bos>", "<eos>", *TGT_CHARS]


def korean_number(n: int) -> str:
    """How Korean writes a number in words: 1-digit multipliers of 천/백/십 drop '일'
    ('천이백'), groups of four digits take 만/억/조 and are separated by spaces ('삼만 오백십이');
    10000 alone is '만'. Handles 0 <= n < 10**16."""
    if not isinstance(n, int) or isinstance(n, bool) or not 0 <= n < 10**16:
        raise ValueError(f"korean_number handles whole numbers 0 .. 10**16 - 1, got {n!r}")
    if n == 0:
        return "영"
    groups = []
    for g in range(3, -1, -1):
        part = (n // 10 ** (4 * g)) % 10000
        if not part:
            continue
        words = ""
        for unit, d in zip(("천", "백", "십", ""), f"{part:04d}", strict=True):
            if d != "0":
                words += ("" if d == "1" and unit else DIGITS[int(d)]) + unit
        if g == 1 and part == 1:
            words = ""  # 만, not 일만
        groups.append(words + GROUP_UNITS[g])
    return " ".join(groups)


def make_pairs(n: int, min_digits: int = 1, max_digits: int = 12, seed: int = 0) -> list[tuple[str, str]]:
    """``n`` (numeral, Korean words) pairs; the digit count is uniform in the given range."""
    if not 1 <= min_digits <= max_digits <= 16:
        raise ValueError("need 1 <= min_digits <= max_digits <= 16")
    rng = random.Random(seed)
    out = []
    for _ in range(n):
        k = rng.randint(min_digits, max_digits)
        x = rng.randint(10 ** (k - 1) if k > 1 else 0, 10**k - 1)
        out.append((str(x), korean_number(x)))
    return out


def encode_batch(strings: Sequence[str], itos: Sequence[str]) -> torch.Tensor:
    """Strings -> padded (B, L) ids with <bos> ... <eos>."""
    stoi = {c: i for i, c in enumerate(itos)}
    bad = {c for s in strings for c in s} - stoi.keys()
    if bad:
        raise ValueError(f"characters outside the task's alphabet: {sorted(bad)}")
    L = max(len(s) for s in strings) + 2
    out = torch.full((len(strings), L), PAD, dtype=torch.long)
    for i, s in enumerate(strings):
        out[i, : len(s) + 2] = torch.tensor([BOS, *(stoi[c] for c in s), EOS])
    return out


class Seq2Seq(torch.nn.Module):
    """Bi-GRU encoder, GRU decoder; ``attention=False`` uses a fixed context vector instead."""

    def __init__(self, attention: bool, d_embed: int = 32, d_hidden: int = 128):
        super().__init__()
        self.attention, H = attention, d_hidden
        self.src_embed = torch.nn.Embedding(len(SRC_ITOS), d_embed, padding_idx=PAD)
        self.tgt_embed = torch.nn.Embedding(len(TGT_ITOS), d_embed, padding_idx=PAD)
        self.encoder = torch.nn.GRU(d_embed, H, batch_first=True, bidirectional=True)
        self.init = torch.nn.Linear(2 * H, H)
        self.decoder = torch.nn.GRUCell(d_embed + 2 * H, H)
        self.W = torch.nn.Linear(H, H, bias=False)  # attention: query projection
        self.U = torch.nn.Linear(2 * H, H, bias=False)  # attention: key projection
        self.v = torch.nn.Linear(H, 1, bias=False)
        self.out = torch.nn.Linear(H + 2 * H + d_embed, len(TGT_ITOS))

    def encode(self, src: torch.Tensor):
        """Encoder states (B, S, 2H), the source mask, the fixed context and the first decoder state."""
        mask = src != PAD
        lengths = mask.sum(1).cpu()
        packed = torch.nn.utils.rnn.pack_padded_sequence(
            self.src_embed(src), lengths, batch_first=True, enforce_sorted=False)
        out, last = self.encoder(packed)
        states, _ = torch.nn.utils.rnn.pad_packed_sequence(out, batch_first=True,
                                                           total_length=src.shape[1])
        fixed = torch.cat([last[0], last[1]], -1)  # forward's last, backward's first: (B, 2H)
        return states, mask, fixed, torch.tanh(self.init(fixed))

    def attend(self, s, keys, states, mask):
        """Bahdanau attention: score every encoder state against the decoder state ``s`` (B, H),
        ``e_j = v . tanh(W s + U h_j)`` (``keys`` holds ``U h_j``, computed once per input), softmax
        over the real (unpadded) positions, and return (context (B, 2H), weights (B, S))."""
        scores = self.v(torch.tanh(self.W(s)[:, None] + keys)).squeeze(-1)  # (B, S)
        weights = scores.masked_fill(~mask, float("-inf")).softmax(-1)
        context = (weights[:, :, None] * states).sum(1)  # weighted mean of the encoder states
        return context, weights

    def step(self, y_prev, s, states, mask, fixed, keys):
        """One decoder step: (logits, new state, attention weights or None)."""
        e = self.tgt_embed(y_prev)
        weights = None
        if self.attention:
            context, weights = self.attend(s, keys, states, mask)
        else:
            context = fixed
        s = self.decoder(torch.cat([e, context], -1), s)
        return self.out(torch.cat([s, context, e], -1)), s, weights

    def forward(self, src: torch.Tensor, tgt_in: torch.Tensor) -> torch.Tensor:
        """Teacher forcing: logits (B, T, V) for each next target token."""
        states, mask, fixed, s = self.encode(src)
        keys = self.U(states)
        logits = []
        for t in range(tgt_in.shape[1]):
            lo, s, _ = self.step(tgt_in[:, t], s, states, mask, fixed, keys)
            logits.append(lo)
        return torch.stack(logits, 1)

    @torch.no_grad()
    def translate(self, numerals: Sequence[str], max_len: int = 48):
        """Greedy decoding: (Korean strings, attention weights (B, T_out, S) or None)."""
        dev = next(self.parameters()).device
        src = encode_batch(numerals, SRC_ITOS).to(dev)
        states, mask, fixed, s = self.encode(src)
        keys = self.U(states)
        y = torch.full((len(numerals),), BOS, dtype=torch.long, device=dev)
        outs, attn = [], []
        for _ in range(max_len):
            lo, s, w = self.step(y, s, states, mask, fixed, keys)
            y = lo.argmax(-1)
            outs.append(y)
            if w is not None:
                attn.append(w)
            if (torch.stack(outs, 1) == EOS).any(1).all():
                break
        ids = torch.stack(outs, 1).tolist()
        texts = []
        for row in ids:
            row = row[: row.index(EOS)] if EOS in row else row
            texts.append("".join(TGT_ITOS[i] for i in row if i > EOS))
        return texts, (torch.stack(attn, 1).cpu() if attn else None)


def train_seq2seq(attention: bool, steps: int = 600, batch_size: int = 64, max_digits: int = 12,
                  lr: float = 3e-3, d_hidden: int = 128, seed: int = 0,
                  device: torch.device | None = None) -> tuple[Seq2Seq, list[float]]:  # fmt: skip
    """Train on freshly generated pairs (1..``max_digits`` digits); returns (model, losses)."""
    torch.manual_seed(seed)
    model = Seq2Seq(attention, d_hidden=d_hidden).to(device or torch.device("cpu"))
    dev = next(model.parameters()).device
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    data = make_pairs(steps * batch_size, 1, max_digits, seed=seed)
    losses = []
    for i in range(steps):
        chunk = data[i * batch_size : (i + 1) * batch_size]
        src = encode_batch([a for a, _ in chunk], SRC_ITOS).to(dev)
        tgt = encode_batch([b for _, b in chunk], TGT_ITOS).to(dev)
        logits = model(src, tgt[:, :-1])
        loss = F.cross_entropy(logits.flatten(0, 1), tgt[:, 1:].flatten(), ignore_index=PAD)
        opt.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        losses.append(loss.item())
    return model, losses


def evaluate_by_length(model: Seq2Seq, lengths: Sequence[int], n: int = 200, seed: int = 1
                       ) -> dict[int, tuple[float, float]]:  # fmt: skip
    """For each digit count: (exact-match accuracy, character-level corpus BLEU) on ``n`` fresh
    numbers (seed differs from training's, so the test numbers are new)."""
    result = {}
    for k in lengths:
        pairs = make_pairs(n, k, k, seed=seed * 1000 + k)
        got, _ = model.translate([a for a, _ in pairs])
        acc = sum(g == b for g, (_, b) in zip(got, pairs, strict=True)) / n
        score = bleu([list(g) for g in got], [[list(b)] for _, b in pairs], smooth=True)
        result[k] = (acc, score)
    return result


def plot_attention(weights: torch.Tensor, numeral: str, output: str, ax=None):
    """Heatmap of one example's attention: output characters (rows) x input digits (columns)."""
    import matplotlib.pyplot as plt

    w = weights[: len(output) + 1, 1 : len(numeral) + 1].numpy()  # skip <bos>/<eos> columns
    ax = ax or plt.subplots(figsize=(0.4 * len(numeral) + 2, 0.3 * len(output) + 2))[1]
    ax.imshow(w, cmap="viridis", aspect="auto")
    ax.set_xticks(range(len(numeral)), list(numeral))
    ax.set_yticks(range(len(output) + 1), [*("␣" if c == " " else c for c in output), "<eos>"])
    return ax
