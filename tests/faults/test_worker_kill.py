"""Worker processes SIGKILLed mid-grading, over and over, while a stream of submissions is
graded: every submission ends with exactly one recorded result (graded, or grader_error after
MAX_LOST_LEASES lost leases), and each score change reaches the LMS once."""

from __future__ import annotations

import os
import random
import signal
import time
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from flask import Flask

from grader.extensions import db
from grader.models import GradingRun, utcnow
from tests.faults.conftest import (
    FAST,
    MIX,
    SUBMISSIONS,
    Lms,
    check_nothing_lost,
    close_app,
    fault_app,
    make_course,
    stream,
    upload,
    wait_all_final,
)
from tests.services import CeleryWorker, RedisServer

pytestmark = [pytest.mark.faults, pytest.mark.redis, pytest.mark.slow, pytest.mark.sandbox]

#: One kill per four submissions (50 over 200 at full size).
KILLS = max(4, SUBMISSIONS // 4)


def parent_of(pid: int) -> int | None:
    """The parent of a live process (None once it died, even before it is reaped)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    state, ppid = stat.rsplit(")", 1)[1].split()[:2]
    return None if state in ("Z", "X") else int(ppid)


def grading_pids(app: Flask, worker_pid: int) -> list[tuple[int, int]]:
    """(run id, pid) of each pool process of the worker holding a live lease right now."""
    with app.app_context():
        rows = db.session.execute(
            sa.select(GradingRun.id, GradingRun.lease_owner).where(
                GradingRun.status == "running", GradingRun.lease_expires_at > utcnow())
        ).all()
        db.session.rollback()
    found = []
    for run_id, owner in rows:
        pid = int(owner.rsplit(":", 1)[1])
        if parent_of(pid) == worker_pid:
            found.append((run_id, pid))
    return found


def test_sigkill_mid_grading(database: str, own_redis: RedisServer, tmp_path: Path) -> None:
    """KILLS pool processes are SIGKILLed while grading (one submission every time it is
    picked up, until it is given up); nothing is lost or graded twice."""
    config: dict[str, Any] = {**FAST, "DATABASE_URL": database, "REDIS_URL": own_redis.url}
    worker = CeleryWorker(config, concurrency=2, beat=True, log=tmp_path / "worker.log")
    app = fault_app(config)
    lms: Lms | None = None
    try:
        course = make_course(app, students=6)
        lms = Lms(app, course)
        client = app.test_client()
        # The victim takes a few seconds to grade, so the killer always catches it at it.
        response = upload(client, course, b"import time\ntime.sleep(3)\n" + MIX[0],
                          course.students[0])
        assert response.status_code == 202
        victim = int(response.get_json()["id"])
        ids = [victim, *stream(client, course, SUBMISSIONS - 1)]
        with app.app_context():
            (victim_run,) = db.session.scalars(
                sa.select(GradingRun.id).where(GradingRun.submission_id == victim)).all()
        rng = random.Random(10)
        kills, victim_kills = 0, 0
        killed: set[int] = set()  # a dead process's lease lives on until it expires
        deadline = time.monotonic() + 120 + SUBMISSIONS * 3
        while kills < KILLS and time.monotonic() < deadline:
            held = grading_pids(app, worker.process.pid)
            # The victim is killed whenever it is graded, as a poison file would be.
            target = next((h for h in held if h[0] == victim_run), None)
            if target is None and held and kills + (3 - victim_kills) < KILLS:
                target = rng.choice(held)
            if target is not None and target[1] not in killed:
                killed.add(target[1])
                os.kill(target[1], signal.SIGKILL)
                kills += 1
                victim_kills += target[0] == victim_run
                time.sleep(rng.uniform(0.2, 0.8))
            else:
                time.sleep(0.05)
        assert kills == KILLS, f"only {kills} kills happened"
        found = wait_all_final(app, ids, timeout=120 + SUBMISSIONS * 3)
        outcome = check_nothing_lost(app, ids)
        with app.app_context():
            run = db.session.get_one(GradingRun, victim_run)
            seen = (run.status, run.claims, run.lost_leases, run.retries, victim_kills)
        assert victim in outcome.given_up, seen
        assert found["graded"] >= SUBMISSIONS * 2 // 3 - len(outcome.given_up)
        lms.check_sent_once_per_change(app)
        print(f"{kills} kills over {SUBMISSIONS} submissions: {dict(found)}, "
              f"given up: {len(outcome.given_up)}")
    finally:
        if lms is not None:
            lms.stop()
        close_app(app)
        worker.stop()
