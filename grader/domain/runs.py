"""The life of a grading run: claim with a lease, renew, record the result, or give up.

Every state change is a conditional UPDATE, so a duplicated or redelivered task message, or a
worker that lost its lease, can never write a result twice.
"""

from __future__ import annotations

import logging
import uuid
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
import sqlalchemy.orm as so

from grader.domain import jobs
from grader.domain.outbox import note_score_change
from grader.domain.storable import storable, storable_json
from grader.engine.result import GradeResult
from grader.models import Assignment, GradingRun, PartResultRow, Submission, utcnow

log = logging.getLogger(__name__)

#: Expired leases after which a run is given up (the config's ``MAX_LOST_LEASES``).
DEFAULT_MAX_LOST_LEASES = 3


def claim_run(
    session: so.Session,
    run_id: int,
    owner: str,
    lease_seconds: float,
    now: datetime | None = None,
    *,
    max_lost_leases: int = DEFAULT_MAX_LOST_LEASES,
) -> str | None:
    """Take the run if it is queued, or running under an expired lease.

    Taking a run whose lease expired counts a lost lease; the ``max_lost_leases``-th gives the
    run up instead (:func:`give_up`), so a submission that kills or hangs every worker that
    grades it cannot loop.

    Returns:
        The lease token to renew and record with, or None if the run is done, held or given up.
    """
    now = now or utcnow()
    token = uuid.uuid4().hex
    # Named in the reason if the run is given up: the claim below overwrites it.
    last_owner = session.scalar(sa.select(GradingRun.lease_owner).where(GradingRun.id == run_id))
    claimable = sa.or_(
        GradingRun.status == "queued",
        sa.and_(GradingRun.status == "running", GradingRun.lease_expires_at < now),
    )
    claimed = session.execute(
        sa.update(GradingRun)
        .where(GradingRun.id == run_id, claimable)
        .values(
            status="running",
            lease_token=token,
            lease_owner=owner[:255],
            lease_expires_at=now + timedelta(seconds=lease_seconds),
            claims=GradingRun.claims + 1,
            # SET sees the row as it was: only a running run had a lease to lose.
            lost_leases=GradingRun.lost_leases + sa.case((GradingRun.status == "running", 1),
                                                         else_=0),
            started_at=sa.func.coalesce(GradingRun.started_at, now),
        )
        .returning(GradingRun.kind, GradingRun.submission_id, GradingRun.lost_leases)
        .execution_options(synchronize_session=False)
    ).first()
    if claimed is None:
        return None
    kind, submission_id, lost_leases = claimed
    _forget(session, run_id)
    if lost_leases >= max_lost_leases:
        give_up(session, run_id, token, max_lost_leases, now, last_owner=last_owner)
        return None
    if kind == "initial":
        session.execute(
            sa.update(Submission)
            .where(Submission.id == submission_id, Submission.status.in_(("queued", "running")))
            .values(status="running")
            .execution_options(synchronize_session=False)
        )
    return token


def _forget(session: so.Session, run_id: int) -> None:
    """Expire the session's copy of a run changed by a bulk UPDATE (read afresh when used)."""
    found = session.identity_map.get(so.util.identity_key(GradingRun, run_id))
    if found is not None:
        session.expire(found)


def give_up(
    session: so.Session,
    run_id: int,
    token: str,
    max_lost_leases: int,
    now: datetime,
    *,
    last_owner: str | None = None,
) -> bool:
    """Record the run held with ``token`` as ``grader_error``: its lease was lost
    ``max_lost_leases`` times without a result. The reason is kept for instructors; as for
    every grader error, no attempt is charged.

    Args:
        last_owner: The worker that lost the last lease (default: the run's lease owner).
    """
    run = session.get_one(GradingRun, run_id)
    session.refresh(run)
    assignment = run.submission.assignment
    reason = (
        f"Given up: the lease on this run expired {run.lost_leases} times without a result "
        f"(the limit is MAX_LOST_LEASES = {max_lost_leases}). The worker grading it died or "
        f"hung each time (last: {last_owner or run.lease_owner or 'unknown'}), e.g. killed "
        "for memory or time by the host; the submission itself may cause it. No attempt was "
        "charged; regrade it once the cause is fixed."
    )
    if run.error:
        reason += f"\n\nThe last error before that:\n{run.error}"
    failed = GradeResult.grader_error(assignment.slug, run.submission.seed,
                                      float(assignment.max_score))
    log.error("given up after %d lost leases: recorded as grader_error", run.lost_leases,
              extra={"submission_id": run.submission_id, "run_id": run_id})
    return record_result(session, run_id, token, failed, error=reason, now=now)


