"""Headless Chromium through the pages of a live autograde: a student submits a wrong then a
right solution and watches the results arrive; the instructor reads grades and analytics."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from tests.browser.conftest import Live, log_in, shoot
from tests.services import ROOT

pytestmark = [pytest.mark.browser, pytest.mark.redis, pytest.mark.slow, pytest.mark.sandbox]

SUBMISSIONS = ROOT / "tests" / "submissions" / "softmax_backprop"


def _submit(page: Any, live: Live, filename: str) -> None:
    page.goto(f"{live.base}/assignments/{live.assignment_id}")
    page.set_input_files("input[name=file]", str(SUBMISSIONS / filename))
    page.click("#submit-form button[type=submit]")
    page.wait_for_url(re.compile(r"/submissions/\d+$"))
    # Marks this document: if the page reloaded, the mark would be gone.
    page.evaluate("window.__sameDocument = true")


class TestStudentAndInstructor:
    def test_student_submits_wrong_then_right(self, page: Any, live: Live) -> None:
        """The diagnosis appears in place without a reload, then full marks do."""
        log_in(page, live, "ada@example.com")
        page.wait_for_selector("text=Deep Learning 101")
        shoot(page, "student-dashboard")
        page.click("text=Softmax and backpropagation")
        page.wait_for_selector("text=Your standing")
        shoot(page, "student-assignment")
        page.click("text=Read the handout")
        page.wait_for_selector("h1:has-text('Softmax and backpropagation')")
        shoot(page, "student-handout")

        _submit(page, live, "missing_batch_mean.py")
        page.wait_for_selector("text=You forgot the 1/N batch mean", timeout=90_000)
        assert page.evaluate("window.__sameDocument === true")
        assert page.locator(".snippet pre").count() >= 1
        shoot(page, "student-results-wrong")

        _submit(page, live, "correct.py")
        page.wait_for_selector("#status .badge-graded", timeout=90_000)
        assert page.evaluate("window.__sameDocument === true")
        page.wait_for_selector("#results .parts")
        assert page.inner_text("#status-score").replace(" ", "") == "90/90"
        assert page.locator(".part-failed").count() == 0
        page.reload()
        page.wait_for_selector("text=The best graded attempt counts (attempt 2 of 2 graded)")
        shoot(page, "student-results-right")
        page.goto(f"{live.base}/assignments/{live.assignment_id}")
        page.wait_for_selector("text=3 of 5 left")
        shoot(page, "student-assignment-after")

    def test_instructor_grades_submission_analytics_export(
        self, page: Any, live: Live
    ) -> None:
        """The grade table links to the submission; charts render; the CSV downloads."""
        log_in(page, live, "teacher@example.com")
        page.wait_for_selector("text=Your courses")
        shoot(page, "instructor-courses")
        page.goto(f"{live.base}/teach/assignments/{live.assignment_id}")
        page.wait_for_selector("#grade-table")
        assert "ada@example.com" in page.inner_text("#grade-table")
        shoot(page, "instructor-grades")

        page.click("#grade-table >> text=Open")
        page.wait_for_selector(".code-card .code")
        assert "def softmax" in page.inner_text(".code-card")
        shoot(page, "instructor-submission")

        page.goto(f"{live.base}/teach/assignments/{live.assignment_id}/analytics")
        assert page.locator("svg.chart").count() >= 4
        assert "forgot the 1/N batch mean" in page.inner_text("main")
        shoot(page, "instructor-analytics")

        page.goto(f"{live.base}/teach/assignments/{live.assignment_id}")
        with page.expect_download() as info:
            page.click("#export-canvas")
        csv_text = Path(info.value.path()).read_bytes().decode()
        assert "Ada Lovelace,,,ada@example.com,,90\r\n" in csv_text

        page.goto(f"{live.base}/teach/courses/{live.course_id}/roster")
        shoot(page, "instructor-roster")
        page.goto(f"{live.base}/teach/assignments/{live.assignment_id}/edit")
        shoot(page, "instructor-rules")
