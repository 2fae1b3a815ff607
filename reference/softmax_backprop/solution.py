"""Reference solution of softmax-backprop: trusted code, never shown to the sandbox.

Shapes: one example per column; x (D,N), W1 (H,D), b1 (H,1), W2 (C,H), b2 (C,1), y (C,N).
"""

from __future__ import annotations

import numpy as np

Array = np.ndarray


def softmax(z: Array) -> Array:
    """Column-wise softmax, stable for large logits."""
    shifted = z - z.max(axis=0, keepdims=True)
    e = np.exp(shifted)
    out: Array = e / e.sum(axis=0, keepdims=True)
    return out


def softmax_jacobian(z: Array) -> Array:
    """J[i, j] = da_i / dz_j = a_i (delta_ij - a_j) for one column z of shape (C,)."""
    a = softmax(z.reshape(-1, 1)).ravel()
    out: Array = np.diag(a) - np.outer(a, a)
    return out


def softmax_backward(z: Array, da: Array) -> Array:
    """dJ/dz per column: J(z)^T da = a * (da - sum(a * da))."""
    a = softmax(z)
    out: Array = a * (da - (a * da).sum(axis=0, keepdims=True))
    return out


def grad_z3(a3: Array, y: Array) -> Array:
    """dJ/dz3 for softmax + cross-entropy averaged over the N columns."""
    out: Array = (a3 - y) / y.shape[1]
    return out


def grad_W2(dz3: Array, a2: Array, W2: Array, lam: float) -> Array:
    out: Array = dz3 @ a2.T + 2.0 * lam * W2
    return out


def grad_b2(dz3: Array) -> Array:
    out: Array = dz3.sum(axis=1, keepdims=True)
    return out


def relu_mask(z2: Array, *, at_zero: float = 0.0) -> Array:
    """The ReLU derivative; ``at_zero`` is its value where z2 == 0 exactly (0 or 1 accepted)."""
    return np.where(z2 > 0, 1.0, np.where(z2 == 0, at_zero, 0.0))


def grad_W1(
    dz3: Array, W2: Array, z2: Array, x: Array, W1: Array, lam: float, *, at_zero: float = 0.0
) -> Array:
    dz2 = (W2.T @ dz3) * relu_mask(z2, at_zero=at_zero)
    out: Array = dz2 @ x.T + 2.0 * lam * W1
    return out


def grad_b1(dz3: Array, W2: Array, z2: Array, *, at_zero: float = 0.0) -> Array:
    out: Array = ((W2.T @ dz3) * relu_mask(z2, at_zero=at_zero)).sum(axis=1, keepdims=True)
    return out


def forward(x: Array, W1: Array, b1: Array, W2: Array, b2: Array) -> dict[str, Array]:
    """The forward pass; the derivative parts' inputs are built from it."""
    z2 = W1 @ x + b1
    a2 = np.maximum(z2, 0.0)
    z3 = W2 @ a2 + b2
    return {"z2": z2, "a2": a2, "z3": z3, "a3": softmax(z3)}


def loss(x: Array, y: Array, W1: Array, b1: Array, W2: Array, b2: Array, lam: float) -> float:
    """J~ = -(1/N) sum(y log a3) + lam (||W1||_F^2 + ||W2||_F^2)."""
    a3 = forward(x, W1, b1, W2, b2)["a3"]
    n = y.shape[1]
    data = -float(np.sum(y * np.log(a3))) / n
    return data + lam * float(np.sum(W1 * W1) + np.sum(W2 * W2))


def gradients(
    x: Array, y: Array, W1: Array, b1: Array, W2: Array, b2: Array, lam: float,
    *, at_zero: float = 0.0,
) -> dict[str, Array]:
    """Gradients of J~ with respect to W1, b1, W2, b2."""
    f = forward(x, W1, b1, W2, b2)
    dz3 = grad_z3(f["a3"], y)
    return {
        "W1": grad_W1(dz3, W2, f["z2"], x, W1, lam, at_zero=at_zero),
        "b1": grad_b1(dz3, W2, f["z2"], at_zero=at_zero),
        "W2": grad_W2(dz3, f["a2"], W2, lam),
        "b2": grad_b2(dz3),
    }
