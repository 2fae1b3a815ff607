"""The catalog of known mistakes in softmax-backprop, each a wrong variant of the reference.

When a part fails, the engine compares the student's output with each variant that applies to
that part; a match names the mistake. Sign, transpose and shape mistakes are detected by the
engine for every assignment (see ``grader.engine.common_mistakes``); this catalog gives them
messages in this assignment's terms.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from grader.engine.plugin import Mistake, Observation
from grader.engine.runner_contract import Arg, Value
from reference.softmax_backprop import solution as ref
from reference.softmax_backprop.localise import LOCALISED
from reference.softmax_backprop.terms import TERMS

Array = np.ndarray


def _f(a: Arg) -> Array:
    return np.asarray(a, dtype=np.float64)


def _missing_batch_mean(part: str, args: tuple[Arg, ...]) -> Value | None:
    if part == "grad_z3":
        a3, y = map(_f, args)
        return a3 - y
    if part == "gradients":
        x, y, W1, b1, W2, b2 = map(_f, args[:6])
        lam = float(args[6])
        f = ref.forward(x, W1, b1, W2, b2)
        dz3 = f["a3"] - y
        return {
            "W1": ref.grad_W1(dz3, W2, f["z2"], x, W1, lam),
            "b1": ref.grad_b1(dz3, W2, f["z2"]),
            "W2": ref.grad_W2(dz3, f["a2"], W2, lam),
            "b2": ref.grad_b2(dz3),
        }
    return None


def _with_reg(part: str, args: tuple[Arg, ...], coef_w1: float, coef_w2: float,
              swap: str | bool = False) -> Value | None:
    """dW1/dW2 with regularization ``coef * lam * W``.

    ``swap`` regularizes with the other layer's W: in dW1 and dW2 ("both" or True), or only in
    the gradient of "W1" or of "W2".
    """
    if part == "grad_W2":
        dz3, a2, W2 = map(_f, args[:3])
        return dz3 @ a2.T + coef_w2 * float(args[3]) * W2
    if part == "grad_W1":
        dz3, W2, z2, x, W1 = map(_f, args[:5])
        lam = float(args[5])
        w = W2 if swap else W1
        if w.shape != W1.shape:
            return None
        return ref.grad_W1(dz3, W2, z2, x, W1, 0.0) + coef_w1 * lam * w
    if part == "gradients":
        x, y, W1, b1, W2, b2 = map(_f, args[:6])
        lam = float(args[6])
        g = ref.gradients(x, y, W1, b1, W2, b2, 0.0)
        w1 = W2 if swap in (True, "both", "W1") else W1
        w2 = W1 if swap in (True, "both", "W2") else W2
        if w1.shape != W1.shape or w2.shape != W2.shape:
            return None
        return {**g, "W1": g["W1"] + coef_w1 * lam * w1, "W2": g["W2"] + coef_w2 * lam * w2}
    return None


def _dz3_negated(part: str, args: tuple[Arg, ...]) -> Value | None:
    """gradients() with y - a3 for a3 - y: every data term negated, the regularization not."""
    if part != "gradients":
        return None
    x, y, W1, b1, W2, b2 = map(_f, args[:6])
    lam = float(args[6])
    f = ref.forward(x, W1, b1, W2, b2)
    dz3 = -ref.grad_z3(f["a3"], y)
    return {"W1": ref.grad_W1(dz3, W2, f["z2"], x, W1, lam), "b1": ref.grad_b1(dz3, W2, f["z2"]),
            "W2": ref.grad_W2(dz3, f["a2"], W2, lam), "b2": ref.grad_b2(dz3)}


def _relu_at_zero(part: str, seen: Sequence[Observation]) -> bool:
    """Right wherever z2 has no exact zeros, wrong on some case where it has."""
    zeros = [o for o in seen if "relu_zeros" in o.case.tags]
    others = [o for o in seen if "relu_zeros" not in o.case.tags]
    return bool(zeros) and all(o.passed for o in others) and not all(o.passed for o in zeros)


def _reg_term(part: str, args: tuple[Arg, ...]) -> Value | None:
    """The regularization term 2·lam·W of dW2, dW1, or both keys of gradients()."""
    if part == "grad_W2":
        return 2.0 * float(args[3]) * _f(args[2])
    if part == "grad_W1":
        return 2.0 * float(args[5]) * _f(args[4])
    if part == "gradients":
        lam = float(args[6])
        return {"W1": 2.0 * lam * _f(args[2]), "W2": 2.0 * lam * _f(args[4])}
    return None


def _reg_wrong_weight(part: str, args: tuple[Arg, ...]) -> list[Value] | None:
    if part == "grad_W1":
        found = [_with_reg(part, args, 2.0, 2.0, swap=True)]
    elif part == "gradients":
        found = [_with_reg(part, args, 2.0, 2.0, swap=s) for s in ("both", "W1", "W2")]
    else:
        return None
    out = [v for v in found if v is not None]
    return out or None


def _missing_relu_mask(part: str, args: tuple[Arg, ...]) -> Value | None:
    if part == "grad_W1":
        dz3, W2, z2, x, W1 = map(_f, args[:5])
        return (W2.T @ dz3) @ x.T + 2.0 * float(args[5]) * W1
    if part == "grad_b1":
        dz3, W2, _z2 = map(_f, args)
        return (W2.T @ dz3).sum(axis=1, keepdims=True)
    if part == "gradients":
        x, y, W1, b1, W2, b2 = map(_f, args[:6])
        lam = float(args[6])
        f = ref.forward(x, W1, b1, W2, b2)
        dz3 = ref.grad_z3(f["a3"], y)
        dz2 = W2.T @ dz3
        return {
            "W1": dz2 @ x.T + 2.0 * lam * W1,
            "b1": dz2.sum(axis=1, keepdims=True),
            "W2": ref.grad_W2(dz3, f["a2"], W2, lam),
            "b2": ref.grad_b2(dz3),
        }
    return None


def _softmax_over(z: Array, shift: int | None, norm: int | None) -> Array:
    """exp(z - max over ``shift``) normalised over ``norm`` (None: the whole matrix)."""
    with np.errstate(all="ignore"):
        e = np.exp(z - z.max(axis=shift, keepdims=True))
        out: Array = e / e.sum(axis=norm, keepdims=True)
    return out


def _wrong_sums(d: Array) -> list[Array]:
    """A bias gradient summed over the examples' axis, or over everything, kept or not."""
    return [d.sum(axis=0, keepdims=True), d.sum(axis=0), d.sum(keepdims=True),
            np.asarray(d.sum())]


