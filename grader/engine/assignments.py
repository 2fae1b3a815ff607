"""Finding installed assignment plugins.

Every subpackage of ``reference`` that defines ``ASSIGNMENT`` is an assignment; packages
installed elsewhere can add theirs through the ``autograde.assignments`` entry point group.
"""

from __future__ import annotations

import importlib
import pkgutil
from functools import cache
from importlib.metadata import entry_points

import reference
from grader.engine.plugin import Assignment


class UnknownAssignment(KeyError):
    """No installed assignment has this slug."""

    def __str__(self) -> str:
        known = ", ".join(sorted(_registry())) or "none"
        return f"unknown assignment {self.args[0]!r} (installed: {known})"


@cache
def _registry() -> dict[str, Assignment]:
    found: dict[str, Assignment] = {}
    for info in pkgutil.iter_modules(reference.__path__):
        if not info.ispkg or info.name.startswith("_"):
            continue
        module = importlib.import_module(f"reference.{info.name}")
        assignment = getattr(module, "ASSIGNMENT", None)
        if isinstance(assignment, Assignment):
            found[assignment.slug] = assignment
    for ep in entry_points(group="autograde.assignments"):
        assignment = ep.load()
        if isinstance(assignment, Assignment):
            found.setdefault(assignment.slug, assignment)
    return found


def list_assignments() -> list[Assignment]:
    """Installed assignments, by slug."""
    return [a for _, a in sorted(_registry().items())]


def get_assignment(slug: str) -> Assignment:
    """The installed assignment ``slug``.

    Raises:
        UnknownAssignment: none has that slug.
    """
    try:
        return _registry()[slug]
    except KeyError:
        raise UnknownAssignment(slug) from None
