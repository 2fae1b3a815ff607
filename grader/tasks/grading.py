"""Celery tasks. Thin: they take ids, re-read rows, and call the domain and the engine."""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
import traceback
from typing import Any

import sqlalchemy as sa
from celery import shared_task
from flask import current_app

from grader.domain import runs
from grader.engine.result import GradeResult
from grader.extensions import db
from grader.models import Assignment, GradingRun, Submission
from grader.outage import database_unavailable

log = logging.getLogger(__name__)



def _owner() -> str:
    """This process, as named in the leases it holds: host and pid, read at each claim (a
    module-level constant would name the parent of every forked pool process)."""
    return f"{socket.gethostname()}:{os.getpid()}"


@shared_task(  # type: ignore[untyped-decorator]  # Celery is untyped
    bind=True, acks_late=True, reject_on_worker_lost=True, max_retries=None, ignore_result=True
)
def grade_submission(self: Any, submission_id: int, run_id: int | None = None) -> str:
    """Grade one run of a submission (its initial run by default), at most once.

    While the database cannot be reached the task waits and tries again (backing off), so a
    database restart delays grading and loses nothing.

    Returns:
        What happened, for the worker log: the run's final status, or why nothing was done.
    """
    try:
        return _grade_run(self, submission_id, run_id)
    except Exception as exc:
        if not database_unavailable(exc):
            raise
        db.session.rollback()
        countdown = min(2.0 ** min(self.request.retries, 5), 30.0)
        log.warning("database unavailable; trying again in %.0f s: %s", countdown, exc,
                    extra={"submission_id": submission_id, "run_id": run_id})
        raise self.retry(countdown=countdown, kwargs={"run_id": run_id}) from None


def _grade_run(task: Any, submission_id: int, run_id: int | None) -> str:
    session = db.session
    if run_id is None:
        run_id = runs.pending_run_id(session, submission_id)
        if run_id is None:
            return "no such submission"
    config = current_app.config
    ids = {"submission_id": submission_id, "run_id": run_id}
    token = runs.claim_run(session, run_id, _owner(), config["LEASE_SECONDS"],
                           max_lost_leases=int(config["MAX_LOST_LEASES"]))
    if token is None:
        session.commit()
        log.info("nothing to grade: already graded, given up, or held elsewhere", extra=ids)
        return "already graded, given up, or held by another worker"
    # What grading needs, read in the claim's own transaction (one commit, not two).
    code, seed, slug, part_points = session.execute(
        sa.select(Submission.code, Submission.seed, Assignment.slug, Assignment.part_points)
        .join(Assignment, Assignment.id == Submission.assignment_id)
        .where(Submission.id == submission_id)
    ).one()
    session.commit()
    log.info("grading", extra=ids)
    points = dict(part_points)
    max_score = float(sum(points.values()))  # Assignment.max_score

    with _LeaseKeeper(run_id, token):
        try:
            result: GradeResult | None = _grade(code, slug, seed, points)
            error = ""
        except Exception:  # a process edge: our own fault, recorded and retried
            result, error = None, traceback.format_exc()
            log.exception("grading failed on our side", extra=ids)
        if result is not None:
            try:
                recorded = _record(session, run_id, token, result, config)
            except Exception:  # a process edge: storing failed, which is our fault too
                session.rollback()
                result, error = None, traceback.format_exc()
                log.exception("storing the result failed", extra=ids)
            else:
                if not recorded:
                    log.warning("lease lost before the result was stored; discarded", extra=ids)
                    return "lease lost; result discarded"
                log.info("recorded", extra={**ids, "status": result.status,
                                            "score": result.score,
                                            "ms": result.timings.get("total")})
                return result.status
    retries = session.scalar(sa.select(GradingRun.retries).where(GradingRun.id == run_id)) or 0
    if retries < config["GRADE_MAX_RETRIES"]:
        released = runs.release_for_retry(session, run_id, token, error)
        session.commit()
        if released:
            countdown = config["GRADE_RETRY_BACKOFF_SECONDS"] * 2**retries
            log.warning("our error; retrying in %.1f s", countdown, extra=ids)
            raise task.retry(countdown=countdown, kwargs={"run_id": run_id})
        return "lease lost while failing"
    failed = GradeResult.grader_error(slug, seed, max_score)
    runs.record_result(session, run_id, token, failed, error=error)
    session.commit()
    log.error("gave up: recorded as grader_error", extra=ids)
    return "grader_error"


def _record(
    session: Any, run_id: int, token: str, result: GradeResult, config: Any
) -> bool:
    """Store the result and commit, waiting out a database that cannot be reached for up to
    ``RECORD_RETRY_SECONDS`` (the result is kept in memory meanwhile, so nothing is graded
    twice); any other failure is raised."""
    deadline = time.monotonic() + float(config["RECORD_RETRY_SECONDS"])
    pause = 0.25
    while True:
        try:
            recorded = runs.record_result(session, run_id, token, result)
            session.commit()
            return recorded
        except Exception as exc:
            session.rollback()
            if not database_unavailable(exc) or time.monotonic() + pause > deadline:
                raise
            log.warning("database unavailable while storing; trying again: %s", exc,
                        extra={"run_id": run_id})
            time.sleep(pause)
            pause = min(pause * 2, 5.0)


def _grade(code: str, slug: str, seed: int, points: dict[str, float]) -> GradeResult:
    from grader.engine import grade
    from grader.tasks.process_runner import get_runner

    return grade(code, slug, seed=seed, runner=get_runner(), points=points)


class _LeaseKeeper:
    """Renews a run's lease from a thread while the run is being graded."""

    def __init__(self, run_id: int, token: str) -> None:
        app = current_app._get_current_object()  # type: ignore[attr-defined]  # LocalProxy API, untyped
        self._app, self._run_id, self._token = app, run_id, token
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, daemon=True, name="lease-keeper")

    def __enter__(self) -> _LeaseKeeper:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    def _loop(self) -> None:
        interval = self._app.config["LEASE_RENEW_SECONDS"]
        lease = self._app.config["LEASE_SECONDS"]
        with self._app.app_context():
            while not self._stop.wait(interval):
                try:
                    kept = runs.renew_lease(db.session, self._run_id, self._token, lease)
                    db.session.commit()
                except Exception:  # a thread's edge: try again at the next interval
                    db.session.rollback()
                    log.warning("could not renew the lease", exc_info=True,
                                extra={"run_id": self._run_id})
                    continue
                if not kept:
                    return


def time_limits() -> tuple[float, float]:
    """Celery's soft and hard limits, above the sandbox's own (import + every part in turn).

    The sandbox kills student code on its own clock; these only stop a stuck worker. They are
    sized for the slowest installed assignment, whose limits come from its plugin.
    """
    from grader.engine.registry import list_plugins

    sandbox = max(
        a.limits.import_seconds + a.limits.part_seconds * len(a.parts)
        for a in list_plugins()
    )
    return sandbox + 30, sandbox + 60
