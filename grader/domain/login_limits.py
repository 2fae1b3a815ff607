"""Slowing down password guessing: failed logins counted per account and per address.

Counted in the database, so the limit holds across web workers. Unknown emails are counted
like known ones, and a refused attempt never checks the password, so the limit reveals
nothing about which accounts exist or which password is right.
"""

from __future__ import annotations

from datetime import datetime, timedelta

import sqlalchemy as sa
import sqlalchemy.orm as so

from grader.exceptions import TooManyLogins
from grader.models import utcnow
from grader.models.logins import LoginFailure

#: How long a failure counts.
WINDOW = timedelta(minutes=15)
#: Failures allowed per account and per client address within the window, unless the
#: ``LOGIN_FAILURES_PER_ACCOUNT`` / ``LOGIN_FAILURES_PER_IP`` settings say otherwise (0: no
#: limit). Behind a reverse proxy every client shares its address: hence the generous one.
PER_ACCOUNT = 10
PER_IP = 100


def _key(email: str) -> str:
    return email.strip().lower()[:320]


def check_login_allowed(session: so.Session, email: str, ip: str, *, per_account: int,
                        per_ip: int, now: datetime | None = None) -> None:
    """Refuse a login attempt when the account or the address failed too often lately.

    Args:
        per_account: Failures allowed per email within ``WINDOW`` (0: no limit).
        per_ip: Failures allowed per client address within ``WINDOW`` (0: no limit).

    Raises:
        TooManyLogins: one of the two limits is reached.
    """
    since = (now or utcnow()) - WINDOW
    for column, value, limit in ((LoginFailure.email, _key(email), per_account),
                                 (LoginFailure.ip, ip[:64], per_ip)):
        if limit <= 0:
            continue
        failures = session.scalar(sa.select(sa.func.count()).select_from(LoginFailure).where(
            column == value, LoginFailure.created_at > since)) or 0
        if failures >= limit:
            minutes = int(WINDOW.total_seconds() // 60)
            raise TooManyLogins(f"too many failed logins; wait {minutes} minutes and try again")


def record_failure(session: so.Session, email: str, ip: str, now: datetime | None = None) -> None:
    """Count a failed login (flushed), forgetting failures older than the window."""
    now = now or utcnow()
    session.execute(sa.delete(LoginFailure).where(LoginFailure.created_at <= now - WINDOW))
    session.add(LoginFailure(email=_key(email), ip=ip[:64], created_at=now))
    session.flush()


def clear_failures(session: so.Session, email: str) -> None:
    """A successful login wipes its account's failures (not its address's)."""
    session.execute(sa.delete(LoginFailure).where(LoginFailure.email == _key(email)))
