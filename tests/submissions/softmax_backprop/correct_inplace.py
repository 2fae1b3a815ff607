"""Correct, but updates its inputs in place wherever it can (graded fairly: fresh copies)."""

import numpy as np


def softmax(z):
    z -= z.max(axis=0, keepdims=True)
    np.exp(z, out=z)
    z /= z.sum(axis=0, keepdims=True)
    return z


def softmax_jacobian(z):
    a = softmax(z.reshape(-1, 1)).ravel()
    jac = np.outer(a, a)
    jac *= -1
    jac[np.diag_indices_from(jac)] += a
    return jac


def softmax_backward(z, da):
    a = softmax(z)
    s = np.sum(a * da, axis=0, keepdims=True)
    da -= s
    da *= a
    return da


def grad_z3(a3, y):
    a3 -= y
    a3 /= y.shape[1]
    return a3


def grad_W2(dz3, a2, W2, lam):
    W2 *= 2 * lam
    W2 += dz3 @ a2.T
    return W2


def grad_b2(dz3):
    return dz3.sum(axis=1, keepdims=True)


def grad_W1(dz3, W2, z2, x, W1, lam):
    back = W2.T @ dz3
    back[z2 <= 0] = 0.0
    W1 *= 2 * lam
    W1 += back @ x.T
    return W1


def grad_b1(dz3, W2, z2):
    back = W2.T @ dz3
    back *= z2 > 0
    return back.sum(axis=1, keepdims=True)


def gradients(x, y, W1, b1, W2, b2, lam):
    z2 = W1 @ x + b1
    a2 = np.maximum(z2, 0)
    a3 = softmax(W2 @ a2 + b2)
    dz3 = grad_z3(a3, y)
    return {"b1": grad_b1(dz3, W2, z2), "b2": grad_b2(dz3),
            "W2": grad_W2(dz3, a2, W2.copy(), lam), "W1": grad_W1(dz3, W2, z2, x, W1, lam)}
