"""Concept diagrams for chapter 6 (pretraining): the training loop's cycle, the learning-rate
schedule (linear warm-up, cosine decay to a floor), and gradient accumulation with checkpoints
that resume exactly."""

from __future__ import annotations

import math

from llmbook.diagrams import Diagram, pick


def loop(lang: str = "en") -> Diagram:
    """One optimizer step as a cycle: batch, forward and loss, backward, clip, step, next rate."""
    d = Diagram(
        14, 10, pick(lang, "훈련 루프: 한 단계의 순환", "The training loop: one step's cycle")
    )
    cx, cy, r = 7.0, 4.8, 3.4
    steps = [pick(lang, "배치 뽑기\nx, y = x를 한 칸 민 것", "draw a batch\nx, and y = x shifted by one"),
             pick(lang, "순전파 + 손실\n평균 교차 엔트로피", "forward + loss\nmean cross-entropy"),
             pick(lang, "역전파\n(기울기를 0으로 한 뒤)", "backward\n(gradients zeroed first)"),
             pick(lang, "기울기 클리핑\n‖g‖ ≤ c", "clip gradients\n‖g‖ ≤ c"),
             pick(lang, "옵티마이저 단계\nAdamW", "optimizer step\nAdamW"),
             pick(lang, "학습률 스케줄\n다음 단계의 lr", "schedule\nnext step's lr")]  # fmt: skip
    pos = []
    for k, text in enumerate(steps):
        a = math.pi / 2 - 2 * math.pi * k / len(steps)
        x, y = cx + r * math.cos(a), cy + r * math.sin(a)
        pos.append((x, y))
        d.box(x - 1.6, y - 0.55, 3.2, 1.1, text, kind="loss" if k == 1 else "layer" if k == 4 else "op",
              fontsize=8.5)  # fmt: skip
    for k in range(len(steps)):
        (x1, y1), (x2, y2) = pos[k], pos[(k + 1) % len(steps)]
        sx, sy = x1 + 0.35 * (x2 - x1), y1 + 0.35 * (y2 - y1)
        ex, ey = x1 + 0.65 * (x2 - x1), y1 + 0.65 * (y2 - y1)
        d.arrow((sx, sy), (ex, ey), curve=-0.2)
    d.text(cx, cy, pick(lang, "× 단계 수", "× steps"), fontsize=11, color="#555555")
    return d


def lr_schedule(
    lang: str = "en", steps: int = 100, warmup: int = 10, floor: float = 0.1
) -> Diagram:
    """The rate climbs linearly during warm-up, then follows a half cosine down to lr · floor."""
    d = Diagram(14, 7.6, pick(lang, "학습률 스케줄: 워밍업 뒤 코사인 감쇠", "The learning-rate schedule: "
                              "warm-up, then cosine decay"))  # fmt: skip
    x0, y0, w, h = 3.0, 1.2, 10.4, 4.6

    def rate(s: int) -> float:
        if s < warmup:
            return (s + 1) / warmup
        progress = (s - warmup) / (steps - warmup)
        return floor + (1 - floor) * 0.5 * (1 + math.cos(math.pi * progress))

    xs = [x0 + w * s / steps for s in range(steps + 1)]
    d.ax.plot(xs, [y0 + h * rate(s) for s in range(steps + 1)], color="#2f6fad", lw=2.2)
    d.ax.plot([x0, x0 + w], [y0, y0], color="#333333", lw=1)
    d.ax.plot([x0, x0], [y0, y0 + h + 0.3], color="#333333", lw=1)
    d.ax.plot([x0 + w * warmup / steps] * 2, [y0, y0 + h], ls="--", color="#888888", lw=1)
    d.ax.plot([x0, x0 + w], [y0 + h * floor] * 2, ls=":", color="#888888", lw=1)
    d.text(x0 + w * warmup / steps / 2, y0 - 0.4, pick(lang, "워밍업", "warm-up"), fontsize=9)
    d.text(x0 + w * 0.55, y0 - 0.4, pick(lang, "코사인 감쇠", "cosine decay"), fontsize=9)
    d.text(x0 + w, y0 - 0.8, pick(lang, "단계", "step"), fontsize=9, ha="right")
    d.text(x0 - 0.2, y0 + h, "lr", fontsize=10, ha="right")
    d.text(x0 - 0.2, y0 + h * floor, "lr · min_lr_ratio", fontsize=8, ha="right")
    d.text(x0 + w * 0.72, y0 + h * 0.78, pick(lang, "큰 학습률로 빨리 내려가다가\n끝에서 작은 학습률로 자리 잡기",
                                                "big steps make fast progress;\nsmall ones settle at the end"),
           fontsize=9, color="#555555")  # fmt: skip
    d.text(x0 + w * warmup / steps + 0.2, y0 + h * 0.45,
           pick(lang, "처음엔 천천히:\nAdamW의 통계가\n아직 없음", "slow at first:\nAdamW has no\nstatistics yet"),
           fontsize=8, color="#555555", ha="left")  # fmt: skip
    return d


