"""Hostile submissions: each attack must gain nothing and leave the host as it was."""

from __future__ import annotations

import dataclasses
import os
import socket
import struct
import time
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from grader.engine.runner_contract import PartCall, RunReport
from worker.sandbox import SandboxRunner

from .conftest import FAST, call, run
from .frames import channel_bytes

pytestmark = pytest.mark.sandbox

REPO = str(Path(__file__).resolve().parents[3])
CORRECT = "def f(x):\n    return 2 * x\n"
WRONG = "def f(x):\n    return 3 * x\n"


def value(report: RunReport, part: str = "f", case: int = 0) -> np.ndarray:
    """The array one case returned (fails the test if it returned an error)."""
    ret = report.parts[part].returns[case]
    assert ret.error is None, ret.error
    assert isinstance(ret.value, np.ndarray)
    return ret.value


def error_type(report: RunReport, part: str = "f", case: int = 0) -> str:
    """The error type one case returned."""
    err = report.parts[part].returns[case].error
    assert err is not None
    return err.type


def assert_graded_right(runner: SandboxRunner) -> None:
    """A correct and then a wrong submission are graded as such."""
    x = np.arange(3.0)
    np.testing.assert_array_equal(value(run(runner, CORRECT, call("f", (x,)))), 2 * x)
    np.testing.assert_array_equal(value(run(runner, WRONG, call("f", (x,)))), 3 * x)


class TestInformation:
    def test_project_packages_cannot_be_imported(self, runner: SandboxRunner) -> None:
        """grader, reference and worker are not importable inside the sandbox."""
        code = """
        import importlib

        def f(x):
            out = []
            for name in ("grader", "reference", "worker", "worker.sandbox", "celery", "flask"):
                try:
                    importlib.import_module(name)
                    out.append(1.0)
                except ImportError:
                    out.append(0.0)
            return out
        """
        np.testing.assert_array_equal(value(run(runner, code, call("f"))), np.zeros(6))

    def test_filesystem_holds_no_project_files(self, runner: SandboxRunner) -> None:
        """Walking the whole filesystem finds no repository, reference or solution file."""
        code = f"""
        import os

        def f(x):
            hits, total = 0, 0
            for root, dirs, files in os.walk("/"):
                for name in dirs + files:
                    path = os.path.join(root, name)
                    total += 1
                    if any(s in path for s in ({REPO!r}, "reference", "grader", "solution",
                                                "autograde", ".git", ".venv")):
                        hits += 1
            return [hits, total]
        """
        hits, total = value(run(runner, code, call("f")))
        assert hits == 0 and total > 100

    def test_process_holds_no_grader_objects(self, runner: SandboxRunner) -> None:
        """gc objects and caller frames hold only the inputs: no expected values, no grader."""
        code = """
        import gc, sys
        import numpy as np

        def f(x):
            target = np.sin(x)
            found = 0
            for obj in gc.get_objects():
                if type(obj) is np.ndarray and obj.shape == x.shape and obj is not target:
                    found += bool(np.allclose(obj, target))
                mod = getattr(type(obj), "__module__", "") or ""
                if isinstance(mod, str) and mod.split(".")[0] in ("grader", "reference"):
                    found += 1000
            frame = sys._getframe().f_back
            while frame is not None:
                for v in frame.f_locals.values():
                    if type(v) is np.ndarray and v.shape == x.shape:
                        found += bool(np.allclose(v, target))
                frame = frame.f_back
            names = [n for n in sys.modules if n.split(".")[0] in ("grader", "reference")]
            return [found, len(names)]
        """
        x = np.linspace(0.1, 1.0, 7)
        np.testing.assert_array_equal(value(run(runner, code, call("f", (x,)))), [0, 0])

    def test_secrets_in_parent_environment_do_not_reach(self) -> None:
        """A secret in the runner's environment is in no report, env or /proc/*/environ."""
        secret = "sk-sandbox-test-3f1c9a"
        os.environ["AUTOGRADE_SECRET_KEY"] = secret
        os.environ["DATABASE_URL"] = f"postgresql://u:{secret}@db/x"
        try:
            with SandboxRunner() as fresh:
                code = """
                import os

                found = str(dict(os.environ))
                for pid in os.listdir("/proc"):
                    try:
                        found += open(f"/proc/{pid}/environ", "rb").read().decode("latin-1")
                    except OSError as exc:
                        found += repr(exc)
                print(found)

                def f(x):
                    return list(found.encode()[:4000])
                """
                report = run(fresh, code, call("f"))
        finally:
            del os.environ["AUTOGRADE_SECRET_KEY"], os.environ["DATABASE_URL"]
        assert report.import_status == "ok"
        seen = bytes(value(report).astype(np.uint8)).decode("latin-1")
        assert "OPENBLAS_NUM_THREADS" in seen
        assert secret not in repr(report) and secret not in seen
        assert "AUTOGRADE" not in seen and "DATABASE" not in seen


