"""Inside the sandbox: the submission's first process (the supervisor).

Forked by the zygote, which hands it only pipes: the zygote never reads anything of a
submission. This process confines itself (see :mod:`._confine`), then reads its own request
from the runner: first the source and the part names, which it imports at once; then the
cases, which may arrive while the import runs. It forks one worker process that runs the
parts in turn (see :mod:`._worker`) and keeps each part's clock; after a crash, timeout or
memory exhaustion it forks a fresh worker for the parts that remain. Between parts it kills
every other process of the sandbox, so nothing a part started reaches the next one.
"""

from __future__ import annotations

import gc
import json
import linecache
import os
import select
import signal
import socket
import struct
import sys
import time
import traceback
import types
from typing import Any

from . import _confine, _errors, _wire, _worker

_LEN4 = struct.Struct("<I")
_LEN8 = struct.Struct("<Q")
_INDEX = struct.Struct("<I")
#: With the request's pipes: the number of parts and the length of the head (see _spare).
HEAD = struct.Struct("<IQ")
_MAX_FDS = 250


def run_submission(fds: list[int], layers: frozenset[str], cfg: dict[str, Any]) -> None:
    """Entry point of the submission's first process (never returns)."""
    code = 0
    try:
        _main(fds, layers, cfg)
    except BaseException:  # noqa: B036 - our own failure: say so, and report it by exit code
        code = 70
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


def _import(code: str) -> tuple[types.ModuleType | None, bytes]:
    """Import the submission; return the module (or None) and the IMPORTED payload."""
    source = _errors.SOURCE[0]
    try:
        compiled = compile(code, source, "exec", dont_inherit=True)
    except SyntaxError as exc:
        return None, b"syntax_error\0" + _errors.describe(exc, exc.lineno)
    except (ValueError, MemoryError) as exc:  # e.g. null bytes in the source
        return None, b"syntax_error\0" + _errors.describe(exc)
    module = types.ModuleType("submission")
    module.__file__ = source
    sys.modules["submission"] = module
    try:
        exec(compiled, module.__dict__)
    except MemoryError as exc:
        return None, b"memory\0" + _errors.describe(exc)
    except BaseException as exc:  # noqa: B036 - any exception, SystemExit included
        return None, b"import_error\0" + _errors.describe(exc)
    return module, b"ok\0"


def _read_cases(req: int, nparts: int) -> list[list[tuple[Any, ...]]]:
    (size,) = _LEN8.unpack(_read_exact(req, _LEN8.size))
    blob = _read_exact(req, size)
    counts = struct.unpack_from(f"<{nparts}I", blob)
    pos = 4 * nparts
    out: list[list[tuple[Any, ...]]] = []
    for count in counts:
        cases = []
        for _ in range(count):
            args, pos = _wire.decode_args(blob, pos)
            cases.append(args)
        out.append(cases)
    return out


def _main(fds: list[int], layers: frozenset[str], cfg: dict[str, Any]) -> None:
    # fds: the runner's control socket, the request socket, [the parts' cgroup.procs and the
    # submission's pids.current]. The rest comes with the request, after the confinement.
    os.close(fds[0])  # the control socket stays with the zygote
    req = fds[1]
    cgroup, pids = (fds[2], fds[3]) if cfg["cgroup"] else (-1, -1)
    _errors.SOURCE[0] = os.path.join(cfg["scratch"], "submission.py")
    _confine.enter(cfg, layers, keep=fds[1:])

    sock = socket.socket(fileno=req)
    raw, pipes, _, _ = socket.recv_fds(sock, HEAD.size, _MAX_FDS)
    if len(raw) != HEAD.size:
        return  # the runner gave up on this sandbox
    nparts, size = HEAD.unpack(raw)
    if len(pipes) != 2 + 2 * nparts:
        raise OSError("the request came with the wrong number of pipes")
    mod_w, imp_out = pipes[:2]
    pairs = [(pipes[2 + 2 * k], pipes[3 + 2 * k]) for k in range(nparts)]
    os.dup2(imp_out, 1)
    os.dup2(imp_out, 2)
    os.close(imp_out)
    head = json.loads(_read_exact(req, size))
    limits, names, code = head["limits"], head["parts"], head["code"]
    del head
    _confine.set_rlimits(limits, len(names))
    source = _errors.SOURCE[0]
    with open(source, "w", encoding="utf-8", errors="surrogatepass") as fh:
        fh.write(code)
    linecache.cache[source] = (len(code), None, code.splitlines(True), source)
    gc.collect()

    module, result = _import(code)
    del code
    _flush()
    _worker.write_all(mod_w, _wire.frame(_wire.IMPORTED, result))
    if module is None:
        return
    cases = _read_cases(req, len(names))
    sock.close()
    namespace = vars(module)
    plan = _worker.Plan([namespace.get(n) for n in names], cases, pairs, limits)
    gc.freeze()  # fewer copy-on-write faults in the worker
    _Parts(plan, mod_w, cgroup, pids, "namespaces" in layers).run()
    _worker.write_all(mod_w, _wire.frame(_wire.DONE))


