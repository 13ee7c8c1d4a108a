"""Chapter 5: right and typical wrong answers for every exercise (see tests/exercises/test_wrong_answers.py)."""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F


def gpt_parameters(
    vocab_size, context_length, n_layer, n_embd, tied=True, positions=True, ln_f=True
):
    C = n_embd
    block = 2 * (2 * C) + (3 * C * C + 3 * C) + (C * C + C) + (4 * C * C + 4 * C) + (4 * C * C + C)
    return (vocab_size * C + positions * context_length * C + n_layer * block + ln_f * 2 * C
            + (not tied) * vocab_size * C)  # fmt: skip


def top_k_probs(logits, k):
    kth = torch.topk(logits, k).values[-1]
    return torch.softmax(logits.masked_fill(logits < kth, float("-inf")), dim=-1)


def top_p_probs(probs, p, keep_crossing=True, renormalise=True):
    sorted_p, order = probs.sort(descending=True)
    before = sorted_p.cumsum(0) - sorted_p
    drop = before >= p if keep_crossing else sorted_p.cumsum(0) > p
    drop[0] = False
    sorted_p = sorted_p.masked_fill(drop, 0.0)
    kept = torch.zeros_like(probs).scatter(0, order, sorted_p)
    return kept / kept.sum() if renormalise else kept


def kv_step(cache_k, cache_v, q, k, v, scale=True, append=True):
    all_k, all_v = torch.cat([cache_k, k]), torch.cat([cache_v, v])
    scores = q @ all_k.T / (math.sqrt(q.shape[-1]) if scale else 1.0)
    out = torch.softmax(scores, dim=-1) @ all_v
    return (out, all_k, all_v) if append else (out, cache_k, cache_v)


def layer_norm(x, weight, bias, eps=1e-5):
    mean = x.mean(-1, keepdim=True)
    var = x.var(-1, keepdim=True, unbiased=False)
    return (x - mean) / torch.sqrt(var + eps) * weight + bias


def block_forward(x, weights, n_head, mistake=""):
    B, T, C = x.shape
    w = weights

    def attn(h):
        q, k, v = (h @ w["attn.qkv.weight"].T + w["attn.qkv.bias"]).split(C, dim=-1)
        q, k, v = (t.view(B, T, n_head, C // n_head).transpose(1, 2) for t in (q, k, v))
        scores = q @ k.transpose(-2, -1) / math.sqrt(C // n_head)
        mask = torch.ones(T, T, dtype=torch.bool).tril()
        y = torch.softmax(scores.masked_fill(~mask, float("-inf")), dim=-1) @ v
        return y.transpose(1, 2).reshape(B, T, C) @ w["attn.proj.weight"].T + w["attn.proj.bias"]

    def mlp(h):
        h = F.gelu(h @ w["mlp.fc.weight"].T + w["mlp.fc.bias"], approximate="tanh")
        return h @ w["mlp.proj.weight"].T + w["mlp.proj.bias"]

    def ln(h, name):
        return layer_norm(h, w[name + ".weight"], w[name + ".bias"])

    if mistake == "post-LN":
        x = ln(x + attn(x), "ln1")
        return ln(x + mlp(x), "ln2")
    if mistake == "no residual":
        x = attn(ln(x, "ln1"))
        return x + mlp(ln(x, "ln2"))
    x = x + attn(ln(x, "ln1"))
    return x + mlp(ln(x, "ln2"))


def gpt_forward(idx, weights, n_head, mistake=""):
    T = idx.shape[1]
    tok = weights["embed.tok.weight"]
    x = tok[idx] if mistake == "no positions" else tok[idx] + weights["embed.pos.weight"][:T]
    n_layer = len({k.split(".")[1] for k in weights if k.startswith("blocks.")})
    for i in range(n_layer):
        prefix = f"blocks.{i}."
        block = {k[len(prefix) :]: v for k, v in weights.items() if k.startswith(prefix)}
        x = block_forward(x, block, n_head, "post-LN" if mistake == "post-LN" else "")
    if mistake != "no final norm":
        x = layer_norm(x, weights["ln_f.weight"], weights["ln_f.bias"])
    head = weights["head.weight"] if mistake == "untied" else tok
    return x @ head.T


def _with(fn, **kw):
    return lambda *args: fn(*args, **kw)


RIGHT = {
    "05.1": {"gpt_parameters": gpt_parameters},
    "05.2": {"top_k_probs": top_k_probs},
    "05.3": {"top_p_probs": top_p_probs},
    "05.4": {"kv_step": kv_step},
    "05.5": {"block_forward": block_forward},
    "05.6": {"gpt_forward": gpt_forward},
}

WRONG = {
    "05.1": [
        ({"gpt_parameters": _with(gpt_parameters, tied=False)}, "tied to the token embedding"),
        ({"gpt_parameters": _with(gpt_parameters, positions=False)}, "position embeddings"),
        ({"gpt_parameters": _with(gpt_parameters, ln_f=False)}, "final LayerNorm"),
    ],
    "05.2": [
        ({"top_k_probs": lambda logits, k: torch.softmax(logits, -1)}, "every token kept"),
        (
            {
                "top_k_probs": lambda logits, k: torch.softmax(logits, -1).masked_fill(
                    logits < torch.topk(logits, k).values[-1], 0.0
                )
            },
            "do not sum to 1",
        ),
    ],
    "05.3": [
        ({"top_p_probs": _with(top_p_probs, keep_crossing=False)}, "too few tokens"),
        ({"top_p_probs": _with(top_p_probs, renormalise=False)}, "do not sum to 1"),
    ],
    "05.4": [
        ({"kv_step": _with(kv_step, scale=False)}, "divided by sqrt(d)"),
        ({"kv_step": _with(kv_step, append=False)}, "not appended"),
    ],
    "05.5": [
        ({"block_forward": _with(block_forward, mistake="post-LN")}, "post-LN"),
        (
            {"block_forward": _with(block_forward, mistake="no residual")},
            "residual around attention",
        ),
    ],
    "05.6": [
        ({"gpt_forward": _with(gpt_forward, mistake="no positions")}, "position embeddings"),
        ({"gpt_forward": _with(gpt_forward, mistake="no final norm")}, "final LayerNorm"),
        ({"gpt_forward": _with(gpt_forward, mistake="post-LN")}, "post-LN"),
        ({"gpt_forward": _with(gpt_forward, mistake="untied")}, "tied to the token embedding"),
    ],
}
