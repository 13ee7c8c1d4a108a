"""Concept diagrams for chapter 2 (the road to attention): the n-gram's context window, the HMM
trellis with its Viterbi path, skip-gram with negative samples, and seq2seq with and without
attention."""

from __future__ import annotations

from llmbook.diagrams import Diagram, pick


def ngram_window(lang: str = "en", n: int = 3) -> Diagram:
    """An n-gram model sees only the last n-1 tokens: everything before them is forgotten."""
    words = pick(lang, "나는|오늘|아침에|학교에|걸어서|?", "the|cat|sat|on|the|?").split("|")
    d = Diagram(15, 5.2, pick(lang, f"{n}-그램 모델의 문맥: 앞의 {n - 1}개 토큰만", f"A {n}-gram "
                              f"model's context: the last {n - 1} tokens only"))  # fmt: skip
    w, gap, y = 2.0, 0.35, 1.6
    first_seen = len(words) - n  # index of the first token inside the window
    for i, word in enumerate(words):
        x = 0.6 + i * (w + gap)
        if word == "?":
            d.box(x, y, w, 1.0, word, kind="loss", fontsize=12)
        elif i >= first_seen:
            d.box(x, y, w, 1.0, word, kind="data", fontsize=11)
        else:
            d.box(x, y, w, 1.0, word, kind="note", fontsize=11, alpha=0.6)
    x0 = 0.6 + first_seen * (w + gap) - 0.15
    x1 = 0.6 + (len(words) - 1) * (w + gap) - gap + 0.15
    d.box(x0, y - 0.25, x1 - x0, 1.5, kind="none", fill=False, linestyle="--")
    d.text((x0 + x1) / 2, y + 1.6, pick(lang, f"문맥 (n-1 = {n - 1})", f"context (n-1 = {n - 1})"),
           fontsize=10)  # fmt: skip
    d.text(0.6 + (first_seen * (w + gap) - gap) / 2, y - 0.55,
           pick(lang, "모델이 보지 못하는 부분", "invisible to the model"), fontsize=9,
           color="#777777")  # fmt: skip
    xq = 0.6 + (len(words) - 1) * (w + gap) + w / 2
    d.text(xq, y - 0.55, pick(lang, "P(다음 | 문맥)", "P(next | context)"), fontsize=9)
    return d


def viterbi_trellis(lang: str = "en") -> Diagram:
    """The HMM trellis: one column per word, one node per tag; every path is a tagging, and
    Viterbi keeps, for every node, only the best path into it (the back-pointers)."""
    words = pick(lang, "국민은|법|앞에|평등하다", "time|flies|like|arrows").split("|")
    tags = pick(lang, "명사|조사|동사", "noun|verb|prep").split("|")
    best = [0, 0, 1, 2] if lang == "ko" else [0, 1, 2, 0]
    d = Diagram(16, 8.4, pick(lang, "HMM 격자와 비터비 경로", "The HMM trellis and the Viterbi path"))
    cw, ch, dx, dy, x0, y0 = 2.2, 0.8, 3.6, 1.6, 2.6, 1.2
    centre = {}
    for t, word in enumerate(words):
        d.text(x0 + t * dx + cw / 2, y0 + len(tags) * dy + 0.2, word, fontsize=11, weight="bold")
        for s, tag in enumerate(tags):
            x, y = x0 + t * dx, y0 + (len(tags) - 1 - s) * dy
            d.box(x, y, cw, ch, tag, kind="layer" if best[t] == s else "note", fontsize=10)
            centre[t, s] = (x, y + ch / 2)
    for t in range(len(words) - 1):
        for a in range(len(tags)):
            for b in range(len(tags)):
                on_path = best[t] == a and best[t + 1] == b
                (xa, ya), (xb, yb) = centre[t, a], centre[t + 1, b]
                d.ax.plot([xa + cw, xb], [ya, yb], color="#c0392b" if on_path else "#bbbbbb",
                          linewidth=2.6 if on_path else 0.8, zorder=0)  # fmt: skip
    for s, _ in enumerate(tags):
        d.text(1.2, y0 + (len(tags) - 1 - s) * dy + ch / 2, pick(lang, "상태", "state"), fontsize=8,
               color="#777777")  # fmt: skip
    d.text(8, 0.55, pick(lang, "δ_t(s) = max_s' [δ_{t-1}(s') + log P(s|s')] + log P(단어_t|s)",
                         "δ_t(s) = max_s' [δ_{t-1}(s') + log P(s|s')] + log P(word_t|s)"),
           fontsize=10)  # fmt: skip
    return d


