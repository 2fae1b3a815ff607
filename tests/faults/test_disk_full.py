"""Disk full under the SQLite database (a tiny tmpfs of the server's own): an upload gets a
clear 503 (JSON for the API, a page for people), nothing half-written stays behind, reads go
on being served, and uploads work again once there is room."""

from __future__ import annotations

import errno
import json
import os
import shutil
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from tests.services import ROOT, free_port, wait_for_port

pytestmark = [pytest.mark.faults, pytest.mark.slow]

CODE = (ROOT / "tests" / "submissions" / "softmax_backprop" / "correct.py").read_bytes()


@pytest.fixture
def server(tmp_path: Path) -> Iterator[dict[str, Any]]:
    folder, port, log = tmp_path / "small-disk", free_port(), tmp_path / "server.log"
    with open(log, "wb") as errors:
        proc = subprocess.Popen(
            ["unshare", "--mount", "--propagation", "private", sys.executable,
             str(ROOT / "tests" / "faults" / "tmpfs_server.py"), str(folder), "3m", str(port)],
            cwd=ROOT, stdout=subprocess.PIPE, stderr=errors, text=True)
    assert proc.stdout is not None
    try:
        line = proc.stdout.readline()
        if not line:
            proc.wait(timeout=10)
            raise AssertionError(f"the server did not start: {log.read_text()}")
        wait_for_port(port)
        # The server's view of its folder (the tmpfs is mounted in its namespace only).
        inside = Path(f"/proc/{proc.pid}/root") / str(folder).lstrip("/")
        yield {**json.loads(line), "base": f"http://127.0.0.1:{port}", "inside": inside}
    finally:
        proc.kill()
        proc.wait(timeout=10)
        proc.stdout.close()


def upload(base: str, assignment_id: int, token: str) -> requests.Response:
    return requests.post(f"{base}/api/v1/assignments/{assignment_id}/submissions",
                         headers={"Authorization": f"Bearer {token}"},
                         data={"student": "ada@example.com"},
                         files={"file": ("hw.py", CODE)}, timeout=30)


def fill(folder: Path) -> Path:
    """Write a file until the disk is full; return it."""
    filler = folder / "filler"
    with open(filler, "wb") as out:
        try:
            while True:
                out.write(b"\0" * 65536)
                out.flush()
                os.fsync(out.fileno())
        except OSError as exc:
            assert exc.errno == errno.ENOSPC, exc
    return filler


def test_disk_full_on_the_sqlite_path(server: dict[str, Any], tmp_path: Path) -> None:
    base, aid, token = server["base"], server["assignment_id"], server["token"]
    headers = {"Authorization": f"Bearer {token}"}
    first = upload(base, aid, token)
    assert first.status_code == 202, first.text

    filler = fill(server["inside"])
    refused = [upload(base, aid, token) for _ in range(3)]
    for response in refused:
        assert response.status_code == 503, response.text
        assert response.headers["Retry-After"]
        error = response.json()["error"]
        assert error["code"] == "database_unavailable"
        assert "disk is full" in error["message"] and "Traceback" not in response.text

    # Reads go on: the submission, the list, the health check.
    assert requests.get(first.json()["url"], headers=headers, timeout=10).status_code == 200
    listed = requests.get(f"{base}/api/v1/assignments/{aid}/submissions", headers=headers,
                          timeout=10)
    assert listed.status_code == 200 and len(listed.json()["items"]) == 1
    assert requests.get(f"{base}/api/v1/health", timeout=10).json()["database"] == {"ok": True}

    # People get a page saying so, not a traceback (a failed sign-in is written down).
    page = requests.post(f"{base}/login", data={"email": "teacher@example.com",
                                                "password": "wrong"}, timeout=10)
    assert page.status_code == 503
    assert "disk is full" in page.text and "Traceback" not in page.text

    filler.unlink()
    again = upload(base, aid, token)
    assert again.status_code == 202, again.text

    # Nothing half-written: every submission has its run, and only the two accepted exist.
    # (A copy: SQLite resolves /proc/<pid>/root to this namespace's own folder.)
    copy = tmp_path / "copy"
    copy.mkdir()
    for name in ("autograde.sqlite3", "autograde.sqlite3-wal"):
        if (server["inside"] / name).exists():
            shutil.copy(server["inside"] / name, copy / name)
    with sqlite3.connect(copy / "autograde.sqlite3") as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        pairs = conn.execute(
            "SELECT s.id, count(r.id) FROM submissions s LEFT JOIN grading_runs r "
            "ON r.submission_id = s.id GROUP BY s.id ORDER BY s.id").fetchall()
    assert pairs == [(first.json()["id"], 1), (again.json()["id"], 1)]
