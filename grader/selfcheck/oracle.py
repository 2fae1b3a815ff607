"""The oracle: is a mutant really wrong, whatever the grader's cases say?

A mutant is *equivalent* when, on a dense set of valid inputs drawn by the plugin's
``draw_inputs`` (independently of ``make_cases``), every part's answer passes the grader's own
comparison with the reference: the plugin's tolerance, and its accepted alternatives (so a ReLU
derivative of 1 at exactly 0 is equivalent). Otherwise it is a real mistake that the grade
should catch. The mutant's answers come from the sandbox, like a student's.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass

import numpy as np

from grader.engine.compare import check
from grader.engine.plugin import AssignmentPlugin
from grader.engine.runner_contract import Arg, PartCall, RunReport, Value

#: A stream of its own for the oracle's draws, apart from any the cases use.
_STREAM = 0x5E1F


@dataclass(frozen=True)
class Truth:
    """The right answers (and accepted alternatives) of one part on its oracle inputs."""

    inputs: tuple[tuple[Arg, ...], ...]
    answers: tuple[tuple[Value, ...], ...]


def draw(assignment: AssignmentPlugin, seed: int, per_part: int) -> dict[str, Truth]:
    """``per_part`` valid inputs of every part, with their right answers."""
    if assignment.draw_inputs is None:
        raise ValueError(f"{assignment.slug} has no draw_inputs: the oracle needs valid inputs "
                         "drawn independently of make_cases (see docs/assignments.md)")
    truths = {}
    for index, part in enumerate(assignment.parts):
        rng = np.random.default_rng([seed, _STREAM, index])
        inputs = tuple(assignment.draw_inputs(part.name, rng) for _ in range(per_part))
        answers = []
        for args in inputs:
            right = [part.reference(*copy.deepcopy(args))]
            if part.alternatives is not None:
                right += list(part.alternatives(*copy.deepcopy(args)))
            answers.append(tuple(right))
        truths[part.name] = Truth(inputs, tuple(answers))
    return truths


def calls(truths: dict[str, Truth]) -> list[PartCall]:
    return [PartCall(name, t.inputs) for name, t in truths.items()]


def _shapes(args: tuple[Arg, ...]) -> str:
    return ", ".join(str(np.shape(a)) if isinstance(a, np.ndarray) else repr(a) for a in args)


def difference(assignment: AssignmentPlugin, truths: dict[str, Truth],
               report: RunReport) -> str | None:
    """Where the run's answers first differ from every right answer (None: equivalent)."""
    if report.import_status != "ok":
        return f"import: {report.import_status}"
    tol = assignment.tolerance
    for name, truth in truths.items():
        run = report.parts.get(name)
        if run is None or run.status != "ok" or len(run.returns) < len(truth.inputs):
            status = run.status if run is not None else "not run"
            return f"{name}: {status}"
        for i, (args, ret) in enumerate(zip(truth.inputs, run.returns, strict=False)):
            where = f"{name} on input {i} ({_shapes(args)})"
            if ret.error is not None:
                return f"{where}: {ret.error.type}: {ret.error.message}"
            verdicts = [check(right, ret.value, tol) for right in truth.answers[i]]
            if not any(v.passed for v in verdicts):
                return f"{where}: {verdicts[0].message}"
    return None