class TestNetwork:
    @pytest.fixture(params=[
        pytest.param("listener", id="listener"),
        pytest.param("redis_server", id="redis", marks=pytest.mark.redis),
        pytest.param("postgres_server", id="postgres", marks=pytest.mark.postgres),
    ])
    def local_port(self, request: pytest.FixtureRequest) -> int:
        """A port on the host's 127.0.0.1 that this test itself made answer: a bare listener,
        or the test session's own Redis or PostgreSQL."""
        if request.param != "listener":
            port: int = request.getfixturevalue(request.param).port
            return port
        listener = socket.socket()
        request.addfinalizer(listener.close)
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        port = listener.getsockname()[1]
        return port

    def test_local_services_are_unreachable(self, runner: SandboxRunner, local_port: int) -> None:
        """A listener, Redis and PostgreSQL on the host's 127.0.0.1 cannot be reached from
        the sandbox (they are reachable from here)."""
        with socket.create_connection(("127.0.0.1", local_port), timeout=2):
            pass
        code = f"""
        import socket

        def f(x):
            socket.create_connection(("127.0.0.1", {local_port}), timeout=1).close()
            return [1.0]
        """
        report = run(runner, code, call("f"))
        assert error_type(report) in ("PermissionError", "OSError")
        assert report.parts["f"].returns[0].value is None


class TestReturns:
    @pytest.mark.parametrize(("body", "says"), [
        ("class Sub(np.ndarray):\n    pass\n\ndef f(x):\n    return x.view(Sub)", "Sub"),
        ("def f(x):\n    return np.ma.masked_array(x)", "MaskedArray"),
        ("class Liar:\n    def __eq__(self, o):\n        return True\n"
         "    __array_priority__ = 1e9\n\ndef f(x):\n    return Liar()", "Liar"),
        ("import pickle\n\ndef f(x):\n    return pickle.dumps(x)", "bytes"),
        ("def f(x):\n    return np.array([1, 'a'], dtype=object)", "object"),
        ("def f(x):\n    return x + 1j", "complex"),
        ("def f(x):\n    return {'a': x, 'b': {'c': x}}", "nested"),
        ("def f(x):\n    return [x, 1.0]", "ndarray"),
    ], ids=["subclass", "masked", "lying-eq", "pickle", "object", "complex", "nested", "mixed"])
    def test_non_plain_returns_are_refused(self, runner: SandboxRunner, body: str,
                                           says: str) -> None:
        """Anything but plain numbers is refused with InvalidReturn, and no value crosses."""
        report = run(runner, "import numpy as np\n\n" + body + "\n", call("f"))
        ret = report.parts["f"].returns[0]
        assert ret.value is None and ret.error is not None
        assert ret.error.type == "InvalidReturn" and says in ret.error.message

    def test_huge_returns_are_refused(self, runner: SandboxRunner) -> None:
        """A return over result_bytes is refused, array or list alike."""
        code = """
        import numpy as np

        def f(x):
            return np.zeros(2**18)

        def g(x):
            return [0.0] * 2**23
        """
        report = run(runner, code, call("f"), call("g"))
        assert error_type(report) == "InvalidReturn"
        assert error_type(report, "g") == "InvalidReturn"


