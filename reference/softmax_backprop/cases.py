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


def _net(rng: np.random.Generator, s: Shape, *, relu_zeros: bool = False) -> Net:
    x = rng.standard_normal((s.D, s.N))
    W1 = rng.standard_normal((s.H, s.D)) / np.sqrt(s.D)
    b1 = rng.standard_normal((s.H, 1)) * 0.5
    W2 = rng.standard_normal((s.C, s.H)) / np.sqrt(s.H)
    b2 = rng.standard_normal((s.C, 1)) * 0.5
    if relu_zeros:
        # A zero input column and a zero bias make z2 exactly 0 there: the ReLU convention case.
        x[:, 0] = 0.0
        b1[0, 0] = 0.0
    y = np.zeros((s.C, s.N))
    y[rng.integers(0, s.C, size=s.N), np.arange(s.N)] = 1.0
    f = ref.forward(x, W1, b1, W2, b2)
    return Net(x, y, W1, b1, W2, b2, f["z2"], f["a2"], f["a3"], ref.grad_z3(f["a3"], y))


def _lam(index: int) -> float:
    return (0.1, 0.05, 0.0, 0.01)[index % 4]


def _softmax(seed: int) -> list[Case]:
    cases = []
    for i, s in enumerate(SHAPES):
        z = _rng(seed, "softmax", i).standard_normal((s.C, s.N)) * 3.0
        cases.append(Case(s.label, (z,)))
    for i, (c, n) in enumerate(((5, 4), (3, 1)), start=len(SHAPES)):
        z = _rng(seed, "softmax", i).uniform(-1000.0, 1000.0, size=(c, n))
        z[0, :] = 1000.0  # at least one logit at the limit per column
        label = f"large logits up to ±1000, C={c}, N={n}"
        cases.append(Case(label, (z,), frozenset({"large_logits"})))
    return cases


def _softmax_jacobian(seed: int) -> list[Case]:
    cases = []
    for i, c in enumerate((2, 4, 5, 10)):
        z = _rng(seed, "softmax_jacobian", i).standard_normal(c) * 2.0
        cases.append(Case(f"C={c}", (z,)))
    return cases


def _softmax_backward(seed: int) -> list[Case]:
    cases = []
    for i, s in enumerate(SHAPES):
        rng = _rng(seed, "softmax_backward", i)
        z = rng.standard_normal((s.C, s.N)) * 2.0
        da = rng.standard_normal((s.C, s.N))
        cases.append(Case(s.label, (z, da)))
    return cases


def _from_net(part: str, build: Callable[[Net, int], tuple[Arg, ...]],
              zeros: bool = False) -> Callable[[int], list[Case]]:
    def make(seed: int) -> list[Case]:
        cases = []
        for i, s in enumerate(SHAPES):
            net = _net(_rng(seed, part, i), s)
            cases.append(Case(s.label + _lam_label(part, i), build(net, i)))
        if zeros:
            i = len(SHAPES)
            net = _net(_rng(seed, part, i), GENERAL, relu_zeros=True)
            cases.append(Case(
                "z2 exactly 0 in places, " + GENERAL.label + _lam_label(part, i),
                build(net, i),
                frozenset({"relu_zeros"}),
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
