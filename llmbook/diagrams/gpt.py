"""Concept diagrams for chapter 5 (building a GPT): the pre-LN block on its residual stream, the
whole stack with the tied output layer, the KV cache reused step by step, and what top-k and top-p
keep of a next-token distribution."""

from __future__ import annotations

from matplotlib.patches import Rectangle

from llmbook.diagrams import COLORS, Diagram, pick


def block(lang: str = "en") -> Diagram:
    """A pre-LN block: the residual stream runs straight up; LayerNorm -> attention and
    LayerNorm -> feed-forward branch off it and are added back."""
    d = Diagram(13, 11.2, pick(lang, "pre-LN 트랜스포머 블록: 잔차 스트림에 더하기",
                               "A pre-LN transformer block: adding to the residual stream"))  # fmt: skip
    sx = 2.6  # the residual stream's x
    d.box(1.6, 0.4, 2.0, 0.8, pick(lang, "x (B, T, C)", "x (B, T, C)"), fontsize=9)
    d.box(1.6, 8.4, 2.0, 0.8, pick(lang, "출력 (B, T, C)", "out (B, T, C)"), fontsize=9)
    adds = (4.5, 7.5)
    for y in adds:
        d.box(sx - 0.35, y - 0.35, 0.7, 0.7, "+", kind="op", fontsize=12)
    d.arrow((sx, 1.2), (sx, adds[0] - 0.35))
    d.arrow((sx, adds[0] + 0.35), (sx, adds[1] - 0.35))
    d.arrow((sx, adds[1] + 0.35), (sx, 8.4))
    branches = [(1.6, pick(lang, "LayerNorm (ln1)", "LayerNorm (ln1)"),
                 pick(lang, "인과 멀티 헤드 어텐션\n(위치끼리 정보 교환)",
                      "causal multi-head attention\n(positions exchange information)"), adds[0]),
                (5.0, pick(lang, "LayerNorm (ln2)", "LayerNorm (ln2)"),
                 pick(lang, "피드포워드: C -> 4C, GELU, 4C -> C\n(위치마다 따로)",
                      "feed-forward: C -> 4C, GELU, 4C -> C\n(each position on its own)"), adds[1])]  # fmt: skip
    for y0, ln, layer, y_add in branches:
        d.arrow((sx, y0 + 0.1), (5.0, y0 + 0.5), curve=-0.2)
        d.box(5.0, y0 + 0.1, 2.4, 0.8, ln, kind="op", fontsize=9)
        d.box(7.9, y0 + 0.1, 4.9, 1.4, layer, kind="layer", fontsize=8.5)
        d.arrow((7.4, y0 + 0.5), (8.0, y0 + 0.6))
        d.arrow((10.3, y0 + 1.5), (sx + 0.35, y_add), curve=0.25)
    d.text(1.1, 3.0, pick(lang, "잔차\n스트림", "residual\nstream"), fontsize=9, color="#555555")
    d.text(6.5, 9.95, pick(lang, "x = x + attn(ln1(x));  x = x + mlp(ln2(x))",
                          "x = x + attn(ln1(x));  x = x + mlp(ln2(x))"), fontsize=10)  # fmt: skip
    return d


def stack(lang: str = "en") -> Diagram:
    """The whole GPT: token + position embeddings, n blocks, final LayerNorm, and the output layer
    that reuses the token-embedding matrix (tied)."""
    d = Diagram(15, 11.6, pick(lang, "GPT 전체: 임베딩, 블록 n개, 마지막 LayerNorm, 공유된 출력층",
                               "The whole GPT: embeddings, n blocks, final LayerNorm, tied head"))  # fmt: skip
    x0, w = 3.5, 5.0
    rows = [(0.4, pick(lang, "토큰 id (B, T)", "token ids (B, T)"), "data"),
            (1.8, pick(lang, "토큰 임베딩 wte[idx]  +  위치 임베딩 wpe[0..T-1]",
                       "token embedding wte[idx]  +  position embedding wpe[0..T-1]"), "layer"),
            (3.3, pick(lang, "블록 1", "block 1"), "layer"),
            (4.6, pick(lang, "블록 2", "block 2"), "layer"),
            (5.9, "⋮", "note"),
            (7.0, pick(lang, "블록 n", "block n"), "layer"),
            (8.4, pick(lang, "마지막 LayerNorm (ln_f)", "final LayerNorm (ln_f)"), "op"),
            (9.7, pick(lang, "출력층: 로짓 = h · wte^T  (B, T, V)", "head: logits = h · wte^T  (B, T, V)"),
             "loss")]  # fmt: skip
    for k, (y, text, kind) in enumerate(rows):
        d.box(
            x0 - (1.0 if k == 1 else 0),
            y,
            w + (2.0 if k == 1 else 0),
            0.9,
            text,
            kind=kind,
            fontsize=9,
        )
        if k:
            d.arrow((x0 + w / 2, rows[k - 1][0] + 0.9), (x0 + w / 2, y))
    d.box(11.3, 4.8, 3.3, 1.6, pick(lang, "wte (V × C)\n하나의 행렬", "wte (V × C)\none matrix"),
          kind="layer", fontsize=9)  # fmt: skip
    d.arrow((11.3, 5.3), (x0 + w + 1.0, 2.3), pick(lang, "입력에서", "read in"), curve=-0.2)
    d.arrow(
        (11.3, 6.0), (x0 + w, 10.15), pick(lang, "출력에서 (공유)", "read out (tied)"), curve=0.2
    )
    d.text(
        1.6,
        5.2,
        pick(lang, "n_layer번\n반복", "repeated\nn_layer times"),
        fontsize=9,
        color="#555555",
    )
    return d


