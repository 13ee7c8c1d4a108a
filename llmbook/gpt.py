"""A GPT-2-architecture language model in one readable file, text generation, and GPT-2 weights.

Token + position embeddings, ``n_layer`` pre-LayerNorm transformer blocks (causal multi-head
self-attention from :mod:`llmbook.attention`, then a GELU feed-forward network, each inside a
residual connection), a final LayerNorm and a linear head to vocabulary logits. The same code
runs the tiny models the chapters train on a CPU and, with a preset, the published GPT-2 sizes.

- ``GPT(config)(idx)`` -> logits ``(batch, time, vocab)``; ``model.loss(idx, targets)`` -> the
  mean next-token cross-entropy.
- Text generation from it (sampling, KV cache, batched completion): :mod:`llmbook.generation`.
- :meth:`GPT.from_hf_gpt2` / :meth:`GPT.to_hf_gpt2`: Hugging Face ``GPT2LMHeadModel`` state
  dicts in and out, so real GPT-2 weights load into our model and our model into ``transformers``.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, replace

import torch
import torch.nn.functional as F
from torch import nn

from llmbook.attention import KVCache, MultiHeadAttention
from llmbook.embedding import TokenAndPositionEmbedding

_GPT2 = {"vocab_size": 50257, "context_length": 1024, "dropout": 0.1}
PRESETS: dict[str, dict] = {
    # GPT-2's published sizes (parameters with the output layer tied to the token embedding)
    "gpt2-124m": {**_GPT2, "n_layer": 12, "n_head": 12, "n_embd": 768},
    "gpt2-355m": {**_GPT2, "n_layer": 24, "n_head": 16, "n_embd": 1024},
    "gpt2-774m": {**_GPT2, "n_layer": 36, "n_head": 20, "n_embd": 1280},
    "gpt2-1558m": {**_GPT2, "n_layer": 48, "n_head": 25, "n_embd": 1600},
    # small enough to train on a laptop CPU in minutes
    "tiny": {"vocab_size": 4096, "context_length": 128, "n_layer": 4, "n_head": 4, "n_embd": 128},
    "micro": {"vocab_size": 4096, "context_length": 64, "n_layer": 2, "n_head": 2, "n_embd": 64},
}


@dataclass(frozen=True)
class GPTConfig:
    """The shape of a GPT. The defaults are the ``tiny`` CPU model;
    ``GPTConfig.preset("gpt2-124m")`` gives GPT-2's published sizes (see :data:`PRESETS`)."""

    vocab_size: int = 4096
    context_length: int = 128
    n_layer: int = 4
    n_head: int = 4
    n_embd: int = 128
    dropout: float = 0.0
    bias: bool = True  # biases in linear layers and LayerNorms, as GPT-2
    tie_weights: bool = True  # the output layer reuses the token-embedding matrix

    def __post_init__(self) -> None:
        for name in ("vocab_size", "context_length", "n_layer", "n_head", "n_embd"):
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                raise ValueError(f"GPTConfig.{name} must be a whole number >= 1, got {value!r}")
        if self.n_embd % self.n_head:
            raise ValueError(
                f"n_embd ({self.n_embd}) must be divisible by n_head ({self.n_head}): each head "
                f"gets n_embd / n_head dimensions"
            )
        if not 0.0 <= self.dropout < 1.0:
            raise ValueError(f"dropout must be in [0, 1), got {self.dropout}")

    @classmethod
    def preset(cls, name: str, **overrides) -> GPTConfig:
        """A named size (``gpt2-124m`` ... ``gpt2-1558m``, ``tiny``, ``micro``), optionally
        changed: ``GPTConfig.preset("gpt2-124m", context_length=256)``."""
        if name not in PRESETS:
            raise ValueError(f"unknown preset {name!r}; choose one of {sorted(PRESETS)}")
        return replace(cls(**PRESETS[name]), **overrides)

    @property
    def head_dim(self) -> int:
        return self.n_embd // self.n_head

    def num_parameters(self) -> int:
        """The parameter count, computed from the shapes alone (no model is built)."""
        C, b = self.n_embd, int(self.bias)
        layer_norm = C + b * C
        block = (
            2 * layer_norm
            + 3 * C * C + b * 3 * C  # query, key, value projections
            + C * C + b * C  # attention output projection
            + 4 * C * C + b * 4 * C  # feed-forward up
            + 4 * C * C + b * C  # feed-forward down
        )  # fmt: skip
        embeddings = self.vocab_size * C + self.context_length * C
        head = 0 if self.tie_weights else self.vocab_size * C
        return embeddings + self.n_layer * block + layer_norm + head


