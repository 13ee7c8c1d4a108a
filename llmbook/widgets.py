"""Interactive controls for the chapters (ipywidgets). In the static site a widget cannot call
Python, so each chapter shows a static figure of the same idea next to it."""

from __future__ import annotations

import torch

from llmbook.plotting import probability_bars


def temperature_explorer(logits: torch.Tensor, labels: list[str], title: str = "T = {t:.2f}",
                         ylabel: str = ""):  # fmt: skip
    """A slider for the sampling temperature and the next-token distribution it gives."""
    import ipywidgets as w
    import matplotlib.pyplot as plt

    logits = torch.as_tensor(logits, dtype=torch.float32)
    if logits.dim() != 1 or len(labels) != logits.numel():
        raise ValueError("temperature_explorer needs 1-D logits and one label per logit")
    slider = w.FloatLogSlider(value=1.0, base=10, min=-1, max=1, step=0.05, description="T")
    out = w.Output()

    def draw(_change=None) -> None:
        probs = torch.softmax(logits / slider.value, dim=-1).tolist()
        with out:
            out.clear_output(wait=True)
            probability_bars({title.format(t=slider.value): (labels, probs)}, ylabel)
            plt.show()

    slider.observe(draw, names="value")
    draw()
    return w.VBox([slider, out])
