"""Concept diagrams for chapter 4 (attention): the flow from x to queries, keys and values and
out, the causal mask before the softmax, and the split of the width into heads and back."""

from __future__ import annotations

import math

from llmbook.diagrams import Diagram, pick


def qkv_flow(lang: str = "en") -> Diagram:
    """One attention head: x becomes Q, K and V; scores Q K^T/√d, masked, softmaxed, weigh V."""
    d = Diagram(18, 7.2, pick(lang, "어텐션 헤드 하나의 계산 흐름", "One attention head, step by step"))
    d.box(0.4, 3.0, 1.6, 1.0, "x\n(T, d_in)", kind="data", fontsize=9)
    names = [("W_q", "Q", pick(lang, "쿼리: 찾는 것", "query: what I look for")),
             ("W_k", "K", pick(lang, "키: 내가 가진 것", "key: what I offer")),
             ("W_v", "V", pick(lang, "값: 넘겨줄 것", "value: what I pass on"))]  # fmt: skip
    for i, (w, out, note) in enumerate(names):
        y = 5.0 - i * 2.0
        d.box(3.0, y, 1.3, 0.8, w, kind="layer", fontsize=10)
        d.box(5.2, y, 1.3, 0.8, out, kind="data", fontsize=11)
        d.arrow((2.0, 3.5), (3.0, y + 0.4))
        d.arrow((4.3, y + 0.4), (5.2, y + 0.4))
        d.text(5.85, y - 0.25, note, fontsize=7.5, color="#555555")
    steps = [("Q K^T / √d", "op", 7.6), (pick(lang, "마스크\n(미래 = -∞)", "mask\n(future = -∞)"), "op", 9.9),
             ("softmax", "op", 12.2), (pick(lang, "가중치 × V", "weights × V"), "op", 14.5)]  # fmt: skip
    for k, (label, kind, x) in enumerate(steps):
        d.box(x, 4.1, 1.9, 1.0, label, kind=kind, fontsize=9)
        if k:
            d.arrow((x - 0.4, 4.6), (x, 4.6))
    d.arrow((6.5, 5.4), (7.6, 4.9))
    d.arrow((6.5, 3.4), (7.6, 4.3))
    d.arrow((6.5, 1.4), (15.45, 4.1), curve=0.25)
    d.box(16.7, 4.1, 1.1, 1.0, pick(lang, "출력", "out"), kind="data", fontsize=9)
    d.arrow((16.4, 4.6), (16.7, 4.6))
    d.text(11.1, 6.0, pick(lang, "점수 (T, T): 행 = 쿼리, 열 = 키", "scores (T, T): rows = queries, "
                           "columns = keys"), fontsize=9)  # fmt: skip
    d.text(13.15, 3.8, pick(lang, "각 행의 합 = 1", "each row sums to 1"), fontsize=9,
           color="#555555")  # fmt: skip
    return d


def causal_mask(lang: str = "en", n: int = 5) -> Diagram:
    """Scores with the future set to -inf, and the softmax of each row: zeros above the diagonal,
    rows that still sum to 1."""
    words = pick(lang, "나는|밥을|먹고|학교에|갔다", "I|ate|and|then|left").split("|")[:n]
    d = Diagram(17, 7.6, pick(lang, "인과 마스크: 소프트맥스 전에 미래를 -∞로", "The causal mask: "
                              "the future set to -∞ before the softmax"))  # fmt: skip
    cell = 0.85
    scores = [[round(math.sin(1.3 * i + 0.7 * j) * 2, 1) for j in range(n)] for i in range(n)]
    shown = [[f"{scores[i][j]:.1f}" if j <= i else "-∞" for j in range(n)] for i in range(n)]
    weights = []
    for i in range(n):
        e = [math.exp(scores[i][j]) if j <= i else 0.0 for j in range(n)]
        weights.append([v / sum(e) for v in e])
    x1, x2, y = 2.4, 10.6, 1.0
    d.grid(x1, y, [[0.5 if j <= i else 0.0 for j in range(n)] for i in range(n)], cell=cell,
           labels=shown, cmap="Greys", vmin=0, vmax=2.5)  # fmt: skip
    d.grid(x2, y, weights, cell=cell, labels=[[f"{v:.2f}" for v in r] for r in weights])
    for k, word in enumerate(words):
        for x0 in (x1, x2):
            d.text(x0 - 0.15, y + (n - 1 - k) * cell + cell / 2, word, fontsize=8, ha="right")
            d.text(x0 + k * cell + cell / 2, y + n * cell + 0.25, word, fontsize=8, rotation=45,
                   ha="left", va="bottom")  # fmt: skip
    d.arrow((x1 + n * cell + 0.4, y + n * cell / 2), (x2 - 1.4, y + n * cell / 2), "softmax")
    d.text(x1 + n * cell / 2, y - 0.45, pick(lang, "점수 (행 = 쿼리, 열 = 키)", "scores (rows = "
                                             "queries, columns = keys)"), fontsize=9)  # fmt: skip
    d.text(x2 + n * cell / 2, y - 0.45, pick(lang, "어텐션 가중치: 각 행의 합 = 1",
                                             "attention weights: each row sums to 1"), fontsize=9)  # fmt: skip
    return d


