"""The database models; importing this package registers every table on ``Base.metadata``."""

from grader.models.accommodations import AttemptGrant, AuditEvent, ScoreOverride
from grader.models.assignments import Assignment
from grader.models.base import Base, utcnow
from grader.models.courses import Course, Enrollment, Extension
from grader.models.logins import LoginFailure, PasswordLink
from grader.models.lti import (
    LtiContext,
    LtiDeployment,
    LtiKey,
    LtiLineItem,
    LtiLoginState,
    LtiPlatform,
    LtiResourceLink,
    LtiScoreOutbox,
    LtiUsedNonce,
    LtiUserLink,
)
from grader.models.regrades import Regrade
from grader.models.submissions import GradingRun, PartResultRow, Submission
from grader.models.users import ApiToken, User

__all__ = [
    "ApiToken",
    "Assignment",
    "AttemptGrant",
    "AuditEvent",
    "Base",
    "Course",
    "Enrollment",
    "Extension",
    "GradingRun",
    "LtiContext",
    "LtiDeployment",
    "LtiKey",
    "LtiLineItem",
    "LtiLoginState",
    "LtiPlatform",
    "LtiResourceLink",
    "LtiScoreOutbox",
    "LtiUsedNonce",
    "LtiUserLink",
    "LoginFailure",
    "PasswordLink",
    "PartResultRow",
    "Regrade",
    "ScoreOverride",
    "Submission",
    "User",
    "utcnow",
]
