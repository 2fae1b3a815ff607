"""Service commands of the ``autograde`` CLI: serve, worker, db, token, regrade."""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta

import click


@click.command("serve")
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", default=8000, show_default=True, type=click.IntRange(0, 65535),
              help="Port to listen on (0: any free port; the banner prints the URL).")
@click.option(
    "--workers",
    default=1,
    show_default=True,
    type=int,
    help="Worker processes grading in parallel.",
)
@click.option("--verbose", is_flag=True,
              help="Show the service's log here too (it always goes to autograde.log in the "
                   "instance folder).")
def serve_command(host: str, port: int, workers: int, verbose: bool) -> None:
    """Run the whole service here: database, Redis, a grading worker and the web server."""
    from grader.cli.serve import serve

    serve(host, port, workers, verbose)


@click.command("worker", context_settings={"ignore_unknown_options": True})
@click.argument("celery_args", nargs=-1, type=click.UNPROCESSED)
def worker_command(celery_args: tuple[str, ...]) -> None:
    """Run a Celery grading worker (extra arguments go to `celery worker`)."""
    args = [sys.executable, "-m", "celery", "-A", "worker.make_celery", "worker", *celery_args]
    os.execv(sys.executable, args)


@click.group("db")
def db_group() -> None:
    """Database maintenance."""


@db_group.command("upgrade")
@click.option("--revision", default="head", show_default=True)
def db_upgrade(revision: str) -> None:
    """Apply the migrations to the configured database."""
    from grader import create_app
    from grader.extensions import db
    from grader.migrate import upgrade

    app = create_app()
    with app.app_context():
        upgrade(db.engine, revision)
        click.echo(f"database at {db.engine.url.render_as_string()} is at {revision}", err=True)
        db.engine.dispose()


@click.group("token")
def token_group() -> None:
    """API tokens."""


@token_group.command("create")
@click.option("--user", "email", required=True, help="Email of the token's owner.")
@click.option(
    "--scopes",
    default=None,
    help="Comma-separated scopes (default: what an LMS needs for instructors: "
    "roster:write,submissions:write,results:read,grades:read).",
)
@click.option("--name", default="", help="A label for the token.")
@click.option("--expires-days", type=click.FloatRange(min=0, min_open=True), default=None,
              help="Make the token stop working after this many days (default: until revoked).")
def token_create(email: str, scopes: str | None, name: str, expires_days: float | None) -> None:
    """Create a token and print it (only the token, on stdout; it is not stored in clear)."""
    from grader.domain.tokens import create_token
    from grader.domain.users import get_user_by_email
    from grader.exceptions import AutogradeError
    from grader.extensions import db

    with _app_context():
        try:
            user = get_user_by_email(db.session, email)
            scope_list = [s.strip() for s in scopes.split(",") if s.strip()] if scopes else None
            lifetime = timedelta(days=expires_days) if expires_days is not None else None
            token, _ = create_token(db.session, user, scope_list, name, lifetime)
            db.session.commit()
        except AutogradeError as exc:
            raise click.ClickException(exc.message) from None
    click.echo(token)


@token_group.command("revoke")
@click.argument("token_id", type=int)
def token_revoke(token_id: int) -> None:
    """Revoke a token by id."""
    from grader.domain.tokens import revoke_token
    from grader.exceptions import AutogradeError
    from grader.extensions import db

    with _app_context():
        try:
            revoke_token(db.session, token_id)
            db.session.commit()
        except AutogradeError as exc:
            raise click.ClickException(exc.message) from None


@click.command("regrade")
@click.argument("assignment_id", type=int)
@click.option("--preview", is_flag=True, help="Grade without changing what counts.")
@click.option("--reason", default="", help="Why, for the regrade log.")
@click.option(
    "--wait/--no-wait",
    default=True,
    show_default=True,
    help="Wait for the runs and print before -> after per student.",
)
def regrade_command(assignment_id: int, preview: bool, reason: str, wait: bool) -> None:
    """Grade every submission of an assignment again (workers must be running)."""
    from grader.domain.courses import get_assignment_row
    from grader.domain.regrades import regrade_report, start_regrade
    from grader.exceptions import AutogradeError
    from grader.extensions import db

    with _app_context():
        try:
            assignment = get_assignment_row(db.session, assignment_id)
            regrade, pairs = start_regrade(
                db.session, assignment, None, preview=preview, reason=reason
            )
            db.session.commit()
            click.echo(f"regrade {regrade.id}: {len(pairs)} submission(s) queued", err=True)
            report = regrade_report(db.session, regrade.id)
            while wait and not report.done:
                time.sleep(0.5)
                db.session.expire_all()
                report = regrade_report(db.session, regrade.id)
            for line in report.lines:
                mark = "  changed" if line.changed else ""
                click.echo(f"{line.student.email}\t{_fmt(line.before)} -> {_fmt(line.after)}{mark}")
        except AutogradeError as exc:
            raise click.ClickException(exc.message) from None


@contextmanager
def _app_context() -> Iterator[None]:
    """An app context for a command; its database connections are closed afterwards."""
    from grader import create_app
    from grader.extensions import db

    app = create_app()
    try:
        with app.app_context():
            yield
    finally:
        with app.app_context():
            db.engine.dispose()


def _fmt(value: float | None) -> str:
    return "-" if value is None else f"{value:g}"
