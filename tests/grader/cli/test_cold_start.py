"""`autograde grade` starts cold fast: only the engine, the assignment and the sandbox load, and
the sandbox boots while the rest is prepared."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from grader.cli.early import EarlyStart, start_early, take_early
from grader.engine.registry import get_plugin
from grader.engine.runner_contract import RunnerError
from tests.services import ROOT, wait_until
from worker.sandbox import SandboxRunner

pytestmark = pytest.mark.sandbox

CORRECT = ROOT / "tests" / "submissions" / "softmax_backprop" / "correct.py"
#: Packages of the service that grading one file must never load.
SERVICE_PACKAGES = ("flask", "sqlalchemy", "werkzeug", "celery", "kombu", "alembic",
                    "pylti1p3", "jwt", "psycopg", "redis", "flask_wtf")


def imported_modules(*args: str) -> tuple[set[str], str]:
    """Run the installed ``autograde`` with ``args``; the modules it imported, and stdout."""
    script = Path(sys.executable).parent / "autograde"
    env = dict(os.environ, PYTHONPROFILEIMPORTTIME="1")
    result = subprocess.run([str(script), *args], cwd=ROOT, env=env, capture_output=True,
                            text=True, timeout=120)
    assert result.returncode == 0, result.stderr[-2000:]
    names = set(re.findall(r"^import time:\s+\d+ \|\s+\d+ \|\s*(\S+)$", result.stderr, re.M))
    assert "numpy" in names  # the profile was read
    return names, result.stdout


class TestLazyCommands:
    def test_every_command_is_listed_and_loads(self) -> None:
        """--help lists every command, and each one loads and shows its own help."""
        from click.testing import CliRunner

        from grader.cli import COMMANDS, main

        listing = CliRunner().invoke(main, ["--help"])
        assert listing.exit_code == 0
        for name in COMMANDS:
            assert re.search(rf"^  {name} ", listing.output, re.M), name
            shown = CliRunner().invoke(main, [name, "--help"])
            assert shown.exit_code == 0 and "Usage: main " + name in shown.output, shown.output

    def test_unknown_command_is_a_usage_error(self) -> None:
        """A command that does not exist is a usage error naming it."""
        from click.testing import CliRunner

        from grader.cli import main

        result = CliRunner().invoke(main, ["gradee"])
        assert result.exit_code == 2 and "No such command 'gradee'" in result.output


class TestColdStart:
    @pytest.mark.parametrize("output", ["--json", "--text"])
    def test_grading_one_file_loads_nothing_of_the_service(self, output: str) -> None:
        """Grading a file (JSON or the readable report) imports neither Flask nor SQLAlchemy,
        nor anything else of the web service."""
        flags = ["--json"] if output == "--json" else []
        names, out = imported_modules("grade", str(CORRECT), "-a", "softmax-backprop",
                                      "--seed", "5", *flags)
        loaded = sorted(n for n in names if n.split(".")[0] in SERVICE_PACKAGES)
        assert loaded == []
        assert not any(n.startswith(("grader.cli.service", "grader.cli.lti", "grader.app"))
                       for n in names)
        if output == "--json":
            assert json.loads(out)["score"] == 90.0

    def test_zygote_starts_before_the_first_run(self) -> None:
        """EarlyStart boots the sandbox in the background; run() then grades through it."""
        from grader.engine.grade import grade

        runner = SandboxRunner()
        early = EarlyStart(runner)
        try:
            assert wait_until(lambda: runner.level, timeout=60) == "full"
            result = grade(CORRECT.read_text(), get_plugin("softmax-backprop"), seed=1,
                           runner=early)
            assert result.score == result.max_score
        finally:
            early.close()

    def test_start_failure_is_raised_by_run(self) -> None:
        """A sandbox that cannot start makes run() raise the runner's own error."""
        runner = SandboxRunner()
        runner._withheld = frozenset({"seccomp"})  # as if the kernel refused seccomp
        early = EarlyStart(runner)
        try:
            with pytest.raises(RunnerError, match="seccomp"):
                early.run("def f(x):\n    return x\n", [], get_plugin("softmax-backprop").limits)
        finally:
            early.close()


class TestEntryPoint:
    def test_grade_takes_the_sandbox_the_entry_point_started(self) -> None:
        """The sandbox started before the parser loads is the one grade uses, if it was
        started with the same isolation setting; otherwise a new one is made."""
        first = start_early(allow_reduced=False)
        taken = take_early(allow_reduced=False)
        try:
            assert taken is first
            assert wait_until(lambda: first.runner.level, timeout=60) == "full"
        finally:
            taken.close()
        start_early(allow_reduced=False)
        other = take_early(allow_reduced=True)
        try:
            assert other is not first and other.allow_reduced
        finally:
            other.close()
        fresh = take_early(allow_reduced=False)  # nothing started: a new one
        fresh.close()
        assert fresh is not first and not fresh.allow_reduced
