import torch

from llmbook import seed
from llmbook.metrics import perplexity
from llmbook.rnn import RNNLM, gradient_through_time, log_probs
from llmbook.train import TrainConfig, Windows, train


def test_log_probs_match_one_full_pass_and_carry_state_across_chunks():
    seed(0)
    m = RNNLM(7, "lstm", d_embed=8, d_hidden=16)
    ids = torch.randint(0, 7, (100,))
    full = torch.log_softmax(m(ids[None, :-1])[0], -1).gather(1, ids[1:, None])[:, 0]
    torch.testing.assert_close(log_probs(m, ids, chunk=13), full.detach())


def test_rnn_learns_a_pattern_beyond_a_bigram():
    # 'abcabd...': after 'b' comes 'c' or 'd' alternately; only memory of 3 steps predicts it
    seed(0)
    ids = [0, 1, 2, 0, 1, 3] * 200
    m = RNNLM(4, "gru", d_embed=8, d_hidden=32)
    train(m, Windows(ids, 12), TrainConfig(steps=120, batch_size=16, lr=1e-2, warmup_steps=10,
                                           eval_every=120), progress=False)  # fmt: skip
    assert perplexity(log_probs(m, ids[:120])) < 1.2  # a bigram model cannot go below 2^(1/3)


def test_vanilla_rnn_gradients_vanish_faster_than_lstm():
    seed(0)
    ids = torch.randint(0, 10, (8, 61))
    norms = {}
    for cell in ("rnn", "lstm"):
        m = RNNLM(10, cell, d_embed=16, d_hidden=64)
        g = gradient_through_time(m, ids)
        assert g.shape == (60,)
        norms[cell] = (g[40] / g[0]).item()
    assert norms["rnn"] < 1e-3
    assert norms["rnn"] < norms["lstm"]
