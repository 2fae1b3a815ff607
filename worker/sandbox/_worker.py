"""Inside the sandbox: the worker, the only process that runs the student's code.

Forked by the submission's first process (the supervisor) before the request arrives, it
moves itself into the parts' cgroup and waits. Orders come on a stream socket, each a header
(kind, part index, payload length), a payload and maybe fds: IMPORT (the source, the part
names and the limits, with the pipe for the import's output), CASES (every part's inputs),
RUN (a part's index with its channel and output pipe: no other part's pipes are ever within
reach). It answers IMPORTED (the import's result), DONE (a part is answered) or MISSING (the module
has no such function). Whatever the
student's code does, it can only make this process misbehave: the supervisor keeps the
clocks and reports to the runner.
"""

from __future__ import annotations

import gc
import json
import linecache
import os
import signal
import socket
import struct
import sys
import time
import traceback
import types
from collections.abc import Sequence
from typing import Any

import numpy as np

from . import _confine, _errors, _returns, _wire

#: Kind (1 byte), part index, payload length.
ORDER = struct.Struct("<BIQ")
IMPORT, CASES, RUN = 1, 2, 3
IMPORTED, DONE, MISSING = 11, 12, 13
_INDEX = struct.Struct("<I")
_LEN8 = struct.Struct("<Q")


def write_all(fd: int, data: bytes) -> None:
    """Write every byte of ``data`` to ``fd``."""
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view):]


def send(sock: socket.socket, kind: int, index: int, payload: bytes = b"",
         fds: Sequence[int] = ()) -> None:
    """One message: the header (with ``fds`` attached), then the payload."""
    socket.send_fds(sock, [ORDER.pack(kind, index, len(payload))], list(fds))
    if payload:
        sock.sendall(payload)


def receive(sock: socket.socket, max_fds: int = 2) -> tuple[int, int, bytes, list[int]]:
    """One message: kind, index, payload, fds. EOFError at the end; ValueError if garbled."""
    head, fds, _, _ = socket.recv_fds(sock, ORDER.size, max_fds)
    while head and len(head) < ORDER.size:
        more = sock.recv(ORDER.size - len(head))
        if not more:
            break
        head += more
    if not head:
        raise EOFError
    if len(head) != ORDER.size:
        raise ValueError("short header")
    kind, index, size = ORDER.unpack(head)
    if size > 1 << 30:
        raise ValueError("oversized message")
    chunks, got = [], 0
    while got < size:
        chunk = sock.recv(min(size - got, 1 << 20))
        if not chunk:
            raise ValueError("short payload")
        chunks.append(chunk)
        got += len(chunk)
    return kind, index, b"".join(chunks), fds


def run_cases(fn: Any, cases: Sequence[tuple[Any, ...]], chan: int, limit: int) -> bool:
    """One frame per case, then END; False when memory ran out (the process must end)."""
    for index, args in enumerate(cases):
        head = _INDEX.pack(index)
        fresh = tuple(a.copy() if type(a) is np.ndarray else a for a in args)
        try:
            value = fn(*fresh)
        except MemoryError:
            write_all(chan, _wire.frame(_wire.MEMORY, head))
            return False
        except SystemExit:
            raise
        except BaseException as exc:  # noqa: B036 - the student's error is the answer
            write_all(chan, _wire.frame(_wire.ERROR, head + _errors.describe(exc)))
            continue
        try:
            body = _wire.encode_value(_returns.to_plain(value, limit))
            kind = _wire.VALUE
        except _returns.InvalidReturn as exc:
            body, kind = _errors.refusal(str(exc)), _wire.ERROR
        except MemoryError:
            write_all(chan, _wire.frame(_wire.MEMORY, head))
            return False
        except BaseException as exc:  # noqa: B036 - a hostile value may raise anything
            body, kind = _errors.describe(exc), _wire.ERROR
        del value
        write_all(chan, _wire.frame(kind, head + body))
    write_all(chan, _wire.frame(_wire.END))
    return True


