"""Valid inputs from anywhere in the handout's ranges, drawn without the case generators.

The selfcheck's oracle compares a mutant of the reference with the reference on many of these:
an answer that differs from the reference here is wrong for an input a student's function may
be given, whether or not ``make_cases`` happens to contain such an input. So this module shares
nothing with ``cases.py`` but the reference's forward pass; its draws are wider (random shapes,
scales, logit levels, and zeros, repeats and ties placed at random).

The ranges (see the handout's "Inputs" section): C >= 2 classes, D, H, N >= 1; logits within
±1000; network weights and inputs of moderate size; lam >= 0; y one-hot; z2 may be exactly 0.
"""

from __future__ import annotations

import numpy as np

from grader.engine.runner_contract import Arg
from reference.softmax_backprop import solution as ref

Array = np.ndarray
LIMIT = 1000.0


def _logits(rng: np.random.Generator, c: int, n: int) -> Array:
    regime = rng.integers(0, 4)
    if regime == 0:  # ordinary logits
        return rng.standard_normal((c, n)) * rng.uniform(0.1, 6.0)
    if regime == 1:  # anywhere in the range
        return rng.uniform(-LIMIT, LIMIT, size=(c, n))
    # Columns at their own levels, peaking in random rows, some at the very ends of the range.
    levels = rng.uniform(-LIMIT, LIMIT, size=n)
    ends = rng.random(n) < 0.3
    levels[ends] = rng.choice([-LIMIT, LIMIT], size=int(ends.sum()))
    spread = rng.uniform(0.0, 30.0) if regime == 2 else rng.uniform(0.0, 2.0)
    z = levels[None, :] - rng.uniform(0.0, spread, size=(c, n))
    z[rng.integers(0, c, size=n), np.arange(n)] = levels
    if n > 1 and rng.random() < 0.5:
        z[:, rng.integers(0, n)] = z[:, rng.integers(0, n)]  # a repeated column
    if rng.random() < 0.3:
        z[rng.integers(0, c), :] = z.max(axis=0)  # ties for the maximum
    return np.clip(z, -LIMIT, LIMIT)


def _sizes(rng: np.random.Generator) -> tuple[int, int, int, int]:
    """D, H, C, N: mostly small, sometimes square, now and then a longer batch."""
    d, h, c, n = (int(rng.integers(1, 7)), int(rng.integers(1, 9)), int(rng.integers(2, 8)),
                  int(rng.integers(1, 9)))
    if rng.random() < 0.2:
        d = h = c = max(c, 2)
    if rng.random() < 0.1:
        n = int(rng.integers(20, 80))
    return d, h, c, n


def _net(rng: np.random.Generator) -> dict[str, Array | float]:
    d, h, c, n = _sizes(rng)
    scale = rng.uniform(0.2, 3.0)
    x = rng.standard_normal((d, n)) * scale
    W1 = rng.standard_normal((h, d)) * rng.uniform(0.2, 2.0) / np.sqrt(d)
    b1 = rng.standard_normal((h, 1)) * rng.uniform(0.0, 1.0)
    W2 = rng.standard_normal((c, h)) * rng.uniform(0.2, 2.0) / np.sqrt(h)
    b2 = rng.standard_normal((c, 1)) * rng.uniform(0.0, 1.0)
    if rng.random() < 0.3:  # exact zeros in z2 through a zero input column and zero biases
        x[:, rng.integers(0, n)] = 0.0
        b1[rng.random(h) < 0.5] = 0.0
    if rng.random() < 0.3:  # a dead hidden unit: zero weights and bias
        row = rng.integers(0, h)
        W1[row], b1[row] = 0.0, 0.0
    y = np.zeros((c, n))
    y[rng.integers(0, c, size=n), np.arange(n)] = 1.0
    if n > 1 and rng.random() < 0.2:  # two equal examples
        i, j = rng.choice(n, size=2, replace=False)
        x[:, j], y[:, j] = x[:, i], y[:, i]
    lam = 0.0 if rng.random() < 0.25 else float(rng.uniform(0.0, 1.0))
    f = ref.forward(x, W1, b1, W2, b2)
    dz3 = ref.grad_z3(f["a3"], y)
    return {"x": x, "y": y, "W1": W1, "b1": b1, "W2": W2, "b2": b2, "lam": lam,
            "z2": f["z2"], "a2": f["a2"], "a3": f["a3"], "dz3": dz3}


#: Each network part's arguments, by name.
_NET_ARGS = {
    "grad_z3": ("a3", "y"),
    "grad_W2": ("dz3", "a2", "W2", "lam"),
    "grad_b2": ("dz3",),
    "grad_W1": ("dz3", "W2", "z2", "x", "W1", "lam"),
    "grad_b1": ("dz3", "W2", "z2"),
    "gradients": ("x", "y", "W1", "b1", "W2", "b2", "lam"),
}


def draw_inputs(part: str, rng: np.random.Generator) -> tuple[Arg, ...]:
    """One valid input of ``part`` (its positional arguments), drawn with ``rng``."""
    if part == "softmax":
        return (_logits(rng, int(rng.integers(2, 8)), int(rng.integers(1, 9))),)
    if part == "softmax_jacobian":
        return (_logits(rng, int(rng.integers(2, 10)), 1)[:, 0],)
    if part == "softmax_backward":
        c, n = int(rng.integers(2, 8)), int(rng.integers(1, 9))
        return (_logits(rng, c, n), rng.standard_normal((c, n)) * rng.uniform(0.1, 3.0))
    if part in _NET_ARGS:
        net = _net(rng)
        return tuple(net[name] for name in _NET_ARGS[part])
    raise KeyError(f"softmax-backprop has no part {part!r}")
