"""The ``autograde`` command group.

Each subcommand's module is imported only when that command is run (or listed in ``--help``),
as in Click's "lazily loading subcommands" pattern, so ``autograde grade`` loads nothing of
the service.
"""

from __future__ import annotations

import importlib

import click

#: Command name -> "module:attribute" of its Click command, imported on first use.
COMMANDS = {
    "assignments": "grader.cli.grade:assignments_command",
    "grade": "grader.cli.grade:grade_command",
    "serve": "grader.cli.service:serve_command",
    "worker": "grader.cli.service:worker_command",
    "db": "grader.cli.service:db_group",
    "token": "grader.cli.service:token_group",
    "regrade": "grader.cli.service:regrade_command",
    "lti": "grader.cli.lti:lti_group",
    "selfcheck": "grader.cli.selfcheck:selfcheck_command",
}


class LazyGroup(click.Group):
    """A group whose subcommands are imported when they are looked up."""

    def __init__(self, *args: object, lazy: dict[str, str], **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]  # Click passes its own kwargs
        self.lazy = lazy

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*super().list_commands(ctx), *self.lazy})

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name not in self.lazy:
            return super().get_command(ctx, cmd_name)
        module_name, attribute = self.lazy[cmd_name].split(":")
        command = getattr(importlib.import_module(module_name), attribute)
        if not isinstance(command, click.Command):
            raise TypeError(f"{self.lazy[cmd_name]} is not a Click command")
        return command


@click.group(cls=LazyGroup, lazy=COMMANDS)
@click.version_option(package_name="autograde")
def main() -> None:
    """autograde: grade numerical programming assignments, isolated and fast."""

