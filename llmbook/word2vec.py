"""word2vec: skip-gram with negative sampling (Mikolov et al., 2013), small enough to train on
a CPU in well under a minute; nearest neighbours by cosine similarity; a 2-D projection (PCA).

For each (center, context) pair seen within a window, the model pushes the dot product of their
vectors up, and pushes it down for ``negatives`` random words drawn from the unigram
distribution raised to the 3/4 power: loss = -log sigma(u_o . v_c) - sum_k log sigma(-u_k . v_c).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence

import numpy as np
import torch
import torch.nn.functional as F

from llmbook.textproc import Vocab


def sgns_loss(center: torch.Tensor, context: torch.Tensor, negatives: torch.Tensor) -> torch.Tensor:
    """Mean negative-sampling loss. ``center`` (B, D) and ``context`` (B, D) vectors of true
    pairs, ``negatives`` (B, K, D) vectors of sampled noise words."""
    pos = F.logsigmoid((center * context).sum(-1))
    neg = F.logsigmoid(-torch.einsum("bd,bkd->bk", center, negatives)).sum(-1)
    return -(pos + neg).mean()


def skipgram_pairs(ids: Sequence[int], window: int, seed: int = 0) -> torch.Tensor:
    """(center, context) id pairs, shape (N, 2): for each position a random window size in
    1..``window`` (nearer words are paired more often, as in word2vec)."""
    x = torch.as_tensor(ids, dtype=torch.long)
    gen = torch.Generator().manual_seed(seed)
    reach = torch.randint(1, window + 1, (x.numel(),), generator=gen)
    pairs = []
    for d in range(1, window + 1):
        keep = reach[: -d] >= d
        pairs.append(torch.stack([x[:-d][keep], x[d:][keep]], 1))  # right neighbour
        keep = reach[d:] >= d
        pairs.append(torch.stack([x[d:][keep], x[:-d][keep]], 1))  # left neighbour
    return torch.cat(pairs)


class Word2Vec(torch.nn.Module):
    """Two embedding tables: ``center`` (the word vectors we keep) and ``context``."""

    def __init__(self, vocab_size: int, dim: int = 64):
        super().__init__()
        self.center = torch.nn.Embedding(vocab_size, dim)
        self.context = torch.nn.Embedding(vocab_size, dim)
        torch.nn.init.uniform_(self.center.weight, -0.5 / dim, 0.5 / dim)
        torch.nn.init.zeros_(self.context.weight)

    def vectors(self) -> torch.Tensor:
        return self.center.weight.detach()


def train_word2vec(tokens: Sequence[str], dim: int = 64, window: int = 4, negatives: int = 5,
                   min_count: int = 5, epochs: int = 3, batch_size: int = 1024, lr: float = 0.01,
                   subsample: float = 1e-3, seed: int = 0) -> tuple[Word2Vec, Vocab, list[float]]:  # fmt: skip
    """Train skip-gram vectors on a list of words. Returns (model, vocab, mean loss of every 20 steps).

    Frequent words ('the', 'and') are randomly dropped (Mikolov's subsampling with threshold
    ``subsample``) so that rarer, more informative pairs dominate."""
    if len(tokens) < 10:
        raise ValueError("word2vec needs a list of at least 10 words")
    vocab = Vocab(tokens, min_count=min_count)
    counts = Counter(tokens)
    freq = torch.tensor([0.0] + [counts[w] for w in vocab.itos[1:]])
    gen = torch.Generator().manual_seed(seed)
    ids = torch.tensor(vocab.encode(tokens))
    ids = ids[ids != 0]  # rare words are dropped, not turned into <unk>
    f = freq[ids] / freq.sum()
    keep_p = ((subsample / f).sqrt() + subsample / f).clamp(max=1.0)
    ids = ids[torch.rand(ids.numel(), generator=gen) < keep_p]
    noise = freq.pow(0.75)
    noise /= noise.sum()
    model = Word2Vec(len(vocab), dim)
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    losses, running = [], []
    for epoch in range(epochs):
        pairs = skipgram_pairs(ids, window, seed + epoch)
        pairs = pairs[torch.randperm(len(pairs), generator=gen)]
        for b in range(0, len(pairs), batch_size):
            c, o = pairs[b : b + batch_size].T
            neg = torch.multinomial(noise, len(c) * negatives, True, generator=gen)
            loss = sgns_loss(model.center(c), model.context(o),
                             model.context(neg.view(len(c), negatives)))  # fmt: skip
            opt.zero_grad()
            loss.backward()
            opt.step()
            running.append(loss.item())
            if len(running) == 20:
                losses.append(sum(running) / 20)
                running = []
    return model, vocab, losses


def nearest(word: str, vectors: torch.Tensor, vocab: Vocab, k: int = 5) -> list[tuple[str, float]]:
    """The ``k`` words whose vectors have the highest cosine similarity to ``word``'s."""
    if word not in vocab.stoi or vocab.stoi[word] == 0:
        raise ValueError(f"{word!r} is not in the vocabulary (too rare or never seen)")
    v = F.normalize(vectors, dim=1)
    sims = v @ v[vocab.stoi[word]]
    sims[0] = sims[vocab.stoi[word]] = -2.0  # skip <unk> and the word itself
    top = torch.topk(sims, k)
    return [(vocab.itos[i], round(float(s), 3)) for s, i in zip(top.values, top.indices, strict=True)]


def project_2d(vectors: torch.Tensor) -> np.ndarray:
    """Principal-component projection of the rows onto 2 dimensions (centered, via SVD)."""
    x = vectors - vectors.mean(0, keepdim=True)
    _, _, vt = torch.linalg.svd(x, full_matrices=False)
    return (x @ vt[:2].T).numpy()


def plot_words(words: Sequence[str], vectors: torch.Tensor, vocab: Vocab, ax=None, title: str = ""):
    """Scatter the chosen words at their 2-D PCA coordinates, labelled (Hangul renders)."""
    import matplotlib.pyplot as plt

    missing = [w for w in words if vocab.stoi.get(w, 0) == 0]
    if missing:
        raise ValueError(f"not in the vocabulary: {missing}")
    xy = project_2d(vectors[[vocab.stoi[w] for w in words]])
    ax = ax or plt.subplots(figsize=(6, 5))[1]
    ax.scatter(xy[:, 0], xy[:, 1], s=12)
    for (x, y), w in zip(xy, words, strict=True):
        ax.annotate(w, (x, y), fontsize=10, xytext=(3, 3), textcoords="offset points")
    ax.set_title(title)
    return ax