def head_split_merge(lang: str = "en", n_head: int = 4) -> Diagram:
    """Multi-head attention's reshapes: (B, T, C) -> view (B, T, h, C/h) -> transpose
    (B, h, T, C/h); every head attends on its own; transpose back, reshape to (B, T, C), project."""
    colours = ["#8fb8de", "#f5b17b", "#9fd39b", "#e79aa8", "#c7a6e0", "#f2dd8c"]
    d = Diagram(19.8, 8.4, pick(lang, "멀티 헤드 어텐션: 헤드로 나누고 다시 합치기", "Multi-head "
                              "attention: split into heads and merge back"))  # fmt: skip
    T, cw, ch = 4, 0.42, 0.42

    def block(x, y, by_head):
        """T rows x C columns, coloured by head; by_head stacks the heads vertically instead."""
        if not by_head:
            for t in range(T):
                for h in range(n_head):
                    for c in range(2):
                        d.box(x + (2 * h + c) * cw, y + (T - 1 - t) * ch, cw, ch, kind=colours[h])
            return
        for h in range(n_head):
            for t in range(T):
                for c in range(2):
                    d.box(x + c * cw + h * 0.25, y - h * 0.25 + (T - 1 - t) * ch, cw, ch,
                          kind=colours[h])  # fmt: skip

    y = 3.4
    block(0.4, y, False)
    d.text(0.4 + n_head * cw, y - 0.55, "(B, T, C)", fontsize=9)
    d.text(0.4 + n_head * cw, y + T * ch + 0.45, pick(lang, "qkv(x)의 q (또는 k, v)", "q (or k, v) "
                                                      "of qkv(x)"), fontsize=9)  # fmt: skip
    d.arrow((3.9, y + 0.8), (6.9, y + 0.8), "view + transpose(1, 2)")
    block(7.4, y + 0.2, True)
    d.text(8.2, y - 1.35, "(B, h, T, C/h)", fontsize=9)
    d.box(9.9, y + 0.2, 2.4, 1.2, pick(lang, "헤드마다 따로\n어텐션", "each head\nattends alone"), kind="op",
          fontsize=9)  # fmt: skip
    d.arrow((9.3, y + 0.8), (9.9, y + 0.8))
    d.arrow((12.3, y + 0.8), (14.1, y + 0.8), "transpose(1, 2)\n+ reshape")
    block(14.3, y, False)
    d.text(14.3 + n_head * cw, y - 0.55, pick(lang, "(B, T, C): 헤드가 나란히", "(B, T, C): heads side "
                                              "by side"), fontsize=9)  # fmt: skip
    d.box(18.2, y + 0.3, 1.3, 1.0, "proj", kind="layer", fontsize=10)
    d.arrow((17.8, y + 0.8), (18.2, y + 0.8))
    d.text(9.9, 0.7, pick(lang, "같은 색 = 같은 헤드. transpose 없이 reshape하면 시간과 헤드가 뒤섞입니다",
                          "same colour = same head. A reshape without the transpose mixes time "
                          "steps and heads"), fontsize=9)  # fmt: skip
    return d
