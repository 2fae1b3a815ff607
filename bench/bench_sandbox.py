"""Sandbox benchmark: one submission (9 numpy functions x 6 cases) in-process vs isolated.

In-process means exec'ing the module and calling each function on fresh copies of the inputs,
with no isolation at all: the floor. Isolated means ``SandboxRunner.run`` with every layer
(zygote fork, namespaces, uid, user namespace, Landlock, seccomp, one process per part).

Usage: python bench/bench_sandbox.py [--runs 200]
"""

from __future__ import annotations

import argparse
import statistics
import time

import numpy as np

from grader.engine.runner_contract import Limits, PartCall
from worker.sandbox import SandboxRunner

SUBMISSION = """
import numpy as np

def relu(z):
    return np.maximum(z, 0)

def relu_grad(z):
    return (z > 0).astype(float)

def softmax(z):
    e = np.exp(z - z.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)

def forward(X, W1, W2):
    h = np.maximum(X @ W1, 0)
    return softmax(h @ W2)

def loss(P, Y):
    return np.array(-np.mean(np.sum(Y * np.log(P + 1e-12), axis=1)))

def grad_logits(P, Y):
    return (P - Y) / P.shape[0]

def grad_W2(h, d):
    return h.T @ d

def grad_W1(X, W1, W2, d):
    return X.T @ ((d @ W2.T) * (X @ W1 > 0))

def l2(W, lam):
    return {"penalty": np.array(0.5 * lam * np.sum(W * W)), "grad": lam * W}
"""


def cases(rng: np.random.Generator) -> list[PartCall]:
    """Six small cases for each of the nine functions."""
    def six(make: object) -> tuple[tuple[object, ...], ...]:
        return tuple(make() for _ in range(6))  # type: ignore[operator]

    X = lambda: rng.standard_normal((8, 5))  # noqa: E731
    W1 = lambda: rng.standard_normal((5, 6))  # noqa: E731
    W2 = lambda: rng.standard_normal((6, 3))  # noqa: E731
    P = lambda: np.full((8, 3), 1 / 3)  # noqa: E731
    Y = lambda: np.eye(3)[rng.integers(0, 3, 8)]  # noqa: E731
    return [
        PartCall("relu", six(lambda: (X(),))),
        PartCall("relu_grad", six(lambda: (X(),))),
        PartCall("softmax", six(lambda: (rng.standard_normal((8, 3)),))),
        PartCall("forward", six(lambda: (X(), W1(), W2()))),
        PartCall("loss", six(lambda: (P(), Y()))),
        PartCall("grad_logits", six(lambda: (P(), Y()))),
        PartCall("grad_W2", six(lambda: (rng.standard_normal((8, 6)), P()))),
        PartCall("grad_W1", six(lambda: (X(), W1(), W2(), P()))),
        PartCall("l2", six(lambda: (W1(), 0.01))),
    ]  # type: ignore[arg-type]


def in_process(calls: list[PartCall]) -> None:
    """The floor: no isolation, same calls and copies."""
    namespace: dict[str, object] = {}
    exec(compile(SUBMISSION, "submission.py", "exec"), namespace)
    for call in calls:
        fn = namespace[call.name]
        for args in call.cases:
            fn(*(a.copy() if isinstance(a, np.ndarray) else a for a in args))  # type: ignore[operator]


def summary(name: str, seconds: list[float]) -> tuple[float, float]:
    """Print and return median and p95 in milliseconds."""
    ms = sorted(s * 1000 for s in seconds)
    med, p95 = statistics.median(ms), ms[int(0.95 * (len(ms) - 1))]
    print(f"{name:<12} median {med:8.3f} ms   p95 {p95:8.3f} ms   (n={len(ms)})")
    return med, p95


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=200)
    opts = parser.parse_args()
    calls = cases(np.random.default_rng(0))

    floor = []
    for _ in range(opts.runs):
        start = time.perf_counter()
        in_process(calls)
        floor.append(time.perf_counter() - start)

    with SandboxRunner() as runner:
        print(f"sandbox level: {runner.start()}")
        for _ in range(5):  # warm-up
            runner.run(SUBMISSION, calls, Limits())
        isolated = []
        for _ in range(opts.runs):
            start = time.perf_counter()
            report = runner.run(SUBMISSION, calls, Limits())
            isolated.append(time.perf_counter() - start)
            assert all(p.status == "ok" and len(p.returns) == 6 for p in report.parts.values())

    f_med, f_p95 = summary("in-process", floor)
    s_med, s_p95 = summary("sandbox", isolated)
    print(f"ratio        median {s_med / f_med:8.1f} x    p95 {s_p95 / f_p95:8.1f} x")


if __name__ == "__main__":
    main()
