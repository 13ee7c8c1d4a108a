"""RLHF from scratch: a reward model, policy-gradient tuning with a KL penalty, and DPO.

The pieces, each small enough to read in one sitting:

- :class:`RewardModel`: the GPT with a scalar head reading the last token, trained on preference
  pairs with the Bradley-Terry loss :func:`bradley_terry_loss`;
- :func:`sequence_logprob` / :func:`token_logprobs`: how likely a policy finds a response;
- :func:`rl_finetune`: GRPO -- PPO's clipped objective (:func:`ppo_clip_loss`) with
  group-normalised advantages (:func:`group_advantages`) instead of a learned value function,
  plus a KL penalty (:func:`kl_estimate`) towards the frozen reference policy;
- :func:`dpo_train` with :func:`dpo_loss`: the same preference data used directly, no reward
  model, no sampling.

The whole pipeline on :mod:`llmbook.preferences` (SFT vs GRPO vs DPO on held-out prompts) is the
recipe :mod:`llmbook.recipes.rlhf`; its reward model and results ship as the store's ``reward``
and ``rlhf`` cards.
"""

from __future__ import annotations

import functools
import random
from collections.abc import Sequence
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn
from tqdm.auto import tqdm

from llmbook import finetune, preferences
from llmbook.finetune import end_id
from llmbook.generation import generate
from llmbook.gpt import GPT, GPTConfig
from llmbook.instructions import Instruction

MAX_NEW_TOKENS = 48


# ----- text <-> ids: the chat template of the SFT model ------------------------------------------

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
    seqs = [list(p) + list(r) for p, r in zip(prompt_ids, response_ids)]
    T = max(len(s) for s in seqs)
    ids = torch.full((len(seqs), T), end_id(), dtype=torch.long)
    mask = torch.zeros(len(seqs), T)
    for i, (p, s) in enumerate(zip(prompt_ids, seqs)):
        ids[i, : len(s)] = torch.tensor(s)
        mask[i, len(p) : len(s)] = 1.0
    return ids.to(device), mask.to(device)


# ----- log-probabilities --------------------------------------------------------------------------

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


# ----- reward model -------------------------------------------------------------------------------

