"""LoRA (low-rank adaptation) from scratch: fine-tune a big frozen matrix through a small update.

A linear layer ``y = x W^T + b`` with ``W`` of shape ``(out, in)`` is left frozen; next to it we
train two thin matrices ``A`` ``(r, in)`` and ``B`` ``(out, r)`` with a small rank ``r``, so that
the layer computes ``x W^T + b + (alpha / r) * x A^T B^T`` — the weight ``W + (alpha / r) B A``.
``B`` starts at zero, so a fresh adapter changes nothing, and only ``r * (in + out)`` numbers are
trained instead of ``in * out`` (Hu et al., 2021, "LoRA: Low-Rank Adaptation of Large Language
Models"). After training, :meth:`LoRALinear.merged` folds the update into one ordinary
``nn.Linear``, so the fine-tuned model runs exactly as fast as the base model.

- :class:`LoRALinear` wraps one linear layer (an ``nn.Linear`` or a quantized
  :class:`llmbook.quantize.QuantLinear`: LoRA on a quantized base is QLoRA's idea).
- :func:`add_lora` wraps the chosen layers of a model and freezes everything else;
  :func:`merge_lora` folds every adapter back; :func:`count_parameters` counts (trainable, total).
- :func:`replace_linears` is the module-swapping tool both this module and
  :func:`llmbook.quantize.quantize_model` use.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable

import torch
from torch import nn

# The linear layers of llmbook.gpt.GPT's blocks: attention's fused query/key/value projection and
# output projection, the feed-forward network's two layers. (The output head is tied to the
# token embedding and is left alone.)
TARGETS: tuple[str, ...] = ("attn.qkv", "attn.proj", "mlp.fc", "mlp.proj")


def is_linear(module: nn.Module) -> bool:
    """An ``nn.Linear``, or a quantized linear layer: a module with ``in_features``,
    ``out_features`` and a ``dequantized_weight()`` method (:class:`~llmbook.quantize.QuantLinear`)."""
    return isinstance(module, nn.Linear) or (
        hasattr(module, "dequantized_weight") and hasattr(module, "in_features")
    )


def linear_weight(module: nn.Module) -> torch.Tensor:
    """The ``(out, in)`` weight of a linear layer as a float tensor (dequantized if quantized)."""
    if isinstance(module, nn.Linear):
        return module.weight
    return module.dequantized_weight()


def _check_targets(targets: str | Iterable[str]) -> tuple[str, ...]:
    targets = (targets,) if isinstance(targets, str) else tuple(targets)
    if not targets or not all(isinstance(t, str) and t for t in targets):
        raise ValueError(f"targets must be layer names like {TARGETS}, got {targets!r}")
    return targets


def _matches(name: str, targets: tuple[str, ...]) -> bool:
    """``blocks.0.attn.qkv`` matches the target ``attn.qkv`` (whole dotted parts at the end)."""
    return any(name == t or name.endswith("." + t) for t in targets)


def replace_linears(model: nn.Module, targets: str | Iterable[str],
                    make: Callable[[nn.Module], nn.Module]) -> list[str]:  # fmt: skip
    """Replace, in place, every linear layer whose qualified name ends with one of ``targets``
    by ``make(layer)``; return the names replaced. Raises ``ValueError`` if none matches."""
    targets = _check_targets(targets)
    if not isinstance(model, nn.Module):
        raise TypeError(f"model must be a torch.nn.Module, got {type(model).__name__}")
    chosen = [(name, m) for name, m in model.named_modules() if is_linear(m) and _matches(name, targets)]
    if not chosen:
        linears = [name for name, m in model.named_modules() if isinstance(m, nn.Linear)]
        raise ValueError(f"no linear layer of the model matches targets {targets}; its nn.Linear "
                         f"layers are {linears[:8]}{'...' if len(linears) > 8 else ''}")  # fmt: skip
    for name, module in chosen:
        parent_name, _, child = name.rpartition(".")
        parent = model.get_submodule(parent_name) if parent_name else model
        setattr(parent, child, make(module))
    return [name for name, _ in chosen]


def _check_rank(r: int, alpha: float) -> None:
    if not isinstance(r, int) or isinstance(r, bool) or r < 1:
        raise ValueError(f"the rank r must be a whole number >= 1, got {r!r}")
    if isinstance(alpha, bool) or not isinstance(alpha, (int, float)) or not alpha > 0:
        raise ValueError(f"alpha must be a positive number, got {alpha!r}")


class LoRALinear(nn.Module):
    """A frozen linear layer plus a trainable low-rank update:
    ``forward(x) = base(x) + (x @ A.T @ B.T) * alpha / r``.

    ``A`` ``(r, in)`` starts small and random, ``B`` ``(out, r)`` starts at zero, so the wrapped
    layer first computes exactly what ``base`` computes. ``base`` is an ``nn.Linear`` or a
    :class:`~llmbook.quantize.QuantLinear`; its parameters are frozen (``requires_grad=False``).
    """

    def __init__(self, base: nn.Module, r: int = 8, alpha: float = 16.0):
        super().__init__()
        if isinstance(base, LoRALinear) or not is_linear(base):
            raise TypeError(f"LoRALinear wraps an nn.Linear or a QuantLinear, got {type(base).__name__}")
        _check_rank(r, alpha)
        self.base = base
        for p in base.parameters():
            p.requires_grad_(False)
        self.r, self.alpha = r, float(alpha)
        self.in_features, self.out_features = base.in_features, base.out_features
        ref = linear_weight(base)
        kw = {"device": ref.device, "dtype": ref.dtype}
        # A ~ N(0, 1/in): x @ A.T keeps the size of x's entries; B = 0: no change at the start
        self.A = nn.Parameter(torch.randn(r, self.in_features, **kw) / math.sqrt(self.in_features))
        self.B = nn.Parameter(torch.zeros(self.out_features, r, **kw))

    @property
    def scaling(self) -> float:
        """``alpha / r``: the update's weight, so changing ``r`` does not change its size."""
        return self.alpha / self.r

    def delta_weight(self) -> torch.Tensor:
        """The update to the weight, ``(alpha / r) * B @ A``, shape ``(out, in)``, rank <= r."""
        return self.scaling * (self.B @ self.A)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.base(x) + (x @ self.A.T @ self.B.T) * self.scaling

    @torch.no_grad()
    def merged(self) -> nn.Linear:
        """One ordinary ``nn.Linear`` with weight ``W + (alpha / r) B A`` (``W`` dequantized if the
        base is quantized) and the base's bias; frozen, like the base it replaces."""
        weight = linear_weight(self.base)
        bias = self.base.bias
        out = nn.Linear(self.in_features, self.out_features, bias=bias is not None,
                        device=weight.device, dtype=weight.dtype)  # fmt: skip
        out.weight.copy_(weight + self.delta_weight().to(weight.dtype))
        if bias is not None:
            out.bias.copy_(bias)
        out.requires_grad_(False)
        return out

    def extra_repr(self) -> str:
        return f"r={self.r}, alpha={self.alpha:g}"


