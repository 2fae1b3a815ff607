"""softmax-backprop: your implementation.

Fill in every function below and upload this file. One example per COLUMN:
x (D,N), W1 (H,D), b1 (H,1), W2 (C,H), b2 (C,1), y (C,N) one-hot.
Every function receives and returns float64 numpy arrays; see the handout for the maths.
"""

import numpy as np  # noqa: F401  (you will need it)


def softmax(z):
    """Column-wise softmax of z (C,N); columns sum to 1; must stay finite for logits up to ±1000."""
    raise NotImplementedError


def softmax_jacobian(z):
    """For one column z (C,), the (C,C) matrix J[i, j] = da_i/dz_j = a_i (delta_ij - a_j)."""
    raise NotImplementedError


def softmax_backward(z, da):
    """z, da (C,N): dJ/dz, each column being J(z_col)^T @ da_col."""
    raise NotImplementedError


def grad_z3(a3, y):
    """dJ/dz3 for softmax + cross-entropy averaged over the N examples: (C,N)."""
    raise NotImplementedError


def grad_W2(dz3, a2, W2, lam):
    """dJ~/dW2, (C,H), including the L2 regularization term."""
    raise NotImplementedError


def grad_b2(dz3):
    """dJ/db2, (C,1)."""
    raise NotImplementedError


def grad_W1(dz3, W2, z2, x, W1, lam):
    """dJ~/dW1, (H,D), through the ReLU, including the L2 regularization term."""
    raise NotImplementedError


def grad_b1(dz3, W2, z2):
    """dJ/db1, (H,1), through the ReLU."""
    raise NotImplementedError


def gradients(x, y, W1, b1, W2, b2, lam):
    """Forward pass, then a dict with keys "W1", "b1", "W2", "b2": the gradients of J~."""
    raise NotImplementedError
