"""Chapter 8 checks: Bradley-Terry loss, a response's log-probability, the DPO loss, a KL
estimate and PPO's clipped objective, each against :mod:`llmbook.rlhf` on random inputs."""

from __future__ import annotations

import torch

from llmbook import rlhf
from llmbook.exercises.core import call, exercise, expect_close
from llmbook.gpt import GPT, GPTConfig


@exercise("08.1", "bt_loss", points=1, ko="브래들리-테리 손실", en="Bradley-Terry loss")
def _bt_loss(fn) -> None:
    gen = torch.Generator().manual_seed(81)
    for n in (1, 4, 9):
        rc, rr = torch.randn(n, generator=gen) * 2, torch.randn(n, generator=gen) * 2
        got = call(fn, rc.clone(), rr.clone())
        expect_close(got, rlhf.bradley_terry_loss(rc, rr), f"bt_loss(r_chosen, r_rejected) with {n} pairs",
                     atol=1e-5)  # fmt: skip


@exercise("08.2", "response_logprob", points=2, ko="응답의 로그 확률", en="Log-probability of a response")
def _response_logprob(fn) -> None:
    torch.manual_seed(82)
    cfg = GPTConfig(vocab_size=50, context_length=16, n_layer=1, n_head=2, n_embd=16, dropout=0.0)
    model = GPT(cfg).eval()
    gen = torch.Generator().manual_seed(82)
    for p_len, r_len in ((1, 1), (3, 2), (5, 6)):
        prompt = torch.randint(50, (p_len,), generator=gen).tolist()
        response = torch.randint(50, (r_len,), generator=gen).tolist()
        with torch.no_grad():
            expected = rlhf.sequence_logprob(model, prompt, response)
        got = call(fn, model, list(prompt), list(response))
        expect_close(got, expected, f"response_logprob(model, {prompt}, {response})", atol=1e-4)


@exercise("08.3", "dpo", points=2, ko="DPO 손실", en="The DPO loss")
def _dpo(fn) -> None:
    gen = torch.Generator().manual_seed(83)
    for n, beta in ((1, 0.1), (5, 0.5), (8, 2.0)):
        logps = [-torch.rand(n, generator=gen) * 20 for _ in range(4)]
        got = call(fn, *(x.clone() for x in logps), beta)
        expect_close(got, rlhf.dpo_loss(*logps, beta), f"dpo(..., beta={beta}) with {n} pairs",
                     atol=1e-5)  # fmt: skip


@exercise("08.4", "kl_k3", points=1, ko="KL 추정량 (k3)", en="A KL estimate (k3)")
def _kl_k3(fn) -> None:
    gen = torch.Generator().manual_seed(84)
    for shape in ((2, 3), (4, 7)):
        ref = -torch.rand(shape, generator=gen) * 5
        logp = ref + torch.randn(shape, generator=gen) * 0.5
        mask = (torch.rand(shape, generator=gen) > 0.3).float()
        got = call(fn, logp.clone(), ref.clone(), mask.clone())
        expect_close(got, rlhf.kl_estimate(logp, ref, mask), f"kl_k3(logp, ref_logp, mask) {shape}",
                     atol=1e-5)  # fmt: skip


@exercise("08.5", "ppo_objective", points=2, ko="PPO 클리핑 목적 함수", en="PPO's clipped objective")
def _ppo_objective(fn) -> None:
    gen = torch.Generator().manual_seed(85)
    for n, clip in ((4, 0.2), (10, 0.1), (6, 0.3)):
        old = -torch.rand(n, generator=gen) * 3
        new = old + torch.randn(n, generator=gen) * 0.4  # ratios on both sides of the clip range
        adv = torch.randn(n, generator=gen)
        got = call(fn, new.clone(), old.clone(), adv.clone(), clip)
        expect_close(got, rlhf.ppo_clip_loss(new, old, adv, clip), f"ppo_objective(..., clip={clip})",
                     atol=1e-5)  # fmt: skip