def accumulation_and_resume(lang: str = "en") -> Diagram:
    """Left: a batch of 16 as two micro-batches of 8 whose gradients (each loss / 2) add up to the
    full batch's. Right: a run saved at step 10 and resumed equals a run straight to 20, because the
    checkpoint holds everything the next step reads."""
    d = Diagram(19, 8.4, pick(lang, "기울기 누적과 체크포인트에서 이어 하기",
                              "Gradient accumulation and resuming from a checkpoint"))  # fmt: skip
    d.box(0.5, 5.6, 3.4, 0.9, pick(lang, "배치 16개", "batch of 16"), fontsize=9)
    d.box(0.3, 3.6, 1.7, 0.9, pick(lang, "8개", "8"), fontsize=9)
    d.box(2.4, 3.6, 1.7, 0.9, pick(lang, "8개", "8"), fontsize=9)
    d.arrow((1.6, 5.6), (1.15, 4.5))
    d.arrow((2.8, 5.6), (3.25, 4.5))
    d.box(0.3, 2.0, 1.7, 0.9, "grad(L1 / 2)", kind="op", fontsize=9)
    d.box(2.4, 2.0, 1.7, 0.9, "grad(L2 / 2)", kind="op", fontsize=9)
    d.arrow((1.15, 3.6), (1.15, 2.9))
    d.arrow((3.25, 3.6), (3.25, 2.9))
    d.box(0.8, 0.2, 2.8, 1.1, pick(lang, ".grad에서 합쳐져\n한 단계", "summed in .grad:\none step"),
          kind="layer", fontsize=8.5)  # fmt: skip
    d.arrow((1.15, 2.0), (1.8, 1.3))
    d.arrow((3.25, 2.0), (2.6, 1.3))
    d.text(2.2, 7.0, pick(lang, "메모리는 8개분,\n결과는 16개 배치와 같음", "memory of 8,\nresult of a batch of 16"),
           fontsize=9)  # fmt: skip
    # right: the timeline
    x0, x1, y = 6.5, 18.3, 5.2
    d.ax.plot([x0, x1], [y, y], color="#2f6fad", lw=2)
    d.text(x0, y + 0.5, pick(lang, "단계 0", "step 0"), fontsize=9)
    d.text(x1, y + 0.5, pick(lang, "단계 20", "step 20"), fontsize=9)
    d.text((x0 + x1) / 2, y + 1.2, pick(lang, "끊지 않고 20단계", "20 steps in one go"), fontsize=9)
    y2, mid = 2.4, (x0 + x1) / 2
    d.ax.plot([x0, mid], [y2, y2], color="#2f6fad", lw=2)
    d.ax.plot([mid, x1], [y2, y2], color="#d9822b", lw=2)
    d.box(mid - 1.6, y2 - 2.1, 3.2, 1.3, pick(lang, "체크포인트: 가중치, AdamW 상태,\n단계, 난수 상태, 데이터 위치",
                                                  "checkpoint: weights, AdamW state,\nstep, RNG states, data position"),
          kind="note", fontsize=7.5)  # fmt: skip
    d.arrow((mid, y2), (mid, y2 - 0.8))
    d.text(
        (x0 + mid) / 2,
        y2 + 0.45,
        pick(lang, "10단계 후 저장하고 중단", "10 steps, save, stop"),
        fontsize=9,
    )
    d.text(
        (mid + x1) / 2,
        y2 + 0.45,
        pick(lang, "불러와서 10단계 더", "load, 10 more steps"),
        fontsize=9,
    )
    d.text(x1 - 1.0, (y + y2) / 2, pick(lang, "같은 가중치\n(비트 단위로)", "same weights\n(bit for bit)"),
           fontsize=9, color="#555555")  # fmt: skip
    return d
