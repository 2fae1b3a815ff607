"""The broker (redis-server) stopped and started again under load: uploads during the outage
are accepted and stored (the API answers 202, the page says grading is delayed), sent once
Redis is back, and none is lost;
the messages Redis held when it stopped are sent again by the sweeper."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest

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
from tests.services import CeleryWorker, RedisServer

pytestmark = [pytest.mark.faults, pytest.mark.redis, pytest.mark.slow, pytest.mark.sandbox]


def test_redis_restart_under_load(database: str, own_redis: RedisServer, tmp_path: Path) -> None:
    """A third of the stream before, a third during and a third after the outage: every
    upload answered 202 and every submission graded once."""
    config: dict[str, Any] = {**FAST, "DATABASE_URL": database, "REDIS_URL": own_redis.url,
                              # Redis keeps nothing on disk: what it held is sent again.
                              "QUEUED_STALE_SECONDS": 5}
    worker = CeleryWorker(config, concurrency=2, beat=True, log=tmp_path / "worker.log")
    app = fault_app(config)
    try:
        course = make_course(app, students=6)
        client = app.test_client()
        third = max(3, SUBMISSIONS // 3)
        started = time.monotonic()
        ids = stream(client, course, third)
        normal_uploads = time.monotonic() - started
        own_redis.stop()
        started = time.monotonic()
        ids += stream(client, course, third)
        outage_uploads = time.monotonic() - started
        # A student uploading on the page meanwhile is told grading is delayed.
        student = app.test_client()
        student.post("/login", data={"email": course.students[0], "password": "pw"})
        page = student.post(f"/assignments/{course.assignment_id}/submissions",
                            data={"code": MIX[0].decode()}, follow_redirects=True)
        assert page.status_code == 200
        assert "Grading is delayed: your submission is saved" in page.get_data(as_text=True)
        ids.append(int(page.request.path.rsplit("/", 1)[1]))
        time.sleep(2)
        own_redis.start()
        ids += stream(client, course, third)
        found = wait_all_final(app, ids, timeout=120 + SUBMISSIONS * 3)
        check_nothing_lost(app, ids)
        assert found["grader_error"] == 0
        # An upload while the broker is away is not held up waiting for it (Celery's default
        # publish retries would add ~0.6 s to each).
        assert (outage_uploads - normal_uploads) / third < 0.4
        print(f"{len(ids)} submissions, {third} during the outage "
              f"({outage_uploads / third * 1000:.0f} ms each, "
              f"{normal_uploads / third * 1000:.0f} ms with Redis up): {dict(found)}")
    finally:
        close_app(app)
        worker.stop()
        print(worker.output()[-4000:])
