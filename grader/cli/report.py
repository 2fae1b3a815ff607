"""The readable report of ``autograde grade``."""

from __future__ import annotations

from rich.console import Console
from rich.markup import escape
from rich.panel import Panel
from rich.syntax import Syntax
from rich.table import Table

from grader.engine.result import GradeResult

_STATUS_STYLE = {"passed": "green", "failed": "red", "error": "red", "timeout": "yellow",
                 "memory": "yellow", "missing": "magenta"}


def render(result: GradeResult, console: Console | None = None) -> None:
    """Print a table of parts, then each failing part's feedback and counterexample."""
    console = console or Console()
    console.print(
        f"[bold]{escape(result.assignment)}[/bold]  seed {result.seed}  "
        f"status [bold]{result.status}[/bold]  sandbox {escape(result.sandbox_level)}"
    )
    table = Table(show_lines=False)
    table.add_column("part")
    table.add_column("score", justify="right")
    table.add_column("status")
    table.add_column("diagnosis")
    for p in result.parts:
        style = _STATUS_STYLE.get(p.status, "")
        table.add_row(p.name, f"{p.score:g}/{p.max_score:g}", f"[{style}]{p.status}[/{style}]",
                      ", ".join(p.diagnoses))
    table.add_row("[bold]total[/bold]", f"[bold]{result.score:g}/{result.max_score:g}[/bold]",
                  "", "")
    console.print(table)
    console.print(escape(result.feedback))
    for p in result.parts:
        if p.status == "passed":
            continue
        console.print(Panel(escape(p.feedback or p.status), title=f"{p.name}: {p.status}"))
        if p.counterexample:
            console.print(Syntax(p.counterexample, "python", word_wrap=True))
        if p.output:
            console.print(Panel(escape(p.output), title=f"{p.name}: your output"))
