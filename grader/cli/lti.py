"""``autograde lti ...``: register platforms, print our URLs, rotate keys, reconcile."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from typing import TYPE_CHECKING

import click

if TYPE_CHECKING:
    import sqlalchemy.orm as so


@contextmanager
def _session() -> Iterator[so.Session]:
    from grader import create_app
    from grader.extensions import db
    from grader.lti.keys import signing_key

    app = create_app()
    try:
        with app.app_context():
            # Our key is made and committed before any call to a platform (which reads it).
            signing_key(db.session)
            db.session.commit()
            yield db.session
    finally:
        with app.app_context():
            db.engine.dispose()


@click.group("lti")
def lti_group() -> None:
    """LTI 1.3: connect autograde to an LMS (Canvas, Moodle, Blackboard, D2L)."""


@lti_group.command("register")
@click.option(
    "--issuer",
    required=True,
    help="The platform's issuer (iss), e.g. https://canvas.instructure.com.",
)
@click.option("--client-id", required=True, help="The client id the platform gave autograde.")
@click.option("--auth-login-url", required=True, help="The platform's OIDC authorization URL.")
@click.option("--token-url", required=True, help="The platform's OAuth2 access token URL.")
@click.option("--keyset-url", required=True, help="The platform's public key set (JWKS) URL.")
@click.option(
    "--deployment-id",
    "deployment_ids",
    multiple=True,
    required=True,
    help="A deployment id (repeat for several).",
)
@click.option("--name", default="", help="A label, e.g. 'University Canvas'.")
@click.option(
    "--audience", default=None, help="The aud of our token requests, if not the token URL."
)
def register_command(
    issuer: str,
    client_id: str,
    auth_login_url: str,
    token_url: str,
    keyset_url: str,
    deployment_ids: tuple[str, ...],
    name: str,
    audience: str | None,
) -> None:
    """Register a platform (or update it and add deployments)."""
    from grader.exceptions import AutogradeError
    from grader.lti.registration import register_platform

    with _session() as session:
        try:
            platform = register_platform(
                session,
                issuer=issuer,
                client_id=client_id,
                auth_login_url=auth_login_url,
                auth_token_url=token_url,
                key_set_url=keyset_url,
                deployment_ids=deployment_ids,
                name=name,
                auth_audience=audience,
            )
            session.commit()
        except AutogradeError as exc:
            raise click.ClickException(exc.message) from None
        deployments = ", ".join(d.deployment_id for d in platform.deployments)
        click.echo(
            f"platform {platform.id}: {platform.issuer} client {platform.client_id} "
            f"deployments {deployments}"
        )


@lti_group.command("platforms")
def platforms_command() -> None:
    """List the registered platforms."""
    import sqlalchemy as sa

    from grader.models import LtiPlatform

    with _session() as session:
        for p in session.scalars(sa.select(LtiPlatform).order_by(LtiPlatform.id)):
            deployments = ",".join(d.deployment_id for d in p.deployments)
            click.echo(f"{p.id}\t{p.issuer}\t{p.client_id}\t{deployments}\t{p.name}")


@lti_group.command("urls")
@click.option(
    "--base", required=True, help="Where autograde is served, e.g. https://grader.example.edu."
)
def urls_command(base: str) -> None:
    """Print the URLs to paste into the LMS's tool registration."""
    base = base.rstrip("/")
    click.echo(f"OpenID Connect initiation / login URL:  {base}/lti/login")
    click.echo(f"Redirect URI / target link / tool URL:  {base}/lti/launch")
    click.echo(f"Public key set (JWKS) URL:              {base}/lti/jwks")
    click.echo(f"Deep linking URL:                       {base}/lti/launch")


@lti_group.command("rotate-key")
@click.option(
    "--keep-old-days",
    type=float,
    default=None,
    help="Days the previous key stays published (default LTI_KEY_OVERLAP_DAYS).",
)
def rotate_command(keep_old_days: float | None) -> None:
    """Start signing with a new key; the old one stays at /lti/jwks until it expires."""
    from flask import current_app

    from grader.lti.keys import rotate

    with _session() as session:
        days = (
            keep_old_days
            if keep_old_days is not None
            else float(current_app.config["LTI_KEY_OVERLAP_DAYS"])
        )
        key = rotate(session, timedelta(days=days))
        session.commit()
        click.echo(f"signing with key {key.kid}; previous keys published for {days:g} more days")


