"""GRPO: PPO's clipped objective with group-normalised advantages instead of a learned value
function, plus a KL penalty towards the frozen reference policy, on the engine's
:func:`~llmbook.train.train_step`."""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass

import torch
from tqdm.auto import tqdm

from llmbook.gpt import GPT
from llmbook.preferences import true_preference
from llmbook.responses import (
    decode_response,
    encode_prompt,
    kl_estimate,
    pad_batch,
    sample_responses,
    token_logprobs,
)
from llmbook.reward import RewardModel, score_ids
from llmbook.train import make_optimizer, train_step


def ppo_clip_loss(logp: torch.Tensor, old_logp: torch.Tensor, advantages: torch.Tensor,
                  clip: float = 0.2, mask: torch.Tensor | None = None) -> torch.Tensor:  # fmt: skip
    """PPO's clipped surrogate, as a loss to minimise: ``-mean(min(ratio * A, clip(ratio, 1-eps,
    1+eps) * A))`` with ``ratio = exp(logp - old_logp)`` per token, averaged over ``mask``ed
    tokens. ``advantages`` broadcasts against ``logp`` (one value per sequence: shape ``(B, 1)``)."""
    if logp.shape != old_logp.shape:
        raise ValueError(f"logp {tuple(logp.shape)} and old_logp {tuple(old_logp.shape)} differ")
    if clip <= 0:
        raise ValueError(f"clip must be > 0, got {clip}")
    ratio = torch.exp(logp - old_logp)
    objective = torch.minimum(ratio * advantages, ratio.clamp(1 - clip, 1 + clip) * advantages)
    if mask is None:
        return -objective.mean()
    return -(objective * mask).sum() / mask.sum().clamp(min=1)


def group_advantages(rewards: torch.Tensor, group_size: int, eps: float = 1e-6) -> torch.Tensor:
    """GRPO's advantage: each reward minus the mean of its group (the answers to the same prompt),
    divided by the group's standard deviation. ``rewards`` ``(n_groups * group_size,)``."""
    if rewards.dim() != 1 or len(rewards) % group_size:
        raise ValueError(f"rewards must be 1-D with a multiple of {group_size} entries, "
                         f"got shape {tuple(rewards.shape)}")  # fmt: skip
    g = rewards.view(-1, group_size)
    return ((g - g.mean(1, keepdim=True)) / (g.std(1, keepdim=True) + eps)).view(-1)


@dataclass
class RLConfig:
    """Hyper-parameters of :func:`rl_finetune`."""

    steps: int = 30
    prompts_per_step: int = 6
    group_size: int = 6
    beta: float = 0.1  # weight of the KL penalty; 0 lets the policy drift anywhere
    lr: float = 2e-4
    clip: float = 0.2
    epochs: int = 2  # gradient steps on each batch of samples (PPO re-uses its rollouts)
    seed: int = 0


def _grpo_loss(beta: float, clip: float):
    """GRPO's loss on a batch of sampled answers: ``ppo_clip_loss + beta * KL(policy || reference)``."""
    def loss(policy: GPT, ids, mask, old_logp, ref_logp, adv) -> torch.Tensor:
        logp = token_logprobs(policy, ids, mask)
        m = mask[:, 1:]
        return ppo_clip_loss(logp, old_logp, adv, clip, m) + beta * kl_estimate(logp, ref_logp, m).mean()
    return loss


def rl_finetune(policy: GPT, reference: GPT, rm: RewardModel, prompts: Sequence[str],
                cfg: RLConfig | None = None, lang_of: dict[str, str] | None = None,
                progress: bool = True) -> dict[str, list[float]]:  # fmt: skip
    """GRPO: per step, sample ``group_size`` answers to each of ``prompts_per_step`` prompts,
    score them with the reward model, turn scores into group-normalised advantages and take
    ``epochs`` gradient steps (the engine's :func:`train_step`) on ``ppo_clip_loss + beta *
    KL(policy || reference)``.

    Returns per-step curves: ``reward`` (mean learned reward), ``kl`` (mean KL per answer),
    ``length`` (mean tokens) and, when ``lang_of`` maps prompts to languages, ``true`` (mean
    :func:`llmbook.true_preference`) -- which the policy never sees."""
    if not prompts:
        raise ValueError("rl_finetune needs at least one prompt")
    cfg = cfg or RLConfig()
    dev = next(policy.parameters()).device
    gen = torch.Generator(device=dev).manual_seed(cfg.seed)
    pick = random.Random(cfg.seed)
    opt = make_optimizer(policy, cfg.lr, 0.0)
    loss_fn = _grpo_loss(cfg.beta, cfg.clip)
    policy.eval()  # dropout off: old and new log-probs must come from the same function
    reference.eval()
    rm.eval()
    hist: dict[str, list[float]] = {"reward": [], "kl": [], "length": [], "true": []}
    for _ in tqdm(range(cfg.steps), desc=f"GRPO beta={cfg.beta}", disable=not progress):
        batch_prompts = pick.sample(list(prompts), min(cfg.prompts_per_step, len(prompts)))
        p_ids, r_ids, texts = [], [], []
        for prompt in batch_prompts:
            for r in sample_responses(policy, prompt, cfg.group_size, gen):
                p_ids.append(encode_prompt(prompt))
                r_ids.append(r)
                texts.append((prompt, r))
        ids, mask = pad_batch(p_ids, r_ids, dev)
        m = mask[:, 1:]
        with torch.no_grad():
            rewards = score_ids(rm, p_ids, r_ids)
            old_logp = token_logprobs(policy, ids, mask)
            ref_logp = token_logprobs(reference, ids, mask)
        adv = group_advantages(rewards, cfg.group_size)[:, None]
        for _ in range(cfg.epochs):
            train_step(policy, opt, loss_fn, (ids, mask, old_logp, ref_logp, adv))
        hist["reward"].append(rewards.mean().item())
        hist["kl"].append(kl_estimate(old_logp, ref_logp, m).mean().item())
        hist["length"].append(m.sum(1).mean().item())
        if lang_of is not None:
            hist["true"].append(sum(true_preference(p, decode_response(r), lang_of[p])
                                    for p, r in texts) / len(texts))  # fmt: skip
    return hist
