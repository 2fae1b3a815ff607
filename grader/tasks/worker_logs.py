"""The worker's and beat's logging: the app's one JSON setup (:mod:`grader.logs`), not Celery's.

A receiver connected to ``setup_logging`` makes Celery leave the root logger alone.
"""

from __future__ import annotations

import sys
from typing import Any

from celery import current_app
from celery.signals import setup_logging

from grader.logs import configure_from


@setup_logging.connect  # type: ignore[untyped-decorator]  # Celery is untyped
def _configure(**kwargs: Any) -> None:
    flask_app = getattr(current_app, "flask_app", None)
    if flask_app is None:
        return
    configure_from(flask_app.config, "beat" if "beat" in sys.argv[1:4] else "worker")