class _Parts:
    """Runs every part through a worker, keeping the clock and clearing up between parts.

    The worker gets each part's channel and output pipe with the order to run it (fds over a
    socket), so while one part runs no other part's pipes are within its reach.
    """

    def __init__(self, plan: _worker.Plan, mod_w: int, cgroup: int, pids: int,
                 namespaced: bool) -> None:
        self.plan, self.mod_w, self.cgroup, self.namespaced = plan, mod_w, cgroup, namespaced
        self.pids = pids
        self.pid = self.pidfd = -1
        self.sock: socket.socket | None = None
        self.open = {fd for pair in plan.pairs for fd in pair}

    def run(self) -> None:
        for k in range(len(self.plan.pairs)):
            if not callable(self.plan.functions[k]):
                self._close_pair(k)
                self._report(_wire.PART_MISSING, _INDEX.pack(k))
                continue
            if self.pid < 0:
                self._spawn()
            outcome = self._one(k)
            if outcome is None and self.namespaced:
                self._clear_others()
                self._report(_wire.PART_DONE, _INDEX.pack(k))
                continue
            status = self._end_worker()
            if outcome is None:  # reduced isolation: a fresh worker for every part
                self._report(_wire.PART_DONE, _INDEX.pack(k))
            else:
                self._report(_wire.PART_EXIT, struct.pack("<IiB", k, status, outcome))

    def _report(self, kind: int, payload: bytes) -> None:
        _worker.write_all(self.mod_w, _wire.frame(kind, payload))

    def _close_pair(self, k: int) -> None:
        for fd in self.plan.pairs[k]:
            if fd in self.open:
                self.open.discard(fd)
                os.close(fd)

    def _spawn(self) -> None:
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        _flush()
        pid = os.fork()
        if pid == 0:
            ours.close()
            os.close(self.mod_w)
            if self.pids >= 0:
                os.close(self.pids)
            for fd in self.open:
                os.close(fd)
            _worker.serve(self.plan, theirs, self.cgroup)
        theirs.close()
        self.pid, self.pidfd, self.sock = pid, os.pidfd_open(pid), ours

    def _one(self, k: int) -> int | None:
        """Run part ``k``: None when done, else how it ended (``_wire.ENDED``...)."""
        assert self.sock is not None
        try:
            socket.send_fds(self.sock, [_INDEX.pack(k)], list(self.plan.pairs[k]))
        except OSError:
            return _wire.ENDED
        finally:
            self._close_pair(k)
        deadline = time.monotonic() + self.plan.limits["part_seconds"]
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                return _wire.TIMED_OUT
            ready, _, _ = select.select([self.sock.fileno(), self.pidfd], [], [], left)
            if self.sock.fileno() in ready:
                try:
                    raw = self.sock.recv(64)
                except OSError:
                    raw = b""
                if raw == _INDEX.pack(k):
                    return None
                return _wire.BROKE_PROTOCOL if raw else _wire.ENDED  # EOF: it has ended
            if ready:
                return _wire.ENDED

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
