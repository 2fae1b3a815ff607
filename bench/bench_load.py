"""Deadline load: replay the last minutes before a deadline against the running service.

For each stack asked for (``serve``: what a new user meets first, ``autograde serve`` with its
SQLite and embedded Redis; ``production``: gunicorn, PostgreSQL, Redis, N Celery worker
processes and the sweeper), this script

1. measures the floor in the same run, on the same submission mix: ``grade()`` with the real
   sandbox in this process (median per submission), and N processes calling ``grade()`` in a
   loop (submissions/s): what the service's workers could do with no service around them;
2. light load: submissions one at a time; the service's overhead per submission is the
   server-side created -> graded time minus that submission's own ``grade()`` time (stored by
   the worker), and the client's upload -> graded is reported too (polling every 25 ms);
3. deadline: SUBMISSIONS uploads from STUDENTS students over DURATION seconds, arriving ever
   faster towards the deadline, through the API with the per-student rate limit on; a mix of
   correct files, known mistakes, syntax errors and files that hang in one part (reported
   apart: each costs a worker its part's time limit). It samples the queue every second and
   prints throughput, p50/p95/p99 upload -> graded, the queue over time and the number lost
   (must be 0), and draws queue depth and latency over time into a PNG.

Times drift 2-3x on a shared machine, so figures are printed as ratios to the floor measured in
the same run, with the load average.

Usage:
  python bench/bench_load.py                       # both stacks, 2000 submissions, 500 students
  python bench/bench_load.py --stack serve --submissions 12 --students 4 --duration 6 --light 3
"""

from __future__ import annotations

import argparse
import json
import math
import multiprocessing
import os
import random
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import sqlalchemy as sa

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.services import (  # noqa: E402
    PostgresServer,
    RedisServer,
    free_port,
    service_env,
    wait_for_port,
)

SAMPLES = ROOT / "tests" / "submissions" / "softmax_backprop"
SLUG = "softmax-backprop"


def _hang(code: str) -> str:
    """The correct file with grad_b1 looping forever: that part hits its time limit."""
    return code.replace("def grad_b1(dz3, W2, z2):\n",
                        "def grad_b1(dz3, W2, z2):\n    while True:\n        pass\n", 1)


def submission_mix() -> dict[str, list[str]]:
    """The kinds of files students hand in before a deadline."""
    correct = (SAMPLES / "correct.py").read_text()
    return {
        "correct": [correct, (SAMPLES / "correct_einsum.py").read_text(),
                    (SAMPLES / "correct_loops.py").read_text()],
        "wrong": [(SAMPLES / f"{name}.py").read_text() for name in (
            "missing_batch_mean", "sign_error", "wrong_axis", "transposed", "missing_relu_mask")],
        "syntax": ["import numpy as np\n\ndef softmax(z:\n    return z\n"],
        "hang": [_hang(correct)],
    }


#: Shares of the mix (hang: how many hang in a part, reported apart).
SHARES = {"correct": 0.46, "wrong": 0.36, "syntax": 0.175, "hang": 0.005}


def draw_mix(n: int, shares: dict[str, float], rng: random.Random) -> list[tuple[str, str]]:
    """``n`` (kind, code) pairs in the given shares (rounded), shuffled."""
    files = submission_mix()
    counts = {kind: int(round(n * share)) for kind, share in shares.items()}
    counts["correct"] += n - sum(counts.values())
    drawn = [(kind, rng.choice(files[kind])) for kind, k in counts.items() for _ in range(k)]
    rng.shuffle(drawn)
    return drawn


