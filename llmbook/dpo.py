"""DPO: preference pairs used directly (no reward model, no sampling), on the engine's
:func:`~llmbook.train.train_step`."""

from __future__ import annotations

import random
from collections.abc import Sequence

import torch
import torch.nn.functional as F
from tqdm.auto import tqdm

from llmbook.gpt import GPT
from llmbook.preferences import PreferencePair
from llmbook.responses import pad_batch, pair_ids, token_logprobs
from llmbook.train import make_optimizer, train_step


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


def dpo_train(policy: GPT, reference: GPT, pairs: Sequence[PreferencePair],
              steps: int = 60, batch_size: int = 16, lr: float = 2e-5, beta: float = 0.1,
              seed: int = 0, progress: bool = True) -> dict[str, list[float]]:  # fmt: skip
    """Train ``policy`` on the pairs with :func:`dpo_loss` against the frozen ``reference``
    (the engine's :func:`train_step`, AdamW without weight decay). Returns per-step ``loss``, mean implicit rewards ``chosen`` and ``rejected``, their
    ``margin`` and ``accuracy`` (fraction of pairs with a positive margin)."""
    if not pairs:
        raise ValueError("dpo_train needs at least one preference pair")
    p, c, r = pair_ids(pairs)
    opt = make_optimizer(policy, lr, 0.0)
    pick = random.Random(seed)
    policy.eval()
    reference.eval()
    hist: dict[str, list[float]] = {k: [] for k in ("loss", "chosen", "rejected", "margin", "accuracy")}
    seen: dict[str, torch.Tensor] = {}  # the policy's log-probs of the step, for the curves

    def loss_fn(model: GPT, bp, bc, br, rc, rr) -> torch.Tensor:
        pc, pr = _pair_logps(model, bp, bc, br)
        seen["chosen"], seen["rejected"] = pc.detach(), pr.detach()
        return dpo_loss(pc, pr, rc, rr, beta)

    for _ in tqdm(range(steps), desc="DPO", disable=not progress):
        idx = pick.sample(range(len(pairs)), min(batch_size, len(pairs)))
        bp, bc, br = ([x[i] for i in idx] for x in (p, c, r))
        with torch.no_grad():
            rc, rr = _pair_logps(reference, bp, bc, br)
        hist["loss"].append(train_step(policy, opt, loss_fn, (bp, bc, br, rc, rr)))
        ch, rj = beta * (seen["chosen"] - rc), beta * (seen["rejected"] - rr)
        hist["chosen"].append(ch.mean().item())
        hist["rejected"].append(rj.mean().item())
        hist["margin"].append((ch - rj).mean().item())
        hist["accuracy"].append((ch > rj).float().mean().item())
    return hist
