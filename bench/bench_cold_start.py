"""Cold start of ``autograde grade``: one file graded from a fresh process, against the floor.

The floor is a bare ``python -c "import numpy"`` with the same interpreter (so the same
``site`` and installed packages). Each round runs both, in alternating order, so a change in
the machine's load hits both alike; the figure is the ratio of the medians. The command
graded is the installed ``autograde`` console script on a correct softmax-backprop
submission (every part runs in the sandbox at full isolation), printing JSON.

Usage: python bench/bench_cold_start.py [--runs 15] [--target 2.5]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SUBMISSION = ROOT / "tests" / "submissions" / "softmax_backprop" / "correct.py"


def grade_command(seed: int) -> list[str]:
    script = Path(sys.executable).parent / "autograde"
    entry = [str(script)] if script.exists() else [sys.executable, "-m", "grader.cli"]
    return [*entry, "grade", str(SUBMISSION), "-a", "softmax-backprop", "--seed", str(seed),
            "--json"]


def timed(command: list[str]) -> tuple[float, str]:
    """Wall-clock seconds of one run (which must succeed), and its standard output."""
    t0 = time.perf_counter()
    done = subprocess.run(command, capture_output=True, text=True, cwd=ROOT, timeout=120)
    elapsed = time.perf_counter() - t0
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(command)} failed ({done.returncode}):\n{done.stderr}")
    return elapsed, done.stdout


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=15, help="rounds (each runs both commands)")
    parser.add_argument("--target", type=float, default=2.5, help="ratio to meet")
    args = parser.parse_args()
    if args.runs < 1:
        parser.error("--runs must be at least 1")

    floor_command = [sys.executable, "-c", "import numpy"]
    timed(floor_command)  # both once, untimed: the first run of each fills the page cache
    timed(grade_command(0))

    load_before = os.getloadavg()
    floor: list[float] = []
    grade: list[float] = []
    for n in range(args.runs):
        pair = [("floor", floor_command), ("grade", grade_command(n))]
        for name, command in pair if n % 2 == 0 else reversed(pair):
            elapsed, out = timed(command)
            if name == "floor":
                floor.append(elapsed)
                continue
            result = json.loads(out)
            if result["status"] != "graded" or result["score"] != result["max_score"]:
                raise SystemExit(f"the correct submission was not fully graded: {out[:500]}")
            if result["sandbox_level"] != "full":
                raise SystemExit(f"sandbox level is {result['sandbox_level']}, not full")
            grade.append(elapsed)
    load_after = os.getloadavg()

    ratio = statistics.median(grade) / statistics.median(floor)
    print(f"autograde grade, one file, {args.runs} interleaved runs each "
          "(sandbox level: full):")
    print(f"  floor  python -c 'import numpy': median {statistics.median(floor) * 1000:.0f} ms "
          f"(min {min(floor) * 1000:.0f}, max {max(floor) * 1000:.0f})")
    print(f"  autograde grade FILE --json:      median {statistics.median(grade) * 1000:.0f} ms "
          f"(min {min(grade) * 1000:.0f}, max {max(grade) * 1000:.0f})")
    print(f"  ratio of medians {ratio:.2f}x (target <= {args.target:g}x: "
          f"{'met' if ratio <= args.target else 'NOT met'})")
    print("  load average before {:.2f} {:.2f} {:.2f}, after {:.2f} {:.2f} {:.2f}".format(
        *load_before, *load_after))
    return 0


if __name__ == "__main__":
    sys.exit(main())
