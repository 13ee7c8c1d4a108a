"""DPO's loss in closed form and a training run that must widen the margin."""

import math

import pytest
import torch

from llmbook import dpo
from llmbook import preferences as P
from llmbook.gpt import GPT, GPTConfig

TINY = GPTConfig(vocab_size=4099, context_length=128, n_layer=1, n_head=2, n_embd=32, dropout=0.0)



def test_dpo_loss_closed_form():
    # beta 0.5: chosen implicit reward 0.5 * (-1 - -2) = 0.5, rejected 0.5 * (-3 - -2) = -0.5
    pc, pr, rc, rr = (torch.tensor([v]) for v in (-1.0, -3.0, -2.0, -2.0))
    assert dpo.dpo_loss(pc, pr, rc, rr, beta=0.5).item() == pytest.approx(math.log(1 + math.exp(-1)))
    # policy == reference: log 2, whatever the log-probs
    x = torch.tensor([-4.0, -7.0])
    assert dpo.dpo_loss(x, x - 1, x, x - 1, 0.1).item() == pytest.approx(math.log(2))


def test_dpo_loss_gradient_symmetry():
    pc = torch.tensor([-1.0, -2.0], requires_grad=True)
    pr = torch.tensor([-3.0, -1.0], requires_grad=True)
    dpo.dpo_loss(pc, pr, torch.tensor([-2.0, -2.0]), torch.tensor([-2.0, -2.0]), 0.3).backward()
    # only the difference counts: raising both log-probs together changes nothing
    assert torch.allclose(pc.grad, -pr.grad)
    assert (pc.grad < 0).all()  # the loss falls as the chosen answer gets likelier
    with pytest.raises(ValueError, match="beta"):
        dpo.dpo_loss(pc, pr, pc, pr, 0.0)


def _pairs():
    train = [x for lang in P.LANGS for x in P.preference_pairs(lang, "train")]
    held = [x for lang in P.LANGS for x in P.preference_pairs(lang, "heldout")]
    return train[::8], held[::12]  # a subset: encoding the texts is most of the time


def test_dpo_training_widens_the_margin():
    torch.manual_seed(0)
    train, _ = _pairs()
    ref = GPT(TINY).eval()
    policy = GPT(TINY)
    policy.load_state_dict(ref.state_dict())
    hist = dpo.dpo_train(policy, ref, train, steps=15, lr=3e-3, progress=False)
    assert hist["margin"][0] == pytest.approx(0.0, abs=1e-5)  # policy == reference at the start
    assert hist["loss"][0] == pytest.approx(math.log(2), abs=1e-5)
    assert sum(hist["margin"][-5:]) / 5 > 0.1
