"""The reward model: the Bradley-Terry loss by hand, a step written out, a training run that must learn."""

import copy
import math
import random

import pytest
import torch

from llmbook import preferences as P
from llmbook import reward
from llmbook.gpt import GPTConfig
from llmbook.responses import pair_ids
from llmbook.train import make_optimizer

TINY = GPTConfig(vocab_size=4099, context_length=128, n_layer=1, n_head=2, n_embd=32, dropout=0.0)



def sig(x):
    return 1 / (1 + math.exp(-x))


def test_bradley_terry_loss_hand_value():
    got = reward.bradley_terry_loss(torch.tensor([1.0, 0.0]), torch.tensor([0.0, 2.0]))
    assert got.item() == pytest.approx((-math.log(sig(1.0)) - math.log(sig(-2.0))) / 2, rel=1e-6)
    with pytest.raises(ValueError, match="same shape"):
        reward.bradley_terry_loss(torch.zeros(2), torch.zeros(3))


def _pairs():
    train = [x for lang in P.LANGS for x in P.preference_pairs(lang, "train")]
    held = [x for lang in P.LANGS for x in P.preference_pairs(lang, "heldout")]
    return train[::8], held[::12]  # a subset: encoding the texts is most of the time


def test_reward_model_training_raises_heldout_accuracy():
    torch.manual_seed(0)
    train, held = _pairs()
    rm = reward.RewardModel(TINY)
    before = reward.pairwise_accuracy(rm, held)  # zero head: every score ties, accuracy 0
    hist = reward.train_reward_model(rm, train, steps=40, lr=3e-3, heldout=held, eval_every=40,
                                   progress=False)  # fmt: skip
    after = hist["heldout_accuracy"][-1][1]
    assert before == 0.0 and after >= 0.7
    assert sum(hist["loss"][-10:]) < sum(hist["loss"][:10])


def test_one_training_step_is_the_written_out_adamw_step():
    torch.manual_seed(0)
    pairs = _pairs()[0][:4]
    rm = reward.RewardModel(TINY)
    torch.nn.init.normal_(rm.score.weight)
    by_hand = copy.deepcopy(rm)
    opt = make_optimizer(by_hand, 1e-3, 0.0)
    order = random.Random(0).sample(range(4), 4)  # the batch train_reward_model draws (seed 0)
    p, c, r = ([x[i] for i in order] for x in pair_ids(pairs))
    scores = reward.score_ids(by_hand, p + p, c + r, grad=True)
    loss = reward.bradley_terry_loss(scores[:4], scores[4:])
    loss.backward()
    torch.nn.utils.clip_grad_norm_(by_hand.parameters(), 1.0)
    opt.step()
    hist = reward.train_reward_model(rm, pairs, steps=1, batch_size=4, lr=1e-3, progress=False)
    assert hist["loss"][0] == pytest.approx(loss.item(), abs=1e-6)
    for a, b in zip(rm.parameters(), by_hand.parameters()):
        assert torch.allclose(a, b, atol=1e-6)