def skipgram_negatives(lang: str = "en") -> Diagram:
    """Skip-gram with negative sampling: pull the centre word's vector towards the words that
    really occur around it, push it away from a few random words."""
    d = Diagram(16, 7.6, pick(lang, "스킵그램과 네거티브 샘플링", "Skip-gram with negative sampling"))
    centre = pick(lang, "왕", "king")
    real = pick(lang, "그|이|명령했다", "the|ordered|his").split("|")
    noise = pick(lang, "바나나|자전거|초록", "banana|bicycle|green").split("|")
    cx, cy = 6.6, 3.0
    d.box(cx, cy, 2.6, 1.0, pick(lang, f"중심: {centre}  v_c", f"centre: {centre}  v_c"), kind="layer")
    for i, word in enumerate(real):
        x, y = 0.5, 5.4 - i * 1.6
        d.box(x, y, 2.6, 0.9, f"{word}  u_o", kind="data")
        d.arrow((x + 2.6, y + 0.45), (cx, cy + 0.5), curve=0.0)
    d.text(1.8, 6.65, pick(lang, "실제로 주변에 나온 단어", "words really nearby"), fontsize=10)
    for i, word in enumerate(noise):
        x, y = 12.9, 5.4 - i * 1.6
        d.box(x, y, 2.6, 0.9, f"{word}  u_k", kind="note")
        d.arrow((cx + 2.6, cy + 0.5), (x, y + 0.45), dashed=True)
    d.text(14.2, 6.65, pick(lang, "무작위로 뽑은 단어 (K개)", "random words (K of them)"), fontsize=10)
    d.box(3.2, 0.25, 9.6, 1.1, "loss = -log σ(u_o·v_c) - Σ_k log σ(-u_k·v_c)", kind="loss",
          fontsize=11)  # fmt: skip
    d.text(4.6, 2.35, pick(lang, "내적을 키운다", "raise the dot product"), fontsize=9,
           color="#1f5f8b")  # fmt: skip
    d.text(11.4, 2.35, pick(lang, "내적을 줄인다", "lower the dot product"), fontsize=9,
           color="#8b1f1f")  # fmt: skip
    return d


def seq2seq_attention(lang: str = "en") -> Diagram:
    """Top: the encoder's last state is the only thing the decoder sees. Bottom: every decoder
    step scores all encoder states and reads their weighted mean."""
    d = Diagram(17, 11, pick(lang, "seq2seq: 고정 문맥 벡터 대 어텐션", "seq2seq: a fixed context "
                             "vector vs attention"))  # fmt: skip
    src, n_out = list("3051"), 3
    w, gap = 1.3, 0.4

    def row(y, label, kind, prefix, n):
        d.text(1.2, y + 0.4, label, fontsize=9)
        return [d.box(2.6 + i * (w + gap), y, w, 0.8, f"{prefix}{i + 1}", kind=kind) for i in range(n)]

    # without attention
    d.text(8.5, 9.6, pick(lang, "어텐션 없음: 입력 전체가 벡터 하나 c로", "no attention: the whole input "
                          "squeezed into one vector c"), fontsize=10, weight="bold")  # fmt: skip
    enc = row(8.0, pick(lang, "인코더", "encoder"), "layer", "h", len(src))
    for (x, y, bw, _), ch in zip(enc, src, strict=True):
        d.text(x + bw / 2, y - 0.3, ch, fontsize=9, color="#555555")
    c = d.box(10.0, 8.0, 1.3, 0.8, "c", kind="op")
    d.arrow((enc[-1][0] + w, 8.4), (10.0, 8.4))
    dec = [d.box(8.6 + i * (w + 0.9), 6.0, w, 0.8, f"s{i + 1}", kind="layer") for i in range(n_out)]
    for i, (x, y, bw, bh) in enumerate(dec):
        d.arrow((c[0] + c[2] / 2, 8.0), (x + bw / 2, y + bh))
        if i:
            d.arrow((x - 0.9, y + bh / 2), (x, y + bh / 2))
    d.text(11.4, 5.55, pick(lang, "디코더: 매 단계 같은 c", "decoder: the same c at every step"),
           fontsize=9)  # fmt: skip
    # with attention
    d.text(8.5, 4.6, pick(lang, "어텐션: 출력마다 모든 h_j에 점수 e_j = v·tanh(W s + U h_j)",
                          "attention: each output scores every h_j, e_j = v·tanh(W s + U h_j)"),
           fontsize=10, weight="bold")  # fmt: skip
    enc2 = row(0.6, pick(lang, "인코더", "encoder"), "layer", "h", len(src))
    s = d.box(12.2, 3.0, w, 0.8, "s2", kind="layer")
    weights = [0.05, 0.15, 0.7, 0.1]
    for (x, y, bw, bh), a in zip(enc2, weights, strict=True):
        d.ax.plot([x + bw / 2, s[0]], [y + bh, s[1] + 0.4], color="#c0392b", alpha=0.25 + 0.75 * a,
                  linewidth=0.6 + 5 * a, zorder=0)  # fmt: skip
        d.text(x + bw / 2, y - 0.3, f"α={a:.2f}", fontsize=8, color="#c0392b")
    d.text(13.2, 2.2, pick(lang, "문맥 = Σ_j α_j h_j,  α = softmax(e)", "context = Σ_j α_j h_j,  "
                           "α = softmax(e)"), fontsize=9)  # fmt: skip
    return d


