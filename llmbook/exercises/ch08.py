"""Chapter 8 checks: Bradley-Terry loss, a response's log-probability, the DPO loss, a KL
estimate, PPO's clipped objective, GRPO's group advantages and one DPO step against a frozen
reference, each against :mod:`llmbook.rlhf` on random inputs."""

from __future__ import annotations

import math

import torch

from llmbook import rlhf
from llmbook.exercises.core import Fail, call, exercise, expect_close
from llmbook.gpt import GPT, GPTConfig

# The small GPT of the DPO-step exercise: the notebook builds its models with this configuration.
DPO_CONFIG = GPTConfig(vocab_size=24, context_length=16, n_layer=1, n_head=2, n_embd=16, dropout=0.0)


def _matches(got, value: torch.Tensor, atol: float = 1e-5) -> bool:
    got = torch.as_tensor(got, dtype=torch.float64) if isinstance(got, (torch.Tensor, float, int)) else None
    return (got is not None and got.shape == value.shape
            and bool(torch.allclose(got, value.double(), atol=atol)))  # fmt: skip


def F_logsig(x: torch.Tensor) -> torch.Tensor:
    return torch.nn.functional.logsigmoid(x)


def _dpo_diagnose(got, logps, beta: float, what: str) -> None:
    """Name the typical mistake of a DPO loss ``got`` for the four log-probabilities, if any."""
    pc, pr, rc, rr = logps
    if _matches(got, rlhf.dpo_loss(*logps, beta)):
        return
    margin = beta * ((pc - rc) - (pr - rr))
    if _matches(got, F_logsig(margin).mean()) or _matches(got, -F_logsig(-margin).mean()):
        raise Fail(f"{what}: 부호가 틀렸습니다. 손실은 -log σ(β·여유)의 평균이고, 선택된 답의 암묵적 보상이 "
                   "거절된 답보다 클수록 작아집니다.",
                   f"{what}: wrong sign. The loss is the mean of -log σ(β · margin); it shrinks as the "
                   "chosen answer's implicit reward exceeds the rejected one's.")  # fmt: skip
    if beta != 1 and _matches(got, rlhf.dpo_loss(*logps, 1.0)):
        raise Fail(f"{what}: β가 빠졌습니다. 여유에 β를 곱한 뒤 log σ를 취합니다.",
                   f"{what}: beta is missing: multiply the margin by beta before log σ.")  # fmt: skip
    if _matches(got, rlhf.dpo_loss(pc, pr, torch.zeros_like(rc), torch.zeros_like(rr), beta)):
        raise Fail(f"{what}: 참조 모델의 로그 확률을 빼지 않았습니다. 암묵적 보상은 β(log π - log π_ref)입니다.",
                   f"{what}: the reference log-probabilities are not subtracted: the implicit reward "
                   "is beta (log pi - log pi_ref).")  # fmt: skip
    if _matches(got, torch.tensor(math.log(2.0))):
        raise Fail(f"{what}: 손실이 log 2 = 0.693입니다: 참조 모델의 로그 확률이 정책의 것과 같습니다. "
                   "참조는 훈련하지 않는 고정된 복사본(reference)에서 계산해야 합니다.",
                   f"{what}: the loss is log 2 = 0.693: your reference log-probabilities equal the "
                   "policy's. Compute them with the frozen reference, which the step leaves "
                   "unchanged.")  # fmt: skip


@exercise("08.1", "bt_loss", points=1, ko="브래들리-테리 손실", en="Bradley-Terry loss")
def _bt_loss(fn) -> None:
    gen = torch.Generator().manual_seed(81)
    for n in (1, 4, 9):
        rc, rr = torch.randn(n, generator=gen) * 2, torch.randn(n, generator=gen) * 2
        got = call(fn, rc.clone(), rr.clone())
        if _matches(got, rlhf.bradley_terry_loss(rr, rc)) or _matches(got, F_logsig(rc - rr).mean()):
            raise Fail("bt_loss: 부호가 틀렸습니다. 손실은 -log σ(r_선택 - r_거절)의 평균입니다: 선택된 답의 "
                       "점수가 높을수록 작아져야 합니다.",
                       "bt_loss: wrong sign. The loss is the mean of -log σ(r_chosen - r_rejected): it "
                       "must shrink as the chosen answer's score rises.")  # fmt: skip
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
        _dpo_diagnose(got, logps, beta, "dpo")
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


