"""What the service holds and has done, read from the database for /metrics: the grading queue,
durations from upload to grade and of grading itself, sandbox levels, retries, lost leases and
poison runs, and the LMS score outbox.

The database is the one place every process writes to, so any web process reports the same
figures, whatever process graded or delivered. Durations are aggregated in SQL into the
buckets of a Prometheus histogram (cumulative, all time), so a scrape reads a few rows.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa
import sqlalchemy.orm as so

from grader.models import GradingRun, LtiScoreOutbox

#: Seconds from upload to grade (the student's wait).
UPLOAD_BUCKETS = (0.1, 0.25, 0.5, 1.0, 2.0, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0, 600.0)
#: Seconds from claim to result (a worker's time on one run).
GRADING_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1.0, 2.0, 5.0, 10.0, 30.0, 60.0, 120.0)


@dataclass
class Histogram:
    """Cumulative counts per upper bound, with the count and the sum, as Prometheus wants."""

    buckets: list[tuple[float, int]]
    count: int
    total: float


@dataclass
class ServiceStats:
    queued: int = 0
    running: int = 0
    #: Initial runs only: what a student waits from upload to grade.
    upload_to_graded: Histogram | None = None
    #: By final status.
    grading: dict[str, Histogram] = field(default_factory=dict)
    #: Finished runs by the isolation they ran under.
    sandbox_levels: dict[str, int] = field(default_factory=dict)
    retries: int = 0
    lost_leases: int = 0
    #: Runs given up after the maximum of lost leases.
    poison_runs: int = 0
    outbox_backlog: int = 0
    #: Undelivered outbox rows whose last delivery failed, and their failed attempts.
    outbox_failing: int = 0
    outbox_failures: int = 0


#: A column or SQL expression (SQLAlchemy's own types for them do not compose well here).
_Sql = Any


def _seconds(session: so.Session, start: _Sql, end: _Sql) -> _Sql:
    if session.get_bind().dialect.name == "sqlite":
        return (sa.func.julianday(end) - sa.func.julianday(start)) * 86400.0
    return sa.extract("epoch", end - start)


def _histograms(
    session: so.Session, seconds: _Sql, bounds: tuple[float, ...], where: list[_Sql],
    group: _Sql = None,
) -> dict[str, Histogram]:
    columns: list[_Sql] = [
        sa.func.count(), sa.func.coalesce(sa.func.sum(seconds), 0.0)]
    columns += [sa.func.sum(sa.case((seconds <= b, 1), else_=0)) for b in bounds]
    query = sa.select(*([group] if group is not None else []), *columns).where(*where)
    if group is not None:
        query = query.group_by(group)
    found: dict[str, Histogram] = {}
    for row in session.execute(query):
        values = list(row)
        key = str(values.pop(0)) if group is not None else ""
        count, total, *within = values
        if not count:
            continue
        found[key] = Histogram([(b, int(n or 0)) for b, n in zip(bounds, within, strict=True)],
                               int(count), float(total or 0.0))
    return found


def service_stats(session: so.Session, max_lost_leases: int) -> ServiceStats:
    """The figures /metrics reports."""
    stats = ServiceStats()
    for status, count in session.execute(
        sa.select(GradingRun.status, sa.func.count())
        .where(GradingRun.status.in_(("queued", "running"))).group_by(GradingRun.status)
    ):
        setattr(stats, status, int(count))
    finished = [GradingRun.finished_at.is_not(None)]
    waited = _histograms(session, _seconds(session, GradingRun.created_at,
                                           GradingRun.finished_at),
                         UPLOAD_BUCKETS, [*finished, GradingRun.kind == "initial"])
    stats.upload_to_graded = waited.get("")
    stats.grading = _histograms(
        session, _seconds(session, GradingRun.started_at, GradingRun.finished_at),
        GRADING_BUCKETS, [*finished, GradingRun.started_at.is_not(None)], GradingRun.status)
    stats.sandbox_levels = {
        level or "none": int(count) for level, count in session.execute(
            sa.select(GradingRun.sandbox_level, sa.func.count())
            .where(*finished).group_by(GradingRun.sandbox_level))
    }
    retries, lost, poison = session.execute(sa.select(
        sa.func.coalesce(sa.func.sum(GradingRun.retries), 0),
        sa.func.coalesce(sa.func.sum(GradingRun.lost_leases), 0),
        sa.func.coalesce(sa.func.sum(sa.case(
            (sa.and_(GradingRun.status == "grader_error",
                     GradingRun.lost_leases >= max_lost_leases), 1), else_=0)), 0),
    )).one()
    stats.retries, stats.lost_leases, stats.poison_runs = int(retries), int(lost), int(poison)
    backlog, failing, failures = session.execute(
        sa.select(
            sa.func.count(),
            sa.func.coalesce(sa.func.sum(sa.case((LtiScoreOutbox.failures > 0, 1), else_=0)),
                             0),
            sa.func.coalesce(sa.func.sum(LtiScoreOutbox.failures), 0),
        ).where(LtiScoreOutbox.delivered_version < LtiScoreOutbox.version)
    ).one()
    stats.outbox_backlog, stats.outbox_failing = int(backlog), int(failing)
    stats.outbox_failures = int(failures)
    return stats
