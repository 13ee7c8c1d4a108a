"""Weight quantization from scratch: store a matrix in 8 or 4 bits and compute with it in float.

Two schemes, both "absmax" (the largest absolute value of a group sets the group's scale):

- **int8, per output row.** ``scale = max|w_row| / 127`` and ``q = round(w / scale)`` in
  ``[-127, 127]``; ``w ≈ q * scale``. Rounding moves a value by at most half a step, so
  ``|w - dequantize(quantize(w))| <= scale / 2`` in every row (:func:`int8_error_bound`).
- **NF4 (4-bit NormalFloat), per block of ``block_size`` numbers** (Dettmers et al., 2023,
  "QLoRA: Efficient Finetuning of Quantized LLMs"). Trained weights look roughly normally
  distributed, so the 16 levels are placed at quantiles of the standard normal distribution
  (:data:`NF4_LEVELS`, computed below), scaled to [-1, 1]; each block is divided by its absmax and
  every number replaced by the index (0..15) of its nearest level. The error is at most half the
  widest gap between neighbouring levels times the block's absmax (:func:`nf4_error_bound`).
  With :data:`UNIFORM4_LEVELS` (evenly spaced, plain 4-bit integers) instead, the same code shows
  what the normal-shaped levels gain: bell-shaped weights get smaller errors on average.

:class:`QuantLinear` keeps a linear layer's weight quantized (as buffers, frozen) and dequantizes
it in ``forward``; :func:`quantize_model` swaps a model's linear layers for it and
:func:`model_bytes` counts what is really stored. Storage only: the arithmetic still runs in float
(real kernels such as ``bitsandbytes`` fuse the dequantization into the matrix product on the GPU).
"""

from __future__ import annotations

import math
from collections.abc import Iterable

import torch
from torch import nn
from torch.nn import functional as F

from llmbook.lora import TARGETS, replace_linears


def _check_weight(w: torch.Tensor, name: str = "w") -> None:
    if not isinstance(w, torch.Tensor):
        raise TypeError(f"{name} must be a torch tensor, got {type(w).__name__}")
    if not w.is_floating_point():
        raise TypeError(f"{name} must hold floating-point numbers, got dtype {w.dtype}")
    if w.numel() == 0:
        raise ValueError(f"{name} is empty: nothing to quantize")


# --- int8 -------------------------------------------------------------------------------------


