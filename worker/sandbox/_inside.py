"""Inside the sandbox: import the submission once, then run each part in a fresh child.

This code runs in the submission's first process (PID 1 of its own PID namespace), forked
from the zygote. It narrows itself (see :mod:`._confine`), imports the student's module, and
for every part forks a child that calls the function on fresh copies of each case's inputs
and writes one frame per case to that part's own pipe.
"""

from __future__ import annotations

import gc
import linecache
import os
import select
import signal
import struct
import sys
import traceback
import types
from typing import Any

import numpy as np

from . import _confine, _returns, _wire

#: Where the student's source is written (in the scratch directory; set per submission).
SOURCE = "/tmp/submission.py"


def _errinfo(exc: BaseException, lineno: int | None = None) -> bytes:
    """Describe ``exc`` with only the frames of the student's own file."""
    try:
        name = type(exc).__name__
        message = str(exc)
    except BaseException:  # noqa: B036 - a student's __str__ may raise anything
        name, message = "Exception", "(the exception could not be described)"
    lines = []
    try:
        for fr in traceback.extract_tb(exc.__traceback__):
            if fr.filename == SOURCE:
                lines.append(f"line {fr.lineno}, in {fr.name}: {(fr.line or '').strip()}")
    except BaseException:  # noqa: B036 - a corrupted traceback must not stop the report
        pass
    doc = {"type": str(name)[:200], "message": str(message)[:_wire.MAX_TEXT],
           "traceback": lines[-_wire.MAX_TRACEBACK:], "lineno": lineno}
    return _wire.encode_json(doc)


def _write(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view):]


def _import(code: str) -> tuple[types.ModuleType | None, bytes]:
    """Import the submission; return the module (or None) and the IMPORTED payload."""
    try:
        compiled = compile(code, SOURCE, "exec", dont_inherit=True)
    except SyntaxError as exc:
        return None, b"syntax_error" + b"\0" + _errinfo(exc, exc.lineno)
    except (ValueError, MemoryError) as exc:  # e.g. null bytes in the source
        return None, b"syntax_error" + b"\0" + _errinfo(exc)
    module = types.ModuleType("submission")
    module.__file__ = SOURCE
    sys.modules["submission"] = module
    try:
        exec(compiled, module.__dict__)
    except MemoryError as exc:
        return None, b"memory\0" + _errinfo(exc)
    except BaseException as exc:  # noqa: B036 - any exception, SystemExit included
        return None, b"import_error\0" + _errinfo(exc)
    return module, b"ok\0"


def _run_cases(fn: Any, cases: list[tuple[Any, ...]], chan: int, limit: int) -> None:
    """Body of a part's child: one frame per case, then END."""
    for index, args in enumerate(cases):
        fresh = tuple(a.copy() if type(a) is np.ndarray else a for a in args)
        try:
            value = fn(*fresh)
        except MemoryError:
            _write(chan, _wire.frame(_wire.MEMORY, struct.pack("<I", index)))
            return
        except SystemExit:
            raise
        except BaseException as exc:  # noqa: B036 - the student's error is the answer
            _write(chan, _wire.frame(_wire.ERROR, struct.pack("<I", index) + _errinfo(exc)))
            continue
        try:
            body = _wire.encode_value(_returns.to_plain(value, limit))
            kind = _wire.VALUE
        except _returns.InvalidReturn as exc:
            body, kind = _wire.encode_json({"type": "InvalidReturn", "message": str(exc),
                                            "traceback": [], "lineno": None}), _wire.ERROR
        except MemoryError:
            _write(chan, _wire.frame(_wire.MEMORY, struct.pack("<I", index)))
            return
        except BaseException as exc:  # noqa: B036 - a hostile value may raise anything
            body, kind = _errinfo(exc), _wire.ERROR
        del value
        _write(chan, _wire.frame(kind, struct.pack("<I", index) + body))
    _write(chan, _wire.frame(_wire.END))


