"""Measurement behind chapter 7's classification results: held-out accuracy, per language, of the
shipped base model fine-tuned (all layers) vs a randomly initialised model of the same shape
trained the same way, plus the majority baseline -- what pretraining buys, on a longer budget
than the chapter's. Ships nothing: ``python -m llmbook.recipes.classifier`` prints the table.
"""

from __future__ import annotations

import json
import sys

from llmbook import store
from llmbook.classification import GPTClassifier, accuracy, classification_dataset, train_classifier
from llmbook.gpt import GPT
from llmbook.recipes import options
from llmbook.runtime import seed as seed_everything

MODULE = "llmbook.recipes.classifier"


def compare_pretraining(base: GPT, steps: int = 300, lr: float = 2e-3, seed: int = 0,
                        progress: bool = True) -> dict[str, dict[str, float]]:  # fmt: skip
    """Per language: the majority baseline and the held-out accuracy of ``base`` fine-tuned and
    of a random model of its shape trained the same way."""
    dev = next(base.parameters()).device
    report = {}
    for lang in ("ko", "en"):
        train_set, held = classification_dataset("train", lang), classification_dataset("heldout", lang)
        report[lang] = {"majority": max(held.labels.count(k) for k in range(len(held.classes))) / len(held)}
        for name in ("pretrained", "scratch"):
            seed_everything(seed)
            model = base if name == "pretrained" else GPT(base.config).to(dev)
            clf = GPTClassifier(model, len(train_set.classes)).to(dev)
            train_classifier(clf, train_set, steps=steps, lr=lr, seed=seed, progress=progress)
            report[lang][name] = accuracy(clf, held)
    return report


def main(argv: list[str] | None = None) -> dict:
    argv = sys.argv[1:] if argv is None else argv
    ap = options.parser(MODULE, "pretrained vs from-scratch classifiers, held-out accuracy", steps=300)
    ap.add_argument("--lr", type=float, default=2e-3)
    args = ap.parse_args(argv)
    base = store.load("base", options.device(args), args.out)
    report = compare_pretraining(base, args.steps, args.lr, args.seed, not args.quiet)
    print(json.dumps(report, indent=2))
    return report


if __name__ == "__main__":
    main()