@lti_group.command("reconcile")
@click.argument("assignment_id", type=int)
@click.option("--resend", is_flag=True, help="Queue the differing and failed scores again.")
def reconcile_command(assignment_id: int, resend: bool) -> None:
    """Compare an assignment's scores with the LMS's; print differences and failures."""
    from grader.domain.courses import get_assignment_row
    from grader.domain.outbox import note_score_change
    from grader.domain.outbox import resend as resend_rows
    from grader.exceptions import AutogradeError
    from grader.lti.services import reconcile

    with _session() as session:
        try:
            assignment = get_assignment_row(session, assignment_id)
        except AutogradeError as exc:
            raise click.ClickException(exc.message) from None
        report = reconcile(session, assignment)
        if report.error:
            click.echo(f"warning: {report.error}", err=True)
        for line in report.lines:
            state = line.outbox.state if line.outbox else "-"
            mark = "  DIFFERS" if line.differs else ""
            error = ""
            if line.outbox and line.outbox.last_error:
                error = f"  error: {line.outbox.last_error}"
            click.echo(
                f"{line.student.email}\tautograde {_fmt(line.ours)}\tlms {_fmt(line.theirs)}"
                f"\t{state}{mark}{error}"
            )
        if resend:
            todo = [
                line
                for line in report.lines
                if line.differs or (line.outbox and line.outbox.state != "delivered")
            ]
            count = resend_rows(session, [t.outbox.id for t in todo if t.outbox])
            for line in todo:
                if line.outbox is None:
                    count += len(note_score_change(session, assignment_id, line.student.id))
            session.commit()
            click.echo(f"{count} score(s) queued", err=True)


@lti_group.command("sync-roster")
@click.argument("course_id", type=int)
def sync_roster_command(course_id: int) -> None:
    """Enroll a linked course's members from the LMS (NRPS) now."""
    import sqlalchemy as sa

    from grader.lti.errors import PlatformError
    from grader.lti.services import sync_roster
    from grader.models import LtiContext

    with _session() as session:
        context = session.scalar(
            sa.select(LtiContext).where(LtiContext.course_id == course_id).limit(1)
        )
        if context is None:
            raise click.ClickException(f"course {course_id} is not linked to an LMS course")
        try:
            result = sync_roster(session, context)
        except PlatformError as exc:
            raise click.ClickException(exc.message) from None
        session.commit()
        click.echo(f"{result.members} members, {result.enrolled} newly enrolled")


@lti_group.command("link-user")
@click.option("--platform", "platform_id", type=int, required=True,
              help="The platform's id (see `autograde lti platforms`).")
@click.option("--sub", required=True, help="The user's id on the platform (the launch's sub).")
@click.option("--email", required=True, help="The autograde account to link it to.")
def link_user_command(platform_id: int, sub: str, email: str) -> None:
    """Link an LMS user to an existing autograde account, on purpose.

    Launches never take over an account that signs in with a password, an instructor, or one
    linked to another LMS user by matching emails; an administrator who has checked who is who
    links them here.
    """
    import sqlalchemy as sa

    from grader.domain.users import normalize_email
    from grader.exceptions import InvalidInput
    from grader.lti.provision import link_identity
    from grader.models import LtiPlatform, User

    with _session() as session:
        platform = session.get(LtiPlatform, platform_id)
        if platform is None:
            raise click.ClickException(f"no platform {platform_id}")
        try:
            wanted = normalize_email(email)
        except InvalidInput as exc:
            raise click.ClickException(exc.message) from None
        user = session.scalar(sa.select(User).where(User.email == wanted))
        if user is None:
            raise click.ClickException(f"no user with email {email!r}")
        try:
            link_identity(session, platform, sub, user)
        except InvalidInput as exc:
            raise click.ClickException(exc.message) from None
        session.commit()
        click.echo(f"linked {platform.issuer} user {sub} to {user.email}")


def _fmt(value: float | None) -> str:
    return "-" if value is None else f"{value:g}"
