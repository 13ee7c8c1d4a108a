"""Chapter 7: right and typical wrong answers of every exercise (see tests/exercises/test_wrong_answers.py)."""

import torch

from llmbook.gpt import GPT, GPTConfig
from llmbook.lora import add_lora, count_parameters


def sft_example(prompt, response):
    seq = list(prompt) + list(response)
    return seq[:-1], [-100] * (len(prompt) - 1) + list(response)


def sft_example_unmasked(prompt, response):
    seq = list(prompt) + list(response)
    return seq[:-1], seq[1:]


def pad_batch(examples, pad_id):
    rows = [sft_example(p, r) for p, r in examples]
    T = max(len(x) for x, _ in rows)
    x = torch.full((len(rows), T), pad_id, dtype=torch.long)
    y = torch.full((len(rows), T), -100, dtype=torch.long)
    for i, (xs, ys) in enumerate(rows):
        x[i, : len(xs)], y[i, : len(ys)] = torch.tensor(xs), torch.tensor(ys)
    return x, y


def pad_batch_pad_labels(examples, pad_id):
    x, y = pad_batch(examples, pad_id)
    return x, torch.where((y == -100) & (x == pad_id), pad_id, y)


def lora_forward(x, W, b, A, B, alpha):
    return x @ W.T + b + (x @ A.T @ B.T) * alpha / A.shape[0]


def lora_forward_no_scale(x, W, b, A, B, alpha):
    return x @ W.T + b + x @ A.T @ B.T


def lora_forward_inverted(x, W, b, A, B, alpha):
    return x @ W.T + b + (x @ A.T @ B.T) * A.shape[0] / alpha


def lora_forward_swapped(x, W, b, A, B, alpha):
    return x @ W.T + b + (x @ B @ A) * alpha / A.shape[0]


def merge_lora_weights(W, A, B, alpha):
    return W + (B @ A) * alpha / A.shape[0]


def merge_no_scale(W, A, B, alpha):
    return W + B @ A


def merge_transposed(W, A, B, alpha):
    return (W + (B @ A) * alpha / A.shape[0]).T


def merge_half(W, A, B, alpha):  # merged with half the update: not what the adapter computes
    return W + (B @ A) * alpha / A.shape[0] / 2


def int8_quantize(w):
    scale = w.abs().amax(dim=-1, keepdim=True) / 127
    safe = torch.where(scale > 0, scale, torch.ones_like(scale))
    return torch.round(w / safe).clamp(-127, 127).to(torch.int8), scale


def int8_one_scale(w):
    scale = w.abs().max() / 127
    return torch.round(w / scale).clamp(-127, 127).to(torch.int8), scale


def int8_128(w):
    scale = w.abs().amax(dim=-1, keepdim=True) / 128
    safe = torch.where(scale > 0, scale, torch.ones_like(scale))
    return torch.round(w / safe).clamp(-128, 127).to(torch.int8), scale


def lora_trainable(n_embd, n_layer, r):
    # qkv (n_embd -> 3 n_embd), proj (n_embd -> n_embd), fc (n_embd -> 4 n_embd), proj (4 n_embd -> n_embd)
    return n_layer * r * ((n_embd + 3 * n_embd) + 2 * n_embd + 5 * n_embd + 5 * n_embd)


def lora_trainable_qkv_as_one(n_embd, n_layer, r):
    return n_layer * r * 4 * (2 * n_embd)


RIGHT = {
    "07.1": {"sft_example": sft_example},
    "07.2": {"pad_batch": pad_batch},
    "07.3": {"lora_forward": lora_forward},
    "07.4": {"int8_quantize": int8_quantize},
    "07.5": {"lora_trainable": lora_trainable},
    "07.6": {"merge_lora_weights": merge_lora_weights},
}

WRONG = {
    "07.1": [({"sft_example": sft_example_unmasked}, "must be -100")],
    "07.2": [({"pad_batch": pad_batch_pad_labels}, "Padding must be -100 too")],
    "07.3": [
        ({"lora_forward": lora_forward_no_scale}, "not multiplied by the scale alpha / r"),
        ({"lora_forward": lora_forward_inverted}, "the scale is inverted"),
        ({"lora_forward": lora_forward_swapped}, "are A and B swapped or transposed?"),
    ],
    "07.4": [
        ({"int8_quantize": int8_one_scale}, "one scale for the whole matrix"),
        ({"int8_quantize": int8_128}, "absmax / 127"),
    ],
    "07.5": [({"lora_trainable": lora_trainable_qkv_as_one}, "lora_trainable(n_embd=8, n_layer=1, r=1)")],
    "07.6": [
        ({"merge_lora_weights": merge_no_scale}, "not multiplied by the scale alpha / r"),
        ({"merge_lora_weights": merge_transposed}, "the merged weight is transposed"),
        ({"merge_lora_weights": merge_half}, "differs from the adapter's output"),
    ],
}

# the right count really is the package's
assert lora_trainable(16, 2, 4) == count_parameters(add_lora(GPT(GPTConfig(
    vocab_size=32, context_length=8, n_layer=2, n_head=2, n_embd=16)), r=4))[0]
