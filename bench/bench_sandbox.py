"""Sandbox benchmark on the installed assignment: its own cases, several seeds, correct and
wrong submissions, through the real path.

For every grade it measures, in the same run and on the same cases:

* in-process floor: the submission's functions called on fresh copies of every case's inputs
  in this process, with no isolation at all (the module is imported once beforehand);
* sandbox run: ``SandboxRunner.run`` with the same calls and every isolation layer (fork from
  the zygote, namespaces, cgroup, uid, user namespace, Landlock, seccomp, import, parts),
  timed once the next sandbox is forked, as it is between grades in the service (the runner
  forks it while the engine compares and makes the next cases);
* whole ``grade()``: cases and reference, run, compare (the engine's own split; with the
  sandbox starting and importing while the cases are made, "run" is only what is left).

Wall times follow whatever else the machine runs; so the script also reports CPU time per
grade (this process, plus the zygote and every sandbox process it reaped, from /proc), which
a busy machine disturbs much less: the ratio of CPU times is the cost of the isolation.

Usage: python bench/bench_sandbox.py [--assignment softmax-backprop] [--seeds 25] [--rounds 4]
"""

from __future__ import annotations

import argparse
import math
import os
import statistics
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

from grader.engine.grade import grade
from grader.engine.registry import get_plugin
from grader.engine.runner_contract import PartCall
from worker.sandbox import SandboxRunner

SUBMISSIONS = Path(__file__).resolve().parent.parent / "tests" / "submissions"


def submissions(slug: str) -> dict[str, str]:
    """A correct and a wrong submission of the assignment (its sample files)."""
    folder = SUBMISSIONS / slug.replace("-", "_")
    return {"correct": (folder / "correct.py").read_text(),
            "wrong": (folder / "sign_error.py").read_text()}


def floor_of(code: str) -> Callable[[list[PartCall]], None]:
    """The in-process floor: the same calls on fresh copies, no isolation."""
    namespace: dict[str, object] = {"__name__": "submission"}
    exec(compile(code, "submission.py", "exec"), namespace)

    def call_all(calls: list[PartCall]) -> None:
        for call in calls:
            fn = namespace[call.name]
            for args in call.cases:
                try:
                    fn(*(a.copy() if isinstance(a, np.ndarray) else a  # type: ignore[operator]
                         for a in args))
                except Exception:  # noqa: S112 - a wrong submission may raise; so be it
                    continue
    return call_all


def cpu_ms(zygote: int | None = None) -> float:
    """CPU milliseconds so far of this process, or of the zygote and its reaped children."""
    if zygote is None:
        t = os.times()
        return (t.user + t.system) * 1000
    with open(f"/proc/{zygote}/stat") as fh:
        fields = fh.read().rsplit(")", 1)[1].split()
    return sum(int(x) for x in fields[11:15]) * 1000 / os.sysconf("SC_CLK_TCK")


def stats(values: list[float]) -> tuple[float, float]:
    """Median and p95."""
    ordered = sorted(values)
    # Nearest rank, so the p95 of a few values is their largest, never below the median.
    rank = max(0, math.ceil(0.95 * len(ordered)) - 1)
    return statistics.median(ordered), ordered[rank]


def _times(value: float, floor: float) -> str:
    # A floor too small for the clock (a tiny run) has no ratio.
    return f"{value / floor:.1f} x" if floor > 0 else "n/a x"


