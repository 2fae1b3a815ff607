"""The lease sweeper, run by Celery beat: runs whose worker died or whose message was lost are
queued again (sent once the sweep commits)."""

from __future__ import annotations

import logging

from celery import shared_task
from flask import current_app

from grader.domain import runs
from grader.extensions import db

log = logging.getLogger(__name__)


@shared_task(ignore_result=True)  # type: ignore[untyped-decorator]  # Celery is untyped
def sweep() -> int:
    """Queue again the runs whose worker died or whose message was lost; returns how many."""
    config = current_app.config
    pairs = runs.sweep(db.session, config["QUEUED_STALE_SECONDS"],
                       max_lost_leases=int(config["MAX_LOST_LEASES"]))
    db.session.commit()
    for submission_id, run_id in pairs:
        log.warning("sent again: its worker died or its message was lost",
                    extra={"submission_id": submission_id, "run_id": run_id})
    return len(pairs)
