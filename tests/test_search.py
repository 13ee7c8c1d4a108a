"""Retrieval: BM25 and TF-IDF against hand computations, terms, the store, embeddings."""

import math

import pytest
import torch

from llmbook import documents as D
from llmbook import search as S
from llmbook.gpt import GPT, GPTConfig

DOCS = [["a", "b"], ["a", "c", "c"], ["d"]]


def test_bm25_matches_hand_computation():
    bm = S.BM25(DOCS, k1=1.5, b=0.75)
    # N=3, df(c)=1: idf = ln(1 + 2.5/1.5); avgdl = 2; doc 1 has tf=2, |d|=3
    idf = math.log(1 + 2.5 / 1.5)
    expected = idf * 2 * 2.5 / (2 + 1.5 * (1 - 0.75 + 0.75 * 3 / 2))
    assert bm.scores(["c"]) == pytest.approx([0.0, expected, 0.0])
    # "a" is in 2 of 3 documents: a lower idf, and the shorter document scores higher
    s = bm.scores(["a"])
    assert s[0] > s[1] > 0 == s[2]
    assert math.log(1 + 1.5 / 2.5) == pytest.approx(bm.idf["a"])


def test_tfidf_cosine():
    tf = S.TfIdf(DOCS)
    assert tf.scores(["d"]) == pytest.approx([0.0, 0.0, 1.0])
    s = tf.scores(["a", "b"])
    assert s[0] == pytest.approx(1.0) and 0 < s[1] < 1


def test_recall_at_k():
    ranked = [["x", "y", "z"], ["y", "x", "z"], ["z", "y", "x"]]
    gold = ["x", "x", "q"]
    assert S.recall_at_k(ranked, gold, 1) == pytest.approx(1 / 3)
    assert S.recall_at_k(ranked, gold, 2) == pytest.approx(2 / 3)
    assert S.recall_at_k(ranked, gold, 3) == pytest.approx(2 / 3)
    with pytest.raises(ValueError):
        S.recall_at_k(ranked, gold[:2], 1)


def test_store_finds_the_right_fact_sheet():
    docs, questions = D.fact_documents("en")
    store = S.DocumentStore(docs + [D.Document("x", "Something else entirely.", "en")])
    ranked = [[d.doc_id for d in store.search(q.text, 3)] for q in questions]
    assert S.recall_at_k(ranked, [q.gold for q in questions], 1) == 1.0  # names are unique
    for q in questions:
        assert q.answer in next(d.text for d in docs if d.doc_id == q.gold)
    with pytest.raises(ValueError, match="method"):
        S.DocumentStore(docs, method="magic")


def test_terms_and_korean_particles():
    assert S.terms("Hello, World 42") == ["hello", "world", "42"]
    assert "국민" in S.terms("국민의 권리", "morphemes")
    assert S.terms("국민은", "bpe") and all(t.isdigit() for t in S.terms("국민은", "bpe"))
    assert D.fact_sheet("서연", "부산", "의사", "고양이", "ko").startswith("서연은 부산에")
    assert D.fact_sheet("지호", "부산", "의사", "고양이", "ko").startswith("지호는 부산에")
    assert "고양이를" in D.fact_sheet("지호", "부산", "의사", "고양이", "ko")
    with pytest.raises(ValueError, match="analyzer"):
        S.terms("x", "letters")


def test_embeddings_ignore_padding():
    torch.manual_seed(0)
    model = GPT(
        GPTConfig(vocab_size=4096, context_length=128, n_layer=1, n_head=2, n_embd=16)
    ).eval()
    short, long = "A short text.", "A much longer text that needs padding for the short one."
    alone = S.embed(model, [short])
    both = S.embed(model, [short, long])
    assert both.shape == (2, 16)
    assert torch.allclose(alone[0], both[0], atol=1e-5)
    assert torch.allclose(both.norm(dim=-1), torch.ones(2))
    store = S.DocumentStore(
        [D.Document("s", short, "en"), D.Document("l", long, "en")], "embedding", model=model
    )
    assert store.search(short, 1)[0].doc_id == "s"  # a text is closest to itself
