"""Headless Chromium through the pages of a live autograde: a student submits a wrong then a
right solution and watches the results arrive; another waits, and hits a file that can't be
imported and a grader failure; the instructor reads grades, analytics and a regrade preview.
Every page is checked with axe-core (WCAG 2.1 A/AA: no serious or critical violation) and
photographed at desktop and phone width."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from grader.domain import runs
from grader.domain.regrades import start_regrade
from grader.domain.submissions import create_submission
from grader.engine.result import GradeResult
from grader.extensions import db
from grader.models import Assignment, User
from tests.browser.conftest import Live, axe_check, log_in, shoot
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


def check(page: Any, name: str) -> None:
    """Axe first (on the desktop layout), then the screenshots."""
    axe_check(page, name)
    shoot(page, name)


def _seed_submission(live: Live, email: str, code: str, *, failed: bool) -> int:
    """A submission that stays waiting, or whose grading failed on our side."""
    with live.seeder.app_context():
        s = db.session
        student = s.query(User).filter_by(email=email).one()
        assignment = s.get_one(Assignment, live.assignment_id)
        submission = create_submission(s, assignment, student, "waiting.py", code)
        s.commit()
        if failed:
            run_id = runs.pending_run_id(s, submission.id)
            assert run_id is not None
            token = runs.claim_run(s, run_id, "browser-test", 30)
            assert token is not None
            failure = GradeResult.grader_error(assignment.slug, submission.seed,
                                               assignment.max_score)
            runs.record_result(s, run_id, token, failure, error="worker lost")
            s.commit()
        return submission.id


class TestStudent:
    def test_student_submits_wrong_then_right(self, page: Any, live: Live) -> None:
        """The diagnosis appears in place without a reload, then full marks do."""
        page.goto(live.base + "/login")
        check(page, "login")
        log_in(page, live, "ada@example.com")
        page.wait_for_selector("text=Deep Learning 101")
        check(page, "student-dashboard")
        page.click("text=Softmax and backpropagation")
        page.wait_for_selector("text=Your standing")
        check(page, "student-assignment")
        page.click("text=Read the handout")
        page.wait_for_selector("h1:has-text('Softmax and backpropagation')")
        check(page, "student-handout")

        _submit(page, live, "missing_batch_mean.py")
        page.wait_for_selector("text=You forgot the 1/N batch mean", timeout=90_000)
        assert page.evaluate("window.__sameDocument === true")
        assert page.locator(".snippet pre").count() >= 1
        assert page.inner_text("#status-text").startswith("Graded:")
        check(page, "student-results-wrong")

        _submit(page, live, "correct.py")
        page.wait_for_selector("#status .badge-graded", timeout=90_000)
        assert page.evaluate("window.__sameDocument === true")
        page.wait_for_selector("#results .parts")
        assert page.inner_text("#status-score").replace(" ", "") == "90/90"
        assert page.locator(".part-failed").count() == 0
        assert page.inner_text("h1") == "Submission 2"
        page.reload()
        page.wait_for_selector("text=The best graded attempt counts (attempt 2 of 2 graded)")
        assert page.inner_text("h1") == "Submission 2"
        check(page, "student-results-right")
        page.goto(f"{live.base}/assignments/{live.assignment_id}")
        page.wait_for_selector("text=3 of 5 left")
        check(page, "student-assignment-after")

    def test_waiting_not_gradable_and_grader_error(self, page: Any, live: Live) -> None:
        """A waiting submission says so in its live region; a file that can't be imported and
        a failure of ours each read as what they are; all pass the accessibility checks."""
        log_in(page, live, "bob@example.com")
        waiting = _seed_submission(live, "bob@example.com", "import numpy as np\n", failed=False)
        page.goto(f"{live.base}/submissions/{waiting}")
        status = page.locator("#status-text")
        assert status.get_attribute("role") == "status"
        # Its place in the queue, or (no worker in this test) that grading is delayed.
        assert status.inner_text().startswith(("Number", "Next in the queue", "Grading is delayed"))
        assert page.locator("#status .badge-queued").count() == 1
        check(page, "student-results-waiting")

        page.goto(f"{live.base}/assignments/{live.assignment_id}")
        page.click("text=…or paste your code")
        page.fill("textarea[name=code]", "def softmax(z):\n    return z +\n")
        page.click("#submit-form button[type=submit]")
        page.wait_for_selector("#status .badge-not_gradable", timeout=90_000)
        page.wait_for_selector("text=No attempt was charged")
        check(page, "student-results-not-gradable")

        failed = _seed_submission(live, "bob@example.com", "import numpy as np\n", failed=True)
        page.goto(f"{live.base}/submissions/{failed}")
        page.wait_for_selector("text=This is not your score")
        check(page, "student-results-grader-error")


def _chart_text_sizes(page: Any) -> list[float]:
    """The rendered size, in CSS px, of every piece of chart text on the page."""
    return list(page.evaluate("""() => [...document.querySelectorAll('svg.chart')].flatMap(svg =>
        [...svg.querySelectorAll('text')].map(t => parseFloat(getComputedStyle(t).fontSize)
            * svg.getBoundingClientRect().width / svg.viewBox.baseVal.width))"""))


MISTAKE = "forgot the 1/N batch mean"


def _numbers(page: Any) -> dict[str, tuple[int, int]]:
    """The part and mistake charts' tables: label -> (students, of how many)."""
    found = {}
    for row in page.locator("#parts-chart tr, #mistakes-chart tr").all():
        cells = row.locator("th[scope=row], td").all_text_contents()
        numbers = re.search(r"\((\d+) of (\d+)\)", cells[-1]) if len(cells) == 2 else None
        if numbers:
            found[cells[0]] = (int(numbers.group(1)), int(numbers.group(2)))
    return found


