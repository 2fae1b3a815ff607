"""Correct, written with explicit loops over the columns (examples)."""

import math

import numpy as np


def softmax(z):
    out = np.empty_like(z)
    for j in range(z.shape[1]):
        col = z[:, j]
        m = max(col)
        e = [math.exp(v - m) for v in col]
        s = sum(e)
        for i in range(len(col)):
            out[i, j] = e[i] / s
    return out


def softmax_jacobian(z):
    a = softmax(z.reshape(-1, 1))[:, 0]
    c = len(a)
    jac = np.zeros((c, c))
    for i in range(c):
        for j in range(c):
            jac[i, j] = a[i] * ((1.0 if i == j else 0.0) - a[j])
    return jac


def softmax_backward(z, da):
    out = np.zeros_like(z)
    for j in range(z.shape[1]):
        out[:, j] = softmax_jacobian(z[:, j]).T @ da[:, j]
    return out


def grad_z3(a3, y):
    n = y.shape[1]
    out = np.zeros_like(a3)
    for j in range(n):
        out[:, j] = (a3[:, j] - y[:, j]) / n
    return out


def grad_W2(dz3, a2, W2, lam):
    g = np.zeros_like(W2)
    for j in range(dz3.shape[1]):
        g += np.outer(dz3[:, j], a2[:, j])
    return g + 2 * lam * W2


def grad_b2(dz3):
    g = np.zeros((dz3.shape[0], 1))
    for j in range(dz3.shape[1]):
        g[:, 0] += dz3[:, j]
    return g


def grad_W1(dz3, W2, z2, x, W1, lam):
    g = np.zeros_like(W1)
    for j in range(dz3.shape[1]):
        dz2 = (W2.T @ dz3[:, j]) * (z2[:, j] > 0)
        g += np.outer(dz2, x[:, j])
    return g + 2 * lam * W1


def grad_b1(dz3, W2, z2):
    g = np.zeros((W2.shape[1], 1))
    for j in range(dz3.shape[1]):
        g[:, 0] += (W2.T @ dz3[:, j]) * (z2[:, j] > 0)
    return g


def gradients(x, y, W1, b1, W2, b2, lam):
    z2 = W1 @ x + b1
    a2 = np.maximum(z2, 0)
    a3 = softmax(W2 @ a2 + b2)
    dz3 = grad_z3(a3, y)
    return {"W1": grad_W1(dz3, W2, z2, x, W1, lam), "b1": grad_b1(dz3, W2, z2),
            "W2": grad_W2(dz3, a2, W2, lam), "b2": grad_b2(dz3)}
