"""The one place that sends work to the queue: after a session commits, what the domain
registered on it (:mod:`grader.domain.jobs`).

If the broker cannot be reached the rows are committed all the same; the sweepers send them
again once it is back, so a broker outage delays grading but loses nothing.
"""

from __future__ import annotations

import logging

import sqlalchemy as sa
import sqlalchemy.orm as so
from flask import Flask, current_app, has_app_context

from grader.domain import jobs

log = logging.getLogger(__name__)


def init_app(app: Flask) -> None:
    """Listen for commits and rollbacks of every session (once per process)."""
    if not sa.event.contains(so.Session, "after_commit", _send_after_commit):
        sa.event.listen(so.Session, "after_commit", _send_after_commit)
        sa.event.listen(so.Session, "after_rollback", _forget_after_rollback)


def _send_after_commit(session: so.Session) -> None:
    work = jobs.take(session)
    if not work or not has_app_context() or not current_app.config["ENQUEUE"]:
        return
    from kombu.exceptions import OperationalError

    try:
        send(work)
    except OperationalError as exc:
        log.warning("could not reach the broker, the sweepers will send it later: %s", exc,
                    extra={"run_ids": [run_id for _, run_id in work.runs]})
        _mark_unsent(work)


def _mark_unsent(work: jobs.Jobs) -> None:
    """Note that these runs never reached the queue: the next sweep sends them (and pages
    say grading is delayed) instead of waiting for them to look lost."""
    if not work.runs:
        return
    from grader.domain.runs import mark_unsent
    from grader.extensions import db

    try:
        with so.Session(db.engine) as session:
            mark_unsent(session, [run_id for _, run_id in work.runs])
            session.commit()
    except sa.exc.SQLAlchemyError:
        log.exception("could not note the unsent runs; they are sent once they look lost")


def _forget_after_rollback(session: so.Session) -> None:
    jobs.take(session)


def send(work: jobs.Jobs) -> None:
    """Send each run to ``grade_submission`` and each outbox row to ``deliver_score``."""
    from grader.tasks.grading import grade_submission, time_limits
    from grader.tasks.lms import deliver_score

    if work.runs:
        soft, hard = time_limits()
        for submission_id, run_id in work.runs:
            grade_submission.apply_async(
                (submission_id,), {"run_id": run_id}, soft_time_limit=soft, time_limit=hard
            )
            log.info("sent for grading", extra={"submission_id": submission_id,
                                                "run_id": run_id})
    for outbox_id in sorted(work.deliveries):
        deliver_score.delay(outbox_id)
        log.info("score sent for delivery to the LMS", extra={"outbox_id": outbox_id})
