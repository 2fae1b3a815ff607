"""The ``autograde`` command line.

``grade`` and ``assignments`` need no database, broker or configuration; the service commands
(``serve``, ``token``, ...) are registered from their own modules at the end of this file.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

GRADE_HELP = """Grade one submission file and print the result.

Student code never runs in this process: it runs in the sandbox (a pre-warmed, namespaced,
seccomp-filtered child with no network and no access to the reference). If the kernel refuses
an isolation layer, grading stops with a message naming it, unless --allow-reduced is given.

Exit status is 0 whenever a result was produced, whatever the score.
"""


@click.group()
@click.version_option(package_name="autograde")
def main() -> None:
    """autograde: grade numerical programming assignments, isolated and fast."""


@main.command("assignments")
def assignments_command() -> None:
    """List the installed assignments."""
    from grader.engine.assignments import list_assignments

    for a in list_assignments():
        parts = ", ".join(p.name for p in a.parts)
        click.echo(f"{a.slug}\t{a.title}\t{a.max_score:g} points\t{parts}")


def _read_submission(path: Path) -> str:
    try:
        return path.read_bytes().decode("utf-8")
    except UnicodeDecodeError as exc:
        raise click.BadParameter(
            f"{path} is not UTF-8 text (byte {exc.start}); save it as UTF-8", param_hint="PATH"
        ) from None


@main.command("grade", help=GRADE_HELP)
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--assignment", "-a", "slug", required=True, help="Assignment slug.")
@click.option("--seed", type=click.IntRange(0, 2**31 - 1), default=None,
              help="Seed of the random cases (drawn and reported if omitted).")
@click.option("--json", "as_json", is_flag=True, help="Print exactly one JSON document.")
@click.option("--allow-reduced", is_flag=True,
              help="Grade even if the kernel refuses some isolation layers (reported).")
def grade_command(path: Path, slug: str, seed: int | None, as_json: bool,
                  allow_reduced: bool) -> None:
    from grader.engine.assignments import UnknownAssignment, get_assignment
    from grader.engine.grade import draw_seed, grade, grader_error_result
    from grader.report import render
    from worker.sandbox import SandboxRunner

    try:
        assignment = get_assignment(slug)
    except UnknownAssignment as exc:
        raise click.BadParameter(str(exc), param_hint="--assignment") from None
    code = _read_submission(path)
    seed = draw_seed() if seed is None else seed
    try:
        with SandboxRunner(allow_reduced=allow_reduced) as runner:
            result = grade(code, assignment, seed=seed, runner=runner)
    except Exception as exc:  # process edge: our own failure still produces a result
        result = grader_error_result(assignment.slug, seed, exc)
        click.echo(f"autograde: grader error: {type(exc).__name__}: {exc}", err=True)
    if as_json:
        sys.stdout.write(json.dumps(result.to_dict(timings=False), indent=2) + "\n")
    else:
        render(result)


from grader.cli_service import COMMANDS as _SERVICE_COMMANDS  # noqa: E402

for _command in _SERVICE_COMMANDS:
    main.add_command(_command)

from grader.lti.cli import lti_group as _lti_group  # noqa: E402

main.add_command(_lti_group)


if __name__ == "__main__":
    main()
