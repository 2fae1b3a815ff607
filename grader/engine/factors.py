"""Saying which constant factor is off: "your regularization term is a quarter of the expected one".

A student's answer that differs from the right one by a constant factor of the whole answer, or
of one additive term of it, is recognised by a least-squares fit of that factor and a check
that the fitted answer matches within tolerance. The factor is then said in words.
"""

from __future__ import annotations

from fractions import Fraction

import numpy as np

from grader.engine.compare import close
from grader.engine.plugin import Tolerance
from grader.engine.runner_contract import Value

#: Factors said in words rather than as numbers.
_WORDS = {
    Fraction(1, 2): "half",
    Fraction(1, 4): "a quarter of",
    Fraction(3, 4): "three quarters of",
    Fraction(1, 3): "a third of",
    Fraction(2, 3): "two thirds of",
    Fraction(2): "twice",
}


def _fit(expected: np.ndarray, got: object, term: np.ndarray, tol: Tolerance) -> float | None:
    """The k with ``got = expected + (k - 1) * term`` within tolerance, or None."""
    if type(got) is not np.ndarray or got.dtype.kind not in "fiu":
        return None
    if got.shape != expected.shape or term.shape != expected.shape or expected.size < 2:
        return None  # any wrong single number is some factor of the right one
    with np.errstate(all="ignore"):
        g = got.astype(np.float64)
        if not (np.all(np.isfinite(g)) and np.all(np.isfinite(term))):
            return None
        tt = float(np.sum(term * term))
        if tt == 0.0 or not np.isfinite(tt):
            return None
        c = float(np.sum((g - expected) * term)) / tt
    if not np.isfinite(c) or not close(expected + c * term, g, tol):
        return None
    return 1.0 + c


def factors(expected: Value, got: Value | None, term: Value, tol: Tolerance) -> dict[str, float]:
    """Per array (dict key, or "" for a single array) the factor ``term`` has in ``got``.

    Empty unless every array of ``got`` is either right or the right answer with ``term``
    scaled by some factor other than 1.
    """
    if isinstance(expected, dict):
        if type(got) is not dict or set(got) != set(expected) or not isinstance(term, dict):
            return {}
        pairs: list[tuple[str, np.ndarray, Value | None, np.ndarray | None]] = [
            (k, expected[k], got[k], term.get(k)) for k in expected]
    else:
        if isinstance(term, dict):
            return {}
        pairs = [("", expected, got, term)]
    found: dict[str, float] = {}
    for key, e, g, t in pairs:
        if close(e, g, tol):
            continue
        if t is None:
            return {}
        k = _fit(e, g, np.asarray(t, dtype=np.float64), tol)
        if k is None or abs(k - 1.0) < 1e-9:
            return {}
        found[key] = k
    return found


def snap(k: float) -> Fraction | None:
    """``k`` as a simple fraction (denominator up to 1000) if it is one, else None."""
    f = Fraction(k).limit_denominator(1000)
    return f if abs(float(f) - k) <= 1e-6 * max(1.0, abs(k)) else None


def same_factor(a: float, b: float) -> bool:
    return abs(a - b) <= 1e-6 * max(1.0, abs(a), abs(b))


def predicate(k: float) -> str:
    """What factor ``k`` makes of a quantity: "is missing", "is a quarter of the expected one"."""
    f = snap(k)
    if f == 0:
        return "is missing"
    if f == -1:
        return "has the wrong sign"
    if f is None:
        return f"is {k:.4g} times the expected one"
    if f in _WORDS:
        return f"is {_WORDS[f]} the expected one"
    if f.denominator == 1:
        return f"is {f.numerator} times the expected one"
    if f.numerator == 1:
        return f"is {f} of the expected one"
    return f"is {f} times the expected one"


def describe(subject: str, observed: list[tuple[str, str, float]]) -> str:
    """Say the factors seen, per key, across cases: ``observed`` holds (key, case, factor).

    One sentence per key. A factor that changes from case to case is quoted for the first
    two cases where it differs, since it then depends on the case (a size such as N).
    """
    sentences = []
    for key in dict.fromkeys(k for k, _, _ in observed):
        seen = [(case, f) for k, case, f in observed if k == key]
        who = f"In {key!r}, {subject[0].lower()}{subject[1:]}" if key else subject
        first_case, first = seen[0]
        other = next(((c, f) for c, f in seen if not same_factor(first, f)), None)
        if other is None:
            sentences.append(f"{who} {predicate(first)}.")
        else:
            sentences.append(
                f"{who} is off by a factor that changes with the case's sizes: it "
                f"{predicate(first)} in case '{first_case}' and {predicate(other[1])} in case "
                f"'{other[0]}'.")
    return " ".join(sentences)
