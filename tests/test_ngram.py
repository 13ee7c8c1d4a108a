import math

import numpy as np
import pytest

from llmbook import corpus
from llmbook.metrics import perplexity
from llmbook.ngram import NGramLM
from llmbook.textproc import Vocab

TOY = [0, 1, 2, 0, 1, 3, 0, 1, 2, 2, 0]


def test_counts_and_add_k_by_hand():
    m = NGramLM(2, 5, smoothing="addk", k=1.0).fit(TOY)
    assert m.counts[1][(0,)] == {1: 3}  # 0 is always followed by 1
    assert m.counts[1][(1,)] == {2: 2, 3: 1}
    assert m.prob(2, [1]) == pytest.approx((2 + 1) / (3 + 5))
    assert m.prob(4, [1]) == pytest.approx(1 / 8)  # unseen: only the added k
    mle = NGramLM(2, 5, smoothing="addk", k=0).fit(TOY)
    assert mle.prob(1, [0]) == 1.0 and mle.prob(2, [0]) == 0.0
    assert perplexity(mle.log_probs([0, 2])) == math.inf


@pytest.mark.parametrize("n", [1, 2, 3, 4])
def test_kneser_ney_distributions_sum_to_one(n):
    rng = np.random.default_rng(n)
    ids = rng.integers(0, 6, 300).tolist()
    m = NGramLM(n, 8, smoothing="kn").fit(ids)  # ids 6 and 7 never occur
    for ctx in ([], [0], [1, 2], [5, 5, 5], [7, 6, 7]):  # seen and unseen contexts
        scalar = np.array([m.prob(w, ctx) for w in range(8)])
        assert scalar.sum() == pytest.approx(1.0, abs=1e-12)
        assert (scalar > 0).all()
        np.testing.assert_allclose(m.distribution(ctx), scalar, rtol=1e-12)


def test_kneser_ney_uses_continuation_counts():
    # 'b' follows only 'a' (many times); 'c' follows many different tokens once each.
    ids = [0, 1] * 20 + [3, 2, 4, 2, 5, 2, 0, 2]
    m = NGramLM(2, 7).fit(ids)
    # after an unseen context only the lower order speaks: c is more 'versatile' than b
    assert m.prob(2, [6]) > m.prob(1, [6])


def test_kneser_ney_beats_add_k_on_heldout_text():
    train, heldout = corpus.split("ko")
    vocab = Vocab(train)
    a, b = vocab.encode(train), vocab.encode(heldout[:2000])
    kn = perplexity(NGramLM(3, len(vocab)).fit(a).log_probs(b))
    addk = perplexity(NGramLM(3, len(vocab), "addk", k=0.1).fit(a).log_probs(b))
    uni = perplexity(NGramLM(1, len(vocab)).fit(a).log_probs(b))
    assert kn < addk and kn < uni / 4


def test_sampling_follows_the_counts():
    m = NGramLM(2, 5, smoothing="addk", k=0).fit(TOY)
    s = m.sample(50, [0], seed=1)
    assert len(s) == 50
    seq = [0, *s]
    assert all(nxt == 1 for prev, nxt in zip(seq, seq[1:]) if prev == 0)  # P(1 | 0) = 1


def test_bad_input():
    with pytest.raises(ValueError):
        NGramLM(0, 5)
    with pytest.raises(ValueError):
        NGramLM(2, 3).fit([0, 1, 5])
    with pytest.raises(ValueError):
        NGramLM(2, 3).prob(0, [1])
