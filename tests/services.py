"""Real services for tests: a private redis-server and Celery worker subprocesses."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Mapping
from pathlib import Path

import sqlalchemy as sa

from grader.cli.serve import PrivateRedis
from grader.extensions import make_engine

ROOT = Path(__file__).resolve().parent.parent


#: One Redis database per stack of tests that runs a Celery worker. Stacks can live for the
#: whole session, so two sharing a database would steal each other's tasks.
REDIS_DBS = {
    "tasks-sqlite": 1,
    "tasks-postgresql": 2,
    "e2e": 3,
    "lti-sqlite": 5,
    "lti-postgresql": 6,
    "browser": 7,
}


def free_port() -> int:
    """A TCP port nobody listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def wait_for_port(port: int, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return
        except OSError:
            time.sleep(0.05)
    raise TimeoutError(f"nothing answered on port {port}")


#: The service's own private redis-server (a free port, a password, nothing on disk); tests
#: give each stack one of its numbered databases (``url_of``).
RedisServer = PrivateRedis


def service_env(config: Mapping[str, object]) -> dict[str, str]:
    """The environment of a child process configured by ``AUTOGRADE_*`` variables."""
    env = dict(os.environ)
    env.update({f"AUTOGRADE_{k}": str(v) for k, v in config.items()})
    env["PYTHONPATH"] = str(ROOT) + os.pathsep + env.get("PYTHONPATH", "")
    return env


class CeleryWorker:
    """``celery -A worker.make_celery worker`` as a subprocess in its own process group."""

    def __init__(
        self,
        config: Mapping[str, object],
        *,
        pool: str = "prefork",
        concurrency: int = 1,
        name: str = "w1",
        beat: bool = False,
        log: Path | None = None,
    ) -> None:
        args = [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "worker.make_celery",
            "worker",
            f"--pool={pool}",
            f"--concurrency={concurrency}",
            f"--hostname={name}@%h",
            "--loglevel=INFO",
            "--without-gossip",
            "--without-mingle",
            "--without-heartbeat",
        ]
        if beat:
            args += ["--beat", "--schedule", str((log or Path("/tmp")).with_suffix(".beat"))]
        self.log_path = log
        self._log = open(log, "wb") if log else subprocess.DEVNULL  # noqa: SIM115
        self.process = subprocess.Popen(
            args,
            env=service_env(config),
            cwd=ROOT,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    def kill(self) -> None:
        """SIGKILL the worker and everything it started, as a crashed machine would."""
        try:
            os.killpg(self.process.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        self.process.wait(timeout=10)

    def stop(self) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.kill()
        if hasattr(self._log, "close"):
            self._log.close()

    def output(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path else ""


def empty_database(url: str) -> None:
    """Delete every row of every table (both backends)."""
    from grader.models import Base

    engine = make_engine(url)
    tables = list(reversed(Base.metadata.sorted_tables))
    try:
        with engine.begin() as conn:
            if engine.dialect.name == "postgresql":
                names = ", ".join(f'"{t.name}"' for t in tables)
                conn.execute(sa.text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))
            else:
                conn.execute(sa.text("PRAGMA foreign_keys=OFF"))
                for table in tables:
                    conn.execute(table.delete())
    finally:
        engine.dispose()


def wait_until(predicate, timeout: float = 30.0, interval: float = 0.05):  # type: ignore[no-untyped-def]
    """Poll ``predicate`` until it returns something truthy; return that."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise TimeoutError("condition not met in time")
        time.sleep(interval)
