"""Extensions, created unbound here and bound to an app in ``create_app``."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import sqlalchemy as sa
import sqlalchemy.orm as so
from flask import Flask, current_app


class Database:
    """An engine and a request-scoped session per app, the way Flask-SQLAlchemy does it.

    ``db.session`` is a scoped session: one per thread (so one per request and per task), removed
    when the app context ends. Only views, CLI commands and tasks commit it.
    """

    def init_app(self, app: Flask) -> None:
        """Create the app's engine and session factory from ``DATABASE_URL``."""
        url = app.config["DATABASE_URL"] or default_sqlite_url(app)
        engine = make_engine(url)
        session = so.scoped_session(so.sessionmaker(bind=engine, expire_on_commit=False))
        app.extensions["db"] = _State(engine, session)

        @app.teardown_appcontext
        def _remove_session(exc: BaseException | None) -> None:
            session.remove()

    @property
    def _state(self) -> _State:
        state: _State = current_app.extensions["db"]
        return state

    @property
    def engine(self) -> sa.Engine:
        """The current app's engine."""
        return self._state.engine

    @property
    def session(self) -> so.Session:
        """The current app's session for this thread."""
        return self._state.session()


class _State:
    def __init__(self, engine: sa.Engine, session: so.scoped_session[so.Session]) -> None:
        self.engine = engine
        self.session = session


def default_sqlite_url(app: Flask) -> str:
    """A SQLite file in the instance folder (created if missing)."""
    Path(app.instance_path).mkdir(parents=True, exist_ok=True)
    return f"sqlite:///{Path(app.instance_path) / 'autograde.sqlite3'}"


def make_engine(url: str, **kwargs: Any) -> sa.Engine:
    """An engine with the settings our workload needs on either database."""
    if url.startswith("sqlite"):
        engine = sa.create_engine(url, connect_args={"timeout": 30}, **kwargs)
        sa.event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    return sa.create_engine(url, pool_pre_ping=True, **kwargs)


def _sqlite_pragmas(dbapi_connection: Any, connection_record: Any) -> None:
    # WAL lets the web server read while a worker writes; foreign keys are off by default.
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()


db = Database()
