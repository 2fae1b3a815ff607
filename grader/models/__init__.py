"""The database models; importing this package registers every table on ``Base.metadata``."""

from grader.models.assignments import Assignment
from grader.models.base import Base, utcnow
from grader.models.courses import Course, Enrollment, Extension
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
    "PartResultRow",
    "Regrade",
    "Submission",
    "User",
    "utcnow",
]
