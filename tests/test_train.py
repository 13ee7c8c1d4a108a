import math

import pytest
import torch

from llmbook.train import (
    TrainConfig,
    Windows,
    evaluate,
    lm_loss,
    lr_at,
    make_optimizer,
    next_token_pairs,
    random_batch,
    train,
    train_step,
)


class Bigram(torch.nn.Module):
    """The smallest language model: a table of next-token logits per token (plus a bias)."""

    def __init__(self, vocab: int):
        super().__init__()
        self.table = torch.nn.Embedding(vocab, vocab)
        self.bias = torch.nn.Parameter(torch.zeros(vocab))

    def forward(self, idx):
        return self.table(idx) + self.bias


def test_next_token_pairs():
    assert next_token_pairs([5, 6, 7, 8], 2) == [([5], 6), ([5, 6], 7), ([6, 7], 8)]
    assert next_token_pairs([1], 3) == []
    with pytest.raises(ValueError, match="context_length"):
        next_token_pairs([1, 2], 0)


def test_random_batch_targets_are_inputs_shifted_by_one():
    tokens = torch.arange(100)
    x, y = random_batch(tokens, 4, 8, torch.Generator().manual_seed(0))
    assert x.shape == y.shape == (4, 8)
    assert torch.equal(y[:, :-1], x[:, 1:])
    assert torch.equal(y, x + 1)


def test_schedule_warms_up_then_decays_to_the_floor():
    cfg = TrainConfig(steps=100, lr=1.0, warmup_steps=10, min_lr_ratio=0.1)
    lrs = [lr_at(s, cfg) for s in range(100)]
    assert lrs[0] == pytest.approx(0.1) and lrs[9] == pytest.approx(1.0)
    assert all(a >= b for a, b in zip(lrs[9:], lrs[10:]))
    assert lr_at(100, cfg) == pytest.approx(0.1)
    assert lr_at(55, cfg) == pytest.approx(0.1 + 0.9 * 0.5)


def test_weight_decay_only_on_matrices():
    opt = make_optimizer(Bigram(5), lr=1e-3, weight_decay=0.1)
    decay, no_decay = opt.param_groups
    assert [p.dim() for p in decay["params"]] == [2] and decay["weight_decay"] == 0.1
    assert [p.dim() for p in no_decay["params"]] == [1] and no_decay["weight_decay"] == 0.0


def test_training_lowers_the_held_out_loss_towards_the_true_entropy():
    # A deterministic cycle 0 1 2 3 0 1 ...: the next token is certain, so the loss can reach ~0.
    tokens = torch.arange(4).repeat(200)
    torch.manual_seed(0)
    model = Bigram(4)
    before = evaluate(model, tokens, context_length=8)
    cfg = TrainConfig(steps=150, batch_size=8, lr=0.1, warmup_steps=5, eval_every=50)
    seen = []
    hist = train(model, Windows(tokens, 8), cfg, eval_tokens=tokens, on_eval=lambda s, v: seen.append(s),
                 progress=False)  # fmt: skip
    assert before > 1.0
    assert hist.eval_loss[-1] < 0.1 < before
    assert seen == [50, 100, 150] == hist.eval_steps
    assert len(hist.train_loss) == 150 and math.isfinite(hist.train_loss[-1])


def test_too_short_text_and_bad_config_are_clear_errors():
    with pytest.raises(ValueError, match="too few"):
        train(Bigram(3), Windows([0, 1, 2], 8), TrainConfig(), progress=False)
    with pytest.raises(ValueError, match="no config.context_length"):
        train(Bigram(3), torch.arange(30) % 3, TrainConfig(), progress=False)
    with pytest.raises(ValueError, match="steps"):
        TrainConfig(steps=0)


def _gpt(seed: int = 0):
    from llmbook.gpt import GPT, GPTConfig

    torch.manual_seed(seed)
    return GPT(GPTConfig(vocab_size=16, context_length=8, n_layer=1, n_head=2, n_embd=16))


def test_gradient_accumulation_matches_one_big_batch():
    tokens = torch.arange(16).repeat(30) % 11
    base = dict(steps=6, batch_size=8, lr=1e-2, warmup_steps=1)
    whole, pieces = _gpt(), _gpt()
    h1 = train(whole, tokens, TrainConfig(**base), progress=False)
    h4 = train(pieces, tokens, TrainConfig(**base, grad_accum=4), progress=False)
    assert h4.train_loss == pytest.approx(h1.train_loss, rel=1e-5)
    # Adam divides by sqrt(v), so float rounding differences of the summed gradients grow to
    # ~1e-5 after a few steps: tiny next to how far the weights moved (~lr per step)
    for a, b in zip(whole.parameters(), pieces.parameters()):
        torch.testing.assert_close(a, b, rtol=0, atol=1e-4)
    assert (whole.head.weight - _gpt().head.weight).abs().max() > 2e-2
    with pytest.raises(ValueError, match="divisible by grad_accum"):
        TrainConfig(batch_size=6, grad_accum=4)


