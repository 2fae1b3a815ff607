"""Correct, written with einsum and a logsumexp softmax."""

import numpy as np


def softmax(z):
    m = z.max(axis=0)
    lse = m + np.log(np.einsum("cn->n", np.exp(z - m)))
    return np.exp(z - lse)


def softmax_jacobian(z):
    a = softmax(z[:, None])[:, 0]
    return np.einsum("i,ij->ij", a, np.eye(len(a))) - np.einsum("i,j->ij", a, a)


def softmax_backward(z, da):
    a = softmax(z)
    return np.einsum("cn,cn->cn", a, da - np.einsum("cn,cn->n", a, da)[None, :])


def grad_z3(a3, y):
    return np.einsum("cn->cn", a3 - y) / a3.shape[1]


def grad_W2(dz3, a2, W2, lam):
    return np.einsum("cn,hn->ch", dz3, a2) + 2 * lam * W2


def grad_b2(dz3):
    return np.einsum("cn->c", dz3)[:, None]


def grad_W1(dz3, W2, z2, x, W1, lam):
    dz2 = np.einsum("ch,cn->hn", W2, dz3) * (z2 > 0)
    return np.einsum("hn,dn->hd", dz2, x) + 2 * lam * W1


def grad_b1(dz3, W2, z2):
    return np.einsum("hn->h", np.einsum("ch,cn->hn", W2, dz3) * (z2 > 0))[:, None]


def gradients(x, y, W1, b1, W2, b2, lam):
    z2 = np.einsum("hd,dn->hn", W1, x) + b1
    a2 = np.maximum(z2, 0)
    a3 = softmax(np.einsum("ch,hn->cn", W2, a2) + b2)
    dz3 = grad_z3(a3, y)
    return {"W1": grad_W1(dz3, W2, z2, x, W1, lam), "b1": grad_b1(dz3, W2, z2),
            "W2": grad_W2(dz3, a2, W2, lam), "b2": grad_b2(dz3)}
