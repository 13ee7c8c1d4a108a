"""Attention (llmbook.attention) and position encodings (llmbook.embedding)."""

import math

import pytest
import torch
import torch.nn.functional as F

from llmbook.attention import (
    KVCache,
    MultiHeadAttention,
    SelfAttention,
    causal_mask,
    masked_softmax,
    scaled_dot_product_attention,
    simple_self_attention,
)
from llmbook.embedding import TokenAndPositionEmbedding, apply_rope, sinusoidal_positions


def _mha(n_embd=24, n_head=4, **kw):
    torch.manual_seed(0)
    return MultiHeadAttention(n_embd, n_head, **kw).double().eval()


def test_simple_self_attention_is_a_softmax_weighted_average():
    x = torch.randn(5, 3, generator=torch.Generator().manual_seed(1))
    out, w = simple_self_attention(x)
    for i in range(5):
        scores = torch.tensor([float(x[i] @ x[j]) for j in range(5)])
        weights = scores.exp() / scores.exp().sum()
        torch.testing.assert_close(w[i], weights, atol=1e-6, rtol=1e-5)
        torch.testing.assert_close(out[i], (weights[:, None] * x).sum(0), atol=1e-6, rtol=1e-5)


def test_causal_mask_and_masked_softmax():
    m = causal_mask(4)
    assert m.tolist() == [[True, False, False, False], [True, True, False, False],
                          [True, True, True, False], [True, True, True, True]]  # fmt: skip
    w = masked_softmax(torch.zeros(4, 4), m)
    torch.testing.assert_close(w[3], torch.full((4,), 0.25))
    torch.testing.assert_close(w[1], torch.tensor([0.5, 0.5, 0.0, 0.0]))
    assert torch.all(w.triu(1) == 0)
    with pytest.raises(TypeError, match="boolean"):
        masked_softmax(torch.zeros(2, 2), torch.ones(2, 2))
    with pytest.raises(ValueError, match=">= 1"):
        causal_mask(0)


@pytest.mark.parametrize("masked", [False, True])
def test_scaled_dot_product_attention_equals_torch(masked):
    g = torch.Generator().manual_seed(2)
    q, k, v = (torch.randn(2, 3, 7, 8, generator=g, dtype=torch.float64) for _ in range(3))
    mask = None
    if masked:  # an arbitrary mask (the diagonal kept so no row is empty)
        mask = (torch.rand(7, 7, generator=g) < 0.5) | torch.eye(7, dtype=torch.bool)
    ours, w = scaled_dot_product_attention(q, k, v, mask)
    torch.testing.assert_close(ours, F.scaled_dot_product_attention(q, k, v, attn_mask=mask),
                               atol=1e-6, rtol=0)  # fmt: skip
    torch.testing.assert_close(w.sum(-1), torch.ones(2, 3, 7, dtype=torch.float64))


def _reference_mha(mha, x, causal):
    """The same module computed with torch's SDPA, from the module's own weights."""
    B, T, C = x.shape
    q, k, v = (t.view(B, T, mha.n_head, -1).transpose(1, 2) for t in mha.qkv(x).split(C, 2))
    y = F.scaled_dot_product_attention(q, k, v, is_causal=causal)
    return mha.proj(y.transpose(1, 2).reshape(B, T, C))


@pytest.mark.parametrize("causal", [False, True])
def test_multi_head_attention_equals_torch_sdpa_float64(causal):
    x = torch.randn(3, 10, 24, dtype=torch.float64, generator=torch.Generator().manual_seed(3))
    slow = _mha(causal=causal, fast=False)
    fast = _mha(causal=causal, fast=True)
    ref = _reference_mha(slow, x, causal)
    torch.testing.assert_close(slow(x), ref, atol=1e-6, rtol=0)
    torch.testing.assert_close(fast(x), ref, atol=1e-6, rtol=0)
    y, w = fast(x, return_weights=True)
    torch.testing.assert_close(y, ref, atol=1e-6, rtol=0)
    assert w.shape == (3, 4, 10, 10)
    if causal:
        assert torch.all(w.triu(1) == 0)


