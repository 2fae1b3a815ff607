"""End-to-end service benchmark: upload -> score stored, on the real stack.

Starts its own PostgreSQL server (the tests' throwaway one), a private redis-server, gunicorn and
one Celery worker with 2 processes running the real sandbox, then measures:

* latency at light load: one submission at a time, upload start -> grade committed
  (median, p95), with the server-side split (queue wait, grading);
* throughput: a burst of correct submissions uploaded by 8 clients, submissions/s until the
  last grade is stored;
* the in-process floor: ``grade()`` with a SandboxRunner in this process, no service at all.

Usage: python bench/bench_service.py [--light 30] [--burst 200]
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

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

CORRECT = (ROOT / "tests" / "submissions" / "softmax_backprop" / "correct.py").read_bytes()


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


def upload(base: str, token: str, assignment_id: int, student: str) -> int:
    boundary = "benchboundary"
    body = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="student"\r\n\r\n{student}\r\n'
        f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="hw.py"\r\n\r\n'
    ).encode() + CORRECT + f"\r\n--{boundary}--\r\n".encode()
    request = urllib.request.Request(
        f"{base}/assignments/{assignment_id}/submissions", data=body, method="POST",
        headers={"Authorization": f"Bearer {token}",
                 "Content-Type": f"multipart/form-data; boundary={boundary}"})
    with urllib.request.urlopen(request, timeout=30) as response:
        return int(json.load(response)["id"])


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--light", type=int, default=30)
    parser.add_argument("--burst", type=int, default=200)
    args = parser.parse_args()

    from grader import create_app
    from grader.extensions import make_engine
    from grader.migrate import upgrade
    from tests.conftest import seed_world

    postgres = PostgresServer()
    db_url = postgres.create_database("autograde_bench")
    workdir = Path(tempfile.mkdtemp(prefix="autograde_bench_"))
    redis: RedisServer | None = None
    procs: list[subprocess.Popen[bytes]] = []
    try:
        redis = RedisServer(workdir)
        # One student uploads every submission here, far past the per-student rate limit that
        # protects a real course: the limit is off so the benchmark measures grading.
        config = {"DATABASE_URL": db_url, "REDIS_URL": redis.url_of(0),
                  "SUBMISSIONS_PER_MINUTE": 0}
        env = service_env(config)
        engine = make_engine(db_url)
        upgrade(engine)
        app = create_app(config)
        world = seed_world(app)
        app.extensions["db"].engine.dispose()
        port = free_port()
        log = open(workdir / "services.log", "wb")  # noqa: SIM115
        procs.append(subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "-w", "2", "--threads", "4", "-b",
             f"127.0.0.1:{port}", "grader:create_app()"],
            env=env, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT))
        procs.append(subprocess.Popen(
            [sys.executable, "-m", "celery", "-A", "worker.make_celery", "worker",
             "--concurrency=2", "--loglevel=WARNING", "--without-gossip", "--without-mingle"],
            env=env, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT))
        wait_for_port(port, 30)
        base = f"http://127.0.0.1:{port}/api/v1"
        token, aid = world.instructor_token, world.assignment_id

        def wait_done(ids: list[int], timeout: float = 300, poll: float = 0.002) -> None:
            deadline = time.monotonic() + timeout
            with engine.connect() as conn:
                while True:
                    left = conn.execute(sa.text(
                        "SELECT count(*) FROM submissions WHERE id = ANY(:ids) "
                        "AND status IN ('queued', 'running')"), {"ids": ids}).scalar()
                    conn.commit()
                    if left == 0:
                        return
                    if time.monotonic() > deadline:
                        raise TimeoutError(f"{left} submissions not graded")
                    time.sleep(poll)

        # Warm up: each worker process starts its sandbox zygote on first use.
        wait_done([upload(base, token, aid, "ada@example.com") for _ in range(4)])

        client_ms: list[float] = []
        ids: list[int] = []
        for _ in range(args.light):
            t0 = time.perf_counter()
            sid = upload(base, token, aid, "ada@example.com")
            wait_done([sid])
            client_ms.append((time.perf_counter() - t0) * 1000)
            ids.append(sid)
        with engine.connect() as conn:
            rows = conn.execute(sa.text(
                "SELECT s.status, r.timings, "
                "extract(epoch from (r.finished_at - s.created_at)) * 1000 "
                "FROM submissions s JOIN grading_runs r ON r.id = s.current_run_id "
                "WHERE s.id = ANY(:ids)"), {"ids": ids}).all()
        assert all(r[0] == "graded" for r in rows), {r[0] for r in rows}
        server_ms = [float(r[2]) for r in rows]
        queue_ms = [float(r[1]["queue"]) for r in rows]
        grade_ms = [float(r[1]["total"]) for r in rows]

        students = ["ada@example.com", "bob@example.com"]
        t0 = time.perf_counter()
        with ThreadPoolExecutor(8) as pool:
            burst = list(pool.map(lambda i: upload(base, token, aid, students[i % 2]),
                                  range(args.burst)))
        uploaded = time.perf_counter() - t0
        wait_done(burst, poll=0.05)  # poll gently: the clients share the 2 cores
        elapsed = time.perf_counter() - t0
        with engine.connect() as conn:
            graded = conn.execute(sa.text(
                "SELECT count(*) FROM submissions WHERE id = ANY(:ids) AND status = 'graded'"),
                {"ids": burst}).scalar()
        engine.dispose()

        floor_ms = in_process_floor(args.light)
        print(f"light load, {args.light} sequential submissions "
              "(upload start -> grade committed, client side):")
        print(f"  median {statistics.median(client_ms):.1f} ms, p95 {pct(client_ms, .95):.1f} ms")
        print(f"  server side (created_at -> run finished_at): median "
              f"{statistics.median(server_ms):.1f} ms, p95 {pct(server_ms, .95):.1f} ms")
        print(f"  of which queue wait median {statistics.median(queue_ms):.1f} ms, "
              f"grading (engine total) median {statistics.median(grade_ms):.1f} ms")
        print(f"burst of {args.burst} by 8 clients, 2 worker processes: "
              f"{args.burst / elapsed:.1f} submissions/s graded "
              f"({graded}/{args.burst} graded; uploads alone {args.burst / uploaded:.0f}/s)")
        print(f"in-process floor (grade() + SandboxRunner, no service): median "
              f"{statistics.median(floor_ms):.1f} ms -> {1000 / statistics.median(floor_ms):.1f}/s "
              "per process")
    finally:
        for proc in procs:
            proc.terminate()
            proc.wait(timeout=30)
        if redis is not None:
            redis.close()
        shutil.rmtree(workdir, ignore_errors=True)
        postgres.close()


def in_process_floor(n: int) -> list[float]:
    from grader.engine import grade
    from worker.sandbox import SandboxRunner

    code = CORRECT.decode()
    times = []
    with SandboxRunner(allow_reduced=True) as runner:
        grade(code, "softmax-backprop", seed=0, runner=runner)
        for seed in range(n):
            t0 = time.perf_counter()
            grade(code, "softmax-backprop", seed=seed, runner=runner)
            times.append((time.perf_counter() - t0) * 1000)
    return times


if __name__ == "__main__":
    main()