class TestEscapes:
    def test_exit_at_import(self, runner: SandboxRunner) -> None:
        """os._exit at import is a crash; nothing runs."""
        report = run(runner, "import os\nos._exit(3)\n", call("f"))
        assert report.import_status == "crashed" and "code 3" in report.detail

    def test_segfault(self, runner: SandboxRunner) -> None:
        """A segfault at import crashes the import; inside a part, only that part."""
        crash = "import ctypes\nctypes.string_at(0)\n"
        report = run(runner, crash, call("f"))
        assert report.import_status == "crashed" and "SIGSEGV" in report.detail
        code = "import ctypes\n\ndef g(x):\n    ctypes.string_at(0)\n\n" + CORRECT
        report = run(runner, code, call("g"), call("f"))
        assert report.parts["g"].status == "crashed" and "SIGSEGV" in report.parts["g"].detail
        assert report.parts["f"].status == "ok"

    def test_exit_inside_a_part(self, runner: SandboxRunner) -> None:
        """os._exit or sys.exit in a part crashes only that part."""
        code = """
        import os, sys

        def a(x):
            os._exit(0)

        def b(x):
            sys.exit(4)

        def f(x):
            return 2 * x
        """
        report = run(runner, code, call("a"), call("b"), call("f"))
        assert report.parts["a"].status == "crashed"
        assert report.parts["b"].status == "crashed" and "code 4" in report.parts["b"].detail
        assert report.parts["f"].status == "ok"

    def test_signal_handlers_cannot_stop_the_kill(self, runner: SandboxRunner) -> None:
        """An endless loop ignoring SIGALRM, SIGTERM and SIGINT is still stopped on time."""
        code = """
        import signal

        for s in (signal.SIGALRM, signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
            signal.signal(s, signal.SIG_IGN)

        def loop(x):
            while True:
                pass

        def f(x):
            return 2 * x
        """
        start = time.monotonic()
        report = run(runner, code, call("loop"), call("f"))
        assert time.monotonic() - start < FAST.part_seconds + 1.5
        assert report.parts["loop"].status == "timeout"
        assert report.parts["f"].status == "ok"

    def test_fork_bomb(self, runner: SandboxRunner) -> None:
        """A fork bomb is contained, killed with its part, and leaves no process behind."""
        code = """
        import os

        def bomb(x):
            while True:
                try:
                    os.fork()
                except OSError:
                    pass

        def f(x):
            return 2 * x
        """
        report = run(runner, code, call("bomb"), call("f"))
        assert report.parts["bomb"].status in ("timeout", "crashed")
        assert report.parts["f"].status == "ok"

    def test_daemon_does_not_survive(self, runner: SandboxRunner) -> None:
        """A double-forked daemon dies with its part and cannot touch later parts."""
        code = """
        import os, time

        def spawn(x):
            if os.fork() == 0:
                os.setsid()
                if os.fork() == 0:
                    while True:
                        time.sleep(0.01)
                os._exit(0)
            return x

        def f(x):
            return [len([p for p in os.listdir("/proc") if p.isdigit()])]
        """
        report = run(runner, code, call("spawn"), call("f"))
        # Only the submission's first process and this part's process exist.
        np.testing.assert_array_equal(value(report), [2])

    def test_memory_bomb(self, runner: SandboxRunner) -> None:
        """Exhausting memory costs only the part."""
        code = """
        import numpy as np

        def bomb(x):
            return [np.ones(10**7) for _ in range(1000)]

        def f(x):
            return 2 * x
        """
        report = run(runner, code, call("bomb"), call("f"))
        assert report.parts["bomb"].status == "memory"
        assert report.parts["f"].status == "ok"

    def test_output_flood(self, runner: SandboxRunner) -> None:
        """Flooding stdout and stderr is capped and does not stop the part."""
        code = """
        import os, sys

        def f(x):
            chunk = b"x" * 65536
            for _ in range(800):
                os.write(1, chunk)
                os.write(2, chunk)
            return 2 * x
        """
        start = time.monotonic()
        report = run(runner, code, call("f"))
        assert report.parts["f"].status == "ok" and len(report.parts["f"].output) == 4096
        assert time.monotonic() - start < 5

    def test_killing_the_parent(self, runner: SandboxRunner) -> None:
        """Killing the parent or the process group costs at most that part."""
        code = """
        import os, signal

        def parent(x):
            os.kill(os.getppid(), signal.SIGKILL)
            return 2 * x

        def group(x):
            os.killpg(os.getpgid(0), signal.SIGKILL)

        def everyone(x):
            os.kill(-1, signal.SIGKILL)
            return 2 * x

        def f(x):
            return 2 * x
        """
        report = run(runner, code, call("parent"), call("group"), call("everyone"), call("f"))
        assert report.parts["group"].status == "crashed"
        assert report.parts["f"].status == "ok"
        assert report.parts["parent"].status in ("ok", "crashed")

    def test_forged_frames_on_stdout_are_only_output(self, runner: SandboxRunner) -> None:
        """Result frames printed on stdout are captured as text and never parsed."""
        code = """
        import os, struct
        import numpy as np

        def f(x):
            body = b"\\x00\\x00\\x00\\x00" + b"\\x00\\x00\\x01" + struct.pack("<Q", 1)
            body += np.array([42.0]).tobytes()
            os.write(1, b"AG\\x01" + struct.pack("<I", len(body)) + body)
            return 2 * x
        """
        report = run(runner, code, call("f"))
        np.testing.assert_array_equal(value(report), 2 * np.arange(4.0))
        assert len(report.parts["f"].returns) == 1

    def test_forged_frames_on_every_fd(self, runner: SandboxRunner) -> None:
        """Writing forged frames to every fd fails that part only; no forged value is kept."""
        code = """
        import os, struct
        import numpy as np

        def frame():
            body = struct.pack("<I", 0) + b"\\x00\\x00\\x01" + struct.pack("<Q", 1)
            return b"AG\\x01" + struct.pack("<I", len(body) + 8) + body + np.array(
                [42.0]).tobytes()

        def forge(x):
            for fd in range(1024):
                try:
                    os.write(fd, frame() + b"garbage")
                except OSError:
                    pass
            return 2 * x

        def f(x):
            return 2 * x
        """
        report = run(runner, code, call("forge"), call("f"))
        forged = report.parts["forge"]
        assert forged.status == "crashed" and forged.detail == "sent malformed data"
        assert forged.returns == ()
        assert report.parts["f"].status == "ok"

    def test_forged_frames_at_import(self, runner: SandboxRunner) -> None:
        """Garbage written to every fd at import fails the submission, not the runner."""
        code = """
        import os

        for fd in range(3, 1024):
            try:
                os.write(fd, b"AG\\x0a\\xff\\xff\\xff\\x7f" + b"x" * 100)
            except OSError:
                pass

        def f(x):
            return 2 * x
        """
        report = run(runner, code, call("f"))
        assert report.import_status == "crashed" and report.parts == {}
        assert_graded_right(runner)

    def test_subprocesses_cannot_run(self, runner: SandboxRunner) -> None:
        """Running a program fails: there is none to run and exec is denied."""
        code = """
        import os, subprocess, sys

        def f(x):
            subprocess.run(["/bin/sh", "-c", "id"])

        def g(x):
            os.execv(sys.executable, [sys.executable, "-c", "pass"])
        """
        report = run(runner, code, call("f"), call("g"))
        assert error_type(report) in ("FileNotFoundError", "PermissionError")
        assert error_type(report, "g") in ("FileNotFoundError", "PermissionError")

    def test_kernel_surface_is_denied(self, runner: SandboxRunner) -> None:
        """Namespaces, mounts, ptrace and io_uring are refused by the seccomp filter."""
        code = """
        import ctypes, errno

        libc = ctypes.CDLL(None, use_errno=True)

        def f(x):
            out = []
            for nr, args in ((272, (0x10000000,)), (165, (b"none", b"/tmp", b"tmpfs", 0, 0)),
                             (101, (16, 1, 0, 0)), (425, (8, 0)), (59, (b"/x", 0, 0))):
                ctypes.set_errno(0)
                rc = libc.syscall(nr, *args)
                out.append(ctypes.get_errno() if rc == -1 else -1)
            return out
        """
        got = value(run(runner, code, call("f")))
        assert set(got.tolist()) <= {1.0, 13.0}  # EPERM or EACCES, never success

    def test_nothing_persists(self, runner: SandboxRunner) -> None:
        """Patching numpy, planting sitecustomize.py and writing files affect nothing later."""
        code = """
        import os, sys
        import numpy as np

        np.multiply = lambda *a, **k: 0
        sys.modules["numpy"].sum = lambda *a, **k: 0

        def f(x):
            ok = []
            for d in list(sys.path) + ["/tmp", "/", "/sandbox/site"]:
                try:
                    with open(os.path.join(d, "sitecustomize.py"), "w") as fh:
                        fh.write("import numpy; numpy.sum = lambda *a, **k: 0")
                    ok.append(1.0 if d != "/tmp" else 0.0)
                except OSError:
                    ok.append(0.0)
            return ok
        """
        report = run(runner, code, call("f"))
        assert not value(report).any()
        assert_graded_right(runner)
        summed = run(runner, "import numpy as np\n\ndef f(x):\n    return [np.sum(x)]\n",
                     call("f"))
        np.testing.assert_array_equal(value(summed), [6.0])
        assert not (Path("/tmp") / "sitecustomize.py").exists()


