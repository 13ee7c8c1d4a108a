"""How much memory fine-tuning needs: weights, gradients and optimizer states, counted in bytes.

Training keeps, for every parameter, its value (the weights) and, for every *trainable*
parameter, a gradient and the optimizer's running statistics — AdamW keeps two float32 numbers
(the first and second moments), 8 bytes. Mixed-precision training computes in 16 bits but keeps
a float32 "master" copy of the trainable weights for the update (4 more bytes). So full
fine-tuning with AdamW costs 4 + 4 + 8 = 16 bytes per parameter in fp32, and also
2 + 2 + 4 + 8 = 16 in bf16 with master weights; LoRA trains ~1% of the parameters, so the frozen
weights dominate; QLoRA stores those in 4 bits.

Not counted: activations (they grow with batch size and sequence length and can be traded for
compute by recomputing them), temporary buffers and the framework's own overhead.
"""

from __future__ import annotations

from llmbook.gpt import GPTConfig

BYTES_PER_VALUE: dict[str, float] = {
    "fp32": 4, "fp16": 2, "bf16": 2, "int8": 1,
    # as llmbook.quantize stores it: a 4-bit code per number and one float32 absmax per block of 64
    # (QLoRA quantizes the absmax values too, "double quantization", bringing 4.5 bits to ~4.13)
    "nf4": 0.5 + 4 / 64,
}  # fmt: skip
TRAINABLE_DTYPES = ("fp32", "fp16", "bf16")  # quantized weights cannot take gradient steps
OPTIMIZER_STATE_BYTES: dict[str, int] = {
    "adamw": 8,  # two float32 moments per trainable parameter
    "sgd_momentum": 4,  # one float32 velocity
    "sgd": 0,
}


def llama_parameters(vocab: int, dim: int, n_layer: int, hidden: int) -> int:
    """Parameters of a LLaMA-style decoder: untied input and output embeddings, per layer four
    ``dim x dim`` attention projections, a gated MLP of three ``dim x hidden`` matrices and two
    RMSNorm weight vectors, no biases, a final RMSNorm."""
    layer = 4 * dim * dim + 3 * dim * hidden + 2 * dim
    return 2 * vocab * dim + n_layer * layer + dim


# Parameter counts of well-known model sizes, from their published shapes.
MODEL_SIZES: dict[str, int] = {
    "GPT-2 small (124M)": GPTConfig.preset("gpt2-124m").num_parameters(),  # 124,439,808
    "GPT-2 medium (350M)": GPTConfig.preset("gpt2-355m").num_parameters(),  # 354,823,168
    # GPT-3 XL (Brown et al., 2020): 24 layers of width 2048, GPT-2's vocabulary, context 2048
    "GPT-3 XL (1.3B)": GPTConfig(vocab_size=50257, context_length=2048, n_layer=24, n_head=16,
                                 n_embd=2048).num_parameters(),  # 1,315,723,264
    # LLaMA-7B (Touvron et al., 2023): vocabulary 32,000, width 4096, 32 layers, MLP width 11,008
    "LLaMA-7B (6.7B)": llama_parameters(32000, 4096, 32, 11008),  # 6,738,415,616
}


def _bytes_of(dtype: str, what: str) -> float:
    if dtype not in BYTES_PER_VALUE:
        raise ValueError(f"{what} must be one of {sorted(BYTES_PER_VALUE)}, got {dtype!r}")
    return BYTES_PER_VALUE[dtype]


def training_memory(n_params: int, weights: str = "fp32", optimizer: str = "adamw",
                    trainable_fraction: float = 1.0, trainable_dtype: str | None = None,
                    master_weights: bool = False) -> dict[str, int]:  # fmt: skip
    """Bytes needed to fine-tune a model of ``n_params`` parameters (activations not counted).

    - ``weights``: how the frozen weights are stored (``fp32``, ``bf16``, ``fp16``, ``int8``,
      ``nf4``);
    - ``trainable_fraction``: the share of parameters that is trained (1.0: full fine-tuning;
      LoRA: the adapters' share, ~0.01). Trainable parameters are stored in ``trainable_dtype``
      (default: ``weights``, which must then be a float type), and each gets a gradient of that
      type and ``optimizer``'s states (``adamw``: 8 bytes, ``sgd_momentum``: 4, ``sgd``: 0);
    - ``master_weights``: mixed precision, a float32 copy of each 16-bit trainable parameter.

    Returns ``{"weights", "gradients", "optimizer", "master_weights", "total"}`` in bytes.
    """
    if isinstance(n_params, bool) or not isinstance(n_params, int) or n_params < 1:
        raise ValueError(f"n_params must be a whole number >= 1, got {n_params!r}")
    frozen_bytes = _bytes_of(weights, "weights")
    trainable_dtype = weights if trainable_dtype is None else trainable_dtype
    train_bytes = _bytes_of(trainable_dtype, "trainable_dtype")
    if optimizer not in OPTIMIZER_STATE_BYTES:
        raise ValueError(f"optimizer must be one of {sorted(OPTIMIZER_STATE_BYTES)}, got {optimizer!r}")
    if isinstance(trainable_fraction, bool) or not 0.0 <= trainable_fraction <= 1.0:
        raise ValueError(f"trainable_fraction must be between 0 and 1, got {trainable_fraction!r}")
    n_train = round(n_params * trainable_fraction)
    if n_train and trainable_dtype not in TRAINABLE_DTYPES:
        raise ValueError(f"{trainable_dtype} weights cannot be trained directly: train adapters in "
                         f"another dtype (trainable_dtype='bf16', as QLoRA does) or set "
                         f"trainable_fraction=0")  # fmt: skip
    master = 4 if master_weights and trainable_dtype != "fp32" else 0
    out = {
        "weights": round((n_params - n_train) * frozen_bytes + n_train * train_bytes),
        "gradients": round(n_train * train_bytes),
        "optimizer": n_train * OPTIMIZER_STATE_BYTES[optimizer],
        "master_weights": n_train * master,
    }
    out["total"] = sum(out.values())
    return out


# Fine-tuning recipes compared in the chapter: (name, training_memory keyword arguments).
METHODS: tuple[tuple[str, dict], ...] = (
    ("inference (bf16)", {"weights": "bf16", "trainable_fraction": 0.0}),
    ("full (fp32, AdamW)", {"weights": "fp32"}),
    ("full (bf16 mixed precision, AdamW)", {"weights": "bf16", "master_weights": True}),
    ("LoRA (bf16 base)", {"weights": "bf16", "master_weights": True, "lora": True}),
    ("QLoRA (NF4 base)", {"weights": "nf4", "trainable_dtype": "bf16", "master_weights": True,
                          "lora": True}),  # fmt: skip
)


def memory_table(sizes: dict[str, int] | None = None, lora_fraction: float = 0.01) -> list[dict]:
    """One row per (model, method): the bytes of :func:`training_memory` and ``total_gb``
    (10^9 bytes). LoRA methods train ``lora_fraction`` of the parameters (a rank-16 adapter on
    every linear layer of LLaMA-7B is 40M parameters, 0.6%)."""
    sizes = MODEL_SIZES if sizes is None else sizes
    rows = []
    for model, n in sizes.items():
        for method, kwargs in METHODS:
            kwargs = dict(kwargs)
            if kwargs.pop("lora", False):
                kwargs["trainable_fraction"] = lora_fraction
            mem = training_memory(n, **kwargs)
            rows.append({"model": model, "params": n, "method": method, **mem,
                         "total_gb": mem["total"] / 1e9})  # fmt: skip
    return rows
