"""PostgreSQL (the test session's own server) stopped and started again under load: requests
meanwhile get a clean 503 (JSON from the API, a short page for people, the health check
still 200), workers wait and record once it is back, and every accepted upload is graded
once; a refused upload left nothing behind."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from grader.extensions import db
from grader.models import GradingRun, Submission
from tests.conftest import bearer
from tests.faults.conftest import (
    FAST,
    MIX,
    SUBMISSIONS,
    check_nothing_lost,
    close_app,
    fault_app,
    make_course,
    stream,
    upload,
    wait_all_final,
)
from tests.services import (
    CeleryWorker,
    PostgresServer,
    RedisServer,
    empty_database,
    wait_until,
)


def running(app: Any, submission_id: int) -> bool:
    with app.app_context():
        status = db.session.scalar(sa.select(Submission.status).where(
            Submission.id == submission_id))
        db.session.rollback()
    return status == "running"

pytestmark = [pytest.mark.faults, pytest.mark.postgres, pytest.mark.redis, pytest.mark.slow,
              pytest.mark.sandbox]


def test_postgres_restart_under_load(postgres_server: PostgresServer, postgres_database: str,
                                     own_redis: RedisServer, tmp_path: Path) -> None:
    empty_database(postgres_database)
    config: dict[str, Any] = {**FAST, "DATABASE_URL": postgres_database,
                              "REDIS_URL": own_redis.url, "RECORD_RETRY_SECONDS": 60}
    worker = CeleryWorker(config, concurrency=2, beat=True, log=tmp_path / "worker.log")
    app = fault_app(config)
    try:
        course = make_course(app, students=6)
        client = app.test_client()
        # A file that takes 3 s to grade: the outage begins while a worker grades it.
        slow = upload(client, course, b"import time\ntime.sleep(3)\n" + MIX[0],
                      course.students[0]).get_json()["id"]
        ids = [slow, *stream(client, course, max(6, SUBMISSIONS // 2))]
        wait_until(lambda: running(app, slow), 60)
        postgres_server.stop()
        try:
            refused = upload(client, course, MIX[0], course.students[0])
            assert refused.status_code == 503
            assert refused.get_json()["error"]["code"] == "database_unavailable"
            assert "Traceback" not in refused.get_data(as_text=True)
            read = client.get(f"/api/v1/submissions/{ids[0]}",
                              headers=bearer(course.instructor_token))
            assert read.status_code == 503 and read.headers["Retry-After"]
            page = client.post("/login", data={"email": course.students[0], "password": "pw"})
            assert page.status_code == 503
            assert "Back in a moment" in page.get_data(as_text=True)
            health = client.get("/api/v1/health")
            assert health.status_code == 200 and health.get_json()["database"] == {"ok": False}
            time.sleep(4)  # the slow file is graded meanwhile: its worker holds the result
        finally:
            postgres_server.start()
        ids += stream(client, course, max(6, SUBMISSIONS // 2))
        found = wait_all_final(app, ids, timeout=180 + SUBMISSIONS * 3)
        check_nothing_lost(app, ids)
        assert found["grader_error"] == 0
        with app.app_context():
            # The refused upload left no row: only the accepted ones exist.
            stored = db.session.scalar(sa.select(sa.func.count()).select_from(Submission))
            db.session.rollback()
        assert stored == len(ids)
        with app.app_context():
            (seen,) = db.session.execute(sa.select(
                GradingRun.status, GradingRun.claims, GradingRun.retries).where(
                GradingRun.submission_id == slow)).all()
            db.session.rollback()
        # Stored once the database was back, by the worker that graded it: not graded again.
        assert tuple(seen) == ("graded", 1, 0)
        assert "database unavailable while storing" in worker.output()
        print(f"{len(ids)} submissions around a PostgreSQL restart: {dict(found)}")
    finally:
        close_app(app)
        worker.stop()
        log = worker.output()
        print(log[-3000:])
