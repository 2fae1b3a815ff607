"""The comment sent to the LMS with a score reads like the results page: attempt, lateness,
points, the parts not passed with their likely mistake in words, and no internal codes."""

from __future__ import annotations

import dataclasses

from flask import Flask

from grader.domain.diagnoses import message
from grader.domain.score_comment import MAX_CHARS, score_comment
from grader.extensions import db
from grader.models import Submission
from tests.grader.web.conftest import Site, graded_result, record, site, submit_as  # noqa: F401


def test_wrong_part_in_plain_words(app: Flask, site: Site) -> None:  # noqa: F811
    """A failed part is named with its points and its mistake's message, not its code."""
    with app.app_context():
        text = score_comment(db.session, site.ada_submission)
    assert text.splitlines() == [
        "Attempt 1. 10 of 20 points.",
        "Passed: softmax.",
        "grad_z3: wrong answer, 0 of 10 points. Likely mistake: "
        + message("softmax-backprop", "missing_batch_mean"),
        "The smallest failing input of each part is on the submission's page in autograde.",
    ]
    assert "missing_batch_mean" not in text and "(s)" not in text


def test_late_and_all_passed(app: Flask, site: Site) -> None:  # noqa: F811
    """A late attempt says how late in days; an all-passed one says so."""
    with app.app_context():
        submission = db.session.get_one(Submission, site.ada_submission)
        ada = submission.student
        second = submit_as(ada, submission.assignment, "# fixed\n")
        record(second, graded_result(score_missing=False))
        late = db.session.get_one(Submission, second)
        late.late, late.days_late = True, 1.04
        db.session.commit()
        text = score_comment(db.session, second)
    assert text == ("Attempt 2, submitted 1 day late. 20 of 20 points, before the late "
                    "penalty.\nEvery part passed.")


def test_long_comments_are_cut_with_a_note(app: Flask, site: Site) -> None:  # noqa: F811
    """However many parts fail, the comment stays within what LMSs keep."""
    result = graded_result()
    result.parts = [dataclasses.replace(result.parts[1], name=f"part_{i}") for i in range(200)]
    with app.app_context():
        submission = db.session.get_one(Submission, site.ada_submission)
        sid = submit_as(submission.student, submission.assignment, "# many\n")
        record(sid, result)
        text = score_comment(db.session, sid)
    assert len(text) <= MAX_CHARS and text.endswith("is on the submission's page in autograde)")
