"""Start the sandbox's zygote early, in the background, for ``autograde grade``.

The zygote (a fresh Python that imports and warms numpy) takes longer to boot than anything
else a cold ``grade`` does before running the student's code, so it is started first: by the
program's entry point before the command-line parser loads, or by the command itself. This
module imports neither Click nor anything of the service.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from grader.engine.runner_contract import Limits, PartCall, RunReport
    from worker.sandbox import SandboxRunner


class EarlyStart:
    """A runner whose zygote starts now, in a thread; ``run`` waits for it.

    A failure to start (e.g. an isolation layer the kernel refuses) is raised by ``run``, in
    the caller's thread, exactly as the runner would have raised it.
    """

    def __init__(self, runner: SandboxRunner) -> None:
        self.runner = runner
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._start, name="sandbox-start", daemon=True)
        self._thread.start()

    def _start(self) -> None:
        try:
            self.runner.start()
        except BaseException as exc:  # handed to the caller's thread by run()
            self._error = exc

    @property
    def allow_reduced(self) -> bool:
        return self.runner.allow_reduced

    def run(self, code: str, calls: Sequence[PartCall], limits: Limits) -> RunReport:
        self._thread.join()
        if self._error is not None:
            raise self._error
        return self.runner.run(code, calls, limits)

    def close(self) -> None:
        self._thread.join()
        self.runner.close()


_started: EarlyStart | None = None


def start_early(*, allow_reduced: bool) -> EarlyStart:
    """Start a sandbox now; the next :func:`take_early` with the same setting gets it."""
    global _started
    from worker.sandbox import SandboxRunner

    if _started is not None:
        _started.close()
    _started = EarlyStart(SandboxRunner(allow_reduced=allow_reduced))
    return _started


def take_early(*, allow_reduced: bool) -> EarlyStart:
    """The sandbox started by :func:`start_early` (if its setting matches), else a new one."""
    global _started
    early, _started = _started, None
    if early is not None and early.allow_reduced == allow_reduced:
        return early
    if early is not None:
        early.close()
    from worker.sandbox import SandboxRunner

    return EarlyStart(SandboxRunner(allow_reduced=allow_reduced))
