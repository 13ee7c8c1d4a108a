"""The compute budget of pretraining: FLOPs, tokens and wall-clock time.

Training a transformer of N parameters on D tokens costs about ``6 * N * D`` floating-point
operations: 2 per parameter per token for the forward pass (one multiply, one add) and about twice
that for the backward pass. The Chinchilla study (Hoffmann et al., 2022) found that, for a fixed
compute budget, loss is lowest with roughly 20 training tokens per parameter. With a machine's
throughput (peak FLOP/s times the fraction a real training run achieves, or a measured token rate)
this turns into hours, days or years. :data:`REFERENCE_MODELS` holds published sizes to compare.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

FLOPS_PER_PARAM_TOKEN = 6  # forward 2, backward 4: training FLOPs ~= 6 * N * D
CHINCHILLA_TOKENS_PER_PARAM = 20
# An H100 SXM's dense bf16 tensor-core peak (NVIDIA's data sheet gives twice that with 2:4
# sparsity, which training does not use) and a utilisation (model FLOPs utilisation, MFU) that
# well-tuned large training runs report: 30-50 %.
H100_PEAK_FLOPS = 989e12
TYPICAL_UTILISATION = 0.4


def _positive(name: str, value) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise TypeError(f"{name} must be a number, got {type(value).__name__}")
    if not math.isfinite(value) or value <= 0:
        raise ValueError(f"{name} must be a positive number, got {value!r}")
    return float(value)


def training_flops(n_params: float, n_tokens: float) -> float:
    """About ``6 * n_params * n_tokens``: the floating-point operations to train on the tokens once
    (attention's own FLOPs, small next to the matrices' unless the context is very long, left out)."""
    return FLOPS_PER_PARAM_TOKEN * _positive("n_params", n_params) * _positive("n_tokens", n_tokens)


def chinchilla_tokens(n_params: float, tokens_per_param: float = CHINCHILLA_TOKENS_PER_PARAM) -> float:
    """Compute-optimal number of training tokens for a model of ``n_params`` parameters
    (Chinchilla rule of thumb: about 20 tokens per parameter)."""
    return _positive("n_params", n_params) * _positive("tokens_per_param", tokens_per_param)


def flops_per_second(n_params: float, tokens_per_second: float) -> float:
    """The training throughput in FLOP/s that a measured speed of ``tokens_per_second`` means for
    a model of ``n_params`` parameters (``6 * N`` FLOPs per token)."""
    return FLOPS_PER_PARAM_TOKEN * _positive("n_params", n_params) * _positive(
        "tokens_per_second", tokens_per_second)  # fmt: skip


def training_seconds(flops: float, peak_flops: float, utilisation: float = 1.0) -> float:
    """Wall-clock seconds to do ``flops`` on hardware with ``peak_flops`` FLOP/s of which a
    fraction ``utilisation`` (0 < u <= 1) is achieved. For a measured throughput pass it as
    ``peak_flops`` with ``utilisation=1``."""
    u = _positive("utilisation", utilisation)
    if u > 1:
        raise ValueError(f"utilisation is a fraction of the peak, at most 1, got {utilisation!r}")
    return _positive("flops", flops) / (_positive("peak_flops", peak_flops) * u)


_UNITS = {
    "en": (("years", 365.25 * 86400), ("days", 86400), ("h", 3600), ("min", 60), ("s", 1)),
    "ko": (("년", 365.25 * 86400), ("일", 86400), ("시간", 3600), ("분", 60), ("초", 1)),
}


def format_duration(seconds: float, lang: str = "en") -> str:
    """A duration in the largest unit that keeps it readable: '45 s', '12 min', '3.5 h',
    '2.1 days', '41 years' (``lang="ko"``: '45 초', '3.5 시간', '41 년')."""
    if lang not in _UNITS:
        raise ValueError(f"lang must be one of {sorted(_UNITS)}, got {lang!r}")
    s = _positive("seconds", seconds) if seconds != 0 else 0.0
    value, unit = s, _UNITS[lang][-1][0]
    for name, size in _UNITS[lang][:-1]:
        if s >= size:
            value, unit = s / size, name
            break
    return f"{value:,.0f} {unit}" if value >= 10 else f"{value:.1f} {unit}"


@dataclass(frozen=True)
class ReferenceModel:
    """A model's size and training tokens. ``tokens_published`` is False when the authors gave
    no token count and :func:`chinchilla_tokens` stands in for it."""

    name: str
    parameters: int
    tokens: float
    tokens_published: bool

    @property
    def flops(self) -> float:
        return training_flops(self.parameters, self.tokens)


# Published sizes. GPT-2 (Radford et al., 2019): parameter counts as our GPTConfig presets compute
# them (the paper rounds them to 117M and 1542M); the paper gives no token count. GPT-3 (Brown et
# al., 2020): 175 billion parameters, 300 billion training tokens. Chinchilla (Hoffmann et al.,
# 2022): 70 billion parameters, 1.4 trillion tokens.
REFERENCE_MODELS: tuple[ReferenceModel, ...] = (
    ReferenceModel("GPT-2 small", 124_439_808, chinchilla_tokens(124_439_808), False),
    ReferenceModel("GPT-2 XL", 1_557_611_200, chinchilla_tokens(1_557_611_200), False),
    ReferenceModel("GPT-3", 175_000_000_000, 300e9, True),
    ReferenceModel("Chinchilla", 70_000_000_000, 1.4e12, True),
)


def budget_table(models, peak_flops: float, utilisation: float = 1.0) -> list[dict]:
    """One row per model: name, parameters, tokens, training FLOPs and the wall-clock seconds
    they take at ``peak_flops * utilisation`` FLOP/s."""
    rows = []
    for m in models:
        if not isinstance(m, ReferenceModel):
            raise TypeError(f"budget_table takes ReferenceModel rows, got {type(m).__name__}")
        rows.append({"name": m.name, "parameters": m.parameters, "tokens": m.tokens,
                     "tokens_published": m.tokens_published, "flops": m.flops,
                     "seconds": training_seconds(m.flops, peak_flops, utilisation)})  # fmt: skip
    return rows