def _wrong_axis(part: str, args: tuple[Arg, ...]) -> list[Value] | None:
    if part == "softmax":
        # Shifted and normalised over rows, or over the whole matrix, or shifted by the whole
        # matrix's maximum (nan where a column lies far below it).
        z = _f(args[0])
        pairs = [(1, 1), (1, 0), (0, 1), (None, 1), (0, None), (1, None), (None, None),
                 (None, 0)]
        return [_softmax_over(z, shift, norm) for shift, norm in pairs]
    if part == "softmax_backward":
        z, da = map(_f, args)
        a = ref.softmax(z)
        return [a * (da - (a * da).sum(axis=axis, keepdims=True)) for axis in (1, None)]
    if part == "grad_b2":
        return list(_wrong_sums(_f(args[0])))
    if part == "grad_b1":
        dz3, W2, z2 = map(_f, args)
        return list(_wrong_sums((W2.T @ dz3) * ref.relu_mask(z2)))
    if part == "gradients":  # one or both bias gradients summed over the wrong axis
        x, y, W1, b1, W2, b2 = map(_f, args[:6])
        g = ref.gradients(x, y, W1, b1, W2, b2, float(args[6]))
        f = ref.forward(x, W1, b1, W2, b2)
        dz3 = ref.grad_z3(f["a3"], y)
        dz2 = (W2.T @ dz3) * ref.relu_mask(f["z2"])
        found: list[Value] = []
        for wrong_b2, wrong_b1 in zip(_wrong_sums(dz3), _wrong_sums(dz2), strict=True):
            found += [{**g, "b2": wrong_b2}, {**g, "b1": wrong_b1}]
        return found
    return None


