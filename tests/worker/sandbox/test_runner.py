"""What the sandbox runner returns for ordinary submissions, errors and limits."""

from __future__ import annotations

import dataclasses
import logging
import time

import numpy as np
import pytest

from grader.engine.runner_contract import Limits, PartCall, RunnerError
from worker.sandbox import SandboxRunner, sandbox_level

from .conftest import FAST, call, run

pytestmark = pytest.mark.sandbox

GOOD = """
import numpy as np

def double(x):
    return 2 * x

def affine(x, lam):
    return x + lam

def grads(x):
    return {"W": x.reshape(2, 2), "b": [1, 2.5]}

def as_list(x):
    return [[1, 2], [3, 4.5]]
"""


class TestResults:
    def test_correct_module_returns_arrays(self, runner: SandboxRunner) -> None:
        """Each case's return value comes back as a plain float64 array."""
        x = np.arange(4.0)
        report = run(runner, GOOD, call("double", (x,), (x + 1,)), call("affine", (x, 0.5)))
        assert report.import_status == "ok" and report.sandbox_level == "full"
        double = report.parts["double"]
        assert double.status == "ok"
        assert [type(r.value) for r in double.returns] == [np.ndarray, np.ndarray]
        np.testing.assert_array_equal(double.returns[1].value, 2 * (x + 1))
        np.testing.assert_array_equal(report.parts["affine"].returns[0].value, x + 0.5)

    def test_dicts_and_lists_are_converted(self, runner: SandboxRunner) -> None:
        """A dict of arrays stays a dict; nested lists of numbers become float64 arrays."""
        report = run(runner, GOOD, call("grads"), call("as_list"))
        value = report.parts["grads"].returns[0].value
        assert isinstance(value, dict) and set(value) == {"W", "b"}
        assert value["W"].shape == (2, 2) and value["b"].dtype == np.float64
        listed = report.parts["as_list"].returns[0].value
        assert isinstance(listed, np.ndarray) and listed.dtype == np.float64

    def test_exception_has_student_only_traceback(self, runner: SandboxRunner) -> None:
        """An exception becomes that case's error, with frames from the student file only."""
        code = """
        import numpy as np

        def helper(a):
            return a @ np.ones((5, 5))

        def grad(x):
            return helper(x)
        """
        report = run(runner, code, call("grad", (np.ones(3),), (np.ones(5),)))
        part = report.parts["grad"]
        assert part.status == "ok"
        err = part.returns[0].error
        assert err is not None and err.type == "ValueError"
        assert err.traceback == ("line 8, in grad: return helper(x)",
                                 "line 5, in helper: return a @ np.ones((5, 5))")
        assert part.returns[1].value is not None

    def test_missing_function(self, runner: SandboxRunner) -> None:
        """A part whose function is absent or not callable is 'missing'; others still run."""
        report = run(runner, GOOD + "\nnot_callable = 3\n", call("nope"), call("not_callable"),
                     call("double"))
        assert report.parts["nope"].status == "missing"
        assert report.parts["not_callable"].status == "missing"
        assert report.parts["double"].status == "ok"

    def test_syntax_error_has_lineno(self, runner: SandboxRunner) -> None:
        """A syntax error is reported with its line number and no parts run."""
        report = run(runner, "import numpy\n\ndef f(x)\n    return x\n", call("f"))
        assert report.import_status == "syntax_error"
        assert report.import_error is not None and report.import_error.lineno == 3
        assert report.parts == {}

    def test_import_error(self, runner: SandboxRunner) -> None:
        """An exception at import, SystemExit included, is an import error."""
        report = run(runner, "import scipy_not_here\n", call("f"))
        assert report.import_status == "import_error"
        assert report.import_error is not None
        assert report.import_error.type == "ModuleNotFoundError"
        assert report.import_error.traceback == ("line 1, in <module>: import scipy_not_here",)
        assert run(runner, "raise SystemExit(2)\n", call("f")).import_status == "import_error"

    def test_mutated_inputs_do_not_leak(self, runner: SandboxRunner) -> None:
        """Every call gets fresh copies: mutating an argument does not affect the next case."""
        code = """
        def f(x):
            x += 100
            return x.copy()
        """
        x = np.zeros(3)
        report = run(runner, code, call("f", (x,), (x,)))
        values = [r.value for r in report.parts["f"].returns]
        np.testing.assert_array_equal(values[0], values[1])
        np.testing.assert_array_equal(x, np.zeros(3))

    def test_scalars_are_passed(self, runner: SandboxRunner) -> None:
        """Float, int and bool arguments arrive with their Python types."""
        code = """
        def f(a, b, c):
            return [float(type(a) is float), float(type(b) is int), float(c is True)]
        """
        report = run(runner, code, call("f", (0.5, 3, True)))
        np.testing.assert_array_equal(report.parts["f"].returns[0].value, [1.0, 1.0, 1.0])


