"""Speed of llmbook's GPT against peers, measured in one run on the same config and batch (CPU).

1. Training step (forward + cross-entropy + backward + AdamW), tokens/s: ``llmbook.gpt.GPT`` vs
   ``transformers.GPT2LMHeadModel`` vs ``llms_from_scratch.ch04.GPTModel``. The last is optional:
   install it outside llmbook's dependencies, e.g.
   ``pip install --no-deps --target /tmp/lfs_site llms-from-scratch`` and run with
   ``PYTHONPATH=/tmp/lfs_site`` (``--no-deps``: it would otherwise pull TensorFlow).
2. Generation of 256 new tokens, tokens/s, with vs without the KV cache.
3. Our written-out attention (``MultiHeadAttention(fast=False)``) vs PyTorch's fused
   ``scaled_dot_product_attention`` (``fast=True``), forward pass.

Measurements alternate between the contenders round by round and report the median, so a busy
machine slows all of them alike. Run: ``python benchmarks/bench_gpt.py [--threads 1]``.
"""

from __future__ import annotations

import argparse
import statistics
import time

import torch
import torch.nn.functional as F

import llmbook
from llmbook.attention import MultiHeadAttention
from llmbook.generation import generate
from llmbook.gpt import GPT, GPTConfig

CFG = GPTConfig(vocab_size=4096, context_length=512, n_layer=4, n_head=4, n_embd=256)
BATCH, SEQ = 8, 128
ROUNDS, STEPS = 5, 3


def contenders() -> dict[str, torch.nn.Module]:
    """The same architecture three times, logits from ``model(x)``."""
    llmbook.seed(0)
    models = {"llmbook GPT": GPT(CFG)}
    try:
        from transformers import GPT2Config, GPT2LMHeadModel

        hf = GPT2LMHeadModel(GPT2Config(
            vocab_size=CFG.vocab_size, n_positions=CFG.context_length, n_embd=CFG.n_embd,
            n_layer=CFG.n_layer, n_head=CFG.n_head, resid_pdrop=0.0, embd_pdrop=0.0,
            attn_pdrop=0.0, bos_token_id=None, eos_token_id=None))  # fmt: skip
        models["transformers GPT2LMHeadModel"] = _LogitsOnly(hf)
    except ImportError:
        print("transformers is not installed: skipped")
    try:
        from llms_from_scratch.ch04 import GPTModel

        book = GPTModel({
            "vocab_size": CFG.vocab_size, "context_length": CFG.context_length,
            "emb_dim": CFG.n_embd, "n_heads": CFG.n_head, "n_layers": CFG.n_layer,
            "drop_rate": 0.0, "qkv_bias": True})  # fmt: skip
        book.out_head.weight = book.tok_emb.weight  # tied like the others: the same parameters
        models["llms_from_scratch GPTModel"] = book
    except ImportError as e:
        print(f"llms_from_scratch cannot be imported ({e}): skipped")
    return models


class _LogitsOnly(torch.nn.Module):
    def __init__(self, model: torch.nn.Module):
        super().__init__()
        self.model = model

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.model(x).logits


def bench_training() -> None:
    models = contenders()
    g = torch.Generator().manual_seed(0)
    x = torch.randint(0, CFG.vocab_size, (BATCH, SEQ), generator=g)
    y = torch.randint(0, CFG.vocab_size, (BATCH, SEQ), generator=g)
    opts = {name: torch.optim.AdamW(m.parameters(), lr=1e-4) for name, m in models.items()}

    def step(name: str) -> None:
        model, opt = models[name], opts[name]
        opt.zero_grad(set_to_none=True)
        loss = F.cross_entropy(model(x).flatten(0, 1), y.flatten())
        loss.backward()
        opt.step()

    for name in models:  # warm-up
        step(name)
    times: dict[str, list[float]] = {name: [] for name in models}
    for _ in range(ROUNDS):
        for name in models:
            t0 = time.perf_counter()
            for _ in range(STEPS):
                step(name)
            times[name].append((time.perf_counter() - t0) / STEPS)
    print(f"\nTraining step, batch {BATCH} x {SEQ} tokens, {CFG}:")
    ours = statistics.median(times["llmbook GPT"])
    for name, ts in times.items():
        t = statistics.median(ts)
        n_params = sum(p.numel() for p in models[name].parameters())
        print(f"  {name:32s} {BATCH * SEQ / t:9.0f} tokens/s  ({n_params:,} parameters)"
              f"  llmbook speed-up: {t / ours:.2f}x")  # fmt: skip


def bench_generation(new_tokens: int = 256) -> None:
    llmbook.seed(0)
    model = GPT(CFG).eval()
    prompt = torch.randint(0, CFG.vocab_size, (1, 16), generator=torch.Generator().manual_seed(1))
    times: dict[bool, list[float]] = {True: [], False: []}
    outs = {}
    for _ in range(3):
        for use_cache in (True, False):
            t0 = time.perf_counter()
            outs[use_cache] = generate(model, prompt, new_tokens, greedy=True, use_cache=use_cache)
            times[use_cache].append(time.perf_counter() - t0)
    assert torch.equal(outs[True], outs[False]), "cached and uncached generation differ"
    cached, plain = (new_tokens / statistics.median(times[c]) for c in (True, False))
    print(f"\nGeneration, {new_tokens} new tokens after a 16-token prompt, greedy, same tokens:")
    print(f"  with KV cache    {cached:8.1f} tokens/s")
    print(f"  without cache    {plain:8.1f} tokens/s")
    print(f"  KV-cache speed-up: {cached / plain:.1f}x")


def bench_attention() -> None:
    torch.manual_seed(0)
    ours = MultiHeadAttention(CFG.n_embd, CFG.n_head, fast=False).eval()
    sdpa = MultiHeadAttention(CFG.n_embd, CFG.n_head, fast=True).eval()
    sdpa.load_state_dict(ours.state_dict())
    x = torch.randn(BATCH, 256, CFG.n_embd)
    times: dict[str, list[float]] = {"ours": [], "sdpa": []}
    with torch.no_grad():
        diff = (ours.double()(x.double()) - sdpa.double()(x.double())).abs().max().item()
        ours.float(), sdpa.float()
        for _ in range(ROUNDS):
            for name, m in (("ours", ours), ("sdpa", sdpa)):
                t0 = time.perf_counter()
                for _ in range(10):
                    m(x)
                times[name].append((time.perf_counter() - t0) / 10)
    t_ours, t_sdpa = statistics.median(times["ours"]), statistics.median(times["sdpa"])
    print(f"\nCausal multi-head attention forward, batch {BATCH} x 256 x {CFG.n_embd}, "
          f"{CFG.n_head} heads (max |difference| in float64: {diff:.1e}):")  # fmt: skip
    print(f"  written out (fast=False) {t_ours * 1e3:7.2f} ms")
    print(f"  torch SDPA  (fast=True)  {t_sdpa * 1e3:7.2f} ms")
    print(f"  SDPA speed-up over the written-out attention: {t_ours / t_sdpa:.2f}x")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=torch.get_num_threads(),
                        help="CPU threads (1 gives steadier numbers on a shared machine)")
    torch.set_num_threads(parser.parse_args().threads)
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, device cpu")
    bench_training()
    bench_generation()
    bench_attention()
