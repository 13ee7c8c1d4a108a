"""What ``llmbook build`` builds: every shipped artifact, the recipe command that makes it and
the artifacts it starts from, run in dependency order.

The commands are the ones that made the shipped files (the same arguments), so a rebuild
reproduces them. The model recipes take the shared options (:mod:`llmbook.recipes.options`);
the corpus and the tokenizer are package data and are always rebuilt in place.
"""

from __future__ import annotations

import shlex
import subprocess
import sys
from dataclasses import dataclass


@dataclass(frozen=True)
class Artifact:
    """One buildable thing: its recipe commands (``python -m`` arguments) and what it needs."""

    name: str
    produces: str  # what it writes, for people
    needs: tuple[str, ...]
    commands: tuple[tuple[str, ...], ...]
    model: bool = True  # takes --out, --device, --seed, --quiet and --steps


# In dependency order: each artifact comes after everything it needs.
ARTIFACTS = {a.name: a for a in (
    Artifact("corpus", "llmbook/data/corpus/ (ko.txt, en.txt and the larger sources; download: network)",
             (), (("llmbook.recipes.original_corpus",), ("llmbook.recipes.corpus", "download", "{inputs}"),
                  ("llmbook.recipes.corpus", "build", "{inputs}")), model=False),
    Artifact("tokenizer", "llmbook/data/tokenizer/bilingual_bpe_4096.json", ("corpus",),
             (("llmbook.recipes.tokenizer",),), model=False),
    Artifact("base", "models: base", ("tokenizer",),
             (("llmbook.recipes.base", "--steps", "6000", "--checkpoint-every", "250"),
              ("llmbook.recipes.base", "--anneal", "--steps", "3000"))),
    Artifact("sft", "models: sft", ("base",), (("llmbook.recipes.sft",),)),
    Artifact("rlhf", "models: reward, rlhf (results), grpo, grpo-nokl, dpo", ("sft",), (("llmbook.recipes.rlhf",),)),
    Artifact("reasoner", "models: reasoner", ("base",),
             (("llmbook.recipes.reasoner", "train", "--steps", "2000"),)),
    Artifact("rnn", "models: lstm_en, lstm_ko", ("corpus",), (("llmbook.recipes.rnn",),)),
    Artifact("seq2seq", "models: seq2seq_plain, seq2seq_attention", (), (("llmbook.recipes.seq2seq",),)),
)}  # fmt: skip


def order(names: list[str]) -> list[Artifact]:
    """The artifacts ``names`` (``all``: every one) in dependency order."""
    if "all" in names:
        return list(ARTIFACTS.values())
    unknown = [n for n in names if n not in ARTIFACTS]
    if unknown:
        raise ValueError(f"unknown artifact {', '.join(unknown)}; known: all, {', '.join(ARTIFACTS)}")
    return [a for a in ARTIFACTS.values() if a.name in names]


def commands(artifact: Artifact, shared: list[str], steps: int | None = None,
             inputs: str = "runs/corpus-inputs") -> list[list[str]]:  # fmt: skip
    """The command lines that build ``artifact``, with the shared options ``shared`` (and
    ``--steps``, replacing the recipe's own) for a model."""
    out = []
    for cmd in artifact.commands:
        args = [a.replace("{inputs}", inputs) for a in cmd]
        if artifact.model:
            if steps is not None:
                args = [*_without(args, "--steps"), "--steps", str(steps)]
            args += shared
        out.append([sys.executable, "-m", *args])
    return out


def _without(args: list[str], option: str) -> list[str]:
    i = args.index(option) if option in args else -1
    return args if i < 0 else args[:i] + args[i + 2 :]


def build(names: list[str], shared: list[str], steps: int | None = None, dry_run: bool = False,
          inputs: str = "runs/corpus-inputs") -> int:  # fmt: skip
    """Run (or with ``dry_run`` only print) the commands of ``names`` in dependency order; stops
    at the first that fails and returns its exit status."""
    plan = order(names)
    print("order: " + " -> ".join(a.name for a in plan), flush=True)
    for a in plan:
        print(f"\n# {a.name}: {a.produces}" + (f" (needs {', '.join(a.needs)})" if a.needs else ""))
        for cmd in commands(a, shared, steps, inputs):
            print(shlex.join(["python", *cmd[1:]]), flush=True)
            if not dry_run and (rc := subprocess.call(cmd)) != 0:
                print(f"llmbook build: {a.name} failed (exit status {rc})", file=sys.stderr)
                return rc
    return 0
