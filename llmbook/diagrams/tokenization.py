"""Concept diagrams for chapter 3 (tokenization): the merge table growing while the sequence
shrinks, characters as UTF-8 byte pieces, and sliding windows whose targets are the inputs
shifted by one."""

from __future__ import annotations

from llmbook import bpe
from llmbook.diagrams import Diagram, pick


def _show(token: bytes) -> str:
    return token.decode("utf-8", "replace").replace(" ", "·")


def merge_table(lang: str = "en", text: str = "low lower lowest", n_merges: int = 4) -> Diagram:
    """BPE on a toy text, computed with :mod:`llmbook.bpe`: each row is the sequence after one
    more merge; the table on the right grows by one token per row."""
    vocab = {i: bytes([i]) for i in range(256)}
    ids = list(text.encode("utf-8"))
    rows, merges = [ids], []
    for step in range(n_merges):
        counts = bpe.count_pairs(ids)
        pair = min(counts, key=lambda p: (-counts[p], p))
        vocab[256 + step] = vocab[pair[0]] + vocab[pair[1]]
        ids = bpe.merge_pair(ids, pair, 256 + step)
        rows.append(ids)
        merges.append((pair, 256 + step, counts[pair]))
    cell, height = 0.78, 1.15
    width = 1.4 + len(rows[0]) * cell + 7.2
    d = Diagram(width, 2.2 + len(rows) * height, pick(lang, "BPE: 병합 하나마다 토큰 하나가 늘고 "
                                                     "시퀀스는 짧아집니다", "BPE: each merge adds a "
                                                     "token and shortens the sequence"))  # fmt: skip
    table_x = 1.6 + len(rows[0]) * cell + 0.4
    d.text(table_x, 0.75 + (len(rows) - 1) * height, pick(lang, "병합표 (새 id: 왼쪽 + 오른쪽)",
                                                           "merge table (new id: left + right)"),
           fontsize=10, weight="bold", ha="left")  # fmt: skip
    for r, seq in enumerate(rows):
        y = 0.4 + (len(rows) - 1 - r) * height
        d.text(0.7, y + 0.35, pick(lang, f"{len(seq)}개", f"{len(seq)} ids"), fontsize=8,
               color="#555555")  # fmt: skip
        x = 1.4
        for t in seq:
            w = cell * len(vocab[t])
            d.box(x + 0.03, y, w - 0.06, 0.7, _show(vocab[t]), kind="layer" if t >= 256 else "data",
                  fontsize=9)  # fmt: skip
            x += w
        if r:
            (a, b), new, count = merges[r - 1]
            d.text(table_x, y + 0.35, f"{new}: {_show(vocab[a])!r} + {_show(vocab[b])!r} -> "
                   f"{_show(vocab[new])!r}  (×{count})", fontsize=9, ha="left")  # fmt: skip
    return d


def byte_pieces(lang: str = "en") -> Diagram:
    """Characters and their UTF-8 bytes: a Latin letter is one byte, a Hangul syllable three;
    byte-level BPE starts from these 256 values, so nothing is unknown."""
    chars = ["a", "é", pick(lang, "한", "€"), "😀"]  # a Hangul syllable is three bytes, like €
    d = Diagram(15, 6.2, pick(lang, "문자와 UTF-8 바이트: 바이트 수준 BPE의 출발점", "Characters and "
                              "their UTF-8 bytes: where byte-level BPE starts"))  # fmt: skip
    d.text(1.0, 4.15, pick(lang, "문자", "character"), fontsize=9)
    d.text(1.0, 2.05, pick(lang, "바이트", "bytes"), fontsize=9)
    x = 2.2
    for ch in chars:
        raw = ch.encode("utf-8")
        w = 0.95 * len(raw)
        label = ch if ch != "😀" else pick(lang, "이모지", "emoji")
        d.box(x, 3.7, w - 0.1, 0.9, label, kind="note", fontsize=12)
        for k, b in enumerate(raw):
            d.box(x + k * 0.95, 1.6, 0.85, 0.9, f"{b:02X}", kind="data", fontsize=9)
        d.arrow((x + (w - 0.1) / 2, 3.7), (x + (w - 0.1) / 2, 2.55))
        d.text(x + (w - 0.1) / 2, 1.2, pick(lang, f"{len(raw)}바이트", f"{len(raw)} byte"
                                            + ("s" if len(raw) > 1 else "")), fontsize=8)  # fmt: skip
        x += w + 0.6
    d.text(7.5, 0.45, pick(lang, "어떤 텍스트든 0~255의 바이트 256개로 쓸 수 있습니다: 모르는 토큰이 없습니다",
                           "every Hangul syllable takes 3 bytes, like €; any text is written with "
                           "the 256 byte values: no unknown token"),
           fontsize=9)  # fmt: skip
    return d


def sliding_window(lang: str = "en", n: int = 12, context_length: int = 4, stride: int = 4) -> Diagram:
    """Windows over one long token sequence: each input is ``context_length`` ids, its target the
    same ids shifted one to the right; the next window starts ``stride`` ids later."""
    cell = 0.9
    d = Diagram(2.6 + n * cell + 0.6, 8.4, pick(lang, f"슬라이딩 윈도 (context_length={context_length}"
                                                f", stride={stride})", f"Sliding windows "
                                                f"(context_length={context_length}, stride={stride})"))  # fmt: skip
    x0 = 2.6
    d.text(1.3, 6.45, pick(lang, "토큰 id", "token ids"), fontsize=9)
    for i in range(n):
        d.box(x0 + i * cell + 0.04, 6.1, cell - 0.08, 0.7, f"t{i}", kind="note", fontsize=9)
    for w, start in enumerate(range(0, n - context_length, stride)[:2]):
        y = 4.4 - w * 2.4
        d.text(1.3, y + 0.35, pick(lang, f"윈도 {w} 입력", f"window {w} input"), fontsize=9)
        d.text(1.3, y - 0.5, pick(lang, "정답", "target"), fontsize=9)
        for k in range(context_length):
            d.box(x0 + (start + k) * cell + 0.04, y, cell - 0.08, 0.7, f"t{start + k}", kind="data",
                  fontsize=9)  # fmt: skip
            d.box(x0 + (start + k + 1) * cell + 0.04, y - 0.85, cell - 0.08, 0.7, f"t{start + k + 1}",
                  kind="loss", fontsize=9)  # fmt: skip
            d.arrow((x0 + (start + k) * cell + cell / 2, y),
                    (x0 + (start + k + 1) * cell + cell / 2, y - 0.15))  # fmt: skip
    d.text(x0 + n * cell / 2, 0.35, pick(lang, "정답 = 입력을 한 칸 오른쪽으로 민 것: 위치마다 다음 토큰을 맞힙니다",
                                         "target = input shifted one to the right: each position "
                                         "predicts the next token"), fontsize=9)  # fmt: skip
    return d
