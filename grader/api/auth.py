"""Bearer-token authentication and scope checks for API views."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar, cast

import sqlalchemy as sa
from flask import g, request

from grader.domain.roster import is_instructor_of
from grader.domain.tokens import authenticate
from grader.exceptions import Forbidden, NotFound, Unauthorized
from grader.extensions import db
from grader.models import Enrollment, User

F = TypeVar("F", bound=Callable[..., Any])


def require(scope: str | None = None) -> Callable[[F], F]:
    """Authenticate the bearer token, and demand ``scope`` if given.

    Sets ``g.user`` and ``g.token``. API tokens are never rate limited per student: an LMS
    submits for a whole class.
    """

    def decorator(view: F) -> F:
        @wraps(view)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            header = request.headers.get("Authorization", "")
            scheme, _, token = header.partition(" ")
            if scheme.lower() != "bearer" or not token.strip():
                raise Unauthorized("send an API token as 'Authorization: Bearer <token>'")
            row = authenticate(db.session, token.strip())
            if scope is not None and scope not in row.scopes:
                raise Forbidden(f"this token lacks the {scope!r} scope")
            g.token, g.user = row, row.user
            return view(*args, **kwargs)

        return cast(F, wrapper)

    return decorator


def current_user() -> User:
    """The authenticated user of this request."""
    user: User = g.user
    return user


def check_instructor(course_id: int, what: str | None = None) -> None:
    """Demand that the caller teaches the course.

    Raises:
        NotFound: they are not even enrolled in it (``what`` names the object asked for), so
            another course's instructor can't probe which ids exist.
        Forbidden: they are enrolled, but don't teach it.
    """
    if is_instructor_of(db.session, current_user(), course_id):
        return
    check_member(course_id, what or f"course {course_id}")
    raise Forbidden(f"only instructors of course {course_id} may do this")


def check_member(course_id: int, what: str) -> None:
    """Demand that the caller is enrolled in the course in any role.

    Raises:
        NotFound: they aren't (so outsiders can't probe which ids exist).
    """
    user = current_user()
    enrolled = db.session.scalar(
        sa.select(Enrollment.id).where(
            Enrollment.course_id == course_id, Enrollment.user_id == user.id
        )
    )
    if enrolled is None:
        raise NotFound(f"no {what}")
