import math

import pytest
import torch
import torch.nn.functional as F

from llmbook.gpt import (
    GPT,
    PRESETS,
    GPTConfig,
    generate,
    next_token_distribution,
    top_k_filter,
    top_p_filter,
)

TINY = GPTConfig(vocab_size=50, context_length=16, n_layer=2, n_head=2, n_embd=32)


def tiny(seed=0, **kw):
    torch.manual_seed(seed)
    return GPT(GPTConfig(**{**TINY.__dict__, **kw})).eval()


def test_logits_shape_and_causality():
    model = tiny()
    idx = torch.randint(0, 50, (3, 10))
    logits = model(idx)
    assert logits.shape == (3, 10, 50)
    changed = idx.clone()
    changed[:, 7] = (changed[:, 7] + 1) % 50  # a later token cannot change earlier logits
    assert torch.allclose(model(changed)[:, :7], logits[:, :7], atol=1e-6)
    assert not torch.allclose(model(changed)[:, 7:], logits[:, 7:])


def test_attention_equals_the_written_out_formula_in_float64():
    model = tiny().double()
    attn = model.blocks[0].attn
    x = torch.randn(2, 7, 32, dtype=torch.float64)
    q, k, v = attn.qkv(x).split(32, dim=2)
    heads = [t.view(2, 7, 2, 16).transpose(1, 2) for t in (q, k, v)]
    scores = heads[0] @ heads[1].transpose(-2, -1) / math.sqrt(16)
    scores = scores.masked_fill(~torch.ones(7, 7, dtype=torch.bool).tril(), float("-inf"))
    y = (torch.softmax(scores, -1) @ heads[2]).transpose(1, 2).reshape(2, 7, 32)
    assert torch.allclose(attn(x), attn.proj(y), atol=1e-10)


@pytest.mark.parametrize("kw", [{"greedy": True}, {"top_k": 5}, {"top_p": 0.8, "temperature": 1.3}])
def test_kv_cache_gives_exactly_the_uncached_tokens_even_past_the_context(kw):
    model = tiny(1)
    idx = torch.randint(0, 50, (2, 4))
    runs = []
    for use_cache in (True, False):
        torch.manual_seed(5)
        runs.append(generate(model, idx, 30, use_cache=use_cache, **kw))  # 34 > context 16
    assert runs[0].shape == (2, 34)
    assert torch.equal(runs[0], runs[1])


def test_same_seed_same_text():
    model = tiny(2)
    idx = torch.zeros(1, 1, dtype=torch.long)
    a = generate(model, idx, 20, generator=torch.Generator().manual_seed(3))
    b = generate(model, idx, 20, generator=torch.Generator().manual_seed(3))
    assert torch.equal(a, b)


def test_top_k_and_top_p_keep_the_right_tokens():
    logits = torch.log(torch.tensor([[0.5, 0.3, 0.15, 0.05]]))
    assert torch.allclose(next_token_distribution(logits, top_k=2), torch.tensor([[0.625, 0.375, 0, 0]]))
    p = next_token_distribution(logits, top_p=0.7)  # 0.5 < 0.7, 0.5 + 0.3 >= 0.7: two tokens
    assert torch.allclose(p, torch.tensor([[0.625, 0.375, 0, 0]]))
    t = next_token_distribution(logits, temperature=0.5)
    assert torch.allclose(t, torch.softmax(logits / 0.5, -1))


def test_parameter_counts_of_gpt2_124m():
    assert GPTConfig.preset("gpt2-124m").num_parameters() == 124_439_808
    assert GPTConfig.preset("gpt2-124m", tie_weights=False).num_parameters() == 163_037_184
    with torch.device("meta"):  # shapes only: no memory, no time
        assert GPT(GPTConfig.preset("gpt2-124m")).num_parameters() == 124_439_808
        assert GPT(GPTConfig.preset("gpt2-124m", tie_weights=False)).num_parameters() == 163_037_184


def test_bad_configs_and_inputs_name_the_problem():
    with pytest.raises(ValueError, match="divisible by n_head"):
        GPTConfig(n_embd=30, n_head=4)
    with pytest.raises(ValueError, match="unknown preset"):
        GPTConfig.preset("gpt5")
    with pytest.raises(ValueError, match="context_length"):
        tiny()(torch.zeros(1, 17, dtype=torch.long))
    with pytest.raises((TypeError, ValueError), match="token ids"):
        tiny()(torch.zeros(1, 4))
    with pytest.raises(ValueError, match="temperature"):
        next_token_distribution(torch.zeros(1, 3), temperature=0)