def _not_normalised(part: str, args: tuple[Arg, ...]) -> list[Value] | None:
    if part != "softmax":
        return None
    z = _f(args[0])
    with np.errstate(all="ignore"):
        return [np.exp(z - z.max(axis=0, keepdims=True)), np.exp(z)]


def _relu_mask_inverted(part: str, args: tuple[Arg, ...]) -> list[Value] | None:
    """The ReLU derivative taken as 1 where z2 < 0 (or <= 0) instead of z2 > 0."""
    def masks(z2: Array) -> list[Array]:
        return [(z2 < 0).astype(np.float64), (z2 <= 0).astype(np.float64)]

    if part == "grad_W1":
        dz3, W2, z2, x, W1 = map(_f, args[:5])
        reg = 2.0 * float(args[5]) * W1
        return [((W2.T @ dz3) * m) @ x.T + reg for m in masks(z2)]
    if part == "grad_b1":
        dz3, W2, z2 = map(_f, args)
        return [((W2.T @ dz3) * m).sum(axis=1, keepdims=True) for m in masks(z2)]
    if part == "gradients":
        x, y, W1, b1, W2, b2 = map(_f, args[:6])
        lam = float(args[6])
        g = ref.gradients(x, y, W1, b1, W2, b2, lam)
        f = ref.forward(x, W1, b1, W2, b2)
        dz3 = ref.grad_z3(f["a3"], y)
        return [{**g, "W1": ((W2.T @ dz3) * m) @ x.T + 2.0 * lam * W1,
                 "b1": ((W2.T @ dz3) * m).sum(axis=1, keepdims=True)} for m in masks(f["z2"])]
    return None


def _jacobian_diagonal_only(part: str, args: tuple[Arg, ...]) -> Value | None:
    if part == "softmax_jacobian":
        a = ref.softmax(_f(args[0]).reshape(-1, 1)).ravel()
        return np.diag(a * (1.0 - a))
    if part == "softmax_backward":
        z, da = map(_f, args)
        a = ref.softmax(z)
        return a * (1.0 - a) * da
    return None


#: Beyond this, exp overflows in float64.
_EXP_OVERFLOW = float(np.log(np.finfo(np.float64).max))


def _overflowed(o: Observation) -> bool:
    """nan or inf in the output of a column whose largest logit makes exp overflow."""
    z, got = _f(o.case.args[0]), o.got
    if type(got) is not np.ndarray or got.dtype.kind not in "fiu":
        return False
    with np.errstate(all="ignore"):
        bad = ~np.isfinite(got.astype(np.float64))
    if z.ndim == 1:  # softmax_jacobian: one column, a (C, C) answer
        return bool(z.max() > _EXP_OVERFLOW and bad.any())
    if got.shape != z.shape:
        return False
    return bool(np.any(bad.any(axis=0) & (z.max(axis=0) > _EXP_OVERFLOW)))


def _numerically_unstable(part: str, seen: Sequence[Observation]) -> bool:
    """Right on every ordinary case; nan or inf on a large-logit case, where exp overflows."""
    large = [o for o in seen if "large_logits" in o.case.tags]
    small = [o for o in seen if "large_logits" not in o.case.tags]
    return (bool(large) and all(o.passed for o in small)
            and any(not o.passed and _overflowed(o) for o in large))


