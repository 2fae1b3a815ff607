"""Trusted side: a submission whose sandbox is importing it while its cases are made.

``SandboxRunner.begin`` returns one; ``finish`` sends the cases and runs the parts,
``cancel`` gives up. The runner stays held (other threads wait) until one of them is called.
"""

from __future__ import annotations

import struct
from collections.abc import Sequence
from typing import TYPE_CHECKING

from grader.engine.runner_contract import Limits, PartCall, RunnerError, RunReport

from . import _wire
from ._session import Session
from ._spare import ZygoteGone

if TYPE_CHECKING:
    from .sandbox_runner import SandboxRunner

_LEN8 = struct.Struct("<Q")


class PendingRun:
    """A sandbox that is importing a submission and waits for the cases (see ``begin``)."""

    def __init__(self, runner: SandboxRunner, code: str, names: list[str],
                 limits: Limits) -> None:
        self._runner, self._code, self._names, self._limits = runner, code, names, limits
        self._session: Session | None = None
        self._held = True

    def start(self) -> None:
        """Fork the sandbox and send it the source."""
        self._session = self._runner._open(self._code, self._names, self._limits)

    def finish(self, calls: Sequence[PartCall]) -> RunReport:
        """Send every part's cases, run them and report; releases the runner."""
        try:
            if [c.name for c in calls] != self._names:
                raise RunnerError("the calls do not name the parts the sandbox was started for")
            try:
                blob = _encode_cases(calls)
            except (_wire.WireError, OverflowError, struct.error) as exc:
                raise RunnerError(f"cannot send the inputs: {exc}") from exc
            for attempt in (1, 2):
                session = self._session
                assert session is not None
                self._session = None
                try:
                    session.expect(list(calls))
                    session.send(blob)
                    return session.run()
                except (BrokenPipeError, ConnectionError, ZygoteGone) as exc:
                    self._runner._stop()
                    if attempt == 2:
                        raise RunnerError(f"the sandbox zygote failed: {exc}") from exc
                    self._session = self._runner._open(self._code, self._names, self._limits)
                finally:
                    session.close()
                    self._runner._retire(session.cgroup)
            raise AssertionError("unreachable")
        finally:
            self.cancel()

    def cancel(self) -> None:
        """Kill the sandbox if it has not run, and release the runner."""
        if self._session is not None:
            self._session.abandon()
            self._runner._retire(self._session.cgroup)
            self._session = None
        if self._held:
            self._held = False
            self._runner._prepare_spare()
            self._runner._lock.release()


def _encode_cases(calls: Sequence[PartCall]) -> bytes:
    counts = struct.pack(f"<{len(calls)}I", *(len(c.cases) for c in calls))
    blob = counts + b"".join(_wire.encode_args(case) for c in calls for case in c.cases)
    return _LEN8.pack(len(blob)) + blob
