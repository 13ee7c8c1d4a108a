"""The shipped models: one place that saves, loads and describes them by name.

Every shipped model is a pair of files in ``llmbook/data/models/``: ``<name>.safetensors`` (the
weights in fp16, a tied matrix stored once) and ``<name>.json``, its :class:`Card`. A card
without weights records a run whose models are not shipped (``rlhf``: the policies compared in
chapter 8). :func:`load` builds the model the card names and fills in the weights, offline;
:func:`card` reads a card, :func:`describe` prints one, :func:`save` writes both files, and is
the only writer (the recipes in :mod:`llmbook.recipes` call it; ``llmbook build`` runs them).
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path

import torch
from safetensors.torch import load_file, save_file
from torch import nn

from llmbook.gpt import GPT, GPTConfig
from llmbook.reward import RewardModel
from llmbook.rnn import RNNLM
from llmbook.seq2seq import Seq2Seq

ROOT = Path(__file__).parent / "data" / "models"

# The card's ``architecture`` -> the class that :func:`load` builds from its ``model_config``.
ARCHITECTURES: dict[str, type[nn.Module]] = {
    "GPT": GPT, "RewardModel": RewardModel, "RNNLM": RNNLM, "Seq2Seq": Seq2Seq,
}  # fmt: skip


class UnknownModel(LookupError):
    """No card of that name in the store."""


@dataclass(frozen=True)
class Card:
    """What a shipped model is, how it was made and how well it does: the one shape of every
    card. ``evaluation`` holds the numbers a rebuild should reproduce (within noise), ``curves``
    the measurements taken during training."""

    name: str
    summary: str  # one line: what it is, which chapter uses it
    architecture: str | None  # a key of ARCHITECTURES; None: a run whose models are not shipped
    model_config: dict  # the architecture's keyword arguments
    parameters: int | None  # trainable numbers, a tied matrix counted once
    parent: str | None  # the shipped model it starts from
    data: dict  # at least "source" and "licence"
    train_config: dict
    steps: int  # optimizer steps
    tokens_seen: int | None  # training tokens read (None: examples of varying length)
    command: str  # the command that made it
    train_seconds: float | None  # None: not measured on its own (see the parent run)
    device: str
    evaluation: dict
    curves: dict = field(default_factory=dict)
    evaluation_command: str | None = None  # when the evaluation was rerun by another command

    def __post_init__(self) -> None:
        types = {"name": str, "summary": str, "architecture": (str, type(None)),
                 "model_config": dict, "parameters": (int, type(None)), "parent": (str, type(None)),
                 "data": dict, "train_config": dict, "steps": int, "tokens_seen": (int, type(None)),
                 "command": str, "train_seconds": (int, float, type(None)), "device": str,
                 "evaluation": dict, "curves": dict, "evaluation_command": (str, type(None))}  # fmt: skip
        for f in fields(self):
            value = getattr(self, f.name)
            if not isinstance(value, types[f.name]) or isinstance(value, bool):
                raise ValueError(f"card {self.name!r}: {f.name} must be {types[f.name]}, got {value!r}")
        missing = {"source", "licence"} - set(self.data)
        if missing:
            raise ValueError(f"card {self.name!r}: data must say {sorted(missing)}")
        if self.architecture is not None:
            if self.architecture not in ARCHITECTURES:
                raise ValueError(f"card {self.name!r}: architecture {self.architecture!r} is none of "
                                 f"{sorted(ARCHITECTURES)}")  # fmt: skip
            if self.parameters is None:
                raise ValueError(f"card {self.name!r}: a model card gives its parameter count")

    @classmethod
    def from_dict(cls, d: dict) -> Card:
        """A card from its JSON form; unknown or missing fields are errors."""
        known = {f.name for f in fields(cls)}
        if set(d) - known:
            raise ValueError(f"card {d.get('name')!r} has fields outside the card's shape: "
                             f"{sorted(set(d) - known)}")  # fmt: skip
        try:
            return cls(**d)
        except TypeError as e:
            raise ValueError(f"card {d.get('name')!r}: {e}") from None


def _root(root: str | os.PathLike | None) -> Path:
    return ROOT if root is None else Path(root)


def names(root: str | os.PathLike | None = None) -> list[str]:
    """The names of the cards in the store, sorted."""
    return sorted(p.stem for p in _root(root).glob("*.json"))


def card(name: str, root: str | os.PathLike | None = None) -> Card:
    """The card of ``name``."""
    path = _root(root) / f"{name}.json"
    if not path.is_file():
        raise UnknownModel(f"no model {name!r} in {_root(root)}; known: {', '.join(names(root)) or 'none'}"
                           f" (a missing one is rebuilt by `llmbook build`)")  # fmt: skip
    return Card.from_dict(json.loads(path.read_text(encoding="utf-8")))


def count_parameters(model: nn.Module) -> int:
    """Trainable numbers of ``model``, a shared (tied) tensor counted once."""
    return sum(p.numel() for p in model.parameters())


def load(name: str, device=None, root: str | os.PathLike | None = None) -> nn.Module:
    """The model ``name`` in fp32, in eval mode, on ``device`` (default CPU), built from its card
    and filled with its weights; no network."""
    c = card(name, root)
    if c.architecture is None:
        raise ValueError(f"{name!r} is a card without weights (its models are not shipped): "
                         f"read it with store.card({name!r})")  # fmt: skip
    path = _root(root) / f"{name}.safetensors"
    cls = ARCHITECTURES[c.architecture]
    model = cls(GPTConfig(**c.model_config)) if issubclass(cls, GPT) else cls(**c.model_config)
    state = {k: v.float() for k, v in load_file(path).items()}
    missing, unexpected = model.load_state_dict(state, strict=False)
    if set(missing) - _tied_names(model) or unexpected:
        raise ValueError(f"{path} does not match its card: missing {sorted(set(missing) - _tied_names(model))}, "
                         f"unexpected {sorted(unexpected)}")  # fmt: skip
    return model.to(device if device is not None else "cpu").eval()


def _tied_names(model: nn.Module) -> set[str]:
    """Names of tensors that repeat an earlier one (a tied matrix), which :func:`save` leaves out."""
    seen, tied = set(), set()
    for k, v in model.state_dict(keep_vars=True).items():
        if id(v) in seen:
            tied.add(k)
        seen.add(id(v))
    return tied


def save(name: str, model: nn.Module | None, card: Card, root: str | os.PathLike | None = None) -> Path:
    """Write ``card`` as ``<name>.json`` (and as Markdown, :func:`describe`, in ``<name>.md``)
    and, for a model card, ``model``'s weights as fp16 ``<name>.safetensors``; returns the
    card's path. Each file is replaced atomically."""
    if card.name != name:
        raise ValueError(f"the card is named {card.name!r}, not {name!r}")
    if (model is None) != (card.architecture is None):
        raise ValueError(f"{name!r}: a card with an architecture ships weights, one without does not")
    if model is not None and type(model) is not ARCHITECTURES[card.architecture]:
        raise ValueError(f"{name!r}: the card says {card.architecture}, the model is a "
                         f"{type(model).__name__}")  # fmt: skip
    out = _root(root)
    out.mkdir(parents=True, exist_ok=True)
    if model is not None:
        tied = _tied_names(model)
        state = {k: v.detach().to(torch.float16).contiguous().cpu()
                 for k, v in model.state_dict().items() if k not in tied}  # fmt: skip
        meta = {"name": name, "architecture": card.architecture, "config": json.dumps(card.model_config)}
        _replace(out / f"{name}.safetensors", lambda tmp: save_file(state, tmp, metadata=meta))
    text = json.dumps(asdict(card), indent=1, ensure_ascii=False) + "\n"
    _replace(out / f"{name}.json", lambda tmp: tmp.write_text(text, encoding="utf-8"))
    md = describe(name, out)
    _replace(out / f"{name}.md", lambda tmp: tmp.write_text(md, encoding="utf-8"))
    return out / f"{name}.json"