def _bars_are_labelled(page: Any) -> None:
    for chart in page.locator("svg.chart").all():
        bars = chart.locator("rect.chart-bar").count()
        assert bars > 0
        assert chart.locator("text.chart-label").count() == bars
        assert chart.locator("text.chart-value").count() == bars


class TestInstructor:
    def test_instructor_grades_submission_analytics_export(
        self, page: Any, live: Live
    ) -> None:
        """The grade table links to the submission; charts render; the CSV downloads."""
        log_in(page, live, "teacher@example.com")
        page.wait_for_selector("text=Your courses")
        check(page, "instructor-courses")
        page.goto(f"{live.base}/teach/courses/{live.course_id}")
        check(page, "instructor-course")
        page.goto(f"{live.base}/teach/assignments/{live.assignment_id}")
        page.wait_for_selector("#grade-table")
        assert "ada@example.com" in page.inner_text("#grade-table")
        check(page, "instructor-grades")

        page.click("#grade-table >> text=Open")
        page.wait_for_selector(".code-card .code")
        assert "def softmax" in page.inner_text(".code-card")
        check(page, "instructor-submission")
        page.click("nav.crumbs >> text=Ada Lovelace")
        page.wait_for_selector("text=Exceptions")
        check(page, "instructor-student")

        page.goto(f"{live.base}/teach/assignments/{live.assignment_id}/edit")
        check(page, "instructor-rules")

        page.goto(f"{live.base}/teach/assignments/{live.assignment_id}")
        with page.expect_download() as info:
            page.click("#export-canvas")
        csv_text = Path(info.value.path()).read_bytes().decode()
        assert "Ada Lovelace,,,ada@example.com,,90\r\n" in csv_text

        page.goto(f"{live.base}/teach/courses/{live.course_id}/roster")
        page.click("tr:has-text('di@example.com') >> text=Reset link")
        page.wait_for_selector("#links")
        check(page, "instructor-roster")

    def test_analytics_basis_labels_and_phone_text(self, page: Any, live: Live) -> None:
        """Both part charts state one basis and agree; every bar has its label and value;
        chart text is at least 11 px on a 390 px screen; the numbers are in tables."""
        log_in(page, live, "teacher@example.com")
        url = f"{live.base}/teach/assignments/{live.assignment_id}/analytics"
        page.goto(url)
        assert page.locator(".basis", has_text="Basis: each student's counted attempt").count() == 2
        counted = _numbers(page)
        # Whoever's counted attempt forgot the batch mean failed grad_z3 with it: on one basis
        # the two charts add up to at most everyone.
        passing, total = counted["grad_z3"]
        assert passing + counted.get(MISTAKE, (0, total))[0] <= total
        _bars_are_labelled(page)
        check(page, "instructor-analytics")

        page.click("text=Any attempt")
        page.wait_for_url(re.compile(r"basis=any"))
        assert page.locator(".basis", has_text="Basis: every graded attempt").count() == 2
        every = _numbers(page)
        # Ada made the mistake, then fixed it: counted once more on this basis.
        assert every[MISTAKE][0] >= counted.get(MISTAKE, (0, 0))[0] + 1
        page.click("#mistakes-chart summary")
        assert page.locator("#mistakes-chart table th[scope=row]").count() >= 1
        _bars_are_labelled(page)
        axe_check(page, "instructor-analytics-any-attempt")

        page.set_viewport_size({"width": 390, "height": 844})
        sizes = _chart_text_sizes(page)
        assert sizes and min(sizes) >= 11, sizes
        page.set_viewport_size({"width": 1280, "height": 900})

    def test_regrade_preview_pending_then_done(self, page: Any, live: Live) -> None:
        """Rows still being graded read "pending", never "no change"; a finished preview says
        how many scores would change."""
        with live.seeder.app_context():
            assignment = db.session.get_one(Assignment, live.assignment_id)
            # Never enqueued: its runs stay waiting, as at the start of any preview.
            stalled, _ = start_regrade(db.session, assignment, None, preview=True)
            db.session.commit()
            stalled_id = stalled.id
        log_in(page, live, "teacher@example.com")
        page.goto(f"{live.base}/teach/regrades/{stalled_id}")
        assert page.locator("td", has_text="pending").count() >= 1
        assert page.locator("td", has_text="no change").count() == 0
        check(page, "instructor-regrade-pending")

        page.goto(f"{live.base}/teach/assignments/{live.assignment_id}")
        page.fill("input[name=reason]", "browser check")
        page.click("text=Preview a regrade")
        page.wait_for_selector("text=would get a different score", timeout=120_000)
        assert page.locator("td", has_text="pending").count() == 0
        check(page, "instructor-regrade-done")
