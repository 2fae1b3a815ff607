"""The ``autograde`` command line.

``grade`` and ``assignments`` (:mod:`.grade`) need no database, broker or configuration; the
service commands (:mod:`.service`, :mod:`.lti`) build the app only when they run.

The program's entry point is :func:`run`. For ``autograde grade`` it starts the sandbox's
zygote before it even loads the command-line parser (Click), so the zygote boots while this
process loads the parser, the engine and the assignment and computes the cases. The Click
group itself is :data:`main` (in :mod:`.commands`, loaded on first use).
"""

from __future__ import annotations

import sys
from typing import Any


def run() -> None:
    """The ``autograde`` program."""
    args = sys.argv[1:]
    if args[:1] == ["grade"] and "--help" not in args:
        from grader.cli.early import start_early

        start_early(allow_reduced="--allow-reduced" in args)
    from grader.cli.commands import main

    main()


def __getattr__(name: str) -> Any:
    # ``from grader.cli import main`` loads Click and the group only when asked for.
    if name in ("main", "COMMANDS"):
        from grader.cli import commands

        return getattr(commands, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
