"""Byte-level BPE: both trainers agree, our encoder agrees with tiktoken, files fail clearly."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import tiktoken
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from llmbook import bpe, corpus
from llmbook.tokenizer import (
    ENDOFTEXT,
    GPT2_SPLIT_PATTERN,
    BPETokenizer,
    CharTokenizer,
)
from llmbook.tokens import default_tokenizer

GPT2_DIR = Path(__file__).resolve().parents[2] / "shared" / "data" / "gpt2"
KO_TRAIN, KO_HELDOUT = corpus.split("ko")
EN_TRAIN, EN_HELDOUT = corpus.split("en")
EMOJI = "👍🏽 가족: 👨‍👩‍👧‍👦, 🇰🇷 🎉🎉🎉 naïve café ça ñ Ω≈ç√ 日本語テキスト\n\t\x00\x7f end" * 20
CORPORA = {
    "korean": KO_TRAIN[:4000],
    "english": EN_TRAIN[:8000],
    "emoji-mixed": EMOJI,
    "repeats": "aaaa aaaaa aa a ab abab ababab " * 30,
}
FUZZ = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def test_char_tokenizer_unchanged():
    tok = CharTokenizer("hello")
    assert tok.encode("hell") == [1, 0, 2, 2] and tok.decode([0, 3]) == "eo"


def test_tie_break_rule_on_a_hand_worked_example():
    # one piece "aaabdaaabac": (a,a) occurs 4 times (overlaps count) and wins; then (aa,a) and
    # (a,b) both occur twice, and the smaller pair (97, 98) wins the tie.
    tok = BPETokenizer.train("aaabdaaabac", 256 + 3, special_tokens=[])
    assert tok.merges[:2] == [(97, 97), (97, 98)]
    assert tok.token_bytes(256) == b"aa" and tok.token_bytes(257) == b"ab"


@pytest.mark.filterwarnings("ignore:the text only allows")  # small corpora run out of pairs
@pytest.mark.parametrize("name", CORPORA)
def test_both_trainers_give_identical_merges(name):
    text = CORPORA[name]
    fast = BPETokenizer.train(text, 256 + 150, method="fast", special_tokens=[])
    simple = BPETokenizer.train(text, 256 + 150, method="simple", special_tokens=[])
    assert len(fast.merges) >= 10
    assert fast.merges == simple.merges


@settings(max_examples=40, deadline=None)
@given(st.text(alphabet="ab ca\n가나", max_size=80), st.integers(1, 40))
def test_both_trainers_agree_on_random_corpora(text, n_merges):
    words = {tuple(w.encode()): n for w, n in zip(text.split(" "), range(1, 100))}
    vocab = [bytes([b]) for b in range(256)]
    assert bpe.train_fast(words, vocab, n_merges) == bpe.train_simple(words, vocab, n_merges)


def test_merges_never_cross_special_tokens():
    # without cutting the special token out first, the split pattern would make "<|", "|>", ...
    tok = BPETokenizer.train(("ab" + ENDOFTEXT + "cd ") * 50, 256 + 3 + 1)
    assert {tok.token_bytes(i) for i in range(256, 259)} == {b"ab", b"cd", b" ab"}
    assert tok.special_tokens == {ENDOFTEXT: 259}


def test_encoder_matches_tiktoken_on_heldout_text():
    tok = default_tokenizer()
    enc = tok.to_tiktoken()
    for text in (KO_HELDOUT, EN_HELDOUT[:60_000], EMOJI):
        ours = tok.encode(text)
        assert ours == enc.encode(text)
        assert tok.decode(ours) == text
    assert len(tok.encode(KO_HELDOUT)) < len(KO_HELDOUT.encode("utf-8")) / 2  # it compresses


@FUZZ
@given(st.text())
def test_roundtrip_and_tiktoken_agree_on_any_unicode(text):
    tok = default_tokenizer()
    ids = tok.encode_ordinary(text)
    assert tok.decode(ids) == text
    assert ids == _DEFAULT_TT.encode_ordinary(text)


def _small() -> BPETokenizer:
    return BPETokenizer.train(EMOJI + KO_TRAIN[:2000], 256 + 100, GPT2_SPLIT_PATTERN)


@FUZZ
@given(st.text(st.characters(codec="utf-8"), max_size=200))
def test_gpt2_pattern_tokenizer_roundtrip_and_tiktoken(text):
    tok = _SMALL
    ids = tok.encode_ordinary(text)
    assert tok.decode(ids) == text
    assert ids == _SMALL_TT.encode_ordinary(text)


_SMALL = _small()
_SMALL_TT = _SMALL.to_tiktoken()
_DEFAULT_TT = default_tokenizer().to_tiktoken()


@pytest.mark.parametrize("text", ["", "\x00", "\r\n\r\n", " ", "\U0010ffff", "é" * 5, "\ud7a3"])
def test_roundtrip_edge_cases(text):
    tok = default_tokenizer()
    assert tok.decode(tok.encode(text)) == text
    assert tok.encode(text) == tok.to_tiktoken().encode(text)


def test_special_tokens_follow_tiktoken_rules():
    tok = default_tokenizer()
    text = f"끝{ENDOFTEXT}the end"
    with pytest.raises(ValueError, match="allowed_special"):
        tok.encode(text)
    ids = tok.encode(text, allowed_special="all")
    assert ids.count(tok.special_tokens[ENDOFTEXT]) == 1
    assert ids == tok.to_tiktoken().encode(text, allowed_special="all")
    assert tok.encode_ordinary(text) == tok.to_tiktoken().encode_ordinary(text)
    assert tok.decode(ids) == text
    with pytest.raises(ValueError, match="not special tokens"):
        tok.encode(text, allowed_special={"<|nope|>"})


def test_lone_surrogate_and_wrong_types_are_clear_errors():
    tok = default_tokenizer()
    with pytest.raises(ValueError, match="surrogate"):
        tok.encode("a\ud800")
    with pytest.raises(TypeError, match="str"):
        tok.encode(b"bytes")
    with pytest.raises(ValueError, match="not a token id"):
        tok.decode([tok.vocab_size])
    with pytest.raises(ValueError, match="vocab_size"):
        BPETokenizer.train("abc", 100)
    with pytest.raises(ValueError, match="method"):
        BPETokenizer.train("abc", 300, method="slow")


def test_save_load_roundtrip(tmp_path):
    tok = _SMALL
    path = tok.save(tmp_path / "tok.json")
    data = json.loads(path.read_text(encoding="utf-8"))
    assert data["format"] == "llmbook-bpe" and data["version"] == 1
    again = BPETokenizer.load(path)
    assert again.merges == tok.merges and again.special_tokens == tok.special_tokens
    assert again.pattern == GPT2_SPLIT_PATTERN
    assert again.encode(EMOJI) == tok.encode(EMOJI)


@pytest.mark.parametrize(
    "damage, message",
    [
        (lambda s: s[: len(s) // 2], "not valid JSON"),
        (lambda s: s.replace('"version": 1', '"version": 2'), "version 2"),
        (lambda s: s.replace('"llmbook-bpe"', '"other"'), "not an llmbook tokenizer"),
        (lambda s: s.replace('"merges"', '"merged"'), "missing"),
        (lambda s: s.replace("[97, 97]", "[97, 99999]", 1), "merge"),
        (lambda s: s.replace('"byte_order": [0, 1,', '"byte_order": [1, 1,'), "byte_order"),
    ],
)
def test_corrupted_or_wrong_version_file_names_the_file(tmp_path, damage, message):
    tok = BPETokenizer.train("aaabdaaabac", 256 + 3)
    good = tok.to_json()
    path = tmp_path / "broken.json"
    path.write_text(damage(good), encoding="utf-8")
    with pytest.raises(ValueError, match=message) as err:
        BPETokenizer.load(path)
    assert "broken.json" in str(err.value)


def test_training_from_a_non_utf8_file_names_the_file(tmp_path):
    path = tmp_path / "latin1.txt"
    path.write_bytes("café".encode("latin-1"))
    with pytest.raises(ValueError, match="latin1.txt.*UTF-8"):
        BPETokenizer.train(path, 300)
    path.write_text("ab ab ab", encoding="utf-8")
    assert BPETokenizer.train(path, 258, special_tokens=[]).merges[0] == (97, 98)


@pytest.mark.skipif(not GPT2_DIR.is_dir(), reason="GPT-2's files are not in ../shared/data/gpt2")
def test_from_gpt2_files_encodes_exactly_like_tiktoken():
    from tiktoken.load import data_gym_to_mergeable_bpe_ranks

    ours = BPETokenizer.from_gpt2_files(GPT2_DIR / "encoder.json", GPT2_DIR / "vocab.bpe")
    ranks = data_gym_to_mergeable_bpe_ranks(
        str(GPT2_DIR / "vocab.bpe"), str(GPT2_DIR / "encoder.json")
    )
    reference = tiktoken.Encoding(
        "gpt2", pat_str=GPT2_SPLIT_PATTERN, mergeable_ranks=ranks, special_tokens={ENDOFTEXT: 50256}
    )
    assert ours.ranks == ranks and ours.vocab_size == 50257
    text = EN_HELDOUT[:30_000] + KO_HELDOUT[:3000] + EMOJI + " it's   spaced\n\n\n"
    assert ours.encode(text) == reference.encode(text)
    assert ours.encode(ENDOFTEXT, allowed_special="all") == [50256]
    assert ours.decode(ours.encode(text)) == text
