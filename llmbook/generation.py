"""Text from a GPT, one token at a time: sampling filters, the generation loop with its KV
cache, and batched completion of text prompts with the shipped tokenizer.

- :func:`next_token_distribution`: temperature, :func:`top_k_filter`, :func:`top_p_filter`;
  :func:`allow_only` for constrained decoding.
- :func:`generate`: greedy or sampled continuation of token ids, with a KV cache and stop ids.
- :func:`complete`: the continuation of each text prompt up to the end of its line, prompts of
  equal length batched together (the prompting and retrieval chapters' evaluations).
"""

from __future__ import annotations

from collections.abc import Sequence

import torch

from llmbook.gpt import GPT
from llmbook.tokens import default_tokenizer, encode, eot_id, vocab_strings


def top_k_filter(logits: torch.Tensor, k: int) -> torch.Tensor:
    """Keep the ``k`` largest logits of each row (ties with the k-th kept too); the rest -> -inf."""
    _check_top_k(k)
    kth = torch.topk(logits, min(k, logits.shape[-1]), dim=-1).values[..., -1:]
    return logits.masked_fill(logits < kth, float("-inf"))


def _check_top_k(k: object) -> None:
    if not isinstance(k, int) or k < 1:
        raise ValueError(f"top_k must be a whole number >= 1, got {k!r}")


def _check_top_p(p: float) -> None:
    if not 0 < p <= 1:
        raise ValueError(f"top_p must be in (0, 1], got {p}")


def allow_only(logits: torch.Tensor, allowed_ids) -> torch.Tensor:
    """``logits`` (..., vocab) with every token outside ``allowed_ids`` set to -inf, so softmax
    gives it probability 0 and argmax never picks it: constrained decoding in one line."""
    allowed_ids = torch.as_tensor(allowed_ids, dtype=torch.long, device=logits.device)
    if allowed_ids.numel() == 0:
        raise ValueError("allowed_ids is empty: at least one token must stay possible")
    keep = torch.zeros(logits.shape[-1], dtype=torch.bool, device=logits.device)
    keep[allowed_ids] = True
    return logits.masked_fill(~keep, float("-inf"))


def top_p_filter(probs: torch.Tensor, p: float) -> torch.Tensor:
    """Nucleus filtering: keep the most likely tokens until their total probability reaches
    ``p`` (always at least one), zero the rest and renormalise each row."""
    _check_top_p(p)
    sorted_p, order = probs.sort(dim=-1, descending=True)
    before = sorted_p.cumsum(-1) - sorted_p  # probability of the tokens ranked above each one
    sorted_p = sorted_p.masked_fill(before >= p, 0.0)
    kept = torch.zeros_like(probs).scatter(-1, order, sorted_p)
    return kept / kept.sum(-1, keepdim=True)


def next_token_distribution(logits: torch.Tensor, temperature: float = 1.0,
                            top_k: int | None = None, top_p: float | None = None) -> torch.Tensor:  # fmt: skip
    """Probabilities for the next token from last-position ``logits`` ``(batch, vocab)``:
    divided by ``temperature``, kept to the ``top_k`` most likely tokens and/or to the smallest
    set whose probability reaches ``top_p`` (nucleus sampling)."""
    if temperature <= 0:
        raise ValueError("temperature must be > 0 to sample (temperature 0 means greedy)")
    logits = logits / temperature
    if top_k is not None:
        logits = top_k_filter(logits, top_k)
    probs = torch.softmax(logits, dim=-1)
    return top_p_filter(probs, top_p) if top_p is not None else probs


