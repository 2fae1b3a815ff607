"""Seeded case generators: pure functions of (seed, part, case index).

Each part draws from its own ``numpy.random.Generator`` seeded with ``[seed, part, case]``
(PCG64 via SeedSequence, whose streams numpy keeps stable), so the same seed gives the same
inputs on any machine with the pinned numpy, and adding a case to one part never shifts another.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from grader.engine.plugin import Case
from grader.engine.runner_contract import Arg
from reference.softmax_backprop import solution as ref

Array = np.ndarray


@dataclass(frozen=True)
class Shape:
    label: str
    D: int
    H: int
    C: int
    N: int


#: Edge shapes, a square one (C = H = D, where a transposed or wrong-weight answer has the right
#: shape and shows up as wrong values), a general one, and a larger batch.
EDGE = Shape("edge case D=1, H=1, C=2, N=1", 1, 1, 2, 1)
SQUARE = Shape("square case C=H=D=4, N=3", 4, 4, 4, 3)
GENERAL = Shape("D=3, H=5, C=4, N=6", 3, 5, 4, 6)
LARGE = Shape("larger batch D=8, H=16, C=10, N=256", 8, 16, 10, 256)
SHAPES = (EDGE, SQUARE, GENERAL, LARGE)

#: The largest logit magnitude the handout promises (softmax must stay finite up to it).
LOGIT_LIMIT = 1000.0
#: How far below its column's maximum a structured logit lies.
_SPREAD = 4.0

PART_ORDER = (
    "softmax", "softmax_jacobian", "softmax_backward", "grad_z3", "grad_W2", "grad_b2",
    "grad_W1", "grad_b1", "gradients",
)


def _rng(seed: int, part: str, index: int) -> np.random.Generator:
    return np.random.default_rng([seed, PART_ORDER.index(part), index])


@dataclass(frozen=True)
class Net:
    """A consistent set of network tensors for one shape."""

    x: Array
    y: Array
    W1: Array
    b1: Array
    W2: Array
    b2: Array
    z2: Array
    a2: Array
    a3: Array
    dz3: Array


def _net(rng: np.random.Generator, s: Shape, *, zeros: str = "") -> Net:
    x = rng.standard_normal((s.D, s.N))
    W1 = rng.standard_normal((s.H, s.D)) / np.sqrt(s.D)
    b1 = rng.standard_normal((s.H, 1)) * 0.5
    W2 = rng.standard_normal((s.C, s.H)) / np.sqrt(s.H)
    b2 = rng.standard_normal((s.C, 1)) * 0.5
    if zeros == "input_column":
        # A zero input column and zero biases make z2 exactly 0 in that column where b1 is 0.
        x[:, 0] = 0.0
        b1[: max(1, s.H // 2), 0] = 0.0
    elif zeros == "weight_row":
        # A hidden unit with a zero weight row and bias: z2 is exactly 0 in its whole row, and
        # two identical examples (duplicate columns) share every value.
        W1[0, :] = 0.0
        b1[0, 0] = 0.0
        x[:, -1] = x[:, 0]
    y = np.zeros((s.C, s.N))
    y[rng.integers(0, s.C, size=s.N), np.arange(s.N)] = 1.0
    if zeros == "weight_row":
        y[:, -1] = y[:, 0]
    f = ref.forward(x, W1, b1, W2, b2)
    return Net(x, y, W1, b1, W2, b2, f["z2"], f["a2"], f["a3"], ref.grad_z3(f["a3"], y))


def _lam(index: int) -> float:
    return (0.1, 0.05, 0.0, 0.01)[index % 4]


def _logit_levels(rng: np.random.Generator, c: int, n: int) -> Array:
    """Logits whose columns peak in different rows at very different levels within ±1000.

    Column j's maximum sits in row j mod c at a level from +1000 down to near -1000 (both ends
    present), the other entries up to 4 below it; the last column repeats the first. A softmax
    shifted by the whole matrix's maximum instead of each column's gives NaN here, one shifted
    by nothing overflows, and one normalised over rows or the whole matrix is visibly wrong.
    """
    low = -LOGIT_LIMIT + _SPREAD
    levels = np.linspace(LOGIT_LIMIT, low, n - 1) if n > 2 else np.array([LOGIT_LIMIT])
    levels = np.concatenate([levels[:1], rng.permutation(levels[1:])])
    z = levels[None, :] - rng.uniform(0.0, _SPREAD, size=(c, n - 1))
    rows = np.arange(n - 1) % c
    z[rows, np.arange(n - 1)] = levels
    return np.concatenate([z, z[:, :1]], axis=1)


def _softmax_label(c: int, n: int) -> str:
    return f"edge case C={c}, N={n}" if (c, n) == (EDGE.C, EDGE.N) else f"C={c}, N={n}"


def _softmax(seed: int) -> list[Case]:
    cases = []
    for i, s in enumerate(SHAPES):
        z = _rng(seed, "softmax", i).standard_normal((s.C, s.N)) * 3.0
        cases.append(Case(_softmax_label(s.C, s.N), (z,)))
    for i, (c, n) in enumerate(((5, 4), (3, 1)), start=len(SHAPES)):
        z = _rng(seed, "softmax", i).uniform(-LOGIT_LIMIT, LOGIT_LIMIT, size=(c, n))
        z[0, :] = LOGIT_LIMIT  # at least one logit at the limit per column
        label = f"large logits up to ±1000, C={c}, N={n}"
        cases.append(Case(label, (z,), frozenset({"large_logits"})))
    for i, (c, n) in enumerate(((2, 3), (4, 6)), start=len(SHAPES) + 2):
        z = _logit_levels(_rng(seed, "softmax", i), c, n)
        label = (f"column maxima in different rows from +1000 to -1000, a repeated column, "
                 f"C={c}, N={n}")
        cases.append(Case(label, (z,), frozenset({"large_logits", "column_levels"})))
    return cases


def _softmax_jacobian(seed: int) -> list[Case]:
    cases = []
    for i, c in enumerate((2, 4, 5, 10)):
        z = _rng(seed, "softmax_jacobian", i).standard_normal(c) * 2.0
        cases.append(Case(f"C={c}", (z,)))
    for i, (c, level) in enumerate(((3, LOGIT_LIMIT), (4, _SPREAD - LOGIT_LIMIT)), start=4):
        z = level - _rng(seed, "softmax_jacobian", i).uniform(0.0, _SPREAD, size=c)
        z[i % c] = level
        cases.append(Case(f"large logits near {level:+.0f}, C={c}", (z,),
                          frozenset({"large_logits"})))
    return cases


def _softmax_backward(seed: int) -> list[Case]:
    cases = []
    for i, s in enumerate(SHAPES):
        rng = _rng(seed, "softmax_backward", i)
        z = rng.standard_normal((s.C, s.N)) * 2.0
        da = rng.standard_normal((s.C, s.N))
        cases.append(Case(_softmax_label(s.C, s.N), (z, da)))
    i = len(SHAPES)
    rng = _rng(seed, "softmax_backward", i)
    z = _logit_levels(rng, 4, 5)
    da = rng.standard_normal(z.shape)
    cases.append(Case("column maxima in different rows from +1000 to -1000, C=4, N=5",
                      (z, da), frozenset({"large_logits", "column_levels"})))
    return cases


#: The ReLU cases: (tag value, label) of each way z2 is made exactly 0.
ZERO_CASES = (
    ("input_column", "z2 exactly 0 where a zero input column meets a zero bias"),
    ("weight_row", "z2 exactly 0 along a hidden unit with zero weights, two equal examples"),
)


def _from_net(part: str, build: Callable[[Net, int], tuple[Arg, ...]],
              zeros: bool = False) -> Callable[[int], list[Case]]:
    def make(seed: int) -> list[Case]:
        cases = []
        for i, s in enumerate(SHAPES):
            net = _net(_rng(seed, part, i), s)
            cases.append(Case(s.label + _lam_label(part, i), build(net, i)))
        if zeros:
            for i, (how, label) in enumerate(ZERO_CASES, start=len(SHAPES)):
                net = _net(_rng(seed, part, i), GENERAL, zeros=how)
                cases.append(Case(
                    f"{label}, {GENERAL.label}{_lam_label(part, i)}",
                    build(net, i),
                    frozenset({"relu_zeros", how}),
                ))
        return cases
    return make


def _lam_label(part: str, index: int) -> str:
    return f", lam={_lam(index)}" if part in {"grad_W2", "grad_W1", "gradients"} else ""


_BUILDERS: dict[str, Callable[[int], list[Case]]] = {
    "softmax": _softmax,
    "softmax_jacobian": _softmax_jacobian,
    "softmax_backward": _softmax_backward,
    "grad_z3": _from_net("grad_z3", lambda n, i: (n.a3, n.y)),
    "grad_W2": _from_net("grad_W2", lambda n, i: (n.dz3, n.a2, n.W2, _lam(i))),
    "grad_b2": _from_net("grad_b2", lambda n, i: (n.dz3,)),
    "grad_W1": _from_net(
        "grad_W1", lambda n, i: (n.dz3, n.W2, n.z2, n.x, n.W1, _lam(i)), zeros=True),
    "grad_b1": _from_net("grad_b1", lambda n, i: (n.dz3, n.W2, n.z2), zeros=True),
    "gradients": _from_net(
        "gradients", lambda n, i: (n.x, n.y, n.W1, n.b1, n.W2, n.b2, _lam(i)), zeros=True),
}


def make_cases(seed: int) -> dict[str, list[Case]]:
    """Every part's cases for ``seed``."""
    if seed < 0:
        raise ValueError("seed must be a non-negative integer")
    return {part: _BUILDERS[part](seed) for part in PART_ORDER}
