"""Reading the pages' plain HTML forms into typed values (errors are InvalidInput)."""

from __future__ import annotations

from datetime import UTC, datetime

from flask import request

from grader.exceptions import InvalidInput

#: What <input type="datetime-local"> sends; the pages label these fields as UTC.
DATETIME_LOCAL = "%Y-%m-%dT%H:%M"


def text(name: str, default: str = "") -> str:
    return request.form.get(name, default).strip()


def number(name: str, label: str, *, optional: bool = False) -> float | None:
    raw = text(name)
    if raw == "" and optional:
        return None
    try:
        return float(raw)
    except ValueError:
        raise InvalidInput(f"{label} must be a number") from None


def integer(name: str, label: str, *, optional: bool = False) -> int | None:
    raw = text(name)
    if raw == "" and optional:
        return None
    try:
        return int(raw)
    except ValueError:
        raise InvalidInput(f"{label} must be a whole number") from None


def when(name: str, label: str) -> datetime | None:
    raw = text(name)
    if not raw:
        return None
    try:
        return datetime.strptime(raw[:16], DATETIME_LOCAL).replace(tzinfo=UTC)
    except ValueError:
        raise InvalidInput(f"{label} must be a date and time like 2025-03-01T23:59") from None


def as_input(value: datetime | None) -> str:
    """A datetime as the value of a datetime-local input."""
    return value.strftime(DATETIME_LOCAL) if value else ""
