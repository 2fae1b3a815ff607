"""The ``autograde grade`` and ``assignments`` commands, run as a user would run them."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

SUBMISSIONS = Path(__file__).parents[1] / "submissions" / "softmax_backprop"


def autograde(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "grader.cli", *args], capture_output=True, text=True,
        timeout=120, env={**os.environ, **(env or {})},
    )


class TestAssignments:
    def test_lists_installed(self) -> None:
        """`assignments` lists softmax-backprop with its points and parts."""
        out = autograde("assignments")
        assert out.returncode == 0
        assert "softmax-backprop" in out.stdout and "90 points" in out.stdout


@pytest.mark.sandbox
class TestGrade:
    def test_json_is_one_document_and_reproducible(self) -> None:
        """--json prints exactly one JSON document, identical for the same seed."""
        path = str(SUBMISSIONS / "missing_relu_mask.py")
        first = autograde("grade", path, "-a", "softmax-backprop", "--seed", "5", "--json")
        second = autograde("grade", path, "-a", "softmax-backprop", "--seed", "5", "--json")
        assert first.returncode == 0, first.stderr
        assert first.stdout == second.stdout
        doc = json.loads(first.stdout)
        assert set(doc) >= {"assignment", "seed", "score", "max_score", "status", "feedback",
                            "parts"}
        assert doc["seed"] == 5 and doc["status"] == "graded" and doc["score"] < 90
        part = next(p for p in doc["parts"] if p["name"] == "grad_b1")
        assert set(part) >= {"name", "score", "max_score", "status", "diagnoses", "feedback"}
        assert part["diagnoses"] == ["missing_relu_mask"]

    def test_readable_report_names_the_mistake(self) -> None:
        """The default report shows the table, the diagnosis and the counterexample."""
        out = autograde("grade", str(SUBMISSIONS / "missing_batch_mean.py"), "-a",
                        "softmax-backprop", "--seed", "3")
        assert out.returncode == 0, out.stderr
        assert "missing_batch_mean" in out.stdout and "1/N batch mean" in out.stdout
        assert "from submission import grad_z3" in out.stdout

    def test_needs_no_service_settings(self) -> None:
        """grade works with broken service settings in the environment: it never reads them."""
        env = {"AUTOGRADE_DATABASE_URL": "postgresql://nobody@127.0.0.1:1/none",
               "AUTOGRADE_REDIS_URL": "redis://127.0.0.1:1/0"}
        out = autograde("grade", str(SUBMISSIONS / "correct.py"), "-a", "softmax-backprop",
                        "--json", env=env)
        assert out.returncode == 0, out.stderr
        doc = json.loads(out.stdout)
        assert doc["score"] == doc["max_score"] == 90 and isinstance(doc["seed"], int)

    def test_usage_errors_exit_nonzero(self, tmp_path: Path) -> None:
        """An unknown assignment, a missing file or a non-UTF-8 file is a usage error."""
        unknown = autograde("grade", str(SUBMISSIONS / "correct.py"), "-a", "nope")
        assert unknown.returncode == 2 and "unknown assignment" in unknown.stderr
        missing = autograde("grade", str(tmp_path / "none.py"), "-a", "softmax-backprop")
        assert missing.returncode == 2
        latin = tmp_path / "latin1.py"
        latin.write_bytes("# caf\xe9\n".encode("latin-1"))
        bad = autograde("grade", str(latin), "-a", "softmax-backprop")
        assert bad.returncode == 2 and "UTF-8" in bad.stderr

    def test_help_describes_isolation(self) -> None:
        """--help says where student code runs."""
        out = autograde("grade", "--help")
        assert out.returncode == 0 and "sandbox" in out.stdout
