"""Concept diagrams for the chapters: boxes, arrows, labels and small matrices, drawn from code.

A :class:`Diagram` is laid out in its own units (x to the right, y up), drawn by matplotlib and
shown as SVG with the letters as outlines: crisp at any zoom, and Korean labels need no font on
the reader's machine. Each topic module (``llmbook.diagrams.attention``, ...) builds its figures
from these pieces and takes ``lang`` ("ko" or "en") for its labels.
"""

from __future__ import annotations

import io
from collections.abc import Sequence

import matplotlib
from matplotlib.figure import Figure
from matplotlib.patches import FancyArrowPatch, FancyBboxPatch

from llmbook.plotting import use_korean_font

LANGS = ("ko", "en")
# Soft fills for kinds of things, the same in every diagram of the course.
COLORS = {
    "data": "#dbe9f6",  # tokens, tensors, text
    "layer": "#fde2c8",  # learned computation
    "op": "#e4f2dc",  # fixed computation (softmax, mask, add)
    "loss": "#f8d4d4",  # objectives and scores
    "note": "#f2f2f2",  # everything else
}


def pick(lang: str, ko: str, en: str) -> str:
    """The label in the page's language."""
    if lang not in LANGS:
        raise ValueError(f"lang must be 'ko' or 'en', got {lang!r}")
    return ko if lang == "ko" else en


class Diagram:
    """A schematic figure ``width`` x ``height`` units large (one unit is half an inch)."""

    def __init__(self, width: float, height: float, title: str = ""):
        use_korean_font()
        self.fig = Figure(figsize=(width / 2, height / 2))
        self.ax = self.fig.add_axes((0, 0, 1, 1))
        self.ax.set_xlim(0, width)
        self.ax.set_ylim(0, height)
        self.ax.axis("off")
        self.labels: list[str] = []  # every text drawn, for tests (the SVG holds outlines)
        if title:
            self.labels.append(title)
            self.ax.text(width / 2, height - 0.35, title, ha="center", va="top", fontsize=12,
                         weight="bold")  # fmt: skip

    def box(self, x: float, y: float, w: float, h: float, text: str = "", kind: str = "data",
            fontsize: float = 10, **style) -> tuple[float, float, float, float]:  # fmt: skip
        """A rounded box with its lower-left corner at (x, y); returns (x, y, w, h)."""
        self.ax.add_patch(FancyBboxPatch((x, y), w, h, boxstyle="round,pad=0,rounding_size=0.15",
                                         facecolor=COLORS.get(kind, kind), edgecolor="#555555",
                                         linewidth=1, **style))  # fmt: skip
        if text:
            self.labels.append(text)
            self.ax.text(x + w / 2, y + h / 2, text, ha="center", va="center", fontsize=fontsize)
        return (x, y, w, h)

    def arrow(self, start: tuple[float, float], end: tuple[float, float], text: str = "",
              curve: float = 0.0, style: str = "-|>", dashed: bool = False) -> None:  # fmt: skip
        """An arrow from ``start`` to ``end``, optionally bent (``curve``) and labelled."""
        self.ax.add_patch(FancyArrowPatch(start, end, arrowstyle=style, mutation_scale=12,
                                          connectionstyle=f"arc3,rad={curve}", color="#333333",
                                          linestyle="--" if dashed else "-", linewidth=1.2))  # fmt: skip
        if text:
            self.labels.append(text)
            mx, my = (start[0] + end[0]) / 2, (start[1] + end[1]) / 2
            self.ax.text(mx, my + 0.15, text, ha="center", va="bottom", fontsize=9,
                         color="#333333")  # fmt: skip

    def text(self, x: float, y: float, s: str, fontsize: float = 10, **style) -> None:
        """Free text centred at (x, y)."""
        self.labels.append(s)
        self.ax.text(x, y, s, ha=style.pop("ha", "center"), va=style.pop("va", "center"),
                     fontsize=fontsize, **style)  # fmt: skip

    def grid(self, x: float, y: float, values: Sequence[Sequence[float]], cell: float = 0.5,
             labels: Sequence[Sequence[str]] | None = None, cmap: str = "Blues",
             vmin: float = 0.0, vmax: float = 1.0) -> None:  # fmt: skip
        """A matrix of shaded cells, row 0 on top, its lower-left corner at (x, y)."""
        colormap = matplotlib.colormaps[cmap]
        rows = len(values)
        for i, row in enumerate(values):
            for j, v in enumerate(row):
                shade = (float(v) - vmin) / ((vmax - vmin) or 1.0)
                cx, cy = x + j * cell, y + (rows - 1 - i) * cell
                self.ax.add_patch(matplotlib.patches.Rectangle(
                    (cx, cy), cell, cell, facecolor=colormap(0.1 + 0.8 * shade),
                    edgecolor="white", linewidth=1))  # fmt: skip
                if labels is not None:
                    self.labels.append(labels[i][j])
                    self.ax.text(cx + cell / 2, cy + cell / 2, labels[i][j], ha="center",
                                 va="center", fontsize=8,
                                 color="white" if shade > 0.6 else "black")  # fmt: skip

    def svg(self) -> str:
        """The figure as an SVG document, letters drawn as outlines."""
        buf = io.StringIO()
        with matplotlib.rc_context({"svg.fonttype": "path", "svg.hashsalt": "llmbook"}):
            self.fig.savefig(buf, format="svg", metadata={"Date": None})
        return buf.getvalue()

    def _repr_svg_(self) -> str:
        return self.svg()