def test_causal_attention_ignores_the_future():
    x = torch.randn(1, 6, 24, dtype=torch.float64)
    x2 = x.clone()
    x2[0, -1] += 5.0
    for module in (_mha(causal=True), SelfAttention(24, 8, causal=True).double()):
        torch.testing.assert_close(module(x)[0, :-1], module(x2)[0, :-1])
        assert not torch.allclose(module(x)[0, -1], module(x2)[0, -1])


def test_self_attention_head_formula():
    torch.manual_seed(4)
    head = SelfAttention(6, 4).double()
    x = torch.randn(2, 5, 6, dtype=torch.float64)
    q, k, v = x @ head.query.weight.T, x @ head.key.weight.T, x @ head.value.weight.T
    w = torch.softmax(q @ k.transpose(1, 2) / math.sqrt(4), dim=-1)
    out, weights = head(x, return_weights=True)
    torch.testing.assert_close(out, w @ v)
    torch.testing.assert_close(weights, w)


def test_attention_dropout_only_in_training():
    torch.manual_seed(5)
    head = SelfAttention(8, 8, causal=True, dropout=0.5)
    x = torch.randn(1, 16, 8)
    head.train()
    _, w = head(x, return_weights=True)
    head.eval()
    _, w_eval = head(x, return_weights=True)
    kept = w > 0
    assert (w_eval > 0).logical_and(~kept).sum() > 20  # about half the weights dropped
    torch.testing.assert_close(w[kept], 2 * w_eval[kept])  # the rest scaled by 1 / (1 - p)
    torch.testing.assert_close(w_eval.sum(-1), torch.ones(1, 16))
    torch.testing.assert_close(head(x), head(x))


def test_kv_cache_gives_the_full_computation():
    mha = _mha(causal=True)
    x = torch.randn(2, 9, 24, dtype=torch.float64)
    full = mha(x)
    cache = KVCache()
    steps = [mha(x[:, :4], cache)] + [mha(x[:, t : t + 1], cache) for t in range(4, 9)]
    assert cache.length == 9
    torch.testing.assert_close(torch.cat(steps, dim=1), full, atol=1e-10, rtol=0)


def test_heads_must_divide_the_width():
    with pytest.raises(ValueError, match="divisible by n_head"):
        MultiHeadAttention(10, 3)


# ----- position information (llmbook.embedding) -----------------------------------------------


def test_token_and_position_embedding():
    torch.manual_seed(6)
    emb = TokenAndPositionEmbedding(vocab_size=11, n_embd=4, context_length=8)
    idx = torch.tensor([[1, 2, 3], [4, 5, 6]])
    expected = emb.tok.weight[idx] + emb.pos.weight[:3]
    torch.testing.assert_close(emb(idx), expected)
    torch.testing.assert_close(emb(idx[:, 2:], start=2), expected[:, 2:])
    with pytest.raises(ValueError, match="context_length"):
        emb(torch.zeros(1, 9, dtype=torch.long))
    with pytest.raises(ValueError, match="vocabulary"):
        emb(torch.tensor([[11]]))
    with pytest.raises(TypeError, match="integer"):
        emb(torch.zeros(1, 2))


def test_sinusoidal_positions_formula():
    pe = sinusoidal_positions(50, 16)
    for p in (0, 7, 49):
        for i in range(8):
            angle = p / 10000 ** (2 * i / 16)
            assert pe[p, 2 * i].item() == pytest.approx(math.sin(angle), abs=1e-6)
            assert pe[p, 2 * i + 1].item() == pytest.approx(math.cos(angle), abs=1e-6)
    with pytest.raises(ValueError, match="even"):
        sinusoidal_positions(4, 5)


def test_rope_score_depends_only_on_relative_position():
    g = torch.Generator().manual_seed(7)
    q, k = torch.randn(16, dtype=torch.float64, generator=g), torch.randn(16, dtype=torch.float64, generator=g)

    def score(m, n):
        rq = apply_rope(q[None], torch.tensor([m]))[0]
        rk = apply_rope(k[None], torch.tensor([n]))[0]
        return float(rq @ rk)

    for m, n in [(3, 1), (10, 4), (0, 5)]:
        for shift in (1, 17, 100):
            assert score(m + shift, n + shift) == pytest.approx(score(m, n), abs=1e-9)
    assert score(5, 1) != pytest.approx(score(5, 3), abs=1e-3)
    x = torch.randn(2, 6, 16, dtype=torch.float64, generator=g)
    rotated = apply_rope(x)
    torch.testing.assert_close(rotated.norm(dim=-1), x.norm(dim=-1))  # rotations keep lengths
    torch.testing.assert_close(rotated[:, 0], x[:, 0])  # position 0 is not rotated
    torch.testing.assert_close(apply_rope(x[:, 4:], torch.arange(4, 6)), rotated[:, 4:])
    with pytest.raises(ValueError, match="even"):
        apply_rope(torch.randn(3, 5))


