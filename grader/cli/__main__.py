"""``python -m grader.cli``: the same as the ``autograde`` command."""

from grader.cli import run

run()
