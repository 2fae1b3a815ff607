"""Naming the mistake: compare a failing part's outputs with the catalog's wrong variants."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from grader.engine import factors
from grader.engine.common_mistakes import GENERIC, near_miss
from grader.engine.compare import check, close, same
from grader.engine.plugin import AssignmentPlugin, Mistake, Observation, Tolerance
from grader.engine.runner_contract import ErrorInfo, Value


def _variants(found: Value | list[Value] | None) -> list[Value]:
    if found is None:
        return []
    return list(found) if isinstance(found, list) else [found]


def _shows(expected: Value, variant: Value, got: Value | None, tol: Tolerance) -> bool | None:
    """Whether ``got`` shows the mistake ``variant``; None where that tells nothing.

    Nothing is told where the variant is the right answer, or a single number: one wrong
    number equals a wrong variant by chance too often to name a mistake from it.

    For a dict answer each key is looked at on its own: a mistake made in one key only (the
    1/N forgotten in "b2" alone) is that mistake too.
    """
    if isinstance(expected, dict) and isinstance(variant, dict) and type(got) is dict:
        informative = hit = False
        for key, wrong in variant.items():
            if key not in expected or np.size(wrong) < 2 or close(expected[key], wrong, tol):
                continue
            informative = True
            hit = hit or (key in got and same(wrong, got[key], tol))
        return hit if informative else None
    size = sum(np.size(v) for v in variant.values()) if isinstance(variant, dict) \
        else np.size(variant)
    if size < 2 or close(expected, variant, tol):
        return None  # the right answer, or a single number, which a wrong answer may hit
    return same(variant, got, tol)


def _by_variant(mistake: Mistake, part: str, failing: Sequence[Observation],
                tol: Tolerance) -> bool:
    assert mistake.variant is not None
    informative = hits = 0
    for o in failing:
        shown = [_shows(o.expected, v, o.got, tol)
                 for v in _variants(mistake.variant(part, o.case.args))]
        if all(s is None for s in shown):
            continue
        informative += 1
        hits += any(shown)
    return bool(hits) and hits * 2 >= informative


def _by_term(mistake: Mistake, part: str, failing: Sequence[Observation],
             tol: Tolerance) -> str | None:
    """The factor sentence if the student's answer is the right one with the term rescaled."""
    assert mistake.term is not None
    informative = hits = 0
    observed: list[tuple[str, str, float]] = []
    for o in failing:
        term = mistake.term(part, o.case.args)
        if term is None:
            continue
        informative += 1
        found = factors.factors(o.expected, o.got, term, tol)
        hits += bool(found)
        observed += [(key, o.case.name, k) for key, k in found.items()]
    if not hits or hits * 2 < informative:
        return None
    return factors.describe(f"Your {mistake.term_name}", observed)


def _constant_factor(failing: Sequence[Observation], tol: Tolerance) -> str | None:
    """The whole answer (or a whole dict value) off by one constant factor, on most cases."""
    observed: list[tuple[str, str, float]] = []
    hits = 0
    for o in failing:
        found = factors.factors(o.expected, o.got, o.expected, tol)
        if found and all(factors.snap(k) not in (0, -1) for k in found.values()):
            hits += 1
            observed += [(key, o.case.name, k) for key, k in found.items()]
    if not hits or hits * 2 < len(failing):
        return None
    return factors.describe("Your result", observed)


def _try(mistakes: Sequence[Mistake], fallback: bool, part: str,
         seen: Sequence[Observation], failing: Sequence[Observation], tol: Tolerance,
         found: dict[str, str]) -> None:
    """Add to ``found`` the mistakes (fallbacks or not) that explain the observations."""
    for mistake in mistakes:
        if mistake.fallback != fallback or mistake.code in found:
            continue
        if mistake.rule is not None and mistake.rule(part, seen):
            found[mistake.code] = mistake.message
        elif mistake.variant is not None and _by_variant(mistake, part, failing, tol):
            found[mistake.code] = mistake.message
        elif mistake.term is not None:
            sentence = _by_term(mistake, part, failing, tol)
            if sentence is not None:
                found[mistake.code] = f"{sentence} {mistake.message}"


