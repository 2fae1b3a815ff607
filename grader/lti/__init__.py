"""LTI 1.3 Advantage: launches from an LMS, grades back through an outbox (AGS), rosters
(NRPS). ``init_app`` registers the blueprint and the after-commit hook that enqueues score
deliveries."""

from __future__ import annotations

import logging
from typing import Any

import sqlalchemy as sa
import sqlalchemy.orm as so
from flask import Flask, current_app, has_app_context

from grader.domain.outbox import PENDING_KEY

log = logging.getLogger(__name__)

#: Settings of the LTI integration; each can be overridden by ``AUTOGRADE_<KEY>``.
DEFAULTS: dict[str, Any] = {
    # A delivery holds its outbox row this long; another sender waits it out.
    "LTI_DELIVERY_LEASE_SECONDS": 60.0,
    # First retry of a failed delivery, doubled each time, up to the maximum.
    "LTI_RETRY_BACKOFF_SECONDS": 10.0,
    "LTI_MAX_BACKOFF_SECONDS": 3600.0,
    # How often the sweep re-enqueues undelivered scores that are due.
    "LTI_SWEEP_INTERVAL_SECONDS": 30.0,
    # A launch syncs the course roster from the LMS at most this often.
    "LTI_ROSTER_SYNC_MINUTES": 60.0,
    # A rotated-out key of ours stays published this long.
    "LTI_KEY_OVERLAP_DAYS": 7.0,
    # Lifetime of the one-time link that moves an embedded launch whose cookies the browser
    # blocks into a new window.
    "LTI_HANDOFF_SECONDS": 120.0,
}


def init_app(app: Flask) -> None:
    """Register the blueprint, its settings, the outbox hook and the periodic sweep."""
    from grader.lti import views

    for key, value in DEFAULTS.items():
        app.config.setdefault(key, value)
    app.register_blueprint(views.bp)
    csrf = app.extensions.get("csrf")
    if csrf is not None:
        # The platform posts these cross-site; they are checked by state, nonce and signature.
        csrf.exempt(views.login)
        csrf.exempt(views.launch)
    celery = app.extensions.get("celery")
    if celery is not None:
        celery.conf.beat_schedule["lti-outbox-sweep"] = {
            "task": "worker.lti_tasks.sweep_outbox",
            "schedule": float(app.config["LTI_SWEEP_INTERVAL_SECONDS"]),
        }
    if not sa.event.contains(so.Session, "after_commit", _enqueue_after_commit):
        sa.event.listen(so.Session, "after_commit", _enqueue_after_commit)
        sa.event.listen(so.Session, "after_rollback", _forget_after_rollback)


def _enqueue_after_commit(session: so.Session) -> None:
    ids = session.info.pop(PENDING_KEY, None)
    if not ids or not has_app_context() or not current_app.config["ENQUEUE"]:
        return
    from kombu.exceptions import OperationalError

    from worker.lti_tasks import enqueue_deliveries

    try:
        enqueue_deliveries(sorted(ids))
    except OperationalError as exc:
        # The rows are committed: the sweep sends them once the broker is back.
        log.warning("could not enqueue score deliveries %s: %s", sorted(ids), exc)


def _forget_after_rollback(session: so.Session) -> None:
    session.info.pop(PENDING_KEY, None)
