"""`autograde serve` writes one log of JSON lines in the instance folder, for the web server and
the worker alike: a submission can be followed from upload to grade by its id, and the
invitation and reset links the pages say are logged are there."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import requests

from tests.grader.cli.test_serve import _graded, _upload, autograde
from tests.services import ROOT, service_env, wait_until

pytestmark = [pytest.mark.slow, pytest.mark.redis]


def csrf(page: str) -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', page)
    assert found, page[:500]
    return found[1]


def lines(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def test_one_log_follows_a_submission_and_keeps_the_links(tmp_path: Path) -> None:
    env = service_env({"DATABASE_URL": f"sqlite:///{tmp_path / 'serve.sqlite3'}",
                       "INSTANCE_PATH": tmp_path / "instance"})
    env.pop("AUTOGRADE_REDIS_URL", None)
    instance = tmp_path / "instance"
    proc = subprocess.Popen([sys.executable, "-m", "grader.cli", "serve", "--port", "0"],
                            env=env, cwd=ROOT, stdout=subprocess.PIPE,
                            stderr=subprocess.DEVNULL, text=True)
    try:
        assert proc.stdout is not None
        banner = [proc.stdout.readline() for _ in range(7)]
        url = re.search(r"running at (http://\S+)", banner[0])
        assert url, banner
        log = instance / "autograde.log"
        assert any(str(log) in line for line in banner), banner
        base = url[1]
        password = json.loads((instance / "demo-credentials.json").read_text())[
            "instructor@example.com"]

        browser = requests.Session()
        login = browser.get(f"{base}/login", timeout=10).text
        signed_in = browser.post(f"{base}/login", timeout=10, data={
            "csrf_token": csrf(login), "email": "instructor@example.com", "password": password})
        assert signed_in.ok
        roster = browser.get(f"{base}/teach/courses/1/roster", timeout=10).text
        page = browser.post(f"{base}/teach/courses/1/students/2/link", timeout=10,
                            data={"csrf_token": csrf(roster)}).text
        link = re.search(r"http://[^\s\"<]+/password/[^\s\"<]+", page)
        assert link, page[:2000]

        token = autograde("token", "create", "--user", "instructor@example.com",
                          env=env).stdout.strip()
        sid = _upload(base + "/api/v1", token)
        wait_until(lambda: _graded(base + "/api/v1", token, sid), timeout=60)
        wait_until(lambda: any(r.get("message") == "recorded" for r in lines(log)), 10)

        records = lines(log)
        assert any(link[0] in r["message"] for r in records), "the link is not in the log"
        mine = [(r["service"], r["message"]) for r in records if r.get("submission_id") == sid]
        assert ("web", "sent for grading") in mine
        assert ("worker", "grading") in mine and ("worker", "recorded") in mine
        assert all({"time", "level", "logger", "process"} <= r.keys() for r in records)
    finally:
        proc.terminate()
        proc.wait(timeout=40)
        if proc.stdout is not None:
            proc.stdout.close()
