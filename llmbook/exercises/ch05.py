"""Chapter 5 checks: parameter count, top-k and top-p sampling, one KV-cache step, and the
keystones: a transformer block and a whole GPT as functions over a dict of weights."""

from __future__ import annotations

import torch

from llmbook.attention import scaled_dot_product_attention
from llmbook.exercises.core import Fail, call, exercise, expect_close, expect_equal
from llmbook.generation import next_token_distribution, top_p_filter
from llmbook.gpt import GPT, GPTConfig


@exercise("05.1", "gpt_parameters", points=2, ko="설정에서 매개변수 수 세기",
          en="Parameter count of a config")  # fmt: skip
def _gpt_parameters(fn) -> None:
    for vocab, ctx, layers, embd in ((50257, 1024, 12, 768), (100, 16, 1, 8), (4096, 128, 4, 128),
                                     (50257, 1024, 24, 1024)):  # fmt: skip
        cfg = GPTConfig(vocab_size=vocab, context_length=ctx, n_layer=layers, n_head=1, n_embd=embd)
        got = call(fn, vocab, ctx, layers, embd)
        if got == GPTConfig(**{**cfg.__dict__, "tie_weights": False}).num_parameters():
            raise Fail("출력층 행렬을 따로 셌습니다. 출력층은 토큰 임베딩과 가중치를 공유하므로 한 번만 셉니다.",
                       "you counted the output layer's matrix: it is tied to the token embedding, "
                       "so it is counted once.")  # fmt: skip
        if got == cfg.num_parameters() - ctx * embd:
            raise Fail("위치 임베딩(context_length x n_embd)이 빠졌습니다.",
                       "the position embeddings (context_length x n_embd) are missing.")  # fmt: skip
        if got == cfg.num_parameters() - 2 * embd:
            raise Fail("마지막 LayerNorm(가중치와 편향 2 x n_embd)이 빠졌습니다.",
                       "the final LayerNorm (gain and bias, 2 x n_embd) is missing.")  # fmt: skip
        expect_equal(got, cfg.num_parameters(), f"gpt_parameters({vocab}, {ctx}, {layers}, {embd})")


@exercise("05.2", "top_k_probs", points=2, ko="top-k 샘플링 분포", en="Top-k distribution")
def _top_k_probs(fn) -> None:
    gen = torch.Generator().manual_seed(52)
    for k in (1, 3, 10):
        logits = torch.randn(10, generator=gen) * 2
        got = call(fn, logits.clone(), k)
        expected = next_token_distribution(logits[None], top_k=k)[0]
        if isinstance(got, torch.Tensor) and got.shape == expected.shape:
            if k < 10 and torch.allclose(got, torch.softmax(logits, -1), atol=1e-6):
                raise Fail(f"k={k}인데 모든 토큰에 확률이 남았습니다. 가장 큰 로짓 k개 말고는 확률이 0이어야 합니다.",
                           f"with k={k} every token kept a probability: all but the k largest "
                           "logits must get probability 0.")  # fmt: skip
            if not torch.allclose(got.sum(), torch.tensor(1.0), atol=1e-4):
                raise Fail("확률의 합이 1이 아닙니다. 걸러 낸 뒤에 소프트맥스로(또는 다시 나눠) 정규화하세요.",
                           "the probabilities do not sum to 1: apply the softmax after the filter "
                           "(or renormalise).")  # fmt: skip
        expect_close(got, expected, f"top_k_probs(logits, k={k})", atol=1e-6)


@exercise("05.3", "top_p_probs", points=2, ko="top-p(뉴클리어스) 샘플링 분포",
          en="Top-p (nucleus) distribution")  # fmt: skip
