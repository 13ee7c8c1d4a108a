"""Chapter 8: right and typical wrong answers of every exercise (see tests/exercises/test_wrong_answers.py)."""

import torch
import torch.nn.functional as F

from llmbook import rlhf
from llmbook.exercises.ch08 import DPO_CONFIG
from llmbook.gpt import GPT


def bt_loss(rc, rr):
    return -F.logsigmoid(rc - rr).mean()


def bt_loss_sign(rc, rr):
    return -F.logsigmoid(rr - rc).mean()


def response_logprob(model, prompt, response):
    ids = torch.tensor([prompt + response])
    logp = torch.log_softmax(model(ids[:, :-1]), -1)[0]
    return sum(logp[len(prompt) - 1 + i, t] for i, t in enumerate(response))


def response_logprob_all(model, prompt, response):  # counts the prompt's tokens too
    ids = torch.tensor([prompt + response])
    logp = torch.log_softmax(model(ids[:, :-1]), -1)[0]
    return logp.gather(-1, ids[0, 1:, None]).sum()


def dpo(pc, pr, rc, rr, beta):
    return -F.logsigmoid(beta * ((pc - rc) - (pr - rr))).mean()


def dpo_no_beta(pc, pr, rc, rr, beta):
    return -F.logsigmoid((pc - rc) - (pr - rr)).mean()


def dpo_sign(pc, pr, rc, rr, beta):
    return F.logsigmoid(beta * ((pc - rc) - (pr - rr))).mean()


def dpo_no_reference(pc, pr, rc, rr, beta):
    return -F.logsigmoid(beta * (pc - pr)).mean()


def kl_k3(logp, ref, mask):
    d = ref - logp
    return ((torch.exp(d) - 1 - d) * mask).sum(-1)


def kl_k3_no_mask(logp, ref, mask):
    d = ref - logp
    return (torch.exp(d) - 1 - d).sum(-1)


def ppo_objective(new, old, adv, clip):
    ratio = torch.exp(new - old)
    return -torch.minimum(ratio * adv, ratio.clamp(1 - clip, 1 + clip) * adv).mean()


def ppo_objective_no_clip(new, old, adv, clip):
    return -(torch.exp(new - old) * adv).mean()


def group_advantages(rewards, group_size):
    g = rewards.view(-1, group_size)
    return ((g - g.mean(1, keepdim=True)) / (g.std(1, keepdim=True) + 1e-6)).view(-1)


def group_advantages_whole_batch(rewards, group_size):
    return (rewards - rewards.mean()) / (rewards.std() + 1e-6)


def group_advantages_no_eps(rewards, group_size):
    g = rewards.view(-1, group_size)
    return ((g - g.mean(1, keepdim=True)) / g.std(1, keepdim=True)).view(-1)


def group_advantages_population_std(rewards, group_size):
    g = rewards.view(-1, group_size)
    return ((g - g.mean(1, keepdim=True)) / (g.std(1, unbiased=False, keepdim=True) + 1e-6)).view(-1)


def _logps(model, batch):
    pairs = list(zip(batch["prompt"], batch["chosen"], batch["rejected"]))
    return (torch.stack([rlhf.sequence_logprob(model, p, c) for p, c, _ in pairs]),
            torch.stack([rlhf.sequence_logprob(model, p, r) for p, _, r in pairs]))


def _dpo_step(policy_weights, reference_weights, batch, beta, lr, sign=1.0, beta_used=None,
              same_model=False, train_reference=False, uphill=False):
    policy, reference = GPT(DPO_CONFIG), GPT(DPO_CONFIG)
    policy.load_state_dict(policy_weights)
    reference.load_state_dict(reference_weights)
    pc, pr = _logps(policy, batch)
    if same_model:
        rc, rr = pc.detach(), pr.detach()
    elif train_reference:
        rc, rr = _logps(reference, batch)
    else:
        with torch.no_grad():
            rc, rr = _logps(reference, batch)
    b = beta if beta_used is None else beta_used
    loss = -F.logsigmoid(sign * b * ((pc - rc) - (pr - rr))).mean()
    loss.backward()
    with torch.no_grad():
        for p in policy.parameters():
            p += lr * p.grad if uphill else -lr * p.grad
        if train_reference:  # the reference trained too, through the tensors it was given
            for name, p in reference.named_parameters():
                reference_weights[name] -= lr * p.grad
    return loss.item(), policy.state_dict()


def dpo_step(policy_weights, reference_weights, batch, beta, lr):
    return _dpo_step(policy_weights, reference_weights, batch, beta, lr)


RIGHT = {
    "08.1": {"bt_loss": bt_loss},
    "08.2": {"response_logprob": response_logprob},
    "08.3": {"dpo": dpo},
    "08.4": {"kl_k3": kl_k3},
    "08.5": {"ppo_objective": ppo_objective},
    "08.6": {"group_advantages": group_advantages},
    "08.7": {"dpo_step": dpo_step},
}

WRONG = {
    "08.1": [({"bt_loss": bt_loss_sign}, "wrong sign")],
    "08.2": [({"response_logprob": response_logprob_all}, "response_logprob(model, [")],
    "08.3": [
        ({"dpo": dpo_no_beta}, "beta is missing"),
        ({"dpo": dpo_sign}, "wrong sign"),
        ({"dpo": dpo_no_reference}, "reference log-probabilities are not subtracted"),
    ],
    "08.4": [({"kl_k3": kl_k3_no_mask}, "kl_k3(logp, ref_logp, mask)")],
    "08.5": [({"ppo_objective": ppo_objective_no_clip}, "ppo_objective(..., clip=")],
    "08.6": [
        ({"group_advantages": group_advantages_whole_batch}, "normalised over the whole batch"),
        ({"group_advantages": group_advantages_no_eps}, "Add a small eps"),
        ({"group_advantages": group_advantages_population_std}, "population std"),
    ],
    "08.7": [
        ({"dpo_step": lambda *a: _dpo_step(*a, same_model=True)}, "the loss is log 2"),
        ({"dpo_step": lambda *a: _dpo_step(*a, train_reference=True)}, "reference model's weights changed"),
        ({"dpo_step": lambda *a: _dpo_step(*a, sign=-1.0)}, "wrong sign"),
        ({"dpo_step": lambda *a: _dpo_step(*a, beta_used=1.0)}, "beta is missing"),
        ({"dpo_step": lambda *a: _dpo_step(*a, uphill=True)}, "the step went uphill"),
    ],
}
