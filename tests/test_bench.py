"""The benchmark scripts run end to end (with tiny counts), so the figures stay reproducible."""

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

pytestmark = [pytest.mark.slow, pytest.mark.sandbox]


def bench(script: str, *args: str) -> str:
    result = subprocess.run([sys.executable, str(ROOT / "bench" / script), *args], cwd=ROOT,
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout


def test_sandbox_bench() -> None:
    """bench_sandbox.py grades the installed assignment and prints medians, p95, the ratios
    and CPU per grade, at full isolation."""
    out = bench("bench_sandbox.py", "--seeds", "2", "--rounds", "1")
    assert "sandbox level: full" in out and "ratio" in out and "median" in out
    assert "assignment softmax-backprop" in out and "CPU per grade" in out


@pytest.mark.redis
@pytest.mark.postgres
def test_service_bench() -> None:
    """bench_service.py grades through the real stack and prints latency and throughput."""
    out = bench("bench_service.py", "--light", "2", "--burst", "4")
    assert "light load" in out and "submissions/s graded (4/4 graded" in out


def test_cold_start_bench() -> None:
    """bench_cold_start.py grades through the installed command and prints the ratio of medians
    to a bare numpy import, with the load average."""
    out = bench("bench_cold_start.py", "--runs", "1")
    assert "sandbox level: full" in out and "ratio of medians" in out
    assert "load average before" in out


@pytest.mark.redis
@pytest.mark.postgres
def test_load_bench(tmp_path: Path) -> None:
    """bench_load.py replays a tiny deadline on both stacks: the floor, light-load overhead,
    percentiles, the queue over time, nothing lost, and a PNG for each stack."""
    png = tmp_path / "load-{stack}.png"
    out = bench("bench_load.py", "--submissions", "10", "--students", "10", "--duration", "4",
                "--light", "2", "--floor", "4", "--png", str(png))
    assert "floor, same mix: grade() median" in out
    assert out.count("lost: 0 (must be 0)") == 2
    assert out.count("service overhead median") == 2 and "p99" in out
    assert "queue depth (queued) peak" in out and "load average before" in out
    for stack in ("serve", "production"):
        assert (tmp_path / f"load-{stack}.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
