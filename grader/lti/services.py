"""Line items (made once, reused), roster sync (NRPS) and reconciliation against the LMS."""

from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa
import sqlalchemy.orm as so

from grader.domain.outbox import counted_submission, note_assignment
from grader.lti.errors import PlatformError
from grader.lti.keys import signing_key
from grader.lti.launch import is_teaching
from grader.lti.platform_api import SCOPE_LINEITEM, Client
from grader.lti.provision import _email, link_user, set_enrollment
from grader.models import (
    Assignment,
    Course,
    Enrollment,
    LtiContext,
    LtiLineItem,
    LtiPlatform,
    LtiResourceLink,
    LtiScoreOutbox,
    LtiUserLink,
    User,
    utcnow,
)

#: The tag of the line items we make, to find them again instead of making another.
TAG = "autograde"


def client_for(session: so.Session, platform_id: int) -> Client:
    """A client of the platform's services, signing with our current key."""
    return Client(session.get_one(LtiPlatform, platform_id), signing_key(session))


def ensure_line_item(session: so.Session, link: LtiResourceLink) -> LtiLineItem | None:
    """The line item of the link's assignment: the one the launch named, else one we find on
    the platform by resource link and tag, else one we create. Never two for one link.

    Returns:
        None when the link has no assignment yet or the platform offers no grade service.

    Raises:
        PlatformError: the platform failed (the link keeps the error for the instructor).
    """
    existing = session.scalar(sa.select(LtiLineItem).where(LtiLineItem.resource_link_id == link.id))
    if existing is not None or link.assignment_id is None:
        return existing
    context = session.get_one(LtiContext, link.context_id)
    assignment = session.get_one(Assignment, link.assignment_id)
    url = link.claim_lineitem_url
    if url is None:
        if not context.lineitems_url or SCOPE_LINEITEM not in link.ags_scopes:
            link.line_item_error = "the platform offers no line item service for this link"
            return None
        client = client_for(session, context.platform_id)
        try:
            url = client.find_line_item(context.lineitems_url, link.resource_link_id, TAG)
            if url is None:
                url = client.create_line_item(
                    context.lineitems_url,
                    {
                        "scoreMaximum": assignment.max_score,
                        "label": assignment.title,
                        "resourceId": f"autograde-assignment-{assignment.id}",
                        "resourceLinkId": link.resource_link_id,
                        "tag": TAG,
                    },
                )
        except PlatformError as exc:
            link.line_item_error = exc.message
            raise
    item = LtiLineItem(
        resource_link_id=link.id,
        assignment_id=assignment.id,
        platform_id=context.platform_id,
        url=url,
    )
    session.add(item)
    link.line_item_error = ""
    session.flush()
    note_assignment(session, assignment.id)
    return item


@dataclass(frozen=True)
class RosterSync:
    """What a roster sync did."""

    members: int
    enrolled: int


def sync_roster(session: so.Session, context: LtiContext) -> RosterSync:
    """Enroll the context's active members from the platform's NRPS (nobody is dropped).

    Raises:
        PlatformError: no NRPS for this context, or the platform failed.
    """
    if not context.memberships_url:
        raise PlatformError("the platform offers no roster service (NRPS) for this course")
    platform = session.get_one(LtiPlatform, context.platform_id)
    course = session.get_one(Course, context.course_id)
    members = client_for(session, platform.id).members(context.memberships_url)
    enrolled = 0
    for member in members:
        sub = member.get("user_id")
        if not isinstance(sub, str) or member.get("status", "Active") != "Active":
            continue
        roles = [str(r) for r in member.get("roles", [])]
        role = "instructor" if is_teaching(roles) else "student"
        name = str(
            member.get("name")
            or " ".join(str(member.get(k)) for k in ("given_name", "family_name") if member.get(k))
        )
        user = link_user(session, platform, sub, _email(member.get("email")), name[:200], role)
        before = session.scalar(
            sa.select(Enrollment.id).where(
                Enrollment.course_id == course.id, Enrollment.user_id == user.id
            )
        )
        set_enrollment(session, course, user, role)
        enrolled += before is None
    context.roster_synced_at = utcnow()
    context.roster_error = ""
    session.flush()
    return RosterSync(len(members), enrolled)


@dataclass(frozen=True)
class ReconcileLine:
    """One student's score here and in the LMS."""

    student: User
    ours: float | None
    theirs: float | None
    maximum: float
    outbox: LtiScoreOutbox | None

    @property
    def differs(self) -> bool:
        if self.ours is None:
            return self.theirs is not None
        return self.theirs is None or abs(self.ours - self.theirs) > 1e-6


@dataclass(frozen=True)
class Reconciliation:
    """An assignment's scores against its line item's results."""

    item: LtiLineItem | None
    lines: list[ReconcileLine]
    error: str

    @property
    def differing(self) -> list[ReconcileLine]:
        return [line for line in self.lines if line.differs]

    @property
    def failed(self) -> list[ReconcileLine]:
        return [line for line in self.lines if line.outbox and line.outbox.state == "failed"]


def reconcile(
    session: so.Session, assignment: Assignment, read_back: bool = True
) -> Reconciliation:
    """Our counted scores beside what the LMS holds (read back through AGS results)."""
    item = session.scalar(
        sa.select(LtiLineItem).where(LtiLineItem.assignment_id == assignment.id).limit(1)
    )
    if item is None:
        return Reconciliation(None, [], "this assignment is not linked to an LMS line item")
    theirs: dict[str, float | None] = {}
    error = ""
    if read_back:
        try:
            for result in client_for(session, item.platform_id).results(item.url):
                score, maximum = result.get("resultScore"), result.get("resultMaximum")
                value = None
                if isinstance(score, (int, float)):
                    scale = (
                        assignment.max_score / maximum
                        if isinstance(maximum, (int, float)) and maximum
                        else 1.0
                    )
                    value = float(score) * scale
                theirs[str(result.get("userId"))] = value
        except PlatformError as exc:
            error = exc.message
    rows = {
        r.user_id: r
        for r in session.scalars(
            sa.select(LtiScoreOutbox).where(LtiScoreOutbox.line_item_id == item.id)
        )
    }
    students = session.execute(
        sa.select(User, LtiUserLink.sub)
        .join(Enrollment, Enrollment.user_id == User.id)
        .join(
            LtiUserLink,
            sa.and_(LtiUserLink.user_id == User.id, LtiUserLink.platform_id == item.platform_id),
        )
        .where(Enrollment.course_id == assignment.course_id, Enrollment.role == "student")
        .order_by(User.name, User.email)
    ).all()
    lines = []
    for user, sub in students:
        found = counted_submission(session, assignment, user.id)
        lines.append(
            ReconcileLine(
                user,
                found.score if found else None,
                theirs.get(sub) if read_back and not error else None,
                assignment.max_score,
                rows.get(user.id),
            )
        )
    if error:
        # Without the LMS's side only our own failures can be shown.
        lines = [_theirs_unknown(line) for line in lines]
    return Reconciliation(item, lines, error)


def _theirs_unknown(line: ReconcileLine) -> ReconcileLine:
    # Shown as agreeing, so that only our recorded failures stand out.
    return ReconcileLine(line.student, line.ours, line.ours, line.maximum, line.outbox)