def pct(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


# --- the floor: grade() alone -------------------------------------------------------------


def _grade_all(codes: list[str]) -> list[float]:
    from grader.engine import grade
    from worker.sandbox import SandboxRunner

    times = []
    with SandboxRunner() as runner:
        grade(codes[0], SLUG, seed=0, runner=runner)  # the zygote starts once, as in a worker
        for seed, code in enumerate(codes):
            t0 = time.perf_counter()
            grade(code, SLUG, seed=seed, runner=runner)
            times.append(time.perf_counter() - t0)
    return times


@dataclass
class Floor:
    """``grade()`` alone, in this run: the yardstick of the service's figures."""

    #: Median seconds of one file (not hanging) in this process.
    median: float
    #: Mean seconds per file (not hanging) when ``processes`` processes grade in a loop.
    normal: float
    #: Seconds a file that hangs in one part costs its process.
    hang: float
    processes: int

    def rate(self, hang_share: float) -> float:
        """Files/s the processes reach grading in a loop a mix with this share hanging."""
        per_file = (1 - hang_share) * self.normal + hang_share * self.hang
        return self.processes / per_file


def measure_floor(mix: list[tuple[str, str]], processes: int) -> Floor:
    """grade() in this process, then ``processes`` processes (each with its own warm sandbox,
    as the service's workers) grading the mix in a loop, each one hanging file first."""
    normal = [code for kind, code in mix if kind != "hang"]
    median = statistics.median(_grade_all(normal))
    hang = submission_mix()["hang"][0]
    share = [[hang, *normal[i::processes]] for i in range(processes)]
    with multiprocessing.get_context("spawn").Pool(processes) as pool:
        per_process = pool.map(_grade_all, share)
    hangs = [times[0] for times in per_process]
    rest = [t for times in per_process for t in times[1:]]
    return Floor(median, statistics.fmean(rest), statistics.fmean(hangs), processes)


# --- the stacks ---------------------------------------------------------------------------


@dataclass
class Stack:
    name: str
    base: str
    database_url: str
    processes: list[subprocess.Popen[bytes]] = field(default_factory=list)
    cleanup: list[Any] = field(default_factory=list)
    token: str = ""
    assignment_id: int = 0
    students: list[str] = field(default_factory=list)

    def close(self) -> None:
        for proc in self.processes:
            if proc.poll() is None:
                proc.terminate()
                try:
                    proc.wait(timeout=40)
                except subprocess.TimeoutExpired:
                    proc.kill()
        for step in reversed(self.cleanup):
            step()


def start_serve(workdir: Path, workers: int) -> Stack:
    """``autograde serve`` as a new user runs it, its instance folder in ``workdir``."""
    instance = workdir / "instance"
    env = service_env({"INSTANCE_PATH": instance})
    for key in ("AUTOGRADE_REDIS_URL", "AUTOGRADE_DATABASE_URL"):
        env.pop(key, None)
    log = open(workdir / "serve.out", "w")  # noqa: SIM115
    proc = subprocess.Popen(
        [sys.executable, "-m", "grader.cli", "serve", "--port", "0", "--workers", str(workers)],
        env=env, cwd=ROOT, stdout=subprocess.PIPE, stderr=log, text=True)
    assert proc.stdout is not None
    first = proc.stdout.readline()
    if "running at" not in first:
        proc.kill()
        raise RuntimeError(f"serve did not start: {first}{(workdir / 'serve.out').read_text()}")
    base = first.split("running at ", 1)[1].strip()
    stack = Stack("autograde serve", base,
                  f"sqlite:///{instance / 'autograde.sqlite3'}", [proc])
    stack.cleanup.append(log.close)
    threading.Thread(target=proc.stdout.read, daemon=True).start()  # drain the banner
    return stack


def start_production(workdir: Path, workers: int) -> Stack:
    """gunicorn + PostgreSQL + Redis + a Celery worker of ``workers`` processes + beat."""
    from grader.extensions import make_engine
    from grader.migrate import upgrade

    postgres = PostgresServer()
    url = postgres.create_database("autograde_load")
    redis = RedisServer(workdir / "redis")
    engine = make_engine(url)
    upgrade(engine)
    engine.dispose()
    env = service_env({"DATABASE_URL": url, "REDIS_URL": redis.url_of(0),
                       "SECRET_KEY": "load-bench", "LOG_FILE": workdir / "service.log",
                       "LOG_CONSOLE": "false"})
    port = free_port()
    log = open(workdir / "production.out", "wb")  # noqa: SIM115
    common: dict[str, Any] = {"env": env, "cwd": ROOT, "stdout": log,
                              "stderr": subprocess.STDOUT}
    procs = [
        subprocess.Popen([sys.executable, "-m", "gunicorn", "-w", "2", "--threads", "4", "-b",
                          f"127.0.0.1:{port}", "grader:create_app()"], **common),
        subprocess.Popen([sys.executable, "-m", "celery", "-A", "worker.make_celery", "worker",
                          f"--concurrency={workers}", "--loglevel=WARNING",
                          "--without-gossip", "--without-mingle"], **common),
        subprocess.Popen([sys.executable, "-m", "celery", "-A", "worker.make_celery", "beat",
                          "--loglevel=WARNING", "--schedule", str(workdir / "beat")], **common),
    ]
    wait_for_port(port, 60)
    stack = Stack("production-like (gunicorn, PostgreSQL, Celery)",
                  f"http://127.0.0.1:{port}", url, procs)
    stack.cleanup += [postgres.close, redis.close, log.close]
    return stack


def enroll_students(stack: Stack, students: int) -> None:
    """An instructor token, the assignment, and ``students`` enrolled students."""
    from grader import create_app
    from grader.domain.courses import create_assignment, create_course
    from grader.domain.roster import enroll
    from grader.domain.tokens import create_token
    from grader.domain.users import create_user
    from grader.extensions import db
    from grader.models import Assignment, Course, User

    app = create_app({"DATABASE_URL": stack.database_url, "SECRET_KEY": "load-bench",
                      "TESTING": True, "ENQUEUE": False})
    with app.app_context():
        s = db.session
        teacher = s.scalar(sa.select(User).where(User.role == "instructor"))
        if teacher is None:
            teacher = create_user(s, "teacher@example.com", name="T", role="instructor")
        course = s.scalar(sa.select(Course)) or create_course(s, "Deadline", teacher)
        assignment = s.scalar(sa.select(Assignment).where(Assignment.slug == SLUG))
        if assignment is None:
            assignment = create_assignment(s, course, SLUG, attempt_limit=None)
        assignment.attempt_limit = None
        emails = []
        for i in range(students):
            user = create_user(s, f"load{i}@example.com", name=f"Load {i}")
            enroll(s, course, user)
            emails.append(user.email)
        token, _ = create_token(s, teacher, ["submissions:write", "results:read"])
        s.commit()
        stack.token, stack.assignment_id, stack.students = token, assignment.id, emails
    app.extensions["db"].engine.dispose()


# --- clients ------------------------------------------------------------------------------


def upload(stack: Stack, student: str, code: str) -> tuple[int, int | None]:
    """POST one file; (HTTP status, submission id)."""
    boundary = "loadbenchboundary"
    body = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="student"\r\n\r\n{student}\r\n'
        f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="hw.py"\r\n\r\n'
    ).encode() + code.encode() + f"\r\n--{boundary}--\r\n".encode()
    request = urllib.request.Request(
        f"{stack.base}/api/v1/assignments/{stack.assignment_id}/submissions", data=body,
        method="POST", headers={"Authorization": f"Bearer {stack.token}",
                                "Content-Type": f"multipart/form-data; boundary={boundary}"})
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            return response.status, int(json.load(response)["id"])
    except urllib.error.HTTPError as exc:
        return exc.code, None
    except OSError:
        return 0, None