def test_cpu_training_stays_fp32_even_with_amp_on():
    tokens = torch.arange(16).repeat(30) % 11
    base = dict(steps=3, batch_size=4, warmup_steps=1)
    amp, plain = _gpt(), _gpt()
    train(amp, tokens, TrainConfig(**base, amp=True), progress=False)
    train(plain, tokens, TrainConfig(**base, amp=False), progress=False)
    for a, b in zip(amp.parameters(), plain.parameters()):
        assert a.dtype == torch.float32 and torch.equal(a, b)


def test_weight_average_is_what_evaluation_sees_and_what_training_returns():
    tokens = torch.arange(16).repeat(30) % 11
    base = dict(steps=8, batch_size=4, lr=1e-2, warmup_steps=1, eval_every=4,
                eval_batches=2)  # fmt: skip
    seen = []  # the weights before every step, then the last ones

    def recording_loss(net, x, y):
        seen.append([p.detach().clone() for p in net.parameters()])
        return lm_loss(net, x, y)

    plain = _gpt()
    train(plain, tokens, TrainConfig(**base), progress=False, loss_fn=recording_loss)
    seen.append([p.detach().clone() for p in plain.parameters()])
    averaged = _gpt()
    hist = train(averaged, tokens, TrainConfig(**base, ema_decay=0.5), eval_tokens=tokens,
                 progress=False)  # fmt: skip
    expected = seen[0]  # the average starts at the initial weights
    for weights in seen[1:]:
        expected = [0.5 * e + 0.5 * w for e, w in zip(expected, weights)]
    for e, got in zip(expected, averaged.parameters()):
        torch.testing.assert_close(got, e, rtol=0, atol=1e-6)
    assert any(not torch.allclose(got, last) for got, last in zip(averaged.parameters(),
                                                                  plain.parameters()))  # fmt: skip
    assert hist.eval_loss[-1] == pytest.approx(evaluate(averaged, tokens, 8, 4, 2), abs=1e-6)
    with pytest.raises(ValueError, match="ema_decay"):
        TrainConfig(ema_decay=1.0)


def test_train_step_is_one_written_out_optimizer_step():
    tokens = torch.arange(16).repeat(30) % 11
    x, y = random_batch(tokens, 8, 8, torch.Generator().manual_seed(0))
    ours, ref = _gpt(), _gpt()
    opt, ref_opt = make_optimizer(ours, 1.0, 0.1), make_optimizer(ref, 1.0, 0.1)
    loss = train_step(ours, opt, lm_loss, (x, y), lr=0.01, grad_clip=0.5)
    for group in ref_opt.param_groups:  # the same step written out
        group["lr"] = 0.01
    ref_opt.zero_grad(set_to_none=True)
    ref_loss = lm_loss(ref, x, y)
    ref_loss.backward()
    torch.nn.utils.clip_grad_norm_(ref.parameters(), 0.5)
    ref_opt.step()
    assert loss == ref_loss.item()
    for a, b in zip(ours.parameters(), ref.parameters()):
        assert torch.equal(a, b)


def test_train_step_takes_any_sliceable_batch_in_micro_batches():
    # what the reward model, GRPO and DPO loops pass: lists of examples, scored by their own loss
    pairs = [(i % 5, (i * 3) % 7) for i in range(8)]

    def pair_loss(model, batch):
        x = torch.tensor([[a, b] for a, b in batch], dtype=torch.float32)
        return model(x).square().mean()

    whole, pieces = torch.nn.Linear(2, 1), torch.nn.Linear(2, 1)
    pieces.load_state_dict(whole.state_dict())
    opt_w = torch.optim.SGD(whole.parameters(), lr=0.01)
    opt_p = torch.optim.SGD(pieces.parameters(), lr=0.01)
    lw = train_step(whole, opt_w, pair_loss, (pairs,), grad_clip=0)
    lp = train_step(pieces, opt_p, pair_loss, (pairs,), grad_clip=0, micro_batches=4)
    assert lp == pytest.approx(lw, rel=1e-6)
    for a, b in zip(whole.parameters(), pieces.parameters()):
        torch.testing.assert_close(a, b, rtol=0, atol=1e-6)
