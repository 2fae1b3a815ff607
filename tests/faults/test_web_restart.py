"""The web process killed (SIGKILL, as a crash) and started again while uploads stream in:
each upload is either stored whole (its submission and its run, then graded once) or cleanly
refused; none is half-written and none stored is lost."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import pytest
import requests
import sqlalchemy as sa

from grader.extensions import db
from grader.models import GradingRun, Submission
from tests.faults.conftest import (
    FAST,
    MIX,
    SUBMISSIONS,
    check_nothing_lost,
    close_app,
    fault_app,
    make_course,
    wait_all_final,
)
from tests.services import (
    ROOT,
    CeleryWorker,
    RedisServer,
    free_port,
    service_env,
    wait_for_port,
)

pytestmark = [pytest.mark.faults, pytest.mark.redis, pytest.mark.slow, pytest.mark.sandbox]


def gunicorn(config: dict[str, Any], port: int, log: Path) -> subprocess.Popen[bytes]:
    with open(log, "ab") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "-w", "2", "--threads", "2", "-b",
             f"127.0.0.1:{port}", "grader:create_app()"],
            env=service_env(config), cwd=ROOT, stdout=out, stderr=subprocess.STDOUT,
            start_new_session=True)
    wait_for_port(port, 30)
    return proc


def test_web_killed_and_restarted(database: str, own_redis: RedisServer, tmp_path: Path) -> None:
    config: dict[str, Any] = {**FAST, "DATABASE_URL": database, "REDIS_URL": own_redis.url,
                              "SECRET_KEY": "web-restart",
                              # A crash between commit and send leaves a stored run unsent:
                              # the sweeper sends it once it looks lost (120 s by default).
                              "QUEUED_STALE_SECONDS": 5}
    worker = CeleryWorker(config, concurrency=2, beat=True, log=tmp_path / "worker.log")
    app = fault_app(config)
    port = free_port()
    web = gunicorn(config, port, tmp_path / "web.log")
    outcomes: list[tuple[str, int | None]] = []
    lock = threading.Lock()
    total = max(24, SUBMISSIONS)
    try:
        course = make_course(app, students=6)
        todo = iter(range(total))

        def client() -> None:
            session = requests.Session()
            for i in todo:
                try:
                    response = session.post(
                        f"http://127.0.0.1:{port}/api/v1/assignments/{course.assignment_id}"
                        "/submissions", timeout=30,
                        headers={"Authorization": f"Bearer {course.instructor_token}"},
                        data={"student": course.students[i % len(course.students)]},
                        files={"file": ("hw.py", MIX[i % len(MIX)])})
                    outcome = ("accepted", response.json()["id"]) if (
                        response.status_code == 202) else (f"http {response.status_code}", None)
                except requests.RequestException:
                    outcome = ("refused", None)
                    time.sleep(0.2)
                with lock:
                    outcomes.append(outcome)

        clients = [threading.Thread(target=client) for _ in range(4)]
        for thread in clients:
            thread.start()
        while len(outcomes) < total // 3:
            time.sleep(0.02)
        os.killpg(web.pid, signal.SIGKILL)  # a crash, mid-stream
        web.wait()
        time.sleep(1.0)
        web = gunicorn(config, port, tmp_path / "web.log")
        for thread in clients:
            thread.join(timeout=120)
        accepted = [sid for kind, sid in outcomes if kind == "accepted" and sid is not None]
        refused = [kind for kind, _ in outcomes if kind != "accepted"]
        assert len(outcomes) == total and refused, outcomes  # the crash refused some
        assert all(kind == "refused" for kind in refused), refused  # no 500s
        with app.app_context():
            stored = db.session.scalars(sa.select(Submission.id)).all()
            orphans = db.session.scalar(
                sa.select(sa.func.count()).select_from(Submission).where(
                    ~sa.exists().where(GradingRun.submission_id == Submission.id)))
            db.session.rollback()
        assert orphans == 0
        assert set(accepted) <= set(stored)
        # A request cut off after its commit is stored though its client heard nothing.
        assert len(stored) - len(accepted) <= 4
        found = wait_all_final(app, list(stored), timeout=120 + total * 3)
        check_nothing_lost(app, list(stored))
        print(f"{total} uploads, {len(accepted)} accepted, {len(refused)} refused by the "
              f"crash, {len(stored) - len(accepted)} stored unanswered: {dict(found)}")
    finally:
        if web.poll() is None:
            os.killpg(web.pid, signal.SIGTERM)
            web.wait(timeout=30)
        close_app(app)
        worker.stop()