class TestLimits:
    def test_timeout_costs_only_that_part(self, runner: SandboxRunner) -> None:
        """A part over its time is 'timeout' with earlier cases kept; later parts answer."""
        code = """
        import time

        def slow(x):
            if x[0] > 0:
                time.sleep(60)
            return x

        def fast(x):
            return x
        """
        start = time.monotonic()
        report = run(runner, code, call("slow", (np.zeros(1),), (np.ones(1),)), call("fast"))
        assert time.monotonic() - start < FAST.part_seconds + 1.5
        slow = report.parts["slow"]
        assert slow.status == "timeout" and len(slow.returns) == 1
        assert report.parts["fast"].status == "ok"

    def test_memory(self, runner: SandboxRunner) -> None:
        """Allocating past the memory limit is 'memory'; later parts answer."""
        code = """
        import numpy as np

        def hog(x):
            return np.ones(10**9)

        def grow(x):
            keep = []
            while True:
                keep.append(bytearray(10**7))

        def fine(x):
            return x
        """
        report = run(runner, code, call("hog"), call("grow"), call("fine"))
        assert report.parts["hog"].status == "memory"
        assert report.parts["grow"].status == "memory"
        assert report.parts["fine"].status == "ok"

    def test_memory_at_import(self, runner: SandboxRunner) -> None:
        """Running out of memory while importing is import status 'memory'."""
        report = run(runner, "blob = bytearray(10**10)\n", call("f"))
        assert report.import_status == "memory"

    def test_output_is_capped_and_kept_apart(self, runner: SandboxRunner) -> None:
        """Printed output is captured per part and at import, capped, and never parsed."""
        code = """
        print("hello from import")

        def chatty(x):
            for i in range(10000):
                print("line", i)
            return x
        """
        report = run(runner, code, call("chatty"))
        assert report.output == "hello from import\n"
        part = report.parts["chatty"]
        assert part.status == "ok" and part.output.startswith("line 0\n")
        assert len(part.output) == FAST.output_bytes

    def test_slow_import_times_out(self, runner: SandboxRunner) -> None:
        """An import longer than import_seconds is 'timeout'."""
        start = time.monotonic()
        report = run(runner, "import time\ntime.sleep(30)\n", call("f"))
        assert report.import_status == "timeout"
        assert time.monotonic() - start < FAST.import_seconds + 1.5

    def test_endless_part_with_default_limits(self, runner: SandboxRunner) -> None:
        """With the default limits, one endless part still ends the run well under a minute."""
        limits = dataclasses.replace(Limits(), part_seconds=3.0)
        start = time.monotonic()
        report = run(runner, "def f(x):\n    while True:\n        pass\n", call("f"),
                     limits=limits)
        assert report.parts["f"].status == "timeout"
        assert time.monotonic() - start < 5


