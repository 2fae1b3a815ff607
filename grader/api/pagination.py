"""limit/offset pagination with a ``next`` link."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, TypeVar

import sqlalchemy as sa
from flask import current_app, request, url_for

from grader.exceptions import InvalidInput
from grader.extensions import db

T = TypeVar("T")


#: Beyond any real list, and within every database's integer range.
MAX_OFFSET = 2**31 - 1


def page_params() -> tuple[int, int]:
    """``limit`` and ``offset`` from the query string, validated."""
    config = current_app.config
    try:
        limit = int(request.args.get("limit", config["PAGE_DEFAULT_LIMIT"]))
        offset = int(request.args.get("offset", 0))
    except ValueError:
        raise InvalidInput("limit and offset must be integers") from None
    if not 1 <= limit <= config["PAGE_MAX_LIMIT"]:
        raise InvalidInput(f"limit must be between 1 and {config['PAGE_MAX_LIMIT']}")
    if offset < 0:
        raise InvalidInput("offset must not be negative")
    if offset > MAX_OFFSET:
        raise InvalidInput(f"offset must be at most {MAX_OFFSET}")
    return limit, offset


def paginate(query: sa.Select[Any], serialize: Callable[[Any], dict[str, Any]]) -> dict[str, Any]:
    """Run ``query`` for one page and wrap it as ``{"items", "next", "limit", "offset"}``."""
    limit, offset = page_params()
    rows = db.session.scalars(query.limit(limit + 1).offset(offset)).all()
    return page(rows, limit, offset, serialize)


def page(
    rows: Sequence[T], limit: int, offset: int, serialize: Callable[[T], dict[str, Any]]
) -> dict[str, Any]:
    """A page from ``rows`` holding up to ``limit + 1`` items (one more means a next page)."""
    more = len(rows) > limit
    next_url = None
    if more:
        args: dict[str, Any] = {
            **(request.view_args or {}),
            **request.args.to_dict(),
            "limit": limit,
            "offset": offset + limit,
        }
        next_url = url_for(str(request.endpoint), _external=True, **args)
    return {
        "items": [serialize(r) for r in rows[:limit]],
        "next": next_url,
        "limit": limit,
        "offset": offset,
    }
