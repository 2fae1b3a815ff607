"""What a verified launch links or creates: the user, the course, the enrollment and the
resource link. All flushed in the caller's transaction, committed only after every check."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from urllib.parse import urlsplit

import sqlalchemy as sa
import sqlalchemy.orm as so

from grader.domain.roster import enroll
from grader.domain.users import normalize_email
from grader.exceptions import InvalidInput
from grader.lti.errors import LaunchRefused
from grader.lti.launch import Launch
from grader.models import (
    Course,
    Enrollment,
    LtiContext,
    LtiPlatform,
    LtiResourceLink,
    LtiUserLink,
    User,
)


@dataclass(frozen=True)
class Provisioned:
    """What a launch landed on."""

    user: User
    context: LtiContext
    link: LtiResourceLink | None


def provision(session: so.Session, launch: Launch) -> Provisioned:
    """Link or create the launch's user, course (context), enrollment and resource link."""
    role = "instructor" if launch.teaching else "student"
    user = link_user(
        session,
        launch.platform,
        launch.sub,
        _email(launch.claims.get("email")),
        _name(launch.claims),
        role,
    )
    context = link_context(session, launch)
    course = session.get_one(Course, context.course_id)
    set_enrollment(session, course, user, role)
    link = None
    if launch.message_type == "LtiResourceLinkRequest":
        link = link_resource(session, context, launch)
    return Provisioned(user, context, link)


def link_user(
    session: so.Session,
    platform: LtiPlatform,
    sub: str,
    email: str | None,
    name: str,
    role: str,
) -> User:
    """The user the platform calls ``sub``: linked before, else matched by email, else new.

    A platform's email claim is not proof of owning the address, so matching by email only
    ever links an account nobody could lose: a student account made from a roster, with no
    password and no link to any LMS. An account that signs in with a password, an instructor,
    or one linked to another LMS identity is never taken over: the launch is refused with a
    clear message and an administrator links it on purpose (``autograde lti link-user``).

    An instructor role is kept once given (a teacher may be a learner elsewhere); a student
    launch never demotes an instructor account.

    Raises:
        LaunchRefused: the email belongs to an account that may not be linked automatically.
    """
    user = session.scalar(
        sa.select(User)
        .join(LtiUserLink, LtiUserLink.user_id == User.id)
        .where(LtiUserLink.platform_id == platform.id, LtiUserLink.sub == sub)
    )
    if user is None and email:
        user = session.scalar(sa.select(User).where(User.email == email))
        if user is not None and not _claimable(session, user):
            raise LaunchRefused(
                f"An autograde account already uses the email {email}. For its safety it is "
                "not linked to an LMS account automatically: ask your autograde administrator "
                "to link it (autograde lti link-user), then launch again."
            )
    if user is None:
        user = User(email=email or _placeholder_email(platform, sub), name=name, role=role)
        session.add(user)
        session.flush()
    link_identity(session, platform, sub, user)
    if name and user.name != name:
        user.name = name
    if email and user.email != email and _email_free(session, email):
        user.email = email
    if role == "instructor" and user.role != "instructor":
        user.role = "instructor"
    session.flush()
    return user


def _claimable(session: so.Session, user: User) -> bool:
    """A roster-made student account: no password, not an instructor, no LMS identity yet."""
    linked = session.scalar(sa.select(LtiUserLink.id).where(LtiUserLink.user_id == user.id))
    return user.password_hash is None and user.role != "instructor" and linked is None


def link_identity(session: so.Session, platform: LtiPlatform, sub: str, user: User) -> None:
    """Make ``user`` the account the platform calls ``sub`` (if that identity has none yet).

    Raises:
        InvalidInput: the platform's ``sub`` is already linked to another account.
    """
    existing = session.scalar(
        sa.select(LtiUserLink).where(LtiUserLink.platform_id == platform.id, LtiUserLink.sub == sub)
    )
    if existing is None:
        session.add(LtiUserLink(platform_id=platform.id, sub=sub, user_id=user.id))
        session.flush()
    elif existing.user_id != user.id:
        raise InvalidInput(f"the LMS user {sub!r} is already linked to another account")


def link_context(session: so.Session, launch: Launch) -> LtiContext:
    """The course of the launch's context, created on its first launch."""
    data = launch.context
    context_id = str(data.get("id"))
    title = str(data.get("title") or data.get("label") or f"Course {context_id}")[:200]
    context = session.scalar(
        sa.select(LtiContext).where(
            LtiContext.platform_id == launch.platform.id, LtiContext.context_id == context_id
        )
    )
    if context is None:
        course = Course(title=title)
        session.add(course)
        session.flush()
        context = LtiContext(
            platform_id=launch.platform.id, context_id=context_id, course_id=course.id
        )
        session.add(context)
    context.title = title[:255]
    context.deployment_id = launch.deployment_id
    memberships = launch.nrps.get("context_memberships_url")
    if isinstance(memberships, str) and memberships:
        context.memberships_url = memberships
    lineitems = launch.ags.get("lineitems")
    if isinstance(lineitems, str) and lineitems:
        context.lineitems_url = lineitems
    session.flush()
    return context


def link_resource(session: so.Session, context: LtiContext, launch: Launch) -> LtiResourceLink:
    """The resource link of the launch (its assignment is chosen once, by an instructor)."""
    data = launch.resource_link
    resource_link_id = str(data.get("id"))
    link = session.scalar(
        sa.select(LtiResourceLink).where(
            LtiResourceLink.context_id == context.id,
            LtiResourceLink.resource_link_id == resource_link_id,
        )
    )
    if link is None:
        link = LtiResourceLink(context_id=context.id, resource_link_id=resource_link_id)
        session.add(link)
    link.title = str(data.get("title") or "")[:255]
    lineitem = launch.ags.get("lineitem")
    if isinstance(lineitem, str) and lineitem:
        link.claim_lineitem_url = lineitem
    scopes = launch.ags.get("scope")
    if isinstance(scopes, list):
        link.ags_scopes = [str(s) for s in scopes]
    session.flush()
    return link


def set_enrollment(session: so.Session, course: Course, user: User, role: str) -> Enrollment:
    """Enroll ``user`` with ``role``; an existing enrollment takes the platform's role."""
    enrollment = enroll(session, course, user, role=role)
    if enrollment.role != role:
        enrollment.role = role
    return enrollment


def _email(value: object) -> str | None:
    if not isinstance(value, str) or not value.strip():
        return None
    try:
        return normalize_email(value)
    except InvalidInput:
        return None


def _name(claims: dict[str, object]) -> str:
    name = claims.get("name")
    if not isinstance(name, str) or not name.strip():
        parts = [claims.get("given_name"), claims.get("family_name")]
        name = " ".join(p for p in parts if isinstance(p, str) and p)
    return name.strip()[:200]


def _email_free(session: so.Session, email: str) -> bool:
    return session.scalar(sa.select(User.id).where(User.email == email)) is None


def _placeholder_email(platform: LtiPlatform, sub: str) -> str:
    # The platform withheld the email (privacy settings): a unique, undeliverable address.
    digest = hashlib.sha256(f"{platform.id}:{sub}".encode()).hexdigest()[:16]
    host = urlsplit(platform.issuer).hostname or "lms"
    return f"lti-{digest}@{host}.invalid"