class TestRunner:
    def test_level_is_reported_without_running_code(self) -> None:
        """sandbox_level() names the isolation this machine allows."""
        assert sandbox_level() == "full"

    def test_zygote_is_restarted_if_it_dies(self, runner: SandboxRunner) -> None:
        """A dead zygote is replaced on the next run."""
        assert runner._proc is not None
        runner._proc.kill()
        runner._proc.wait()
        report = run(runner, GOOD, call("double"))
        assert report.parts["double"].status == "ok"

    def test_zygote_dying_mid_run_is_retried(self, runner: SandboxRunner) -> None:
        """If the zygote dies during a run, the run is retried on a new zygote, not failed."""
        import threading

        code = "import time\n\ndef f(x):\n    time.sleep(0.5)\n    return x\n"
        runner.start()
        proc = runner._proc
        assert proc is not None
        threading.Timer(0.2, proc.kill).start()
        report = run(runner, code, call("f"))
        assert report.parts["f"].status == "ok" and runner._proc is not proc

    def test_runs_from_several_threads(self, runner: SandboxRunner) -> None:
        """Concurrent calls are serialised and each gets its own answer."""
        from concurrent.futures import ThreadPoolExecutor

        def one(k: float) -> float:
            report = runner.run(GOOD, [PartCall("affine", ((np.zeros(1), k),))], FAST)
            value = report.parts["affine"].returns[0].value
            assert isinstance(value, np.ndarray)
            return float(value[0])

        with ThreadPoolExecutor(4) as pool:
            assert list(pool.map(one, [1.0, 2.0, 3.0, 4.0])) == [1.0, 2.0, 3.0, 4.0]


class TestFailClosed:
    def test_refuses_to_start_without_a_layer(self) -> None:
        """A runner whose kernel refuses a layer raises, naming the layer."""
        r = SandboxRunner()
        r._withheld = frozenset({"landlock"})
        with pytest.raises(RunnerError, match="no landlock"):
            r.start()
        r.close()

    def test_reduced_mode_is_opt_in_loud_and_reported(
            self, caplog: pytest.LogCaptureFixture) -> None:
        """With allow_reduced the runner warns, runs, and reports the level in each report."""
        with SandboxRunner(allow_reduced=True) as r:
            r._withheld = frozenset({"landlock", "seccomp"})
            with caplog.at_level(logging.WARNING):
                assert r.start() == "reduced: no landlock, no seccomp"
            assert "REDUCED" in caplog.text
            report = run(r, GOOD, call("double"))
        assert report.sandbox_level == "reduced: no landlock, no seccomp"
        np.testing.assert_array_equal(report.parts["double"].returns[0].value,
                                      2 * np.arange(4.0))

    def test_reduced_mode_without_namespaces_still_isolates_parts(self) -> None:
        """Without namespaces a part's crash, loop or daemon still costs only that part."""
        code = GOOD + """
import os, time

def loop(x):
    if os.fork() == 0:
        while True:
            time.sleep(0.01)
    while True:
        pass
"""
        with SandboxRunner(allow_reduced=True) as r:
            r._withheld = frozenset({"namespaces", "filesystem"})
            report = run(r, code, call("loop"), call("double"))
        assert report.sandbox_level == "reduced: no namespaces, no filesystem"
        assert report.parts["loop"].status == "timeout"
        assert report.parts["double"].status == "ok"

    def test_without_cgroups_it_fails_closed_or_says_so(self) -> None:
        """Without a cgroup per submission the runner refuses to start, naming it; with
        allow_reduced it runs and every report says 'no cgroup'."""
        strict = SandboxRunner()
        strict._withheld = frozenset({"cgroup"})
        with pytest.raises(RunnerError, match="no cgroup"):
            strict.start()
        strict.close()
        with SandboxRunner(allow_reduced=True) as r:
            r._withheld = frozenset({"cgroup"})
            assert r.start() == "reduced: no cgroup"
            report = run(r, GOOD, call("double"))
        assert report.sandbox_level == "reduced: no cgroup"
        assert report.parts["double"].status == "ok"
