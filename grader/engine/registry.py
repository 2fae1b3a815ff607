"""Finding installed assignment plugins.

An assignment is a plugin: any installed distribution registers it in the
``autograde.assignments`` entry-point group (``slug = "package.module:ASSIGNMENT"``). The engine
names no assignment and imports none directly; softmax-backprop is registered by this project's
own ``pyproject.toml`` like any other.
"""

from __future__ import annotations

from functools import cache
from importlib.metadata import entry_points

from grader.engine.plugin import AssignmentPlugin

GROUP = "autograde.assignments"


class UnknownAssignment(KeyError):
    """No installed assignment has this slug."""

    def __str__(self) -> str:
        known = ", ".join(sorted(_registry())) or "none"
        return f"unknown assignment {self.args[0]!r} (installed: {known})"


class InvalidPlugin(TypeError):
    """An entry point of the group does not name an :class:`AssignmentPlugin`."""


@cache
def _registry() -> dict[str, AssignmentPlugin]:
    found: dict[str, AssignmentPlugin] = {}
    for ep in entry_points(group=GROUP):
        plugin = ep.load()
        if not isinstance(plugin, AssignmentPlugin):
            raise InvalidPlugin(
                f"entry point {ep.name} = {ep.value} in {GROUP} is a "
                f"{type(plugin).__name__}, not an AssignmentPlugin"
            )
        if plugin.slug in found:
            raise InvalidPlugin(f"two installed plugins claim the slug {plugin.slug!r}")
        found[plugin.slug] = plugin
    return found


def list_plugins() -> list[AssignmentPlugin]:
    """Installed assignments, by slug."""
    return [a for _, a in sorted(_registry().items())]


def get_plugin(slug: str) -> AssignmentPlugin:
    """The installed assignment ``slug``.

    Raises:
        UnknownAssignment: none has that slug.
    """
    try:
        return _registry()[slug]
    except KeyError:
        raise UnknownAssignment(slug) from None