def status_of(stack: Stack, sid: int) -> str:
    request = urllib.request.Request(f"{stack.base}/api/v1/submissions/{sid}",
                                     headers={"Authorization": f"Bearer {stack.token}"})
    with urllib.request.urlopen(request, timeout=30) as response:
        return str(json.load(response)["status"])


FINAL = ("graded", "not_gradable", "grader_error")


def rows(engine: sa.Engine, ids: list[int]) -> dict[int, dict[str, Any]]:
    """Per submission: status, seconds from upload to result, its grade() ms, queue ms."""
    from grader.models import GradingRun, Submission

    found = {}
    with engine.connect() as conn:
        for chunk in range(0, len(ids), 500):
            part = ids[chunk:chunk + 500]
            for sid, status, created, finished, timings in conn.execute(
                sa.select(Submission.id, Submission.status, Submission.created_at,
                          GradingRun.finished_at, GradingRun.timings)
                .join(GradingRun, GradingRun.id == Submission.current_run_id, isouter=True)
                .where(Submission.id.in_(part))
            ):
                found[sid] = {
                    "status": status,
                    "created": created,
                    "seconds": (finished - created).total_seconds() if finished else None,
                    "grade_ms": (timings or {}).get("total"),
                    "queue_ms": (timings or {}).get("queue"),
                }
    return found


