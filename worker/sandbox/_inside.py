"""Inside the sandbox: the submission's first process (the supervisor).

Forked by the zygote ahead of its submission, it places itself in the submission's cgroup,
confines itself (see :mod:`._confine`) and forks the worker (see :mod:`._worker`), which
waits. Only then does it read its request from the runner: the zygote never sees any of it.
The supervisor never runs the student's code: the worker imports it and runs the parts one
after another while the supervisor keeps each part's clock and reports to the runner. After
a crash, timeout or memory exhaustion it forks a fresh worker, which imports the module again
(its output discarded) and goes on with the parts that remain. Between parts it kills every
other process of the sandbox (the worker does it before each part; this process reaps),
so nothing a part started reaches the next one.
"""

from __future__ import annotations

import errno
import json
import os
import select
import signal
import socket
import struct
import sys
import time
import traceback
from typing import Any

from . import _confine, _errors, _wire, _worker

_LEN8 = struct.Struct("<Q")
_INDEX = struct.Struct("<I")
#: With the request's pipes: the number of parts and the length of the head (see _spare).
HEAD = struct.Struct("<IQ")
_MAX_FDS = 250


def run_submission(fds: list[int], layers: frozenset[str], cfg: dict[str, Any]) -> None:
    """Entry point of the submission's first process (never returns)."""
    code = 0
    parts = None
    try:
        parts = _setup(fds, layers, cfg)
        if parts is not None:
            _main(parts)
    except BaseException as exc:  # noqa: B036 - our own failure: say so, by exit code too
        code = 70
        if parts is None:  # before the request: the runner retries on a fresh sandbox
            code = _wire.SETUP_FAILED
            if isinstance(exc, OSError) and exc.errno == errno.ENODEV:
                os._exit(code)  # the runner removed its cgroup: it gave this sandbox up
        traceback.print_exc()
    finally:
        os._exit(code)


def _read_exact(fd: int, n: int) -> bytes:
    chunks, got = [], 0
    while got < n:
        chunk = os.read(fd, min(n - got, 1 << 20))
        if not chunk:
            raise EOFError("the runner closed the request")
        chunks.append(chunk)
        got += len(chunk)
    return b"".join(chunks)


def _setup(fds: list[int], layers: frozenset[str], cfg: dict[str, Any]) -> _Parts | None:
    """Place and confine this process, start the worker, read the request's head."""
    # fds: the runner's control socket, the request socket, and with cgroups: this process's
    # cgroup.procs twice (v1: memory and pids), the parts' cgroup.procs, pids.current.
    os.close(fds[0])  # the control socket stays with the zygote
    req = fds[1]
    parts_cgroup = pids = -1
    if cfg["cgroup"]:
        for fd in fds[2:4]:  # as root, before anything else: all that follows is bounded
            os.write(fd, b"0")
            os.close(fd)
        parts_cgroup, pids = fds[4], fds[5]
    _errors.SOURCE[0] = os.path.join(cfg["scratch"], "submission.py")
    keep = [fd for fd in (req, parts_cgroup, pids) if fd >= 0]
    _confine.enter(cfg, layers, keep=keep)
    parts = _Parts(parts_cgroup, pids, "namespaces" in layers)
    parts.req = req
    parts.spawn()  # ready before the request comes

    sock = socket.socket(fileno=req)
    try:
        raw, pipes, _, _ = socket.recv_fds(sock, HEAD.size, _MAX_FDS)
    finally:
        sock.detach()  # the fd stays open, for the rest of the request
    if len(raw) != HEAD.size:
        return None  # the runner gave up on this sandbox
    nparts, size = HEAD.unpack(raw)
    if len(pipes) != 2 + 2 * nparts:
        raise OSError("the request came with the wrong number of pipes")
    parts.mod_w, parts.imp_out = pipes[:2]
    parts.pairs = [(pipes[2 + 2 * k], pipes[3 + 2 * k]) for k in range(nparts)]
    parts.head = _read_exact(req, size)
    parts.limits = json.loads(parts.head)["limits"]
    _confine.set_rlimits(parts.limits, nparts)
    return parts


def _main(parts: _Parts) -> None:
    """Import, then run the parts once the cases have come."""
    if not parts.imported():
        return
    (size,) = _LEN8.unpack(_read_exact(parts.req, _LEN8.size))
    parts.cases = _read_exact(parts.req, size)
    os.close(parts.req)
    parts.req = -1
    parts.run()
    _report(parts.mod_w, _wire.DONE, b"")


