"""Trusted side of one submission: watch the sandbox's pipes and clocks, build the report.

Everything read here was written by student-controlled processes. It is parsed strictly with
:mod:`._wire`; anything unexpected fails the part (or the submission) and is never
interpreted further. Output pipes are captured up to a cap and never parsed.
"""

from __future__ import annotations

import os
import select
import signal
import struct
import time
from dataclasses import dataclass, field

from grader.engine.runner_contract import (
    CaseReturn,
    ErrorInfo,
    ImportStatus,
    Limits,
    PartCall,
    PartRun,
    PartRunStatus,
    RunReport,
)

from . import _wire
from ._cgroup import SubmissionCgroup
from ._spare import ZygoteGone

#: How long past a part's limit the sandbox may take to report it killed the part.
GRACE_SECONDS = 1.0
_MAX_CONTROL = 1 << 20
_READ = 1 << 16


@dataclass
class _Capture:
    """Bytes of one output pipe, capped; the rest is read and dropped."""

    cap: int
    data: bytearray = field(default_factory=bytearray)

    def add(self, chunk: bytes) -> None:
        room = self.cap - len(self.data)
        if room > 0:
            self.data += chunk[:room]

    def text(self) -> str:
        """What was captured, as storable text (invalid UTF-8 and NUL shown as U+FFFD)."""
        return _wire.storable(self.data.decode("utf-8", errors="replace"))


@dataclass
class _Part:
    name: str
    chan: int
    out: int
    capture: _Capture
    buf: bytearray = field(default_factory=bytearray)
    ncases: int = 0
    returns: list[CaseReturn] = field(default_factory=list)
    ended: bool = False
    memory: bool = False
    malformed: bool = False


def _read_now(fd: int) -> bytes | None:
    """What ``fd`` has right now; b"" at its end (or on error); None if nothing yet."""
    try:
        return os.read(fd, _READ)
    except BlockingIOError:
        return None
    except OSError:
        return b""


class MalformedError(Exception):
    """The sandbox broke the protocol."""


#: What parsing hostile bytes may raise. The decoders validate every field before numpy or
#: json sees it (the property tests feed them arbitrary bytes); ValueError and OverflowError
#: stay here so that a check missed in a future format change still fails only that part.
_HOSTILE = (_wire.WireError, MalformedError, struct.error, ValueError, OverflowError)


def describe_status(status: int) -> str:
    """Human-readable wait status."""
    if os.WIFSIGNALED(status):
        num = os.WTERMSIG(status)
        try:
            return f"killed by signal {num} ({signal.Signals(num).name})"
        except ValueError:
            return f"killed by signal {num}"
    if os.WIFEXITED(status):
        return f"exited with code {os.WEXITSTATUS(status)}"
    return f"ended with status {status}"


def _error(doc: dict[str, object]) -> ErrorInfo:
    tb = doc["traceback"]
    lineno = doc["lineno"]
    return ErrorInfo(type=str(doc["type"]), message=str(doc["message"]),
                     traceback=tuple(str(x) for x in tb) if isinstance(tb, list) else (),
                     lineno=lineno if isinstance(lineno, int) else None)


