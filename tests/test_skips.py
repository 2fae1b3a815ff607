"""The suite's rule on skips: only the browser tests, only without chromium, said plainly."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from tests.services import ROOT, service_env

SAMPLE = """
import pytest

from tests.conftest import NO_CHROMIUM


def test_needs_a_browser():
    pytest.skip(NO_CHROMIUM)


def test_runs():
    pass
"""


def run_sample(tmp_path: Path, **env: str) -> subprocess.CompletedProcess[str]:
    (tmp_path / "test_sample.py").write_text(SAMPLE)
    environment = service_env({})
    environment.pop("AUTOGRADE_TEST_FAIL_ON_SKIP", None)
    environment.update(env)
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "tests.conftest", "-p", "no:cacheprovider",
         "-q", str(tmp_path / "test_sample.py")],
        cwd=ROOT, env=environment, capture_output=True, text=True, timeout=120,
    )


class TestSkips:
    def test_missing_chromium_is_named_in_the_summary(self, tmp_path: Path) -> None:
        """A browser test skipped for want of chromium is counted in a line that says why."""
        result = run_sample(tmp_path)
        assert result.returncode == 0, result.stdout
        assert "1 browser tests skipped: Debian's chromium is not installed" in result.stdout

    def test_fail_on_skip(self, tmp_path: Path) -> None:
        """With AUTOGRADE_TEST_FAIL_ON_SKIP set, a run with a skipped test fails."""
        result = run_sample(tmp_path, AUTOGRADE_TEST_FAIL_ON_SKIP="1")
        assert result.returncode == 1, result.stdout
        assert "AUTOGRADE_TEST_FAIL_ON_SKIP is set and 1 tests were skipped" in result.stdout
