"""Concept diagrams for chapter 7 (fine-tuning): the classification head read at the last real
token, an SFT batch with its ``-100`` labels, LoRA's low-rank bypass, and absmax quantization by
rows (int8) and by blocks (NF4)."""

from __future__ import annotations

from llmbook.diagrams import Diagram, pick
from llmbook.quantize import NF4_LEVELS


def classification_head(lang: str = "en") -> Diagram:
    """A right-padded row through the GPT: the class logits are read at the last real token,
    which (causal attention) has seen the whole text and none of the padding."""
    tokens = ["대한", "민국", "은", pick(lang, "…다", "..."), "<pad>", "<pad>"]
    tokens = tokens if lang == "ko" else ["The", " king", " is", " dead", "<pad>", "<pad>"]
    d = Diagram(15, 8.2, pick(lang, "분류 헤드: 마지막 실제 토큰에서 읽습니다",
                              "Classification head: read at the last real token"))  # fmt: skip
    cell, x0 = 1.6, 2.2
    last = 3
    d.text(1.0, 1.05, pick(lang, "입력", "input"), fontsize=9)
    d.text(1.0, 3.6, pick(lang, "은닉 상태", "hidden"), fontsize=9)
    d.box(x0 - 0.1, 2.15, len(tokens) * cell, 0.7, pick(lang, "GPT 블록 (인과적 어텐션)",
                                                        "GPT blocks (causal attention)"), kind="layer")  # fmt: skip
    for i, t in enumerate(tokens):
        x = x0 + i * cell
        pad = t == "<pad>"
        d.box(x, 0.7, cell - 0.2, 0.7, t, kind="note" if pad else "data", fontsize=9)
        d.arrow((x + (cell - 0.2) / 2, 1.4), (x + (cell - 0.2) / 2, 2.15))
        d.box(x, 3.25, cell - 0.2, 0.7, f"h{i}", kind="note" if pad else "data", fontsize=9)
        d.arrow((x + (cell - 0.2) / 2, 2.85), (x + (cell - 0.2) / 2, 3.25))
    xl = x0 + last * cell + (cell - 0.2) / 2
    d.box(xl - 1.9, 4.75, 3.8, 0.75, pick(lang, "선형 층: C차원 -> 클래스 수", "linear: C dims -> classes"),
          kind="layer", fontsize=9)  # fmt: skip
    d.arrow((xl, 3.95), (xl, 4.75))
    d.box(xl - 1.9, 6.1, 3.8, 0.75, pick(lang, "클래스 로짓 (헌법, 법률안)", "class logits (tragedy, comedy)"),
          kind="loss", fontsize=9)  # fmt: skip
    d.arrow((xl, 5.5), (xl, 6.1))
    xp = x0 + 4 * cell
    d.text(xp + cell * 1.9, 4.6, pick(lang, "패딩: 앞의 토큰들이 보지 못하므로\n결과를 바꾸지 않습니다",
                                "padding: no earlier token sees it,\nso it changes nothing"),
           fontsize=8, color="#555555")  # fmt: skip
    d.text(2.6, 4.6, pick(lang, "last = 패딩이 아닌\n마지막 위치", "last = final position\nthat is not padding"),
           fontsize=8, color="#555555")  # fmt: skip
    return d


