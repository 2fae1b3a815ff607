"""The smallest failing case as a script a student can paste and run.

The script checks what the grader checks, in the same order (the type a value may have, its
dtype, its shape, finiteness, then the values within tolerance), so it never prints a match for
an answer the grader refused; it prints ``match: False`` with the reason.
"""

from __future__ import annotations

import numpy as np

from grader.engine.plugin import Case, Part, Tolerance
from grader.engine.runner_contract import Arg, Value


def _literal(value: Arg | Value) -> str:
    if isinstance(value, dict):
        inner = ",\n    ".join(f"{k!r}: {_literal(v)}" for k, v in value.items())
        return "{\n    " + inner + ",\n}"
    if isinstance(value, np.ndarray):
        body = np.array2string(
            value, separator=", ", floatmode="unique", threshold=10**9, max_line_width=100
        )
        return f"np.array({body})"
    return repr(float(value)) if isinstance(value, float) else repr(value)


#: The grader's checks, as plain Python a student can read. Lists and numbers are accepted the
#: way the sandbox accepts them (converted to a float array); any other type is refused.
_CHECKS = '''

def problem(got, expected, where=""):
    """Why the grader refuses got ("" if it accepts it)."""
    if isinstance(expected, dict):
        if type(got) is not dict:
            return f"returned {type(got).__name__}; return a dict"
        if set(got) != set(expected):
            return f"returned the keys {sorted(got)}; expected {sorted(expected)}"
        return next((p for k in expected if (p := problem(got[k], expected[k], f"[{k!r}] "))), "")
    if type(got) in (list, tuple, int, float) or isinstance(got, (np.number, np.bool_)):
        try:
            got = np.array(got, dtype=np.float64)
        except (TypeError, ValueError) as exc:
            return f"{where}returned numbers that do not form an array: {exc}"
    if type(got) is not np.ndarray:
        kind = type(got)
        name = ("np." if kind.__module__.startswith("numpy") else "") + kind.__name__
        return f"{where}returned {name}; return a numpy.ndarray"
    if got.dtype.kind not in "fiu":
        return f"{where}returned an array of dtype {got.dtype}; return real numbers"
    if got.shape != expected.shape:
        return f"{where}expected shape {expected.shape}, got {got.shape}"
    if not np.all(np.isfinite(got)):
        return f"{where}contains nan or inf"
    error = np.abs(got.astype(np.float64) - expected)
    if np.any(error > ATOL + RTOL * np.abs(expected)):
        return f"{where}values differ: max absolute error {error.max():.3g}"
    return ""

'''


def counterexample(part: Part, case: Case, expected: Value, tol: Tolerance) -> str:
    """A runnable reproduction of ``case``, comparing with the expected answer."""
    lines = [
        f"# Smallest failing case of {part.name}: {case.name}",
        "# Save next to your submission (named submission.py here) and run it.",
        "import numpy as np",
        "",
        f"from submission import {part.name}",
        "",
        f"RTOL, ATOL = {tol.rtol!r}, {tol.atol!r}",
    ]
    for name, value in zip(part.arg_names, case.args, strict=True):
        lines.append(f"{name} = {_literal(value)}")
    lines += [
        f"expected = {_literal(expected)}",
        _CHECKS,
        f"got = {part.name}({', '.join(part.arg_names)})",
        'print("got:", got, sep="\\n")',
        'print("expected:", expected, sep="\\n")',
        "why = problem(got, expected)",
        'print("match:", "True" if not why else f"False ({why})")',
    ]
    return "\n".join(lines) + "\n"
