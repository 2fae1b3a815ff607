"""Mistakes that look the same in any assignment: a flipped sign, a transpose, a lost axis.

Each detector gets the expected value and the student's value of one failing case and says
whether the student's value is that mistake applied to the right answer.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from grader.engine.compare import close
from grader.engine.plugin import Tolerance
from grader.engine.runner_contract import Value

Detector = Callable[[Value, Value | None, Tolerance], bool]


def _arrays(expected: Value, got: Value | None) -> list[tuple[np.ndarray, np.ndarray]] | None:
    """Pair up arrays (per dict key); None if the structures differ."""
    if isinstance(expected, dict):
        if type(got) is not dict or set(got) != set(expected):
            return None
        pairs = [(expected[k], got[k]) for k in expected]
    else:
        if got is None or isinstance(got, dict):
            return None
        pairs = [(expected, got)]
    if any(type(g) is not np.ndarray or g.dtype.kind not in "fiu" for _, g in pairs):
        return None
    return pairs


def _mistake_in_some(
    expected: Value, got: Value | None, tol: Tolerance,
    is_mistake: Callable[[np.ndarray, np.ndarray], bool],
) -> bool:
    """Every array (dict value) is right or shows the mistake, and at least one shows it."""
    pairs = _arrays(expected, got)
    if pairs is None:
        return False
    hit = False
    for e, g in pairs:
        if g.shape == e.shape and close(e, g, tol):
            continue
        if not is_mistake(e, g):
            return False
        hit = True
    return hit


def sign_error(expected: Value, got: Value | None, tol: Tolerance) -> bool:
    """Negated (for a dict: some values negated, the others right)."""
    return _mistake_in_some(
        expected, got, tol,
        lambda e, g: bool(np.any(e)) and g.shape == e.shape and close(-e, g, tol))


def transposed(expected: Value, got: Value | None, tol: Tolerance) -> bool:
    """The transpose of a matrix (not merely a vector lying the other way)."""
    return _mistake_in_some(
        expected, got, tol,
        lambda e, g: e.ndim == 2 and min(e.shape) > 1 and g.shape == e.T.shape
        and close(e.T, g, tol))


def near_miss(expected: Value, got: Value | None, tol: Tolerance) -> bool:
    """Right shape, finite, and within a tolerance 1000 times looser: right but for precision."""
    loose = Tolerance(rtol=tol.rtol * NEAR_MISS_FACTOR, atol=tol.atol * NEAR_MISS_FACTOR)
    return close(expected, got, loose)


#: How much looser than the assignment's tolerance a near miss may be (float32 is ~1e-7).
NEAR_MISS_FACTOR = 1000.0


def shape_mismatch(expected: Value, got: Value | None, tol: Tolerance) -> bool:
    """The right values in the right order, in another shape: (C,) for (C, 1), say."""
    return _mistake_in_some(
        expected, got, tol,
        lambda e, g: g.shape != e.shape and g.size == e.size
        and close(e.ravel(), g.ravel(), tol))


#: code -> (detector, message); an assignment's catalog may give its own message for a code.
GENERIC: dict[str, tuple[Detector, str]] = {
    "sign_error": (
        sign_error,
        "Your result has the wrong sign: check whether you wrote a - y or y - a, and whether "
        "each term is added or subtracted.",
    ),
    "transposed": (
        transposed,
        "Your result is transposed: check the order of the factors in your products, and that "
        "a gradient has the shape of what it differentiates.",
    ),
    "shape_mismatch": (
        shape_mismatch,
        "Right numbers, wrong shape: keep column vectors as (n, 1), for example "
        "np.sum(..., axis=1, keepdims=True).",
    ),
}