def add_lora(model: nn.Module, r: int = 8, alpha: float = 16.0,
             targets: str | Iterable[str] = TARGETS) -> nn.Module:  # fmt: skip
    """Freeze every parameter of ``model`` and wrap the linear layers named by ``targets`` (by
    default attention's ``qkv``/``proj`` and the MLP's ``fc``/``proj`` of every block) in
    :class:`LoRALinear`. Changes ``model`` in place and returns it; afterwards only the adapters'
    ``A`` and ``B`` have ``requires_grad=True``."""
    if not isinstance(model, nn.Module):
        raise TypeError(f"model must be a torch.nn.Module, got {type(model).__name__}")
    _check_rank(r, alpha)  # before changing the model
    for p in model.parameters():
        p.requires_grad_(False)
    replace_linears(model, targets, lambda m: LoRALinear(m, r, alpha))
    return model


def merge_lora(model: nn.Module) -> nn.Module:
    """Replace, in place, every :class:`LoRALinear` by its :meth:`~LoRALinear.merged` linear layer;
    returns ``model``, which then computes the same outputs without adapters."""
    names = [name for name, m in model.named_modules() if isinstance(m, LoRALinear)]
    if not names:
        raise ValueError("the model has no LoRALinear layers: nothing to merge (use add_lora first)")
    for name in names:
        parent_name, _, child = name.rpartition(".")
        parent = model.get_submodule(parent_name) if parent_name else model
        setattr(parent, child, getattr(parent, child).merged())
    return model


def count_parameters(model: nn.Module) -> tuple[int, int]:
    """``(trainable, total)`` parameter counts. A tied matrix counts once; the weights stored
    quantized inside a :class:`~llmbook.quantize.QuantLinear` count in the total (they are
    frozen parameters kept as buffers)."""
    if not isinstance(model, nn.Module):
        raise TypeError(f"model must be a torch.nn.Module, got {type(model).__name__}")
    params = list(model.parameters())  # each tensor once, even when shared
    trainable = sum(p.numel() for p in params if p.requires_grad)
    quantized = sum(m.in_features * m.out_features for m in model.modules()
                    if is_linear(m) and not isinstance(m, nn.Linear))  # fmt: skip
    return trainable, sum(p.numel() for p in params) + quantized