def test_host_pid_is_not_visible(runner: SandboxRunner) -> None:
    """The sandbox sees only its own processes, not the host's."""
    code = """
    import os

    def f(x):
        return [int(p) for p in os.listdir("/proc") if p.isdigit()]
    """
    got = value(run(runner, code, call("f")))
    assert sorted(got.tolist()) == [1.0, 2.0] and os.getpid() not in got
    assert struct.calcsize("<I") == 4


class TestNoSubmissionSeesAnother:
    def test_scanner_finds_nothing_of_earlier_submissions(self, runner: SandboxRunner) -> None:
        """20 submissions at real sizes, each with markers in its code, an input and an output;
        a scanner of all readable memory, /proc/self and every fd, at import and in a part,
        finds its own marker and none of theirs."""
        from reference.softmax_backprop import ASSIGNMENT

        from .scanner import digest, new_marker, scanner

        correct = (Path(__file__).parents[2] / "submissions" / "softmax_backprop"
                   / "correct.py").read_text()
        limits = dataclasses.replace(FAST, part_seconds=30.0, import_seconds=30.0)
        planted: list[str] = []
        for i in range(20):
            in_code, in_input, in_output = new_marker(), new_marker(), new_marker()
            planted += [in_code, in_input, in_output]
            hidden = bytes(b ^ 0x5A for b in in_output.encode()).hex()
            pad = "#" + "x" * (37 * 4**(i % 8)) + "\n"  # 37 B to 600 kB
            code = (f"# {in_code}\nNOTE = {in_code!r}\n{correct}\n{pad}"
                    f"def echo(x, pad):\n"
                    f"    return list(bytes(b ^ 0x5A for b in bytes.fromhex({hidden!r})))\n")
            cases = ASSIGNMENT.make_cases(i)
            calls = [PartCall(name, tuple(c.args for c in cs)) for name, cs in cases.items()]
            marker_input = np.frombuffer(in_input.encode(), dtype=np.uint8).copy()
            calls.append(PartCall("echo", ((marker_input, np.zeros(13 * 5**(i % 6))),)))
            report = run(runner, code, *calls, limits=limits)
            echoed = bytes(value(report, "echo").astype(np.uint8))
            assert echoed == in_output.encode()
            assert all(p.status == "ok" for p in report.parts.values())
        own = new_marker()
        report = run(runner, scanner([digest(m) for m in planted + [own]], own),
                     call("scan_part"), limits=limits)
        assert report.import_status == "ok", report
        names = {digest(m): f"submission {i // 3} ({('code', 'input', 'output')[i % 3]})"
                 for i, m in enumerate(planted)}
        for seen in (report.output, report.parts["scan_part"].output):
            words = seen.split()
            assert digest(own) in words  # the scan works: it sees the source it runs
            assert [names[w] for w in words if w in names] == []


