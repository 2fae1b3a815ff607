"""``autograde grade`` and ``autograde assignments``: no database, broker or configuration.

Only the engine, the assignment plugins and the sandbox are imported here (never Flask,
SQLAlchemy or the LTI package), and the sandbox's zygote starts first, in the background
(:mod:`.early`), while this process imports the engine, finds the assignment and computes the
cases and their expected values. A student or an instructor running ``grade`` in a loop pays
for Python, numpy and the grading itself (``bench/bench_cold_start.py`` measures it).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from grader.cli.early import take_early

GRADE_HELP = """Grade one submission file and print the result.

Student code never runs in this process: it runs in the sandbox (a pre-warmed, namespaced,
seccomp-filtered child with no network and no access to the reference). If the kernel refuses
an isolation layer, grading stops with a message naming it, unless --allow-reduced is given.

Exit status is 0 whenever a result was produced, whatever the score.
"""


@click.command("assignments")
def assignments_command() -> None:
    """List the installed assignments."""
    from grader.engine.registry import list_plugins

    for a in list_plugins():
        parts = ", ".join(p.name for p in a.parts)
        click.echo(f"{a.slug}\t{a.title}\t{a.max_score:g} points\t{parts}")


def _read_submission(path: Path) -> str:
    try:
        return path.read_bytes().decode("utf-8")
    except UnicodeDecodeError as exc:
        raise click.BadParameter(
            f"{path} is not UTF-8 text (byte {exc.start}); save it as UTF-8", param_hint="PATH"
        ) from None


@click.command("grade", help=GRADE_HELP)
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--assignment", "-a", "slug", required=True, help="Assignment slug.")
@click.option("--seed", type=click.IntRange(0, 2**31 - 1), default=None,
              help="Seed of the random cases (drawn and reported if omitted).")
@click.option("--json", "as_json", is_flag=True, help="Print exactly one JSON document.")
@click.option("--allow-reduced", is_flag=True,
              help="Grade even if the kernel refuses some isolation layers (reported).")
def grade_command(path: Path, slug: str, seed: int | None, as_json: bool,
                  allow_reduced: bool) -> None:
    # The zygote first (if the entry point has not started it already): it boots on the other
    # core while this process does everything else up to running the student's code.
    runner = take_early(allow_reduced=allow_reduced)
    try:
        from grader.engine.grade import draw_seed, grade
        from grader.engine.registry import UnknownAssignment, get_plugin
        from grader.engine.result import GradeResult

        try:
            assignment = get_plugin(slug)
        except UnknownAssignment as exc:
            raise click.BadParameter(str(exc), param_hint="--assignment") from None
        code = _read_submission(path)
        seed = draw_seed() if seed is None else seed
        if not as_json:
            from grader.cli.report import render  # rich, while the zygote is still booting
        try:
            result = grade(code, assignment, seed=seed, runner=runner)
        except Exception as exc:  # process edge: our own failure still produces a result
            result = GradeResult.grader_error(assignment.slug, seed)
            click.echo(f"autograde: grader error: {type(exc).__name__}: {exc}", err=True)
    finally:
        runner.close()
    if as_json:
        sys.stdout.write(json.dumps(result.to_dict(timings=False), indent=2) + "\n")
    else:
        render(result)
