"""Configuration defaults; every key can be overridden by an ``AUTOGRADE_<KEY>`` variable."""

from __future__ import annotations

import os
import secrets
from pathlib import Path
from typing import Any

#: Defaults. ``create_app`` loads these, then ``AUTOGRADE_*`` environment variables, then the
#: test config. Environment values are parsed as JSON when they parse (``3`` is an int).
DEFAULTS: dict[str, Any] = {
    # None: a random key kept in the instance folder (made on first start, mode 0600).
    "SECRET_KEY": None,
    # None means a SQLite file in the instance folder.
    "DATABASE_URL": None,
    "REDIS_URL": "redis://127.0.0.1:6379/0",
    # Largest accepted upload; the request body may be a little larger (multipart framing).
    "MAX_SUBMISSION_BYTES": 256 * 1024,
    # Let the sandbox run with reduced isolation where the kernel lacks a feature.
    "SANDBOX_ALLOW_REDUCED": False,
    # How many reverse proxies stand in front of the web server (their X-Forwarded-* headers
    # are trusted for that many hops); 0 when clients connect directly.
    "TRUSTED_PROXIES": 0,
    # Folder of the sandbox's uid-slot lock files; workers in several containers on one host
    # share one (a volume) so that no two sandboxes ever get the same uid. None: temp dir.
    "SANDBOX_SLOTS_DIR": None,
    # "module:callable" building the runner a worker process grades with.
    "RUNNER_FACTORY": "worker.sandbox:SandboxRunner",
    # A worker holds a lease on the grading run it works on and renews it every
    # LEASE_RENEW_SECONDS; a lease that expires (the worker died) is re-enqueued by the sweeper.
    "LEASE_SECONDS": 30.0,
    "LEASE_RENEW_SECONDS": 10.0,
    "SWEEP_INTERVAL_SECONDS": 10.0,
    # A queued run untouched for this long is re-enqueued (its message was lost).
    "QUEUED_STALE_SECONDS": 120.0,
    # A run whose lease expired this many times without a result (its worker died or hung
    # each time: a poison submission) is recorded as grader_error, the reason shown to
    # instructors, no attempt charged. Counts expired leases, not claims (retries claim too).
    "MAX_LOST_LEASES": 3,
    # How long a worker holding a result waits for an unreachable database before giving the
    # run back for a retry.
    "RECORD_RETRY_SECONDS": 60.0,
    # Each worker says it is alive this often (a key in Redis living three times as long);
    # the health check, /metrics and the queue estimate count the live ones.
    "HEARTBEAT_SECONDS": 5.0,
    # Grader errors are retried this many times, with exponential backoff from RETRY_BACKOFF.
    "GRADE_MAX_RETRIES": 3,
    "GRADE_RETRY_BACKOFF_SECONDS": 5.0,
    # /metrics (Prometheus): served to these addresses or networks (a space-separated string
    # or a JSON list), or to a client sending "Authorization: Bearer <METRICS_TOKEN>".
    "METRICS_ALLOW": "127.0.0.1 ::1",
    "METRICS_TOKEN": None,
    # Logging (grader/logs.py): JSON lines at this level to stderr (LOG_CONSOLE) and, if set,
    # appended to LOG_FILE (autograde serve: autograde.log in the instance folder).
    "LOG_LEVEL": "INFO",
    "LOG_FILE": None,
    "LOG_CONSOLE": True,
    # Pages of list endpoints.
    "PAGE_DEFAULT_LIMIT": 50,
    "PAGE_MAX_LIMIT": 500,
    # Don't enqueue Celery tasks (tests of the web layer alone).
    "ENQUEUE": True,
    # Let registered LMSs show the pages in an iframe: frame-ancestors lists their origins and
    # the session cookie becomes SameSite=None; Secure; Partitioned. None: on exactly when
    # SESSION_COOKIE_SECURE is (embedding needs HTTPS).
    "LTI_EMBED": None,
    # Origins allowed to frame the pages besides the registered LMSs' own, e.g.
    # "https://lms.example.edu https://canvas.example.edu" (a string or a JSON list).
    "FRAME_ANCESTORS": "",
    # How long the list of framing origins read from the database is reused.
    "FRAME_ANCESTORS_CACHE_SECONDS": 30.0,
    # Uploads one student may make per minute, whatever the channel (pages, LMS launch, API);
    # counted in the database, so it holds across web processes. 0 turns it off.
    "SUBMISSIONS_PER_MINUTE": 5,
    # CSRF tokens live as long as the session (the session cookie already expires).
    "WTF_CSRF_TIME_LIMIT": None,
    # --- LTI 1.3 ---
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


def celery_config(config: dict[str, Any]) -> dict[str, Any]:
    """The Celery settings implied by the app config (after environment overrides)."""
    redis_url = config["REDIS_URL"]
    user = config.get("CELERY", {})
    return {
        "broker_url": redis_url,
        # Grades live in our tables: no result backend, results ignored.
        "task_ignore_result": True,
        "result_backend": None,
        "task_acks_late": True,
        "task_reject_on_worker_lost": True,
        "worker_prefetch_multiplier": 1,
        "broker_connection_retry_on_startup": True,
        # A worker outlives a broker outage of any length: it keeps reconnecting.
        "broker_connection_max_retries": None,
        # An upload while the broker is away is stored at once and sent by the sweeper later;
        # it does not wait for the broker. Connecting is retried once, briefly.
        "task_publish_retry_policy": {
            "max_retries": 1, "interval_start": 0, "interval_step": 0.1, "interval_max": 0.1,
        },
        "broker_transport_options": {"socket_connect_timeout": 2},
        # Read by grader.tasks.liveness: how often a worker says it is alive.
        "autograde_heartbeat_seconds": float(config["HEARTBEAT_SECONDS"]),
        "beat_schedule": {
            "sweep-expired-leases": {
                "task": "grader.tasks.sweeper.sweep",
                "schedule": float(config["SWEEP_INTERVAL_SECONDS"]),
            }
        },
        **user,
    }


def instance_secret_key(instance_path: str) -> str:
    """The key stored in the instance folder, created on first use.

    A fixed default such as "dev" would let anyone forge session cookies of every deployment
    that forgot to set one; a per-installation random key cannot be guessed.
    """
    path = Path(instance_path) / "secret_key"
    try:
        return path.read_text().strip()
    except FileNotFoundError:
        pass
    path.parent.mkdir(parents=True, exist_ok=True)
    key = secrets.token_hex(32)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:  # another process made it first: use theirs
        return path.read_text().strip()
    with os.fdopen(fd, "w") as f:
        f.write(key)
    return key
