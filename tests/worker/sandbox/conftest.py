"""Fixtures for the sandbox tests: one shared runner, small limits, and host checks."""

from __future__ import annotations

import os
import textwrap
from collections.abc import Iterator

import numpy as np
import pytest

from grader.engine.runner_contract import Limits, PartCall, RunReport
from worker.sandbox import SandboxRunner

#: Small limits keep the suite fast; the defaults are exercised by the benchmark.
FAST = Limits(part_seconds=1.5, import_seconds=1.5, memory_bytes=256 * 2**20,
              output_bytes=4096, result_bytes=2**20)


@pytest.fixture(scope="session")
def runner() -> Iterator[SandboxRunner]:
    """A sandbox runner (and its zygote) shared by the whole suite."""
    with SandboxRunner() as r:
        r.start()
        yield r


def processes_of(uid: int) -> list[int]:
    """Live (not zombie) PIDs on the host whose real uid is ``uid``."""
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/status") as fh:
                fields = dict(line.split(":", 1) for line in fh if ":" in line)
        except OSError:
            continue
        if int(fields["Uid"].split()[0]) == uid and not fields["State"].strip().startswith("Z"):
            found.append(int(entry))
    return found


def _children(pid: int) -> list[int]:
    with open(f"/proc/{pid}/task/{pid}/children") as fh:
        return [int(c) for c in fh.read().split()]


def _all_children(pids: list[int]) -> set[int]:
    found: set[int] = set()
    for pid in pids:
        try:
            found.update(_children(pid))
        except OSError:
            pass
    return found


def idle_spares(runner: SandboxRunner, pids: list[int]) -> list[int]:
    """Those of ``pids`` that belong to the runner's next sandbox, forked ahead and given
    nothing yet: its first process (a child of the zygote, PID 1 of its own namespace) and
    its waiting worker, which has no child."""
    zygote = runner._proc.pid if runner._proc is not None else -1
    idle = []
    for pid in {p for p in pids if p not in _all_children(pids)}:
        try:
            with open(f"/proc/{pid}/status") as fh:
                fields = dict(line.split(":", 1) for line in fh if ":" in line)
            workers = _children(pid)
            if (int(fields["PPid"]) == zygote and fields["NSpid"].split()[-1] == "1"
                    and len(workers) <= 1 and all(not _children(w) for w in workers)):
                idle += [pid] + workers
        except OSError:
            continue
    return sorted(idle)


def run(runner: SandboxRunner, code: str, *calls: PartCall,
        limits: Limits = FAST) -> RunReport:
    """Run dedented ``code`` and check that nothing of the sandbox is left running (only the
    next sandbox, which has been given nothing yet, may wait)."""
    report = runner.run(textwrap.dedent(code), calls, limits)
    left = processes_of(runner.uid)
    assert set(left) <= set(idle_spares(runner, left)), left
    return report


def call(name: str, *cases: tuple[object, ...]) -> PartCall:
    """A PartCall; by default one case with a small array."""
    return PartCall(name, tuple(cases) or ((np.arange(4.0),),))  # type: ignore[arg-type]
