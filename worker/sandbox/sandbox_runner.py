"""SandboxRunner: the engine's :class:`~grader.engine.runner_contract.Runner`, backed by the
sandbox."""

from __future__ import annotations

import dataclasses
import fcntl
import json
import logging
import os
import socket
import subprocess
import sys
import sysconfig
import tempfile
import threading
from collections.abc import Sequence
from types import TracebackType

import numpy as np

from grader.engine.runner_contract import Limits, PartCall, RunnerError, RunReport

from . import _cgroup, _wire
from ._pending import PendingRun
from ._session import Session
from ._spare import HEAD, Spare, ZygoteGone

log = logging.getLogger(__name__)

#: Every layer; a runner refuses to start without all of them unless ``allow_reduced``.
LAYERS = ("namespaces", "filesystem", "uid", "userns", "landlock", "seccomp", "cgroup")
#: First uid of the range reserved for sandboxes: slot ``n`` runs as ``UID_BASE + n``.
UID_BASE = 64000
SLOTS = 1000
_START_SECONDS = 30.0

# The configuration (host paths among it) comes on stdin, so that no sandbox finds it in
# /proc/1/cmdline or the zygote's environment.
_BOOT = """
import json, os, sys, types
cfg = json.loads(sys.stdin.read())
null = os.open("/dev/null", os.O_RDONLY)
os.dup2(null, 0)
os.close(null)
for name in ("worker", "worker.sandbox"):
    mod = types.ModuleType(name)
    mod.__path__ = [cfg["pkg"][name]]
    sys.modules[name] = mod
sys.modules["worker"].sandbox = sys.modules["worker.sandbox"]
from worker.sandbox import _zygote
_zygote.main(cfg)
"""

#: The whole environment of the zygote and everything it forks: nothing is inherited.
_ENV = {
    "PATH": "/usr/bin:/bin",
    "LC_ALL": "C.UTF-8",
    "OPENBLAS_NUM_THREADS": "1",
    "OMP_NUM_THREADS": "1",
    "MKL_NUM_THREADS": "1",
    "PYTHONDONTWRITEBYTECODE": "1",
}


def level_of(layers: set[str]) -> str:
    """``"full"``, or ``"reduced: no x, no y"`` naming the missing layers."""
    missing = [layer for layer in LAYERS if layer not in layers]
    return "full" if not missing else "reduced: " + ", ".join(f"no {m}" for m in missing)


