"""Figures that render Korean: registers the Nanum Gothic font shipped by ``koreanize-matplotlib``.

We register the font files ourselves instead of importing ``koreanize_matplotlib``: that module
imports ``distutils``, which is gone from Python 3.12 (Colab's Python).
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

import matplotlib
from matplotlib import font_manager

FONT_FAMILY = "NanumGothic"
LATIN_FAMILY = "DejaVu Sans"  # matplotlib's own font: Latin letters, digits, U+2212 and math


def korean_font_files() -> list[Path]:
    """The Nanum Gothic ``.ttf`` files that ship with ``koreanize-matplotlib`` (SIL OFL 1.1)."""
    spec = importlib.util.find_spec("koreanize_matplotlib")
    if spec is None or not spec.submodule_search_locations:
        return []
    fonts = Path(next(iter(spec.submodule_search_locations))) / "fonts"
    return sorted(fonts.glob("*.ttf"))


def use_korean_font() -> bool:
    """Make matplotlib draw Hangul (no tofu boxes). Returns False if no font could be found."""
    files = korean_font_files()
    for f in files:
        font_manager.fontManager.addfont(str(f))
    if not files:
        return False
    # DejaVu Sans first, Nanum Gothic for what it lacks (Hangul): matplotlib falls back glyph by
    # glyph. Nanum first would leave math text (log-axis ticks such as 10^-3) without a minus sign.
    matplotlib.rcParams["font.family"] = [LATIN_FAMILY, FONT_FAMILY]
    return True


def loss_curve(history, title: str = "", xlabel: str = "step", ylabel: str = "loss",
               train_label: str = "train", eval_label: str = "held-out"):  # fmt: skip
    """Training loss per step (smoothed) and held-out loss at each evaluation."""
    import matplotlib.pyplot as plt
    import numpy as np

    fig, ax = plt.subplots(figsize=(6.4, 3.6))
    loss = np.asarray(history.train_loss)
    window = max(1, len(loss) // 50)
    smooth = np.convolve(loss, np.ones(window) / window, mode="valid")
    ax.plot(np.asarray(history.steps[window - 1 :]) + 1, smooth, label=train_label)
    if history.eval_loss:
        ax.plot(history.eval_steps, history.eval_loss, "o-", label=eval_label)
    ax.set(title=title, xlabel=xlabel, ylabel=ylabel)
    ax.grid(alpha=0.3)
    ax.legend()
    fig.tight_layout()
    return fig


def flow_diagram(stages: list[str], notes: list[str] | None = None, title: str = ""):
    """Boxes joined by arrows, left to right: a pipeline such as pretraining -> fine-tuning."""
    import matplotlib.pyplot as plt
    from matplotlib.patches import FancyBboxPatch

    n = len(stages)
    fig, ax = plt.subplots(figsize=(2.6 * n, 2.4))
    colors = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    for i, stage in enumerate(stages):
        box = FancyBboxPatch((i * 3, 0), 2.2, 1.2, boxstyle="round,pad=0.1",
                             facecolor=colors[i % len(colors)], alpha=0.25)  # fmt: skip
        ax.add_patch(box)
        ax.text(i * 3 + 1.1, 0.6, stage, ha="center", va="center", fontsize=12, weight="bold")
        if notes:
            ax.text(i * 3 + 1.1, -0.45, notes[i], ha="center", va="top", fontsize=9, wrap=True)
        if i < n - 1:
            ax.annotate("", xy=(i * 3 + 2.95, 0.6), xytext=(i * 3 + 2.35, 0.6),
                        arrowprops={"arrowstyle": "->", "lw": 2})  # fmt: skip
    ax.set_xlim(-0.3, 3 * n - 0.5)
    ax.set_ylim(-1.6, 1.5)
    ax.axis("off")
    if title:
        ax.set_title(title)
    fig.tight_layout()
    return fig


def probability_bars(panels: dict[str, tuple[list[str], list[float]]], ylabel: str = ""):
    """One bar chart per panel title: ``{title: (labels, probabilities)}``, side by side."""
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, len(panels), figsize=(3.4 * len(panels), 3.0), sharey=True,
                             squeeze=False)  # fmt: skip
    for ax, (title, (labels, probs)) in zip(axes[0], panels.items(), strict=True):
        ax.bar(range(len(probs)), probs)
        ax.set_xticks(range(len(labels)), [repr(s)[1:-1] for s in labels])
        ax.set_title(title)
        ax.grid(axis="y", alpha=0.3)
    axes[0][0].set_ylabel(ylabel)
    fig.tight_layout()
    return fig


def mask_panels(masks: dict[str, object], xlabel: str = "", ylabel: str = ""):
    """Attention masks side by side (1 = may look, 0 = may not): ``{title: 2-D array}``."""
    import matplotlib.pyplot as plt
    import numpy as np

    fig, axes = plt.subplots(1, len(masks), figsize=(3.2 * len(masks), 3.2), squeeze=False)
    for ax, (title, mask) in zip(axes[0], masks.items(), strict=True):
        ax.imshow(np.asarray(mask, dtype=float), cmap="Blues", vmin=0, vmax=1.3)
        ax.set(title=title, xlabel=xlabel, ylabel=ylabel, xticks=[], yticks=[])
    fig.tight_layout()
    return fig