HOSTILE_WRITER = """
import os, stat, fcntl

DATA = bytes.fromhex({data!r})

def hostile(x):
    for name in os.listdir("/proc/self/fd"):
        fd = int(name)
        try:
            if fd > 2 and stat.S_ISFIFO(os.fstat(fd).st_mode) and (
                    fcntl.fcntl(fd, fcntl.F_GETFL) & os.O_ACCMODE) == os.O_WRONLY:
                os.write(fd, DATA)
        except OSError:
            pass
    return {ret}

def f(x):
    return 2 * x
"""


class TestHostileFrames:
    @settings(max_examples=40, deadline=None,
              suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
    @given(data=channel_bytes, ret=st.sampled_from(["x", "None", "os._exit(0)"]))
    def test_any_bytes_on_a_channel_fail_that_part_only(self, runner: SandboxRunner,
                                                        data: bytes, ret: str) -> None:
        """Whatever bytes a part writes on its channel, the run completes, no exception
        escapes the runner, and the next part is graded as usual."""
        code = HOSTILE_WRITER.format(data=data.hex(), ret=ret)
        report = run(runner, code, call("hostile"), call("f"))
        np.testing.assert_array_equal(value(report), 2 * np.arange(4.0))
        hostile = report.parts["hostile"]
        if hostile.status == "crashed" and hostile.detail == "sent malformed data":
            assert hostile.returns == ()

    @pytest.mark.parametrize("body", [
        b"\x00" + struct.pack("<BBQQ", 0, 2, 0, 2**63),
        b"\x01" + struct.pack("<I", 1) + struct.pack("<H", 1) + b"k"
        + struct.pack("<Q", 18) + struct.pack("<BBQQ", 0, 2, 2**63, 0),
    ], ids=["array", "dict"])
    def test_zero_byte_array_of_impossible_shape(self, runner: SandboxRunner,
                                                 body: bytes) -> None:
        """A (0, 2**63) array, alone or in a dict, fails only its part: the grade goes on."""
        data = b"AG\x01" + struct.pack("<I", 4 + len(body)) + struct.pack("<I", 0) + body
        code = HOSTILE_WRITER.format(data=data.hex(), ret="os._exit(0)")
        report = run(runner, code, call("hostile"), call("f"))
        assert report.parts["hostile"].status == "crashed"
        assert report.parts["hostile"].detail == "sent malformed data"
        np.testing.assert_array_equal(value(report), 2 * np.arange(4.0))


class TestStorableText:
    def test_text_from_the_sandbox_is_storable(self, runner: SandboxRunner) -> None:
        """NUL, invalid UTF-8 and lone surrogates in output, exception message and traceback
        (a function's name) reach the report as valid UTF-8 without NUL, shown as U+FFFD."""
        code = """
        import os

        os.write(1, b"import\\x00\\xff\\xfe")

        def helper():
            raise ValueError("msg\\x00\\ud800 end")

        helper.__code__ = helper.__code__.replace(co_name="help\\x00\\udc80")

        def f(x):
            os.write(1, b"nul\\x00 bad\\xc3\\x28")
            print("surrogate \\udcff", flush=True)
            helper()

        def g(x):
            return {"k\\x00": x}
        """
        report = run(runner, code, call("f"), call("g"))
        err = report.parts["f"].returns[0].error
        assert err is not None
        texts = [report.output, report.parts["f"].output, err.type, err.message, *err.traceback]
        for text in texts:
            text.encode("utf-8")
            assert "\0" not in text
        assert "\ufffd" in report.output and "\ufffd" in report.parts["f"].output
        assert err.message == "msg\ufffd\ufffd end"
        assert "in help\ufffd\ufffd:" in err.traceback[-1]
        assert error_type(report, "g") == "InvalidReturn"


def _cgroups_of(runner: SandboxRunner) -> list[str]:
    """The submission cgroups of this runner's slot that exist now."""
    tree = runner._cgroups
    assert tree is not None
    prefix = f"autograde-{runner.uid - 64000}-"
    return sorted(os.path.join(folder, n) for folder in {tree.memory, tree.pids}
                  for n in os.listdir(folder) if n.startswith(prefix))


def _left_over(runner: SandboxRunner) -> list[str]:
    """Submission cgroups left once the kernel has let go of finished ones, other than the
    one waiting for the next submission."""
    runner._retire(wait=True)
    spare = runner._spare.cgroup if runner._spare is not None else None
    waiting = {spare.dir, spare.pids_dir} if spare is not None else set()
    return [p for p in _cgroups_of(runner) if p.rstrip("/") not in waiting]


class TestMemoryPerSubmission:
    def test_many_processes_cannot_add_up_past_the_limit(self, runner: SandboxRunner) -> None:
        """Five processes each under the per-process limit but together over the
        submission's: the part is 'memory', the next part runs, nothing is left over."""
        code = """
        import os, time
        import numpy as np

        def hog(x):
            kids = []
            for _ in range(5):
                pid = os.fork()
                if pid == 0:
                    keep = np.ones(80 * 2**20 // 8)
                    time.sleep(5)
                    os._exit(0)
                kids.append(pid)
            for pid in kids:
                os.waitpid(pid, 0)
            return x

        def f(x):
            return 2 * x
        """
        report = run(runner, code, call("hog"), call("f"))
        assert report.parts["hog"].status == "memory", report.parts["hog"]
        assert report.parts["f"].status == "ok"
        assert _left_over(runner) == []

    def test_memfd_pages_count(self, runner: SandboxRunner) -> None:
        """40 memfds of 16 MiB (not address space, so RLIMIT_AS misses them) are 'memory'."""
        code = """
        import os

        def hog(x):
            keep = []
            for _ in range(40):
                fd = os.memfd_create("x")
                for _ in range(16):
                    os.write(fd, b"x" * 2**20)
                keep.append(fd)
            return x

        def f(x):
            return 2 * x
        """
        report = run(runner, code, call("hog"), call("f"))
        assert report.parts["hog"].status == "memory", report.parts["hog"]
        assert report.parts["f"].status == "ok"

    def test_memfd_pages_at_import(self, runner: SandboxRunner) -> None:
        """Filling memfds at import is import status 'memory', not a crash."""
        code = """
        import os

        keep = []
        for _ in range(40):
            fd = os.memfd_create("x")
            for _ in range(16):
                os.write(fd, b"x" * 2**20)
            keep.append(fd)
        """
        report = run(runner, code, call("f"))
        assert report.import_status == "memory", report

    def test_limits_are_set_while_it_runs(self, runner: SandboxRunner) -> None:
        """While a part runs, the submission's cgroups exist with its limits and hold its
        processes; afterwards they are gone."""
        import threading

        seen: dict[str, str] = {}
        tree = runner._cgroups
        assert tree is not None

        def read(*path: str) -> str:
            with open(os.path.join(*path)) as fh:
                return fh.read().strip()

        def watch() -> None:
            for _ in range(400):
                time.sleep(0.01)
                for path in _cgroups_of(runner):
                    try:
                        working = read(path, "parts", "cgroup.procs")
                    except OSError:
                        continue
                    if working:  # the running submission's, not the next one's
                        name = os.path.basename(path)
                        seen["parts"] = working
                        seen["memory"] = read(path, "memory.limit_in_bytes")
                        seen["pids.max"] = read(tree.pids, name, "pids.max")
                        seen["procs"] = read(tree.pids, name, "cgroup.procs")
                        return

        thread = threading.Thread(target=watch)
        thread.start()
        report = run(runner, "import time\n\ndef f(x):\n    time.sleep(1)\n    return x\n",
                     call("f"))
        thread.join()
        assert report.parts["f"].status == "ok"
        assert seen["pids.max"] == "32" and seen["memory"] == str(FAST.memory_bytes)
        assert len(seen["parts"].split()) == 1  # the worker
        assert len(seen["procs"].split()) == 2  # the first process and the worker
        assert _left_over(runner) == []


class TestHostileWorker:
    def test_half_a_message_to_the_supervisor_does_not_stop_its_clock(
            self, runner: SandboxRunner) -> None:
        """A part that writes the start of a message on every socket and then hangs is
        stopped on time, and the next part still runs."""
        code = """
        import os, stat, struct, time

        def half(x):
            for name in os.listdir("/proc/self/fd"):
                fd = int(name)
                try:
                    if stat.S_ISSOCK(os.fstat(fd).st_mode):
                        os.write(fd, struct.pack("<BIQ", 12, 0, 1000) + b"x")
                except OSError:
                    pass
            time.sleep(60)

        def f(x):
            return 2 * x
        """
        start = time.monotonic()
        report = run(runner, code, call("half"), call("f"))
        assert time.monotonic() - start < FAST.part_seconds + 1.5
        assert report.parts["half"].status in ("crashed", "timeout")
        np.testing.assert_array_equal(value(report), 2 * np.arange(4.0))


class TestNothingOfTheHost:
    def test_command_lines_hold_no_host_path(self, runner: SandboxRunner) -> None:
        """The sandbox's processes' command lines and environments name no path of the
        project or of its virtual environment."""
        code = """
        import os

        def f(x):
            seen = b""
            for pid in [p for p in os.listdir("/proc") if p.isdigit()]:
                for name in ("cmdline", "environ"):
                    try:
                        seen += open(f"/proc/{pid}/{name}", "rb").read()
                    except OSError:
                        pass
            return list(seen[:8000])
        """
        seen = bytes(value(run(runner, code, call("f"))).astype(np.uint8)).decode("latin-1")
        assert "python" in seen  # the scan read something
        for needle in (REPO, "site-packages", ".venv", "numpy", "sandbox/boot"):
            assert needle not in seen, needle


#: Syscalls outside the seccomp allow list, by x86_64 number: each must fail with EPERM
#: (called with junk arguments, most would otherwise succeed or fail differently).
REFUSED = {
    "ptrace": 101, "process_vm_readv": 310, "mount": 165, "umount2": 166, "unshare": 272,
    "setns": 308, "pivot_root": 155, "chroot": 161, "open_tree": 428, "fsopen": 430,
    "io_uring_setup": 425, "keyctl": 250, "add_key": 248, "bpf": 321, "perf_event_open": 298,
    "userfaultfd": 323, "init_module": 175, "personality": 135, "syslog": 103,
    "clock_settime": 227, "iopl": 172, "execve": 59, "execveat": 322, "setuid": 105,
    "setresuid": 117, "setgroups": 116, "capset": 126, "chown": 92, "fchownat": 260,
    "mknod": 133, "sethostname": 170, "pidfd_getfd": 438, "kcmp": 312, "seccomp": 317,
    "landlock_create_ruleset": 444, "mbind": 237, "set_mempolicy": 238, "move_pages": 279,
    "inotify_init1": 294, "fanotify_init": 300, "modify_ldt": 154, "mlock": 149,
    "mlockall": 151, "shmget": 29, "semget": 64, "msgget": 68, "mq_open": 240, "ustat": 136,
}


class TestSeccompAllowList:
    def test_syscalls_off_the_list_are_refused(self, runner: SandboxRunner) -> None:
        """A few dozen syscalls that CPython and numpy do not need fail with EPERM."""
        code = f"""
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        NUMBERS = {sorted(REFUSED.values())!r}

        def f(x):
            out = []
            for nr in NUMBERS:
                ctypes.set_errno(0)
                rc = libc.syscall(nr, 0, 0, 0, 0, 0, 0)
                out.append(ctypes.get_errno() if rc == -1 else -1000 - rc)
            return out
        """
        got = value(run(runner, code, call("f"))).tolist()
        names = {nr: name for name, nr in REFUSED.items()}
        wrong = {names[nr]: e for nr, e in zip(sorted(REFUSED.values()), got, strict=True)
                 if e != 1.0}
        assert wrong == {}

    def test_the_usual_library_still_works(self, runner: SandboxRunner) -> None:
        """Threads, sleeping, randomness, temporary files, numpy's linalg, FFT and file I/O
        all work under the allow list."""
        code = """
        import os, random, tempfile, threading, time
        import numpy as np

        def f(x):
            box = []
            t = threading.Thread(target=lambda: box.append(1))
            t.start()
            t.join()
            time.sleep(0.001)
            os.urandom(8)
            random.random()
            with tempfile.TemporaryDirectory() as d:
                np.save(os.path.join(d, "a.npy"), x)
                back = np.load(os.path.join(d, "a.npy"))
            u, s, vt = np.linalg.svd(np.outer(x, x) + np.eye(len(x)))
            return back + np.fft.ifft(np.fft.fft(x)).real - x + len(box) - 1
        """
        np.testing.assert_allclose(value(run(runner, code, call("f"))), np.arange(4.0))
