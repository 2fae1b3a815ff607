"""Turning stored text into safe HTML: the handout's markdown and highlighted Python."""

from __future__ import annotations

from datetime import datetime
from functools import cache
from pathlib import Path

from markdown_it import MarkdownIt
from markupsafe import Markup
from pygments import highlight
from pygments.formatters import HtmlFormatter
from pygments.lexers import PythonLexer


@cache
def _markdown() -> MarkdownIt:
    # Raw HTML in the markdown is escaped, not passed through.
    return MarkdownIt("commonmark", {"html": False}).enable("table")


def markdown_file(path: Path) -> Markup:
    """A markdown file as HTML."""
    return Markup(_markdown().render(path.read_text(encoding="utf-8")))


def python(code: str) -> Markup:
    """Python source with line numbers, highlighted by CSS classes (no inline styles)."""
    formatter = HtmlFormatter(linenos="table", cssclass="code", wrapcode=True)
    return Markup(highlight(code, PythonLexer(), formatter))


def when(value: datetime | None) -> str:
    """A timestamp as the pages show it."""
    if value is None:
        return "—"
    return value.strftime("%a %d %b %Y, %H:%M UTC")


def points(value: float | None) -> str:
    """A score without trailing zeros."""
    if value is None:
        return "—"
    return f"{value:.2f}".rstrip("0").rstrip(".")


def plural(value: float, word: str, many: str | None = None) -> str:
    """A count with its noun: "1 assignment", "2 assignments", "1.5 days"."""
    return f"{points(value)} {word if value == 1 else (many or word + 's')}"
