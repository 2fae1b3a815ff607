"""The reference solution agrees with finite differences of the loss, part by part."""

from collections.abc import Callable

import numpy as np
import pytest

from reference.softmax_backprop import solution as ref

SHAPES = [(1, 1, 2, 1), (4, 4, 4, 3), (3, 5, 4, 6), (6, 7, 3, 11)]  # (D, H, C, N)
EPS = 1e-6


def numeric_grad(f: Callable[[], float], x: np.ndarray) -> np.ndarray:
    """Central differences of the scalar f() with respect to every entry of x (in place)."""
    g = np.zeros_like(x)
    for idx in np.ndindex(x.shape):
        old = x[idx]
        x[idx] = old + EPS
        up = f()
        x[idx] = old - EPS
        down = f()
        x[idx] = old
        g[idx] = (up - down) / (2 * EPS)
    return g


def net(shape: tuple[int, int, int, int], seed: int) -> dict[str, np.ndarray]:
    D, H, C, N = shape
    rng = np.random.default_rng(seed)
    y = np.zeros((C, N))
    y[rng.integers(0, C, N), np.arange(N)] = 1.0
    return {
        "x": rng.standard_normal((D, N)), "y": y,
        "W1": rng.standard_normal((H, D)), "b1": rng.standard_normal((H, 1)),
        "W2": rng.standard_normal((C, H)), "b2": rng.standard_normal((C, 1)),
    }


def away_from_kinks(n: dict[str, np.ndarray]) -> bool:
    z2 = n["W1"] @ n["x"] + n["b1"]
    return bool(np.all(np.abs(z2) > 1e-3))


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("lam", [0.0, 0.3])
class TestGradientsAgainstFiniteDifferences:
    def test_gradients_match(self, shape: tuple[int, int, int, int], lam: float) -> None:
        """Every key of gradients() equals the numerical gradient of J~."""
        n = next(n for s in range(100) if away_from_kinks(n := net(shape, seed=s)))
        got = ref.gradients(lam=lam, **n)

        def loss() -> float:
            return ref.loss(lam=lam, **n)

        for key in ("W1", "b1", "W2", "b2"):
            np.testing.assert_allclose(got[key], numeric_grad(loss, n[key]),
                                       rtol=1e-5, atol=1e-7)

    def test_layer_parts_match(self, shape: tuple[int, int, int, int], lam: float) -> None:
        """grad_W2, grad_b2, grad_W1 and grad_b1 equal the numerical gradients of J~."""
        n = next(n for s in range(100, 200) if away_from_kinks(n := net(shape, seed=s)))
        f = ref.forward(n["x"], n["W1"], n["b1"], n["W2"], n["b2"])
        dz3 = ref.grad_z3(f["a3"], n["y"])

        def loss() -> float:
            return ref.loss(lam=lam, **n)

        parts = {
            "W2": ref.grad_W2(dz3, f["a2"], n["W2"], lam),
            "b2": ref.grad_b2(dz3),
            "W1": ref.grad_W1(dz3, n["W2"], f["z2"], n["x"], n["W1"], lam),
            "b1": ref.grad_b1(dz3, n["W2"], f["z2"]),
        }
        for key, value in parts.items():
            np.testing.assert_allclose(value, numeric_grad(loss, n[key]), rtol=1e-5, atol=1e-7)


@pytest.mark.parametrize("C,N", [(2, 1), (4, 3), (10, 7)])
class TestSoftmaxAgainstFiniteDifferences:
    def test_grad_z3(self, C: int, N: int) -> None:
        """grad_z3 is the numerical gradient of the mean cross-entropy in z3."""
        rng = np.random.default_rng(C * N)
        z3 = rng.standard_normal((C, N))
        y = np.eye(C)[:, rng.integers(0, C, N)]

        def loss() -> float:
            return -float(np.sum(y * np.log(ref.softmax(z3)))) / N

        num = numeric_grad(loss, z3)
        np.testing.assert_allclose(ref.grad_z3(ref.softmax(z3), y), num, rtol=1e-5, atol=1e-8)

    def test_jacobian(self, C: int, N: int) -> None:
        """softmax_jacobian[i, j] is the numerical da_i/dz_j."""
        z = np.random.default_rng(C + N).standard_normal(C)
        jac = ref.softmax_jacobian(z)
        for i in range(C):
            num = numeric_grad(lambda i=i: float(ref.softmax(z.reshape(-1, 1))[i, 0]), z)
            np.testing.assert_allclose(jac[i], num, rtol=1e-5, atol=1e-8)

    def test_backward(self, C: int, N: int) -> None:
        """softmax_backward(z, da) is the numerical gradient of sum(da * softmax(z))."""
        rng = np.random.default_rng(7 * C + N)
        z, da = rng.standard_normal((C, N)), rng.standard_normal((C, N))
        num = numeric_grad(lambda: float(np.sum(da * ref.softmax(z))), z)
        np.testing.assert_allclose(ref.softmax_backward(z, da), num, rtol=1e-5, atol=1e-8)


class TestSoftmax:
    def test_columns_sum_to_one(self) -> None:
        """Each column of softmax sums to 1."""
        z = np.random.default_rng(0).standard_normal((5, 8))
        np.testing.assert_allclose(ref.softmax(z).sum(axis=0), np.ones(8))

    def test_stable_for_large_logits(self) -> None:
        """Logits of ±1000 give finite probabilities."""
        z = np.array([[1000.0, -1000.0], [999.0, -1000.0], [-1000.0, 1000.0]])
        a = ref.softmax(z)
        assert np.all(np.isfinite(a))
        np.testing.assert_allclose(a[:, 0], [1 / (1 + np.exp(-1)), 1 / (1 + np.e), 0.0])

    def test_relu_convention_alternative(self) -> None:
        """The at_zero=1 variant differs from the default only where z2 is exactly 0."""
        z2 = np.array([[0.0, 1.0], [-1.0, 0.0]])
        dz3, W2 = np.ones((2, 2)), np.eye(2)
        b0 = ref.grad_b1(dz3, W2, z2)
        b1 = ref.grad_b1(dz3, W2, z2, at_zero=1.0)
        np.testing.assert_allclose(b1 - b0, [[1.0], [1.0]])