def sft_batch(lang: str = "en") -> Diagram:
    """Two (prompt, response) examples as inputs ``x`` and labels ``y``: ``y`` is ``x`` shifted by
    one, with -100 wherever the next token is part of the prompt or padding."""
    rows = [(["P", "P", "P", "R", "R", "E"], 0), (["P", "P", "R", "E"], 2)]
    d = Diagram(16, 8.4, pick(lang, "SFT 배치: 응답에만 손실을 겁니다 (-100은 손실에서 빠짐)",
                              "SFT batch: the loss sees the response only (-100 is skipped)"))  # fmt: skip
    names = {"P": pick(lang, "프롬프트", "prompt"), "R": pick(lang, "응답", "response"),
             "E": "<|end|>", "pad": pick(lang, "패딩", "padding")}  # fmt: skip
    fill = {"P": "#f4b183", "R": "#5b9bd5", "E": "#5b9bd5", "pad": "#eeeeee"}
    cell, x0 = 1.3, 3.0
    y = 6.3
    for r, (seq, n_pad) in enumerate(rows):
        full = seq + ["pad"] * n_pad
        inputs, targets = full[:-1], full[1:]  # y is x shifted by one
        d.text(1.3, y + 0.3, pick(lang, f"예제 {r + 1}  x", f"example {r + 1}  x"), fontsize=9)
        d.text(1.3, y - 0.7, "y", fontsize=9)
        for i, (a, b) in enumerate(zip(inputs, targets)):
            x = x0 + i * cell
            d.box(x, y, cell - 0.15, 0.6, names[a], kind=fill[a], fontsize=7)
            masked = b in ("P", "pad")
            label = "-100" if masked else pick(lang, "다음 토큰", "next token")
            d.box(x, y - 1.0, cell - 0.15, 0.6, label, kind="#eeeeee" if masked else fill[b], fontsize=7)
        y -= 2.7
    d.box(x0, 0.35, 1.0, 0.45, "", kind="#f4b183")
    d.text(x0 + 1.2, 0.57, pick(lang, "프롬프트", "prompt"), fontsize=8, ha="left")
    d.box(x0 + 3.3, 0.35, 1.0, 0.45, "", kind="#5b9bd5")
    d.text(x0 + 4.5, 0.57, pick(lang, "응답 (손실에 들어감)", "response (in the loss)"), fontsize=8, ha="left")
    d.box(x0 + 8.3, 0.35, 1.0, 0.45, "", kind="#eeeeee")
    d.text(x0 + 9.5, 0.57, pick(lang, "-100: 손실에서 빠짐", "-100: not in the loss"), fontsize=8, ha="left")
    return d


def lora_bypass(lang: str = "en") -> Diagram:
    """The frozen weight W and, beside it, the trainable bypass A (r x in) then B (out x r),
    scaled by alpha / r and added; after training W + (alpha / r) B A is one matrix again."""
    d = Diagram(15, 9.4, pick(lang, "LoRA: 고정된 W 옆의 저랭크 우회로", "LoRA: a low-rank bypass "
                              "beside the frozen W"))  # fmt: skip
    d.box(5.5, 0.5, 3.0, 0.8, "x  (in)", kind="data")
    d.box(1.5, 3.0, 3.6, 2.2, pick(lang, "W  (out × in)\n고정", "W  (out × in)\nfrozen"), kind="note")
    d.box(8.3, 2.2, 3.2, 0.8, pick(lang, "A  (r × in)  훈련", "A  (r × in)  trained"), kind="layer",
          fontsize=9)  # fmt: skip
    d.box(8.3, 4.2, 3.2, 0.8, pick(lang, "B  (out × r)  훈련", "B  (out × r)  trained"), kind="layer",
          fontsize=9)  # fmt: skip
    d.text(12.6, 3.6, pick(lang, "폭 r (작음)\nB는 0에서 시작", "width r (small)\nB starts at 0"),
           fontsize=8, color="#555555")  # fmt: skip
    d.box(6.2, 6.0, 1.6, 0.8, "+", kind="op")
    d.box(5.5, 7.3, 3.0, 0.7, "y  (out)", kind="data")
    d.arrow((6.2, 1.3), (3.3, 3.0))
    d.arrow((7.8, 1.3), (9.9, 2.2))
    d.arrow((9.9, 3.0), (9.9, 4.2))
    d.arrow((3.3, 5.2), (6.3, 6.1), text="x W^T + b")
    d.arrow((9.9, 5.0), (7.7, 6.1), text="× α / r")
    d.arrow((7.0, 6.8), (7.0, 7.3))
    d.text(7.0, 5.25, pick(lang, "병합 후: W' = W + (α/r)·B A", "merged: W' = W + (α/r)·B A"), fontsize=9,
           weight="bold")  # fmt: skip
    return d