CATALOG: tuple[Mistake, ...] = (
    Mistake(
        "missing_batch_mean", ("grad_z3", "gradients"),
        "You forgot the 1/N batch mean: the loss averages over the N examples (columns), so "
        "dJ/dz3 = (a3 - y) / N.",
        variant=_missing_batch_mean,
    ),
    Mistake(
        "reg_coefficient", ("grad_W2", "grad_W1", "gradients"),
        "The derivative of lam·||W||² is 2·lam·W.",
        term=_reg_term, term_name="regularization term",
    ),
    Mistake(
        "reg_wrong_weight", ("grad_W1", "gradients"),
        "The regularization term uses the other layer's weights: dW1 gets 2·lam·W1 and dW2 "
        "gets 2·lam·W2.",
        variant=_reg_wrong_weight,
    ),
    Mistake(
        "missing_relu_mask", ("grad_W1", "grad_b1", "gradients"),
        "You forgot the ReLU derivative: multiply W2ᵀ·dz3 elementwise by 1[z2 > 0] before "
        "going back to W1 and b1.",
        variant=_missing_relu_mask,
    ),
    Mistake(
        "wrong_axis", ("softmax",),
        "You normalised or shifted over the wrong axis: examples are columns, so softmax "
        "subtracts each column's own maximum and divides by each column's own sum "
        "(axis=0, keepdims=True), not the whole matrix's (no axis) nor each row's.",
        variant=_wrong_axis,
    ),
    Mistake(
        "wrong_axis", ("softmax_backward",),
        "You summed over the wrong axis: aᵀ·da is one number per column (example), so sum "
        "a * da over axis=0 with keepdims=True.",
        variant=_wrong_axis,
    ),
    Mistake(
        "not_normalised", ("softmax",),
        "Your softmax is not normalised: divide each column's exponentials by their sum, so "
        "that every column sums to 1.",
        variant=_not_normalised,
    ),
    Mistake(
        "relu_mask_inverted", ("grad_W1", "grad_b1", "gradients"),
        "Your ReLU derivative is 1 where z2 is negative: it is 1 where z2 > 0 and 0 elsewhere.",
        variant=_relu_mask_inverted,
    ),
    Mistake(
        "wrong_axis", ("grad_b2", "grad_b1", "gradients"),
        "You summed over the wrong axis: a bias gradient sums over the examples, which are "
        "columns (np.sum(..., axis=1, keepdims=True)).",
        variant=_wrong_axis,
    ),
    Mistake(
        "sign_error", ("gradients",),
        "Your dz3 has the wrong sign: it is (a3 - y) / N, not (y - a3) / N.",
        variant=_dz3_negated,
    ),
    Mistake(
        "relu_at_zero", ("grad_W1", "grad_b1", "gradients"),
        "Your answer is right except where z2 is exactly 0: there the ReLU derivative must be "
        "0 or 1 (both are accepted), and elsewhere 1[z2 > 0].",
        rule=_relu_at_zero,
    ),
    Mistake(
        "numerically_unstable", ("softmax", "softmax_jacobian", "softmax_backward"),
        "Your softmax overflows for large logits (exp(1000) is inf in float64): subtract each "
        "column's maximum before exponentiating (softmax(z) = softmax(z - max z)).",
        rule=_numerically_unstable,
    ),
    Mistake(
        "jacobian_diagonal_only", ("softmax_jacobian", "softmax_backward"),
        "You kept only the diagonal of the softmax Jacobian, a_i(1 - a_i); the off-diagonal "
        "entries -a_i·a_j matter too.",
        variant=_jacobian_diagonal_only,
    ),
    *TERMS,
    *LOCALISED,
)

#: Messages for the engine's generic detectors, in this assignment's words.
GENERIC_MESSAGES = {
    "sign_error": "Your result has the wrong sign: check whether you wrote a3 - y or y - a3, "
    "and whether each term is added or subtracted.",
    "transposed": "Your result is transposed: a gradient has the shape of what it "
    "differentiates (dW2 = dz3 · a2ᵀ is (C, H) like W2, dW1 is (H, D) like W1).",
    "shape_mismatch": "Right numbers, wrong shape: bias gradients are column vectors (n, 1); "
    "use np.sum(..., axis=1, keepdims=True).",
    "shape_error": "Your code combines arrays whose shapes do not fit, in the line shown. "
    "Write the shape of each array in it: x (D, N), y and a3 (C, N), W1 (H, D), b1 (H, 1), "
    "z2 and a2 (H, N), W2 (C, H), b2 (C, 1), dz3 (C, N); A @ B needs A's columns to equal "
    "B's rows, and an elementwise product needs equal shapes.",
}
