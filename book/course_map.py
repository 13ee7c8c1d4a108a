"""The course map on the landing page: the path from raw text to a chat model, chapter by chapter.

Drawn here as SVG (crisp at any zoom, text in the page's own fonts, so Hangul uses a Korean font)
in each language, as a snake of boxes ``columns`` wide: three columns for wide screens, one for
phones. ``python book/course_map.py DIR`` writes ``course-map-{ko,en}.svg`` to look at.
"""

from __future__ import annotations

import sys
from html import escape
from pathlib import Path

# (chapter, phase, {lang: (title, what the reader builds in it)})
CHAPTERS = [
    (1, 0, {"ko": ("LLM 소개", "작은 문자 모델"), "en": ("What an LLM is", "a tiny character model")}),
    (2, 0, {"ko": ("NLP의 역사", "n-그램 · RNN · seq2seq"), "en": ("NLP history", "n-grams · RNN · seq2seq")}),
    (3, 1, {"ko": ("토큰화", "BPE 토크나이저"), "en": ("Tokenization", "a BPE tokenizer")}),
    (4, 1, {"ko": ("어텐션", "셀프 어텐션 · KV 캐시"), "en": ("Attention", "self-attention · KV cache")}),
    (5, 1, {"ko": ("GPT", "GPT 모델"), "en": ("GPT", "the GPT model")}),
    (6, 2, {"ko": ("사전 훈련", "기반 모델"), "en": ("Pretraining", "the base model")}),
    (7, 2, {"ko": ("미세 조정", "지시를 따르는 모델"), "en": ("Fine-tuning", "an instruction model")}),
    (8, 2, {"ko": ("RLHF", "보상 모델 · DPO"), "en": ("RLHF", "reward model · DPO")}),
    (9, 3, {"ko": ("프롬프팅", "사고의 연쇄 · RAG"), "en": ("Prompting", "chain of thought · RAG")}),
]  # fmt: skip
PHASES = [  # (fill, edge, {lang: name})
    ("#e8f1fb", "#2a6ebb", {"ko": "기초", "en": "foundations"}),
    ("#e9f6ec", "#2e8b57", {"ko": "모델 만들기", "en": "the model"}),
    ("#fdf1e3", "#c76b12", {"ko": "훈련", "en": "training"}),
    ("#f3ecfa", "#7b4bb3", {"ko": "활용", "en": "using it"}),
]
ENDS = {"ko": ("원시 텍스트", "대화 모델"), "en": ("raw text", "a chat model")}
TITLE = {
    "ko": "강좌 지도: 원시 텍스트에서 대화 모델까지",
    "en": "Course map: from raw text to a chat model",
}
CHAPTER = {"ko": "{}장", "en": "Ch. {}"}

CELL_W, CELL_H = 212, 118  # one chapter's place in the grid
BOX_W, BOX_H = 184, 80
PILL_W, PILL_H = 150, 34
ARROW = 30  # room for the arrows into the first box and out of the last
LEGEND_H = 30


def _box_centre(index: int, columns: int) -> tuple[float, float]:
    """Centre of the ``index``-th chapter's box: rows run left to right, then right to left."""
    row, col = divmod(index, columns)
    if row % 2:
        col = columns - 1 - col
    return CELL_W * col + CELL_W / 2, PILL_H + ARROW + CELL_H * row + BOX_H / 2


def _arrow(x1: float, y1: float, x2: float, y2: float, marker: str) -> str:
    return (f'<line x1="{x1:g}" y1="{y1:g}" x2="{x2:g}" y2="{y2:g}" stroke="#555" '
            f'stroke-width="2" marker-end="url(#{marker})"/>')  # fmt: skip


def _text(x: float, y: float, text: str, size: int, weight: int = 400, fill: str = "#222") -> str:
    return (f'<text x="{x:g}" y="{y:g}" font-size="{size}" font-weight="{weight}" fill="{fill}" '
            f'text-anchor="middle" dominant-baseline="central">{escape(text)}</text>')  # fmt: skip


def _pill(x: float, y: float, text: str) -> str:
    return (f'<rect x="{x - PILL_W / 2:g}" y="{y - PILL_H / 2:g}" width="{PILL_W}" '
            f'height="{PILL_H}" rx="{PILL_H / 2:g}" fill="#333"/>'
            + _text(x, y, text, 16, 700, "#fff"))  # fmt: skip