def kv_cache(lang: str = "en", steps: int = 4) -> Diagram:
    """Generation with a cache: step t computes the key and value of the newest token only and
    appends them; its query attends to every cached key."""
    d = Diagram(16, 8.6, pick(lang, "KV 캐시: 새 토큰의 키와 값만 계산하고 나머지는 재사용",
                              "The KV cache: compute the new token's key and value, reuse the rest"))  # fmt: skip
    cw = 0.8
    for t in range(steps):
        y = 6.2 - t * 1.7
        d.text(1.2, y + 0.4, pick(lang, f"단계 {t + 1}", f"step {t + 1}"), fontsize=9)
        for j in range(3 + t):
            new = t == 0 or j == 2 + t  # step 1 computes the whole prompt
            d.box(
                2.4 + j * cw, y, cw - 0.08, 0.8, "K,V", kind="layer" if new else "data", fontsize=7
            )
        d.box(2.4 + (3 + t) * cw + 0.5, y, 1.0, 0.8, "q", kind="layer", fontsize=9)
        d.text(2.4 + (3 + t) * cw + 1.8, y + 0.4,
               pick(lang, f"입력: 토큰 {'3개 (프롬프트)' if t == 0 else '1개'}",
                    f"input: {'3 tokens (the prompt)' if t == 0 else '1 token'}"), fontsize=9,
               ha="left")  # fmt: skip
    d.box(11.6, 0.6, 0.8, 0.6, "", kind="layer")
    d.text(12.6, 0.9, pick(lang, "이번 단계에 계산", "computed this step"), fontsize=9, ha="left")
    d.box(11.6, 1.5, 0.8, 0.6, "", kind="data")
    d.text(12.6, 1.8, pick(lang, "캐시에서 재사용", "reused from the cache"), fontsize=9, ha="left")
    d.text(5.5, 0.6, pick(lang, "새 쿼리는 캐시의 모든 키를 봅니다 (미래는 아직 없음: 마스크 불필요)",
                          "the new query sees every cached key (no future yet: no mask needed)"),
           fontsize=9)  # fmt: skip
    return d


def sampling_filters(lang: str = "en") -> Diagram:
    """One next-token distribution, and what top-k (a fixed number) and top-p (a probability mass)
    keep of it."""
    probs = [0.42, 0.21, 0.12, 0.08, 0.06, 0.04, 0.03, 0.02, 0.01, 0.01]
    d = Diagram(
        18, 8.0, pick(lang, "top-k와 top-p: 무엇을 남기나", "Top-k and top-p: what each keeps")
    )
    panels = [(0.8, pick(lang, "원래 분포", "the distribution"), len(probs)),
              (6.6, pick(lang, "top-k = 3: 가장 큰 3개", "top-k = 3: the 3 largest"), 3),
              (12.4, pick(lang, "top-p = 0.8: 합이 0.8에 닿을 때까지", "top-p = 0.8: until the sum reaches 0.8"), 4)]  # fmt: skip
    bw, scale = 0.48, 7.0
    for x0, title, keep in panels:
        kept = sum(probs[:keep])
        for i, p in enumerate(probs):
            shown = p / kept if i < keep else 0.0
            d.ax.add_patch(Rectangle((x0 + i * bw, 1.2), bw - 0.06, max(shown * scale, 0.03),
                                     facecolor=COLORS["data"] if i < keep else "#bbbbbb",
                                     edgecolor="#555555", linewidth=0.8))  # fmt: skip
        d.ax.plot([x0 - 0.1, x0 + len(probs) * bw], [1.2, 1.2], color="#555555", lw=0.8)
        d.text(x0 + len(probs) * bw / 2, 6.7, title, fontsize=9)
        d.text(x0 + len(probs) * bw / 2, 0.7, pick(lang, f"후보 {keep}개, 다시 정규화", f"{keep} candidates, renormalised")
               if keep < len(probs) else pick(lang, "후보 10개", "10 candidates"), fontsize=8.5)  # fmt: skip
    d.text(
        12.4 + 5 * bw / 2,
        5.8,
        "0.42 + 0.21 + 0.12 + 0.08 = 0.83 ≥ 0.8",
        fontsize=8,
        color="#555555",
    )
    return d
