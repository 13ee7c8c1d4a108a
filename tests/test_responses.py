"""A policy's answers as tensors: log-probabilities against the softmax by hand, KL's zero."""

import pytest
import torch

from llmbook import responses
from llmbook.gpt import GPT, GPTConfig

TINY = GPTConfig(vocab_size=4099, context_length=128, n_layer=1, n_head=2, n_embd=32, dropout=0.0)



def test_sequence_logprob_is_sum_of_gathered_log_softmax():
    torch.manual_seed(0)
    model = GPT(TINY).eval()
    prompt, response = [5, 17, 300], [42, 7, 4095]
    ids = torch.tensor([prompt + response])
    logp = torch.log_softmax(model(ids)[0], -1)
    by_hand = sum(logp[len(prompt) - 1 + i, t] for i, t in enumerate(response))
    got = responses.sequence_logprob(model, prompt, response)
    assert got.item() == pytest.approx(by_hand.item(), abs=1e-5)
    # batched with padding gives the same numbers
    ids, mask = responses.pad_batch([prompt, [9]], [response, [1, 2, 3, 4, 5, 6]])
    assert responses.token_logprobs(model, ids, mask).sum(-1)[0].item() == pytest.approx(got.item(), abs=1e-5)
    with pytest.raises(ValueError):
        responses.sequence_logprob(model, [], response)


def test_kl_estimate_zero_iff_same_policy():
    lp = torch.log_softmax(torch.randn(3, 5), -1)
    assert torch.allclose(responses.kl_estimate(lp, lp), torch.zeros(3))
    other = lp + 0.3 * torch.randn(3, 5)
    assert (responses.kl_estimate(other, lp) > 0).all()
    mask = torch.zeros(3, 5)
    assert torch.allclose(responses.kl_estimate(other, lp, mask), torch.zeros(3))
