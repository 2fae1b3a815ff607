"""Alembic environment: migrates the database of ``create_app()`` unless a URL is given."""

from __future__ import annotations

import sqlalchemy as sa
from alembic import context

from grader.extensions import make_engine
from grader.models import Base

config = context.config
target_metadata = Base.metadata


def _url() -> str:
    url = config.get_main_option("sqlalchemy.url")
    if url:
        return url
    from grader import create_app
    from grader.extensions import db

    app = create_app()
    with app.app_context():
        rendered = db.engine.url.render_as_string(hide_password=False)
        db.engine.dispose()
    return rendered


def run_migrations_offline() -> None:
    context.configure(url=_url(), target_metadata=target_metadata, literal_binds=True,
                      render_as_batch=True)
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        _run(connection)
        return
    engine = make_engine(_url())
    try:
        with engine.connect() as connection:
            _run(connection)
    finally:
        engine.dispose()


def _run(connection: sa.Connection) -> None:
    # Batch mode lets ALTERs work on SQLite (which rebuilds the table).
    context.configure(connection=connection, target_metadata=target_metadata,
                      render_as_batch=True, compare_type=True)
    with context.begin_transaction():
        context.run_migrations()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
