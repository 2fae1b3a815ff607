"""Domain errors. A leaf module: it imports nothing of ours.

Each error carries a stable ``code`` and the HTTP status the API answers it with.
"""

from __future__ import annotations


class AutogradeError(Exception):
    """Base of every error the domain raises on purpose."""

    code = "error"
    status = 400

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class InvalidInput(AutogradeError):
    """The request is malformed or a field is invalid."""

    code = "invalid_input"
    status = 400


class InvalidSubmission(InvalidInput):
    """The uploaded file can't be a submission (not .py, not UTF-8, empty)."""

    code = "invalid_submission"


class SubmissionTooLarge(InvalidInput):
    """The uploaded file is larger than the cap."""

    code = "submission_too_large"
    status = 413


class NotFound(AutogradeError):
    """The object does not exist, or the caller may not know it does."""

    code = "not_found"
    status = 404


class NotEnrolled(AutogradeError):
    """The student is unknown or not enrolled in the assignment's course."""

    code = "not_enrolled"
    status = 422


class AttemptLimitReached(AutogradeError):
    """The student has used every attempt the assignment allows."""

    code = "attempt_limit_reached"
    status = 409


class PastCutoff(AutogradeError):
    """The late cutoff of the assignment has passed."""

    code = "past_cutoff"
    status = 409


class Unauthorized(AutogradeError):
    """No credentials, or credentials that are wrong, revoked or expired."""

    code = "unauthorized"
    status = 401


class Forbidden(AutogradeError):
    """Valid credentials that lack a scope or a role."""

    code = "forbidden"
    status = 403


class Conflict(AutogradeError):
    """The request conflicts with the current state (e.g. an email already in use)."""

    code = "conflict"
    status = 409


class RateLimited(AutogradeError):
    """The student submitted too often in the last minute."""

    code = "rate_limited"
    status = 429


class TooManyLogins(AutogradeError):
    """Too many failed logins for this account or from this address; wait, then try again."""

    code = "rate_limited"
    status = 429
