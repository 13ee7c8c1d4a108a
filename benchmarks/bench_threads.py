"""Why a chapter "hangs" on a busy machine: PyTorch's OpenMP threads spin while they wait.

A training step of a chapter-sized GPT is timed in fresh processes, each with one setting:

- ``spin``: PyTorch's default, one thread per core, waiting threads spin (``OMP_WAIT_POLICY``
  unset);
- ``passive``: the same threads, asleep while they wait (``OMP_WAIT_POLICY=PASSIVE``, what our
  notebook kernels use: see the Makefile);
- ``1 thread``: no waiting at all.

Each runs on an idle machine and then beside CPU burners, one per core (what another program, a
second notebook or a parallel test run does to a laptop). Printed: milliseconds per step and each
setting's ratio to ``passive`` measured in the same conditions. On the 2-core machine this was
written on, ``spin`` was 12-17x slower than ``passive`` beside the burners, and as fast idle.

Run: ``python benchmarks/bench_threads.py [--steps 40]``.
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import os
import statistics
import subprocess
import sys

STEP = """
import time, torch, llmbook
from llmbook.gpt import GPT, GPTConfig
llmbook.seed(0)
model = GPT(GPTConfig(vocab_size=80, context_length=64, n_layer=2, n_head=4, n_embd=64, dropout=0.0))
opt = torch.optim.AdamW(model.parameters(), 3e-3)
x = torch.randint(0, 80, (32, 64))
for i in range({warmup} + {steps}):
    if i == {warmup}:
        start = time.perf_counter()
    loss = model.loss(x, x)
    opt.zero_grad()
    loss.backward()
    opt.step()
print((time.perf_counter() - start) / {steps} * 1000)
"""
SETTINGS = {"spin": {}, "passive": {"OMP_WAIT_POLICY": "PASSIVE"}, "1 thread": {"OMP_NUM_THREADS": "1"}}


def burn() -> None:
    """Keep one core busy until killed."""
    while True:
        pass


def step_ms(setting: dict[str, str], steps: int) -> float:
    """Milliseconds per training step in a fresh process with ``setting`` in its environment."""
    env = {k: v for k, v in os.environ.items() if k not in ("OMP_WAIT_POLICY", "OMP_NUM_THREADS")}
    code = STEP.format(warmup=5, steps=steps)
    out = subprocess.run([sys.executable, "-c", code], env={**env, **setting},
                         check=True, capture_output=True, text=True)  # fmt: skip
    return float(out.stdout)


def measure(steps: int, rounds: int) -> dict[str, float]:
    """Median step time per setting; settings alternate round by round."""
    times: dict[str, list[float]] = {name: [] for name in SETTINGS}
    for _ in range(rounds):
        for name, setting in SETTINGS.items():
            times[name].append(step_ms(setting, steps))
    return {name: statistics.median(t) for name, t in times.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=40)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    for condition in ("idle", "busy"):
        burners = [mp.Process(target=burn, daemon=True) for _ in range(os.cpu_count() or 1)]
        if condition == "busy":
            for b in burners:
                b.start()
        try:
            result = measure(args.steps, args.rounds)
        finally:
            for b in burners:
                if b.is_alive():
                    b.kill()
        print(f"{condition} ({os.cpu_count()} cores"
              + (f", {len(burners)} burners)" if condition == "busy" else ")"))  # fmt: skip
        for name, ms in result.items():
            print(f"  {name:>9}: {ms:8.1f} ms/step  {ms / result['passive']:5.2f}x passive")


if __name__ == "__main__":
    main()