@torch.no_grad()
def generate(model: GPT, idx: torch.Tensor, max_new_tokens: int, temperature: float = 1.0,
             top_k: int | None = None, top_p: float | None = None, greedy: bool = False,
             use_cache: bool = True, generator: torch.Generator | None = None,
             eos_id: int | Sequence[int] | None = None,
             allowed_ids: Sequence[int] | torch.Tensor | None = None) -> torch.Tensor:  # fmt: skip
    """Append up to ``max_new_tokens`` tokens to ``idx`` ``(batch, time)``, one at a time.

    Each token is the most likely one (``greedy=True`` or ``temperature=0``) or drawn from
    :func:`next_token_distribution`; the same ``generator`` seed gives the same text. With
    ``eos_id`` (one id or several stop ids), generation stops once every row has produced one
    (finished rows are padded with the first). With ``allowed_ids`` only those tokens can come
    out (constrained decoding, :func:`allow_only`). With ``use_cache`` each step feeds only the newest token and reuses the cached keys and
    values of the others: the same tokens as without the cache, much faster. When the text
    outgrows ``context_length`` the model sees its last ``context_length`` tokens (the cache is
    rebuilt from them each step, since absolute positions shift).
    """
    if not isinstance(max_new_tokens, int) or max_new_tokens < 0:
        raise ValueError(f"max_new_tokens must be a whole number >= 0, got {max_new_tokens!r}")
    if idx.dim() != 2 or idx.shape[1] == 0:
        raise ValueError(f"idx must be a non-empty (batch, time) tensor of token ids, got shape "
                         f"{tuple(idx.shape)}; for one sequence use idx[None]")  # fmt: skip
    greedy = greedy or temperature == 0
    was_training = model.training
    model.eval()
    ctx = model.config.context_length
    cache = None
    finished = torch.zeros(idx.shape[0], dtype=torch.bool, device=idx.device)
    stops = None
    if eos_id is not None:
        stops = torch.as_tensor([eos_id] if isinstance(eos_id, int) else list(eos_id),
                                dtype=torch.long, device=idx.device)  # fmt: skip
    for _ in range(max_new_tokens):
        if cache is not None and cache[0].length < ctx:
            logits = model(idx[:, -1:], cache)
        else:
            cache = model.new_cache() if use_cache else None
            logits = model(idx[:, -ctx:], cache)
        logits = logits[:, -1, :].float()
        if allowed_ids is not None:
            logits = allow_only(logits, allowed_ids)
        if greedy:
            nxt = logits.argmax(dim=-1, keepdim=True)
        else:
            probs = next_token_distribution(logits, temperature, top_k, top_p)
            if generator is not None and generator.device != probs.device:
                probs = probs.to(generator.device)  # sample where the generator lives
            nxt = torch.multinomial(probs, 1, generator=generator).to(idx.device)
        if stops is not None:
            nxt = nxt.masked_fill(finished[:, None], int(stops[0]))
            finished |= torch.isin(nxt[:, 0], stops)
        idx = torch.cat([idx, nxt], dim=1)
        if stops is not None and bool(finished.all()):
            break
    model.train(was_training)
    return idx


# ----- batched completion of text prompts -----------------------------------------------------

def _stop_ids() -> list[int]:
    return [eot_id()] + [i for i, s in enumerate(vocab_strings()) if "\n" in s]


@torch.no_grad()
def complete(model: GPT, prompts: Sequence[str], max_new_tokens: int, temperature: float = 0.0,
             allowed_ids: Sequence[int] | None = None, generator: torch.Generator | None = None,
             batch_size: int = 64) -> list[str]:  # fmt: skip
    """The model's continuation of each prompt, up to the end of the line.

    Greedy at ``temperature=0``, else sampled (``generator`` makes it repeatable). Prompts of
    equal token length go through the model together, with a KV cache. With ``allowed_ids``
    (constrained decoding) every other token's logit is set to -inf before choosing, so only
    those tokens (and the end of text or a bare line break, which stop) can come out."""
    if isinstance(prompts, str):
        raise TypeError("prompts must be a list of strings; for one prompt use [prompt]")
    stops = torch.tensor(_stop_ids())
    dev = next(model.parameters()).device
    ctx = model.config.context_length
    ids = [[eot_id()] + encode(p) for p in prompts]
    for i, x in enumerate(ids):
        if len(x) + max_new_tokens > ctx:
            raise ValueError(f"prompt {i} is {len(x)} tokens: with {max_new_tokens} new tokens it "
                             f"outgrows the model's context of {ctx}; shorten it")  # fmt: skip
    allowed = None
    if allowed_ids is not None:  # plus the end of text and bare line breaks, which stop
        ends = [i for i in stops.tolist() if i == eot_id() or not vocab_strings()[i].strip()]
        allowed = torch.tensor(sorted(set(allowed_ids) | set(ends)), dtype=torch.long, device=dev)
    out: list[str] = [""] * len(prompts)
    by_len: dict[int, list[int]] = {}
    for i, x in enumerate(ids):
        by_len.setdefault(len(x), []).append(i)
    for rows in by_len.values():
        for lo in range(0, len(rows), batch_size):
            chunk = rows[lo : lo + batch_size]
            idx = torch.tensor([ids[i] for i in chunk], device=dev)
            gen = generate(model, idx, max_new_tokens, temperature=temperature, generator=generator,
                           eos_id=stops.tolist(), allowed_ids=allowed)[:, idx.shape[1] :]  # fmt: skip
            for i, row in zip(chunk, gen.tolist()):
                out[i] = _cut(row)
    return out


def _cut(row: list[int]) -> str:
    """Decode generated ids up to the first stop token (end of text or a line break)."""
    stops = set(_stop_ids())
    keep = []
    for t in row:
        if t in stops:
            keep.append(t)
            break
        keep.append(t)
    return default_tokenizer().decode(keep).split("\n")[0].replace("<|endoftext|>", "")