def queue_depth(engine: sa.Engine) -> tuple[int, int]:
    from grader.models import GradingRun

    with engine.connect() as conn:
        counts = dict(conn.execute(
            sa.select(GradingRun.status, sa.func.count())
            .where(GradingRun.status.in_(("queued", "running"))).group_by(GradingRun.status)
        ).all())
    return int(counts.get("queued", 0)), int(counts.get("running", 0))


def wait_final(engine: sa.Engine, ids: list[int], timeout: float) -> None:
    from grader.models import Submission

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with engine.connect() as conn:
            left = conn.scalar(sa.select(sa.func.count()).select_from(Submission).where(
                Submission.id.in_(ids), Submission.status.in_(("queued", "running"))))
        if not left:
            return
        time.sleep(0.5)


def light(stack: Stack, engine: sa.Engine, mix: list[tuple[str, str]]) -> dict[str, float]:
    """One at a time: overhead = created -> graded minus the submission's own grade() time."""
    client, ids = [], []
    for i, (_, code) in enumerate(mix):
        t0 = time.perf_counter()
        status, sid = upload(stack, stack.students[i % len(stack.students)], code)
        assert status == 202 and sid is not None, status
        while status_of(stack, sid) not in FINAL:
            time.sleep(0.025)
        client.append(time.perf_counter() - t0)
        ids.append(sid)
    found = rows(engine, ids)
    server = [found[i]["seconds"] * 1000 for i in ids]
    overhead = [found[i]["seconds"] * 1000 - found[i]["grade_ms"] for i in ids
                if found[i]["grade_ms"] is not None]
    return {"server_ms": statistics.median(server), "client_ms": statistics.median(client) * 1000,
            "overhead_ms": statistics.median(overhead),
            "grade_ms": statistics.median(found[i]["grade_ms"] or 0 for i in ids),
            "queue_ms": statistics.median(found[i]["queue_ms"] or 0 for i in ids)}


@dataclass
class Deadline:
    uploads: int
    refused: dict[int, int]
    lost: int
    by_kind: dict[str, list[float]]
    samples: list[tuple[float, int, int]]
    points: list[tuple[float, float, str]]
    span: float
    sustained: float | None
    upload_ms: list[float]


def deadline(stack: Stack, engine: sa.Engine, n: int, duration: float, shares: dict[str, float],
             rng: random.Random, timeout: float) -> Deadline:
    """Replay: arrivals ever denser towards the deadline (density growing linearly)."""
    mix = draw_mix(n, shares, rng)
    times = sorted(duration * math.sqrt(rng.random()) for _ in range(n))
    plan = [(t, stack.students[rng.randrange(len(stack.students))], kind, code)
            for t, (kind, code) in zip(times, mix, strict=True)]
    results: list[tuple[float, str, int, int | None, float]] = []
    lock = threading.Lock()
    samples: list[tuple[float, int, int]] = []
    stop = threading.Event()
    start = time.monotonic()

    def sample() -> None:
        while not stop.wait(1.0):
            samples.append((time.monotonic() - start, *queue_depth(engine)))

    def send(at: float, student: str, kind: str, code: str) -> None:
        t0 = time.monotonic()
        status, sid = upload(stack, student, code)
        with lock:
            results.append((at, kind, status, sid, (time.monotonic() - t0) * 1000))

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    with ThreadPoolExecutor(32) as pool:
        for at, student, kind, code in plan:
            delay = start + at - time.monotonic()
            if delay > 0:
                time.sleep(delay)
            pool.submit(send, at, student, kind, code)
    accepted = [sid for _, _, status, sid, _ in results if status == 202 and sid is not None]
    wait_final(engine, accepted, timeout)
    samples.append((time.monotonic() - start, *queue_depth(engine)))
    stop.set()
    sampler.join()
    found = rows(engine, accepted)
    by_kind: dict[str, list[float]] = {}
    points = []
    lost = 0
    for at, kind, status, sid, _ in results:
        if status != 202 or sid is None:
            continue
        row = found.get(sid)
        if row is None or row["status"] not in FINAL or row["seconds"] is None:
            lost += 1
            continue
        by_kind.setdefault(kind, []).append(row["seconds"])
        points.append((at, row["seconds"], kind))
    refused: dict[int, int] = {}
    for _, _, status, sid, _ in results:
        if status != 202 or sid is None:
            refused[status] = refused.get(status, 0) + 1
    created = [r["created"] for r in found.values()]
    finished = [r["created"].timestamp() + r["seconds"] for r in found.values()
                if r["seconds"] is not None]
    span = (max(finished) - min(c.timestamp() for c in created)) if finished else float("nan")
    return Deadline(len(results), refused, lost, by_kind, samples, points, span,
                    sustained_rate(found, samples, start), [r[4] for r in results])


