"""The submission page's live status line says where a waiting upload stands and updates it by
itself: in the queue, then being graded, then the grade (no reload)."""

from __future__ import annotations

import re
from typing import Any

import pytest

from tests.browser.conftest import Live, log_in
from tests.services import ROOT

pytestmark = [pytest.mark.browser, pytest.mark.redis, pytest.mark.slow, pytest.mark.sandbox]

CORRECT = (ROOT / "tests" / "submissions" / "softmax_backprop" / "correct.py").read_bytes()


def _upload(page: Any, live: Live, code: bytes, name: str) -> None:
    page.goto(f"{live.base}/assignments/{live.assignment_id}")
    page.set_input_files("input[name=file]", files=[
        {"name": name, "mimeType": "text/x-python", "buffer": code}])
    page.click("#submit-form button[type=submit]")
    page.wait_for_url(re.compile(r"/submissions/\d+$"))


def _said(page: Any, text: str, timeout: float = 30_000) -> None:
    page.wait_for_function(
        "t => document.getElementById('status-text').textContent.includes(t)", arg=text,
        timeout=timeout)


def test_the_queue_note_updates_by_itself(page: Any, live: Live) -> None:
    """Behind a slow upload the page says it waits in the queue, then that it is being graded,
    then shows the grade, all in the same document."""
    log_in(page, live, "cy@example.com")
    _upload(page, live, b"import time\ntime.sleep(5)\n" + CORRECT, "slow.py")
    _upload(page, live, b"import time\ntime.sleep(3)\n" + CORRECT, "next.py")
    page.evaluate("window.__sameDocument = true")
    _said(page, "in the queue")
    assert "results in about" in page.inner_text("#status-text")
    _said(page, "Being graded now")
    _said(page, "Graded:", timeout=60_000)
    page.wait_for_selector("#status .badge-graded")
    assert page.evaluate("window.__sameDocument === true")
