"""PostgreSQL (the test session's own server) stopped and started again under load: requests
meanwhile get a clean 503 (JSON from the API, a short page for people, the health check
still 200), workers wait and record once it is back, and every accepted upload is graded
once; a refused upload left nothing behind."""

from __future__ import annotations

import io
import time
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from grader.extensions import db
from grader.models import Submission
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
    wait_all_final,
)
from tests.services import CeleryWorker, PostgresServer, RedisServer, empty_database

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
        ids = stream(client, course, max(6, SUBMISSIONS // 2))
        time.sleep(1.0)  # the workers are grading the stream now
        postgres_server.stop()
        try:
            upload = client.post(
                f"/api/v1/assignments/{course.assignment_id}/submissions",
                data={"file": (io.BytesIO(MIX[0]), "hw.py"), "student": course.students[0]},
                headers=bearer(course.instructor_token))
            assert upload.status_code == 503
            assert upload.get_json()["error"]["code"] == "database_unavailable"
            assert "Traceback" not in upload.get_data(as_text=True)
            read = client.get(f"/api/v1/submissions/{ids[0]}",
                              headers=bearer(course.instructor_token))
            assert read.status_code == 503 and read.headers["Retry-After"]
            page = client.post("/login", data={"email": course.students[0], "password": "pw"})
            assert page.status_code == 503
            assert "Back in a moment" in page.get_data(as_text=True)
            health = client.get("/api/v1/health")
            assert health.status_code == 200 and health.get_json()["database"] == {"ok": False}
            time.sleep(3)  # long enough for workers to meet the outage while recording
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
        print(f"{len(ids)} submissions around a PostgreSQL restart: {dict(found)}")
    finally:
        close_app(app)
        worker.stop()
        log = worker.output()
        print(log[-3000:])
