"""LTI 1.3 Advantage: launches from an LMS, grades back through an outbox (AGS), rosters
(NRPS). ``init_app`` registers the blueprint and the outbox sweep; the settings are in
:mod:`grader.config` and scores are sent after commit by :mod:`grader.tasks.dispatch`."""

from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    """Register the blueprint and the periodic outbox sweep (settings: :mod:`grader.config`)."""
    from grader.lti import views

    app.register_blueprint(views.bp)
    csrf = app.extensions.get("csrf")
    if csrf is not None:
        # The platform posts these cross-site; they are checked by state, nonce and signature.
        csrf.exempt(views.login)
        csrf.exempt(views.launch)
    celery = app.extensions.get("celery")
    if celery is not None:
        celery.conf.beat_schedule["lti-outbox-sweep"] = {
            "task": "grader.tasks.lms.sweep_outbox",
            "schedule": float(app.config["LTI_SWEEP_INTERVAL_SECONDS"]),
        }
