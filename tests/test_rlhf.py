"""The comparison of policies: a policy against itself ties, and the table prints every row."""

import pytest
import torch

from llmbook import preferences as P
from llmbook import rlhf
from llmbook.gpt import GPT, GPTConfig

TINY = GPTConfig(vocab_size=4099, context_length=128, n_layer=1, n_head=2, n_embd=32, dropout=0.0)


def test_a_policy_against_itself_ties_at_zero_kl():
    torch.manual_seed(0)
    ref = GPT(TINY).eval()
    rm = rlhf.RewardModel(TINY)
    prompts = [(p, "en") for p in P.prompts("en", "heldout")[:2]]
    out = rlhf.evaluate_policies({"SFT": ref, "same": ref}, ref, rm, prompts, samples=2)
    assert out["same"]["win_rate"] == 0.5 and out["SFT"]["win_rate"] == 0.5
    assert out["same"]["kl"] == pytest.approx(0.0, abs=1e-6)
    assert out["same"]["true_preference"] == out["SFT"]["true_preference"]
    table = rlhf.format_table(out, "en").splitlines()
    assert len(table) == 4 and table[3].startswith("| same | 0.50 |")
