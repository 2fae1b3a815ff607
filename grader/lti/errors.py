"""Errors of the LTI integration. A leaf module: it imports nothing of ours."""

from __future__ import annotations


class LtiError(Exception):
    """Base of the errors the LTI code raises on purpose."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class LaunchRefused(LtiError):
    """A login or launch request that fails a check; nothing was created."""


class PlatformError(LtiError):
    """A platform's service (token, AGS, NRPS, JWKS) failed or answered something unusable."""

    def __init__(self, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status
