"""From token ids to training batches: sliding windows of (input, target) pairs, and rows of
different lengths padded into one tensor (:func:`pad_right`).

A language model learns to predict token ``t + 1`` from tokens ``..t``. Window ``i`` starts at
``i * stride``; its input is ``context_length`` ids and its target the same ids shifted one to
the right. ``stride == context_length`` gives windows that do not overlap; a smaller stride
overlaps them (more, but correlated, examples).
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch.utils.data import DataLoader, Dataset


def _positive_int(name: str, value) -> int:
    if type(value) is not int or value < 1:
        raise ValueError(f"{name} must be a positive int, got {value!r}")
    return value


class SlidingWindowDataset(Dataset):
    """(input, target) windows over one long sequence of token ids.

    ``ids`` is a list of ints or a 1-D integer tensor; ``stride`` defaults to
    ``context_length``. Item ``i`` is ``(ids[s : s + context_length], ids[s + 1 : s + 1 +
    context_length])`` with ``s = i * stride``, both ``torch.long`` tensors; only windows whose
    target fits inside ``ids`` are kept.
    """

    def __init__(
        self, ids: Sequence[int] | torch.Tensor, context_length: int, stride: int | None = None
    ):
        self.context_length = _positive_int("context_length", context_length)
        self.stride = _positive_int("stride", context_length if stride is None else stride)
        self.ids = _token_ids(ids, self.context_length)

    def __len__(self) -> int:
        """Every start ``0, stride, 2 * stride, ...`` whose window and next token fit."""
        return (len(self.ids) - self.context_length - 1) // self.stride + 1

    def __getitem__(self, i: int) -> tuple[torch.Tensor, torch.Tensor]:
        _check_index(i, len(self))
        start = (i % len(self)) * self.stride
        window = self.ids[start : start + self.context_length + 1]  # one token more than the input
        return window[:-1], window[1:]  # the target is the input shifted one to the right


def _token_ids(ids, context_length: int) -> torch.Tensor:
    """``ids`` as a 1-D long tensor, checked to hold at least one window and its next token."""
    if isinstance(ids, str):
        raise TypeError("SlidingWindowDataset needs token ids, not text: encode the text first")
    ids = torch.as_tensor(ids)
    if ids.ndim != 1 or ids.is_floating_point() or ids.is_complex() or ids.dtype == torch.bool:
        raise TypeError(
            f"ids must be a 1-D sequence of ints, got {ids.dtype} of shape {tuple(ids.shape)}"
        )
    if len(ids) < context_length + 1:
        raise ValueError(
            f"{len(ids)} tokens are too few for one window: context_length="
            f"{context_length} needs at least {context_length + 1} (inputs plus the next token)"
        )
    return ids.long()


def _check_index(i: int, n: int) -> None:
    if not -n <= i < n:
        raise IndexError(f"window {i} out of range for {n} windows")


def make_dataloader(
    ids: Sequence[int] | torch.Tensor,
    context_length: int,
    batch_size: int = 8,
    stride: int | None = None,
    shuffle: bool = True,
    drop_last: bool = True,
    seed: int = 0,
) -> DataLoader:
    """A ``DataLoader`` of ``(inputs, targets)`` batches, each of shape ``(batch_size, context_length)``.

    Shuffling uses its own generator seeded with ``seed``, so the batch order is reproducible and
    does not depend on (or disturb) the global random state. Tensors stay on the CPU; move each
    batch with ``.to(llmbook.device())``.
    """
    dataset = SlidingWindowDataset(ids, context_length, stride)
    _positive_int("batch_size", batch_size)
    if drop_last and len(dataset) < batch_size:
        raise ValueError(
            f"only {len(dataset)} windows, fewer than batch_size={batch_size}: with drop_last=True "
            "there would be no batch at all; use more text, a smaller batch or a smaller stride"
        )
    generator = torch.Generator().manual_seed(seed)
    return DataLoader(
        dataset, batch_size=batch_size, shuffle=shuffle, drop_last=drop_last, generator=generator
    )


def pad_right(rows: Sequence[Sequence[int]], value: int) -> torch.Tensor:
    """Rows of different lengths as one ``(len(rows), longest)`` tensor of ints, each row filled
    up on the right with ``value`` (a padding id, or a label the loss ignores). Right padding
    keeps every row's real tokens at the positions a causal model reads them."""
    if len(rows) == 0:
        raise ValueError("pad_right needs at least one row")
    out = torch.full((len(rows), max(len(r) for r in rows)), value, dtype=torch.long)
    for i, row in enumerate(rows):
        out[i, : len(row)] = torch.as_tensor(list(row), dtype=torch.long)
    return out
