"""Normalises softmax over the whole matrix instead of each column."""

import numpy as np


def _softmax(z):
    e = np.exp(z - z.max(axis=0, keepdims=True))
    return e / e.sum(axis=0, keepdims=True)


def softmax(z):
    e = np.exp(z - z.max(axis=0, keepdims=True))
    return e / e.sum()


def softmax_jacobian(z):
    a = _softmax(z.reshape(-1, 1)).ravel()
    return np.diag(a) - np.outer(a, a)


def softmax_backward(z, da):
    a = _softmax(z)
    return a * (da - np.sum(a * da, axis=0, keepdims=True))


def grad_z3(a3, y):
    return (a3 - y) / y.shape[1]


def grad_W2(dz3, a2, W2, lam):
    return dz3 @ a2.T + 2 * lam * W2


def grad_b2(dz3):
    return np.sum(dz3, axis=1, keepdims=True)


def grad_W1(dz3, W2, z2, x, W1, lam):
    dz2 = (W2.T @ dz3) * (z2 > 0)
    return dz2 @ x.T + 2 * lam * W1


def grad_b1(dz3, W2, z2):
    dz2 = (W2.T @ dz3) * (z2 > 0)
    return np.sum(dz2, axis=1, keepdims=True)


def gradients(x, y, W1, b1, W2, b2, lam):
    z2 = W1 @ x + b1
    a2 = np.maximum(z2, 0)
    a3 = _softmax(W2 @ a2 + b2)
    dz3 = grad_z3(a3, y)
    return {
        "W1": grad_W1(dz3, W2, z2, x, W1, lam),
        "b1": grad_b1(dz3, W2, z2),
        "W2": grad_W2(dz3, a2, W2, lam),
        "b2": grad_b2(dz3),
    }
