"""Scoring one part: compare each case, give partial credit, explain the first failure."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from grader.engine.compare import Verdict, check
from grader.engine.diagnose import diagnose
from grader.engine.plugin import AssignmentPlugin, Case, Observation, Part
from grader.engine.result import PartResult, PartStatus
from grader.engine.runner_contract import CaseReturn, ErrorInfo, Limits, PartRun, Value
from grader.engine.snippet import counterexample


@dataclass(frozen=True)
class Expected:
    """The right answer of one case, and any other answers that are equally right."""

    value: Value
    alternatives: tuple[Value, ...] = ()


def _describe_inputs(part: Part, case: Case) -> str:
    shown = []
    for name, arg in zip(part.arg_names, case.args, strict=True):
        if isinstance(arg, np.ndarray):
            shown.append(f"{name} {tuple(arg.shape)}")
        else:
            shown.append(f"{name}={arg!r}")
    return ", ".join(shown)


#: The error type a runner reports when the code returned but its value was refused (a
#: np.matrix, a string, complex numbers...): a wrong answer, not an exception.
REFUSED = "InvalidReturn"

_REFUSED_NUMPY = re.compile(
    r"returned an? (matrix|MaskedArray|memmap|recarray|chararray); return a plain numpy\.ndarray")


def _refused_text(message: str) -> str:
    """The runner's words for a refused value, naming numpy's own classes as np.<name>."""
    m = _REFUSED_NUMPY.fullmatch(message)
    if m:
        return f"returned np.{m.group(1)}; return a numpy.ndarray"
    return message or "returned a value that is not a numpy.ndarray"


def _refused(ret: CaseReturn) -> bool:
    return ret.error is not None and ret.error.type == REFUSED


def _error_text(err: ErrorInfo) -> str:
    if err.type == REFUSED:
        return _refused_text(err.message)
    text = f"raised {err.type}: {err.message}" if err.message else f"raised {err.type}"
    if err.traceback:
        text += "\n" + "\n".join(f"  {line}" for line in err.traceback)
    return text


def _judge(exp: Expected, ret: CaseReturn, assignment: AssignmentPlugin) -> Verdict:
    if ret.error is not None:
        return Verdict(False, _error_text(ret.error))
    verdict = check(exp.value, ret.value, assignment.tolerance)
    if not verdict.passed:
        for alt in exp.alternatives:
            if check(alt, ret.value, assignment.tolerance).passed:
                return Verdict(True)
    return verdict


def _unfinished(run: PartRun, limits: Limits, answered: int, total: int) -> str:
    done = f"{answered} of {total} cases answered"
    if run.status == "timeout":
        return (f"Stopped: the part as a whole took longer than its {limits.part_seconds:g} s "
                f"limit ({done}). Look for an endless loop or a very slow one.")
    if run.status == "memory":
        mib = limits.memory_bytes // 2**20
        return f"Ran out of memory (limit {mib} MiB; {done})."
    detail = f" ({run.detail})" if run.detail else ""
    return f"Your code ended its own process{detail}; {done}."


def score_part(
    assignment: AssignmentPlugin, part: Part, cases: Sequence[Case],
    expected: Sequence[Expected], run: PartRun,
) -> PartResult:
    """Grade one part from what the runner reported."""
    total = len(cases)
    result = PartResult(name=part.name, score=0.0, max_score=part.points, status="failed",
                        output=run.output, cases_total=total)
    if run.status == "missing":
        result.status = "missing"
        result.feedback = (f"{part.name} is not defined in your file: define "
                           f"{part.name}({', '.join(part.arg_names)}).")
        return result

    seen: list[Observation] = []
    verdicts: list[Verdict] = []
    first_error: ErrorInfo | None = None
    for case, exp, ret in zip(cases, expected, run.returns, strict=False):
        verdict = _judge(exp, ret, assignment)
        verdicts.append(verdict)
        seen.append(Observation(case, exp.value, ret.value, verdict.passed, ret.error))
        if (ret.error is not None and not _refused(ret) and first_error is None
                and not verdict.passed):
            first_error = ret.error
    passed = sum(v.passed for v in verdicts)
    result.cases_passed = passed
    result.score = round(part.points * passed / total, 6) if total else part.points
    answered = len(verdicts)

    status: PartStatus
    if passed == total:
        status = "passed"
    elif run.status in ("timeout", "memory"):
        status = run.status
    elif run.status == "crashed":
        status = "error"
    else:
        first_bad = next(i for i, v in enumerate(verdicts) if not v.passed)
        ret = run.returns[first_bad]
        status = "error" if ret.error is not None and not _refused(ret) else "failed"
    result.status = status
    if status == "passed":
        result.feedback = f"All {total} cases passed."
        return result

    if (first_error is not None and first_error.type == "NotImplementedError"
            and passed == 0 and all(r.error is not None for r in run.returns)):
        result.feedback = (f"{part.name} is not implemented yet (it raises "
                           "NotImplementedError).")
        return result

    lines = [f"{passed} of {total} cases passed."]
    failing = [i for i, v in enumerate(verdicts) if not v.passed]
    if failing:
        i = failing[0]
        lines.append(f"First failing case: {cases[i].name} "
                     f"(inputs {_describe_inputs(part, cases[i])}): {verdicts[i].message}")
    if answered < total:
        lines.append(_unfinished(run, assignment.limits, answered, total))
    found = diagnose(assignment, part.name, seen)
    result.diagnoses = [code for code, _ in found]
    lines += [message for _, message in found]
    result.feedback = "\n".join(lines)

    candidates = failing or list(range(answered, total))
    if candidates:
        smallest = min(candidates, key=lambda k: (cases[k].size, k))
        result.counterexample = counterexample(
            part, cases[smallest], expected[smallest].value, assignment.tolerance)
    return result
