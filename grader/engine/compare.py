"""Trusted comparison of a student's value with the expected one.

Runs in the grader's own process. Whatever the runner decoded is checked again here: only a
plain ``numpy.ndarray`` of a real float or integer dtype, of exactly the expected shape, with
finite values within tolerance, counts; dicts must have exactly the expected keys.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from grader.engine.plugin import Tolerance
from grader.engine.runner_contract import Value

_REAL_KINDS = frozenset("fiu")


@dataclass(frozen=True)
class Verdict:
    passed: bool
    #: Why it failed, in words a student can act on ("" when passed).
    message: str = ""
    max_abs_error: float | None = None
    max_rel_error: float | None = None


def _plain_array(value: object) -> np.ndarray | None:
    if type(value) is not np.ndarray:  # subclasses (masked arrays, matrix, ...) are refused
        return None
    if value.dtype.kind not in _REAL_KINDS or value.dtype.fields is not None:
        return None
    return value


def _shape(shape: tuple[int, ...]) -> str:
    return "(" + ", ".join(str(n) for n in shape) + ("," if len(shape) == 1 else "") + ")"


def check_array(expected: np.ndarray, got: object, tol: Tolerance, label: str = "") -> Verdict:
    """Compare one array; ``label`` names a dict key in messages."""
    where = f"[{label!r}] " if label else ""
    arr = _plain_array(got)
    if arr is None:
        kind = type(got).__name__
        if isinstance(got, np.ndarray):
            kind = f"array of dtype {got.dtype}" if type(got) is np.ndarray else kind
        return Verdict(False, f"{where}returned {kind}; return a plain numpy array of floats")
    if arr.shape != expected.shape:
        return Verdict(
            False, f"{where}expected shape {_shape(expected.shape)}, got {_shape(arr.shape)}"
        )
    # The common case first, in few passes: every value within tolerance. NaN and inf are
    # never within (expected values are finite), so this also proves the values finite.
    with np.errstate(all="ignore"):
        diff = np.abs(arr - expected)
        scale = np.abs(expected)
        if bool((diff <= tol.atol + tol.rtol * scale).all()):
            rel = np.divide(diff, scale, out=np.zeros_like(diff), where=scale > 0)
            rel[(scale == 0) & (diff > 0)] = np.inf
            return Verdict(True, "", float(diff.max()) if diff.size else 0.0,
                           float(rel.max()) if rel.size else 0.0)
    if not np.all(np.isfinite(arr)):
        bad = int(np.size(arr) - np.count_nonzero(np.isfinite(arr)))
        return Verdict(False, f"{where}{bad} value(s) are nan or inf")
    # Student values may be huge: an overflow here is an answer (inf error), not a warning.
    with np.errstate(all="ignore"):
        diff = np.abs(arr.astype(np.float64) - expected)
        scale = np.abs(expected)
        rel = np.divide(diff, scale, out=np.zeros_like(diff), where=scale > 0)
        rel = np.where((scale == 0) & (diff > 0), np.inf, rel)
        within = bool(np.all(diff <= tol.atol + tol.rtol * scale))
    max_abs = float(diff.max()) if diff.size else 0.0
    max_rel = float(rel.max()) if rel.size else 0.0
    if within:
        return Verdict(True, "", max_abs, max_rel)
    return Verdict(
        False,
        f"{where}values differ: max absolute error {max_abs:.3g}, max relative error {max_rel:.3g}",
        max_abs,
        max_rel,
    )


def check(expected: Value, got: Value | None, tol: Tolerance) -> Verdict:
    """Compare a whole return value (an array, or a dict of arrays) with the expected one."""
    if not isinstance(expected, dict):
        return check_array(expected, got, tol)
    if type(got) is not dict:
        return Verdict(
            False, f"expected a dict with keys {sorted(expected)}, got {type(got).__name__}"
        )
    if set(got) != set(expected):
        return Verdict(
            False, f"expected exactly the keys {sorted(expected)}, got {sorted(map(str, got))}"
        )
    worst_abs, worst_rel = 0.0, 0.0
    for key in expected:
        v = check_array(expected[key], got[key], tol, label=key)
        if not v.passed:
            return v
        worst_abs = max(worst_abs, v.max_abs_error or 0.0)
        worst_rel = max(worst_rel, v.max_rel_error or 0.0)
    return Verdict(True, "", worst_abs, worst_rel)


def close(expected: Value, got: Value | None, tol: Tolerance) -> bool:
    """Whether ``got`` matches ``expected`` as a right answer (finite, within tolerance)."""
    return check(expected, got, tol).passed


def _same_array(value: np.ndarray, got: object, tol: Tolerance) -> bool:
    arr = _plain_array(got)
    if arr is None or arr.shape != value.shape:
        return False
    with np.errstate(all="ignore"):
        arr = arr.astype(np.float64)
        finite = np.isfinite(value)
        if not np.array_equal(finite, np.isfinite(arr)):
            return False
        if not np.array_equal(value[~finite], arr[~finite], equal_nan=True):
            return False
        return bool(np.all(np.abs(arr[finite] - value[finite])
                           <= tol.atol + tol.rtol * np.abs(value[finite])))


def same(value: Value, got: Value | None, tol: Tolerance) -> bool:
    """Whether ``got`` is ``value``, nan and inf included where ``value`` has them.

    How a known-wrong answer is recognised: a wrong variant may itself give nan (an overflow,
    0/0), and a student whose code makes the same mistake gets nan in the same places.
    """
    if isinstance(value, dict):
        return (type(got) is dict and set(got) == set(value)
                and all(_same_array(value[k], got[k], tol) for k in value))
    return _same_array(value, got, tol)
