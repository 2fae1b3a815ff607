"""The contract between the trusted engine and whatever runs student code.

The engine never runs student code itself: it hands a :class:`Runner` the student's source and,
per part, the positional arguments of every case; the runner returns plain numbers (or a
description of what went wrong) per case. Only inputs cross to the runner and only numbers come
back, so the runner can be an isolated sandbox without the engine knowing how it works.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Literal, Protocol, runtime_checkable

import numpy as np

#: A positional argument of a graded function: an array or a scalar such as ``lam``.
Arg = np.ndarray | float | int
#: What a part returned once decoded from the runner's channel: an array, or a dict of arrays.
Value = np.ndarray | dict[str, np.ndarray]


@dataclass(frozen=True)
class Limits:
    """Resource limits for one submission; assignments may override any of them."""

    part_seconds: float = 10.0
    import_seconds: float = 10.0
    memory_bytes: int = 512 * 2**20
    output_bytes: int = 64 * 1024
    #: Largest total size of the arrays one case may return.
    result_bytes: int = 16 * 2**20


@dataclass(frozen=True)
class PartCall:
    """Call function ``name`` once per entry of ``cases`` (each a tuple of positional args)."""

    name: str
    cases: tuple[tuple[Arg, ...], ...]


@dataclass(frozen=True)
class ErrorInfo:
    """An exception raised by student code, or a return value that was refused.

    ``traceback`` holds only frames from the student's own file, formatted like
    ``line 12, in grad_W1: return dz3 @ a2``.
    """

    type: str
    message: str
    traceback: tuple[str, ...] = ()
    #: Line number, for syntax errors.
    lineno: int | None = None


@dataclass(frozen=True)
class CaseReturn:
    """One case's answer: exactly one of ``value`` and ``error`` is set."""

    value: Value | None = None
    error: ErrorInfo | None = None


PartRunStatus = Literal["ok", "missing", "timeout", "memory", "crashed"]
ImportStatus = Literal["ok", "syntax_error", "import_error", "timeout", "memory", "crashed"]


@dataclass(frozen=True)
class PartRun:
    """How one part ran.

    ``returns`` has one entry per case answered, in order; it is shorter than the case list when
    the part timed out, ran out of memory or crashed part way (``status`` says which).
    """

    name: str
    status: PartRunStatus
    returns: tuple[CaseReturn, ...] = ()
    #: Captured stdout and stderr of the part, capped; a log, never parsed.
    output: str = ""
    #: Human-readable detail for a non-ok status, e.g. "killed by signal 9".
    detail: str = ""


@dataclass(frozen=True)
class RunReport:
    """Everything a runner learned about one submission."""

    import_status: ImportStatus
    import_error: ErrorInfo | None = None
    parts: dict[str, PartRun] = field(default_factory=dict)
    #: Output captured while importing the module.
    output: str = ""
    #: Which isolation the code ran under, e.g. "full" or "reduced: no seccomp".
    sandbox_level: str = "full"
    detail: str = ""


class Runner(Protocol):
    """Runs student code somewhere else and reports plain data back."""

    def run(self, code: str, calls: Sequence[PartCall], limits: Limits) -> RunReport:
        """Import ``code`` as a module and run every part's cases.

        Raises:
            RunnerError: the runner itself failed (our fault, never the student's).
        """
        ...


class PendingRun(Protocol):
    """A submission being imported while its cases are still being made."""

    def finish(self, calls: Sequence[PartCall]) -> RunReport:
        """Run every part's cases (the parts named at ``begin``, in order) and report.

        Raises:
            RunnerError: the runner itself failed.
        """
        ...

    def cancel(self) -> None:
        """Give up on the submission (nothing is reported)."""
        ...


@runtime_checkable
class StagedRunner(Runner, Protocol):
    """A runner that can start importing before the cases exist (``run`` = begin + finish)."""

    def begin(self, code: str, names: Sequence[str], limits: Limits) -> PendingRun:
        """Start importing ``code`` now; the parts ``names`` get their cases at ``finish``."""
        ...


class RunnerError(Exception):
    """The runner failed for a reason that is not the student's doing."""
