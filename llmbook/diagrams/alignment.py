"""Concept diagrams for chapter 8 (RLHF and DPO): the pipeline from SFT through a reward model to
reinforcement learning, DPO's chosen/rejected pair against a frozen reference, and a GRPO group
whose rewards become advantages by comparing each answer with its own group."""

from __future__ import annotations

from llmbook.diagrams import Diagram, pick
from llmbook.grpo import group_advantages


def rlhf_pipeline(lang: str = "en") -> Diagram:
    """SFT policy -> reward model trained on preference pairs -> RL (GRPO) against the reward
    with a KL penalty to the frozen SFT reference; DPO as the shortcut from pairs to policy."""
    d = Diagram(17, 8.4, pick(lang, "RLHF: SFT → 보상 모델 → 강화 학습, 그리고 지름길 DPO",
                              "RLHF: SFT → reward model → RL, and the DPO shortcut"))  # fmt: skip
    d.box(0.4, 3.6, 3.4, 1.2, pick(lang, "SFT 정책\n(7장)", "SFT policy\n(chapter 7)"), kind="layer")
    d.box(5.2, 6.0, 3.6, 1.0, pick(lang, "선호 쌍\n(선택된 답, 거절된 답)", "preference pairs\n(chosen, rejected)"),
          kind="data", fontsize=9)  # fmt: skip
    d.box(5.2, 3.6, 3.6, 1.2, pick(lang, "보상 모델\n브래들리-테리 손실", "reward model\nBradley-Terry loss"),
          kind="loss", fontsize=9)  # fmt: skip
    d.box(10.4, 3.6, 3.2, 1.2, pick(lang, "GRPO (정책은\nSFT에서 시작)", "GRPO (policy\nstarts at SFT)"),
          kind="op", fontsize=9)  # fmt: skip
    d.box(14.4, 2.3, 2.3, 1.2, pick(lang, "정렬된\n정책", "aligned\npolicy"), kind="layer", fontsize=9)
    d.box(10.4, 1.0, 3.2, 1.2, pick(lang, "DPO\n(보상 모델 없음)", "DPO\n(no reward model)"), kind="op",
          fontsize=9)  # fmt: skip
    d.box(0.4, 1.0, 3.4, 1.2, pick(lang, "참조 모델\n(SFT 복사본, 고정)", "reference\n(SFT copy, frozen)"),
          kind="note", fontsize=9)  # fmt: skip
    d.arrow((3.8, 4.2), (5.2, 4.2), text=pick(lang, "초기화", "init"))
    d.arrow((7.0, 6.0), (7.0, 4.8))
    d.arrow((8.8, 4.2), (10.4, 4.2), text=pick(lang, "보상", "reward"))
    d.arrow((8.8, 6.3), (10.6, 2.2), curve=0.15)
    d.text(10.9, 5.6, pick(lang, "쌍을 그대로 씀", "uses the pairs directly"), fontsize=8, color="#333333")
    d.arrow((3.8, 1.6), (10.4, 1.6), text=pick(lang, "로그 확률 비율의 기준", "anchor of the log-ratio"))
    d.arrow((3.8, 2.0), (10.4, 3.7), dashed=True)
    d.text(6.4, 3.05, pick(lang, "KL 벌점", "KL penalty"), fontsize=8, color="#333333")
    d.arrow((2.1, 3.6), (2.1, 2.2), text=pick(lang, "복사", "copy"))
    d.arrow((13.6, 4.2), (14.6, 3.5))
    d.arrow((13.6, 1.6), (14.6, 2.3))
    return d