def _report(mod_w: int, kind: int, payload: bytes) -> None:
    _worker.write_all(mod_w, _wire.frame(kind, payload))


class _Parts:
    """The worker's keeper: hands it the import, the cases and each part, keeps the clock.

    The worker gets each part's channel and output pipe with the order to run it, so while
    one part runs no other part's pipes are within its reach.
    """

    def __init__(self, cgroup: int, pids: int, namespaced: bool) -> None:
        self.cgroup, self.pids, self.namespaced = cgroup, pids, namespaced
        self.wake, wake_w = os.pipe2(os.O_NONBLOCK | os.O_CLOEXEC)
        signal.set_wakeup_fd(wake_w)
        signal.signal(signal.SIGCHLD, lambda *_: None)
        self.pid = self.pidfd = -1
        self.sock: socket.socket | None = None
        self.mod_w = self.req = self.imp_out = -1
        self.pairs: list[tuple[int, int]] = []
        self.head = self.cases = b""
        self.limits: dict[str, Any] = {}

    # --- the worker's life ---------------------------------------------------------------
    def spawn(self) -> None:
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
        _flush()
        pid = os.fork()
        if pid == 0:
            ours.close()
            mine = [self.mod_w, self.pids, self.req, self.imp_out]
            for fd in mine + [fd for pair in self.pairs for fd in pair]:
                if fd >= 0:
                    os.close(fd)
            _worker.serve(theirs, self.cgroup, self.namespaced)
        theirs.close()
        self.pid, self.pidfd, self.sock = pid, os.pidfd_open(pid), ours

    def _await(self, seconds: float | None) -> tuple[int, int, bytes] | int:
        """The worker's next message, or how it ended (``_wire.ENDED`` ...)."""
        assert self.sock is not None
        deadline = None if seconds is None else time.monotonic() + seconds
        while True:
            left = None if deadline is None else deadline - time.monotonic()
            if left is not None and left <= 0:
                return _wire.TIMED_OUT
            ready, _, _ = select.select([self.sock.fileno(), self.pidfd, self.wake], [], [],
                                        left)
            if self.wake in ready:
                self._reap_orphans()
            if self.sock.fileno() in ready:
                # A message begun must end within the time left: a hostile worker that sends
                # half of one cannot stop this clock.
                self.sock.settimeout(None if left is None else max(left, 0.001))
                try:
                    kind, index, payload, fds = _worker.receive(self.sock, 0)
                except (TimeoutError, ValueError):
                    return _wire.BROKE_PROTOCOL
                except (EOFError, OSError):  # ended (unread orders reset the socket)
                    return _wire.ENDED
                finally:
                    self.sock.settimeout(None)
                return kind, index, payload
            if self.pidfd in ready:
                return _wire.ENDED

    def _reap_orphans(self) -> None:
        """Collect processes a part left behind that have died (they are ours as PID 1), so
        that the worker sees them gone; the worker's own end is left to its pidfd."""
        try:
            while os.read(self.wake, 512):
                pass
        except BlockingIOError:
            pass
        while True:
            try:
                info = os.waitid(os.P_ALL, 0, os.WEXITED | os.WNOHANG | os.WNOWAIT)
            except ChildProcessError:
                return
            if info is None or info.si_pid == self.pid:
                return
            _reap(info.si_pid)

    def _send(self, kind: int, index: int, payload: bytes = b"", fds: tuple[int, ...] = (),
              ) -> bool:
        assert self.sock is not None
        try:
            _worker.send(self.sock, kind, index, payload, fds)
            return True
        except OSError:
            return False

    def _end_worker(self) -> int:
        """Kill the worker (with its process group) and everything it left; its wait status."""
        for target in (-self.pid, self.pid):
            try:
                os.kill(target, signal.SIGKILL)
            except ProcessLookupError:
                pass
        _, status = os.waitpid(self.pid, 0)
        os.close(self.pidfd)
        if self.sock is not None:
            self.sock.close()
        self.pid = self.pidfd = -1
        self.sock = None
        if self.namespaced:
            self._clear_others()
        else:
            try:
                while True:
                    os.waitpid(-1, 0)
            except ChildProcessError:
                pass
        return status

    # --- import and parts ----------------------------------------------------------------
    def imported(self) -> bool:
        """Have the worker import the module; report the result. Whether it imported."""
        sent = self._send(_worker.IMPORT, 0, self.head, (self.imp_out,))
        os.close(self.imp_out)
        self.imp_out = -1
        answer = self._await(None) if sent else _wire.ENDED  # the runner keeps this clock
        if isinstance(answer, tuple) and answer[0] == _worker.IMPORTED:
            _report(self.mod_w, _wire.IMPORTED, answer[2])
            return answer[2] == b"ok\0"
        how = answer if isinstance(answer, int) else _wire.BROKE_PROTOCOL
        status = self._end_worker()
        _report(self.mod_w, _wire.IMPORT_FAILED, struct.pack("<iB", status, how))
        return False

    def _fresh_worker(self) -> bool:
        """A new worker with the module imported again (its output discarded)."""
        self.spawn()
        null = os.open("/dev/null", os.O_WRONLY)
        ok = self._send(_worker.IMPORT, 0, self.head, (null,))
        os.close(null)
        answer = self._await(None) if ok else _wire.ENDED
        if (isinstance(answer, tuple) and answer[0] == _worker.IMPORTED
                and answer[2] == b"ok\0" and self._send(_worker.CASES, 0, self.cases)):
            return True
        self._end_worker()
        return False

    def run(self) -> None:
        """Run every part in turn. The next part's order waits in the worker's socket while a
        part runs, so the worker goes on without waiting for this process."""
        self._send(_worker.CASES, 0, self.cases)  # if the worker has gone, part 0 finds out
        queued = -1  # the last part whose order is with the worker
        last = len(self.pairs) - 1
        for k in range(last + 1):
            if self.pid < 0:
                queued = -1
                if not self._fresh_worker():
                    self._close_pair(k)
                    self._report_exit(k, 0, _wire.NOT_REIMPORTED)
                    continue
            sent = True
            for j in ([k, k + 1] if self.namespaced else [k]):
                if queued < j <= last:
                    sent = self._send(_worker.RUN, j, b"", self.pairs[j]) and sent
                    queued = j
            answer = self._await(self.limits["part_seconds"]) if sent else _wire.ENDED
            self._close_pair(k)
            if isinstance(answer, tuple) and answer[:2] == (_worker.MISSING, k):
                _report(self.mod_w, _wire.PART_MISSING, _INDEX.pack(k))
            elif isinstance(answer, tuple) and answer[:2] == (_worker.DONE, k):
                if not self.namespaced:  # reduced isolation: a fresh worker for every part
                    self._end_worker()
                _report(self.mod_w, _wire.PART_DONE, _INDEX.pack(k))
            else:
                how = answer if isinstance(answer, int) else _wire.BROKE_PROTOCOL
                self._report_exit(k, self._end_worker(), how)

    def _report_exit(self, k: int, status: int, how: int) -> None:
        _report(self.mod_w, _wire.PART_EXIT, struct.pack("<IiB", k, status, how))

    def _close_pair(self, k: int) -> None:
        for fd in self.pairs[k]:
            if fd >= 0:
                os.close(fd)
        self.pairs[k] = (-1, -1)

    def _clear_others(self) -> None:
        """Kill every process of the sandbox but this one and the worker; reap what is ours."""
        if not self.namespaced:
            return
        if self.pids >= 0 and int(os.pread(self.pids, 32, 0) or b"0") <= 2:
            return  # only this process and the worker (threads would count too)
        for _ in range(2000):
            alive = False
            for entry in os.listdir("/proc"):
                if not entry.isdigit() or int(entry) in (1, self.pid):
                    continue
                pid = int(entry)
                state, parent = _state(pid)
                if state == "Z":
                    if parent == 1:
                        _reap(pid)
                    continue
                if state:
                    alive = True
                    try:
                        os.kill(pid, signal.SIGKILL)
                    except ProcessLookupError:
                        pass
            if not alive:
                return
            time.sleep(0.0005)


def _state(pid: int) -> tuple[str, int]:
    """A process's state letter and parent PID ("" when it is gone)."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as fh:
            stat = fh.read()
    except OSError:
        return "", 0
    fields = stat[stat.rfind(b")") + 2:].split()
    return fields[0].decode(), int(fields[1])


def _reap(pid: int) -> None:
    try:
        os.waitpid(pid, os.WNOHANG)
    except ChildProcessError:
        pass


def _flush() -> None:
    try:
        sys.stdout.flush()
        sys.stderr.flush()
    except BaseException:  # noqa: B036, S110 - output is best effort
        pass
