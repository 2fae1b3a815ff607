"""Grading one submission: cases -> runner -> compare -> score -> diagnose -> result."""

from __future__ import annotations

import copy
import dataclasses
import secrets
import time
from collections.abc import Mapping, Sequence

from grader.engine.plugin import AssignmentPlugin, Case, Part
from grader.engine.registry import get_plugin
from grader.engine.result import GradeResult, PartResult, PartStatus, SubmissionStatus
from grader.engine.runner_contract import PartCall, Runner, RunReport, StagedRunner, Value
from grader.engine.score import Expected, score_part

#: Seeds are drawn below this bound so they fit every database's integer column.
SEED_BOUND = 2**31


def draw_seed() -> int:
    """A fresh random seed, recorded with the result so the grade can be replayed."""
    return secrets.randbelow(SEED_BOUND)


def _expected(part: Part, case: Case) -> Expected:
    # The reference gets its own copies, so nothing it does can touch the student's inputs.
    value = part.reference(*copy.deepcopy(case.args))
    alternatives: tuple[Value, ...] = ()
    if part.alternatives is not None:
        alternatives = tuple(part.alternatives(*copy.deepcopy(case.args)))
    return Expected(value, alternatives)


def _ms(start: float) -> float:
    return round((time.perf_counter() - start) * 1000.0, 3)


def with_points(assignment: AssignmentPlugin, points: Mapping[str, float]) -> AssignmentPlugin:
    """The assignment with a course's own points per part (parts not named keep theirs)."""
    unknown = set(points) - {p.name for p in assignment.parts}
    if unknown:
        raise ValueError(f"points given for parts {sorted(unknown)} that {assignment.slug} lacks")
    parts = tuple(
        dataclasses.replace(p, points=float(points.get(p.name, p.points)))
        for p in assignment.parts
    )
    return dataclasses.replace(assignment, parts=parts)


def grade(
    code: str, assignment: AssignmentPlugin | str, *, seed: int | None = None, runner: Runner,
    points: Mapping[str, float] | None = None,
) -> GradeResult:
    """Grade ``code`` (a student's module source) against ``assignment``.

    Student faults (syntax errors, exceptions, crashes, hangs) are part of the result; an
    exception from here is always our own fault (reference, engine, runner).

    Args:
        points: Points per part set for a course, instead of the plugin's defaults.
    """
    a = assignment if isinstance(assignment, AssignmentPlugin) else get_plugin(assignment)
    if points:
        a = with_points(a, points)
    seed = draw_seed() if seed is None else seed
    t0 = time.perf_counter()
    # A staged runner starts the sandbox and imports the module while the cases are made.
    pending = None
    if isinstance(runner, StagedRunner):
        pending = runner.begin(code, [p.name for p in a.parts], a.limits)
    try:
        cases = a.make_cases(seed)
        expected = {p.name: [_expected(p, c) for c in cases[p.name]] for p in a.parts}
    except BaseException:
        if pending is not None:
            pending.cancel()
        raise
    timings = {"cases": _ms(t0)}

    t1 = time.perf_counter()
    calls = [PartCall(p.name, tuple(c.args for c in cases[p.name])) for p in a.parts]
    if pending is not None:
        report = pending.finish(calls)
    else:
        report = runner.run(code, calls, a.limits)
    timings["run"] = _ms(t1)

    t2 = time.perf_counter()
    result = _from_report(a, seed, cases, expected, report)
    timings["compare"] = _ms(t2)
    timings["total"] = _ms(t0)
    result.timings = timings
    return result


def _from_report(
    a: AssignmentPlugin, seed: int, cases: Mapping[str, Sequence[Case]],
    expected: dict[str, list[Expected]], report: RunReport,
) -> GradeResult:
    if report.import_status != "ok":
        return _import_failure(a, seed, report)
    parts = []
    for p in a.parts:
        run = report.parts.get(p.name)
        if run is None:
            raise RuntimeError(f"the runner reported nothing for part {p.name!r}")
        parts.append(score_part(a, p, cases[p.name], expected[p.name], run))
    score = round(sum(r.score for r in parts), 6)
    return GradeResult(
        assignment=a.slug, seed=seed, score=score, max_score=a.max_score, status="graded",
        feedback=_summary(parts, score, a.max_score), parts=parts,
        sandbox_level=report.sandbox_level, output=report.output,
    )


def _summary(parts: list[PartResult], score: float, max_score: float) -> str:
    if all(p.status == "passed" for p in parts):
        return f"All {len(parts)} parts correct: {score:g} of {max_score:g}."
    todo = []
    for p in parts:
        if p.status != "passed":
            why = ", ".join(p.diagnoses) if p.diagnoses else p.status
            todo.append(f"{p.name} ({why})")
    return f"Score {score:g} of {max_score:g}. To fix: " + "; ".join(todo) + "."


def _import_failure(a: AssignmentPlugin, seed: int, report: RunReport) -> GradeResult:
    err = report.import_error
    status = report.import_status
    limits = a.limits
    part_status: PartStatus = "error"
    overall: SubmissionStatus
    if status == "syntax_error":
        where = f" on line {err.lineno}" if err and err.lineno else ""
        msg = f": {err.message}" if err and err.message else ""
        feedback = f"Your file has a syntax error{where}{msg}. Nothing was graded."
        overall = "not_gradable"
    elif status == "import_error":
        detail = f"{err.type}: {err.message}" if err else "an exception"
        lines = err.traceback if err else ()
        tb = "".join(f"\n  {line}" for line in lines)
        feedback = (f"Importing your file raised {detail}{tb}\nNothing was graded: code at the "
                    "top level of the file must run without errors.")
        overall = "not_gradable"
    elif status == "crashed":
        detail = f" ({report.detail})" if report.detail else ""
        feedback = (f"Your file ended its own process while being imported{detail}. Nothing "
                    "was graded: remove top-level calls such as exit() or os._exit().")
        overall = "not_gradable"
    elif status == "timeout":
        feedback = (f"Importing your file took longer than {limits.import_seconds:g} s, so no "
                    "part could be graded. Move slow or endless code out of the top level.")
        overall, part_status = "graded", "timeout"
    else:  # memory
        feedback = (f"Importing your file used more than {limits.memory_bytes // 2**20} MiB of "
                    "memory, so no part could be graded.")
        overall, part_status = "graded", "memory"
    # The reason is said once, in the submission's feedback; each part only points to it.
    why = {"timeout": "importing the file took too long",
           "memory": "importing the file used too much memory"}.get(
               status, "the file could not be imported")
    parts = [
        PartResult(name=p.name, score=0.0, max_score=p.points, status=part_status,
                   feedback=f"Not graded: {why} (see the message above).")
        for p in a.parts
    ]
    return GradeResult(
        assignment=a.slug, seed=seed, score=0.0, max_score=a.max_score,
        status=overall,
        feedback=feedback, parts=parts, sandbox_level=report.sandbox_level,
        output=report.output,
    )

