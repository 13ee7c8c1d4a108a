"""RLHF pieces against hand-computed values, and tiny training runs that must move."""

import math

import pytest
import torch

from llmbook import preferences as P
from llmbook import rlhf
from llmbook.gpt import GPT, GPTConfig

TINY = GPTConfig(vocab_size=4099, context_length=128, n_layer=1, n_head=2, n_embd=32, dropout=0.0)


def sig(x):
    return 1 / (1 + math.exp(-x))


def test_bradley_terry_loss_hand_value():
    got = rlhf.bradley_terry_loss(torch.tensor([1.0, 0.0]), torch.tensor([0.0, 2.0]))
    assert got.item() == pytest.approx((-math.log(sig(1.0)) - math.log(sig(-2.0))) / 2, rel=1e-6)
    with pytest.raises(ValueError, match="same shape"):
        rlhf.bradley_terry_loss(torch.zeros(2), torch.zeros(3))


def test_dpo_loss_closed_form():
    # beta 0.5: chosen implicit reward 0.5 * (-1 - -2) = 0.5, rejected 0.5 * (-3 - -2) = -0.5
    pc, pr, rc, rr = (torch.tensor([v]) for v in (-1.0, -3.0, -2.0, -2.0))
    assert rlhf.dpo_loss(pc, pr, rc, rr, beta=0.5).item() == pytest.approx(math.log(1 + math.exp(-1)))
    # policy == reference: log 2, whatever the log-probs
    x = torch.tensor([-4.0, -7.0])
    assert rlhf.dpo_loss(x, x - 1, x, x - 1, 0.1).item() == pytest.approx(math.log(2))


def test_dpo_loss_gradient_symmetry():
    pc = torch.tensor([-1.0, -2.0], requires_grad=True)
    pr = torch.tensor([-3.0, -1.0], requires_grad=True)
    rlhf.dpo_loss(pc, pr, torch.tensor([-2.0, -2.0]), torch.tensor([-2.0, -2.0]), 0.3).backward()
    # only the difference counts: raising both log-probs together changes nothing
    assert torch.allclose(pc.grad, -pr.grad)
    assert (pc.grad < 0).all()  # the loss falls as the chosen answer gets likelier
    with pytest.raises(ValueError, match="beta"):
        rlhf.dpo_loss(pc, pr, pc, pr, 0.0)


def test_sequence_logprob_is_sum_of_gathered_log_softmax():
    torch.manual_seed(0)
    model = GPT(TINY).eval()
    prompt, response = [5, 17, 300], [42, 7, 4095]
    ids = torch.tensor([prompt + response])
    logp = torch.log_softmax(model(ids)[0], -1)
    by_hand = sum(logp[len(prompt) - 1 + i, t] for i, t in enumerate(response))
    got = rlhf.sequence_logprob(model, prompt, response)
    assert got.item() == pytest.approx(by_hand.item(), abs=1e-5)
    # batched with padding gives the same numbers
    ids, mask = rlhf.pad_batch([prompt, [9]], [response, [1, 2, 3, 4, 5, 6]])
    assert rlhf.token_logprobs(model, ids, mask).sum(-1)[0].item() == pytest.approx(got.item(), abs=1e-5)
    with pytest.raises(ValueError):
        rlhf.sequence_logprob(model, [], response)


def test_ppo_clip_loss_hand_cases():
    old = torch.zeros(4)
    ratios = torch.tensor([1.5, 0.9, 1.5, 0.5])
    adv = torch.tensor([1.0, 1.0, -1.0, -1.0])
    per = rlhf.ppo_clip_loss(torch.log(ratios), old, adv, clip=0.2, mask=None)
    # A>0, ratio 1.5 -> clipped to 1.2; inside -> 0.9; A<0, ratio 1.5 -> -1.5 (unclipped is lower);
    # A<0, ratio 0.5 -> clipped to 0.8 -> -0.8
    assert per.item() == pytest.approx(-(1.2 + 0.9 - 1.5 - 0.8) / 4, abs=1e-6)
    mask = torch.tensor([1.0, 0.0, 0.0, 0.0])
    assert rlhf.ppo_clip_loss(torch.log(ratios), old, adv, 0.2, mask).item() == pytest.approx(-1.2)


def test_kl_estimate_zero_iff_same_policy():
    lp = torch.log_softmax(torch.randn(3, 5), -1)
    assert torch.allclose(rlhf.kl_estimate(lp, lp), torch.zeros(3))
    other = lp + 0.3 * torch.randn(3, 5)
    assert (rlhf.kl_estimate(other, lp) > 0).all()
    mask = torch.zeros(3, 5)
    assert torch.allclose(rlhf.kl_estimate(other, lp, mask), torch.zeros(3))


def test_group_advantages_are_normalised_per_group():
    adv = rlhf.group_advantages(torch.tensor([1.0, 2.0, 3.0, 10.0, 10.0, 40.0]), 3)
    g = adv.view(2, 3)
    assert torch.allclose(g.mean(1), torch.zeros(2), atol=1e-6)
    assert torch.allclose(g.std(1), torch.ones(2), atol=1e-4)
    assert adv[0] < adv[1] < adv[2]
    with pytest.raises(ValueError):
        rlhf.group_advantages(torch.zeros(5), 3)


def _pairs():
    train = [x for lang in P.LANGS for x in P.preference_pairs(lang, "train")]
    held = [x for lang in P.LANGS for x in P.preference_pairs(lang, "heldout")]
    return train[::8], held[::12]  # a subset: encoding the texts is most of the time


def test_reward_model_training_raises_heldout_accuracy():
    torch.manual_seed(0)
    train, held = _pairs()
    rm = rlhf.RewardModel(TINY)
    before = rlhf.pairwise_accuracy(rm, held)  # zero head: every score ties, accuracy 0
    hist = rlhf.train_reward_model(rm, train, steps=40, lr=3e-3, heldout=held, eval_every=40,
                                   progress=False)  # fmt: skip
    after = hist["heldout_accuracy"][-1][1]
    assert before == 0.0 and after >= 0.7
    assert sum(hist["loss"][-10:]) < sum(hist["loss"][:10])


def test_dpo_training_widens_the_margin():
    torch.manual_seed(0)
    train, _ = _pairs()
    ref = GPT(TINY).eval()
    policy = GPT(TINY)
    policy.load_state_dict(ref.state_dict())
    hist = rlhf.dpo_train(policy, ref, train, steps=15, lr=3e-3, progress=False)
    assert hist["margin"][0] == pytest.approx(0.0, abs=1e-5)  # policy == reference at the start
    assert hist["loss"][0] == pytest.approx(math.log(2), abs=1e-5)
    assert sum(hist["margin"][-5:]) / 5 > 0.1


def test_rl_finetune_runs_and_starts_at_zero_kl():
    torch.manual_seed(0)
    ref = GPT(TINY).eval()
    policy = GPT(TINY)
    policy.load_state_dict(ref.state_dict())
    rm = rlhf.RewardModel(TINY)
    torch.nn.init.normal_(rm.score.weight)
    lang_of = {p: "en" for p in P.prompts("en", "train")[:4]}
    cfg = rlhf.RLConfig(steps=2, prompts_per_step=2, group_size=3, lr=1e-3)
    hist = rlhf.rl_finetune(policy, ref, rm, list(lang_of), cfg, lang_of, progress=False)
    assert all(len(v) == 2 for v in hist.values())
    assert hist["kl"][0] == pytest.approx(0.0, abs=1e-6)
    assert not torch.equal(policy.head.weight, ref.head.weight)  # the policy moved
