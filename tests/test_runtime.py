import random

import numpy as np
import pytest
import torch

import llmbook


def test_seed_makes_every_generator_repeat():
    draws = []
    for _ in range(2):
        llmbook.seed(7)
        draws.append((random.random(), float(np.random.rand()), float(torch.rand(1))))
    assert draws[0] == draws[1]
    llmbook.seed(8)
    assert (random.random(), float(np.random.rand()), float(torch.rand(1))) != draws[0]


def test_seed_returns_a_seeded_generator():
    a = torch.rand(3, generator=llmbook.seed(3))
    b = torch.rand(3, generator=torch.Generator().manual_seed(3))
    assert torch.equal(a, b)


@pytest.mark.parametrize("bad", [-1, 1.5, "0", True])
def test_seed_rejects_what_is_not_a_natural_number(bad):
    with pytest.raises(ValueError, match="non-negative whole number"):
        llmbook.seed(bad)


def test_device_honours_the_environment(monkeypatch):
    monkeypatch.setenv("LLMBOOK_DEVICE", "cpu")
    assert llmbook.device() == torch.device("cpu")
    monkeypatch.delenv("LLMBOOK_DEVICE")
    expected = "cuda" if torch.cuda.is_available() else llmbook.device().type
    assert llmbook.device().type == expected


def test_not_in_colab_here():
    assert llmbook.in_colab() is False
