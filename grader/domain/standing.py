"""Where one student stands on an assignment: due date, attempts, counted score and why."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import sqlalchemy.orm as so

from grader.domain.accommodations import override_for
from grader.domain.gradebook import counted, graded_attempts
from grader.domain.submissions import attempt_limit_for, charged_attempts, due_date_for, late_factor
from grader.models import Assignment, Submission, User, utcnow
from grader.models.accommodations import ScoreOverride


@dataclass(frozen=True)
class Standing:
    """One student's view of an assignment."""

    due_at: datetime | None
    extended: bool
    attempts_used: int
    attempt_limit: int | None
    score: float | None
    submission_id: int | None
    #: Why this score counts, in words.
    reason: str
    override: ScoreOverride | None

    @property
    def attempts_left(self) -> int | None:
        if self.attempt_limit is None:
            return None
        return max(0, self.attempt_limit - self.attempts_used)

    def past_due(self, now: datetime | None = None) -> bool:
        return self.due_at is not None and (now or utcnow()) > self.due_at


def explain(assignment: Assignment, submission: Submission | None, graded: int,
            override: ScoreOverride | None) -> str:
    """Why the counted score is what it is."""
    if override is not None:
        return f"Set by the instructor: {override.comment}"
    if submission is None or submission.score is None:
        return "No graded attempt yet."
    # Read by the student and by instructors alike: no "your".
    rule = ("the best" if assignment.counts == "best" else "the latest") + " graded attempt"
    text = f"{rule[0].upper()}{rule[1:]} counts (attempt {submission.attempt} of {graded} graded)."
    factor = late_factor(assignment, submission.days_late)
    if factor < 1:
        text += (f" It was {submission.days_late:.1f} day(s) late: {submission.score:g} × "
                 f"{factor:.0%} kept = {submission.score * factor:g}.")
    elif submission.late:
        text += " It was late, without penalty."
    return text


def student_standing(session: so.Session, assignment: Assignment, student: User) -> Standing:
    """Due date, attempts and counted score of ``student``."""
    due = due_date_for(session, assignment, student)
    attempts = graded_attempts(session, assignment).get(student.id, [])
    best = counted(assignment, attempts)
    submission = session.get(Submission, best[1].submission_id) if best else None
    override = override_for(session, assignment.id, student.id)
    score = override.score if override else (best[0] if best else None)
    return Standing(
        due_at=due,
        extended=due != assignment.due_at,
        attempts_used=charged_attempts(session, assignment.id, student.id),
        attempt_limit=attempt_limit_for(session, assignment, student),
        score=score,
        submission_id=submission.id if submission else None,
        reason=explain(assignment, submission, len(attempts), override),
        override=override,
    )