class FeedForward(nn.Module):
    """Position-wise MLP: widen to ``4 * n_embd``, GELU, project back."""

    def __init__(self, n_embd: int, bias: bool = True):
        super().__init__()
        self.fc = nn.Linear(n_embd, 4 * n_embd, bias=bias)
        self.gelu = nn.GELU(approximate="tanh")  # GPT-2's GELU
        self.proj = nn.Linear(4 * n_embd, n_embd, bias=bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.proj(self.gelu(self.fc(x)))


class Block(nn.Module):
    """Pre-LayerNorm transformer block: ``x + attn(LN(x))``, then ``x + mlp(LN(x))``.

    ``causal=False`` gives an encoder block (every position sees every position), as in BERT.
    """

    def __init__(self, cfg: GPTConfig, causal: bool = True):
        super().__init__()
        self.ln1 = nn.LayerNorm(cfg.n_embd, bias=cfg.bias)
        self.attn = MultiHeadAttention(cfg.n_embd, cfg.n_head, causal=causal, dropout=cfg.dropout,
                                       bias=cfg.bias)  # fmt: skip
        self.ln2 = nn.LayerNorm(cfg.n_embd, bias=cfg.bias)
        self.mlp = FeedForward(cfg.n_embd, cfg.bias)
        self.drop = nn.Dropout(cfg.dropout)

    def forward(self, x: torch.Tensor, cache: KVCache | None = None) -> torch.Tensor:
        x = x + self.drop(self.attn(self.ln1(x), cache))
        return x + self.drop(self.mlp(self.ln2(x)))


class GPT(nn.Module):
    """``model(idx)``: token ids ``(batch, time)`` -> next-token logits ``(batch, time, vocab)``."""

    def __init__(self, cfg: GPTConfig):
        super().__init__()
        _check_config(cfg)
        self.config = cfg
        self.embed = TokenAndPositionEmbedding(cfg.vocab_size, cfg.n_embd, cfg.context_length)
        self.drop = nn.Dropout(cfg.dropout)
        self.blocks = nn.ModuleList(Block(cfg) for _ in range(cfg.n_layer))
        self.ln_f = nn.LayerNorm(cfg.n_embd, bias=cfg.bias)
        self.head = nn.Linear(cfg.n_embd, cfg.vocab_size, bias=False)
        if cfg.tie_weights:
            self.head.weight = self.embed.tok.weight
        self.apply(self._init_weights)
        for name, p in self.named_parameters():  # GPT-2: residual projections scaled by depth
            if name.endswith(("attn.proj.weight", "mlp.proj.weight")):
                nn.init.normal_(p, mean=0.0, std=0.02 / math.sqrt(2 * cfg.n_layer))

    @staticmethod
    def _init_weights(module: nn.Module) -> None:
        if isinstance(module, (nn.Linear, nn.Embedding)):
            nn.init.normal_(module.weight, mean=0.0, std=0.02)
        if isinstance(module, nn.Linear) and module.bias is not None:
            nn.init.zeros_(module.bias)

    def num_parameters(self) -> int:
        """Parameters counted once (a tied matrix is one matrix)."""
        return sum(p.numel() for p in self.parameters())

    def new_cache(self) -> list[KVCache]:
        """An empty KV cache, one :class:`~llmbook.attention.KVCache` per block."""
        return [KVCache() for _ in self.blocks]

    def hidden_states(self, idx: torch.Tensor, cache: list[KVCache] | None = None) -> torch.Tensor:
        """The trunk: every position's final hidden state ``(batch, time, n_embd)``, what the head
        turns into logits and what other heads read (a classifier, a reward model, embeddings).
        With ``cache`` (from :meth:`new_cache`), ``idx`` holds only the tokens after the cached
        ones and the cache is extended with them."""
        _check_ids(idx)
        past = cache[0].length if cache else 0  # positions already in the cache
        x = self.drop(self.embed(idx, start=past))  # token + position embeddings
        for i, block in enumerate(self.blocks):
            x = block(x, cache[i] if cache else None)
        return self.ln_f(x)  # the final LayerNorm

    def forward(self, idx: torch.Tensor, cache: list[KVCache] | None = None) -> torch.Tensor:
        """Logits for every position: the (tied) output layer on :meth:`hidden_states`."""
        return self.head(self.hidden_states(idx, cache))

    @torch.no_grad()
    def attention_weights(self, idx: torch.Tensor) -> list[torch.Tensor]:
        """Each block's attention weights for ``idx``, ``(batch, n_head, time, time)`` per layer:
        what every position looked at (for heatmaps)."""
        x = self.embed(idx)
        weights = []
        for block in self.blocks:
            weights.append(block.attn(block.ln1(x), return_weights=True)[1])
            x = block(x)
        return weights

    def loss(self, idx: torch.Tensor, targets: torch.Tensor, ignore_index: int = -100) -> torch.Tensor:
        """Mean cross-entropy of the next-token predictions for ``idx`` against ``targets``
        (same shape); positions whose target is ``ignore_index`` do not count."""
        if targets.shape != idx.shape:
            raise ValueError(f"targets must have the shape of idx {tuple(idx.shape)}, "
                             f"got {tuple(targets.shape)}")  # fmt: skip
        logits = self(idx)
        return F.cross_entropy(logits.flatten(0, 1), targets.flatten(), ignore_index=ignore_index)

    # ----- Hugging Face GPT-2 format -------------------------------------------------------------

    def hf_names(self) -> dict[str, tuple[str, bool]]:
        """Our parameter name -> (its name in ``GPT2LMHeadModel``, stored transposed?).

        GPT-2's checkpoint stores linear layers as ``Conv1D`` with weights ``(in, out)``, the
        transpose of ``nn.Linear``'s ``(out, in)``.
        """
        names = {}
        for ours in self.state_dict():
            for pattern, theirs, transposed in _HF_NAMES:
                m = re.fullmatch(pattern, ours)
                if m:
                    names[ours] = (m.expand(theirs), transposed)
                    break
        return names

    def to_hf_gpt2(self) -> dict[str, torch.Tensor]:
        """Our weights as a ``GPT2LMHeadModel`` state dict (names and Conv1D layout)."""
        if not self.config.bias:
            raise ValueError("GPT-2 has biases everywhere: a model built with bias=False "
                             "cannot be exported to GPT2LMHeadModel")  # fmt: skip
        sd = self.state_dict()
        return {theirs: (sd[ours].t() if transposed else sd[ours]).detach().clone()
                for ours, (theirs, transposed) in self.hf_names().items()}  # fmt: skip

    def to_transformers(self, eos_id: int | None = None):
        """This model as a ``transformers.GPT2LMHeadModel`` (in eval mode) with the same weights:
        use it with the Hugging Face ecosystem (``.generate``, ``.save_pretrained``, ...).
        ``eos_id`` is the end-of-text token id, if the tokenizer has one (GPT-2's: 50256)."""
        try:
            from transformers import GPT2Config, GPT2LMHeadModel
        except ImportError as err:
            raise ImportError("to_transformers needs Hugging Face transformers: "
                              'pip install "llmbook[hf]" (Colab has it already)') from err

        c = self.config
        hf_config = GPT2Config(
            vocab_size=c.vocab_size, n_positions=c.context_length, n_embd=c.n_embd,
            n_layer=c.n_layer, n_head=c.n_head, activation_function="gelu_new",
            resid_pdrop=c.dropout, embd_pdrop=c.dropout, attn_pdrop=c.dropout,
            layer_norm_epsilon=1e-5, tie_word_embeddings=c.tie_weights,
            bos_token_id=eos_id, eos_token_id=eos_id,
        )  # fmt: skip
        hf = GPT2LMHeadModel(hf_config)
        hf.load_state_dict(self.to_hf_gpt2())
        return hf.to(next(self.parameters()).device).eval()

    @classmethod
    def from_hf_gpt2(cls, state_dict: dict[str, torch.Tensor], n_head: int,
                     dropout: float = 0.0) -> GPT:  # fmt: skip
        """Build a GPT from a Hugging Face GPT-2 state dict (``GPT2LMHeadModel().state_dict()`` or
        the checkpoint file's dict, with or without the ``transformer.`` prefix).

        The sizes are read from the tensors; ``n_head`` cannot be, so pass it (12 for GPT-2
        124M). The output layer is tied to the token embedding when ``lm_head.weight`` is absent
        or equal to it. Unknown or missing names raise a ``ValueError`` that lists them.
        """
        sd = {_strip_prefix(k): v for k, v in state_dict.items() if not _is_mask_buffer(k)}
        for needed in ("wte.weight", "wpe.weight"):
            if needed not in sd:
                raise ValueError(f"not a GPT-2 state dict: {needed!r} (or 'transformer.{needed}') "
                                 f"is missing; it has {sorted(sd)[:8]}...")  # fmt: skip
        wte = sd["wte.weight"]
        n_layer = 1 + max((int(m.group(1)) for k in sd if (m := re.match(r"h\.(\d+)\.", k))),
                          default=-1)  # fmt: skip
        if n_layer == 0:
            raise ValueError("the state dict has no transformer blocks (no 'h.0.' names)")
        tied = "lm_head.weight" not in sd or torch.equal(sd["lm_head.weight"], wte)
        cfg = GPTConfig(vocab_size=wte.shape[0], context_length=sd["wpe.weight"].shape[0],
                        n_layer=n_layer, n_head=n_head, n_embd=wte.shape[1], dropout=dropout,
                        tie_weights=tied)  # fmt: skip
        model = cls(cfg)
        names = model.hf_names()
        expected = {_strip_prefix(theirs) for theirs, _ in names.values()}
        if tied:
            expected.discard("lm_head.weight")
            sd.pop("lm_head.weight", None)
        unknown, missing = sorted(set(sd) - expected), sorted(expected - set(sd))
        if unknown or missing:
            raise ValueError(f"the state dict does not match GPT-2 ({n_layer} layers): "
                             f"unknown keys {unknown}, missing keys {missing}")  # fmt: skip
        ours = {}
        for our_name, (theirs, transposed) in names.items():
            if our_name == "head.weight" and tied:
                continue
            t = sd[_strip_prefix(theirs)]
            ours[our_name] = t.t() if transposed else t
        model.load_state_dict(ours, strict=not tied)
        return model


def _check_config(cfg: object) -> None:
    if not isinstance(cfg, GPTConfig):
        raise TypeError(f"GPT expects a GPTConfig, got {type(cfg).__name__}")


def _check_ids(idx: object) -> None:
    """``idx`` must be a ``(batch, time)`` tensor of token ids."""
    if not isinstance(idx, torch.Tensor) or idx.dim() != 2:
        shape = tuple(idx.shape) if isinstance(idx, torch.Tensor) else type(idx).__name__
        raise ValueError(f"idx must be a (batch, time) tensor of token ids, got {shape}; "
                         "for one sequence use idx[None] or idx.unsqueeze(0)")  # fmt: skip


_HF_NAMES = [  # (our name, regex) -> (GPT2LMHeadModel name, Conv1D-transposed)
    (r"embed\.tok\.weight", "transformer.wte.weight", False),
    (r"embed\.pos\.weight", "transformer.wpe.weight", False),
    (r"blocks\.(\d+)\.ln1\.(weight|bias)", r"transformer.h.\1.ln_1.\2", False),
    (r"blocks\.(\d+)\.ln2\.(weight|bias)", r"transformer.h.\1.ln_2.\2", False),
    (r"blocks\.(\d+)\.attn\.qkv\.weight", r"transformer.h.\1.attn.c_attn.weight", True),
    (r"blocks\.(\d+)\.attn\.qkv\.bias", r"transformer.h.\1.attn.c_attn.bias", False),
    (r"blocks\.(\d+)\.attn\.proj\.weight", r"transformer.h.\1.attn.c_proj.weight", True),
    (r"blocks\.(\d+)\.attn\.proj\.bias", r"transformer.h.\1.attn.c_proj.bias", False),
    (r"blocks\.(\d+)\.mlp\.fc\.weight", r"transformer.h.\1.mlp.c_fc.weight", True),
    (r"blocks\.(\d+)\.mlp\.fc\.bias", r"transformer.h.\1.mlp.c_fc.bias", False),
    (r"blocks\.(\d+)\.mlp\.proj\.weight", r"transformer.h.\1.mlp.c_proj.weight", True),
    (r"blocks\.(\d+)\.mlp\.proj\.bias", r"transformer.h.\1.mlp.c_proj.bias", False),
    (r"ln_f\.(weight|bias)", r"transformer.ln_f.\1", False),
    (r"head\.weight", "lm_head.weight", False),
]


def _strip_prefix(name: str) -> str:
    return name.removeprefix("transformer.")


def _is_mask_buffer(name: str) -> bool:
    """Older ``transformers`` versions save each layer's causal mask (``h.N.attn.bias``,
    ``h.N.attn.masked_bias``) with the weights; they are not parameters."""
    return re.fullmatch(r"(transformer\.)?h\.\d+\.attn\.(bias|masked_bias)", name) is not None
