"""Recurrent language models (vanilla RNN, LSTM, GRU) on character ids, and the gradient norms
through time that show why the vanilla RNN forgets.

An RNN reads one token at a time and keeps a hidden state, so unlike an n-gram its context is
unbounded in principle. In practice the gradient reaching a token k steps back is a product of
k Jacobians; for a tanh RNN it shrinks geometrically (vanishing gradients), while the LSTM's
additive cell state lets it flow much further. :func:`gradient_through_time` measures it.
The shipped character LSTMs (``store.load("lstm_ko")``, ``"lstm_en"``) are built by
:mod:`llmbook.recipes.rnn`.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F

CELLS = {"rnn": torch.nn.RNN, "lstm": torch.nn.LSTM, "gru": torch.nn.GRU}


class RNNLM(torch.nn.Module):
    """Embedding -> recurrent layers -> linear head. ``forward(ids (B, T))`` returns logits
    (B, T, V), so :func:`llmbook.train.train` trains it like any other language model."""

    def __init__(self, vocab_size: int, cell: str = "lstm", d_embed: int = 64,
                 d_hidden: int = 256, n_layers: int = 1):  # fmt: skip
        super().__init__()
        if cell not in CELLS:
            raise ValueError(f"cell must be one of {sorted(CELLS)}, got {cell!r}")
        self.cell = cell
        self.embed = torch.nn.Embedding(vocab_size, d_embed)
        kw = {"nonlinearity": "tanh"} if cell == "rnn" else {}
        self.rnn = CELLS[cell](d_embed, d_hidden, n_layers, batch_first=True, **kw)
        self.head = torch.nn.Linear(d_hidden, vocab_size)

    def forward(self, ids: torch.Tensor, state=None, return_state: bool = False):
        out, state = self.rnn(self.embed(ids), state)
        logits = self.head(out)
        return (logits, state) if return_state else logits


@torch.no_grad()
def log_probs(model: RNNLM, ids: Sequence[int], chunk: int = 512) -> torch.Tensor:
    """Natural-log probability of each id after the first, reading the whole text in order and
    carrying the hidden state across chunks (so the context is the full past, as for the
    n-gram's :meth:`~llmbook.ngram.NGramLM.log_probs`). Feed it to ``metrics.perplexity``."""
    dev = next(model.parameters()).device
    x = torch.as_tensor(ids, dtype=torch.long, device=dev)
    if x.numel() < 2:
        raise ValueError("need at least 2 token ids")
    was = model.training
    model.eval()
    out, state = [], None
    for s in range(0, x.numel() - 1, chunk):
        inp, tgt = x[s : s + chunk][None], x[s + 1 : s + chunk + 1][None]
        inp = inp[:, : tgt.shape[1]]
        logits, state = model(inp, state, return_state=True)
        out.append(F.log_softmax(logits[0], -1).gather(1, tgt[0][:, None])[:, 0])
    model.train(was)
    return torch.cat(out).cpu()


def gradient_through_time(model: RNNLM, ids: torch.Tensor) -> torch.Tensor:
    """How strongly the loss at the *last* position depends on the input k steps earlier:
    the norm of d loss_T / d embedding_t for t = T-1 .. 0, returned indexed by distance k
    (k = 0 is the last input), averaged over the batch ``ids`` (B, T)."""
    if ids.dim() != 2 or ids.shape[1] < 2:
        raise ValueError("ids must be a (batch, time) tensor with time >= 2")
    x, y = ids[:, :-1], ids[:, -1]
    emb = model.embed(x).detach().requires_grad_(True)
    out, _ = model.rnn(emb)
    loss = F.cross_entropy(model.head(out[:, -1]), y)
    (grad,) = torch.autograd.grad(loss, emb)
    return grad.norm(dim=-1).mean(0).flip(0)
