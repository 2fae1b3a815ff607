"""The comment sent to the LMS with each score, in the plain words of the results page.

A teacher reading the LMS gradebook, or a student reading the comment under their grade, sees
what the page says: which attempt counts, how late it was, which parts were not passed and the
likely mistake in each, never internal codes.
"""

from __future__ import annotations

import sqlalchemy as sa
import sqlalchemy.orm as so

from grader.domain.diagnoses import message
from grader.models import Assignment, GradingRun, PartResultRow, Submission

#: LMSs keep comments of a few thousand characters; longer ones are cut with a note.
MAX_CHARS = 4000

#: What each part status says after the part's name.
PART_STATUS = {
    "failed": "wrong answer",
    "error": "raised an error",
    "timeout": "too slow",
    "memory": "ran out of memory",
    "missing": "function missing",
}


def _points(value: float) -> str:
    return f"{value:.2f}".rstrip("0").rstrip(".")


def _days(value: float) -> str:
    rounded = round(value, 1)
    return f"{_points(rounded)} day" + ("" if rounded == 1 else "s")


def score_comment(session: so.Session, submission_id: int) -> str:
    """The comment for the score that comes from ``submission_id``."""
    submission = session.get_one(Submission, submission_id)
    assignment = session.get_one(Assignment, submission.assignment_id)
    head = f"Attempt {submission.attempt}" if submission.attempt else "Submission"
    if submission.late:
        head += f", submitted {_days(submission.days_late)} late"
    lines = [head + "."]
    if submission.score is not None:
        maximum = submission.max_score
        if maximum is None:
            maximum = assignment.max_score
        lines[0] += f" {_points(submission.score)} of {_points(maximum)} points"
        lines[0] += ", before the late penalty." if submission.late else "."
    parts = session.scalars(
        sa.select(PartResultRow)
        .join(GradingRun, GradingRun.id == PartResultRow.run_id)
        .where(GradingRun.id == submission.current_run_id)
        .order_by(PartResultRow.position)
    ).all()
    passed = [p.name for p in parts if p.status == "passed"]
    others = [p for p in parts if p.status != "passed"]
    if parts and not others:
        lines.append("Every part passed.")
    elif passed:
        lines.append("Passed: " + ", ".join(passed) + ".")
    for part in others:
        text = (f"{part.name}: {PART_STATUS.get(part.status, part.status.replace('_', ' '))}, "
                f"{_points(part.score)} of {_points(part.max_score)} points.")
        for code in part.diagnoses or []:
            text += " Likely mistake: " + message(assignment.slug, code).strip()
            if not text.endswith((".", "!", "?")):
                text += "."
        lines.append(text)
    if others:
        lines.append("The smallest failing input of each part is on the submission's page "
                     "in autograde.")
    comment = "\n".join(lines)
    if len(comment) > MAX_CHARS:
        cut = "\n… (cut; the whole feedback is on the submission's page in autograde)"
        comment = comment[: MAX_CHARS - len(cut)].rstrip() + cut
    return comment
