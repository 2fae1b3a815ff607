"""The ``autograde`` command line.

``grade`` and ``assignments`` (:mod:`.grade`) need no database, broker or configuration; the
service commands (:mod:`.service`, :mod:`.lti`) build the app only when they run. Every module
here imports its heavy dependencies inside the command, so ``autograde grade`` stays fast.
"""

from __future__ import annotations

import click

from grader.cli.grade import assignments_command, grade_command
from grader.cli.lti import lti_group
from grader.cli.selfcheck import selfcheck_command
from grader.cli.service import COMMANDS as SERVICE_COMMANDS


@click.group()
@click.version_option(package_name="autograde")
def main() -> None:
    """autograde: grade numerical programming assignments, isolated and fast."""


main.add_command(assignments_command)
main.add_command(grade_command)
for _command in SERVICE_COMMANDS:
    main.add_command(_command)
main.add_command(lti_group)
main.add_command(selfcheck_command)


if __name__ == "__main__":
    main()
