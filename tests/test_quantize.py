import math

import pytest
import torch
from torch import nn
from torch.nn import functional as F

from llmbook import store
from llmbook.gpt import GPT, GPTConfig
from llmbook.lora import count_parameters
from llmbook.quantize import (
    NF4_LEVELS,
    NF4_MAX_HALF_GAP,
    UNIFORM4_LEVELS,
    QuantLinear,
    dequantize_int8,
    dequantize_nf4,
    int8_error_bound,
    model_bytes,
    nf4_error_bound,
    pack_4bit,
    quantize_int8,
    quantize_model,
    quantize_nf4,
    unpack_4bit,
)

CFG = GPTConfig(vocab_size=64, context_length=16, n_layer=2, n_head=2, n_embd=32)
ULP = torch.finfo(torch.float32).eps  # float32 rounding on top of the stated bounds: a few
# units in the last place of the largest value (absmax), far below the bounds themselves


def random_weights():
    gen = torch.Generator().manual_seed(0)
    yield torch.randn(7, 13, generator=gen)
    yield torch.randn(64, 200, generator=gen) * 0.02
    yield torch.rand(3, 5, generator=gen) * 1000 - 500
    yield torch.distributions.StudentT(3.0).sample((32, 48))  # heavy tails: outliers


@pytest.fixture(scope="module")
def base_weights():
    model = store.load("base")
    return [m.weight.detach() for m in model.modules() if isinstance(m, nn.Linear)]


def test_int8_error_is_at_most_half_a_step_per_row(base_weights):
    for w in [*random_weights(), *base_weights]:
        q, scale = quantize_int8(w)
        assert q.dtype == torch.int8 and q.shape == w.shape and scale.shape == (w.shape[0], 1)
        assert int(q.abs().max()) == 127  # every row's largest value uses the whole range
        err = (w - dequantize_int8(q, scale)).abs()
        bound = int8_error_bound(scale)
        assert torch.all(err <= bound + 4 * ULP * 127 * scale), float((err - bound).max())
        assert torch.equal(scale[:, 0], w.abs().amax(dim=1) / 127)


def test_int8_is_exact_on_the_grid_and_safe_on_zero_rows():
    grid = torch.tensor([[-127.0, -3.0, 0.0, 5.0, 127.0], [0.0] * 5, [1.0, 2.0, 3.0, 4.0, 127.0]])
    w = grid * torch.tensor([[0.5], [1.0], [0.01]])
    q, scale = quantize_int8(w)
    assert torch.equal(q[0], grid[0].to(torch.int8)) and torch.equal(q[1], torch.zeros(5, dtype=torch.int8))
    assert scale[1, 0] == 0
    deq = dequantize_int8(q, scale)
    assert torch.isfinite(deq).all() and torch.equal(deq[1], torch.zeros(5))
    assert torch.allclose(deq, w, atol=1e-6)


def test_nf4_levels_are_normal_quantiles_scaled_to_plus_minus_one():
    levels = NF4_LEVELS.double()
    assert levels.shape == (16,) and torch.all(levels[1:] > levels[:-1])
    assert levels[0] == -1 and levels[-1] == 1 and (levels == 0).sum() == 1
    assert (levels > 0).sum() == 8 and (levels < 0).sum() == 7
    normal = torch.distributions.Normal(0.0, 1.0)
    for side in (levels[levels > 0], -levels[levels < 0]):
        # undo the scaling with the largest quantile; then the probabilities are evenly spaced
        top = normal.icdf(torch.tensor(((1 - 1 / 30) + (1 - 1 / 32)) / 2, dtype=torch.float64))
        probs = normal.cdf(side.sort().values * top)
        steps = torch.diff(torch.cat([torch.tensor([0.5], dtype=torch.float64), probs]))
        assert torch.allclose(steps, steps.mean().expand_as(steps), atol=1e-6)
    assert math.isclose(NF4_MAX_HALF_GAP, float(torch.diff(levels).max()) / 2, rel_tol=1e-6)


def test_nf4_error_is_within_half_the_widest_gap_times_the_block_absmax(base_weights):
    for w in [*random_weights(), *base_weights]:
        for block in (64, 17):
            codes, absmax = quantize_nf4(w, block)
            n = w.numel()
            assert codes.dtype == torch.uint8 and codes.numel() == (n + 1) // 2
            assert absmax.numel() == math.ceil(n / block)
            deq = dequantize_nf4(codes, absmax, w.shape, block)
            err = (w - deq).abs().flatten()
            pad = absmax.numel() * block - n
            per_block = F.pad(err, (0, pad)).view(-1, block).amax(dim=1)
            assert torch.all(per_block <= nf4_error_bound(absmax) + 4 * ULP * absmax), block
            # the nearest level is chosen: no other level would be closer
            x = F.pad(w.flatten().float(), (0, pad)).view(-1, block) / absmax[:, None]
            best = (x[..., None] - NF4_LEVELS).abs().amin(-1).flatten()[:n]
            scale = absmax.repeat_interleave(block)[:n]
            chosen = (deq.flatten() - w.flatten()).abs() / scale
            assert torch.allclose(chosen, best, atol=1e-5)


def test_nf4_reconstructs_values_on_the_levels_exactly_and_zeros_stay_zero():
    absmax = torch.tensor([2.0, 0.5, 0.0])
    codes = torch.arange(16).repeat(3)[:40]
    w = NF4_LEVELS[codes] * absmax.repeat_interleave(16)[:40]
    w[32:] = 0.0  # an all-zero block
    packed, got_absmax = quantize_nf4(w, block_size=16)
    assert torch.equal(got_absmax, absmax)
    assert torch.equal(dequantize_nf4(packed, got_absmax, w.shape, 16), w)