def _top_p_probs(fn) -> None:
    gen = torch.Generator().manual_seed(53)
    for p in (0.05, 0.5, 0.9, 1.0):
        probs = torch.softmax(torch.randn(8, generator=gen) * 2, dim=-1)
        got = call(fn, probs.clone(), p)
        if isinstance(got, torch.Tensor) and got.shape == probs.shape:
            if not torch.allclose(got.sum(), torch.tensor(1.0), atol=1e-4):
                raise Fail(
                    "확률의 합이 1이 아닙니다. 남긴 확률을 그 합으로 나눠 정규화하세요.",
                    "the probabilities do not sum to 1: divide the kept ones by their sum.",
                )
            want = top_p_filter(probs[None], p)[0]
            if (got > 0).sum() < (want > 0).sum():
                raise Fail(f"p={p}에서 토큰을 너무 적게 남겼습니다. 누적 확률이 처음으로 p에 닿게 만드는 토큰까지 "
                           "남겨야 합니다(가장 큰 확률의 토큰은 언제나 남습니다).",
                           f"with p={p} too few tokens are kept: keep the token whose probability "
                           "makes the running total reach p (the most likely token is always kept).")  # fmt: skip
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
        if isinstance(got[1], torch.Tensor) and got[1].shape == cache_k.shape:
            raise Fail("새 키와 값을 캐시 끝에 붙이지 않았습니다. 캐시는 한 위치만큼 길어져야 합니다.",
                       "the new key and value were not appended: the cache must grow by one position.")  # fmt: skip
        unscaled = torch.softmax(q @ all_k.T, dim=-1) @ all_v
        if (isinstance(got[0], torch.Tensor) and got[0].shape == unscaled.shape and past
                and torch.allclose(got[0], unscaled, atol=1e-5)):  # fmt: skip
            raise Fail("점수를 sqrt(d)로 나누지 않았습니다: softmax(q k^T / sqrt(d)) v.",
                       "the scores are not divided by sqrt(d): softmax(q k^T / sqrt(d)) v.")  # fmt: skip
        expect_close(got[1], all_k, f"new cache_k after {past} cached tokens")
        expect_close(got[2], all_v, f"new cache_v after {past} cached tokens")
        expect_close(got[0], scaled_dot_product_attention(q, all_k, all_v)[0],
                     f"output after {past} cached tokens", atol=1e-5)  # fmt: skip


# --- keystones: a block and a whole GPT as functions over a dict of weights -------------------

KEYSTONE = GPTConfig(vocab_size=40, context_length=12, n_layer=2, n_head=2, n_embd=16)


def _keystone_model(seed: int) -> GPT:
    torch.manual_seed(seed)
    model = GPT(KEYSTONE).eval()
    with torch.no_grad():  # lift the LayerNorm gains and biases off 1 and 0, so that each matters
        for name, p in model.named_parameters():
            if "ln" in name:
                p.add_(0.3 * torch.randn_like(p))
    return model


def _block_variant(block, x: torch.Tensor, mistake: str = "") -> torch.Tensor:
    """``block(x)`` as written right, or with one typical mistake."""
    attn, mlp = block.attn, block.mlp
    if mistake == "post-LN":
        x = block.ln1(x + attn(x))
        return block.ln2(x + mlp(x))
    if mistake == "no attention residual":
        x = attn(block.ln1(x))
        return x + mlp(block.ln2(x))
    if mistake == "no feed-forward residual":
        x = x + attn(block.ln1(x))
        return mlp(block.ln2(x))
    if mistake == "no residual":
        return mlp(block.ln2(attn(block.ln1(x))))
    if mistake == "one LayerNorm":
        h = block.ln1(x)
        x = x + attn(h)
        return x + mlp(block.ln1(x))
    x = x + attn(block.ln1(x))
    return x + mlp(block.ln2(x))


_BLOCK_HINTS = {
    "post-LN": (
        "LayerNorm을 잔차 연결 뒤에 적용했습니다(post-LN). GPT-2는 pre-LN입니다: "
        "x = x + attn(LN1(x)), 그다음 x = x + mlp(LN2(x)).",
        "you normalise after the residual sum (post-LN); GPT-2 is pre-LN: "
        "x = x + attn(LN1(x)), then x = x + mlp(LN2(x)).",
    ),
    "no attention residual": (
        "어텐션의 잔차 연결이 빠졌습니다. 어텐션 출력을 x에 더해야 합니다: x = x + attn(LN1(x)).",
        "the residual around attention is missing: add the attention output "
        "to x, x = x + attn(LN1(x)).",
    ),
    "no feed-forward residual": (
        "피드포워드 층의 잔차 연결이 빠졌습니다: x = x + mlp(LN2(x)).",
        "the residual around the feed-forward layer is missing: x = x + mlp(LN2(x)).",
    ),
    "no residual": (
        "잔차 연결이 둘 다 빠졌습니다. 각 부분의 출력을 입력 x에 더해야 합니다.",
        "both residual connections are missing: add each part's output to its input x.",
    ),
    "one LayerNorm": (
        "두 번째 LayerNorm에 ln1의 가중치를 썼습니다. 피드포워드 층 앞에서는 ln2를 씁니다.",
        "the second LayerNorm uses ln1's weights: the feed-forward layer's input is "
        "normalised with ln2.",
    ),
}


