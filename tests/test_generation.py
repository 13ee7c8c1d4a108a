"""Generation: sampling filters, the generation loop and its KV cache, batched completion."""

import re

import pytest
import torch

from llmbook.generation import (
    allow_only,
    complete,
    generate,
    next_token_distribution,
    top_k_filter,
    top_p_filter,
)
from llmbook.gpt import GPT, GPTConfig
from llmbook.tokens import default_tokenizer, digit_token_ids, encode, eot_id

TINY = GPTConfig(vocab_size=50, context_length=16, n_layer=2, n_head=2, n_embd=32)


def tiny(seed=0, **kw):
    torch.manual_seed(seed)
    return GPT(GPTConfig(**{**TINY.__dict__, **kw})).eval()


@pytest.fixture(scope="module")
def text_model():
    """A random model over the shipped tokenizer's vocabulary, for text prompts."""
    torch.manual_seed(0)
    return GPT(GPTConfig(vocab_size=4096, context_length=128, n_layer=1, n_head=2, n_embd=16)).eval()


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


def test_greedy_complete_matches_generate(text_model):
    prompts = ["Q: Tom is 3.\nA:", "Q: When I was 8\nA:", "Q: x\nA:"]
    got = complete(text_model, prompts, 10)
    tok = default_tokenizer()
    for p, g in zip(prompts, got):
        ids = torch.tensor([[eot_id()] + encode(p)])
        ref = generate(text_model, ids, 10, greedy=True)[0, ids.shape[1] :].tolist()
        assert g == tok.decode(ref).split("\n")[0].split("<|endoftext|>")[0]


def test_constrained_decoding_emits_only_allowed_tokens(text_model):
    out = complete(text_model, ["Q: 1+1\nA: ", "Q: hi\nA: "], 8, allowed_ids=digit_token_ids())
    assert all(re.fullmatch(r"\d*", o) for o in out) and any(out)
    sampled = complete(text_model, ["Q: hi\nA: "] * 6, 8, temperature=1.5, allowed_ids=digit_token_ids(),
                         generator=torch.Generator().manual_seed(0))  # fmt: skip
    assert all(re.fullmatch(r"\d*", o) for o in sampled)
    free = complete(text_model, ["Q: hi\nA: "], 8)
    # without the mask this random model writes other things
    assert not re.fullmatch(r"\d+", free[0])


def test_sampling_is_repeatable_and_context_checked(text_model):
    def run(seed):
        return complete(
            text_model, ["Q: a\nA:"] * 4, 6, 1.0, generator=torch.Generator().manual_seed(seed)
        )

    assert run(1) == run(1)
    with pytest.raises(ValueError, match="context"):
        complete(text_model, ["word " * 200], 5)
    with pytest.raises(TypeError):
        complete(text_model, "Q: a", 5)


def test_allow_only_masks_everything_else():
    logits = torch.tensor([1.0, 5.0, -2.0, 0.5])
    out = allow_only(logits, [0, 2])
    assert out[0] == 1.0 and out[2] == -2.0 and torch.isinf(out[[1, 3]]).all()
    assert torch.softmax(out, -1)[[1, 3]].sum() == 0 and out.argmax() == 0
    with pytest.raises(ValueError, match="empty"):
        allow_only(logits, [])
    assert set(digit_token_ids()) >= {encode(str(d))[0] for d in range(10)}
