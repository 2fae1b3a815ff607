"""Where a waiting submission stands: its place in the grading queue and an estimated wait.

The queue is the runs waiting to be graded, oldest first (every kind: regrades and previews
take a worker too). The estimate counts the runs ahead of this one, shares them among the
grading processes alive, and multiplies by the recent median grading time.
"""

from __future__ import annotations

import math
import statistics
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
import sqlalchemy.orm as so

from grader.models import GradingRun, Submission, utcnow

#: Assumed grading time before anything was graded.
DEFAULT_GRADING_SECONDS = 2.0
#: How many recently finished runs the median grading time is taken over.
RECENT_RUNS = 50


@dataclass(frozen=True)
class QueueStanding:
    """A pending submission's place in the queue."""

    #: 0 while it is being graded, n >= 1 when n - 1 runs wait ahead of it.
    position: int
    #: Seconds until it is likely graded; None when no estimate can be made (delayed).
    estimated_wait_s: float | None
    #: No grader can take it now: the queue was unreachable when it was uploaded, or no
    #: worker is alive. It is stored and graded once they are back.
    delayed: bool

    @property
    def message(self) -> str:
        """One sentence for the student."""
        if self.delayed:
            return ("Grading is delayed: your submission is saved and will be graded as soon as "
                    "a grader is available. There is no need to submit again.")
        wait = _duration(self.estimated_wait_s)
        if self.position == 0:
            return f"Being graded now; results in {wait}."
        ahead = self.position - 1
        if ahead == 0:
            return f"Next in the queue; results in {wait}."
        return (f"Number {self.position} in the queue ({ahead} ahead of you); "
                f"results in {wait}.")


def _duration(seconds: float | None) -> str:
    if seconds is None:
        return "a moment"
    if seconds < 60:
        return f"about {max(1, round(seconds))} s"
    return f"about {math.ceil(seconds / 60)} min"


def grading_seconds(session: so.Session) -> float:
    """The median time from claim to result of the most recently finished runs."""
    rows = session.execute(
        sa.select(GradingRun.started_at, GradingRun.finished_at)
        .where(GradingRun.finished_at.is_not(None), GradingRun.started_at.is_not(None))
        .order_by(GradingRun.id.desc())
        .limit(RECENT_RUNS)
    ).all()
    durations = [(end - start).total_seconds() for start, end in rows if end and start]
    return statistics.median(durations) if durations else DEFAULT_GRADING_SECONDS


def queue_standing(
    session: so.Session,
    submission: Submission,
    *,
    processes: int,
    now: datetime | None = None,
) -> QueueStanding | None:
    """Where ``submission`` stands while it waits or is graded (None once it is done).

    Args:
        processes: Grading processes alive (0: none, or the queue cannot be reached).
    """
    if submission.status not in ("queued", "running"):
        return None
    run = session.scalar(
        sa.select(GradingRun)
        .where(GradingRun.submission_id == submission.id, GradingRun.kind == "initial")
        .order_by(GradingRun.id)
        .limit(1)
    )
    if run is None or run.status not in ("queued", "running"):
        return None
    now = now or utcnow()
    typical = grading_seconds(session)
    if run.status == "running":
        elapsed = (now - (run.started_at or now)).total_seconds()
        return QueueStanding(0, round(max(typical - elapsed, 1.0), 1), delayed=False)
    ahead = session.scalar(
        sa.select(sa.func.count())
        .select_from(GradingRun)
        .where(GradingRun.status == "queued", GradingRun.id < run.id)
    ) or 0
    busy = session.scalar(
        sa.select(sa.func.count()).select_from(GradingRun).where(GradingRun.status == "running")
    ) or 0
    if processes <= 0 or run.enqueued_at is None:
        return QueueStanding(ahead + 1, None, delayed=True)
    # Everything running and waiting ahead, then this one, shared among the processes.
    rounds = math.ceil((busy + ahead + 1) / processes)
    return QueueStanding(ahead + 1, round(rounds * typical, 1), delayed=False)
