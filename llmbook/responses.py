"""A policy's answers as tensors, what every RLHF method reads: prompts and answers in the SFT
model's chat template, right-padded batches with a mask on the answer tokens, each token's
log-probability under a policy, the KL to a reference policy, and sampled answers."""

from __future__ import annotations

import functools
from collections.abc import Sequence

import torch

from llmbook import finetune
from llmbook.data import pad_right
from llmbook.finetune import end_id
from llmbook.generation import generate
from llmbook.gpt import GPT
from llmbook.instructions import Instruction
from llmbook.preferences import PreferencePair

MAX_NEW_TOKENS = 48


def encode_prompt(prompt: str) -> list[int]:
    """Token ids the policy sees before it answers ``prompt`` (the chat template's user turn and
    the assistant tag)."""
    return list(_prompt_ids(prompt))


def encode_response(response: str) -> list[int]:
    """Token ids of an answer, closed by the chat template's end token."""
    return list(_response_ids(response))


@functools.lru_cache(maxsize=4096)  # the same few hundred texts are encoded at every step
def _prompt_ids(prompt: str) -> tuple[int, ...]:
    return tuple(finetune.prompt_ids(prompt))


@functools.lru_cache(maxsize=4096)
def _response_ids(response: str) -> tuple[int, ...]:
    return tuple(finetune.encode_example(Instruction("", "", response, "en", "preference"))[1])


def decode_response(ids: Sequence[int]) -> str:
    """The text of a generated answer (up to its end token)."""
    ids = list(ids)
    if end_id() in ids:
        ids = ids[: ids.index(end_id())]
    return finetune.chat_tokenizer().decode(ids).strip()


def pad_batch(prompt_ids: Sequence[Sequence[int]], response_ids: Sequence[Sequence[int]],
              device=None) -> tuple[torch.Tensor, torch.Tensor]:  # fmt: skip
    """Prompt + response for each example, right-padded: ``ids`` ``(B, T)`` and a 0/1
    ``mask`` ``(B, T)`` marking the response tokens (the ones the policy chose)."""
    if len(prompt_ids) != len(response_ids):
        raise ValueError(f"got {len(prompt_ids)} prompts but {len(response_ids)} responses")
    ids = pad_right([[*p, *r] for p, r in zip(prompt_ids, response_ids)], end_id())
    mask = pad_right([[0] * len(p) + [1] * len(r) for p, r in zip(prompt_ids, response_ids)], 0)
    return ids.to(device), mask.float().to(device)


def pair_ids(pairs: Sequence[PreferencePair]) -> tuple[list[list[int]], list[list[int]], list[list[int]]]:
    """Token ids of the pairs' prompts, chosen answers and rejected answers."""
    p = [encode_prompt(x.prompt) for x in pairs]
    return p, [encode_response(x.chosen) for x in pairs], [encode_response(x.rejected) for x in pairs]


def token_logprobs(model: GPT, ids: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """``log p(ids[:, t] | ids[:, :t])`` for ``t >= 1``, ``(B, T-1)``, zero where ``mask[:, 1:]``
    is 0 (prompt and padding). Causal attention: padding on the right changes nothing before it."""
    logits = model(ids[:, :-1]).float()
    logp = torch.log_softmax(logits, dim=-1).gather(-1, ids[:, 1:, None])[..., 0]
    return logp * mask[:, 1:]


def sequence_logprob(model: GPT, prompt_ids: Sequence[int] | torch.Tensor,
                     response_ids: Sequence[int] | torch.Tensor) -> torch.Tensor:  # fmt: skip
    """``log p(response | prompt)``: the sum over the response tokens of each token's
    log-probability given everything before it (a 0-d tensor, differentiable)."""
    prompt_ids, response_ids = (x.tolist() if isinstance(x, torch.Tensor) else list(x)
                                for x in (prompt_ids, response_ids))  # fmt: skip
    if not prompt_ids or not response_ids:
        raise ValueError("prompt_ids and response_ids must each hold at least one token id")
    dev = next(model.parameters()).device
    ids, mask = pad_batch([prompt_ids], [response_ids], dev)
    return token_logprobs(model, ids, mask).sum()


def kl_estimate(logp: torch.Tensor, ref_logp: torch.Tensor,
                mask: torch.Tensor | None = None) -> torch.Tensor:  # fmt: skip
    """KL(policy || reference) per sequence from tokens the policy sampled: the sum over tokens of
    ``exp(d) - 1 - d`` with ``d = ref_logp - logp`` (Schulman's "k3" estimator: unbiased,
    never negative, exactly 0 when the two agree). Inputs ``(B, T)``; returns ``(B,)``."""
    if logp.shape != ref_logp.shape:
        raise ValueError(f"logp {tuple(logp.shape)} and ref_logp {tuple(ref_logp.shape)} differ")
    d = ref_logp - logp
    k3 = torch.exp(d) - 1 - d
    if mask is not None:
        k3 = k3 * mask
    return k3.sum(-1)


@torch.no_grad()
def sample_responses(model: GPT, prompt: str, n: int, generator: torch.Generator,
                     max_new_tokens: int = MAX_NEW_TOKENS, temperature: float = 1.0) -> list[list[int]]:  # fmt: skip
    """``n`` sampled answers to ``prompt``, each as token ids up to and including its end token
    (or cut at ``max_new_tokens``)."""
    dev = next(model.parameters()).device
    p = encode_prompt(prompt)
    idx = torch.tensor([p] * n, device=dev)
    out = generate(model, idx, max_new_tokens, temperature=temperature, generator=generator,
                   eos_id=end_id())[:, len(p) :].tolist()  # fmt: skip
    return [r[: r.index(end_id()) + 1] if end_id() in r else r for r in out]