# (year, Korean label, English label, chapters that build the idea, era) for `timeline`.
# fmt: off
MILESTONES = [
    ("1948", "섀넌: 글자 n-그램으로 영어 흉내", "Shannon: n-gram letter model of English", "2", 0),
    ("1997", "LSTM: 오래 기억하는 순환 신경망", "LSTM: a recurrent net that remembers longer", "2", 1),
    ("2013", "word2vec: 단어를 벡터로", "word2vec: words as vectors", "2", 1),
    ("2014", "seq2seq: 인코더가 읽고 디코더가 쓴다", "seq2seq: an encoder reads, a decoder writes", "2", 1),
    ("2014", "바다나우 어텐션 (ICLR 2015)", "Bahdanau attention (ICLR 2015)", "2, 4", 1),
    ("2017", "트랜스포머: Attention Is All You Need", "Transformer: Attention Is All You Need", "4, 5", 2),
    ("2018", "GPT-1과 BERT: 사전 훈련 + 미세 조정", "GPT-1 and BERT: pretrain, then fine-tune", "5, 7", 2),
    ("2019", "GPT-2, T5, RoBERTa", "GPT-2, T5, RoBERTa", "3, 5", 2),
    ("2020", "GPT-3 (1,750억, 퓨샷), ELECTRA", "GPT-3 (175B, few-shot), ELECTRA", "6, 9", 2),
    ("2022", "InstructGPT: 지시 미세 조정 + RLHF", "InstructGPT: instruction tuning + RLHF", "7, 8", 3),
    ("2022", "ChatGPT 공개 (11월)", "ChatGPT released (November)", "8", 3),
    ("2023", "LLaMA와 공개 가중치 모델의 시대", "LLaMA and the open-weight era", "4, 7", 3),
    ("2024", "추론 모델: OpenAI o1", "Reasoning models: OpenAI o1", "9", 3),
    ("2025", "DeepSeek-R1: 강화 학습으로 추론", "DeepSeek-R1: reasoning learned by RL", "8, 9", 3),
]
# fmt: on


