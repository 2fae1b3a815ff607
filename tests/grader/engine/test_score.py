"""Scoring from a runner's report: partial credit, statuses, feedback, counterexamples.

These tests hand the engine scripted reports (the runner is an interface), so every outcome a
sandbox can report is covered without running student code.
"""

from collections.abc import Callable, Sequence

import numpy as np

from grader.engine import grade
from grader.engine.registry import get_plugin
from grader.engine.runner_contract import (
    CaseReturn,
    ErrorInfo,
    Limits,
    PartCall,
    PartRun,
    RunReport,
)

A = get_plugin("softmax-backprop")


class Scripted:
    """A runner that answers every case with what ``answer`` says (no student code runs)."""

    def __init__(self, answer: Callable[[str, tuple], CaseReturn] | None = None,  # type: ignore[type-arg]
                 report: RunReport | None = None, status: dict[str, PartRun] | None = None):
        self.answer, self.report, self.status = answer, report, status or {}
        self.calls: Sequence[PartCall] = ()

    def run(self, code: str, calls: Sequence[PartCall], limits: Limits) -> RunReport:
        self.calls = calls
        if self.report is not None:
            return self.report
        parts = {}
        for call in calls:
            if call.name in self.status:
                parts[call.name] = self.status[call.name]
                continue
            assert self.answer is not None
            rets = tuple(self.answer(call.name, args) for args in call.cases)
            parts[call.name] = PartRun(call.name, "ok", rets)
        return RunReport("ok", parts=parts, sandbox_level="scripted")


def right(part: str, args: tuple) -> CaseReturn:  # type: ignore[type-arg]
    return CaseReturn(value=A.part(part).reference(*args))


class TestScoring:
    def test_all_right_is_full_marks(self) -> None:
        """Right answers everywhere give every part its points."""
        r = grade("", A, seed=3, runner=Scripted(right))
        assert r.status == "graded" and r.score == r.max_score == 90
        assert all(p.status == "passed" and p.counterexample is None for p in r.parts)

    def test_partial_credit_is_fraction_of_cases(self) -> None:
        """A part right on some cases gets that fraction of its points."""
        def half(part: str, args: tuple) -> CaseReturn:  # type: ignore[type-arg]
            ret = right(part, args)
            if part == "softmax" and args[0].shape[1] == 1:
                return CaseReturn(value=np.zeros_like(ret.value))
            return ret
        r = grade("", A, seed=3, runner=Scripted(half))
        sm = r.parts[0]
        assert sm.status == "failed" and 0 < sm.score < 10
        assert sm.cases_passed == sm.cases_total - 2

    def test_inputs_reach_runner_unchanged(self) -> None:
        """The runner gets every part's cases, in order."""
        runner = Scripted(right)
        grade("", A, seed=11, runner=runner)
        assert [c.name for c in runner.calls] == [p.name for p in A.parts]
        assert all(len(c.cases) >= 4 for c in runner.calls)

    def test_exception_gives_error_with_traceback(self) -> None:
        """A raising part is 'error' and the feedback quotes the exception and student lines."""
        err = ErrorInfo("ValueError", "shapes (2,3) and (4,) not aligned",
                        ("line 7, in grad_W2: return dz3 @ a2",))
        def bad(part: str, args: tuple) -> CaseReturn:  # type: ignore[type-arg]
            return CaseReturn(error=err) if part == "grad_W2" else right(part, args)
        r = grade("", A, seed=3, runner=Scripted(bad))
        p = next(p for p in r.parts if p.name == "grad_W2")
        assert p.status == "error" and p.score == 0
        assert "ValueError" in p.feedback and "line 7, in grad_W2" in p.feedback
        assert p.counterexample and "grad_W2(dz3, a2, W2, lam)" in p.counterexample

    def test_timeout_keeps_answered_cases(self) -> None:
        """A part stopped by its time limit keeps credit for cases answered before."""
        cases = A.make_cases(3)["grad_b2"]
        answered = tuple(right("grad_b2", c.args) for c in cases[:2])
        status = {"grad_b2": PartRun("grad_b2", "timeout", answered)}
        r = grade("", A, seed=3, runner=Scripted(right, status=status))
        p = next(p for p in r.parts if p.name == "grad_b2")
        assert p.status == "timeout" and p.cases_passed == 2
        assert "time" in p.feedback or "limit" in p.feedback
        assert r.parts[0].status == "passed"

    def test_missing_function(self) -> None:
        """A function not defined scores 0 with status 'missing' and says what to define."""
        status = {"grad_b1": PartRun("grad_b1", "missing")}
        r = grade("", A, seed=3, runner=Scripted(right, status=status))
        p = next(p for p in r.parts if p.name == "grad_b1")
        assert p.status == "missing" and "grad_b1(dz3, W2, z2)" in p.feedback

    def test_not_implemented_is_friendly(self) -> None:
        """The starter's NotImplementedError reads 'not implemented yet'."""
        def todo(part: str, args: tuple) -> CaseReturn:  # type: ignore[type-arg]
            return CaseReturn(error=ErrorInfo("NotImplementedError", ""))
        r = grade("", A, seed=3, runner=Scripted(todo))
        assert r.score == 0 and all("not implemented yet" in p.feedback for p in r.parts)

    def test_syntax_error_is_not_gradable(self) -> None:
        """A syntax error makes the submission not_gradable and names the line."""
        rep = RunReport("syntax_error", ErrorInfo("SyntaxError", "invalid syntax", lineno=4))
        r = grade("", A, seed=3, runner=Scripted(report=rep))
        assert r.status == "not_gradable" and "line 4" in r.feedback
        # Said once, not on every part.
        assert "invalid syntax" in r.feedback
        assert not any("invalid syntax" in p.feedback or "line 4" in p.feedback
                       for p in r.parts)
        assert {p.feedback for p in r.parts} == {
            "Not graded: the file could not be imported (see the message above)."}

    def test_import_timeout_is_graded_zero(self) -> None:
        """A hang at import costs the submission: graded 0, every part 'timeout'."""
        r = grade("", A, seed=3, runner=Scripted(report=RunReport("timeout")))
        assert r.status == "graded" and r.score == 0
        assert {p.status for p in r.parts} == {"timeout"}

    def test_relu_convention_at_zero_accepted(self) -> None:
        """Answers using derivative 1 at z2 == 0 pass like those using 0."""
        def ge(part: str, args: tuple) -> CaseReturn:  # type: ignore[type-arg]
            p = A.part(part)
            if p.alternatives is not None:
                return CaseReturn(value=p.alternatives(*args)[0])
            return right(part, args)
        r = grade("", A, seed=3, runner=Scripted(ge))
        assert r.score == r.max_score

    def test_seed_is_recorded_and_replayable(self) -> None:
        """Without a seed one is drawn and recorded; grading again with it gives the same."""
        r1 = grade("", A, runner=Scripted(right))
        r2 = grade("", A, seed=r1.seed, runner=Scripted(right))
        assert r1.seed == r2.seed and r1.to_dict()["parts"] == r2.to_dict()["parts"]
