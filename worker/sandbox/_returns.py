"""Inside the sandbox: turn what a student function returned into plain arrays, or refuse it.

Only exact types are accepted, so no student-defined method (``__eq__``, ``__array__``,
``__float__``...) runs while converting.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from . import _wire

_SCALARS = frozenset({float, int, bool, np.float64, np.float32, np.float16, np.int64, np.int32,
                      np.int16, np.int8, np.uint64, np.uint32, np.uint16, np.uint8, np.bool_})
_MAX_ITEMS = 1 << 22


class InvalidReturn(Exception):
    """The return value is not something the grader accepts."""


def _plain_array(value: np.ndarray, limit: int) -> np.ndarray:
    if value.dtype.kind not in "fiub" or value.dtype.fields is not None:
        raise InvalidReturn(f"returned an array of dtype {value.dtype}; return real numbers")
    if np.dtype(value.dtype.str.replace(">", "<")) not in _ALLOWED:
        raise InvalidReturn(f"returned an array of dtype {value.dtype}; return float64")
    if value.nbytes > limit:
        raise InvalidReturn(f"returned {value.nbytes} bytes; the limit is {limit}")
    if value.ndim > _wire.MAX_NDIM:
        raise InvalidReturn(f"returned an array with {value.ndim} dimensions")
    return value.astype(value.dtype.newbyteorder("<"), copy=False)


_ALLOWED = {np.dtype(d) for d in _wire.DTYPES}


def _flatten(value: Any, depth: int, count: list[int]) -> None:
    """Check that ``value`` is a nest of exact lists/tuples of exact numbers."""
    t = type(value)
    if t in _SCALARS:
        return
    if t is list or t is tuple:
        if depth > _wire.MAX_NDIM:
            raise InvalidReturn("returned lists nested too deeply")
        count[0] += len(value)  # counted up front, so a huge list is refused at once
        if count[0] > _MAX_ITEMS:
            raise InvalidReturn("returned too many numbers")
        for item in value:
            _flatten(item, depth + 1, count)
        return
    raise InvalidReturn(f"returned a {_describe(value)} inside a list; use numbers only")


def _describe(value: Any) -> str:
    t = type(value)
    name = t.__name__
    if t.__module__ in ("builtins", "numpy", "numpy.ma.core"):
        return name
    return f"{name} object"


def _one(value: Any, limit: int) -> np.ndarray:
    t = type(value)
    if t is np.ndarray:
        return _plain_array(value, limit)
    if isinstance(value, np.ndarray):
        return _refuse(value)
    if t is list or t is tuple or t in _SCALARS:
        _flatten(value, 0, [1])
        try:
            arr = np.array(value, dtype=np.float64)
        except (ValueError, OverflowError) as exc:
            raise InvalidReturn(f"returned numbers that do not form an array: {exc}") from None
        return _plain_array(arr, limit)
    return _refuse(value)


def _refuse(value: Any) -> np.ndarray:
    raise InvalidReturn(f"returned a {_describe(value)}; return a plain numpy.ndarray")


def to_plain(value: Any, limit: int) -> np.ndarray | dict[str, np.ndarray]:
    """Return ``value`` as a plain array or dict of plain arrays, or raise InvalidReturn."""
    if type(value) is dict:
        if len(value) > _wire.MAX_KEYS:
            raise InvalidReturn(f"returned a dict with {len(value)} keys")
        out: dict[str, np.ndarray] = {}
        total = 0
        for key, item in list(value.items()):
            if (type(key) is not str or not key.isprintable()
                    or len(key.encode(errors="replace")) > _wire.MAX_KEY_BYTES):
                raise InvalidReturn("returned a dict whose keys are not short printable strings")
            if type(item) is dict:
                raise InvalidReturn(f"returned a nested dict under {key!r}")
            out[key] = _one(item, limit - total)
            total += out[key].nbytes
        return out
    return _one(value, limit)