def timeline(lang: str = "en") -> Diagram:
    """Where LLMs come from: one row per milestone, coloured by era, each tagged with the
    chapter of this course that builds its idea."""
    eras = [("note", pick(lang, "통계 모델", "statistical models")),
            ("data", pick(lang, "신경망", "neural networks")),
            ("layer", pick(lang, "트랜스포머", "transformers")),
            ("loss", pick(lang, "대화형 LLM", "chat LLMs"))]  # fmt: skip
    row, top = 0.78, 1.5 + len(MILESTONES) * 0.78
    d = Diagram(17, top + 1.6, pick(lang, "LLM은 어디에서 왔나: 이정표와 그 생각을 만드는 장",
                                    "Where LLMs come from: milestones and the chapter that builds each"))  # fmt: skip
    d.ax.plot([2.6, 2.6], [0.9, top + 0.2], color="#888888", linewidth=1.5, zorder=0)
    for i, (year, ko, en, chapters, era) in enumerate(MILESTONES):
        y = top - (i + 1) * row
        d.text(1.4, y + 0.3, year, fontsize=10, weight="bold")
        d.ax.plot([2.6], [y + 0.3], marker="o", markersize=6, color="#555555")
        d.box(3.1, y, 10.2, 0.6, pick(lang, ko, en), kind=eras[era][0], fontsize=9.5)
        d.arrow((13.4, y + 0.3), (14.1, y + 0.3))
        d.text(14.25, y + 0.3, pick(lang, f"{chapters}장", f"ch. {chapters}"), fontsize=10,
               ha="left", color="#1f5f8b", weight="bold")  # fmt: skip
    for j, (kind, name) in enumerate(eras):
        x = 1.0 + j * 4.0
        d.box(x, 0.25, 0.5, 0.4, kind=kind)
        d.text(x + 0.7, 0.45, name, fontsize=9, ha="left")
    return d


def fields(lang: str = "en") -> Diagram:
    """AI ⊃ machine learning ⊃ deep learning ⊃ LLMs: each field a box inside the one before,
    with what it adds."""
    d = Diagram(16, 10.6, pick(lang, "LLM의 자리: 인공지능 ⊃ 머신 러닝 ⊃ 딥 러닝 ⊃ LLM",
                                "Where LLMs sit: AI ⊃ machine learning ⊃ deep learning ⊃ LLMs"))  # fmt: skip
    layers = [
        ("note", pick(lang, "인공지능 (AI)", "Artificial intelligence (AI)"),
         pick(lang, "사람의 지능이 필요한 일을 기계가 하게 하는 모든 방법 (손으로 쓴 규칙도 포함)",
              "any way of making machines do tasks that need intelligence (hand-written rules too)"),
         pick(lang, "예: 사람이 짠 규칙으로 수를 찾는 체스 프로그램",
              "e.g. a chess program searching moves with rules people wrote")),
        ("data", pick(lang, "머신 러닝", "Machine learning"),
         pick(lang, "규칙을 데이터에서 배운다 (무엇을 볼지, 곧 특징은 사람이 골라 줌)",
              "learns its rules from data (what to look at, the features, chosen by people)"),
         pick(lang, "예: 단어 빈도로 스팸을 거르는 분류기, n-그램 모델 (2장)",
              "e.g. a spam filter on word counts, an n-gram model (ch. 2)")),
        ("layer", pick(lang, "딥 러닝", "Deep learning"),
         pick(lang, "층을 깊이 쌓은 신경망이 특징까지 스스로 배운다",
              "many-layer neural networks learn the features too"),
         pick(lang, "예: 이미지 인식, 음성 인식, 신경망 번역", "e.g. image recognition, speech recognition, "
              "neural machine translation")),
        ("loss", pick(lang, "대규모 언어 모델 (LLM)", "Large language models (LLMs)"),
         pick(lang, "막대한 텍스트로 다음 토큰 예측을 배운 트랜스포머",
              "transformers trained on vast text to predict the next token"),
         pick(lang, "예: ChatGPT, Claude, LLaMA, 그리고 이 강좌에서 만드는 GPT",
              "e.g. ChatGPT, Claude, LLaMA, and the GPT this course builds")),
    ]  # fmt: skip
    x, y, w, h = 0.4, 0.3, 15.2, 9.4
    for kind, name, note, example in layers:
        d.box(x, y, w, h, kind=kind)
        d.text(x + 0.35, y + h - 0.45, name, fontsize=11, weight="bold", ha="left")
        d.text(x + 0.35, y + h - 1.0, note, fontsize=9, ha="left", color="#333333")
        d.text(x + 0.35, y + h - 1.5, example, fontsize=9, ha="left", color="#777777",
               style="italic")  # fmt: skip
        x, y, w, h = x + 0.7, y + 0.3, w - 1.4, h - 2.5
    return d
