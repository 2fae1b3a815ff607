"""SandboxRunner: the engine's :class:`~grader.engine.runner_contract.Runner`, backed by the
sandbox."""

from __future__ import annotations

import dataclasses
import fcntl
import json
import logging
import os
import socket
import struct
import subprocess
import sys
import sysconfig
import tempfile
import threading
from collections.abc import Sequence
from types import TracebackType

import numpy as np

from grader.engine.runner_contract import Limits, PartCall, RunnerError, RunReport

from . import _wire
from ._session import Session, ZygoteGone

log = logging.getLogger(__name__)

#: Every layer; a runner refuses to start without all of them unless ``allow_reduced``.
LAYERS = ("namespaces", "filesystem", "uid", "userns", "landlock", "seccomp")
#: First uid of the range reserved for sandboxes: slot ``n`` runs as ``UID_BASE + n``.
UID_BASE = 64000
SLOTS = 1000
_START_SECONDS = 30.0

_BOOT = """
import json, sys, types
cfg = json.loads(sys.argv[1])
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
                [python, "-I", "-S", "-B", "-c", _BOOT, json.dumps(cfg)], env=_ENV, cwd="/",
                stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                pass_fds=[theirs.fileno()], start_new_session=True)
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
        self.level = level_of(layers)
        if self.level != "full":
            if not self.allow_reduced:
                self._stop()
                raise RunnerError(
                    f"the kernel refused sandbox layers ({self.level}); see docs/sandbox.md, "
                    "or set AUTOGRADE_SANDBOX_ALLOW_REDUCED=1 to accept weaker isolation")
            log.warning("SANDBOX ISOLATION IS REDUCED (%s): student code is less contained",
                        self.level)

    def _stop(self) -> None:
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

    # --- running -------------------------------------------------------------------------
    def run(self, code: str, calls: Sequence[PartCall], limits: Limits) -> RunReport:
        """Import ``code`` in a fresh sandbox and run every part's cases (see Runner)."""
        try:
            blob = b"".join(_wire.encode_args(case) for call in calls for case in call.cases)
        except (_wire.WireError, OverflowError, struct.error) as exc:
            raise RunnerError(f"cannot send the inputs: {exc}") from exc
        with self._lock:
            for attempt in (1, 2):
                self._ensure_started()
                try:
                    return self._run(code, list(calls), limits, blob)
                except (BrokenPipeError, ConnectionError, ZygoteGone) as exc:
                    self._stop()
                    if attempt == 2:
                        raise RunnerError(f"the sandbox zygote failed: {exc}") from exc
        raise AssertionError("unreachable")

    def _run(self, code: str, calls: list[PartCall], limits: Limits, blob: bytes) -> RunReport:
        assert self._sock is not None
        ctl, ctl_theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
        pipes = [os.pipe() for _ in range(2 + 2 * len(calls))]
        theirs = [ctl_theirs.fileno()] + [w for _, w in pipes]
        req = {"uid": self.uid, "limits": dataclasses.asdict(limits), "code": code,
               "parts": [{"name": c.name, "ncases": len(c.cases)} for c in calls]}
        head = json.dumps(req).encode()
        payload = struct.pack("<I", len(head)) + head + blob
        try:
            socket.send_fds(self._sock, [struct.pack("<Q", len(payload))], theirs)
            self._sock.sendall(payload)
        except OSError:
            ctl.close()
            for fd in [r for r, _ in pipes]:
                os.close(fd)
            raise
        finally:
            ctl_theirs.close()
            for _, w in pipes:
                os.close(w)
        pidfd = self._await_start(ctl)
        reads = [r for r, _ in pipes]
        session = Session(calls, limits, pidfd, ctl.detach(), reads[0], reads[1],
                          [(reads[2 + 2 * k], reads[3 + 2 * k]) for k in range(len(calls))],
                          self.level)
        try:
            return session.run()
        finally:
            session.close()

    def _await_start(self, ctl: socket.socket) -> int:
        ctl.settimeout(_START_SECONDS)
        try:
            msg, fds, _, _ = socket.recv_fds(ctl, 64, 4)
        except OSError as exc:
            raise ZygoteGone(str(exc)) from exc
        finally:
            ctl.settimeout(None)
        if len(fds) != 1 or msg != _wire.frame(_wire.STARTED):
            for fd in fds:
                os.close(fd)
            raise ZygoteGone("no sandbox was started")
        return fds[0]


def sandbox_level(*, slot: int | None = None) -> str:
    """Which isolation this machine allows (``"full"`` or ``"reduced: ..."``); runs nothing."""
    runner = SandboxRunner(allow_reduced=True, slot=slot)
    try:
        return runner.start()
    finally:
        runner.close()