def diagnose(
    assignment: AssignmentPlugin, part: str, seen: Sequence[Observation]
) -> list[tuple[str, str]]:
    """The (code, message) pairs of the known mistakes that explain a part's failures.

    A variant mistake is named when the student's output equals the variant on most of the
    failing cases where the variant is informative (it exists and differs from the right
    answer), and on at least one; a term mistake likewise, with the factor said in words.
    Rules see every case. When nothing else names the failure, the engine says whether the
    code failed on shapes that do not fit, whether the answer is off by a constant factor, or
    right but for lost precision; then the catalog's fallbacks (hints that locate a mistake)
    are tried.
    """
    tol = assignment.tolerance
    failing = [o for o in seen if not o.passed and o.got is not None]
    raised = [o.error for o in seen if not o.passed and o.error is not None]
    found: dict[str, str] = {}
    mistakes = [m for m in assignment.mistakes if part in m.parts]
    _try(mistakes, False, part, seen, failing, tol, found)
    for code, (detector, default_message) in GENERIC.items():
        if code in found or not failing:
            continue
        matches = [detector(o.expected, o.got, tol) for o in failing]
        if any(matches) and sum(matches) * 2 >= len(matches):
            found[code] = assignment.generic_messages.get(code, default_message)
    shape_errors = sum(_shape_error(e) for e in raised)
    if not found and shape_errors and shape_errors * 2 >= len(raised) + len(failing):
        # Mostly shapes that do not fit (a square case may still give numbers).
        found["shape_error"] = assignment.generic_messages.get("shape_error", SHAPE_ERROR)
    if failing and not found:
        sentence = _constant_factor(failing, tol)
        if sentence is not None:
            hint = assignment.generic_messages.get("constant_factor", CONSTANT_FACTOR_HINT)
            found["constant_factor"] = f"{sentence} {hint}"
        elif all(near_miss(o.expected, o.got, tol) for o in failing):
            found["precision_loss"] = _precision_message(failing, tol, assignment)
    if failing and not found:
        _try(mistakes, True, part, seen, failing, tol, found)
    return list(found.items())


#: Codes the engine gives by itself besides GENERIC's (any assignment may word them anew in
#: its generic_messages).
ENGINE_CODES = ("shape_error", "constant_factor", "precision_loss")

#: numpy's words when the shapes of an operation do not fit.
_SHAPE_WORDS = ("could not be broadcast", "matmul: input operand", "not aligned",
                "cannot reshape", "mismatch in its core dimension", "incompatible dimensions",
                "shapes", "is out of bounds for array of dimension")

SHAPE_ERROR = ("Your code combines arrays whose shapes do not fit, in the line shown: write "
               "down the shape of every array in it, and check that each A @ B has A's columns "
               "equal to B's rows and each elementwise operation gets equal shapes (or 1s).")


def _shape_error(error: ErrorInfo) -> bool:
    message = error.message.lower()
    return error.type in ("ValueError", "AxisError", "IndexError") and any(
        w in message for w in _SHAPE_WORDS)


CONSTANT_FACTOR_HINT = ("Look for a constant factor that is missing or extra: a 2, a 1/N, a "
                        "mean where a sum belongs.")

PRECISION_HINT = ("Precision is lost somewhere: compute every step in float64 (no float32 or "
                  "float16), and avoid subtracting nearly equal large numbers.")


def _precision_message(failing: Sequence[Observation], tol: Tolerance,
                       assignment: AssignmentPlugin) -> str:
    worst = max((check(o.expected, o.got, tol).max_rel_error or 0.0) for o in failing)
    hint = assignment.generic_messages.get("precision_loss", PRECISION_HINT)
    return (f"Your answers are close but not within the tolerance: relative error up to "
            f"{worst:.2g}, allowed {tol.rtol:g}. {hint}")
