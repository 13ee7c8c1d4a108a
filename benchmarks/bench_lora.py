"""LoRA vs full fine-tuning of the shipped base model, measured in one run on the same batches.

For each contender — full fine-tuning, LoRA (rank 8 on every block's attention and MLP layers),
QLoRA (the same adapters on an NF4-quantized base) — one training step (forward, cross-entropy,
backward, AdamW update) is timed; the report gives the trainable parameters, the bytes of weights
+ gradients + optimizer states actually allocated, and the step time, each as a ratio to full
fine-tuning. Rounds alternate between the contenders and the median is reported, so a busy
machine slows all of them alike.

On a model this small most of a step's time is spent on activations, which LoRA does not shrink
(it even adds a little work); LoRA's saving is memory: gradients and optimizer states for ~4% of
the parameters instead of all of them. QLoRA dequantizes its weights in every forward pass, which
costs time in this plain-PyTorch version.

Run: ``python benchmarks/bench_lora.py [--threads 1] [--batch 8] [--rounds 5]``.
"""

from __future__ import annotations

import argparse
import statistics
import time

import torch

import llmbook
from llmbook import store
from llmbook.lora import add_lora, count_parameters
from llmbook.quantize import model_bytes, quantize_model


def contenders(device) -> dict[str, torch.nn.Module]:
    llmbook.seed(0)
    return {
        "full fine-tuning": store.load("base", device).train(),
        "LoRA r=8": add_lora(store.load("base", device), r=8).train(),
        "QLoRA r=8 (NF4)": add_lora(quantize_model(store.load("base", device), bits=4), r=8).train(),
    }


def allocated_bytes(model: torch.nn.Module, opt: torch.optim.Optimizer) -> int:
    """Weights (parameters and quantized buffers) + gradients + optimizer states, in bytes."""
    grads = sum(p.grad.numel() * p.grad.element_size() for p in model.parameters() if p.grad is not None)
    states = sum(s.numel() * s.element_size() for st in opt.state.values()
                 for k, s in st.items() if k != "step")  # fmt: skip
    return model_bytes(model) + grads + states


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--threads", type=int, default=None, help="torch threads (default: torch's)")
    ap.add_argument("--batch", type=int, default=8)
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--steps", type=int, default=3, help="timed steps per round and contender")
    args = ap.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    device = llmbook.device()
    models = contenders(device)
    T = next(iter(models.values())).config.context_length
    gen = torch.Generator().manual_seed(0)
    x = torch.randint(0, 4096, (args.batch, T + 1), generator=gen).to(device)
    opts = {name: torch.optim.AdamW([p for p in m.parameters() if p.requires_grad], lr=1e-4)
            for name, m in models.items()}  # fmt: skip

    def step(name: str) -> None:
        loss = models[name].loss(x[:, :-1], x[:, 1:])
        opts[name].zero_grad(set_to_none=False)
        loss.backward()
        opts[name].step()

    for name in models:  # warm-up (also creates the optimizer states)
        step(name)
    times: dict[str, list[float]] = {name: [] for name in models}
    for _ in range(args.rounds):
        for name in models:
            if device.type == "cuda":
                torch.cuda.synchronize()
            t0 = time.perf_counter()
            for _ in range(args.steps):
                step(name)
            if device.type == "cuda":
                torch.cuda.synchronize()
            times[name].append((time.perf_counter() - t0) / args.steps)

    print(f"device {device}, threads {torch.get_num_threads()}, batch {args.batch} x {T} tokens, "
          f"median of {args.rounds} rounds x {args.steps} steps")  # fmt: skip
    ref = "full fine-tuning"
    ref_t, ref_train = statistics.median(times[ref]), count_parameters(models[ref])[0]
    ref_mem = allocated_bytes(models[ref], opts[ref])
    print(f"{'':18s} {'trainable':>10s} {'ratio':>7s} {'memory MB':>10s} {'ratio':>7s} "
          f"{'step ms':>8s} {'ratio':>6s}")  # fmt: skip
    for name, model in models.items():
        trainable, _ = count_parameters(model)
        mem, t = allocated_bytes(model, opts[name]), statistics.median(times[name])
        print(f"{name:18s} {trainable:10,d} {trainable / ref_train:7.3f} {mem / 1e6:10.2f} "
              f"{mem / ref_mem:7.3f} {t * 1e3:8.1f} {t / ref_t:6.2f}")  # fmt: skip


if __name__ == "__main__":
    main()
