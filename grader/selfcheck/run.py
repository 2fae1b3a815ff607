"""Grade every mutant through the real engine and runner, classify it with the oracle, tally.

Definitions used in the report:

- *equivalent*: the oracle finds no input where the mutant's answers differ from the right ones.
- *caught*: a non-equivalent mutant graded below the maximum score.
- *named*: a caught mutant where at least one part that lost points carries a diagnosis code
  (a catalog mistake, or one of the engine's own: sign_error, transposed, shape_mismatch,
  constant_factor with its factor in words, precision_loss). *Fully named*: every such part.
- *false alarm*: an equivalent mutant graded below the maximum score.
- *escaped*: a non-equivalent mutant with full marks.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from grader.engine.grade import grade
from grader.engine.plugin import AssignmentPlugin
from grader.engine.runner_contract import Runner
from grader.selfcheck import oracle
from grader.selfcheck.mutants import Mutant, mutants, sample


class SelfcheckError(Exception):
    """The assignment cannot be checked (no reference module, or its reference fails)."""


@dataclass(frozen=True)
class Outcome:
    """What became of one mutant under one seed."""

    mutant: Mutant
    #: The oracle's first difference; None for an equivalent mutant.
    difference: str | None
    score: float
    max_score: float
    #: Diagnosis codes of each part that lost points ([] where none was named).
    lost: dict[str, list[str]]
    #: Parts that lost points by raising (their feedback shows the exception and line).
    raised: tuple[str, ...] = ()

    @property
    def equivalent(self) -> bool:
        return self.difference is None

    @property
    def caught(self) -> bool:
        return not self.equivalent and self.score < self.max_score

    @property
    def named(self) -> bool:
        return self.caught and any(self.lost.values())

    @property
    def fully_named(self) -> bool:
        return self.caught and all(self.lost.values())

    @property
    def false_alarm(self) -> bool:
        return self.equivalent and self.score < self.max_score

    @property
    def escaped(self) -> bool:
        return not self.equivalent and self.score >= self.max_score


@dataclass
class SeedReport:
    """The tally of one seed."""

    seed: int
    outcomes: list[Outcome] = field(default_factory=list)

    def _count(self, what: str) -> int:
        return sum(bool(getattr(o, what)) for o in self.outcomes)

    @property
    def figures(self) -> dict[str, float]:
        total = len(self.outcomes)
        equivalent = self._count("equivalent")
        caught, named = self._count("caught"), self._count("named")
        wrong = total - equivalent
        return {
            "mutants": total, "equivalent": equivalent, "non_equivalent": wrong,
            "caught": caught, "named": named, "fully_named": self._count("fully_named"),
            "raised_only": sum(o.caught and not any(o.lost.values())
                               and set(o.lost) <= set(o.raised) for o in self.outcomes),
            "false_alarms": self._count("false_alarm"), "escaped": self._count("escaped"),
            "caught_pct": round(100.0 * caught / wrong, 2) if wrong else 100.0,
            "named_pct": round(100.0 * named / caught, 2) if caught else 100.0,
        }


def reference_source(assignment: AssignmentPlugin) -> str:
    if assignment.reference_module is None:
        raise SelfcheckError(f"{assignment.slug} does not give its reference_module")
    return inspect.getsource(assignment.reference_module)


def make_mutants(assignment: AssignmentPlugin, size: int | None = None) -> list[Mutant]:
    """The assignment's mutants (``size`` of them spread evenly, or all)."""
    found = mutants(reference_source(assignment), [p.name for p in assignment.parts])
    return sample(found, size)


def judge(assignment: AssignmentPlugin, runner: Runner, seed: int, source: str,
          truths: dict[str, oracle.Truth], mutant: Mutant) -> Outcome:
    """Grade one mutant's source with ``seed`` and classify it with the oracle."""
    report = runner.run(source, oracle.calls(truths), assignment.limits)
    difference = oracle.difference(assignment, truths, report)
    result = grade(source, assignment, seed=seed, runner=runner)
    lost = {p.name: list(p.diagnoses) for p in result.parts if p.score < p.max_score}
    raised = tuple(p.name for p in result.parts if p.score < p.max_score and p.status == "error")
    return Outcome(mutant, difference, result.score, result.max_score, lost, raised)


def check_reference(assignment: AssignmentPlugin, runner: Runner, seed: int,
                    truths: dict[str, oracle.Truth]) -> None:
    """The unmutated reference, graded as a submission, must be equivalent with full marks."""
    source = reference_source(assignment)
    report = runner.run(source, oracle.calls(truths), assignment.limits)
    difference = oracle.difference(assignment, truths, report)
    if difference is not None:
        raise SelfcheckError(f"the reference module, run as a submission, differs from the "
                             f"reference: {difference} (is it self-contained?)")
    result = grade(source, assignment, seed=seed, runner=runner)
    if result.score < result.max_score:
        raise SelfcheckError(f"the reference module scores {result.score:g} of "
                             f"{result.max_score:g} with seed {seed}: {result.feedback}")


def selfcheck(
    assignment: AssignmentPlugin, runner: Runner, seeds: Sequence[int], *,
    size: int | None = None, inputs: int = 40,
    progress: Callable[[int, Outcome], None] | None = None,
) -> list[SeedReport]:
    """Grade ``size`` mutants (all if None) under each seed; one report per seed.

    Args:
        inputs: oracle inputs per part.
        progress: called after each mutant with the seed and its outcome.
    """
    found = make_mutants(assignment, size)
    reports = []
    for seed in seeds:
        truths = oracle.draw(assignment, seed, inputs)
        check_reference(assignment, runner, seed, truths)
        report = SeedReport(seed)
        for m in found:
            outcome = judge(assignment, runner, seed, m.source, truths, m)
            report.outcomes.append(outcome)
            if progress is not None:
                progress(seed, outcome)
        reports.append(report)
    return reports
