"""The reward model: the GPT with a scalar head on the last real token's hidden state, trained on
preference pairs with the Bradley-Terry loss on the engine's :func:`~llmbook.train.train_step`."""

from __future__ import annotations

import random
from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import nn
from tqdm.auto import tqdm

from llmbook.gpt import GPT, GPTConfig
from llmbook.preferences import PreferencePair
from llmbook.responses import encode_prompt, encode_response, pad_batch, pair_ids
from llmbook.train import make_optimizer, train_step


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
        last = self.hidden_states(ids)[torch.arange(len(ids), device=ids.device), lengths - 1]
        return self.score(last).squeeze(-1)

    def score_texts(self, prompts: Sequence[str], responses: Sequence[str]) -> torch.Tensor:
        """Rewards for answers given as text (no gradient)."""
        return score_ids(self, [encode_prompt(p) for p in prompts],
                      [encode_response(r) for r in responses])  # fmt: skip


def score_ids(rm: RewardModel, prompt_ids, response_ids, grad: bool = False) -> torch.Tensor:
    """Rewards ``(B,)`` for answers given as token ids (with gradients only when ``grad``)."""
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


def _pairs_loss(rm: RewardModel, p, c, r) -> torch.Tensor:
    """The Bradley-Terry loss of prompts ``p`` with chosen ``c`` and rejected ``r`` answers."""
    both = score_ids(rm, p + p, c + r, grad=True)
    return bradley_terry_loss(both[: len(p)], both[len(p) :])


@torch.no_grad()
def pairwise_accuracy(rm: RewardModel, pairs: Sequence[PreferencePair]) -> float:
    """Fraction of pairs where the reward model scores the chosen answer above the rejected one."""
    p, c, r = pair_ids(pairs)
    rm.eval()
    return (score_ids(rm, p, c) > score_ids(rm, p, r)).float().mean().item()


def train_reward_model(rm: RewardModel, pairs: Sequence[PreferencePair],
                       steps: int = 150, batch_size: int = 16, lr: float = 1e-4,
                       heldout: Sequence[PreferencePair] = (), eval_every: int = 25,
                       seed: int = 0, progress: bool = True) -> dict[str, list]:  # fmt: skip
    """Fit ``rm`` to the pairs with the Bradley-Terry loss (the engine's :func:`train_step` and
    AdamW without weight decay, dropout off). Returns the curves: ``loss`` per step and
    ``heldout_accuracy`` as ``(step, accuracy)`` pairs."""
    if not pairs:
        raise ValueError("train_reward_model needs at least one preference pair")
    p, c, r = pair_ids(pairs)
    opt = make_optimizer(rm, lr, 0.0)
    gen = random.Random(seed)
    hist: dict[str, list] = {"loss": [], "heldout_accuracy": []}
    rm.eval()  # dropout off: the same function at train and test time
    for step in tqdm(range(steps), desc="reward model", disable=not progress):
        idx = gen.sample(range(len(pairs)), min(batch_size, len(pairs)))
        batch = tuple([x[i] for i in idx] for x in (p, c, r))
        hist["loss"].append(train_step(rm, opt, _pairs_loss, batch))
        if heldout and ((step + 1) % eval_every == 0 or step + 1 == steps):
            hist["heldout_accuracy"].append((step + 1, pairwise_accuracy(rm, heldout)))
    return hist
