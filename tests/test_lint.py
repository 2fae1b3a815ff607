"""The code stays as pyproject.toml configures it: ruff clean, mypy strict clean, and the
import contracts (the architecture) kept."""

import re
import shutil
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


def lint_imports(cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(Path(sys.executable).parent / "lint-imports"), "--no-cache"], cwd=cwd,
        capture_output=True, text=True, timeout=600, env={"PYTHONPATH": str(cwd), "PATH": ""},
    )


def test_import_contracts() -> None:
    """The layers and the Flask-free grading core hold (contracts in pyproject.toml)."""
    result = lint_imports(ROOT)
    assert result.returncode == 0, result.stdout + result.stderr
    status = contract_status(result.stdout)
    assert len(status["KEPT"]) >= 6 and not status["BROKEN"], result.stdout


@pytest.mark.parametrize(("module", "line", "contract"), [
    ("grader/engine/score.py", "import flask", "imports neither Flask nor SQLAlchemy"),
    ("worker/sandbox/_wire.py", "from grader.engine import result", "nothing of the app"),
    ("reference/softmax_backprop/cases.py", "import grader.domain.runs", "only the plugin"),
    ("grader/domain/runs.py", "from grader.web import student", "call the domain"),
])
def test_a_forbidden_import_breaks_a_contract(tmp_path: Path, module: str, line: str,
                                              contract: str) -> None:
    """Each contract fails when the import it forbids is added to a copy of the code."""
    for name in ("grader", "worker", "reference"):
        shutil.copytree(ROOT / name, tmp_path / name,
                        ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(ROOT / "pyproject.toml", tmp_path)
    target = tmp_path / module
    target.write_text(target.read_text() + f"\n{line}  # noqa\n")
    result = lint_imports(tmp_path)
    assert result.returncode != 0, result.stdout
    assert contract in " ".join(contract_status(result.stdout)["BROKEN"]), result.stdout


def contract_status(report: str) -> dict[str, list[str]]:
    """Contract names by status, read from lint-imports' summary."""
    summary = " ".join(report.split("dependencies.", 1)[1].split("Contracts:", 1)[0].split())
    found: dict[str, list[str]] = {"KEPT": [], "BROKEN": []}
    for name, status in re.findall(r"-*\s*(.+?) (KEPT|BROKEN)", summary):
        found[status].append(name)
    return found