def sustained_rate(found: dict[int, dict[str, Any]], samples: list[tuple[float, int, int]],
                   start: float) -> float | None:
    """Results per second while work was waiting (queued > 0): the service's own pace, not
    the arrivals'. None if the queue never held anything waiting."""
    busy = [t for t, queued, _ in samples if queued > 0]
    if len(busy) < 10:
        return None  # too short a busy spell to speak of a pace
    t_from, t_to = busy[0], busy[-1]
    wall0 = time.time() - (time.monotonic() - start)
    done = [r["created"].timestamp() + r["seconds"] - wall0 for r in found.values()
            if r["seconds"] is not None]
    inside = [d for d in done if t_from <= d <= t_to]
    return len(inside) / (t_to - t_from) if t_to > t_from else None


def plot(path: Path, name: str, result: Deadline, duration: float) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (top, bottom) = plt.subplots(2, 1, figsize=(10, 7), sharex=True)
    if result.samples:
        t, queued, running = zip(*result.samples, strict=True)
        top.plot(t, queued, label="queued")
        top.plot(t, running, label="being graded")
    top.axvline(duration, color="grey", linestyle=":", label="deadline")
    top.set_ylabel("grading runs")
    top.set_title(f"{name}: queue depth and upload -> graded")
    top.legend(loc="upper left")
    # The most common kind first, so the rarer ones are drawn over it.
    colors = {"correct": "tab:green", "wrong": "tab:orange", "syntax": "tab:blue",
              "hang": "tab:red"}
    for kind, color in colors.items():
        xs = [at for at, _, k in result.points if k == kind]
        ys = [s for _, s, k in result.points if k == kind]
        if xs:
            bottom.scatter(xs, ys, s=6, color=color, label=kind)
    bottom.axvline(duration, color="grey", linestyle=":")
    bottom.set_xlabel("seconds since the first upload")
    bottom.set_ylabel("upload -> graded (s)")
    bottom.legend(loc="upper left")
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def run_stack(kind: str, args: argparse.Namespace, before: Floor, rng: random.Random) -> None:
    from grader.extensions import make_engine

    workdir = Path(tempfile.mkdtemp(prefix="autograde_load_"))
    stack = (start_serve if kind == "serve" else start_production)(workdir, args.workers)
    try:
        enroll_students(stack, args.students)
        engine = make_engine(stack.database_url)
        # Warm up: each worker process starts its sandbox on first use.
        warm = [upload(stack, s, draw_mix(1, {"correct": 1.0}, rng)[0][1])[1]
                for s in stack.students[: args.workers * 2]]
        wait_final(engine, [i for i in warm if i], 120)
        light_mix = draw_mix(args.light, {**SHARES, "hang": 0.0}, rng)
        calm = light(stack, engine, light_mix)
        load_before = os.getloadavg()
        result = deadline(stack, engine, args.submissions, args.duration, SHARES, rng,
                          timeout=args.timeout)
        load_after = os.getloadavg()
        engine.dispose()
    finally:
        stack.close()
        shutil.rmtree(workdir, ignore_errors=True)
    # The floor again, now: the machine's other load drifts; the ratios use both.
    after = measure_floor(draw_mix(args.floor, {**SHARES, "hang": 0.0}, rng), args.workers)
    floor = Floor(statistics.fmean([before.median, after.median]),
                  statistics.fmean([before.normal, after.normal]),
                  statistics.fmean([before.hang, after.hang]), args.workers)

    print(f"\n== {stack.name}, {args.workers} grading processes ==")
    print(f"floor measured again after this stack: grade() median {after.median * 1000:.1f} ms, "
          f"loop {after.normal * 1000:.1f} ms a file (before: {before.median * 1000:.1f} / "
          f"{before.normal * 1000:.1f} ms); the ratios below use the mean")
    print(f"light load, {args.light} one at a time (correct, wrong and syntax-error files):")
    print(f"  server side created -> graded: median {calm['server_ms']:.1f} ms "
          f"(its grade() {calm['grade_ms']:.1f} ms); service overhead median "
          f"{calm['overhead_ms']:.1f} ms (target <= 15 ms), of which upload -> claimed by a "
          f"worker {calm['queue_ms']:.1f} ms")
    print(f"  client upload -> graded (polling every 25 ms): median {calm['client_ms']:.1f} ms; "
          f"ratio to in-process grade() median: {calm['server_ms'] / (floor.median * 1000):.2f}")
    normal = [s for kind, values in result.by_kind.items() if kind != "hang" for s in values]
    hung = result.by_kind.get("hang", [])
    graded = sum(len(v) for v in result.by_kind.values())
    print(f"deadline: {result.uploads} uploads from {len(stack.students)} students over "
          f"{args.duration:.0f} s; accepted {result.uploads - sum(result.refused.values())}, "
          f"refused {result.refused or 0}")
    print(f"  lost: {result.lost} (must be 0)")
    print(f"  upload request: median {statistics.median(result.upload_ms):.0f} ms, "
          f"p95 {pct(result.upload_ms, .95):.0f} ms")
    print(f"  upload -> graded (server side), excluding hung files: p50 {pct(normal, .5):.2f} s, "
          f"p95 {pct(normal, .95):.2f} s, p99 {pct(normal, .99):.2f} s")
    if hung:
        print(f"  hung files ({len(hung)}, one part each at its time limit): "
              f"p50 {pct(hung, .5):.1f} s, max {max(hung):.1f} s")
    print(f"  throughput: {graded / result.span:.2f} results/s over {result.span:.1f} s")
    if result.sustained is not None:
        share = len(hung) / max(1, graded)
        loop = floor.rate(share)
        print(f"  sustained while work waited: {result.sustained:.2f} results/s = "
              f"{result.sustained / loop:.0%} of the grade() loop's {loop:.2f}/s on this mix "
              "(target >= 80%)")
    else:
        print("  sustained: work waited less than 10 s (offered load below capacity); "
              "not measured")
    peak = max((q for _, q, _ in result.samples), default=0)
    print(f"  queue depth (queued) peak {peak}; every 10 s: " + ", ".join(
        f"{t:.0f}s:{q}+{r}" for t, q, r in result.samples[::10]))
    print(f"  load average before {load_before[0]:.2f}, after {load_after[0]:.2f}")
    if args.png:
        path = Path(args.png.replace("{stack}", kind))
        plot(path, stack.name, result, args.duration)
        print(f"  plot: {path}")
    if result.lost:
        raise SystemExit(f"{result.lost} submissions lost")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--stack", choices=["serve", "production", "both"], default="both")
    parser.add_argument("--submissions", type=int, default=2000)
    parser.add_argument("--students", type=int, default=500)
    parser.add_argument("--duration", type=float, default=120.0)
    parser.add_argument("--workers", type=int, default=2, help="grading processes")
    parser.add_argument("--light", type=int, default=30)
    parser.add_argument("--floor", type=int, default=40,
                        help="submissions of the mix graded in the floor measurements")
    parser.add_argument("--timeout", type=float, default=1800.0,
                        help="seconds to wait for the last result")
    parser.add_argument("--png", default="load-{stack}.png",
                        help="where to draw the plot ({stack}: serve or production)")
    parser.add_argument("--seed", type=int, default=2026)
    args = parser.parse_args()
    rng = random.Random(args.seed)

    signal.signal(signal.SIGTERM, lambda *_: sys.exit("stopped"))  # clean up the stacks
    print(f"load average {os.getloadavg()[0]:.2f}; {os.cpu_count()} cores")
    found = measure_floor(draw_mix(args.floor, {**SHARES, "hang": 0.0}, rng), args.workers)
    print(f"floor, same mix: grade() median {found.median * 1000:.1f} ms in this process; "
          f"{args.workers} processes grading in a loop: {found.normal * 1000:.1f} ms a file "
          f"({found.rate(0):.2f} files/s), a hung file {found.hang:.1f} s; with "
          f"{SHARES['hang']:.1%} hung as in the deadline mix: {found.rate(SHARES['hang']):.2f}"
          " files/s")
    for kind in (["serve", "production"] if args.stack == "both" else [args.stack]):
        run_stack(kind, args, found, rng)


if __name__ == "__main__":
    main()
