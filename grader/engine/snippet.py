"""The smallest failing case as a script a student can paste and run."""

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


def counterexample(part: Part, case: Case, expected: Value, tol: Tolerance) -> str:
    """A runnable reproduction of ``case``, comparing with the expected answer."""
    lines = [
        f"# Smallest failing case of {part.name}: {case.name}",
        "# Save next to your submission (named submission.py here) and run it.",
        "import numpy as np",
        "",
        f"from submission import {part.name}",
        "",
    ]
    for name, value in zip(part.arg_names, case.args, strict=True):
        lines.append(f"{name} = {_literal(value)}")
    lines += [
        f"expected = {_literal(expected)}",
        "",
        f"got = {part.name}({', '.join(part.arg_names)})",
        'print("got:", got, sep="\\n")',
        'print("expected:", expected, sep="\\n")',
    ]
    close = f"rtol={tol.rtol!r}, atol={tol.atol!r}"
    if isinstance(expected, dict):
        lines += [
            "same = set(got) == set(expected) and all(",
            "    np.shape(got[k]) == np.shape(expected[k])",
            f"    and np.allclose(got[k], expected[k], {close}) for k in expected)",
        ]
    else:
        lines.append(
            f"same = np.shape(got) == np.shape(expected) and np.allclose(got, expected, {close})"
        )
    lines.append('print("match:", same)')
    return "\n".join(lines) + "\n"