def renew_lease(session: so.Session, run_id: int, token: str, lease_seconds: float) -> bool:
    """Push the lease's expiry forward; False if the lease was lost."""
    result = session.execute(
        sa.update(GradingRun)
        .where(
            GradingRun.id == run_id, GradingRun.lease_token == token, GradingRun.status == "running"
        )
        .values(lease_expires_at=utcnow() + timedelta(seconds=lease_seconds))
        .execution_options(synchronize_session=False)
    )
    return _rowcount(result) == 1


def record_result(
    session: so.Session,
    run_id: int,
    token: str,
    result: GradeResult,
    *,
    error: str = "",
    now: datetime | None = None,
) -> bool:
    """Store ``result`` for the run held with ``token``.

    Writes the run, its part rows and (unless it is a preview) the submission's current grade,
    all in the caller's transaction. Text the database cannot hold (NUL, lone surrogates: the
    student controls much of it) is stored with U+FFFD in its place.

    Args:
        error: Our own failure's detail, for staff (never shown to students).

    Returns:
        False, writing nothing, if the lease was lost (another worker grades it).
    """
    now = now or utcnow()
    run = session.get_one(GradingRun, run_id)
    timings = dict(result.timings)
    timings["queue"] = round(((run.started_at or now) - run.created_at).total_seconds() * 1000, 1)
    values = {
        "status": result.status,
        "score": result.score if result.status == "graded" else None,
        "max_score": result.max_score,
        "feedback": storable(result.feedback),
        "output": storable(result.output),
        "sandbox_level": storable(result.sandbox_level, 100),
        "timings": storable_json(timings),
        "error": storable(error[-4000:]),
        "lease_token": None,
        "lease_expires_at": None,
        "finished_at": now,
    }
    finished = session.execute(
        sa.update(GradingRun)
        .where(
            GradingRun.id == run_id, GradingRun.lease_token == token, GradingRun.status == "running"
        )
        .values(**values)
        .execution_options(synchronize_session=False)
    )
    if _rowcount(finished) != 1:
        return False
    # The UPDATE bypassed the session: give its copy the new values, without a SELECT.
    for key, value in values.items():
        so.attributes.set_committed_value(run, key, value)
    session.expire(run, ["parts"])
    rows = [
        {
            "run_id": run_id,
            "position": position,
            "name": storable(part.name, 100),
            "score": part.score,
            "max_score": part.max_score,
            "status": part.status,
            "diagnoses": storable_json(list(part.diagnoses)),
            "feedback": storable(part.feedback),
            "counterexample": (
                None if part.counterexample is None else storable(part.counterexample)),
            "output": storable(part.output),
            "cases_passed": part.cases_passed,
            "cases_total": part.cases_total,
        }
        for position, part in enumerate(result.parts)
    ]
    if rows:
        # One executemany, no ORM bookkeeping: nothing in this session reads them back.
        session.execute(sa.insert(PartResultRow), rows)
    if run.kind != "preview":
        make_current(session, run, now)
        session.flush()
        # An LMS linked to the assignment gets the change through the outbox, in this
        # same transaction.
        submission = session.get_one(Submission, run.submission_id)
        note_score_change(session, submission.assignment_id, submission.student_id, now)
    session.flush()
    return True


def apply_points(session: so.Session, assignment: Assignment) -> None:
    """Rescale every stored result of ``assignment`` to its current points per part.

    Each part keeps the fraction of cases it passed, so a change of points never needs the
    student code to run again. Flushed, not committed.
    """
    points = assignment.part_points
    runs = session.scalars(
        sa.select(GradingRun)
        .join(Submission, Submission.id == GradingRun.submission_id)
        .where(Submission.assignment_id == assignment.id)
        .options(so.selectinload(GradingRun.parts), so.selectinload(GradingRun.submission))
    ).all()
    for run in runs:
        if not run.parts:
            continue
        for part in run.parts:
            new = float(points.get(part.name, part.max_score))
            if part.cases_total:
                part.score = round(new * part.cases_passed / part.cases_total, 6)
            else:
                part.score = new if part.status == "passed" else 0.0
            part.max_score = new
        run.max_score = float(sum(part.max_score for part in run.parts))
        if run.status == "graded":
            run.score = round(sum(part.score for part in run.parts), 6)
        submission = run.submission
        if submission.current_run_id == run.id:
            submission.score, submission.max_score = run.score, run.max_score
    session.flush()


