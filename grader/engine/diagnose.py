"""Naming the mistake: compare a failing part's outputs with the catalog's wrong variants."""

from __future__ import annotations

from collections.abc import Sequence

from grader.engine.common_mistakes import GENERIC
from grader.engine.compare import close
from grader.engine.plugin import AssignmentPlugin, Observation
from grader.engine.runner_contract import Value


def _variants(found: Value | list[Value] | None) -> list[Value]:
    if found is None:
        return []
    return list(found) if isinstance(found, list) else [found]


def diagnose(
    assignment: AssignmentPlugin, part: str, seen: Sequence[Observation]
) -> list[tuple[str, str]]:
    """The (code, message) pairs of the known mistakes that explain a part's failures.

    A variant mistake is named when the student's output equals the variant on most of the
    failing cases where the variant is informative (it exists and differs from the right
    answer), and on at least one. Rules see every case.
    """
    tol = assignment.tolerance
    failing = [o for o in seen if not o.passed and o.got is not None]
    found: dict[str, str] = {}
    for mistake in assignment.mistakes:
        if part not in mistake.parts or mistake.code in found:
            continue
        if mistake.rule is not None and mistake.rule(part, seen):
            found[mistake.code] = mistake.message
            continue
        if mistake.variant is None:
            continue
        informative = hits = 0
        for o in failing:
            variants = [
                v for v in _variants(mistake.variant(part, o.case.args))
                if not close(o.expected, v, tol)
            ]
            if not variants:
                continue
            informative += 1
            hits += any(close(v, o.got, tol) for v in variants)
        if hits and hits * 2 >= informative:
            found[mistake.code] = mistake.message
    for code, (detector, default_message) in GENERIC.items():
        if code in found or not failing:
            continue
        matches = [detector(o.expected, o.got, tol) for o in failing]
        if any(matches) and sum(matches) * 2 >= len(matches):
            found[code] = assignment.generic_messages.get(code, default_message)
    return list(found.items())
