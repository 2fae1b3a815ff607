"""A worker's heartbeat (:mod:`grader.heartbeat`): started when the worker is ready, stopped
(and its key removed) when it shuts down."""

from __future__ import annotations

from typing import Any

from celery.signals import worker_ready, worker_shutdown

from grader.heartbeat import Beat

_beat: Beat | None = None


@worker_ready.connect  # type: ignore[untyped-decorator]  # Celery is untyped
def _start(sender: Any, **kwargs: Any) -> None:
    global _beat
    conf = sender.app.conf
    processes = int(getattr(sender.controller, "concurrency", 1) or 1)
    _beat = Beat(conf.broker_url, sender.hostname, processes,
                 float(conf.get("autograde_heartbeat_seconds", 5.0)))


@worker_shutdown.connect  # type: ignore[untyped-decorator]  # Celery is untyped
def _stop(**kwargs: Any) -> None:
    global _beat
    if _beat is not None:
        _beat.stop()
        _beat = None
