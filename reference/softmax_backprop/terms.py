"""The additive terms of each part's answer, so a term taken with a wrong factor is named.

Each term is a catalog mistake with a ``term``: when the student's answer is the right one with
just that term missing, negated, doubled or otherwise rescaled, the engine says so in words
("your y term has the wrong sign") before the formula below.
"""

from __future__ import annotations

import numpy as np

from grader.engine.plugin import Mistake
from grader.engine.runner_contract import Arg, Value
from reference.softmax_backprop import solution as ref

Array = np.ndarray


def _f(a: Arg) -> Array:
    return np.asarray(a, dtype=np.float64)


def _a3(part: str, args: tuple[Arg, ...]) -> Value | None:
    return _f(args[0]) / _f(args[1]).shape[1] if part == "grad_z3" else None


def _y(part: str, args: tuple[Arg, ...]) -> Value | None:
    return -_f(args[1]) / _f(args[1]).shape[1] if part == "grad_z3" else None


def _dz2(dz3: Array, W2: Array, z2: Array) -> Array:
    return (W2.T @ dz3) * ref.relu_mask(z2)


def _data(part: str, args: tuple[Arg, ...]) -> Value | None:
    """dz3·a2ᵀ of dW2 and dz2·xᵀ of dW1 (both keys in gradients())."""
    if part == "grad_W2":
        return _f(args[0]) @ _f(args[1]).T
    if part == "grad_W1":
        dz3, W2, z2, x = map(_f, args[:4])
        return _dz2(dz3, W2, z2) @ x.T
    if part == "gradients":
        x, y, W1, b1, W2, b2 = map(_f, args[:6])
        f = ref.forward(x, W1, b1, W2, b2)
        dz3 = ref.grad_z3(f["a3"], y)
        return {"W1": _dz2(dz3, W2, f["z2"]) @ x.T, "W2": dz3 @ f["a2"].T}
    return None


def _backward_parts(args: tuple[Arg, ...]) -> tuple[Array, Array]:
    z, da = map(_f, args)
    a = ref.softmax(z)
    return a * da, -a * (a * da).sum(axis=0, keepdims=True)


def _a_da(part: str, args: tuple[Arg, ...]) -> Value | None:
    return _backward_parts(args)[0] if part == "softmax_backward" else None


def _a_sum(part: str, args: tuple[Arg, ...]) -> Value | None:
    return _backward_parts(args)[1] if part == "softmax_backward" else None


def _probabilities(args: tuple[Arg, ...]) -> Array:
    return ref.softmax(_f(args[0]).reshape(-1, 1)).ravel()


def _diagonal(part: str, args: tuple[Arg, ...]) -> Value | None:
    return np.diag(_probabilities(args)) if part == "softmax_jacobian" else None


def _outer(part: str, args: tuple[Arg, ...]) -> Value | None:
    if part != "softmax_jacobian":
        return None
    a = _probabilities(args)
    return -np.outer(a, a)


_JACOBIAN = "J = diag(a) − a·aᵀ."
_BACKWARD = "Per column, Jᵀ·da = a ⊙ da − a·(aᵀ·da)."

TERMS: tuple[Mistake, ...] = (
    Mistake("wrong_term", ("grad_z3",), "dJ/dz3 = (a3 − y) / N.", term=_a3,
            term_name="a3 term"),
    Mistake("wrong_term", ("grad_z3",), "dJ/dz3 = (a3 − y) / N.", term=_y,
            term_name="y term"),
    Mistake("wrong_term", ("grad_W2", "grad_W1", "gradients"),
            "dW2 = dz3·a2ᵀ + 2·lam·W2 and dW1 = dz2·xᵀ + 2·lam·W1, with "
            "dz2 = (W2ᵀ·dz3) ⊙ 1[z2 > 0].", term=_data, term_name="data term (dz·inputᵀ)"),
    Mistake("wrong_term", ("softmax_backward",), _BACKWARD, term=_a_da,
            term_name="a ⊙ da term"),
    Mistake("wrong_term", ("softmax_backward",), _BACKWARD, term=_a_sum,
            term_name="a·(aᵀ·da) term"),
    Mistake("wrong_term", ("softmax_jacobian",), _JACOBIAN, term=_diagonal,
            term_name="diag(a) term"),
    Mistake("wrong_term", ("softmax_jacobian",), _JACOBIAN, term=_outer,
            term_name="a·aᵀ term"),
)