def dpo_pair(lang: str = "en") -> Diagram:
    """One DPO pair: policy and frozen reference score the chosen and the rejected answer; the
    implicit rewards beta (log pi - log pi_ref) go into a Bradley-Terry loss; only the policy
    gets gradients."""
    d = Diagram(17, 8.6, pick(lang, "DPO: 선택된 답과 거절된 답, 그리고 고정된 참조 모델",
                              "DPO: the chosen and rejected answers against a frozen reference"))  # fmt: skip
    d.box(0.4, 5.8, 3.4, 0.9, pick(lang, "프롬프트 x", "prompt x"), kind="data")
    d.box(0.4, 4.2, 3.4, 0.9, pick(lang, "선택된 답 y⁺", "chosen y⁺"), kind="data")
    d.box(0.4, 2.6, 3.4, 0.9, pick(lang, "거절된 답 y⁻", "rejected y⁻"), kind="data")
    d.box(5.2, 4.9, 3.6, 1.3, pick(lang, "정책 π\n(기울기를 받아 훈련)", "policy π\n(gets the gradient)"), kind="layer")
    d.box(5.2, 2.2, 3.6, 1.3, pick(lang, "참조 π_ref\n(고정, 기울기 없음)", "reference π_ref\n(frozen, no grad)"),
          kind="note", fontsize=9)  # fmt: skip
    for y in (6.25, 4.65, 3.05):
        d.arrow((3.8, y), (5.2, 5.5))
        d.arrow((3.8, y), (5.2, 2.85))
    d.box(10.0, 4.3, 4.6, 1.6, pick(lang, "암묵적 보상\nβ(log π(y) - log π_ref(y))\n선택된 답, 거절된 답 각각",
                                    "implicit reward\nβ(log π(y) - log π_ref(y))\nfor y⁺ and for y⁻"),
          kind="op", fontsize=9)  # fmt: skip
    d.arrow((8.8, 5.5), (10.0, 5.2), text="log π")
    d.arrow((8.8, 2.85), (10.0, 4.6), text="log π_ref")
    d.box(10.0, 1.6, 4.6, 1.3, pick(lang, "손실 = -log σ(보상⁺ - 보상⁻)", "loss = -log σ(reward⁺ - reward⁻)"),
          kind="loss", fontsize=9)  # fmt: skip
    d.arrow((12.3, 4.3), (12.3, 2.9))
    d.text(12.3, 0.8, pick(lang, "y⁺의 확률은 올리고 y⁻의 확률은 내립니다 (참조보다 상대적으로)",
                           "raises y⁺ and lowers y⁻ (relative to the reference)"), fontsize=9)  # fmt: skip
    return d


def grpo_group(lang: str = "en", rewards: tuple[float, ...] = (0.9, 0.2, -0.5, 0.2)) -> Diagram:
    """One GRPO group: several answers sampled for one prompt, scored by the reward model, and
    turned into advantages (reward - group mean) / group std with
    :func:`llmbook.grpo.group_advantages` — above the group's mean is pushed up, below it down."""
    import torch

    adv = group_advantages(torch.tensor(rewards), len(rewards)).tolist()
    mean = sum(rewards) / len(rewards)
    d = Diagram(17, 2.6 + 1.2 * len(rewards), pick(lang, "GRPO: 한 프롬프트의 답 그룹 안에서 비교한 이점",
                                                  "GRPO: advantages by comparing answers within one prompt's group"))  # fmt: skip
    top = 0.6 + 1.2 * (len(rewards) - 1)
    d.box(0.3, top / 2, 2.8, 1.0, pick(lang, "프롬프트", "prompt"), kind="data")
    d.text(5.2, top + 1.35, pick(lang, "정책이 샘플링한 답", "answers the policy sampled"), fontsize=9)
    d.text(9.2, top + 1.35, pick(lang, "보상 r", "reward r"), fontsize=9)
    d.text(13.9, top + 1.35, pick(lang, "이점 (r - 평균) / 표준편차", "advantage (r - mean) / std"), fontsize=9)
    for i, (r, a) in enumerate(zip(rewards, adv)):
        y = top - i * 1.2
        d.arrow((3.1, top / 2 + 0.5), (3.9, y + 0.4))
        d.box(3.9, y, 2.6, 0.8, pick(lang, f"답 {i + 1}", f"answer {i + 1}"), kind="data", fontsize=9)
        d.box(8.2, y, 2.0, 0.8, f"{r:+.1f}", kind="loss", fontsize=9)
        d.arrow((6.5, y + 0.4), (8.2, y + 0.4))
        # the advantage as a bar around a zero line
        d.ax.add_patch(__import__("matplotlib").patches.Rectangle(
            (13.9, y + 0.15), a * 1.6, 0.5, facecolor="#5b9bd5" if a > 0 else "#f4b183"))  # fmt: skip
        d.text(16.3, y + 0.4, f"{a:+.2f}", fontsize=9)
        d.arrow((10.2, y + 0.4), (11.6, y + 0.4))
    d.ax.plot([13.9, 13.9], [0.4, top + 1.0], color="#333333", linewidth=1)
    d.text(8.5, 0.15, pick(lang, f"그룹 평균 {mean:+.2f}이 기준선: 가치 함수가 필요 없습니다",
                           f"the group mean {mean:+.2f} is the baseline: no value function needed"),
           fontsize=9, color="#555555")  # fmt: skip
    return d
