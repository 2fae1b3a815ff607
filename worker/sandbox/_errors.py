"""Inside the sandbox: describe an exception (or a refused value) as an error frame's body.

Only frames of the student's own file are kept in the traceback; the trusted side re-checks
every field and makes the text storable.
"""

from __future__ import annotations

import traceback

from . import _wire

#: Where the student's source is written (in the scratch directory; set per submission).
SOURCE = ["/tmp/submission.py"]


def describe(exc: BaseException, lineno: int | None = None) -> bytes:
    """Describe ``exc`` with only the frames of the student's own file."""
    try:
        name = type(exc).__name__
        message = str(exc)
    except BaseException:  # noqa: B036 - a student's __str__ may raise anything
        name, message = "Exception", "(the exception could not be described)"
    lines = []
    try:
        for fr in traceback.extract_tb(exc.__traceback__):
            if fr.filename == SOURCE[0]:
                lines.append(f"line {fr.lineno}, in {fr.name}: {(fr.line or '').strip()}")
    except BaseException:  # noqa: B036 - a corrupted traceback must not stop the report
        pass
    doc = {"type": str(name)[:200], "message": str(message)[:_wire.MAX_TEXT],
           "traceback": lines[-_wire.MAX_TRACEBACK:], "lineno": lineno}
    return _wire.encode_json(doc)


def refusal(message: str) -> bytes:
    """A returned value the grader does not accept."""
    return _wire.encode_json({"type": "InvalidReturn", "message": message, "traceback": [],
                              "lineno": None})
