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
    matplotlib.rcParams["font.family"] = FONT_FAMILY
    matplotlib.rcParams["axes.unicode_minus"] = False  # Nanum has no U+2212 minus sign
    return True
