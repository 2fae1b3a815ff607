"""The code stays as pyproject.toml configures it: ruff clean, mypy strict clean."""

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

pytestmark = pytest.mark.slow


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", *args], cwd=ROOT, capture_output=True,
                          text=True, timeout=600)


def test_ruff() -> None:
    """ruff (B E F I UP W) finds nothing."""
    result = run("ruff", "check", ".")
    assert result.returncode == 0, result.stdout + result.stderr


def test_mypy_strict() -> None:
    """mypy --strict over grader/, reference/ and worker/ finds nothing."""
    result = run("mypy")
    assert result.returncode == 0, result.stdout + result.stderr
