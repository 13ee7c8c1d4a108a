import math

import pytest
import torch

from llmbook.gpt import GPT, GPTConfig, generate, next_token_distribution

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
    hist = train(model, tokens, TrainConfig(steps=150, batch_size=8, context_length=16,
                                            warmup_steps=5, eval_every=150),
                 eval_tokens=tokens, progress=False)  # fmt: skip
    assert hist.eval_loss[-1] < 0.2 < hist.train_loss[0]