def quantization_blocks(lang: str = "en") -> Diagram:
    """Absmax quantization: int8 divides each row by its own largest |w| / 127; NF4 does the same
    per block of numbers and rounds to 16 levels placed at normal quantiles."""
    d = Diagram(16, 8.2, pick(lang, "absmax 양자화: 묶음마다 자기 최댓값으로 나눕니다",
                              "Absmax quantization: each group is divided by its own largest value"))  # fmt: skip
    w = [[0.12, -0.40, 0.05, 0.31, -0.08, 0.02],
         [1.10, -0.20, 0.60, -0.90, 0.35, 0.70],
         [-0.03, 0.01, 0.06, -0.02, -0.05, 0.03]]  # fmt: skip
    absmax = [max(abs(v) for v in row) for row in w]
    d.text(3.6, 7.1, pick(lang, "int8: 행마다 scale = max|w| / 127", "int8: per row, scale = max|w| / 127"),
           fontsize=9, weight="bold")  # fmt: skip
    d.grid(0.4, 4.4, [[abs(v) / m for v in row] for row, m in zip(w, absmax)], cell=0.8,
           labels=[[f"{v:+.2f}" for v in row] for row in w])  # fmt: skip
    for i, (row, m) in enumerate(zip(w, absmax)):
        q = [round(v / m * 127) for v in row]
        y = 4.4 + (2 - i) * 0.8 + 0.4
        d.text(5.4, y, f"-> {q[0]:+d} {q[1]:+d} ... {q[-1]:+d}", fontsize=7, ha="left")
    d.text(3.6, 3.7, pick(lang, "작은 수만 있는 행은 scale도 작아\n정밀도가 유지됩니다", "a row of small numbers gets a "
                           "small scale,\nso its precision is kept"), fontsize=8, color="#555555")  # fmt: skip
    # NF4 blocks of a flattened weight
    d.text(11.5, 6.9, pick(lang, "NF4: 64개씩 블록마다 absmax", "NF4: absmax per block of 64"), fontsize=9,
           weight="bold")  # fmt: skip
    for k, kind in enumerate(("data", "layer", "data", "layer")):
        d.box(9.0 + k * 1.3, 5.2, 1.2, 0.8, pick(lang, f"블록 {k}", f"block {k}"), kind=kind, fontsize=8)
    d.text(11.6, 4.5, pick(lang, "각 수를 블록의 absmax로 나눈 뒤\n가장 가까운 16개 수준 중 하나로 (4비트)",
                           "each number ÷ its block's absmax,\nthen the nearest of 16 levels (4 bits)"),
           fontsize=8)  # fmt: skip
    x0, x1 = 8.6, 14.6
    d.ax.plot([x0, x1], [2.6, 2.6], color="#555555", linewidth=1)
    for v in NF4_LEVELS.tolist():
        x = x0 + (v + 1) / 2 * (x1 - x0)
        d.ax.plot([x, x], [2.45, 2.75], color="#1f4e79", linewidth=1.5)
    d.text(x0, 2.05, "-1", fontsize=8)
    d.text((x0 + x1) / 2, 2.05, "0", fontsize=8)
    d.text(x1, 2.05, "+1", fontsize=8)
    d.text(11.6, 1.35, pick(lang, "NF4의 16개 수준: 정규분포의 분위수라 0 근처에 촘촘합니다",
                            "NF4's 16 levels: normal quantiles, dense near 0"), fontsize=8)  # fmt: skip
    d.text(8.0, 0.5, pick(lang, "저장: 코드(8비트 또는 4비트) + 묶음마다 scale 하나 (float32)",
                          "stored: codes (8 or 4 bits) + one float32 scale per group"), fontsize=8,
           color="#555555")  # fmt: skip
    return d