def quantize_int8(w: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Absmax int8 quantization along the last dimension (per output row of a ``(out, in)``
    weight): returns ``q`` (``int8``, ``w``'s shape) and ``scale`` (float32, shape ``(..., 1)``)
    with ``w ≈ q * scale``. A row of zeros gets scale 0 and codes 0 (no division by zero)."""
    _check_weight(w)
    w = w.detach().float()
    scale = w.abs().amax(dim=-1, keepdim=True) / 127
    safe = torch.where(scale > 0, scale, torch.ones_like(scale))
    q = torch.round(w / safe).clamp_(-127, 127).to(torch.int8)
    return q, scale


def dequantize_int8(q: torch.Tensor, scale: torch.Tensor) -> torch.Tensor:
    """``q * scale`` in float32: the matrix :func:`quantize_int8` approximated."""
    if not isinstance(q, torch.Tensor) or q.dtype != torch.int8:
        raise TypeError(f"q must be an int8 tensor from quantize_int8, got {getattr(q, 'dtype', type(q))}")
    return q.float() * scale


def int8_error_bound(scale: torch.Tensor) -> torch.Tensor:
    """The most a value of each row can move: half a quantization step, ``scale / 2``."""
    return scale / 2


# --- NF4 --------------------------------------------------------------------------------------


def _nf4_levels() -> torch.Tensor:
    """16 levels in [-1, 1]: 8 positive and 7 negative quantiles of N(0, 1) plus an exact zero
    (a zero weight stays zero), each side divided by its largest value so the ends are ±1.

    The quantiles are taken at probabilities evenly spaced from 1/2 to ``p_end`` (and mirrored).
    ``p_end`` cannot be 1 (the normal's quantile there is infinite); as in the QLoRA paper it is
    the mean of 1 - 1/(2·15) and 1 - 1/(2·16), the centres of the last of 15 and of 16 equal
    probability slices."""
    normal = torch.distributions.Normal(torch.tensor(0.0, dtype=torch.float64), 1.0)
    p_end = ((1 - 1 / 30) + (1 - 1 / 32)) / 2
    positive = normal.icdf(torch.linspace(0.5, p_end, 9, dtype=torch.float64)[1:])  # 8 values > 0
    negative = normal.icdf(torch.linspace(0.5, p_end, 8, dtype=torch.float64)[1:])  # 7 values > 0
    levels = torch.cat([-negative / negative.max(), torch.zeros(1, dtype=torch.float64),
                        positive / positive.max()])  # fmt: skip
    return levels.sort().values.float()


NF4_LEVELS: torch.Tensor = _nf4_levels()  # 16 sorted levels, NF4_LEVELS[0] = -1, [15] = 1
# For comparison: plain 4-bit integers -7..7 over 7 (absmax int4), 15 evenly spaced levels
UNIFORM4_LEVELS: torch.Tensor = torch.arange(-7, 8, dtype=torch.float32) / 7


def max_half_gap(levels: torch.Tensor = NF4_LEVELS) -> float:
    """Half the widest gap between neighbouring levels: the worst rounding error, per unit of
    absmax."""
    return float((levels[1:] - levels[:-1]).max() / 2)


NF4_MAX_HALF_GAP: float = max_half_gap(NF4_LEVELS)


def _check_levels(levels: torch.Tensor) -> torch.Tensor:
    ok = (isinstance(levels, torch.Tensor) and levels.dim() == 1 and 2 <= levels.numel() <= 16
          and bool(torch.all(levels[1:] > levels[:-1])) and float(levels.abs().max()) == 1.0)  # fmt: skip
    if not ok:
        raise ValueError("levels must be a 1-D tensor of 2 to 16 increasing values in [-1, 1] "
                         "reaching -1 or 1 (like NF4_LEVELS)")  # fmt: skip
    return levels.float()


def pack_4bit(codes: torch.Tensor) -> torch.Tensor:
    """Codes 0..15 (a 1-D tensor) two per byte: ``byte = first * 16 + second`` (``uint8``,
    ``ceil(n / 2)`` bytes; an odd count is padded with a 0 code)."""
    codes = codes.to(torch.uint8).flatten()
    if codes.numel() % 2:
        codes = torch.cat([codes, codes.new_zeros(1)])
    return codes[0::2] * 16 + codes[1::2]


def unpack_4bit(packed: torch.Tensor, n: int) -> torch.Tensor:
    """The first ``n`` codes (``uint8``, 0..15) stored by :func:`pack_4bit`."""
    return torch.stack([packed // 16, packed % 16], dim=-1).flatten()[:n]


def _check_block_size(block_size: int) -> None:
    if not isinstance(block_size, int) or isinstance(block_size, bool) or block_size < 1:
        raise ValueError(f"block_size must be a whole number >= 1, got {block_size!r}")


def quantize_nf4(w: torch.Tensor, block_size: int = 64,
                 levels: torch.Tensor = NF4_LEVELS) -> tuple[torch.Tensor, torch.Tensor]:  # fmt: skip
    """4-bit NormalFloat quantization of ``w`` (any shape, read in row-major order) in blocks of
    ``block_size`` numbers. Returns ``codes``: the 4-bit level indices packed two per byte
    (``uint8``, ``ceil(numel / 2)`` bytes — see :func:`unpack_4bit`) and ``absmax``: each block's
    largest absolute value (float32, ``ceil(numel / block_size)`` numbers). The last block is
    padded with zeros. Other ``levels`` (e.g. :data:`UNIFORM4_LEVELS`) give other 4-bit codes."""
    _check_weight(w)
    _check_block_size(block_size)
    levels = _check_levels(levels)
    flat = w.detach().float().flatten()
    n_blocks = math.ceil(flat.numel() / block_size)
    blocks = F.pad(flat, (0, n_blocks * block_size - flat.numel())).view(n_blocks, block_size)
    absmax = blocks.abs().amax(dim=1)
    safe = torch.where(absmax > 0, absmax, torch.ones_like(absmax))
    levels = levels.to(flat.device)
    # the nearest level: count how many midpoints between neighbouring levels lie below the value
    codes = torch.bucketize(blocks / safe[:, None], (levels[1:] + levels[:-1]) / 2)
    return pack_4bit(codes.flatten()[: flat.numel()]), absmax


def dequantize_nf4(codes: torch.Tensor, absmax: torch.Tensor, shape: Iterable[int],
                   block_size: int = 64, levels: torch.Tensor = NF4_LEVELS) -> torch.Tensor:  # fmt: skip
    """The float32 tensor of ``shape`` that :func:`quantize_nf4` approximated: each number is
    ``levels[code]`` times the absmax of its block."""
    _check_block_size(block_size)
    levels = _check_levels(levels)
    shape = torch.Size(shape)
    n = shape.numel()
    if not isinstance(codes, torch.Tensor) or codes.dtype != torch.uint8 or codes.numel() != (n + 1) // 2:
        raise ValueError(f"codes must be the uint8 tensor of {(n + 1) // 2} packed bytes that "
                         f"quantize_nf4 returns for shape {tuple(shape)}")  # fmt: skip
    if absmax.numel() != math.ceil(n / block_size):
        raise ValueError(f"absmax must hold one number per block: {math.ceil(n / block_size)} "
                         f"blocks of {block_size} for shape {tuple(shape)}, got {absmax.numel()}")  # fmt: skip
    values = levels.to(codes.device)[unpack_4bit(codes, n).long()]
    scale = absmax.float().flatten().repeat_interleave(block_size)[:n]
    return (values * scale).view(shape)


def nf4_error_bound(absmax: torch.Tensor, levels: torch.Tensor = NF4_LEVELS) -> torch.Tensor:
    """The most a value of each block can move: half the widest gap between neighbouring levels
    (:func:`max_half_gap`), times the block's absmax."""
    return max_half_gap(levels) * absmax


# --- a quantized linear layer -----------------------------------------------------------------


class QuantLinear(nn.Module):
    """A frozen linear layer whose weight is stored in int8 (``bits=8``, per-row scales) or NF4
    (``bits=4``, packed codes and per-block absmax) and dequantized to float32 in ``forward``.
    The bias, if any, stays a frozen float parameter."""

    def __init__(self, linear: nn.Linear, bits: int = 8, block_size: int = 64):
        super().__init__()
        if not isinstance(linear, nn.Linear):
            raise TypeError(f"QuantLinear quantizes an nn.Linear, got {type(linear).__name__}")
        if bits not in (8, 4):
            raise ValueError(f"bits must be 8 (int8) or 4 (NF4), got {bits!r}")
        _check_block_size(block_size)
        self.in_features, self.out_features = linear.in_features, linear.out_features
        self.bits, self.block_size = bits, block_size
        w = linear.weight.detach()
        if bits == 8:
            q, scale = quantize_int8(w)
        else:
            q, scale = quantize_nf4(w, block_size)
        self.register_buffer("qweight", q)
        self.register_buffer("scale", scale)
        self.bias = None
        if linear.bias is not None:
            self.bias = nn.Parameter(linear.bias.detach().float().clone(), requires_grad=False)

    def dequantized_weight(self) -> torch.Tensor:
        """The ``(out, in)`` float32 weight this layer computes with."""
        if self.bits == 8:
            return dequantize_int8(self.qweight, self.scale)
        shape = (self.out_features, self.in_features)
        return dequantize_nf4(self.qweight, self.scale, shape, self.block_size)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.linear(x, self.dequantized_weight().to(x.dtype),
                        None if self.bias is None else self.bias.to(x.dtype))  # fmt: skip

    def extra_repr(self) -> str:
        kind = "int8, per-row scale" if self.bits == 8 else f"NF4, blocks of {self.block_size}"
        return f"in_features={self.in_features}, out_features={self.out_features}, {kind}"


def quantize_model(model: nn.Module, bits: int = 8, targets: str | Iterable[str] = TARGETS,
                   block_size: int = 64) -> nn.Module:  # fmt: skip
    """Replace, in place, the ``nn.Linear`` layers named by ``targets`` (by default every block's
    attention and MLP layers) with :class:`QuantLinear`; returns ``model``. Other parameters
    (embeddings, LayerNorms) are left as they are."""
    if bits not in (8, 4):
        raise ValueError(f"bits must be 8 (int8) or 4 (NF4), got {bits!r}")
    _check_block_size(block_size)
    replace_linears(model, targets, lambda m: QuantLinear(m, bits, block_size)
                    if isinstance(m, nn.Linear) else m)  # fmt: skip
    return model


def model_bytes(model: nn.Module) -> int:
    """Bytes the model's tensors occupy: every parameter once (a tied matrix once) plus every
    buffer — for a :class:`QuantLinear`, the int8 codes or the packed 4-bit codes (two per byte)
    and the float32 scales, exactly as stored."""
    if not isinstance(model, nn.Module):
        raise TypeError(f"model must be a torch.nn.Module, got {type(model).__name__}")
    tensors = {id(t): t for t in (*model.parameters(), *model.buffers())}
    return sum(t.numel() * t.element_size() for t in tensors.values())
