"""RLHF from scratch, as chapter 8 reads it: a reward model, policy-gradient tuning with a KL
penalty, DPO, and their comparison on held-out prompts.

Each piece has its own module, and this one gathers their names for the chapter:

- :mod:`llmbook.responses`: prompts and answers as ids (:func:`encode_prompt`,
  :func:`encode_response`, :func:`pad_batch`), how likely a policy finds a response
  (:func:`sequence_logprob`, :func:`token_logprobs`), the KL to a reference (:func:`kl_estimate`)
  and sampled answers (:func:`sample_responses`);
- :mod:`llmbook.reward`: :class:`RewardModel`, the GPT with a scalar head reading the last token,
  trained on preference pairs with the Bradley-Terry loss :func:`bradley_terry_loss`;
- :mod:`llmbook.grpo`: :func:`rl_finetune`, PPO's clipped objective (:func:`ppo_clip_loss`) with
  group-normalised advantages (:func:`group_advantages`) plus the KL penalty;
- :mod:`llmbook.dpo`: :func:`dpo_train` with :func:`dpo_loss`, the same preference data used
  directly, no reward model, no sampling;
- here: :func:`evaluate_policies` and :func:`format_table`, the comparison.

The whole pipeline on :mod:`llmbook.preferences` (SFT vs GRPO vs DPO on held-out prompts) is the
recipe :mod:`llmbook.recipes.rlhf`; its reward model and results ship as the store's ``reward``
and ``rlhf`` cards.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch

from llmbook.dpo import dpo_loss, dpo_train  # noqa: F401  (re-exported: chapter 8's names)
from llmbook.gpt import GPT
from llmbook.grpo import RLConfig, group_advantages, ppo_clip_loss, rl_finetune  # noqa: F401
from llmbook.preferences import true_preference
from llmbook.responses import (  # noqa: F401
    MAX_NEW_TOKENS,
    decode_response,
    encode_prompt,
    encode_response,
    kl_estimate,
    pad_batch,
    sample_responses,
    sequence_logprob,
    token_logprobs,
)
from llmbook.reward import (  # noqa: F401
    RewardModel,
    bradley_terry_loss,
    pairwise_accuracy,
    score_ids,
    train_reward_model,
)


@torch.no_grad()
def evaluate_policies(policies: dict[str, GPT], reference: GPT, rm: RewardModel,
                      prompts: Sequence[tuple[str, str]], samples: int = 4, seed: int = 0,
                      baseline: str | None = None) -> dict[str, dict]:  # fmt: skip
    """For each policy, ``samples`` answers per held-out ``(prompt, lang)``: mean true preference,
    win rate against ``baseline``'s answers by the true preference (ties count half), mean learned
    reward and mean KL to ``reference``; plus a few example answers."""
    baseline = baseline or next(iter(policies))
    dev = next(reference.parameters()).device
    answers: dict[str, list] = {}
    for name, model in policies.items():
        gen = torch.Generator(device=dev).manual_seed(seed)
        answers[name] = [(p, lang, r) for p, lang in prompts
                         for r in sample_responses(model, p, samples, gen)]  # fmt: skip
    true = {name: [true_preference(p, decode_response(r), lang) for p, lang, r in a]
            for name, a in answers.items()}  # fmt: skip
    results = {}
    for name, model in policies.items():
        p_ids = [encode_prompt(p) for p, _, _ in answers[name]]
        r_ids = [r for _, _, r in answers[name]]
        ids, mask = pad_batch(p_ids, r_ids, dev)
        kl = kl_estimate(token_logprobs(model, ids, mask), token_logprobs(reference, ids, mask),
                         mask[:, 1:])  # fmt: skip
        wins = [1.0 if a > b else 0.5 if a == b else 0.0 for a, b in zip(true[name], true[baseline])]
        results[name] = {
            "win_rate": sum(wins) / len(wins),
            "true_preference": sum(true[name]) / len(true[name]),
            "reward": score_ids(rm, p_ids, r_ids).mean().item(),
            "kl": kl.mean().item(),
            "length": mask.sum(1).mean().item(),
            "examples": [(p, decode_response(r)) for p, _, r in answers[name][:: max(1, len(answers[name]) // 8)]],
        }
    return results


TABLE_HEADER = {
    "en": ("policy", "win rate vs SFT", "true preference", "learned reward", "KL to SFT", "tokens"),
    "ko": ("정책", "SFT 대비 승률", "실제 선호 점수", "학습된 보상", "SFT와의 KL", "토큰 수"),
}


def format_table(results: dict[str, dict], lang: str = "en") -> str:
    """The comparison as a Markdown table, headers in ``lang``."""
    head = TABLE_HEADER[lang]
    rows = [f"| {' | '.join(head)} |", "|" + "---|" * len(head)]
    for name, r in results.items():
        rows.append(f"| {name} | {r['win_rate']:.2f} | {r['true_preference']:+.2f} | "
                    f"{r['reward']:+.2f} | {r['kl']:.2f} | {r['length']:.1f} |")  # fmt: skip
    return "\n".join(rows)
