import itertools

import numpy as np
import pytest

from llmbook.hmm import HMM

TRUE = HMM(
    start=[0.6, 0.3, 0.1],
    trans=[[0.8, 0.15, 0.05], [0.1, 0.8, 0.1], [0.2, 0.2, 0.6]],
    emit=[[0.7, 0.2, 0.1, 0.0], [0.1, 0.6, 0.2, 0.1], [0.05, 0.15, 0.3, 0.5]],
)


def brute_force(hmm, obs):
    """Every state path's log joint probability."""
    scores = {}
    for path in itertools.product(range(hmm.n_states), repeat=len(obs)):
        lp = hmm.log_start[path[0]] + hmm.log_emit[path[0], obs[0]]
        for t in range(1, len(obs)):
            lp += hmm.log_trans[path[t - 1], path[t]] + hmm.log_emit[path[t], obs[t]]
        scores[path] = lp
    return scores


@pytest.mark.parametrize("seed", range(6))
def test_viterbi_and_forward_match_brute_force(seed):
    _, obs = TRUE.sample(6, seed=seed)
    scores = brute_force(TRUE, obs)
    best = max(scores, key=scores.get)
    path, lp = TRUE.viterbi(obs)
    assert tuple(path) == best
    assert lp == pytest.approx(scores[best])
    total = np.logaddexp.reduce(np.array(list(scores.values())))
    assert TRUE.log_likelihood(obs) == pytest.approx(total)


def test_viterbi_recovers_states_as_well_as_the_model_allows():
    states, obs = TRUE.sample(4000, seed=7)
    vit = (TRUE.viterbi(obs)[0] == states).mean()
    post = TRUE.posteriors(obs)
    best_possible = (post.argmax(1) == states).mean()  # the per-position optimum
    expected = post.max(1).mean()  # the model's own estimate of that optimum's accuracy
    emissions_only = (TRUE.emit[:, obs].argmax(0) == states).mean()  # ignores transitions
    assert abs(best_possible - expected) < 0.03
    assert vit > emissions_only + 0.05
    assert best_possible - 0.03 < vit <= best_possible + 0.01


def test_fit_recovers_the_parameters_from_labelled_data():
    data = [TRUE.sample(200, seed=s) for s in range(50)]
    hmm = HMM.fit([(o, s) for s, o in data], 3, 4, alpha=0.01)
    np.testing.assert_allclose(hmm.trans, TRUE.trans, atol=0.03)
    np.testing.assert_allclose(hmm.emit, TRUE.emit, atol=0.03)


def test_bad_input():
    with pytest.raises(ValueError):
        HMM([0.5, 0.6], [[1, 0], [0, 1]], [[1], [1]])
    with pytest.raises(ValueError):
        TRUE.viterbi([0, 9])