def make_current(session: so.Session, run: GradingRun, now: datetime) -> None:
    """Make a finished run the one that counts for its submission."""
    submission = session.get_one(Submission, run.submission_id)
    submission.current_run_id = run.id
    submission.status = run.status
    submission.score = run.score
    submission.max_score = run.max_score
    submission.graded_at = now
    if run.status == "graded" and submission.attempt is None:
        # Attempts are numbered when graded: not-gradable uploads are free.
        previous = session.scalar(
            sa.select(sa.func.max(Submission.attempt)).where(
                Submission.assignment_id == submission.assignment_id,
                Submission.student_id == submission.student_id,
            )
        )
        submission.attempt = (previous or 0) + 1


def release_for_retry(session: so.Session, run_id: int, token: str, error: str) -> bool:
    """Give the run back to the queue after our own error; False if the lease was lost."""
    result = session.execute(
        sa.update(GradingRun)
        .where(
            GradingRun.id == run_id, GradingRun.lease_token == token, GradingRun.status == "running"
        )
        .values(
            status="queued",
            lease_token=None,
            lease_expires_at=None,
            retries=GradingRun.retries + 1,
            error=error[-4000:],
            enqueued_at=utcnow(),
        )
        .execution_options(synchronize_session=False)
    )
    return _rowcount(result) == 1


def sweep(
    session: so.Session,
    queued_stale_seconds: float,
    now: datetime | None = None,
    *,
    max_lost_leases: int = DEFAULT_MAX_LOST_LEASES,
) -> list[tuple[int, int]]:
    """Find runs to enqueue again: leases that expired (worker died) and lost messages.

    Expired runs go back to ``queued`` (so the old holder can no longer record), counting a
    lost lease, and both kinds get a fresh ``enqueued_at``. A run whose lease expired for the
    ``max_lost_leases``-th time is given up instead (:func:`give_up`). A queued run with no
    ``enqueued_at`` was never sent (the broker was down) and is sent at once.

    Returns:
        The (submission id, run id) pairs found; each is sent once the caller commits.
    """
    now = now or utcnow()
    stale = now - timedelta(seconds=queued_stale_seconds)
    expired = sa.and_(GradingRun.status == "running", GradingRun.lease_expires_at < now)
    lost_message = sa.and_(
        GradingRun.status == "queued",
        sa.or_(GradingRun.enqueued_at < stale, GradingRun.enqueued_at.is_(None)),
    )
    rows = session.execute(
        sa.select(GradingRun.id, GradingRun.submission_id)
        .where(sa.or_(expired, lost_message))
        .order_by(GradingRun.id)
    ).all()
    found: list[tuple[int, int]] = []
    for run_id, submission_id in rows:
        token = uuid.uuid4().hex
        last_lease = session.execute(
            sa.update(GradingRun)
            .where(GradingRun.id == run_id, expired,
                   GradingRun.lost_leases + 1 >= max_lost_leases)
            .values(lost_leases=GradingRun.lost_leases + 1, lease_token=token)
            .execution_options(synchronize_session=False)
        )
        if _rowcount(last_lease) == 1:
            give_up(session, run_id, token, max_lost_leases, now)
            continue
        result = session.execute(
            sa.update(GradingRun)
            .where(GradingRun.id == run_id, sa.or_(expired, lost_message))
            .values(
                status="queued",
                lost_leases=GradingRun.lost_leases + sa.case(
                    (GradingRun.status == "running", 1), else_=0),
                lease_token=None,
                lease_expires_at=None,
                enqueued_at=now,
            )
            .execution_options(synchronize_session=False)
        )
        if _rowcount(result) == 1:
            found.append((submission_id, run_id))
            jobs.grade_after_commit(session, submission_id, run_id)
    return found


def mark_unsent(session: so.Session, run_ids: list[int]) -> None:
    """Note that these queued runs never reached the queue (the broker could not be reached):
    :func:`sweep` sends them at its next pass."""
    session.execute(
        sa.update(GradingRun)
        .where(GradingRun.id.in_(run_ids), GradingRun.status == "queued")
        .values(enqueued_at=None)
        .execution_options(synchronize_session=False)
    )


def pending_run_id(session: so.Session, submission_id: int) -> int | None:
    """The submission's initial run, if it still needs grading."""
    return session.scalar(
        sa.select(GradingRun.id)
        .where(GradingRun.submission_id == submission_id, GradingRun.kind == "initial")
        .order_by(GradingRun.id)
        .limit(1)
    )


def _rowcount(result: Any) -> int:
    return int(result.rowcount)
