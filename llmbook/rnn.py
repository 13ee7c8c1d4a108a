"""Recurrent language models (vanilla RNN, LSTM, GRU) on character ids, and the gradient norms
through time that show why the vanilla RNN forgets.

An RNN reads one token at a time and keeps a hidden state, so unlike an n-gram its context is
unbounded in principle. In practice the gradient reaching a token k steps back is a product of
k Jacobians; for a tanh RNN it shrinks geometrically (vanishing gradients), while the LSTM's
additive cell state lets it flow much further. :func:`gradient_through_time` measures it.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import torch
import torch.nn.functional as F

from llmbook import corpus
from llmbook.metrics import perplexity
from llmbook.runtime import seed as seed_everything
from llmbook.textproc import Vocab
from llmbook.train import TrainConfig, Windows, train

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


PRETRAINED = Path(__file__).parent / "data" / "rnn"
PRETRAINED_CONFIG = {"cell": "lstm", "d_embed": 64, "d_hidden": 256}
PRETRAINED_STEPS = 1500


def pretrained(lang: str):
    """(LSTM language model, its character ``Vocab``) for ``lang``, shipped with the package:
    trained by ``python -m llmbook.rnn`` for 1500 steps of 32 windows of 64 characters on
    ``corpus.split(lang)[0]``, the same training text as the chapter's n-gram models."""
    vocab = Vocab(corpus.split(lang)[0])
    path = PRETRAINED / f"lstm_{lang}.pt"
    if not path.exists():
        raise FileNotFoundError(f"{path} is missing: run `python -m llmbook.rnn` once")
    model = RNNLM(len(vocab), **PRETRAINED_CONFIG)
    state = torch.load(path, map_location="cpu", weights_only=True)
    model.load_state_dict({k: v.float() for k, v in state.items()})
    return model.eval(), vocab


def main() -> None:
    """``python -m llmbook.rnn``: train and ship (fp16) the character LSTM of each language."""
    torch.set_num_threads(1)
    PRETRAINED.mkdir(parents=True, exist_ok=True)
    for lang in ("en", "ko"):
        seed_everything(0)
        text, heldout = corpus.split(lang)
        vocab = Vocab(text)
        model = RNNLM(len(vocab), **PRETRAINED_CONFIG)
        cfg = TrainConfig(steps=PRETRAINED_STEPS, batch_size=32, lr=3e-3, warmup_steps=50,
                          eval_every=PRETRAINED_STEPS)  # fmt: skip
        train(model, Windows(vocab.encode(text), 64), cfg, progress=False)
        torch.save({k: v.half() for k, v in model.state_dict().items()},
                   PRETRAINED / f"lstm_{lang}.pt")  # fmt: skip
        model, _ = pretrained(lang)
        print(lang, "held-out perplexity per character:",
              round(perplexity(log_probs(model, vocab.encode(heldout))), 3))


if __name__ == "__main__":
    main()