class Session:
    """Follows one submission from the request to the report."""

    def __init__(self, names: list[str], limits: Limits, pidfd: int, ctl: int,
                 mod: int, imp_out: int, part_fds: list[tuple[int, int]], level: str,
                 req: int, cgroup: SubmissionCgroup | None = None) -> None:
        self.limits = limits
        self.cgroup = cgroup
        self.oom_mark = 0
        self.pidfd, self.ctl, self.mod = pidfd, ctl, mod
        self.imp_out = imp_out
        self.req = req
        self.outgoing = bytearray()
        self.imp_capture = _Capture(limits.output_bytes)
        self.parts = [_Part(n, ch, out, _Capture(limits.output_bytes))
                      for n, (ch, out) in zip(names, part_fds, strict=True)]
        self.level = level
        self.mod_buf = bytearray()
        self.ctl_buf = bytearray()
        self.import_status: ImportStatus | None = None
        self.import_error: ErrorInfo | None = None
        self.results: dict[str, PartRun] = {}
        self.current = -1  # index of the running part, -1 while importing
        self.deadline = time.monotonic() + limits.import_seconds
        self.finished = False
        self.detail = ""
        for fd in [ctl, mod, imp_out, req] + [fd for pair in part_fds for fd in pair]:
            os.set_blocking(fd, False)

    def send(self, data: bytes, wait: float = 0.0) -> None:
        """Queue ``data`` for the sandbox's request pipe and write what fits now; with
        ``wait``, keep writing for up to that many seconds (the sandbox is reading)."""
        self.outgoing += data
        self._write_request()
        until = time.monotonic() + wait
        while self.outgoing and self.req >= 0 and time.monotonic() < until:
            select.select([], [self.req], [], max(until - time.monotonic(), 0))
            self._write_request()

    def expect(self, calls: list[PartCall]) -> None:
        """How many cases each part has (the answers are checked against it)."""
        for part, call in zip(self.parts, calls, strict=True):
            part.ncases = len(call.cases)

    def _write_request(self) -> None:
        while self.outgoing and self.req >= 0:
            try:
                n = os.write(self.req, self.outgoing[:1 << 20])
            except BlockingIOError:
                return
            except OSError:  # the sandbox has ended: its exit is reported on ctl
                self.outgoing.clear()
                break
            del self.outgoing[:n]

    def abandon(self) -> None:
        """Kill a sandbox whose cases will never come, and wait until it is gone."""
        self._kill()
        select.select([self.pidfd], [], [], 10.0)
        self.close()

    # --- the loop -------------------------------------------------------------------------
    def run(self) -> RunReport:
        try:
            while not self.finished:
                self._step()
        finally:
            self._kill()
            # The first process is PID 1 of the sandbox: once it has exited, so has the rest.
            select.select([self.pidfd], [], [], 10.0)
        return self._report()

    def _watched(self) -> list[int]:
        fds = [self.ctl, self.mod, self.imp_out]
        if 0 <= self.current < len(self.parts):
            part = self.parts[self.current]
            fds += [fd for fd in (part.chan, part.out) if fd >= 0]
        return [fd for fd in fds if fd >= 0]

    def _step(self) -> None:
        timeout = self.deadline - time.monotonic()
        if timeout <= 0:
            self._on_deadline()
            return
        if not self.outgoing and self.req >= 0:
            os.close(self.req)  # every byte of the request is written
            self.req = -1
        writing = [self.req] if self.req >= 0 else []
        ready, can_write, _ = select.select(self._watched(), writing, [], timeout)
        if can_write:
            self._write_request()
        for fd in ready:
            if fd not in self._watched():  # closed, or moved on to the next part meanwhile
                continue
            self._read(fd)
            if self.finished:
                return

    def _read(self, fd: int) -> None:
        try:
            chunk = os.read(fd, _READ)
        except BlockingIOError:
            return
        except OSError:
            chunk = b""
        if fd == self.imp_out:
            self._on_import_output(chunk)
        elif fd == self.mod:
            self._on_mod(chunk)
        elif fd == self.ctl:
            self._on_ctl(chunk)
        else:
            part = self.parts[self.current]
            if fd == part.out:
                self._on_part_output(part, chunk)
            else:
                self._on_chan(part, chunk)

    def _on_import_output(self, chunk: bytes) -> None:
        if chunk:
            self.imp_capture.add(chunk)
        else:
            os.close(self.imp_out)
            self.imp_out = -1

    def _on_part_output(self, part: _Part, chunk: bytes) -> None:
        if chunk:
            part.capture.add(chunk)
        elif part.out >= 0:
            os.close(part.out)
            part.out = -1

    # --- messages from the submission's first process ------------------------------------
    def _on_mod(self, chunk: bytes) -> None:
        if not chunk:
            os.close(self.mod)
            self.mod = -1
            return
        self.mod_buf += chunk
        try:
            for kind, payload in _wire.split_frames(self.mod_buf, _MAX_CONTROL):
                self._on_message(kind, payload)
                if self.finished:
                    return
        except _HOSTILE:
            self._abort("crashed", "sent malformed data")

    def _on_message(self, kind: int, payload: bytes) -> None:
        if kind == _wire.IMPORTED and self.import_status is None:
            status, _, body = payload.partition(b"\0")
            if status == b"ok" and not body:
                self.import_status = "ok"
                self._next_part()
            elif status in (b"syntax_error", b"import_error", b"memory"):
                self.import_status = status.decode()  # type: ignore[assignment]  # checked
                self.import_error = _error(_wire.decode_error(body))
                self.finished = True
            else:
                raise MalformedError
            return
        if kind == _wire.IMPORT_FAILED and self.import_status is None and len(payload) == 5:
            status, how = struct.unpack("<iB", payload)
            if self._oom_killed():
                self._abort("crashed", "")
                self.import_status = "memory"
            elif how == _wire.BROKE_PROTOCOL:
                self._abort("crashed", "sent malformed data")
            else:
                self._abort("crashed", f"the submission {describe_status(status)} while being "
                                       "imported")
            return
        if self.import_status != "ok" or self.current >= len(self.parts):
            raise MalformedError
        if kind == _wire.PART_MISSING and payload == struct.pack("<I", self.current):
            self._finish_part("missing", f"no function named {self.parts[self.current].name}")
        elif kind == _wire.PART_DONE and payload == struct.pack("<I", self.current):
            self._part_exited(0, False, done=True)
        elif kind == _wire.PART_EXIT and len(payload) == 9:
            k, status, how = struct.unpack("<IiB", payload)
            if k != self.current:
                raise MalformedError
            if how == _wire.BROKE_PROTOCOL:
                self.parts[self.current].malformed = True
            if how == _wire.NOT_REIMPORTED:
                self._finish_part("crashed", "not run: importing the module again after the "
                                             "part before it failed did not succeed")
            else:
                self._part_exited(status, how == _wire.TIMED_OUT)
        else:
            raise MalformedError

    def _part_exited(self, status: int, timed_out: bool, done: bool = False) -> None:
        part = self.parts[self.current]
        self._drain(part)
        if part.malformed:
            part.returns.clear()  # nothing from a part that broke the protocol is kept
            self._finish_part("crashed", "sent malformed data")
        elif part.memory or self._oom_killed():
            self._finish_part("memory", f"ran out of memory (limit {self._mib()} MiB)")
        elif timed_out:
            self._finish_part("timeout", f"exceeded {self.limits.part_seconds:g} s")
        elif part.ended:
            self._finish_part("ok", "")
        elif done:
            self._finish_part("crashed", "ended the part without answering every case")
        else:
            self._finish_part("crashed", describe_status(status))

    def _drain(self, part: _Part) -> None:
        """Read what is already in a part's pipes (its writers have ended)."""
        while part.chan >= 0:
            chunk = _read_now(part.chan)
            if chunk is None:
                break
            self._on_chan(part, chunk)
        while part.out >= 0:
            chunk = _read_now(part.out)
            if chunk is None:
                break
            self._on_part_output(part, chunk)

    # --- one part's channel --------------------------------------------------------------
    def _on_chan(self, part: _Part, chunk: bytes) -> None:
        if not chunk or part.malformed:
            self._close_chan(part)
            return
        part.buf += chunk
        try:
            for kind, payload in _wire.split_frames(part.buf,
                                                    self.limits.result_bytes + 65536):
                self._on_case(part, kind, payload)
        except _HOSTILE:
            # Nothing from a channel that broke the protocol is trusted, earlier cases included.
            part.malformed = True
            part.returns.clear()
            part.buf.clear()
            self._close_chan(part)  # the writer gets EPIPE and stops

    def _close_chan(self, part: _Part) -> None:
        if part.chan >= 0:
            os.close(part.chan)
            part.chan = -1

    def _on_case(self, part: _Part, kind: int, payload: bytes) -> None:
        if part.ended or part.memory:
            raise MalformedError
        if kind == _wire.END:
            if payload or len(part.returns) != part.ncases:
                raise MalformedError
            part.ended = True
            return
        if len(payload) < 4 or struct.unpack_from("<I", payload)[0] != len(part.returns):
            raise MalformedError
        if len(part.returns) >= part.ncases:
            raise MalformedError
        body = payload[4:]
        if kind == _wire.VALUE:
            value = _wire.decode_value(body, self.limits.result_bytes)
            part.returns.append(CaseReturn(value=value))
        elif kind == _wire.ERROR:
            part.returns.append(CaseReturn(error=_error(_wire.decode_error(body))))
        elif kind == _wire.MEMORY and not body:
            part.memory = True
        else:
            raise MalformedError

    # --- control socket: the zygote reports the first process's exit ----------------------
    def _on_ctl(self, chunk: bytes) -> None:
        self.ctl_buf += chunk
        try:
            frames = _wire.split_frames(self.ctl_buf, 64)
        except _wire.WireError:
            frames = []
        exited = [p for k, p in frames if k == _wire.EXITED and len(p) == 4]
        if exited:
            status = struct.unpack("<i", exited[0])[0]
            if (self.import_status is None and os.WIFEXITED(status)
                    and os.WEXITSTATUS(status) == _wire.SETUP_FAILED):
                # The sandbox could not set itself up (it runs no student code before its
                # request): our failure, retried on a fresh sandbox.
                raise ZygoteGone("the sandbox could not set itself up")
            self._on_exit(describe_status(status))
        elif not chunk:
            # Only the zygote holds the other end: it died (e.g. killed by the host).
            raise ZygoteGone("the sandbox zygote died during a run")

    def _on_exit(self, how: str) -> None:
        # Anything it wrote before ending is already in the pipes.
        while self.mod >= 0 and not self.finished:
            try:
                chunk = os.read(self.mod, _READ)
            except BlockingIOError:
                break
            self._on_mod(chunk)
            if not chunk:
                break
        if self.finished:
            return
        if self.import_status is None and self._oom_killed():
            self._abort("crashed", "")
            self.import_status = "memory"
        elif self.import_status is None:
            self._abort("crashed", f"the submission {how} while being imported")
        elif self.current < len(self.parts):
            if self._oom_killed():
                self._finish_part("memory", f"ran out of memory (limit {self._mib()} MiB)")
            self._abort("crashed", f"the sandbox process {how}")
        else:
            self.finished = True

    # --- clocks --------------------------------------------------------------------------
    def _on_deadline(self) -> None:
        if self.import_status is None:
            self._kill()
            self.import_status = "timeout"
            self.detail = f"import exceeded {self.limits.import_seconds:g} s"
            self.finished = True
            return
        self._kill()
        self._drain(self.parts[self.current])
        self._finish_part("timeout", f"exceeded {self.limits.part_seconds:g} s")
        self._abort("crashed", "not run: the sandbox stopped responding after a timeout")

    def _oom_killed(self) -> bool:
        """Whether the OOM killer ended a process of the submission since the mark."""
        return self.cgroup is not None and self.cgroup.oom_kills() > self.oom_mark

    def _next_part(self) -> None:
        if self.cgroup is not None:
            self.oom_mark = self.cgroup.oom_kills()
        self.current += 1
        if self.current < len(self.parts):
            self.deadline = time.monotonic() + self.limits.part_seconds + GRACE_SECONDS
        else:
            self.finished = True

    def _finish_part(self, status: PartRunStatus, detail: str) -> None:
        part = self.parts[self.current]
        for fd in (part.chan, part.out):
            if fd >= 0:
                os.close(fd)
        part.chan = part.out = -1
        self.results[part.name] = PartRun(
            name=part.name, status=status, returns=tuple(part.returns),
            output=part.capture.text(), detail=detail)
        self._next_part()

    def _abort(self, status: PartRunStatus, detail: str) -> None:
        """End the submission: the current and all later parts get ``status``."""
        self._kill()
        if self.import_status is None:
            self.import_status = "crashed"
            self.detail = detail
        else:
            while 0 <= self.current < len(self.parts):
                self._finish_part(status, detail)
        self.finished = True

    def _kill(self) -> None:
        try:
            signal.pidfd_send_signal(self.pidfd, signal.SIGKILL)
        except ProcessLookupError:
            pass

    def _mib(self) -> str:
        return f"{self.limits.memory_bytes / 2**20:g}"

    def close(self) -> None:
        """Close every pipe and the pidfd."""
        fds = [self.pidfd, self.ctl, self.mod, self.imp_out, self.req]
        fds += [fd for p in self.parts for fd in (p.chan, p.out)]
        for fd in fds:
            if fd >= 0:
                os.close(fd)
        self.pidfd = self.ctl = self.mod = self.imp_out = self.req = -1
        for p in self.parts:
            p.chan = p.out = -1

    def _report(self) -> RunReport:
        while self.imp_out >= 0:
            try:
                chunk = os.read(self.imp_out, _READ)
            except BlockingIOError:
                break
            except OSError:
                chunk = b""
            self._on_import_output(chunk)
        status: ImportStatus = self.import_status or "crashed"
        parts = dict(self.results) if status == "ok" else {}
        if status == "memory" and not self.detail:
            self.detail = f"ran out of memory (limit {self._mib()} MiB)"
        return RunReport(import_status=status, import_error=self.import_error, parts=parts,
                         output=self.imp_capture.text(), sandbox_level=self.level,
                         detail=self.detail)
