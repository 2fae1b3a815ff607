"""One logging setup for every process: the web server, the grading workers, the sweeper (beat)
and ``autograde serve``.

Each record is one JSON line: time (UTC), level, logger, service, process, message, and any
ids passed in ``extra`` (``submission_id``, ``run_id``, ``outbox_id`` ...), so that one
submission can be followed from upload to grade to LMS with ``grep '"submission_id": 42'``.
Lines go to standard error and, when ``LOG_FILE`` is set, to that file (``autograde serve``
sets it to ``autograde.log`` in the instance folder). The formatter is python-json-logger's:
Flask, Celery, werkzeug and our modules all log through the standard library, so a formatter
on the root logger covers them all without changing how any of them log.
"""

from __future__ import annotations

import logging
import os
import sys
from pathlib import Path
from typing import Any

from pythonjsonlogger.json import JsonFormatter

#: Marks the handlers this module installed, so configuring again replaces them.
_OURS = "_autograde_handler"


def formatter(service: str) -> logging.Formatter:
    """The JSON line formatter, every line naming ``service``."""
    return JsonFormatter(
        "{levelname}{name}{process}{message}",
        style="{",
        timestamp="time",
        rename_fields={"levelname": "level", "name": "logger"},
        static_fields={"service": service},
        json_ensure_ascii=False,
    )


def configure(
    service: str,
    *,
    level: str = "INFO",
    log_file: str | os.PathLike[str] | None = None,
    console: bool = True,
) -> None:
    """Send this process's log records, as JSON lines, to stderr and/or ``log_file``.

    Calling it again (a worker after the app was built) replaces the handlers it installed.
    """
    root = logging.getLogger()
    for handler in [h for h in root.handlers if getattr(h, _OURS, False)]:
        root.removeHandler(handler)
        handler.close()
    handlers: list[logging.Handler] = []
    if console:
        handlers.append(logging.StreamHandler(sys.stderr))
    if log_file:
        Path(log_file).parent.mkdir(parents=True, exist_ok=True)
        # Several processes append to one file: O_APPEND keeps each line whole. Messages may
        # quote student text with lone surrogates: written as \udXXX, still valid JSON.
        handlers.append(logging.FileHandler(log_file, encoding="utf-8",
                                            errors="backslashreplace"))
    for handler in handlers:
        setattr(handler, _OURS, True)
        handler.setFormatter(formatter(service))
        root.addHandler(handler)
    root.setLevel(level.upper())
    # Per-request lines of the development server add nothing to the app's own records.
    logging.getLogger("werkzeug").setLevel(logging.WARNING)


def init_app(app: Any) -> None:
    """Set up this process's logging from the app's config, as :func:`logging.basicConfig`
    would: only if nothing did before (no handler on the root logger) and not under test.
    Entry points that know better (``autograde serve``, the Celery worker) call
    :func:`configure_from` themselves."""
    if app.testing or logging.getLogger().handlers:
        return
    configure_from(app.config, "web")


def configure_from(config: Any, service: str) -> None:
    """:func:`configure` with the app's ``LOG_LEVEL``, ``LOG_FILE`` and ``LOG_CONSOLE``."""
    configure(
        service,
        level=str(config.get("LOG_LEVEL") or "INFO"),
        log_file=config.get("LOG_FILE") or None,
        console=bool(config.get("LOG_CONSOLE", True)),
    )
