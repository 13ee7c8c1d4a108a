"""Chapter 2: right and typical wrong answers for every exercise (see tests/exercises/test_wrong_answers.py)."""

from collections import Counter

from llmbook.hmm import HMM


def _bigram_counts(ids):
    return dict(Counter(zip(ids, ids[1:])))


def _addk(ids, vocab_size, k, prev, token):
    pair = sum(1 for a, b in zip(ids, ids[1:]) if (a, b) == (prev, token))
    context = sum(1 for a in ids[:-1] if a == prev)
    return (pair + k) / (context + k * vocab_size)


def _addk_once(ids, vocab_size, k, prev, token):  # wrong: k added once to the denominator
    pair = sum(1 for a, b in zip(ids, ids[1:]) if (a, b) == (prev, token))
    context = sum(1 for a in ids[:-1] if a == prev)
    return (pair + k) / (context + k)


def _viterbi(start, trans, emit, obs):
    return HMM(start, trans, emit).viterbi(obs)[0].tolist()


def _viterbi_reversed(start, trans, emit, obs):  # wrong: forgot to reverse the backtracked path
    return _viterbi(start, trans, emit, obs)[::-1]


def _greedy(start, trans, emit, obs):  # wrong: the best state at each step, one step at a time
    import numpy as np

    path = [int(np.argmax(np.log(start) + np.log(emit[:, obs[0]])))]
    for o in obs[1:]:
        path.append(int(np.argmax(np.log(trans[path[-1]]) + np.log(emit[:, o]))))
    return path


RIGHT = {
    "02.1": {"bigram_counts": _bigram_counts},
    "02.2": {"addk_prob": _addk},
    "02.3": {"viterbi": _viterbi},
}
WRONG = {
    "02.1": [
        ({"bigram_counts": lambda ids: {(b, a): c for (a, b), c in _bigram_counts(ids).items()}},
         "the keys are reversed"),
        ({"bigram_counts": lambda ids: dict.fromkeys(zip(ids, ids[1:]), 1)}, "counted once"),
    ],
    "02.2": [
        ({"addk_prob": _addk_once}, "count(prev) + k·V"),
        ({"addk_prob": lambda ids, v, k, prev, token: _addk(ids, v, 0, prev, token)}, "k is not added"),
    ],
    "02.3": [
        ({"viterbi": _viterbi_reversed}, "the path is reversed"),
        ({"viterbi": _greedy}, "best-looking state at each position"),
    ],
}
