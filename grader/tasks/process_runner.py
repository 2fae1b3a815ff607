"""The one runner of this worker process, created on first use (after the fork), reused."""

from __future__ import annotations

import importlib
import threading
from typing import Any

from celery.signals import worker_process_shutdown, worker_shutdown
from flask import current_app

_lock = threading.Lock()
_runner: Any = None


def get_runner() -> Any:
    """This process's runner, built by ``RUNNER_FACTORY`` the first time it is needed."""
    global _runner
    with _lock:
        if _runner is None:
            module_name, _, attr = current_app.config["RUNNER_FACTORY"].partition(":")
            factory = getattr(importlib.import_module(module_name), attr)
            _runner = factory(
                allow_reduced=bool(current_app.config["SANDBOX_ALLOW_REDUCED"]),
                slots_dir=current_app.config["SANDBOX_SLOTS_DIR"],
            )
        return _runner


def close_runner() -> None:
    """Close this process's runner, if it has one."""
    global _runner
    with _lock:
        runner, _runner = _runner, None
    if runner is not None and hasattr(runner, "close"):
        runner.close()


@worker_process_shutdown.connect  # type: ignore[untyped-decorator]  # Celery is untyped
def _on_process_shutdown(**kwargs: Any) -> None:
    close_runner()


@worker_shutdown.connect  # type: ignore[untyped-decorator]  # Celery is untyped
def _on_worker_shutdown(**kwargs: Any) -> None:
    close_runner()
