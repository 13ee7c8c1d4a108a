"""Finding the passage for a question: term-based retrieval (BM25, TF-IDF over words, BPE
tokens or Korean morphemes from ``kiwipiepy``), dense retrieval with the model's own mean-pooled
hidden states, a :class:`DocumentStore` that searches with either, and :func:`recall_at_k`.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Sequence
from functools import lru_cache

import torch

from llmbook.documents import Document
from llmbook.gpt import GPT
from llmbook.tokens import encode

ANALYZERS = ("words", "bpe", "morphemes")


# ----- term-based retrieval ---------------------------------------------------------------------


@lru_cache(maxsize=1)
def _kiwi():
    from kiwipiepy import Kiwi

    return Kiwi()


def terms(text: str, analyzer: str = "words") -> list[str]:
    """The terms of ``text`` that retrieval matches: ``words`` (lowercased runs of letters and
    digits), ``bpe`` (the shipped tokenizer's tokens) or ``morphemes`` (Korean morphemes from
    ``kiwipiepy``, so 국민의 and 국민은 share 국민; words for other scripts)."""
    if analyzer == "words":
        return re.findall(r"\w+", text.lower())
    if analyzer == "bpe":
        return [str(i) for i in encode(text)]
    if analyzer == "morphemes":
        return [t.form.lower() for t in _kiwi().tokenize(text)
                if t.tag[0] in "NVXS" and not t.tag.startswith(("SF", "SP", "SS", "SE", "SO"))]  # fmt: skip
    raise ValueError(f"analyzer must be one of {ANALYZERS}, got {analyzer!r}")


class BM25:
    """Okapi BM25 over tokenized documents:

    score(q, d) = sum over query terms t of idf(t) * tf(t, d) * (k1 + 1)
                  / (tf(t, d) + k1 * (1 - b + b * |d| / avgdl)),
    idf(t) = ln(1 + (N - df(t) + 0.5) / (df(t) + 0.5)).
    """

    def __init__(self, docs: Sequence[Sequence[str]], k1: float = 1.5, b: float = 0.75):
        if not docs:
            raise ValueError("BM25 needs at least one document")
        self.k1, self.b = k1, b
        self.tf = [Counter(d) for d in docs]
        self.len = [len(d) for d in docs]
        self.avgdl = sum(self.len) / len(docs) or 1.0
        df = Counter(t for d in docs for t in set(d))
        n = len(docs)
        self.idf = {t: math.log(1 + (n - f + 0.5) / (f + 0.5)) for t, f in df.items()}

    def scores(self, query: Sequence[str]) -> list[float]:
        """The BM25 score of every document for the query terms (repeated terms count again)."""
        out = []
        for tf, dl in zip(self.tf, self.len):
            s = 0.0
            for t in query:
                f = tf.get(t, 0)
                if f:
                    s += (
                        self.idf[t]
                        * f
                        * (self.k1 + 1)
                        / (f + self.k1 * (1 - self.b + self.b * dl / self.avgdl))
                    )
            out.append(s)
        return out


class TfIdf:
    """Cosine similarity of TF-IDF vectors: tf(t, d) * (ln(N / df(t)) + 1), length-normalised."""

    def __init__(self, docs: Sequence[Sequence[str]]):
        if not docs:
            raise ValueError("TF-IDF needs at least one document")
        n = len(docs)
        df = Counter(t for d in docs for t in set(d))
        self.idf = {t: math.log(n / f) + 1 for t, f in df.items()}
        self.vecs = [self._vec(Counter(d)) for d in docs]

    def _vec(self, tf: Counter) -> dict[str, float]:
        v = {t: f * self.idf.get(t, 0.0) for t, f in tf.items()}
        norm = math.sqrt(sum(x * x for x in v.values())) or 1.0
        return {t: x / norm for t, x in v.items()}

    def scores(self, query: Sequence[str]) -> list[float]:
        q = self._vec(Counter(query))
        return [sum(w * d.get(t, 0.0) for t, w in q.items()) for d in self.vecs]


# ----- embedding retrieval ----------------------------------------------------------------------


@torch.no_grad()
def embed(model: GPT, texts: Sequence[str], batch_size: int = 32) -> torch.Tensor:
    """One unit vector per text: the model's final hidden states (after the last layer norm)
    averaged over the text's tokens (its first ``context_length``)."""
    dev = next(model.parameters()).device
    ctx = model.config.context_length
    ids = [encode(t)[:ctx] or [0] for t in texts]
    out = torch.empty(len(texts), model.config.n_embd)
    was_training = model.training
    model.eval()
    for lo in range(0, len(ids), batch_size):
        chunk = ids[lo : lo + batch_size]
        width = max(map(len, chunk))
        idx = torch.zeros(len(chunk), width, dtype=torch.long)
        keep = torch.zeros(len(chunk), width, 1)
        for i, x in enumerate(chunk):  # right padding: a causal model's real positions never see it
            idx[i, : len(x)] = torch.tensor(x)
            keep[i, : len(x)] = 1.0
        h = model.hidden_states(idx.to(dev)).float().cpu()
        out[lo : lo + len(chunk)] = (h * keep).sum(1) / keep.sum(1)
    model.train(was_training)
    return torch.nn.functional.normalize(out, dim=-1)


class EmbeddingIndex:
    """Dense retrieval: cosine similarity between the question's and the passages' embeddings."""

    def __init__(self, model: GPT, texts: Sequence[str]):
        self.model = model
        self.vecs = embed(model, texts)

    def scores(self, query: str) -> list[float]:
        return (self.vecs @ embed(self.model, [query])[0]).tolist()


class DocumentStore:
    """Documents plus an index: ``method`` is ``"bm25"``, ``"tfidf"`` (with ``analyzer``) or
    ``"embedding"`` (with ``model``). :meth:`search` returns the ids of the top ``k`` documents."""

    def __init__(self, docs: Sequence[Document], method: str = "bm25", analyzer: str = "words",
                 model: GPT | None = None):  # fmt: skip
        self.docs = list(docs)
        self.method, self.analyzer = method, analyzer
        if method == "embedding":
            if model is None:
                raise ValueError("embedding retrieval needs the model whose hidden states it uses")
            self.index = EmbeddingIndex(model, [d.text for d in self.docs])
        elif method in ("bm25", "tfidf"):
            toks = [terms(d.text, analyzer) for d in self.docs]
            self.index = BM25(toks) if method == "bm25" else TfIdf(toks)
        else:
            raise ValueError(f"method must be 'bm25', 'tfidf' or 'embedding', got {method!r}")

    def scores(self, query: str) -> list[float]:
        q = query if self.method == "embedding" else terms(query, self.analyzer)
        return self.index.scores(q)

    def search(self, query: str, k: int = 1) -> list[Document]:
        """The ``k`` best documents, best first (ties: the earlier document first)."""
        s = self.scores(query)
        order = sorted(range(len(s)), key=lambda i: (-s[i], i))
        return [self.docs[i] for i in order[:k]]


def recall_at_k(ranked: Sequence[Sequence[str]], gold: Sequence[str], k: int) -> float:
    """Fraction of questions whose gold document id is among the first ``k`` ranked ids."""
    if len(ranked) != len(gold):
        raise ValueError(f"{len(ranked)} rankings for {len(gold)} gold ids")
    if k < 1:
        raise ValueError(f"k must be >= 1, got {k}")
    return sum(g in list(r)[:k] for r, g in zip(ranked, gold)) / max(1, len(gold))
