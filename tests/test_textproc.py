import pytest

from llmbook.textproc import Vocab, clean, lemmatize, morphemes, sentences, stem, word_tokenize


def test_clean_and_tokenize():
    assert clean("[Enter GHOST] Who's there?  Nay, ANSWER me!") == "who's there nay answer me"
    assert clean("Ａｂｃ", lowercase=False) == "Abc"  # NFKC folds full-width letters
    assert word_tokenize("Who's there? Nay!") == ["Who's", "there", "?", "Nay", "!"]
    assert sentences("To be. Or not?\nThat is it") == ["To be.", "Or not?", "That is it"]
    with pytest.raises(TypeError):
        clean(3)


@pytest.mark.parametrize(
    "word, expected",  # values from the rules of Porter (1980)
    [("caresses", "caress"), ("ponies", "poni"), ("cats", "cat"), ("agreed", "agre"),
     ("plastered", "plaster"), ("motoring", "motor"), ("hopping", "hop"), ("hoping", "hope"),
     ("happy", "happi"), ("relational", "relat"), ("conditional", "condit"),
     ("generalization", "gener"), ("sized", "size"), ("falling", "fall")],
)  # fmt: skip
def test_porter_stem(word, expected):
    assert stem(word) == expected


def test_lemmatize_needs_irregulars_and_a_word_list():
    assert lemmatize("was") == "be" and lemmatize("children") == "child"
    assert lemmatize("studies") == "study"
    words = {"hope", "hop", "box"}
    assert lemmatize("hoping", words) == "hope"
    assert lemmatize("hopping", words) == "hop"
    assert lemmatize("boxes", words) == "box"


def test_korean_morphemes_with_kiwi():
    got = morphemes("대한민국의 주권은 국민에게 있다.")
    assert ("주권", "NNG") in got and ("은", "JX") in got and ("에게", "JKB") in got
    assert "".join(m for m, _ in got).replace(".", "") == "대한민국의주권은국민에게있다"


def test_vocab_maps_unknowns_to_zero():
    v = Vocab("abracadabra")
    assert len(v) == 6 and v.itos[0] == "<unk>"
    assert v.decode(v.encode("cab")) == "cab"
    assert v.encode("xa") == [0, v.stoi["a"]]
    assert len(Vocab("aab", min_count=2)) == 2