# ----- other families and larger models (llmbook.architectures) -------------------------------


def test_gqa_equals_torch_sdpa_with_shared_heads():
    from llmbook.architectures import GroupedQueryAttention

    torch.manual_seed(8)
    gqa = GroupedQueryAttention(32, n_head=8, n_kv_head=2).double()
    x = torch.randn(2, 7, 32, dtype=torch.float64)
    q = gqa.q(x).view(2, 7, 8, 4).transpose(1, 2)
    k, v = (t.view(2, 7, 2, 4).transpose(1, 2) for t in gqa.kv(x).split(8, dim=2))
    ref = F.scaled_dot_product_attention(q, k, v, is_causal=True, enable_gqa=True)
    torch.testing.assert_close(gqa(x), gqa.proj(ref.transpose(1, 2).reshape(2, 7, 32)))
    assert gqa.kv.weight.numel() == 32 * 2 * 2 * 4  # a quarter of full multi-head keys/values
    with pytest.raises(ValueError, match="n_kv_head"):
        GroupedQueryAttention(32, 8, 3)


def test_moe_equals_the_dense_mixture_of_its_chosen_experts():
    from llmbook.architectures import MoEFeedForward

    torch.manual_seed(9)
    moe = MoEFeedForward(16, n_expert=4, top_k=2).double()
    x = torch.randn(3, 5, 16, dtype=torch.float64)
    gates, chosen = moe.route(x)
    assert torch.allclose(gates.sum(-1), torch.ones(3, 5, dtype=torch.float64))
    all_out = torch.stack([e(x) for e in moe.experts], dim=-2)  # (3, 5, experts, 16)
    picked = torch.gather(all_out, 2, chosen[..., None].expand(-1, -1, -1, 16))
    torch.testing.assert_close(moe(x), (gates[..., None] * picked).sum(2))
    one = MoEFeedForward(16, n_expert=1, top_k=1).double()
    torch.testing.assert_close(one(x), one.experts[0](x))


def test_masked_lm_sees_both_sides_and_encoder_decoder_cross_attends():
    from llmbook.architectures import EncoderDecoder, MaskedLM, mask_tokens
    from llmbook.gpt import GPTConfig

    cfg = GPTConfig(vocab_size=20, context_length=12, n_layer=1, n_head=2, n_embd=16)
    torch.manual_seed(10)
    bert = MaskedLM(cfg).eval()
    x = torch.randint(0, 19, (1, 10))
    x2 = x.clone()
    x2[0, 9] = (x[0, 9] + 1) % 19
    assert not torch.allclose(bert(x)[0, 0], bert(x2)[0, 0])  # position 0 sees the last token
    inputs, targets = mask_tokens(x.repeat(4, 1), mask_id=19, p=0.3,
                                  generator=torch.Generator().manual_seed(0))  # fmt: skip
    hidden = targets != -100
    assert hidden.any(1).all() and torch.all(inputs[hidden] == 19)
    assert torch.equal(inputs[~hidden], x.repeat(4, 1)[~hidden])
    assert bert.loss(inputs, targets).item() > 0

    t5 = EncoderDecoder(cfg).eval()
    src, tgt = torch.randint(0, 20, (2, 8)), torch.randint(0, 20, (2, 5))
    logits = t5(src, tgt)
    assert logits.shape == (2, 5, 20)
    src2 = src.clone()
    src2[:, -1] = (src[:, -1] + 1) % 20
    assert not torch.allclose(t5(src2, tgt)[:, 0], logits[:, 0])  # the decoder reads the source
    tgt2 = tgt.clone()
    tgt2[:, -1] = (tgt[:, -1] + 1) % 20
    torch.testing.assert_close(t5(src, tgt2)[:, :-1], logits[:, :-1])  # but not its own future
    assert t5.greedy(src, bos_id=0, max_new_tokens=4).shape == (2, 5)
