"""`autograde serve`, `token create` and `db upgrade` as a person runs them."""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from datetime import UTC, datetime
from pathlib import Path

import pytest

from tests.services import ROOT, free_port, service_env, wait_until

pytestmark = [pytest.mark.slow, pytest.mark.redis]

CORRECT = ROOT / "tests" / "submissions" / "softmax_backprop" / "correct.py"


def autograde(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "grader.cli", *args],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )


def descendants(pid: int) -> set[int]:
    """Every process below ``pid`` (from /proc)."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError):
                continue
            children.setdefault(ppid, []).append(int(entry.name))
    found, todo = set(), [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            found.add(child)
            todo.append(child)
    return found


def alive(pid: int) -> bool:
    try:
        state = (Path("/proc") / str(pid) / "stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    environment = service_env(
        {
            "DATABASE_URL": f"sqlite:///{tmp_path / 'serve.sqlite3'}",
            "INSTANCE_PATH": tmp_path / "instance",
        }
    )
    environment.pop("AUTOGRADE_REDIS_URL", None)
    return environment


class TestServe:
    @pytest.mark.parametrize(("stop_signal", "any_port"), [(signal.SIGINT, False),
                                                           (signal.SIGTERM, True)],
                             ids=["SIGINT", "SIGTERM-port-0"])
    def test_serve_grades_and_stops_cleanly(
        self, env: dict[str, str], tmp_path: Path, stop_signal: int, any_port: bool
    ) -> None:
        """serve prints URL, credentials and where they are kept last, sends the worker's
        output to its log file, grades an upload, and leaves no process behind."""
        port = 0 if any_port else free_port()
        errors = tmp_path / "stderr.txt"
        with open(errors, "wb") as stderr:
            proc = subprocess.Popen(
                [sys.executable, "-m", "grader.cli", "serve", "--port", str(port)],
                env=env,
                cwd=ROOT,
                stdout=subprocess.PIPE,
                stderr=stderr,
                text=True,
            )
        try:
            assert proc.stdout is not None
            first = proc.stdout.readline()
            url = re.fullmatch(r"autograde is running at (http://127\.0\.0\.1:(\d+))\n", first)
            assert url is not None, first
            assert any_port or int(url[2]) == port
            base = url[1] + "/api/v1"
            banner = "".join(proc.stdout.readline() for _ in range(5))
            instance = Path(env["AUTOGRADE_INSTANCE_PATH"])
            assert f"kept in {instance / 'demo-credentials.json'}:" in banner
            assert re.search(r"instructor@example.com / \S+", banner)
            assert re.search(r"student@example.com / \S+", banner)
            assert f"grading worker log: {instance / 'worker.log'}" in banner
            assert "autograde token create" in banner
            started = descendants(proc.pid)
            assert len(started) >= 2  # redis-server, celery worker (+ its children)

            token = autograde(
                "token", "create", "--user", "instructor@example.com", env=env
            ).stdout.strip()
            assert re.fullmatch(r"ag_[\w-]+", token)
            sid = _upload(base, token)
            doc = wait_until(lambda: _graded(base, token, sid), timeout=30)
            assert doc["score"] == doc["max_score"] > 0
            # Celery's banner and warnings went to the log, none to the terminal.
            assert "celery@" in (instance / "worker.log").read_text(errors="replace")
            assert "celery" not in errors.read_text(errors="replace").lower()
        finally:
            proc.send_signal(stop_signal)
            proc.wait(timeout=40)
            if proc.stdout is not None:
                proc.stdout.close()
        assert proc.returncode == 0
        time.sleep(0.2)
        assert [p for p in started if alive(p)] == []

    def test_port_in_use_says_how_to_choose_another(self, env: dict[str, str]) -> None:
        """A port already taken is a clear error that names `make serve PORT=...`."""
        with socket.socket() as taken:
            taken.bind(("127.0.0.1", 0))
            taken.listen()
            port = taken.getsockname()[1]
            result = autograde("serve", "--port", str(port), env=env)
        assert result.returncode == 1
        assert f"cannot listen on 127.0.0.1:{port}" in result.stderr
        assert f"make serve PORT={port + 1}" in result.stderr


def _upload(base: str, token: str) -> int:
    boundary = "xyzzy"
    body = (
        (
            f'--{boundary}\r\nContent-Disposition: form-data; name="student"\r\n\r\n'
            f"student@example.com\r\n--{boundary}\r\n"
            'Content-Disposition: form-data; name="file"; filename="correct.py"\r\n\r\n'
        ).encode()
        + CORRECT.read_bytes()
        + f"\r\n--{boundary}--\r\n".encode()
    )
    request = urllib.request.Request(
        f"{base}/assignments/1/submissions",
        data=body,
        method="POST",
        headers={
            "Authorization": f"Bearer {token}",
            "Content-Type": f"multipart/form-data; boundary={boundary}",
        },
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        assert response.status == 202
        return int(json.load(response)["id"])


def _graded(base: str, token: str, sid: int) -> dict[str, object] | None:
    request = urllib.request.Request(
        f"{base}/submissions/{sid}", headers={"Authorization": f"Bearer {token}"}
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        doc: dict[str, object] = json.load(response)
    return doc if doc["status"] == "graded" else None


class TestCommands:
    def test_token_create_prints_only_the_token(self, env: dict[str, str]) -> None:
        """token create prints one line, the token, with instructor default scopes."""
        assert autograde("db", "upgrade", env=env).returncode == 0
        from grader.extensions import make_engine
        from grader.models import User

        url = env["AUTOGRADE_DATABASE_URL"]
        engine = make_engine(url)
        with engine.begin() as conn:
            conn.execute(
                User.__table__.insert().values(
                    email="t@example.com", name="T", role="instructor", created_at=datetime.now(UTC)
                )
            )
        engine.dispose()
        result = autograde("token", "create", "--user", "t@example.com", env=env)
        assert result.returncode == 0, result.stderr
        assert result.stdout.count("\n") == 1 and result.stdout.startswith("ag_")
        bad = autograde("token", "create", "--user", "t@example.com", "--scopes", "x:y", env=env)
        assert bad.returncode != 0 and "unknown scope" in bad.stderr
        missing = autograde("token", "create", "--user", "nobody@example.com", env=env)
        assert missing.returncode != 0 and "no user" in missing.stderr
        expiring = autograde("token", "create", "--user", "t@example.com", "--expires-days", "30",
                             env=env)
        assert expiring.returncode == 0 and expiring.stdout.startswith("ag_")
        never = autograde("token", "create", "--user", "t@example.com", "--expires-days", "0",
                          env=env)
        assert never.returncode == 2


def test_pid_helpers_see_this_process() -> None:
    """The /proc helpers find a child of this process."""
    child = subprocess.Popen(["sleep", "5"])
    try:
        assert child.pid in descendants(os.getpid())
    finally:
        child.kill()
        child.wait()
