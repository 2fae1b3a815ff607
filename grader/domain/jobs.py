"""Work the domain asks for once the caller's transaction commits.

A domain function that creates something a worker must act on (a run to grade, a score to send
to an LMS) registers it here on the session; it never talks to the queue itself. One listener
(:mod:`grader.tasks.dispatch`) sends everything registered once the session commits, and drops
it if the session rolls back, so a worker never sees a row that does not exist yet and nothing
is sent for a change that was undone.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import sqlalchemy.orm as so

_KEY = "autograde_jobs"


@dataclass
class Jobs:
    """What one transaction asked for."""

    #: (submission id, run id) pairs to grade.
    runs: list[tuple[int, int]] = field(default_factory=list)
    #: LMS score outbox rows to deliver.
    deliveries: set[int] = field(default_factory=set)

    def __bool__(self) -> bool:
        return bool(self.runs or self.deliveries)


def _jobs(session: so.Session) -> Jobs:
    jobs = session.info.get(_KEY)
    if jobs is None:
        jobs = session.info[_KEY] = Jobs()
    return jobs


def grade_after_commit(session: so.Session, submission_id: int, run_id: int) -> None:
    """Grade run ``run_id`` of ``submission_id`` once the session commits."""
    _jobs(session).runs.append((submission_id, run_id))


def deliver_after_commit(session: so.Session, outbox_id: int) -> None:
    """Deliver LMS outbox row ``outbox_id`` once the session commits."""
    _jobs(session).deliveries.add(outbox_id)


def take(session: so.Session) -> Jobs:
    """Remove and return what the session registered (after a commit or a rollback)."""
    jobs = session.info.pop(_KEY, None)
    return jobs if isinstance(jobs, Jobs) else Jobs()
