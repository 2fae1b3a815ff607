"""``autograde serve``: the whole service on one machine, with nothing installed but Python.

SQLite in the instance folder (migrated), a private redis-server on a free port, one Celery
worker (with the lease sweeper on its embedded beat), and the web server. Ctrl-C or SIGTERM
stops everything it started.
"""

from __future__ import annotations

import json
import os
import secrets
import signal
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path
from typing import Any

import click
from flask import Flask
from werkzeug.serving import BaseWSGIServer, make_server

from grader.cli.private_redis import PrivateRedis, stop_group

DEMO_INSTRUCTOR = "instructor@example.com"
DEMO_STUDENT = "student@example.com"


def seed_demo(app: Flask) -> dict[str, str]:
    """Create the demo course once; return the demo credentials (kept in the instance folder)."""
    import sqlalchemy as sa

    from grader.domain.courses import create_assignment, create_course
    from grader.domain.roster import enroll
    from grader.domain.users import create_user
    from grader.extensions import db
    from grader.models import User

    path = Path(app.instance_path) / "demo-credentials.json"
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


def serve(host: str, port: int, workers: int) -> None:
    """Run the service until SIGINT or SIGTERM."""
    from grader import create_app
    from grader.extensions import db
    from grader.migrate import upgrade

    redis: PrivateRedis | None = None
    worker: subprocess.Popen[bytes] | None = None
    server: BaseWSGIServer | None = None
    stopping = threading.Event()

    def on_signal(signum: int, frame: Any) -> None:
        stopping.set()
        if server is not None:
            threading.Thread(target=server.shutdown, daemon=True).start()

    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)
    try:
        settings: dict[str, Any] = {}
        if "AUTOGRADE_REDIS_URL" not in os.environ:
            redis = PrivateRedis(Path(tempfile.mkdtemp(prefix="autograde-redis-")))
            settings["REDIS_URL"] = redis.url
        app = create_app(settings)
        with app.app_context():
            upgrade(db.engine)
            url = db.engine.url.render_as_string(hide_password=False)
        credentials = seed_demo(app)
        if stopping.is_set():
            return
        worker = _start_worker(app, url, workers)
        try:
            server = make_server(host, port, app, threaded=True)
        except OSError as exc:
            raise click.ClickException(f"cannot listen on {host}:{port}: {exc}") from None
        threading.Thread(
            target=_announce, args=(server, credentials, stopping), daemon=True
        ).start()
        threading.Thread(target=_watch, args=(worker, server, stopping), daemon=True).start()
        if not stopping.is_set():
            server.serve_forever(poll_interval=0.2)
    finally:
        if server is not None:
            server.server_close()
        if worker is not None:
            stop_group(worker, 20)
        if redis is not None:
            redis.close()
        click.echo("autograde: stopped", err=True)


def _start_worker(app: Flask, database_url: str, workers: int) -> subprocess.Popen[bytes]:
    env = dict(os.environ)
    env["AUTOGRADE_DATABASE_URL"] = database_url
    env["AUTOGRADE_REDIS_URL"] = app.config["REDIS_URL"]
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
    # Its own process group, so stopping it also stops whatever it started.
    return subprocess.Popen(args, env=env, start_new_session=True, stdout=sys.stderr)


def _announce(
    server: BaseWSGIServer, credentials: dict[str, str], stopping: threading.Event
) -> None:
    host = "127.0.0.1" if server.host in ("0.0.0.0", "::", "") else server.host
    base = f"http://{host}:{server.port}"
    deadline = time.monotonic() + 30
    while not stopping.is_set() and time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"{base}/api/v1/health", timeout=1) as response:
                if response.status == 200:
                    break
        except OSError:
            time.sleep(0.05)
    else:
        return
    lines = [f"autograde is running at {base}"]
    if credentials:
        lines.append("demo accounts (email / password):")
        lines += [f"  {email} / {password}" for email, password in credentials.items()]
    lines.append("API tokens: autograde token create --user EMAIL; stop with Ctrl-C")
    print("\n".join(lines), flush=True)


def _watch(
    worker: subprocess.Popen[bytes], server: BaseWSGIServer, stopping: threading.Event
) -> None:
    worker.wait()
    if not stopping.is_set():
        click.echo(f"autograde: the worker exited ({worker.returncode}); stopping", err=True)
        stopping.set()
        server.shutdown()
