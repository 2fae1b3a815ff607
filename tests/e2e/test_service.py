"""End to end: gunicorn, Celery workers with the real sandbox, Redis and PostgreSQL.

Submissions go in over HTTP; scores and diagnoses come out of the API and the database.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from grader import create_app
from grader.extensions import db
from grader.models import GradingRun, PartResultRow, Submission
from tests.conftest import seed_world, truncate_all
from tests.services import (
    REDIS_DBS,
    ROOT,
    CeleryWorker,
    free_port,
    service_env,
    wait_for_port,
    wait_until,
)

pytestmark = [pytest.mark.slow, pytest.mark.redis, pytest.mark.postgres, pytest.mark.sandbox]

SUBMISSIONS = ROOT / "tests" / "submissions" / "softmax_backprop"
SETTINGS = {
    "LEASE_SECONDS": 3,
    "LEASE_RENEW_SECONDS": 1,
    "SWEEP_INTERVAL_SECONDS": 1,
}


@pytest.fixture(scope="module")
def stack(
    postgres_database: str, redis_server: Any, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[dict[str, Any]]:
    """gunicorn and celery beat (the sweeper) on PostgreSQL and Redis; workers per test."""
    truncate_all(postgres_database)
    logs = tmp_path_factory.mktemp("e2e")
    redis_url = redis_server.url_of(REDIS_DBS["e2e"])
    config = {**SETTINGS, "DATABASE_URL": postgres_database, "REDIS_URL": redis_url}
    port = free_port()
    web_log = open(logs / "web.log", "wb")  # noqa: SIM115
    web = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "gunicorn",
            "-w",
            "2",
            "-b",
            f"127.0.0.1:{port}",
            "grader:create_app()",
        ],
        env=service_env(config),
        cwd=ROOT,
        stdout=web_log,
        stderr=subprocess.STDOUT,
    )
    beat_log = open(logs / "beat.log", "wb")  # noqa: SIM115
    beat = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "worker.make_celery",
            "beat",
            "--schedule",
            str(logs / "beat-schedule"),
            "--loglevel=INFO",
        ],
        env=service_env(config),
        cwd=ROOT,
        stdout=beat_log,
        stderr=subprocess.STDOUT,
    )
    try:
        wait_for_port(port, 20)
        app = create_app({**config, "SERVER_NAME": f"127.0.0.1:{port}"})
        world = seed_world(app)
        app.extensions["db"].engine.dispose()
        yield {**config, "base": f"http://127.0.0.1:{port}/api/v1", "world": world, "logs": logs}
    finally:
        for process in (web, beat):
            process.terminate()
            process.wait(timeout=20)
        web_log.close()
        beat_log.close()


@pytest.fixture
def db_app(stack: dict[str, Any]) -> Iterator[Any]:
    app = create_app({k: v for k, v in stack.items() if k.isupper()})
    yield app
    app.extensions["db"].session.remove()
    app.extensions["db"].engine.dispose()


def api(
    stack: dict[str, Any], path: str, *, data: bytes | None = None, content_type: str | None = None
) -> Any:
    headers = {"Authorization": f"Bearer {stack['world'].instructor_token}"}
    if content_type:
        headers["Content-Type"] = content_type
    request = urllib.request.Request(
        stack["base"] + path,
        data=data,
        headers=headers,
        method="POST" if data is not None else "GET",
    )
    with urllib.request.urlopen(request, timeout=20) as response:
        return json.load(response)


def upload(stack: dict[str, Any], code: bytes, student: str = "ada@example.com") -> int:
    boundary = "e2eboundary"
    body = (
        (
            f'--{boundary}\r\nContent-Disposition: form-data; name="student"\r\n\r\n{student}\r\n'
            f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="hw.py"\r\n\r\n'
        ).encode()
        + code
        + f"\r\n--{boundary}--\r\n".encode()
    )
    doc = api(
        stack,
        f"/assignments/{stack['world'].assignment_id}/submissions",
        data=body,
        content_type=f"multipart/form-data; boundary={boundary}",
    )
    assert doc["status"] == "queued"
    return int(doc["id"])


def graded(stack: dict[str, Any], sid: int, timeout: float = 60) -> dict[str, Any]:
    def check() -> dict[str, Any] | None:
        doc: dict[str, Any] = api(stack, f"/submissions/{sid}")
        return doc if doc["status"] not in ("queued", "running") else None

    return wait_until(check, timeout, interval=0.1)  # type: ignore[no-any-return]


class TestGradingEndToEnd:
    def test_correct_and_wrong_submissions(
        self, stack: dict[str, Any], db_app: Any, tmp_path: Path
    ) -> None:
        """A correct file scores full marks; a known mistake loses points and is named."""
        worker = CeleryWorker(stack, concurrency=2, log=tmp_path / "worker.log")
        try:
            good = upload(stack, (SUBMISSIONS / "correct.py").read_bytes())
            bad = upload(
                stack,
                (SUBMISSIONS / "missing_batch_mean.py").read_bytes(),
                student="bob@example.com",
            )
            good_doc, bad_doc = graded(stack, good), graded(stack, bad)
        finally:
            worker.stop()
        assert good_doc["status"] == "graded", worker.output()[-2000:]
        assert good_doc["score"] == good_doc["max_score"] > 0
        assert all(p["status"] == "passed" for p in good_doc["parts"])
        assert bad_doc["status"] == "graded"
        assert bad_doc["score"] < bad_doc["max_score"]
        named = [d for p in bad_doc["parts"] for d in p["diagnoses"]]
        assert any("missing_batch_mean" in d or "batch" in d.lower() for d in named), named
        with db_app.app_context():
            row = db.session.get_one(Submission, bad)
            assert row.score == bad_doc["score"] and row.attempt == 1
            stored = db.session.scalars(
                sa.select(PartResultRow.diagnoses).where(PartResultRow.run_id == row.current_run_id)
            ).all()
            assert [d for ds in stored for d in ds] == named
        grades = api(stack, f"/assignments/{stack['world'].assignment_id}/grades")
        scores = {g["student"]["email"]: g["score"] for g in grades["items"]}
        assert scores == {"ada@example.com": good_doc["score"], "bob@example.com": bad_doc["score"]}

    def test_killed_worker_is_graded_once(
        self, stack: dict[str, Any], db_app: Any, tmp_path: Path
    ) -> None:
        """SIGKILL a worker mid-grading: another grades the submission, exactly once."""
        slow = b"import time\ntime.sleep(4)\n" + (SUBMISSIONS / "correct.py").read_bytes()
        doomed = CeleryWorker(stack, pool="solo", name="doomed", log=tmp_path / "doomed.log")
        sid = upload(stack, slow, student="bob@example.com")

        def running() -> bool:
            with db_app.app_context():
                db.session.expire_all()
                return db.session.get_one(Submission, sid).status == "running"

        wait_until(running, 30)
        doomed.kill()
        killed_at = time.monotonic()
        rescuer = CeleryWorker(stack, name="rescuer", log=tmp_path / "rescuer.log")
        try:
            doc = graded(stack, sid, timeout=60)
        finally:
            rescuer.stop()
            doomed.stop()
        assert time.monotonic() - killed_at < 60
        assert doc["status"] == "graded"
        with db_app.app_context():
            runs = db.session.scalars(
                sa.select(GradingRun).where(GradingRun.submission_id == sid)
            ).all()
            assert len(runs) == 1 and runs[0].claims == 2
            parts = db.session.scalar(
                sa.select(sa.func.count())
                .select_from(PartResultRow)
                .where(PartResultRow.run_id == runs[0].id)
            )
            assert parts == len(doc["parts"]) > 0
            student_id = db.session.get_one(Submission, sid).student_id
            attempts = db.session.scalars(
                sa.select(Submission.attempt)
                .where(Submission.student_id == student_id)
                .order_by(Submission.id)
            ).all()
            assert attempts == list(range(1, len(attempts) + 1))  # charged once, in order
        assert doc["score"] == doc["max_score"]
