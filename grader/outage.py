"""Telling an outage of the database from a bug: the first is waited out, the second is ours."""

from __future__ import annotations

import sqlalchemy.exc as sa_exc


def database_unavailable(exc: BaseException) -> bool:
    """Whether ``exc`` says the database could not be reached or dropped the connection (a
    restart, a full disk, a lock held too long), rather than that a statement was wrong."""
    if isinstance(exc, sa_exc.DBAPIError) and exc.connection_invalidated:
        return True
    return isinstance(exc, sa_exc.OperationalError | sa_exc.InterfaceError)