def line(name: str, ms: list[float]) -> tuple[float, float]:
    """Print and return median and p95 of ``ms``."""
    med, p95 = stats(ms)
    print(f"  {name:<34} median {med:8.2f} ms   p95 {p95:8.2f} ms   (n={len(ms)})")
    return med, p95


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--assignment", default="softmax-backprop")
    parser.add_argument("--seeds", type=int, default=25)
    parser.add_argument("--rounds", type=int, default=4)
    opts = parser.parse_args()
    plugin = get_plugin(opts.assignment)
    codes = submissions(opts.assignment)
    floors = {kind: floor_of(code) for kind, code in codes.items()}
    seeds = list(range(1000, 1000 + opts.seeds))
    cases = {s: plugin.make_cases(s) for s in seeds}
    calls = {s: [PartCall(p.name, tuple(c.args for c in cases[s][p.name])) for p in plugin.parts]
             for s in seeds}
    print(f"assignment {plugin.slug}: {len(plugin.parts)} parts, "
          f"{sum(len(c.cases) for c in calls[seeds[0]])} cases per grade; "
          f"{len(seeds)} seeds x {len(codes)} submissions x {opts.rounds} rounds")
    print(f"load average before: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")

    floor: dict[str, list[float]] = {k: [] for k in codes}
    sandbox: dict[str, list[float]] = {k: [] for k in codes}
    whole: dict[str, list[float]] = {k: [] for k in codes}
    cpu: dict[str, dict[str, float]] = {k: {"floor": 0.0, "sandbox": 0.0, "grade": 0.0}
                                         for k in codes}
    split: dict[str, dict[str, list[float]]] = {k: {"cases": [], "run": [], "compare": []}
                                                for k in codes}
    with SandboxRunner() as runner:
        print(f"sandbox level: {runner.start()}")
        for code in codes.values():  # warm-up
            for s in seeds[:3]:
                runner.run(code, calls[s], plugin.limits)
                grade(code, plugin, seed=s, runner=runner)
        assert runner._proc is not None
        zygote = runner._proc.pid

        def both() -> float:
            return cpu_ms() + cpu_ms(zygote)

        # Three passes over the same grades, so that each pass's CPU time is its own (the
        # sandbox processes are counted once reaped; each pass ends with a settled zygote).
        order = [(s, kind) for _ in range(opts.rounds) for s in seeds for kind in codes]
        for phase in ("floor", "sandbox", "grade"):
            c = both()
            for s, kind in order:
                t = time.perf_counter()
                if phase == "floor":
                    floors[kind](calls[s])
                    floor[kind].append((time.perf_counter() - t) * 1000)
                elif phase == "sandbox":
                    runner.wait_ready()  # as between grades, where the engine compares
                    t = time.perf_counter()
                    report = runner.run(codes[kind], calls[s], plugin.limits)
                    sandbox[kind].append((time.perf_counter() - t) * 1000)
                    assert report.import_status == "ok" and all(
                        p.status == "ok" for p in report.parts.values()), report
                else:
                    result = grade(codes[kind], plugin, seed=s, runner=runner)
                    whole[kind].append((time.perf_counter() - t) * 1000)
                    passed = all(p.status == "passed" for p in result.parts)
                    assert result.status == "graded" and passed == (kind == "correct"), result
                    for key in ("cases", "run", "compare"):
                        split[kind][key].append(result.timings[key])
            time.sleep(0.2)
            for kind in codes:
                cpu[kind][phase] = (both() - c) / len(order)  # both kinds, per grade

    for kind in codes:
        print(f"{kind} submission:")
        f_med, f_p95 = line("in-process floor (same calls)", floor[kind])
        s_med, s_p95 = line("sandbox run", sandbox[kind])
        line("whole grade()", whole[kind])
        for key, label in (("cases", "cases + reference"), ("run", "run (after the cases)"),
                           ("compare", "compare, score, diagnose")):
            line(f"  grade(): {label}", split[kind][key])
        print(f"  ratio sandbox run / floor          median {s_med / f_med:8.1f} x    "
              f"p95 {s_p95 / f_p95:8.1f} x")
    f_cpu, s_cpu, g_cpu = (cpu["correct"][k] for k in ("floor", "sandbox", "grade"))
    print(f"CPU per grade (runner, zygote and sandbox processes; both submissions): floor "
          f"{f_cpu:.2f} ms, sandbox run {s_cpu:.2f} ms ({_times(s_cpu, f_cpu)} the floor), "
          f"whole grade() {g_cpu:.2f} ms")
    print(f"load average after: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")


if __name__ == "__main__":
    main()