class RewardModel(GPT):
    """A GPT whose output is one number per sequence: a linear head on the final hidden state of
    the last real token (``lengths - 1``), which has seen the whole prompt and response."""

    def __init__(self, cfg: GPTConfig):
        super().__init__(cfg)
        self.score = nn.Linear(cfg.n_embd, 1)
        nn.init.zeros_(self.score.weight)
        nn.init.zeros_(self.score.bias)

    @classmethod
    def from_gpt(cls, model: GPT) -> RewardModel:
        """A reward model that starts from ``model``'s weights (and a zero head)."""
        rm = cls(model.config)
        rm.load_state_dict(model.state_dict(), strict=False)
        return rm.to(next(model.parameters()).device)

    def reward(self, ids: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        """Scores ``(B,)`` for right-padded ``ids`` ``(B, T)`` of the given ``lengths``."""
        x = self.drop(self.embed(ids))
        for block in self.blocks:
            x = block(x)
        last = self.ln_f(x)[torch.arange(len(ids), device=ids.device), lengths - 1]
        return self.score(last).squeeze(-1)

    def score_texts(self, prompts: Sequence[str], responses: Sequence[str]) -> torch.Tensor:
        """Rewards for answers given as text (no gradient)."""
        return _score(self, [encode_prompt(p) for p in prompts],
                      [encode_response(r) for r in responses])  # fmt: skip


def _score(rm: RewardModel, prompt_ids, response_ids, grad: bool = False) -> torch.Tensor:
    dev = next(rm.parameters()).device
    ids, mask = pad_batch(prompt_ids, response_ids, dev)
    lengths = torch.tensor([len(p) + len(r) for p, r in zip(prompt_ids, response_ids)], device=dev)
    with torch.set_grad_enabled(grad):
        return rm.reward(ids, lengths)


def bradley_terry_loss(r_chosen: torch.Tensor, r_rejected: torch.Tensor) -> torch.Tensor:
    """``mean(-log sigmoid(r_chosen - r_rejected))``: the negative log-likelihood of the observed
    preferences if P(chosen beats rejected) = sigmoid(reward difference)."""
    if r_chosen.shape != r_rejected.shape:
        raise ValueError(f"r_chosen {tuple(r_chosen.shape)} and r_rejected "
                         f"{tuple(r_rejected.shape)} must have the same shape")  # fmt: skip
    return -F.logsigmoid(r_chosen - r_rejected).mean()


def _pair_ids(pairs: Sequence[preferences.PreferencePair]):
    p = [encode_prompt(x.prompt) for x in pairs]
    return p, [encode_response(x.chosen) for x in pairs], [encode_response(x.rejected) for x in pairs]


@torch.no_grad()
def pairwise_accuracy(rm: RewardModel, pairs: Sequence[preferences.PreferencePair]) -> float:
    """Fraction of pairs where the reward model scores the chosen answer above the rejected one."""
    p, c, r = _pair_ids(pairs)
    rm.eval()
    return (_score(rm, p, c) > _score(rm, p, r)).float().mean().item()


def train_reward_model(rm: RewardModel, pairs: Sequence[preferences.PreferencePair],
                       steps: int = 150, batch_size: int = 16, lr: float = 1e-4,
                       heldout: Sequence[preferences.PreferencePair] = (), eval_every: int = 25,
                       seed: int = 0, progress: bool = True) -> dict[str, list]:  # fmt: skip
    """Fit ``rm`` to the pairs with the Bradley-Terry loss (AdamW, dropout off). Returns the
    curves: ``loss`` per step and ``heldout_accuracy`` as ``(step, accuracy)`` pairs."""
    if not pairs:
        raise ValueError("train_reward_model needs at least one preference pair")
    p, c, r = _pair_ids(pairs)
    opt = torch.optim.AdamW(rm.parameters(), lr=lr, weight_decay=0.0)
    gen = random.Random(seed)
    hist: dict[str, list] = {"loss": [], "heldout_accuracy": []}
    rm.eval()  # dropout off: the same function at train and test time
    for step in tqdm(range(steps), desc="reward model", disable=not progress):
        idx = gen.sample(range(len(pairs)), min(batch_size, len(pairs)))
        both = _score(rm, [p[i] for i in idx] * 2, [c[i] for i in idx] + [r[i] for i in idx], True)
        loss = bradley_terry_loss(both[: len(idx)], both[len(idx) :])
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(rm.parameters(), 1.0)
        opt.step()
        hist["loss"].append(loss.item())
        if heldout and ((step + 1) % eval_every == 0 or step + 1 == steps):
            hist["heldout_accuracy"].append((step + 1, pairwise_accuracy(rm, heldout)))
    return hist


# ----- policy gradient: GRPO with PPO's clipped objective and a KL penalty -------------------------

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


def rl_finetune(policy: GPT, reference: GPT, rm: RewardModel, prompts: Sequence[str],
                cfg: RLConfig | None = None, lang_of: dict[str, str] | None = None,
                progress: bool = True) -> dict[str, list[float]]:  # fmt: skip
    """GRPO: per step, sample ``group_size`` answers to each of ``prompts_per_step`` prompts,
    score them with the reward model, turn scores into group-normalised advantages and take
    ``epochs`` gradient steps on ``ppo_clip_loss + beta * KL(policy || reference)``.

    Returns per-step curves: ``reward`` (mean learned reward), ``kl`` (mean KL per answer),
    ``length`` (mean tokens) and, when ``lang_of`` maps prompts to languages, ``true`` (mean
    :func:`llmbook.preferences.true_preference`) -- which the policy never sees."""
    if not prompts:
        raise ValueError("rl_finetune needs at least one prompt")
    cfg = cfg or RLConfig()
    dev = next(policy.parameters()).device
    gen = torch.Generator(device=dev).manual_seed(cfg.seed)
    pick = random.Random(cfg.seed)
    opt = torch.optim.AdamW(policy.parameters(), lr=cfg.lr, weight_decay=0.0)
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
            rewards = _score(rm, p_ids, r_ids)
            old_logp = token_logprobs(policy, ids, mask)
            ref_logp = token_logprobs(reference, ids, mask)
        adv = group_advantages(rewards, cfg.group_size)[:, None]
        for _ in range(cfg.epochs):
            logp = token_logprobs(policy, ids, mask)
            kl = kl_estimate(logp, ref_logp, m)
            loss = ppo_clip_loss(logp, old_logp, adv, cfg.clip, m) + cfg.beta * kl.mean()
            opt.zero_grad(set_to_none=True)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(policy.parameters(), 1.0)
            opt.step()
        hist["reward"].append(rewards.mean().item())
        hist["kl"].append(kl_estimate(old_logp, ref_logp, m).mean().item())
        hist["length"].append(m.sum(1).mean().item())
        if lang_of is not None:
            hist["true"].append(sum(preferences.true_preference(p, decode_response(r), lang_of[p])
                                    for p, r in texts) / len(texts))  # fmt: skip
    return hist


# ----- DPO ----------------------------------------------------------------------------------------

def dpo_loss(policy_chosen_logp: torch.Tensor, policy_rejected_logp: torch.Tensor,
             ref_chosen_logp: torch.Tensor, ref_rejected_logp: torch.Tensor,
             beta: float = 0.1) -> torch.Tensor:  # fmt: skip
    """Direct preference optimisation: ``mean(-log sigmoid(beta * ((pi_c - ref_c) -
    (pi_r - ref_r))))`` over pairs, where each term is a sequence log-probability. The implicit
    reward of an answer is ``beta * (log pi - log ref)``: the Bradley-Terry loss on it."""
    if beta <= 0:
        raise ValueError(f"beta must be > 0, got {beta}")
    shapes = {tuple(t.shape) for t in (policy_chosen_logp, policy_rejected_logp,
                                       ref_chosen_logp, ref_rejected_logp)}  # fmt: skip
    if len(shapes) != 1:
        raise ValueError(f"the four log-probability tensors must have one shape, got {shapes}")
    chosen = beta * (policy_chosen_logp - ref_chosen_logp)
    rejected = beta * (policy_rejected_logp - ref_rejected_logp)
    return -F.logsigmoid(chosen - rejected).mean()


def _pair_logps(model: GPT, p, c, r) -> tuple[torch.Tensor, torch.Tensor]:
    dev = next(model.parameters()).device
    ids, mask = pad_batch(p + p, c + r, dev)
    seq = token_logprobs(model, ids, mask).sum(-1)
    return seq[: len(p)], seq[len(p) :]


def dpo_train(policy: GPT, reference: GPT, pairs: Sequence[preferences.PreferencePair],
              steps: int = 60, batch_size: int = 16, lr: float = 2e-5, beta: float = 0.1,
              seed: int = 0, progress: bool = True) -> dict[str, list[float]]:  # fmt: skip
    """Train ``policy`` on the pairs with :func:`dpo_loss` against the frozen ``reference``.
    Returns per-step ``loss``, mean implicit rewards ``chosen`` and ``rejected``, their
    ``margin`` and ``accuracy`` (fraction of pairs with a positive margin)."""
    if not pairs:
        raise ValueError("dpo_train needs at least one preference pair")
    p, c, r = _pair_ids(pairs)
    opt = torch.optim.AdamW(policy.parameters(), lr=lr, weight_decay=0.0)
    pick = random.Random(seed)
    policy.eval()
    reference.eval()
    hist: dict[str, list[float]] = {k: [] for k in ("loss", "chosen", "rejected", "margin", "accuracy")}
    for _ in tqdm(range(steps), desc="DPO", disable=not progress):
        idx = pick.sample(range(len(pairs)), min(batch_size, len(pairs)))
        bp, bc, br = ([x[i] for i in idx] for x in (p, c, r))
        pc, pr = _pair_logps(policy, bp, bc, br)
        with torch.no_grad():
            rc, rr = _pair_logps(reference, bp, bc, br)
        loss = dpo_loss(pc, pr, rc, rr, beta)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(policy.parameters(), 1.0)
        opt.step()
        ch, rj = beta * (pc - rc).detach(), beta * (pr - rr).detach()
        hist["loss"].append(loss.item())
        hist["chosen"].append(ch.mean().item())
        hist["rejected"].append(rj.mean().item())
        hist["margin"].append((ch - rj).mean().item())
        hist["accuracy"].append((ch > rj).float().mean().item())
    return hist


# ----- comparison ---------------------------------------------------------------------------------

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
    true = {name: [preferences.true_preference(p, decode_response(r), lang) for p, lang, r in a]
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
            "reward": _score(rm, p_ids, r_ids).mean().item(),
            "kl": kl.mean().item(),
            "length": mask.sum(1).mean().item(),
            "examples": [(p, decode_response(r)) for p, _, r in answers[name][:: len(answers[name]) // 8]],
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
