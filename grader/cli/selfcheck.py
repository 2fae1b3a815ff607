"""``autograde selfcheck``: grade mutants of an assignment's reference and report the figures.

Imports the engine, the plugins and the sandbox only (no web app, no database).
"""

from __future__ import annotations

import json
import sys
import time
from collections import Counter
from typing import TYPE_CHECKING

import click

if TYPE_CHECKING:
    from grader.selfcheck.run import SeedReport

HELP = """Measure how well an assignment's cases and mistake catalog grade mistakes.

Makes mutants of the assignment's reference module (operator and sign flips, axis swaps,
dropped or duplicated terms, transposes, constant factors, keepdims removed, swapped
variables...), grades each through the engine and the sandbox like a student's file, and
classifies it with an oracle: the mutant's answers compared with the reference on inputs drawn
independently of the cases. Reports the wrong mutants caught (score below the maximum), the
caught ones named by a diagnosis, the equivalent ones wrongly failed, and the escaped ones
with their code. Run it before publishing an assignment.
"""


def _line(label: str, n: float, of: float | None = None) -> str:
    pct = f"  ({100.0 * n / of:.1f} %)" if of else ""
    return f"  {label:<42}{n:>5}{pct}"


def _render(slug: str, reports: list[SeedReport], seconds: float, verbose: bool) -> None:
    for r in reports:
        f = r.figures
        click.echo(f"{slug}, seed {r.seed}: {f['mutants']} mutants")
        click.echo(_line("equivalent (oracle finds no difference)", f["equivalent"]))
        click.echo(_line("wrong (non-equivalent)", f["non_equivalent"]))
        click.echo(_line("caught (score below the maximum)", f["caught"], f["non_equivalent"]))
        click.echo(_line("named (a diagnosis on a lost part)", f["named"], f["caught"]))
        click.echo(_line("fully named (on every lost part)", f["fully_named"], f["caught"]))
        click.echo(_line("equivalent but failed (false alarms)", f["false_alarms"]))
        click.echo(_line("escaped (wrong, full marks)", f["escaped"]))
        codes = Counter(c for o in r.outcomes if o.caught for cs in o.lost.values() for c in cs)
        if codes:
            click.echo("  diagnoses given: " + ", ".join(f"{c} {n}" for c, n in
                                                         codes.most_common()))
        for title, keep in (("FALSE ALARM", "false_alarm"), ("ESCAPED", "escaped")) + (
                (("unnamed", "unnamed"),) if verbose else ()):
            for o in r.outcomes:
                hit = (o.caught and not o.named) if keep == "unnamed" else getattr(o, keep)
                if hit:
                    click.echo(f"  {title}: {o.mutant.label}")
                    if o.difference:
                        click.echo(f"      oracle: {o.difference}")
    click.echo(f"({seconds:.0f} s)")


@click.command("selfcheck", help=HELP)
@click.argument("slug", metavar="ASSIGNMENT")
@click.option("--seed", "seeds", type=click.IntRange(0, 2**31 - 1), multiple=True,
              help="Grading seed (repeat for several; default 1, 2 and 3).")
@click.option("--mutants", "size", type=click.IntRange(1), default=None,
              help="Grade this many mutants, spread over the reference (default: all).")
@click.option("--inputs", type=click.IntRange(1), default=40, show_default=True,
              help="Oracle inputs per part.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON document.")
@click.option("--verbose", "-v", is_flag=True, help="Also list caught mutants left unnamed.")
@click.option("--allow-reduced", is_flag=True,
              help="Run even if the kernel refuses some isolation layers.")
def selfcheck_command(slug: str, seeds: tuple[int, ...], size: int | None, inputs: int,
                      as_json: bool, verbose: bool, allow_reduced: bool) -> None:
    from grader.engine.registry import UnknownAssignment, get_plugin
    from grader.selfcheck.run import SelfcheckError, selfcheck
    from worker.sandbox import SandboxRunner

    try:
        assignment = get_plugin(slug)
    except UnknownAssignment as exc:
        raise click.BadParameter(str(exc), param_hint="ASSIGNMENT") from None
    start = time.perf_counter()
    try:
        with SandboxRunner(allow_reduced=allow_reduced) as runner:
            reports = selfcheck(assignment, runner, seeds or (1, 2, 3), size=size,
                                inputs=inputs)
    except (SelfcheckError, ValueError) as exc:
        raise click.ClickException(str(exc)) from None
    seconds = time.perf_counter() - start
    if not as_json:
        _render(assignment.slug, reports, seconds, verbose)
        return
    doc = {"assignment": assignment.slug, "seconds": round(seconds, 1), "seeds": [
        {"seed": r.seed, **r.figures, "mutants_graded": [
            {"mutant": o.mutant.label, "function": o.mutant.function,
             "operator": o.mutant.operator, "equivalent": o.equivalent,
             "oracle": o.difference, "score": o.score, "max_score": o.max_score,
             "lost": o.lost, "raised": list(o.raised)}
            for o in r.outcomes]}
        for r in reports]}
    sys.stdout.write(json.dumps(doc, indent=2) + "\n")