@exercise("08.6", "group_advantages", points=2, ko="GRPO의 그룹 이점", en="GRPO's group advantages")
def _group_advantages(fn) -> None:
    gen = torch.Generator().manual_seed(86)
    cases = [(torch.randn(8, generator=gen) * 2, 4), (torch.randn(6, generator=gen), 3),
             (torch.tensor([1.0, 1.0, 1.0, 0.0, 2.0, 1.0]), 3),  # a group whose answers tie
             (torch.randn(12, generator=gen) + torch.arange(12.0) // 4 * 3, 4)]  # fmt: skip
    for rewards, size in cases:
        what = f"group_advantages(<{len(rewards)} rewards>, group_size={size})"
        got = call(fn, rewards.clone(), size)
        expected = rlhf.group_advantages(rewards, size)
        if _matches(got, expected, atol=1e-4):
            continue
        g = rewards.view(-1, size)
        whole = (rewards - rewards.mean()) / (rewards.std() + 1e-6)
        if _matches(got, whole, atol=1e-4):
            raise Fail(f"{what}: 배치 전체로 정규화했습니다. 평균과 표준편차는 그룹마다(같은 프롬프트의 "
                       "답끼리) 따로 구합니다: rewards.view(-1, group_size).",
                       f"{what}: normalised over the whole batch. The mean and std are taken per "
                       "group (the answers to one prompt): rewards.view(-1, group_size).")  # fmt: skip
        biased = ((g - g.mean(1, keepdim=True)) / (g.std(1, unbiased=False, keepdim=True) + 1e-6)).view(-1)
        if _matches(got, biased, atol=1e-4):
            raise Fail(f"{what}: 모집단 표준편차(n으로 나눔)를 썼습니다. torch.std의 기본값처럼 n - 1로 "
                       "나누는 표본 표준편차를 쓰세요.",
                       f"{what}: population std (divided by n). Use the sample std that divides by "
                       "n - 1, torch.std's default.")  # fmt: skip
        centred = (g - g.mean(1, keepdim=True)).view(-1)
        if _matches(got, centred, atol=1e-4):
            raise Fail(f"{what}: 평균만 빼고 표준편차로 나누지 않았습니다.",
                       f"{what}: the group mean is subtracted but nothing is divided by the group's std.")  # fmt: skip
        finite = isinstance(got, torch.Tensor) and bool(torch.isfinite(torch.as_tensor(got)).all())
        if not finite and bool((g.std(1) == 0).any()):
            raise Fail(f"{what}: 답이 모두 같은 보상을 받은 그룹에서 표준편차가 0이라 0으로 나누었습니다. "
                       "분모에 작은 eps(1e-6)를 더하세요.",
                       f"{what}: a group whose answers all got the same reward has std 0, and you "
                       "divided by it. Add a small eps (1e-6) to the denominator.")  # fmt: skip
        expect_close(got, expected, what, atol=1e-4)


def _dpo_models(seed: int) -> tuple[GPT, GPT]:
    """A policy that has moved a little away from its reference."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        reference = GPT(DPO_CONFIG).eval()
        policy = GPT(DPO_CONFIG).eval()
        policy.load_state_dict(reference.state_dict())
        with torch.no_grad():
            for p in policy.parameters():
                p.add_(torch.randn_like(p) * 0.05)
    return policy, reference


def _dpo_batch(seed: int, n: int) -> dict[str, list[list[int]]]:
    gen = torch.Generator().manual_seed(seed)

    def ids(lo: int, hi: int) -> list[list[int]]:
        return [torch.randint(DPO_CONFIG.vocab_size, (int(torch.randint(lo, hi + 1, (1,), generator=gen)),),
                              generator=gen).tolist() for _ in range(n)]  # fmt: skip

    return {"prompt": ids(1, 4), "chosen": ids(1, 4), "rejected": ids(1, 4)}


def dpo_step_reference(policy: GPT, reference: GPT, batch: dict, beta: float, lr: float):
    """One DPO step by plain gradient descent (``w <- w - lr * grad``): the loss before the step,
    the policy's new weights, and the gradient (for the checks' diagnoses)."""
    n = len(batch["prompt"])
    ids, mask = rlhf.pad_batch(batch["prompt"] * 2, batch["chosen"] + batch["rejected"], "cpu")
    ids = ids.clamp(max=DPO_CONFIG.vocab_size - 1)  # padding after the answers: masked out anyway
    pc, pr = rlhf.token_logprobs(policy, ids, mask).sum(-1).split(n)  # log p(answer | prompt)
    with torch.no_grad():  # the reference is frozen: no gradient, never updated
        rc, rr = rlhf.token_logprobs(reference, ids, mask).sum(-1).split(n)
    loss = rlhf.dpo_loss(pc, pr, rc, rr, beta)
    policy.zero_grad(set_to_none=True)
    loss.backward()
    grads = {name: p.grad.clone() for name, p in policy.named_parameters()}
    with torch.no_grad():
        for p in policy.parameters():
            p -= lr * p.grad
    return loss.item(), {k: v.clone() for k, v in policy.state_dict().items()}, grads, (pc, pr, rc, rr)


@exercise("08.7", "dpo_step", points=3, ko="DPO 한 단계 (고정된 참조 모델)",
          en="One DPO step against a frozen reference")  # fmt: skip
def _dpo_step(fn) -> None:
    for seed, n, beta, lr in ((871, 2, 0.5, 0.1), (872, 3, 2.0, 0.5)):
        policy, reference = _dpo_models(seed)
        batch = _dpo_batch(seed, n)
        weights = {k: v.clone() for k, v in policy.state_dict().items()}
        ref_weights = {k: v.clone() for k, v in reference.state_dict().items()}
        passed = {k: v.clone() for k, v in ref_weights.items()}
        what = f"dpo_step(policy_weights, reference_weights, <{n} pairs>, beta={beta}, lr={lr})"
        got = call(fn, {k: v.clone() for k, v in weights.items()}, passed,
                   {k: [list(x) for x in v] for k, v in batch.items()}, beta, lr)  # fmt: skip
        if not isinstance(got, (tuple, list)) or len(got) != 2 or not isinstance(got[1], dict):
            raise Fail(f"{what}: (손실, 새 정책 가중치 딕셔너리)를 반환해야 합니다.",
                       f"{what}: return (loss, a dict of the policy's new weights).")  # fmt: skip
        loss, new = got
        exp_loss, exp_new, grads, logps = dpo_step_reference(policy, reference, batch, beta, lr)
        if any(not torch.equal(passed[k], ref_weights[k]) for k in ref_weights):
            raise Fail(f"{what}: 참조 모델의 가중치가 바뀌었습니다. 참조는 고정합니다: 기울기를 구하지도, "
                       "갱신하지도 않습니다.",
                       f"{what}: the reference model's weights changed. The reference is frozen: no "
                       "gradient, no update.")  # fmt: skip
        _dpo_diagnose(loss, [t.detach() for t in logps], beta, what)
        expect_close(loss, exp_loss, f"loss of {what}", atol=1e-4)
        if sorted(new) != sorted(exp_new):
            raise Fail(f"{what}: 새 가중치의 이름이 정책의 state_dict()와 다릅니다.",
                       f"{what}: the new weights' names differ from the policy's state_dict().")  # fmt: skip
        new = {k: torch.as_tensor(v) for k, v in new.items()}
        if all(_matches(new[k], weights[k], atol=1e-7) for k in weights):
            raise Fail(f"{what}: 정책의 가중치가 그대로입니다. 손실의 기울기로 w ← w - lr · grad 한 단계를 "
                       "밟으세요.",
                       f"{what}: the policy's weights did not move. Take one step w <- w - lr * grad "
                       "on the loss's gradient.")  # fmt: skip
        uphill = {k: weights[k] + lr * grads[k] for k in grads}
        if all(_matches(new[k], uphill[k], atol=1e-5) for k in uphill):
            raise Fail(f"{what}: 기울기 방향으로 올라갔습니다. 손실을 줄이려면 w - lr · grad입니다.",
                       f"{what}: the step went uphill. To lower the loss it is w - lr * grad.")  # fmt: skip
        for k in exp_new:
            expect_close(new[k], exp_new[k], f"new {k} of {what}", atol=1e-5)