def _part_child(fn: Any, cases: list[tuple[Any, ...]], chan: int, out: int,
                keep_closed: list[int], req: dict[str, Any]) -> None:
    status = 1
    try:
        _confine.die_with_parent()
        os.setpgid(0, 0)
        for fd in keep_closed:
            os.close(fd)
        os.dup2(out, 1)
        os.dup2(out, 2)
        os.close(out)
        _confine.limit_cpu(req["limits"]["part_seconds"])
        _run_cases(fn, cases, chan, req["limits"]["result_bytes"])
        status = 0
    except SystemExit as exc:
        status = exc.code if type(exc.code) is int and 0 <= exc.code < 256 else 1
    except BaseException:  # noqa: B036 - ours or the student's: shown in the part's output
        status = 70
        traceback.print_exc()
    finally:
        try:
            sys.stdout.flush()
            sys.stderr.flush()
        except BaseException:  # noqa: B036, S110 - output is best effort
            pass
        os._exit(status)


def _wait_part(pid: int, seconds: float) -> tuple[int, bool]:
    """Wait for a part's child up to ``seconds``; kill it then. Return (status, timed_out)."""
    timed_out = False
    pidfd = os.pidfd_open(pid)
    try:
        ready, _, _ = select.select([pidfd], [], [], seconds)
        if not ready:
            timed_out = True
            os.kill(pid, signal.SIGKILL)
    finally:
        os.close(pidfd)
    _, status = os.waitpid(pid, 0)
    # Leave nothing behind for the next part: kill every other process of this sandbox. Only
    # as PID 1 of its own namespace does "every process" mean the sandbox's; else its group.
    try:
        os.kill(-1 if os.getpid() == 1 else -pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    try:
        while True:
            os.waitpid(-1, 0)
    except ChildProcessError:
        pass
    return status, timed_out


def run_submission(req: dict[str, Any], fds: list[int], layers: frozenset[str]) -> None:
    """Entry point of the submission's first process (never returns)."""
    code = 0
    try:
        _main(req, fds, layers)
    except BaseException:  # noqa: B036 - our own failure: say so, and report it by exit code
        code = 70
        traceback.print_exc()
    finally:
        os._exit(code)


def _main(req: dict[str, Any], fds: list[int], layers: frozenset[str]) -> None:
    mod_w, imp_out = fds[1], fds[2]
    part_fds = [(fds[3 + 2 * k], fds[4 + 2 * k]) for k in range(len(req["parts"]))]
    os.close(fds[0])  # the runner's control socket stays with the zygote
    global SOURCE
    SOURCE = os.path.join(req["scratch"], "submission.py")
    _confine.enter(req, layers, keep=fds[1:])
    os.dup2(imp_out, 1)
    os.dup2(imp_out, 2)
    os.close(imp_out)

    blob = req["args"]
    cases_per_part: list[list[tuple[Any, ...]]] = []
    pos = 0
    for part in req["parts"]:
        cases = []
        for _ in range(part["ncases"]):
            args, pos = _wire.decode_args(blob, pos)
            cases.append(args)
        cases_per_part.append(cases)
    del req["args"], blob
    code = req["code"]
    with open(SOURCE, "w", encoding="utf-8") as fh:
        fh.write(code)
    linecache.cache[SOURCE] = (len(code), None, code.splitlines(True), SOURCE)
    gc.collect()

    module, result = _import(code)
    _flush()
    _write(mod_w, _wire.frame(_wire.IMPORTED, result))
    if module is None:
        return
    namespace = vars(module)
    gc.freeze()  # fewer copy-on-write faults in each part's process
    for k, part in enumerate(req["parts"]):
        chan, out = part_fds[k]
        fn = namespace.get(part["name"])
        if not callable(fn):
            os.close(chan)
            os.close(out)
            _write(mod_w, _wire.frame(_wire.PART_MISSING, struct.pack("<I", k)))
            continue
        others = [fd for pair in part_fds[k + 1:] for fd in pair] + [mod_w]
        _flush()
        pid = os.fork()
        if pid == 0:
            _part_child(fn, cases_per_part[k], chan, out, others, req)
        os.close(chan)
        os.close(out)
        status, timed_out = _wait_part(pid, req["limits"]["part_seconds"])
        _write(mod_w, _wire.frame(_wire.PART_EXIT, struct.pack("<IiB", k, status, timed_out)))
    _write(mod_w, _wire.frame(_wire.DONE))


def _flush() -> None:
    try:
        sys.stdout.flush()
        sys.stderr.flush()
    except BaseException:  # noqa: B036, S110 - output is best effort
        pass
