"""Mutants: the operators the issue lists, each mutant a distinct module that compiles."""

import ast
import inspect

from grader.selfcheck.mutants import mutants, sample
from reference.softmax_backprop import solution

SOURCE = '''
import numpy as np


def helper(v):
    """Not graded itself, but reached from f."""
    return v.T


def f(a, b, W1, W2, lam, *, at_zero=0.0):
    s = a.sum(axis=0, keepdims=True) - b[1:]
    m = np.where(a > 0, 1.0, at_zero)
    return helper(W1) @ (s * m) + 2.0 * lam * W2


def unused(a):
    return a + 1
'''


def labels(found):  # type: ignore[no-untyped-def]
    return {(m.operator, m.before, m.after) for m in found}


class TestOperators:
    def test_the_listed_kinds_of_mistake(self) -> None:
        """Sign and operator flips, axis swaps, dropped and doubled terms, transposes, factors,
        keepdims removed, off-by-one slices and > vs >= are all made."""
        ops = {m.operator for m in mutants(SOURCE, ["f"])}
        assert {"operator swapped", "axis swapped", "term dropped", "term duplicated",
                "transpose dropped", "transpose added", "constant factor", "keepdims dropped",
                "slice off by one", "comparison swapped", "result negated",
                "variable swapped", "where branches swapped", "number changed"} <= ops

    def test_specific_mutants(self) -> None:
        """A few mutants spelled out: axis 0->1, keepdims gone, > to >=, W1 for W2."""
        found = labels(mutants(SOURCE, ["f"]))
        assert ("axis swapped", "a.sum(axis=0, keepdims=True)",
                "a.sum(axis=1, keepdims=True)") in found
        assert ("keepdims dropped", "a.sum(axis=0, keepdims=True)", "a.sum(axis=0)") in found
        assert ("comparison swapped", "a > 0", "a >= 0") in found
        assert ("variable swapped", "W2", "W1") in found
        assert ("transpose dropped", "v.T", "v") in found

    def test_only_reached_functions_are_mutated(self) -> None:
        """Functions the parts reach are mutated (helpers too); others are not."""
        functions = {m.function for m in mutants(SOURCE, ["f"])}
        assert functions == {"f", "helper"}

    def test_mutants_compile_and_differ(self) -> None:
        """Every mutant compiles, differs from the original and from every other mutant."""
        found = mutants(SOURCE, ["f"])
        original = ast.unparse(ast.parse(SOURCE)) + "\n"
        sources = [m.source for m in found]
        assert original not in sources and len(set(sources)) == len(sources)
        for m in found:
            compile(m.source, "<mutant>", "exec")

    def test_docstrings_are_left_alone(self) -> None:
        """No mutant touches a docstring."""
        assert all("Not graded itself" in m.source for m in mutants(SOURCE, ["f"]))

    def test_softmax_backprop_has_300_mutants_over_its_functions(self) -> None:
        """The reference of softmax-backprop gives at least 300 mutants in its nine parts'
        functions and their helpers."""
        found = mutants(inspect.getsource(solution),
                        ["softmax", "softmax_jacobian", "softmax_backward", "grad_z3",
                         "grad_W2", "grad_b2", "grad_W1", "grad_b1", "gradients"])
        assert len(found) >= 300
        assert "loss" not in {m.function for m in found}

    def test_sample_spreads_evenly(self) -> None:
        """A sample takes mutants from the whole list, in order."""
        found = mutants(SOURCE, ["f"])
        picked = sample(found, 5)
        assert len(picked) == 5 and picked[0] is found[0]
        assert found.index(picked[-1]) >= len(found) * 3 // 5
        assert sample(found, None) == found


class TestImports:
    def test_no_web_app_or_database(self) -> None:
        """The selfcheck and its command import neither Flask, SQLAlchemy nor Celery."""
        import subprocess
        import sys

        code = ("import sys, grader.selfcheck.run, grader.cli.selfcheck; "
                "print(sorted({m.split('.')[0] for m in sys.modules} "
                "& {'flask', 'sqlalchemy', 'celery'}))")
        out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                             check=True, timeout=120)
        assert out.stdout.strip() == "[]"