def _expect_output(got, want: torch.Tensor, variant, hints: dict[str, tuple[str, str]],
                   what: str) -> None:  # fmt: skip
    """Pass when ``got`` equals ``want``; otherwise raise the hint of the typical mistake whose
    output (``variant(mistake)``) ``got`` reproduces, or the plain difference."""
    if isinstance(got, torch.Tensor) and got.shape == want.shape and torch.allclose(
            got.double(), want.double(), atol=1e-4):  # fmt: skip
        return
    if isinstance(got, torch.Tensor):
        for mistake in hints:
            out = variant(mistake)
            if got.shape == out.shape and torch.allclose(got.double(), out.double(), atol=1e-4):
                raise Fail(*hints[mistake])
    expect_close(got, want, what, atol=1e-4)


def _block_weights(model: GPT, i: int) -> dict[str, torch.Tensor]:
    prefix = f"blocks.{i}."
    return {k[len(prefix):]: v.detach().clone() for k, v in model.state_dict().items()
            if k.startswith(prefix)}  # fmt: skip


@exercise("05.5", "block_forward", points=4, ko="트랜스포머 블록의 순전파",
          en="A transformer block's forward pass")  # fmt: skip
@torch.no_grad()
def _block_forward(fn) -> None:
    for seed, (B, T) in ((55, (1, 5)), (56, (2, 12))):
        model = _keystone_model(seed)
        block = model.blocks[1]
        x = torch.randn(B, T, KEYSTONE.n_embd, generator=torch.Generator().manual_seed(seed))
        got = call(fn, x.clone(), _block_weights(model, 1), KEYSTONE.n_head)
        _expect_output(got, block(x), lambda m, block=block, x=x: _block_variant(block, x, m),
                       _BLOCK_HINTS, f"block_forward(x of shape {tuple(x.shape)}, weights, n_head=2)")  # fmt: skip


def _gpt_variant(model: GPT, idx: torch.Tensor, mistake: str = "") -> torch.Tensor:
    """``model(idx)`` as written right, or with one typical mistake."""
    T = idx.shape[1]
    tok, pos = model.embed.tok.weight, model.embed.pos.weight
    x = tok[idx] if mistake == "no positions" else tok[idx] + pos[:T]
    for block in model.blocks:
        x = _block_variant(block, x, "post-LN" if mistake == "post-LN" else "")
    if mistake != "no final norm":
        x = model.ln_f(x)
    return x @ tok.T


_GPT_HINTS = {
    "no positions": (
        "위치 임베딩이 빠졌습니다. 토큰 임베딩에 embed.pos.weight[:T]를 더해야 합니다.",
        "the position embeddings are missing: add embed.pos.weight[:T] to the token embeddings.",
    ),
    "no final norm": (
        "마지막 블록 뒤의 LayerNorm(ln_f)이 빠졌습니다. 출력층 앞에서 ln_f를 적용하세요.",
        "the final LayerNorm (ln_f) is missing: apply it after the last block, "
        "before the output layer.",
    ),
    "post-LN": (
        "블록에서 LayerNorm을 잔차 연결 뒤에 적용했습니다(post-LN). GPT-2는 pre-LN입니다: "
        "x = x + attn(LN1(x)).",
        "the blocks normalise after the residual sum (post-LN); GPT-2 is pre-LN: "
        "x = x + attn(LN1(x)).",
    ),
}
_UNTIED = (
    "출력층은 토큰 임베딩 행렬을 그대로 씁니다(가중치 공유): logits = x @ embed.tok.weight.T. "
    "weights에 head.weight는 없습니다.",
    "the output layer is tied to the token embedding: logits = x @ embed.tok.weight.T "
    "(the weights have no head.weight).",
)


@exercise("05.6", "gpt_forward", points=4, ko="GPT 전체의 순전파", en="A whole GPT's forward pass")
@torch.no_grad()
def _gpt_forward(fn) -> None:
    for seed, (B, T) in ((57, (1, 6)), (58, (3, 12))):
        model = _keystone_model(seed)
        idx = torch.randint(
            0, KEYSTONE.vocab_size, (B, T), generator=torch.Generator().manual_seed(seed)
        )
        weights = {
            k: v.detach().clone() for k, v in model.state_dict().items() if k != "head.weight"
        }
        try:
            got = call(fn, idx.clone(), weights, KEYSTONE.n_head)
        except Fail as fail:
            if "head.weight" in fail.text["en"]:
                raise Fail(*_UNTIED) from None
            raise
        _expect_output(got, model(idx), lambda m, model=model, idx=idx: _gpt_variant(model, idx, m),
                       _GPT_HINTS, f"gpt_forward(idx of shape {tuple(idx.shape)}, weights, n_head=2)")  # fmt: skip
