import math

import pytest
import torch
import torch.nn.functional as F

from llmbook.generation import generate, next_token_distribution
from llmbook.gpt import GPT, PRESETS, GPTConfig

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
