"""GRPO's clipped objective and advantages by hand, and a run that starts at zero KL and moves."""

import pytest
import torch

from llmbook import grpo
from llmbook import preferences as P
from llmbook.gpt import GPT, GPTConfig
from llmbook.reward import RewardModel

TINY = GPTConfig(vocab_size=4099, context_length=128, n_layer=1, n_head=2, n_embd=32, dropout=0.0)



def test_ppo_clip_loss_hand_cases():
    old = torch.zeros(4)
    ratios = torch.tensor([1.5, 0.9, 1.5, 0.5])
    adv = torch.tensor([1.0, 1.0, -1.0, -1.0])
    per = grpo.ppo_clip_loss(torch.log(ratios), old, adv, clip=0.2, mask=None)
    # A>0, ratio 1.5 -> clipped to 1.2; inside -> 0.9; A<0, ratio 1.5 -> -1.5 (unclipped is lower);
    # A<0, ratio 0.5 -> clipped to 0.8 -> -0.8
    assert per.item() == pytest.approx(-(1.2 + 0.9 - 1.5 - 0.8) / 4, abs=1e-6)
    mask = torch.tensor([1.0, 0.0, 0.0, 0.0])
    assert grpo.ppo_clip_loss(torch.log(ratios), old, adv, 0.2, mask).item() == pytest.approx(-1.2)


def test_group_advantages_are_normalised_per_group():
    adv = grpo.group_advantages(torch.tensor([1.0, 2.0, 3.0, 10.0, 10.0, 40.0]), 3)
    g = adv.view(2, 3)
    assert torch.allclose(g.mean(1), torch.zeros(2), atol=1e-6)
    assert torch.allclose(g.std(1), torch.ones(2), atol=1e-4)
    assert adv[0] < adv[1] < adv[2]
    with pytest.raises(ValueError):
        grpo.group_advantages(torch.zeros(5), 3)


def test_rl_finetune_runs_and_starts_at_zero_kl():
    torch.manual_seed(0)
    ref = GPT(TINY).eval()
    policy = GPT(TINY)
    policy.load_state_dict(ref.state_dict())
    rm = RewardModel(TINY)
    torch.nn.init.normal_(rm.score.weight)
    lang_of = {p: "en" for p in P.prompts("en", "train")[:4]}
    cfg = grpo.RLConfig(steps=2, prompts_per_step=2, group_size=3, lr=1e-3)
    hist = grpo.rl_finetune(policy, ref, rm, list(lang_of), cfg, lang_of, progress=False)
    assert all(len(v) == 2 for v in hist.values())
    assert hist["kl"][0] == pytest.approx(0.0, abs=1e-6)
    assert not torch.equal(policy.head.weight, ref.head.weight)  # the policy moved
