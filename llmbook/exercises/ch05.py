"""Chapter 5 checks: parameter count, top-k and top-p sampling, one KV-cache step."""

from __future__ import annotations

import torch

from llmbook.attention import scaled_dot_product_attention
from llmbook.exercises.core import Fail, call, exercise, expect_close, expect_equal
from llmbook.gpt import GPTConfig, next_token_distribution, top_p_filter


@exercise("05.1", "gpt_parameters", points=2, ko="설정에서 매개변수 수 세기",
          en="Parameter count of a config")  # fmt: skip
def _gpt_parameters(fn) -> None:
    for vocab, ctx, layers, embd in ((50257, 1024, 12, 768), (100, 16, 1, 8), (4096, 128, 4, 128),
                                     (50257, 1024, 24, 1024)):  # fmt: skip
        cfg = GPTConfig(vocab_size=vocab, context_length=ctx, n_layer=layers, n_head=1, n_embd=embd)
        got = call(fn, vocab, ctx, layers, embd)
        expect_equal(got, cfg.num_parameters(), f"gpt_parameters({vocab}, {ctx}, {layers}, {embd})")


@exercise("05.2", "top_k_probs", points=2, ko="top-k 샘플링 분포", en="Top-k distribution")
def _top_k_probs(fn) -> None:
    gen = torch.Generator().manual_seed(52)
    for k in (1, 3, 10):
        logits = torch.randn(10, generator=gen) * 2
        got = call(fn, logits.clone(), k)
        expected = next_token_distribution(logits[None], top_k=k)[0]
        expect_close(got, expected, f"top_k_probs(logits, k={k})", atol=1e-6)


@exercise("05.3", "top_p_probs", points=2, ko="top-p(뉴클리어스) 샘플링 분포",
          en="Top-p (nucleus) distribution")  # fmt: skip
def _top_p_probs(fn) -> None:
    gen = torch.Generator().manual_seed(53)
    for p in (0.05, 0.5, 0.9, 1.0):
        probs = torch.softmax(torch.randn(8, generator=gen) * 2, dim=-1)
        got = call(fn, probs.clone(), p)
        expect_close(got, top_p_filter(probs[None], p)[0], f"top_p_probs(probs, p={p})", atol=1e-6)


@exercise("05.4", "kv_step", points=3, ko="KV 캐시 한 단계", en="One KV-cache step")
def _kv_step(fn) -> None:
    gen = torch.Generator().manual_seed(54)
    for past, d in ((0, 4), (3, 4), (6, 8)):
        cache_k, cache_v = torch.randn(past, d, generator=gen), torch.randn(past, d, generator=gen)
        q, k, v = (torch.randn(1, d, generator=gen) for _ in range(3))
        got = call(fn, cache_k.clone(), cache_v.clone(), q.clone(), k.clone(), v.clone())
        if not isinstance(got, tuple) or len(got) != 3:
            raise Fail("(출력, 새 cache_k, 새 cache_v) 세 값을 튜플로 반환해야 합니다.",
                       "return a tuple of three: (output, new cache_k, new cache_v).")  # fmt: skip
        all_k, all_v = torch.cat([cache_k, k]), torch.cat([cache_v, v])
        expect_close(got[1], all_k, f"new cache_k after {past} cached tokens")
        expect_close(got[2], all_v, f"new cache_v after {past} cached tokens")
        expect_close(got[0], scaled_dot_product_attention(q, all_k, all_v)[0],
                     f"output after {past} cached tokens", atol=1e-5)  # fmt: skip
