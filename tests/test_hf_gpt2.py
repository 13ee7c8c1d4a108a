"""GPT-2 compatibility: Hugging Face GPT2LMHeadModel state dicts in and out (offline, random
weights: the same code loads the real GPT-2 checkpoint)."""

import pytest
import torch

from llmbook.generation import generate
from llmbook.gpt import GPT, GPTConfig

transformers = pytest.importorskip("transformers")


def _hf_model(tie=True, seed=0):
    torch.manual_seed(seed)
    cfg = transformers.GPT2Config(vocab_size=97, n_positions=32, n_embd=48, n_layer=2, n_head=4,
                                  tie_word_embeddings=tie)  # fmt: skip
    model = transformers.GPT2LMHeadModel(cfg).eval()
    with torch.no_grad():  # non-trivial LayerNorm and bias values, so a mix-up shows
        for name, p in model.named_parameters():
            if name.endswith("bias") or ".ln_" in name:
                p.add_(0.1 * torch.randn_like(p))
    return model


def _ids(seed=1):
    return torch.randint(0, 97, (2, 20), generator=torch.Generator().manual_seed(seed))


@pytest.mark.parametrize("tie", [True, False])
def test_loading_a_hf_state_dict_gives_the_same_logits(tie):
    hf = _hf_model(tie)
    ours = GPT.from_hf_gpt2(hf.state_dict(), n_head=4).eval()
    assert ours.config == GPTConfig(vocab_size=97, context_length=32, n_layer=2, n_head=4,
                                    n_embd=48, tie_weights=tie)  # fmt: skip
    x = _ids()
    with torch.no_grad():
        torch.testing.assert_close(ours(x), hf(x).logits, atol=1e-5, rtol=0)


def test_checkpoint_style_names_and_mask_buffers_are_accepted():
    hf = _hf_model()
    # the original checkpoint file: no "transformer." prefix, no lm_head, causal-mask buffers
    sd = {k.removeprefix("transformer."): v for k, v in hf.state_dict().items() if k != "lm_head.weight"}
    sd["h.0.attn.bias"] = torch.ones(1, 1, 32, 32).tril()
    sd["h.0.attn.masked_bias"] = torch.tensor(-1e4)
    ours = GPT.from_hf_gpt2(sd, n_head=4).eval()
    x = _ids()
    with torch.no_grad():
        torch.testing.assert_close(ours(x), hf(x).logits, atol=1e-5, rtol=0)


def test_bad_state_dicts_name_the_keys():
    sd = _hf_model().state_dict()
    extra = {**sd, "transformer.h.0.attn.rotary.weight": torch.zeros(3)}
    with pytest.raises(ValueError, match=r"unknown keys \['h\.0\.attn\.rotary\.weight'\]"):
        GPT.from_hf_gpt2(extra, n_head=4)
    missing = {k: v for k, v in sd.items() if k != "transformer.h.1.mlp.c_fc.bias"}
    with pytest.raises(ValueError, match=r"missing keys \['h\.1\.mlp\.c_fc\.bias'\]"):
        GPT.from_hf_gpt2(missing, n_head=4)
    with pytest.raises(ValueError, match="wte.weight"):
        GPT.from_hf_gpt2({"foo": torch.zeros(1)}, n_head=4)
    with pytest.raises(ValueError, match="divisible by n_head"):
        GPT.from_hf_gpt2(sd, n_head=5)


@pytest.mark.parametrize("tie", [True, False])
def test_export_loads_into_transformers_with_the_same_logits(tie):
    torch.manual_seed(3)
    ours = GPT(GPTConfig(vocab_size=97, context_length=32, n_layer=2, n_head=4, n_embd=48,
                         tie_weights=tie)).eval()  # fmt: skip
    hf = transformers.GPT2LMHeadModel(transformers.GPT2Config(
        vocab_size=97, n_positions=32, n_embd=48, n_layer=2, n_head=4, tie_word_embeddings=tie))
    hf.load_state_dict(ours.to_hf_gpt2())  # strict: every name matches
    x = _ids()
    with torch.no_grad():
        torch.testing.assert_close(hf.eval()(x).logits, ours(x), atol=1e-5, rtol=0)
        torch.testing.assert_close(ours.to_transformers()(x).logits, ours(x), atol=1e-5, rtol=0)
    back = GPT.from_hf_gpt2(ours.to_hf_gpt2(), n_head=4)
    for (name, a), b in zip(ours.state_dict().items(), back.state_dict().values()):
        assert torch.equal(a, b), name


def test_hf_generate_gives_our_greedy_tokens():
    torch.manual_seed(4)
    ours = GPT(GPTConfig(vocab_size=97, context_length=32, n_layer=2, n_head=4, n_embd=48)).eval()
    hf = ours.to_transformers()
    prompt = _ids()[:, :5]
    theirs = hf.generate(prompt, attention_mask=torch.ones_like(prompt), max_new_tokens=20,
                         do_sample=False, pad_token_id=0)  # fmt: skip
    assert torch.equal(theirs, generate(ours, prompt, 20, greedy=True))


def test_bias_free_models_cannot_be_exported():
    with pytest.raises(ValueError, match="bias"):
        GPT(GPTConfig(bias=False)).to_hf_gpt2()
