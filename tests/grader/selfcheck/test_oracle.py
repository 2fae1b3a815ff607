"""The oracle: a mutant is equivalent only if it matches the reference, or an accepted
alternative, on every drawn input; the draws do not come from make_cases."""

import numpy as np
import pytest

from grader.engine.registry import get_plugin
from grader.engine.runner_contract import CaseReturn, ErrorInfo, PartRun, RunReport
from grader.selfcheck import oracle
from reference.softmax_backprop import solution as ref

A = get_plugin("softmax-backprop")


def report(answer) -> RunReport:  # type: ignore[no-untyped-def]
    """What a runner would report for code computing ``answer(part, args)``."""
    truths = oracle.draw(A, 4, 12)
    parts = {name: PartRun(name, "ok", tuple(answer(name, args) for args in t.inputs))
             for name, t in truths.items()}
    return RunReport("ok", parts=parts)


def reference(name: str, args: tuple) -> CaseReturn:  # type: ignore[type-arg]
    return CaseReturn(value=A.part(name).reference(*args))


class TestDraws:
    def test_inputs_are_valid_and_varied(self) -> None:
        """Draws stay in the handout's ranges and vary shapes, with ReLU zeros and ±1000."""
        truths = oracle.draw(A, 1, 200)
        zs = [args[0] for args in truths["softmax"].inputs]
        assert max(np.abs(z).max() for z in zs) == 1000.0
        assert all(np.abs(z).max() <= 1000.0 and z.shape[0] >= 2 for z in zs)
        assert len({z.shape for z in zs}) > 10
        z2s = [args[2] for args in truths["grad_b1"].inputs]
        assert any(np.any(z2 == 0.0) for z2 in z2s)
        lams = [args[-1] for args in truths["gradients"].inputs]
        assert 0.0 in lams and any(lam > 0 for lam in lams)

    def test_not_the_cases(self) -> None:
        """No drawn input equals an input of make_cases for the same seed."""
        cases = A.make_cases(3)["softmax"]
        drawn = oracle.draw(A, 3, 50)["softmax"].inputs
        assert not any(np.array_equal(c.args[0], d[0]) for c in cases for d in drawn)

    def test_same_seed_same_draws(self) -> None:
        """The oracle's draws are a pure function of the seed."""
        a, b = oracle.draw(A, 9, 5), oracle.draw(A, 9, 5)
        assert all(np.array_equal(x, y) for name in a
                   for args_a, args_b in zip(a[name].inputs, b[name].inputs, strict=True)
                   for x, y in zip(args_a, args_b, strict=True))


class TestDifference:
    def test_reference_is_equivalent(self) -> None:
        """The reference's own answers show no difference."""
        assert oracle.difference(A, oracle.draw(A, 4, 12), report(reference)) is None

    def test_accepted_alternative_is_equivalent(self) -> None:
        """A ReLU derivative of 1 at z2 == 0 is equivalent, as the grader accepts it."""
        def ge(name: str, args: tuple) -> CaseReturn:  # type: ignore[type-arg]
            if name in ("grad_W1", "grad_b1", "gradients"):
                return CaseReturn(value=getattr(ref, name)(*args, at_zero=1.0))
            return reference(name, args)
        assert oracle.difference(A, oracle.draw(A, 4, 12), report(ge)) is None

    @pytest.mark.parametrize("wrong,where", [
        (lambda n, a: CaseReturn(value=-reference(n, a).value) if n == "grad_z3"
         else reference(n, a), "grad_z3"),
        (lambda n, a: CaseReturn(error=ErrorInfo("ValueError", "shapes")) if n == "grad_b2"
         else reference(n, a), "grad_b2"),
    ])
    def test_wrong_answers_and_errors_differ(self, wrong, where: str) -> None:  # type: ignore[no-untyped-def]
        """A wrong value or an exception on a valid input is a difference, located."""
        found = oracle.difference(A, oracle.draw(A, 4, 12), report(wrong))
        assert found is not None and found.startswith(f"{where} on input 0")

    def test_without_draw_inputs_is_an_error(self) -> None:
        """A plugin without draw_inputs cannot be checked, and is told why."""
        import dataclasses

        with pytest.raises(ValueError, match="draw_inputs"):
            oracle.draw(dataclasses.replace(A, draw_inputs=None), 1, 3)