def _replace(path: Path, write: Callable[[Path], object]) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    write(tmp)
    os.chmod(tmp, 0o644)
    os.replace(tmp, path)


def describe(name: str, root: str | os.PathLike | None = None) -> str:
    """The card of ``name`` as Markdown, for people: what, from what, how, and the evaluation."""
    c = card(name, root)
    facts = [("architecture", c.architecture or "none shipped (a run's results)"),
             ("parameters", f"{c.parameters:,}" if c.parameters else "-"),
             ("starts from", c.parent or "random weights"), ("data", c.data["source"]),
             ("licence", c.data["licence"]), ("steps", f"{c.steps:,}"),
             ("tokens seen", f"{c.tokens_seen:,}" if c.tokens_seen else "-"),
             ("seconds", f"{c.train_seconds:.0f}" if c.train_seconds is not None else "-"),
             ("device", c.device), ("command", f"`{c.command}`")]  # fmt: skip
    lines = [f"# {c.name}", "", c.summary, "", "| | |", "|---|---|"]
    lines += [f"| {k} | {v} |" for k, v in facts]
    lines += ["", "## Evaluation", ""] + [f"- {k}: {v}" for k, v in _flatten(c.evaluation)]
    return "\n".join(lines) + "\n"


def _flatten(d: dict, prefix: str = "") -> list[tuple[str, str]]:
    out = []
    for k, v in d.items():
        if isinstance(v, dict):
            out += _flatten(v, f"{prefix}{k} / ")
        elif isinstance(v, float):
            out.append((prefix + str(k), f"{v:.4g}"))
        elif isinstance(v, list) and len(v) > 8:
            out.append((prefix + str(k), f"{len(v)} values"))
        else:
            out.append((prefix + str(k), str(v)))
    return out
