"""Inside the sandbox: the process that calls the student's functions, part after part.

Forked by the submission's first process (the supervisor) after the import. It runs the part
the supervisor sends it (with that part's pipes and no other's), writes one frame per case to
the part's channel, then reports the part done and waits for the next. The supervisor keeps
the clock; a part that crashes, hangs or runs out of memory ends this process, and the
supervisor forks a fresh one for the parts after it.
"""

from __future__ import annotations

import os
import socket
import struct
import sys
import traceback
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from . import _confine, _errors, _returns, _wire

_INDEX = struct.Struct("<I")


@dataclass
class Plan:
    """What the worker needs: the functions, their cases and every part's pipes."""

    functions: list[Any]
    cases: list[list[tuple[Any, ...]]]
    pairs: list[tuple[int, int]]
    limits: dict[str, Any]


def write_all(fd: int, data: bytes) -> None:
    """Write every byte of ``data`` to ``fd``."""
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view):]


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


def serve(plan: Plan, sock: socket.socket, cgroup: int) -> None:
    """Body of the worker process (never returns).

    Each order on ``sock`` is a part index with that part's channel and output pipe; the
    answer is the same index once the part is done.
    """
    status = 1
    try:
        if cgroup >= 0:  # the parts' own memory cgroup: an OOM kill there spares the supervisor
            os.write(cgroup, b"0")
            os.close(cgroup)
        _confine.die_with_parent()
        os.setpgid(0, 0)
        _confine.limit_cpu(plan.limits["part_seconds"] * len(plan.pairs))
        null = os.open("/dev/null", os.O_WRONLY)
        while True:
            raw, fds, _, _ = socket.recv_fds(sock, 64, 2)
            if len(raw) != _INDEX.size or len(fds) != 2:
                for fd in fds:
                    os.close(fd)
                status = 0
                break
            (k,) = _INDEX.unpack(raw)
            _reap()
            chan, out = fds
            os.dup2(out, 1)
            os.dup2(out, 2)
            os.close(out)
            healthy = run_cases(plan.functions[k], plan.cases[k], chan,
                                plan.limits["result_bytes"])
            _flush()
            os.dup2(null, 1)
            os.dup2(null, 2)
            os.close(chan)
            if not healthy:
                status = 0
                break
            sock.send(_INDEX.pack(k))
    except SystemExit as exc:
        status = exc.code if type(exc.code) is int and 0 <= exc.code < 256 else 1
    except BaseException:  # noqa: B036 - ours or the student's: shown in the part's output
        status = 70
        traceback.print_exc()
    finally:
        _flush()
        os._exit(status)


def _reap() -> None:
    """Collect the part's own children that the supervisor killed after the last part."""
    try:
        while os.waitpid(-1, os.WNOHANG)[0]:
            pass
    except ChildProcessError:
        pass


def _flush() -> None:
    try:
        sys.stdout.flush()
        sys.stderr.flush()
    except BaseException:  # noqa: B036, S110 - output is best effort
        pass