def test_a_tiny_gpt_learns_to_copy_a_pattern():
    from llmbook.train import TrainConfig, train

    model = tiny(3).train()
    tokens = torch.arange(10).repeat(100)
    hist = train(model, tokens, TrainConfig(steps=150, batch_size=8, warmup_steps=5, eval_every=150),
                 eval_tokens=tokens, progress=False)  # fmt: skip
    assert hist.eval_loss[-1] < 0.2 < hist.train_loss[0]


@pytest.mark.parametrize("name", sorted(PRESETS))
def test_config_count_equals_the_model(name):
    for overrides in ({}, {"tie_weights": False}, {"bias": False}):
        cfg = GPTConfig.preset(name, **overrides)
        with torch.device("meta"):
            assert GPT(cfg).num_parameters() == cfg.num_parameters()


def test_published_gpt2_sizes():  # the sizes Hugging Face reports for gpt2-medium/-large/-xl
    assert GPTConfig.preset("gpt2-355m").num_parameters() == 354_823_168
    assert GPTConfig.preset("gpt2-774m").num_parameters() == 774_030_080
    assert GPTConfig.preset("gpt2-1558m").num_parameters() == 1_557_611_200


def test_more_errors_name_the_problem():
    with pytest.raises(ValueError, match=r"n_embd \(100\) must be divisible by n_head \(3\)"):
        GPTConfig(n_embd=100, n_head=3)
    with pytest.raises(ValueError, match="n_layer"):
        GPTConfig(n_layer=0)
    with pytest.raises(ValueError, match="dropout"):
        GPTConfig(dropout=1.0)
    with pytest.raises(TypeError, match="GPTConfig"):
        GPT({"n_layer": 2})
    with pytest.raises(ValueError, match=r"17 tokens is longer than the context_length \(16\)"):
        tiny()(torch.zeros(1, 17, dtype=torch.long))
    with pytest.raises(ValueError, match=r"\(batch, time\)"):
        tiny()(torch.zeros(16, dtype=torch.long))
    with pytest.raises(ValueError, match="vocabulary"):
        tiny()(torch.tensor([[50]]))


def test_loss_is_cross_entropy_with_ignored_positions():
    model = tiny()
    x, y = torch.randint(0, 50, (4, 16)), torch.randint(0, 50, (4, 16))
    logits = model(x)
    torch.testing.assert_close(model.loss(x, y), F.cross_entropy(logits.reshape(-1, 50), y.reshape(-1)))
    assert abs(model.loss(x, y).item() - math.log(50)) < 0.3  # random init: about uniform
    y_masked = y.clone()
    y_masked[:, :8] = -100
    torch.testing.assert_close(model.loss(x, y_masked),
                               F.cross_entropy(logits[:, 8:].reshape(-1, 50), y[:, 8:].reshape(-1)))  # fmt: skip
    with pytest.raises(ValueError, match="shape"):
        model.loss(x, y[:, :5])


def test_weight_tying_and_dropout():
    tied, untied = tiny(), tiny(tie_weights=False)
    assert tied.head.weight is tied.embed.tok.weight
    assert untied.head.weight is not untied.embed.tok.weight
    assert untied.num_parameters() - tied.num_parameters() == 50 * 32
    model, x = tiny(dropout=0.3), torch.randint(0, 50, (2, 16))
    torch.testing.assert_close(model(x), model(x))
    model.train()
    assert not torch.allclose(model(x), model(x))


def test_cached_logits_equal_full_logits():
    model = tiny()
    x = torch.randint(0, 50, (2, 12))
    cache = model.new_cache()
    steps = [model(x[:, :5], cache)] + [model(x[:, t : t + 1], cache) for t in range(5, 12)]
    torch.testing.assert_close(torch.cat(steps, 1), model(x), atol=1e-5, rtol=1e-5)


def test_greedy_is_the_argmax_step_by_step():
    model = tiny()
    prompt = torch.randint(0, 50, (1, 4))
    out = generate(model, prompt, 5, greedy=True)
    assert torch.equal(out, generate(model, prompt, 5, temperature=0))
    seq = prompt
    for _ in range(5):  # the definition, without any cache
        seq = torch.cat([seq, model(seq)[:, -1].argmax(-1, keepdim=True)], 1)
    assert torch.equal(out, seq)