class SandboxRunner:
    """Runs submissions in isolated processes forked from a numpy-warm zygote.

    Args:
        allow_reduced: start even when the kernel refuses some layers (logged loudly and
            reported in ``RunReport.sandbox_level``). The service sets it from
            ``AUTOGRADE_SANDBOX_ALLOW_REDUCED=1``; never set it by default.
        slot: which uid of the reserved range to run as; by default the first free one
            on this machine (held with a lock file for the runner's lifetime).
        slots_dir: where the slot lock files live (default: a folder in the temp
            directory). Workers in several containers on one host must share one (a volume),
            so that no two sandboxes ever run under the same uid.
    """

    def __init__(self, *, allow_reduced: bool = False, slot: int | None = None,
                 slots_dir: str | None = None) -> None:
        self.allow_reduced = allow_reduced
        self._slots_dir = slots_dir
        self._lock = threading.Lock()
        self._slot_file: int | None = None
        self._slot = slot
        self._proc: subprocess.Popen[bytes] | None = None
        #: Layers to leave out as if the kernel refused them (tests of reduced mode only).
        self._withheld: frozenset[str] = frozenset()
        self._sock: socket.socket | None = None
        self._cgroups: _cgroup.Tree | None = None
        self._spare: Spare | None = None
        self._retiring: list[_cgroup.SubmissionCgroup] = []
        self._runs = 0
        self.level = ""

    # --- lifecycle -----------------------------------------------------------------------
    def __enter__(self) -> SandboxRunner:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()

    def start(self) -> str:
        """Start the zygote now (otherwise the first run does); return the level."""
        with self._lock:
            self._ensure_started()
        return self.level

    def wait_ready(self) -> None:
        """Wait until the next sandbox has been forked (it is asked for when a run ends and
        is ready by the next one unless runs follow each other at once, as in benchmarks)."""
        with self._lock:
            if self._spare is not None:
                try:
                    self._spare.take(_START_SECONDS)
                except ZygoteGone:
                    self._stop()

    def close(self) -> None:
        """Stop the zygote; sandboxes still running die with it."""
        with self._lock:
            self._stop()
            if self._slot_file is not None:
                os.close(self._slot_file)
                self._slot_file = None

    @property
    def uid(self) -> int:
        """The unprivileged uid this runner's sandboxes use."""
        if self._slot is None:
            self._slot = self._claim_slot()
        return UID_BASE + self._slot

    def _claim_slot(self) -> int:
        folder = self._slots_dir or os.path.join(tempfile.gettempdir(), "autograde-sandbox-slots")
        os.makedirs(folder, mode=0o700, exist_ok=True)
        for n in range(SLOTS):
            fd = os.open(os.path.join(folder, f"{n}.lock"), os.O_RDWR | os.O_CREAT, 0o600)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                os.close(fd)
                continue
            self._slot_file = fd
            return n
        raise RunnerError("every sandbox slot on this machine is in use")

    def _ensure_started(self) -> None:
        if self._proc is not None and self._proc.poll() is None:
            return
        self._stop()
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
        cfg = {
            "fd": theirs.fileno(),
            "uid": self.uid,
            "withhold": sorted(self._withheld),
            "stdlib": sysconfig.get_paths()["stdlib"],
            "numpy": os.path.dirname(os.path.abspath(np.__file__)),
            "pkg": {"worker": os.path.dirname(os.path.dirname(__file__)),
                    "worker.sandbox": os.path.dirname(os.path.abspath(__file__))},
        }
        python = os.path.realpath(sys.executable)
        try:
            self._proc = subprocess.Popen(
                [python, "-I", "-S", "-B", "-c", _BOOT], env=_ENV, cwd="/",
                stdin=subprocess.PIPE, stdout=subprocess.DEVNULL,
                pass_fds=[theirs.fileno()], start_new_session=True)
            assert self._proc.stdin is not None
            with self._proc.stdin as boot:
                boot.write(json.dumps(cfg).encode())
        except BrokenPipeError:
            pass  # it ended at once: reported below, as it does not answer
        finally:
            theirs.close()
        self._sock = ours
        ours.settimeout(_START_SECONDS)
        try:
            buf = bytearray()
            frames: list[tuple[int, bytes]] = []
            while not frames:
                chunk = ours.recv(4096)
                if not chunk:
                    raise RunnerError("the sandbox zygote exited while starting")
                buf += chunk
                frames = _wire.split_frames(buf, 4096)
            kind, payload = frames[0]
            layers = set(_wire.decode_json(payload)) if kind == _wire.READY else set()
        except (OSError, _wire.WireError) as exc:
            self._stop()
            raise RunnerError(f"the sandbox zygote did not start: {exc}") from exc
        ours.settimeout(None)
        self._cgroups = None if "cgroup" in self._withheld else self._find_cgroups()
        if self._cgroups is not None:
            layers.add("cgroup")
        self.level = level_of(layers)
        if self.level != "full":
            if not self.allow_reduced:
                self._stop()
                raise RunnerError(
                    f"the kernel refused sandbox layers ({self.level}); see docs/sandbox.md, "
                    "or set AUTOGRADE_SANDBOX_ALLOW_REDUCED=1 to accept weaker isolation")
            log.warning("SANDBOX ISOLATION IS REDUCED (%s): student code is less contained",
                        self.level)

    def _find_cgroups(self) -> _cgroup.Tree | None:
        """Where this runner's submission cgroups go, after a trial one; None if nowhere."""
        try:
            with open("/proc/self/cgroup") as fh, open("/proc/self/mountinfo") as mi:
                tree = _cgroup.find(fh.read(), mi.read())
            prefix = f"autograde-{self.uid - UID_BASE}-"
            for folder in {tree.memory, tree.pids}:  # left by an earlier runner of this slot
                for name in os.listdir(folder):
                    if name.startswith(prefix):
                        for sub in ("parts", "sup", ""):
                            _cgroup._rmdir(os.path.join(folder, name, sub))
            _cgroup.SubmissionCgroup(tree, prefix + "trial", 64 * 2**20).remove()
        except OSError as exc:
            log.warning("no cgroup per submission: %s", exc)
            return None
        return tree

    def _stop(self) -> None:
        if self._spare is not None:
            self._spare.close()
            self._retire(self._spare.cgroup)
            self._spare = None
        if self._sock is not None:
            self._sock.close()
            self._sock = None
        if self._proc is not None:
            try:
                self._proc.wait(timeout=2)  # it exits by itself once its socket closes
            except subprocess.TimeoutExpired:
                self._proc.kill()
                self._proc.wait()
            self._proc = None
        self._retire(wait=True)

    # --- running -------------------------------------------------------------------------
    def run(self, code: str, calls: Sequence[PartCall], limits: Limits) -> RunReport:
        """Import ``code`` in a fresh sandbox and run every part's cases (see Runner)."""
        pending = self.begin(code, [c.name for c in calls], limits)
        return pending.finish(calls)

    def begin(self, code: str, names: Sequence[str], limits: Limits) -> PendingRun:
        """Start a sandbox and import ``code`` now; the cases follow with ``finish``.

        The runner is held (other threads wait) until ``finish`` or ``cancel``.
        """
        self._lock.acquire()
        try:
            pending = PendingRun(self, code, list(names), limits)
            pending.start()
        except BaseException:
            self._lock.release()
            raise
        return pending

    def _open(self, code: str, names: list[str], limits: Limits) -> Session:
        """Take the waiting sandbox (or fork one) and send it the source: it starts importing."""
        for attempt in (1, 2):
            self._ensure_started()
            try:
                return self._start_on_spare(code, names, limits)
            except (BrokenPipeError, ConnectionError, ZygoteGone) as exc:
                self._stop()
                if attempt == 2:
                    raise RunnerError(f"the sandbox zygote failed: {exc}") from exc
        raise AssertionError("unreachable")

    def _new_spare(self) -> Spare:
        assert self._sock is not None
        self._retire()
        cgroup = None
        if self._cgroups is not None:
            self._runs += 1
            try:
                cgroup = _cgroup.SubmissionCgroup(
                    self._cgroups, f"autograde-{self.uid - UID_BASE}-{self._runs}",
                    Limits().memory_bytes)
            except OSError as exc:
                raise RunnerError(f"cannot create the submission's cgroup: {exc}") from exc
        try:
            return Spare(self._sock, cgroup)
        except BaseException:
            if cgroup is not None:
                cgroup.remove()
            raise

    def _prepare_spare(self) -> None:
        """Have the zygote fork the next sandbox now, while the engine does other work."""
        if self._spare is None and self._sock is not None:
            try:
                self._spare = self._new_spare()
            except (OSError, RunnerError) as exc:
                log.warning("could not prepare the next sandbox: %s", exc)

    def _start_on_spare(self, code: str, names: list[str], limits: Limits) -> Session:
        spare, self._spare = self._spare, None
        if spare is None:
            spare = self._new_spare()
        try:
            pidfd = spare.take(_START_SECONDS)
            if spare.cgroup is not None:
                spare.cgroup.set_memory(limits.memory_bytes)
        except BaseException:
            spare.close()
            self._retire(spare.cgroup)
            raise
        pipes = [os.pipe() for _ in range(2 + 2 * len(names))]
        head = json.dumps({"limits": dataclasses.asdict(limits), "code": code,
                           "parts": names}).encode()
        try:
            socket.send_fds(spare.req, [HEAD.pack(len(names), len(head))],
                            [w for _, w in pipes])
        except OSError:
            for fd in [fd for pair in pipes for fd in pair]:
                os.close(fd)
            spare.close()
            self._retire(spare.cgroup)
            raise
        finally:
            for _, w in pipes:
                try:
                    os.close(w)
                except OSError:
                    pass
        reads = [r for r, _ in pipes]
        session = Session(names, limits, pidfd, spare.ctl.detach(), reads[0], reads[1],
                          [(reads[2 + 2 * k], reads[3 + 2 * k]) for k in range(len(names))],
                          self.level, spare.req.detach(), spare.cgroup)
        session.send(head, wait=_START_SECONDS)
        return session

    def _retire(self, cgroup: _cgroup.SubmissionCgroup | None = None, wait: bool = False) -> None:
        """Remove finished submissions' cgroups; those the kernel still holds, next time."""
        if cgroup is not None:
            self._retiring.append(cgroup)
        keep = []
        for old in self._retiring:
            try:
                if not old.remove(wait=wait):
                    keep.append(old)
            except OSError as exc:
                log.warning("could not remove a sandbox cgroup: %s", exc)
        self._retiring = keep

def sandbox_level(*, slot: int | None = None) -> str:
    """Which isolation this machine allows (``"full"`` or ``"reduced: ..."``); runs nothing."""
    runner = SandboxRunner(allow_reduced=True, slot=slot)
    try:
        return runner.start()
    finally:
        runner.close()
