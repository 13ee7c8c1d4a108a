"""Sliding windows and the DataLoader factory."""

from __future__ import annotations

import pytest
import torch

from llmbook.data import SlidingWindowDataset, make_dataloader, pad_right


@pytest.mark.parametrize(
    "n, context_length, stride", [(10, 4, 2), (10, 4, 4), (9, 8, 1), (50, 3, 7)]
)
def test_windows_are_shifted_slices(n, context_length, stride):
    ids = list(range(100, 100 + n))
    ds = SlidingWindowDataset(ids, context_length, stride)
    starts = [s for s in range(0, n, stride) if s + context_length + 1 <= n]
    assert len(ds) == len(starts)
    for i, s in enumerate(starts):
        x, y = ds[i]
        assert x.dtype == y.dtype == torch.long
        assert x.tolist() == ids[s : s + context_length]
        assert y.tolist() == ids[s + 1 : s + 1 + context_length]
    assert ds[-1][0].tolist() == ds[len(ds) - 1][0].tolist()
    with pytest.raises(IndexError):
        ds[len(ds)]


def test_stride_defaults_to_context_length_and_accepts_tensors():
    ds = SlidingWindowDataset(torch.arange(20, dtype=torch.int32), 5)
    assert ds.stride == 5 and len(ds) == 3 and ds[2][1].tolist() == [11, 12, 13, 14, 15]


@pytest.mark.parametrize(
    "args, error, message",
    [
        (([1, 2, 3], 3), ValueError, "too few"),
        (([1, 2, 3], 0), ValueError, "context_length"),
        (([1, 2, 3], 1, 0), ValueError, "stride"),
        (("some text", 2), TypeError, "encode"),
        (([0.5, 1.5, 2.5], 1), TypeError, "ints"),
        (([[1, 2], [3, 4]], 1), TypeError, "1-D"),
    ],
)
def test_bad_input_is_a_clear_error(args, error, message):
    with pytest.raises(error, match=message):
        SlidingWindowDataset(*args)


def test_dataloader_batches_cover_the_windows_reproducibly():
    ids = list(range(1000))
    loader = make_dataloader(ids, context_length=8, batch_size=4, stride=8, seed=1)
    batches = list(loader)
    assert len(batches) == len(SlidingWindowDataset(ids, 8, 8)) // 4
    x, y = batches[0]
    assert x.shape == y.shape == (4, 8)
    assert torch.equal(x[:, 1:], y[:, :-1])
    again = [b[0] for b in make_dataloader(ids, context_length=8, batch_size=4, stride=8, seed=1)]
    assert all(torch.equal(a, b[0]) for a, b in zip(again, batches))
    ordered = next(iter(make_dataloader(ids, 8, batch_size=4, shuffle=False)))[0]
    assert ordered[:, 0].tolist() == [0, 8, 16, 24]
    starts = sorted(int(b[0][i, 0]) for b in batches for i in range(4))
    assert len(set(starts)) == len(starts)  # no window twice within an epoch


def test_dataloader_refuses_an_empty_epoch():
    with pytest.raises(ValueError, match="batch_size"):
        make_dataloader(list(range(20)), context_length=8, batch_size=4)


def test_pad_right_fills_each_row_up_to_the_longest():
    out = pad_right([[1, 2, 3], [4], []], -100)
    assert out.dtype == torch.long
    assert out.tolist() == [[1, 2, 3], [4, -100, -100], [-100, -100, -100]]
    assert pad_right([torch.tensor([5, 6])], 0).tolist() == [[5, 6]]
    with pytest.raises(ValueError, match="at least one row"):
        pad_right([], 0)