def course_map(lang: str, columns: int = 3) -> str:
    """The map as an ``<svg>`` element in ``lang``, its chapters ``columns`` boxes wide."""
    rows = -(-len(CHAPTERS) // columns)
    width = CELL_W * columns
    legend_y = PILL_H + ARROW + CELL_H * (rows - 1) + BOX_H + ARROW + PILL_H + 12
    per_row = len(PHASES) if columns > 1 else 2  # legend entries side by side
    height = legend_y + LEGEND_H * -(-len(PHASES) // per_row)
    # Ids are unique per map: the page holds four, two of them hidden, and a marker inside a
    # hidden <svg> is not drawn for the others.
    marker = f"arrow-{lang}-{columns}"
    parts = [
        f'<defs><marker id="{marker}" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" '
        'markerHeight="7" orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z" fill="#555"/>'
        "</marker></defs>"
    ]
    centres = [_box_centre(i, columns) for i in range(len(CHAPTERS))]
    start, end = ENDS[lang]
    x0, y0 = centres[0]
    parts.append(_pill(x0, PILL_H / 2, start))
    parts.append(_arrow(x0, PILL_H, x0, y0 - BOX_H / 2 - 2, marker))
    for (xa, ya), (xb, yb) in zip(centres, centres[1:]):
        if ya == yb:  # same row: from side to side
            step = BOX_W / 2 if xb > xa else -BOX_W / 2
            parts.append(_arrow(xa + step, ya, xb - step - (2 if xb > xa else -2), yb, marker))
        else:  # down to the next row
            parts.append(_arrow(xa, ya + BOX_H / 2, xb, yb - BOX_H / 2 - 2, marker))
    for (number, phase, names), (x, y) in zip(CHAPTERS, centres):
        fill, edge, _ = PHASES[phase]
        title, built = names[lang]
        parts.append(
            f'<g class="chapter"><title>{escape(CHAPTER[lang].format(number))} {escape(title)}'
            f'</title><rect x="{x - BOX_W / 2:g}" y="{y - BOX_H / 2:g}" width="{BOX_W}" '
            f'height="{BOX_H}" rx="10" fill="{fill}" stroke="{edge}" stroke-width="2"/>'
            + _text(x, y - 22, CHAPTER[lang].format(number), 13, 700, edge)
            + _text(x, y + 1, title, 19, 700)
            + _text(x, y + 25, built, 13, 400, "#444")
            + "</g>"
        )
    xn, yn = centres[-1]
    end_y = yn + BOX_H / 2 + ARROW + PILL_H / 2
    parts.append(_arrow(xn, yn + BOX_H / 2, xn, end_y - PILL_H / 2 - 2, marker))
    parts.append(_pill(xn, end_y, end))
    slot = width / per_row
    for i, (fill, edge, name) in enumerate(PHASES):
        x, y = slot * (i % per_row) + 12, legend_y + LEGEND_H * (i // per_row)
        parts.append(
            f'<rect x="{x:g}" y="{y + 6:g}" width="16" height="16" rx="3" '
            f'fill="{fill}" stroke="{edge}" stroke-width="2"/>'
            + f'<text x="{x + 22:g}" y="{y + 14:g}" font-size="14" fill="#333" '
            f'dominant-baseline="central">{escape(name[lang])}</text>'
        )
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" class="course-map course-map-{columns}" '
        f'viewBox="0 0 {width} {height:g}" role="img" lang="{lang}" '
        f'aria-label="{escape(TITLE[lang])}"><title>{escape(TITLE[lang])}</title>'
        + "".join(parts)
        + "</svg>"
    )


def course_map_figure(lang: str) -> str:
    """The map for the landing page: the wide and the phone layout (CSS shows one of them)."""
    return f'<figure class="course-map">{course_map(lang, 3)}{course_map(lang, 1)}</figure>'


if __name__ == "__main__":
    out = Path(sys.argv[1] if len(sys.argv) > 1 else ".")
    for lang in ("ko", "en"):
        (out / f"course-map-{lang}.svg").write_text(course_map(lang), encoding="utf-8")
