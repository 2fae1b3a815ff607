"""autograde: self-hosted auto-grading for numerical programming assignments.

The package root stays light on purpose: importing the grading core (``grader.engine``) must not
build or even import the web application. ``create_app`` imports Flask and everything it wires
only when it is called.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from flask import Flask


def create_app(config: Mapping[str, Any] | None = None) -> Flask:
    """Build the web application (see :func:`grader.app.create_app`)."""
    from grader.app import create_app as build

    return build(config)