def test_normal_shaped_levels_beat_evenly_spaced_ones_on_bell_shaped_weights(base_weights):
    gen = torch.Generator().manual_seed(1)
    for w in (torch.randn(256, 256, generator=gen), torch.cat([w.flatten() for w in base_weights])):
        errors = {}
        for name, levels in (("nf4", NF4_LEVELS), ("uniform", UNIFORM4_LEVELS)):
            codes, absmax = quantize_nf4(w, 64, levels)
            deq = dequantize_nf4(codes, absmax, w.shape, 64, levels)
            err = (w - deq).abs()
            scale = absmax.repeat_interleave(64)[: w.numel()].view(w.shape)
            assert torch.all(err <= nf4_error_bound(scale, levels) + 4 * ULP * scale)
            errors[name] = err.mean().item()
        assert errors["nf4"] < 0.9 * errors["uniform"], errors


def test_pack_and_unpack_4bit_round_trip_with_an_odd_count():
    codes = torch.tensor([0, 15, 7, 8, 1], dtype=torch.uint8)
    packed = pack_4bit(codes)
    assert packed.tolist() == [0 * 16 + 15, 7 * 16 + 8, 1 * 16 + 0]
    assert torch.equal(unpack_4bit(packed, 5), codes)


def test_quant_linear_computes_with_its_dequantized_weight_and_stores_4x_or_8x_less():
    torch.manual_seed(0)
    lin = nn.Linear(256, 128, bias=False)
    fp32 = model_bytes(lin)
    assert fp32 == 256 * 128 * 4
    x = torch.randn(3, 256)
    for bits, expected_bytes in ((8, 256 * 128 + 128 * 4), (4, 256 * 128 // 2 + (256 * 128 // 64) * 4)):
        q = QuantLinear(lin, bits=bits)
        assert model_bytes(q) == expected_bytes  # codes + float32 scales, nothing else
        assert torch.allclose(q(x), F.linear(x, q.dequantized_weight()), atol=1e-6)
        assert not any(p.requires_grad for p in q.parameters())
    assert 3.9 < fp32 / model_bytes(QuantLinear(lin, bits=8)) <= 4
    assert 7 < fp32 / model_bytes(QuantLinear(lin, bits=4)) <= 8  # 4.5 bits per number


def test_quantize_model_keeps_the_logits_close_and_shrinks_the_matrices():
    torch.manual_seed(0)
    model = GPT(CFG).eval()
    x = torch.randint(0, 64, (2, 16))
    with torch.no_grad():
        ref = model(x)
    linear_bytes = sum(m.weight.numel() * 4 for m in model.modules()
                       if isinstance(m, nn.Linear) and m is not model.head)  # fmt: skip
    before, n_params = model_bytes(model), count_parameters(model)[1]
    diffs = {}
    for bits, share in ((8, 0.01), (4, 0.1)):  # mean change vs the logits' spread
        torch.manual_seed(0)
        q = quantize_model(GPT(CFG).eval(), bits=bits)
        assert sum(isinstance(m, QuantLinear) for m in q.modules()) == 4 * CFG.n_layer
        assert count_parameters(q)[1] == n_params
        with torch.no_grad():
            diffs[bits] = (q(x) - ref).abs().mean().item()
        assert 0 < diffs[bits] < share * ref.std().item(), (bits, diffs[bits])
        saved = before - model_bytes(q)
        assert saved > linear_bytes * (1 - (1.1 if bits == 8 else 0.6) / 4)
    assert diffs[8] < diffs[4]  # fewer bits, larger error


def test_bad_input_is_refused_with_a_clear_error():
    with pytest.raises(TypeError, match="floating"):
        quantize_int8(torch.arange(6).view(2, 3))
    with pytest.raises(TypeError, match="tensor"):
        quantize_nf4([[1.0, 2.0]])
    with pytest.raises(ValueError, match="empty"):
        quantize_int8(torch.empty(0, 3))
    with pytest.raises(ValueError, match="block_size"):
        quantize_nf4(torch.randn(4, 4), block_size=0)
    codes, absmax = quantize_nf4(torch.randn(4, 4), 8)
    with pytest.raises(ValueError, match="packed bytes"):
        dequantize_nf4(codes, absmax, (5, 4), 8)
    with pytest.raises(ValueError, match="one number per block"):
        dequantize_nf4(codes, absmax, (4, 4), 4)
    with pytest.raises(ValueError, match="levels"):
        quantize_nf4(torch.randn(4, 4), 8, levels=torch.linspace(-1, 1, 17))
    with pytest.raises(ValueError, match="levels"):
        quantize_nf4(torch.randn(4, 4), 8, levels=torch.tensor([0.5, -1.0, 1.0]))
    with pytest.raises(ValueError, match="bits"):
        QuantLinear(nn.Linear(4, 4), bits=3)
    with pytest.raises(ValueError, match="bits"):
        quantize_model(GPT(CFG), bits=2)
    with pytest.raises(TypeError, match="nn.Linear"):
        QuantLinear(nn.Embedding(4, 4))
    with pytest.raises(TypeError, match="int8"):
        dequantize_int8(torch.zeros(2, 2), torch.ones(2, 1))