def import_module(code: str) -> tuple[types.ModuleType | None, bytes]:
    """Import the submission; return the module (or None) and the IMPORTED payload."""
    source = _errors.SOURCE[0]
    with open(source, "w", encoding="utf-8", errors="surrogatepass") as fh:
        fh.write(code)
    linecache.cache[source] = (len(code), None, code.splitlines(True), source)
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


def decode_cases(blob: bytes, nparts: int) -> list[list[tuple[Any, ...]]]:
    """Every part's cases, as the runner encoded them."""
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


def serve(sock: socket.socket, cgroup: int, namespaced: bool) -> None:
    """Body of the worker process (never returns)."""
    status = 1
    try:
        if cgroup >= 0:  # the parts' own memory cgroup: an OOM kill there spares the supervisor
            os.write(cgroup, b"0")
            os.close(cgroup)
        signal.set_wakeup_fd(-1)  # the supervisor's, inherited
        signal.signal(signal.SIGCHLD, signal.SIG_DFL)
        _confine.die_with_parent()
        os.setpgid(0, 0)
        status = _serve(sock, namespaced)
    except SystemExit as exc:
        status = exc.code if type(exc.code) is int and 0 <= exc.code < 256 else 1
    except BaseException:  # noqa: B036 - ours or the student's: shown in the output
        status = 70
        traceback.print_exc()
    finally:
        _flush()
        os._exit(status)


def _order(sock: socket.socket) -> tuple[int, int, bytes, list[int]]:
    """The next order; an empty one when the supervisor has gone."""
    try:
        return receive(sock)
    except (OSError, EOFError, ValueError):
        return 0, 0, b"", []


def _serve(sock: socket.socket, namespaced: bool) -> int:
    kind, _, payload, fds = _order(sock)
    if kind != IMPORT or len(fds) != 1:
        return 0
    head = json.loads(payload)
    limits, names = head["limits"], head["parts"]
    _confine.set_rlimits(limits, len(names))
    null = os.open("/dev/null", os.O_WRONLY)
    os.dup2(fds[0], 1)
    os.dup2(fds[0], 2)
    os.close(fds[0])
    gc.collect()
    module, result = import_module(head["code"])
    del head, payload
    _flush()
    os.dup2(null, 1)
    os.dup2(null, 2)
    send(sock, IMPORTED, 0, result)
    if module is None:
        return 0
    kind, _, blob, _ = _order(sock)
    if kind != CASES:
        return 0
    cases = decode_cases(blob, len(names))
    del blob
    namespace = vars(module)
    gc.freeze()
    while True:
        kind, k, _, fds = _order(sock)
        if kind != RUN or len(fds) != 2 or k >= len(names):
            for fd in fds:
                os.close(fd)
            return 0
        if namespaced:
            _clear_others()
        chan, out = fds
        fn = namespace.get(names[k])
        if not callable(fn):
            os.close(chan)
            os.close(out)
            send(sock, MISSING, k)
            continue
        os.dup2(out, 1)
        os.dup2(out, 2)
        os.close(out)
        healthy = run_cases(fn, cases[k], chan, limits["result_bytes"])
        _flush()
        os.dup2(null, 1)
        os.dup2(null, 2)
        os.close(chan)
        if not healthy:
            return 0
        send(sock, DONE, k)


def _clear_others() -> None:
    """Before a part: kill whatever earlier parts left running. As PID 1 of the sandbox's
    namespace the supervisor is immune; it reaps what was reparented to it."""
    if len([e for e in os.listdir("/proc") if e.isdigit()]) <= 2:
        return  # only the supervisor and this process: the usual case
    try:
        os.kill(-1, signal.SIGKILL)
    except ProcessLookupError:
        pass
    try:
        while True:
            os.waitpid(-1, 0)
    except ChildProcessError:
        pass
    for _ in range(2000):
        if len([e for e in os.listdir("/proc") if e.isdigit()]) <= 2:
            return
        time.sleep(0.0005)


def _flush() -> None:
    try:
        sys.stdout.flush()
        sys.stderr.flush()
    except BaseException:  # noqa: B036, S110 - output is best effort
        pass
