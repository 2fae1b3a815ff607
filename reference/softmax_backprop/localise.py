"""Where in gradients() the mistake is, from which keys are wrong and how.

These are fallbacks: the engine tries them only when no other mistake explains the part. Each
draws a conclusion the keys force: 'b2' depends on nothing but dz3 = (a3 − y)/N, so a wrong
'b2' that still sums to 0 over the classes (as every softmax output minus a one-hot label does)
means a wrong a3, that is a wrong forward pass; right 'W2' and 'b2' mean dz3 and a2 are right,
so a wrong 'W1' or 'b1' comes from the way back to the first layer.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

from grader.engine.plugin import Mistake, Observation, Tolerance

_TOL = Tolerance()


def close(expected: np.ndarray, got: np.ndarray, tol: Tolerance) -> bool:
    """The engine's closeness, for arrays already known to be finite and of one shape."""
    return bool(np.allclose(got, expected, rtol=tol.rtol, atol=tol.atol))


def _keys(o: Observation) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]] | None:
    got, expected = o.got, o.expected
    if type(got) is not dict or not isinstance(expected, dict) or set(got) != set(expected):
        return None
    if any(type(got[k]) is not np.ndarray or got[k].shape != expected[k].shape
           or got[k].dtype.kind not in "fiu" or not np.all(np.isfinite(got[k]))
           for k in expected):
        return None
    return expected, got


def _wrong(expected: dict[str, np.ndarray], got: dict[str, np.ndarray]) -> set[str]:
    return {k for k in expected if not close(expected[k], got[k], _TOL)}


def _forward_pass(o: Observation) -> bool:
    pair = _keys(o)
    if pair is None:
        return False
    expected, got = pair
    b2, right = got["b2"].astype(np.float64), expected["b2"]
    if "b2" not in _wrong(expected, got):
        return False
    sums_to_zero = abs(float(b2.sum())) <= 1e-9 + 1e-6 * float(np.abs(b2).sum())
    k = float(np.sum(b2 * right)) / max(float(np.sum(right * right)), 1e-300)
    scaled = close(k * right, b2, _TOL)  # a factor (1/N forgotten) is a mistake of its own
    return sums_to_zero and not scaled


def _first_layer(o: Observation) -> bool:
    pair = _keys(o)
    return pair is not None and bool(_wrong(*pair)) and _wrong(*pair) <= {"W1", "b1"}


def _second_layer_input(o: Observation) -> bool:
    pair = _keys(o)
    return pair is not None and "W2" in _wrong(*pair) and "b2" not in _wrong(*pair)


def _on_most(test: Callable[[Observation], bool]) -> Callable[[str, Sequence[Observation]], bool]:
    def rule(part: str, seen: Sequence[Observation]) -> bool:
        failing = [o for o in seen if not o.passed and o.got is not None]
        hits = sum(test(o) for o in failing)
        return part == "gradients" and hits > 0 and 2 * hits >= len(failing)
    return rule


FORWARD = "z2 = W1·x + b1, a2 = relu(z2), z3 = W2·a2 + b2, a3 = softmax(z3)"

LOCALISED: tuple[Mistake, ...] = (
    Mistake(
        "forward_pass", ("gradients",),
        "In gradients(), 'b2' is wrong although it has the form Σ(a3 − y)/N of a softmax "
        f"output: the a3 your gradients() computes is off. Check its forward pass: {FORWARD}, "
        "and which of them you pass on.",
        rule=_on_most(_forward_pass), fallback=True,
    ),
    Mistake(
        "first_layer_inputs", ("gradients",),
        "In gradients(), 'W2' and 'b2' are right, so dz3 and a2 are too, but 'W1' or 'b1' is "
        "wrong: check what goes back to the first layer: W2ᵀ·dz3, the ReLU mask 1[z2 > 0] "
        "taken from z2 (not a2), and x.",
        rule=_on_most(_first_layer), fallback=True,
    ),
    Mistake(
        "second_layer_inputs", ("gradients",),
        "In gradients(), 'b2' is right, so dz3 is too, but 'W2' is wrong: check a2 = "
        "relu(W1·x + b1) from the forward pass, and dW2 = dz3·a2ᵀ + 2·lam·W2.",
        rule=_on_most(_second_layer_input), fallback=True,
    ),
)
