"""A runner for the service's tests that runs (trusted) test code in the worker process.

Never used in production: student code only ever runs in ``worker.sandbox``. It lets the task
and lease tests run without the kernel features the sandbox needs, and a test can make it
fail on purpose: a submission containing ``RUNNER_FAILS <n>`` makes the runner raise on the
first ``n`` attempts at it in this process.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Sequence
from typing import Any

import numpy as np

from grader.engine.runner import (
    CaseReturn,
    ErrorInfo,
    Limits,
    PartCall,
    PartRun,
    RunnerError,
    RunReport,
)

_failures: dict[str, int] = {}


class InProcessRunner:
    """Executes the module with ``exec`` and calls its functions directly."""

    def __init__(self, allow_reduced: bool = False) -> None:
        self.closed = False

    def run(self, code: str, calls: Sequence[PartCall], limits: Limits) -> RunReport:
        match = re.search(r"RUNNER_FAILS (\d+)", code)
        if match:
            seen = _failures.get(code, 0)
            _failures[code] = seen + 1
            if seen < int(match.group(1)):
                raise RunnerError(f"deliberate failure {seen + 1}")
        namespace: dict[str, Any] = {"__name__": "submission"}
        try:
            exec(compile(code, "submission.py", "exec"), namespace)
        except SyntaxError as exc:
            return RunReport("syntax_error", ErrorInfo("SyntaxError", str(exc.msg), (), exc.lineno))
        except Exception as exc:
            return RunReport("import_error", ErrorInfo(type(exc).__name__, str(exc)))
        parts = {}
        for call in calls:
            fn = namespace.get(call.name)
            if not callable(fn):
                parts[call.name] = PartRun(call.name, "missing")
                continue
            returns = []
            for args in call.cases:
                try:
                    value = fn(*copy.deepcopy(args))
                    if isinstance(value, dict):
                        value = {k: np.asarray(v, dtype=float) for k, v in value.items()}
                    else:
                        value = np.asarray(value, dtype=float)
                    returns.append(CaseReturn(value=value))
                except Exception as exc:
                    returns.append(CaseReturn(error=ErrorInfo(type(exc).__name__, str(exc))))
            parts[call.name] = PartRun(call.name, "ok", tuple(returns))
        return RunReport("ok", parts=parts, sandbox_level="none (in-process test runner)")

    def close(self) -> None:
        self.closed = True

    def __enter__(self) -> InProcessRunner:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
