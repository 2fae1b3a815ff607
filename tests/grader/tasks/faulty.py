"""The real sandbox runner, with one fault a test can ask for: our own side failing.

A submission containing ``RUNNER_FAILS <n>`` makes the runner raise ``RunnerError`` on the
first ``n`` attempts at it in this process (a grader error, which the task must retry and never
charge to the student); everything else is graded by the real ``SandboxRunner``.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from grader.engine.runner_contract import Limits, RunnerError
from worker.sandbox import SandboxRunner
from worker.sandbox.sandbox_runner import PendingRun

_failures: dict[str, int] = {}


class FlakySandboxRunner(SandboxRunner):
    def begin(self, code: str, names: Sequence[str], limits: Limits) -> PendingRun:
        match = re.search(r"RUNNER_FAILS (\d+)", code)
        if match:
            seen = _failures.get(code, 0)
            _failures[code] = seen + 1
            if seen < int(match.group(1)):
                raise RunnerError(f"deliberate failure {seen + 1}")
        return super().begin(code, names, limits)
