"""Plain data: the only thing that crosses from a learner's code to a check.

:func:`encode` turns a value into JSON-ready data with tags for what JSON lacks (tuples, sets,
dicts with non-string keys, tensors, arrays); :func:`decode` rebuilds it from built-in types,
``torch.Tensor`` and ``numpy.ndarray`` only, checking every field. A learner's object therefore
never reaches a comparison: an ``__eq__`` that always says True, a ``list`` subclass or a lying
``__len__`` are gone after the round trip. The batch grader sends the encoded form between
processes; the in-notebook check does the same round trip in memory (:func:`plain`).
"""

from __future__ import annotations

import base64
import numbers
from typing import Any

MAX_DEPTH = 32  # nesting of lists/dicts; deeper answers are refused, not recursed into
MAX_ITEMS = 5_000_000  # elements in all tensors and containers of one value

DTYPES = ("bool", "uint8", "int8", "int16", "int32", "int64", "float16", "float32", "float64")


class NotPlain(ValueError):
    """A value that is not plain data (or is malformed, too deep or too big)."""


def _array_data(kind: str, dtype: str, shape: list[int], raw: bytes) -> dict:
    return {"$": kind, "dtype": dtype, "shape": shape, "data": base64.b64encode(raw).decode("ascii")}


def encode(x: Any, depth: int = 0) -> Any:
    """``x`` as JSON-ready plain data. Raises :class:`NotPlain` for anything else (a function,
    a module, a custom class)."""
    import numpy as np
    import torch

    if depth > MAX_DEPTH:
        raise NotPlain("nested too deeply")
    if x is None or isinstance(x, (bool, np.bool_)):
        return None if x is None else bool(x)
    if isinstance(x, str):
        return str.__str__(x)
    if isinstance(x, numbers.Integral):
        return int(x)
    if isinstance(x, numbers.Real):
        return float(x)
    if isinstance(x, torch.Tensor):
        t = x.detach().cpu().contiguous()
        if str(t.dtype).removeprefix("torch.") not in DTYPES:
            t = t.double()
        return _array_data("tensor", str(t.dtype).removeprefix("torch."), list(t.shape),
                           t.numpy().tobytes())  # fmt: skip
    if isinstance(x, np.ndarray):
        a = np.ascontiguousarray(x)
        if a.dtype.name not in DTYPES:
            a = a.astype(np.float64)
        return _array_data("ndarray", a.dtype.name, list(a.shape), a.tobytes())
    if isinstance(x, np.generic):
        return encode(x.item(), depth + 1)
    if isinstance(x, (list, tuple, set, frozenset)):
        items = [encode(v, depth + 1) for v in x]
        if isinstance(x, list):
            return items
        return {"$": "tuple" if isinstance(x, tuple) else "set", "v": items}
    if isinstance(x, dict):
        return {"$": "dict", "v": [[encode(k, depth + 1), encode(v, depth + 1)] for k, v in x.items()]}
    raise NotPlain(type(x).__name__)


def decode(data: Any, depth: int = 0) -> Any:
    """The plain value that :func:`encode` produced; only built-in types, tensors and arrays come
    out, whatever ``data`` holds. Raises :class:`NotPlain` on anything malformed."""
    items = [0]

    def rec(d: Any, depth: int) -> Any:
        if depth > MAX_DEPTH:
            raise NotPlain("nested too deeply")
        items[0] += 1
        if items[0] > MAX_ITEMS:
            raise NotPlain("too big")
        if d is None or type(d) in (bool, int, float, str):
            return d
        if type(d) is list:
            return [rec(v, depth + 1) for v in d]
        if type(d) is not dict or type(d.get("$")) is not str:
            raise NotPlain(f"unexpected {type(d).__name__}")
        kind = d["$"]
        if kind in ("tensor", "ndarray"):
            return _decode_array(d, items)
        v = d.get("v")
        if type(v) is not list:
            raise NotPlain(f"malformed {kind}")
        if kind == "tuple":
            return tuple(rec(e, depth + 1) for e in v)
        if kind == "set":
            return {_hashable(rec(e, depth + 1)) for e in v}
        if kind == "dict":
            if not all(type(p) is list and len(p) == 2 for p in v):
                raise NotPlain("malformed dict")
            return {_hashable(rec(k, depth + 1)): rec(val, depth + 1) for k, val in v}
        raise NotPlain(f"unknown kind {kind!r}")

    return rec(data, depth)


def _hashable(k: Any) -> Any:
    try:
        hash(k)
    except TypeError:
        raise NotPlain("unhashable key") from None
    return k


def _decode_array(d: dict, items: list[int]) -> Any:
    import numpy as np
    import torch

    dtype, shape, data = d.get("dtype"), d.get("shape"), d.get("data")
    if dtype not in DTYPES or type(shape) is not list or type(data) is not str:
        raise NotPlain("malformed array")
    if not all(type(n) is int and n >= 0 for n in shape) or len(shape) > MAX_DEPTH:
        raise NotPlain("malformed shape")
    size = int(np.prod(shape, dtype=np.int64)) if shape else 1
    items[0] += size
    if items[0] > MAX_ITEMS:
        raise NotPlain("too big")
    try:
        raw = base64.b64decode(data, validate=True)
    except ValueError:
        raise NotPlain("malformed array data") from None
    np_dtype = np.dtype(dtype)
    if len(raw) != size * np_dtype.itemsize:
        raise NotPlain("array data does not match its shape")
    a = np.frombuffer(raw, dtype=np_dtype).reshape(shape).copy()
    return torch.from_numpy(a) if d["$"] == "tensor" else a


def plain(x: Any) -> Any:
    """``x`` rebuilt from plain data (the in-notebook round trip). Raises :class:`NotPlain`."""
    return decode(encode(x))