def test_different_seeds_differ_and_eos_stops():
    model = tiny(2)
    idx = torch.zeros(1, 1, dtype=torch.long)
    a = generate(model, idx, 20, generator=torch.Generator().manual_seed(3))
    assert not torch.equal(a, generate(model, idx, 20, generator=torch.Generator().manual_seed(4)))
    free = generate(model, idx, 10, greedy=True)
    eos = int(free[0, 4])
    first = 1 + (free[0, 1:] == eos).nonzero()[0].item()
    assert torch.equal(generate(model, idx, 10, greedy=True, eos_id=eos), free[:, : first + 1])


def test_several_stop_ids_and_allowed_tokens():
    model = tiny(2)
    idx = torch.zeros(3, 1, dtype=torch.long)
    free = generate(model, idx, 12, greedy=True)
    stops = [int(free[0, 3]), int(free[1, 5])]
    out = generate(model, idx, 12, greedy=True, eos_id=stops)
    for row, want in zip(out, free):  # each row: the free text up to its first stop id
        hit = [j for j in range(1, 13) if int(want[j]) in stops]
        end = hit[0] + 1 if hit else 13
        assert torch.equal(row[:end], want[:end])
        assert all(int(t) == stops[0] for t in row[end:])  # finished rows padded
    allowed = [5, 7, 11]
    sampled = generate(model, idx, 12, generator=torch.Generator().manual_seed(0), allowed_ids=allowed)
    assert set(sampled[:, 1:].flatten().tolist()) <= set(allowed)
    assert set(generate(model, idx, 12, greedy=True, allowed_ids=allowed)[:, 1:].flatten().tolist()) <= set(allowed)


def test_generate_restores_training_mode_and_checks_input():
    model = tiny().train()
    generate(model, torch.zeros(1, 2, dtype=torch.long), 2)
    assert model.training
    with pytest.raises(ValueError, match="max_new_tokens"):
        generate(model, torch.zeros(1, 2, dtype=torch.long), -1)
    with pytest.raises(ValueError, match=r"\(batch, time\)"):
        generate(model, torch.zeros(4, dtype=torch.long), 2)


def test_sampling_filters():
    logits = torch.tensor([[1.0, 3.0, 2.0, 0.0]])
    assert torch.isinf(top_k_filter(logits, 2)).tolist() == [[True, False, False, True]]
    probs = torch.tensor([[0.5, 0.3, 0.15, 0.05]])
    torch.testing.assert_close(top_p_filter(probs, 0.1), torch.tensor([[1.0, 0.0, 0.0, 0.0]]))
    sharp = next_token_distribution(logits, temperature=0.01)
    torch.testing.assert_close(sharp, torch.tensor([[0.0, 1.0, 0.0, 0.0]]))
    with pytest.raises(ValueError, match="top_k"):
        top_k_filter(logits, 0)
    with pytest.raises(ValueError, match="top_p"):
        top_p_filter(probs, 1.5)


def test_runs_on_the_available_device():
    import llmbook

    dev = llmbook.device()
    model = tiny().to(dev)
    out = generate(model, torch.zeros(1, 3, dtype=torch.long, device=dev), 4,
                   generator=torch.Generator().manual_seed(0))  # fmt: skip
    assert out.device.type == dev.type and out.shape == (1, 7)


def test_attention_weights_are_what_the_blocks_use():
    model = tiny()
    x = torch.randint(0, 50, (2, 9))
    weights = model.attention_weights(x)
    assert len(weights) == 2 and weights[0].shape == (2, 2, 9, 9)
    torch.testing.assert_close(weights[1].sum(-1), torch.ones(2, 2, 9))
    assert torch.all(weights[0].triu(1) == 0)
    # the first block's output recomputed from its weights equals the block's own computation
    block, h = model.blocks[0], model.blocks[0].ln1(model.embed(x))
    v = block.attn.split_heads(block.attn.qkv(h).split(32, dim=2)[2])
    y = block.attn.proj((weights[0] @ v).transpose(1, 2).reshape(2, 9, 32))
    torch.testing.assert_close(y, block.attn(h), atol=1e-5, rtol=1e-5)
