"""The reasoner of chapter 9, built: its training mix (word problems with and without worked
steps, few-shot, and reading from context), its fine-tuning from the shipped base model, and the
evaluation written on its card.

``python -m llmbook.recipes.reasoner train --steps 2000`` rebuilds
``llmbook/data/models/reasoner.safetensors`` and its card; ``... evaluate`` only re-scores it.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import time

import torch

from llmbook import retrieval, wordproblems
from llmbook.finetune import finetune
from llmbook.gpt import GPT
from llmbook.pretrain import eot_id, load_base_model, save_model
from llmbook.prompting import (
    accuracy,
    encode,
    few_shot_prompt,
    fits,
    load_reasoner,
    model_path,
    predict,
    target,
)
from llmbook.runtime import device as best_device
from llmbook.runtime import seed as seed_everything


def training_examples(n: int, seed: int = 0) -> list[tuple[str, str]]:
    """``n`` fine-tuning pairs (prompt, response); the loss counts only the response. Word
    problems in both languages, a third answered directly and two thirds with worked steps after
    the trigger phrase (the trigger is in the prompt, so the model never starts reasoning unless
    asked), a quarter of them after 1-2 solved examples of the same style (few-shot), and about one
    in six a reading-from-context question (:func:`llmbook.retrieval.context_qa_examples`)."""
    rng = random.Random(seed)
    pools = {
        lang: wordproblems.problems(2 * n, lang, "train", seed=seed) for lang in wordproblems.LANGS
    }
    reading = retrieval.context_qa_examples(n // 4 + 10, seed=seed)
    out, used = [], {lang: 0 for lang in pools}
    for _ in range(n):
        if rng.random() < 1 / 6:
            out.append(reading.pop())
            continue
        lang = rng.choice(wordproblems.LANGS)
        cot = rng.random() < 2 / 3
        shots = 0 if rng.random() < 0.75 else rng.choice((1, 2))
        group = pools[lang][used[lang] : used[lang] + shots + 1]
        used[lang] += shots + 1
        *demos, query = group
        text = few_shot_prompt(demos, query.question, lang, cot)
        while demos and len(encode(text + target(query, cot))) > 126:
            demos.pop(0)
            text = few_shot_prompt(demos, query.question, lang, cot)
        out.append((text, target(query, cot)))
    return out


def training_pairs(n: int, seed: int = 0) -> list[tuple[list[int], list[int]]]:
    """:func:`training_examples` as token ids: (``<|endoftext|>`` + prompt, response +
    ``<|endoftext|>``), the pairs :func:`llmbook.finetune.finetune` trains on."""
    eot = eot_id()
    return [([eot] + encode(p), encode(r) + [eot]) for p, r in training_examples(n, seed)]




def evaluation_report(model: GPT, n: int = 200, samples: int = 8, temperature: float = 0.8,
                      seed: int = 0, progress: bool = False) -> dict:  # fmt: skip
    """Held-out accuracy per language and method (the card's table), plus RAG with/without."""
    report: dict = {
        "n_per_language": n,
        "self_consistency": {"samples": samples, "temperature": temperature},
    }
    ctx = model.config.context_length
    for lang in wordproblems.LANGS:
        test = wordproblems.problems(n, lang, "test", seed=seed)
        max_k = max(k for k in range(5) if fits(test, "few-shot", k, ctx))
        rows = {
            "zero-shot": predict(model, test, "zero-shot"),
            "zero-shot, digits only": predict(model, test, "zero-shot", constrained=True),
            f"few-shot (k={max_k})": predict(model, test, "few-shot", k=max_k),
            "chain of thought": predict(model, test, "cot"),
            f"self-consistency (N={samples})": predict(model, test, "self-consistency", samples=samples,
                                                      temperature=temperature, seed=seed),
        }  # fmt: skip
        cot_k = max(k for k in range(3) if fits(test, "few-shot-cot", k, ctx))
        if cot_k:
            rows[f"few-shot chain of thought (k={cot_k})"] = predict(model, test, "few-shot-cot", k=cot_k)
        report[lang] = {name: accuracy(p, test) for name, p in rows.items()}
        seen = [p for p in test if p.template not in wordproblems.TEST_ONLY_TEMPLATES]
        report[lang]["templates"] = sorted({p.template for p in test})
        report[lang]["n_seen_templates"] = len(seen)
        if progress:
            print(lang, json.dumps(report[lang], ensure_ascii=False), flush=True)
    report["rag"] = retrieval.rag_report(model, seed=seed)
    return report




def train_reasoner(steps: int = 2000, batch_size: int = 32, lr: float = 2e-3, seed: int = 0,
                   progress: bool = True, device=None):  # fmt: skip
    """Fine-tune the shipped base model on :func:`training_pairs` with the loss on the responses
    only (:func:`llmbook.finetune.finetune`); deterministic for a seed."""
    seed_everything(seed)
    dev = device if device is not None else best_device()
    model = load_base_model(device=dev).train()
    pairs = training_pairs(steps * batch_size // 2, seed=seed)
    hist = finetune(model, pairs, steps=steps, batch_size=batch_size, lr=lr, template="alpaca",
                    seed=seed, progress=progress)  # fmt: skip
    return model.eval(), hist, len(pairs)


def main(argv: list[str] | None = None) -> dict:
    ap = argparse.ArgumentParser(prog="python -m llmbook.recipes.reasoner",
                                 description="train or evaluate the shipped reasoner model")  # fmt: skip
    ap.add_argument("command", choices=("train", "evaluate"))
    ap.add_argument("--steps", type=int, default=2000)
    ap.add_argument("--batch-size", type=int, default=32)
    ap.add_argument("--lr", type=float, default=2e-3)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--n", type=int, default=200, help="held-out problems per language")
    ap.add_argument("--quiet", action="store_true")
    args = ap.parse_args(argv)
    dev = best_device()
    card_path = model_path().with_suffix(".json")
    if args.command == "train":
        t0 = time.time()
        model, hist, n_pairs = train_reasoner(args.steps, args.batch_size, args.lr, args.seed,
                                              progress=not args.quiet, device=dev)  # fmt: skip
        info = {
            "base": "base.safetensors", "command": " ".join(["python -m llmbook.recipes.reasoner", *(argv or ["train"])]),
            "train": {"steps": args.steps, "batch_size": args.batch_size, "lr": args.lr,
                      "seed": args.seed, "examples": n_pairs, "seconds": round(time.time() - t0, 1),
                      "device": f"{dev.type} ({torch.get_num_threads()} threads)",
                      "final_train_loss": hist.train_loss[-1] if hist.train_loss else None},
        }  # fmt: skip
        save_model(model, model_path(), {"card": card_path.name})
    else:
        info = json.loads(card_path.read_text())
    info["evaluation"] = evaluation_report(load_reasoner(dev), n=args.n, seed=args.seed,
                                           progress=not args.quiet)  # fmt: skip
    info["evaluation_command"] = "python -m llmbook.recipes.reasoner evaluate --n " + str(args.n)
    card_path.write_text(json.dumps(info, indent=2, ensure_ascii=False) + "\n")
    print(json.dumps(info["evaluation"], indent=2, ensure_ascii=False))
    return info


if __name__ == "__main__":
    main(sys.argv[1:])
