"""Celery tied to Flask the documented way: every task runs inside an app context."""

from __future__ import annotations

from typing import Any

from celery import Celery, Task
from flask import Flask

from grader.config import celery_config


def celery_init_app(app: Flask) -> Celery:
    """Create the Celery app for ``app`` and store it in ``app.extensions["celery"]``."""

    class FlaskTask(Task):  # type: ignore[misc]  # Celery ships no type hints
        def __call__(self, *args: Any, **kwargs: Any) -> Any:
            with app.app_context():
                return self.run(*args, **kwargs)

    celery_app = Celery(app.name, task_cls=FlaskTask)
    celery_app.flask_app = app  # for the worker's logging set-up (grader.tasks.worker_logs)
    celery_app.config_from_object(celery_config(app.config))
    celery_app.set_default()
    # Register the tasks on this app (they are declared with shared_task).
    import grader.tasks.grading  # noqa: F401
    import grader.tasks.liveness  # noqa: F401
    import grader.tasks.lms  # noqa: F401
    import grader.tasks.sweeper  # noqa: F401
    import grader.tasks.worker_logs  # noqa: F401
    from grader.tasks import dispatch

    # Whatever the domain registers on a session is sent once that session commits.
    dispatch.init_app(app)

    app.extensions["celery"] = celery_app
    return celery_app
