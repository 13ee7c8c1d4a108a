import math

import torch

from llmbook import seed
from llmbook.word2vec import nearest, project_2d, sgns_loss, skipgram_pairs, train_word2vec


def test_sgns_loss_by_hand():
    c = torch.tensor([[1.0, 0.0]])
    o = torch.tensor([[2.0, 0.0]])
    neg = torch.tensor([[[0.0, 1.0], [-1.0, 0.0]]])
    sig = lambda x: 1 / (1 + math.exp(-x))  # noqa: E731
    expected = -(math.log(sig(2)) + math.log(sig(0)) + math.log(sig(1)))
    assert abs(sgns_loss(c, o, neg).item() - expected) < 1e-6


def test_skipgram_pairs_stay_within_the_window():
    ids = list(range(50))
    pairs = skipgram_pairs(ids, window=3)
    d = (pairs[:, 0] - pairs[:, 1]).abs()
    assert d.min() >= 1 and d.max() <= 3
    assert set(map(tuple, skipgram_pairs(ids, 1).tolist())) == (
        {(i, i + 1) for i in range(49)} | {(i + 1, i) for i in range(49)})  # fmt: skip


def test_vectors_learn_which_words_share_contexts():
    # two groups of words that never share contexts: animals with 'eats', tools with 'cuts'
    seed(0)
    g = torch.Generator().manual_seed(0)
    animals, tools = ["cat", "dog", "cow", "pig"], ["saw", "axe", "knife", "drill"]
    words = []
    for _ in range(1500):
        if torch.rand(1, generator=g) < 0.5:
            words += [animals[torch.randint(4, (1,), generator=g)], "eats", "grass"]
        else:
            words += [tools[torch.randint(4, (1,), generator=g)], "cuts", "wood"]
    model, vocab, losses = train_word2vec(words, dim=16, window=1, min_count=1, epochs=2,
                                          batch_size=128, subsample=1.0)  # fmt: skip
    assert losses[-1] < losses[0]
    top = [w for w, _ in nearest("cat", model.vectors(), vocab, k=3)]
    assert set(top) <= set(animals)
    assert project_2d(model.vectors()).shape == (len(vocab), 2)
