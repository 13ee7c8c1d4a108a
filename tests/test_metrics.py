import math

import pytest
import torch

from llmbook.metrics import bleu, perplexity


def test_perplexity_of_uniform_guess_is_the_number_of_choices():
    assert perplexity([math.log(1 / 7)] * 10) == pytest.approx(7.0)


def test_perplexity_per_unit_and_zero_probability():
    lp = torch.log(torch.tensor([0.5, 0.25]))  # 2 tokens covering 3 characters
    assert perplexity(lp) == pytest.approx(math.sqrt(8))
    assert perplexity(lp, n_units=3) == pytest.approx(2.0)
    assert perplexity([0.0, -math.inf]) == math.inf
    with pytest.raises(ValueError):
        perplexity([0.3])  # a probability, not a log-probability
    with pytest.raises(ValueError):
        perplexity([])


def test_bleu_hand_computed_example():
    # candidate: "the cat sat on the mat" (6 tokens); reference "the cat is on the mat" (6)
    # clipped matches: 1-grams 5/6 (all but 'sat'); 2-grams 3/5 (the cat, on the, the mat);
    # 3-grams 1/4 (on the mat); 4-grams 0/3 -> BLEU-4 = 0, BLEU-2 = sqrt(5/6 * 3/5) = sqrt(1/2)
    cand, ref = "the cat sat on the mat", "the cat is on the mat"
    assert bleu([cand], [[ref]]) == 0.0
    assert bleu([cand], [[ref]], max_n=2) == pytest.approx(math.sqrt(0.5))
    assert bleu([cand], [[ref]], max_n=3) == pytest.approx((5 / 6 * 3 / 5 * 1 / 4) ** (1 / 3))
    # add-1 smoothing for n > 1: (5/6 * 4/6 * 2/5 * 1/4) ** (1/4)
    assert bleu([cand], [[ref]], smooth=True) == pytest.approx((5 / 6 * 4 / 6 * 2 / 5 * 1 / 4) ** 0.25)


def test_bleu_clipping_brevity_and_multiple_references():
    # 'the the the' against 'the cat': 'the' is clipped to 1 match of 3 -> unigram BLEU 1/3
    assert bleu(["the the the"], [["the cat"]], max_n=1) == pytest.approx(1 / 3)
    # a correct but short candidate: precision 1, brevity penalty exp(1 - 4/2)
    assert bleu(["a b"], [["a b c d"]], max_n=2) == pytest.approx(math.exp(-1))
    # the closest reference length (2, not 4) sets the penalty: none here
    assert bleu(["a b"], [["a b c d", "a b"]], max_n=2) == pytest.approx(1.0)
    assert bleu([["x", "y"]], [[["x", "y"]]], max_n=2) == pytest.approx(1.0)
    with pytest.raises(TypeError):
        bleu("a b", ["a b"])
