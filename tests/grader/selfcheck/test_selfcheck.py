"""The selfcheck end to end: mutants graded through the real engine and sandbox.

A small, evenly spread sample of softmax-backprop's mutants runs here; the full run (all
mutants, three seeds) is done by hand and its figures are in docs/grading-quality.md.
"""

import dataclasses
import json

import numpy as np
import pytest
from click.testing import CliRunner

from grader.cli import main
from grader.engine.plugin import AssignmentPlugin, Case, Part
from grader.engine.registry import get_plugin
from grader.engine.runner_contract import Runner
from grader.selfcheck.run import SelfcheckError, selfcheck
from tests.grader.selfcheck import norms_reference

A = get_plugin("softmax-backprop")


def norm_cases(seed: int) -> dict[str, list[Case]]:
    rng = np.random.default_rng([seed, 0])
    return {"norms": [Case(f"D={d}, N={n}", (rng.standard_normal((d, n)),))
                      for d, n in ((1, 1), (3, 4), (5, 2))]}


def norm_inputs(part: str, rng: np.random.Generator) -> tuple[np.ndarray]:
    return (rng.standard_normal((int(rng.integers(1, 6)), int(rng.integers(1, 6)))),)


NORMS = AssignmentPlugin(
    slug="column-norms", title="Column norms",
    parts=(Part("norms", ("x",), norms_reference.norms, points=5.0),),
    make_cases=norm_cases, reference_module=norms_reference, draw_inputs=norm_inputs,
)

pytestmark = pytest.mark.sandbox


class TestSoftmaxBackpropSample:
    @pytest.mark.slow
    def test_sample_meets_the_targets(self, runner: Runner) -> None:
        """A spread sample of 24 mutants: every wrong one caught, at least 80 % of those
        named, no equivalent one failed."""
        (report,) = selfcheck(A, runner, [1], size=24, inputs=8)
        f = report.figures
        assert f["mutants"] == 24
        assert f["false_alarms"] == 0 and f["escaped"] == 0
        assert f["caught"] == f["non_equivalent"] > 0
        assert f["named_pct"] >= 80.0, [o.mutant.label for o in report.outcomes
                                        if o.caught and not o.named]


class TestAnyPlugin:
    def test_second_plugin_is_checked_too(self, runner: Runner) -> None:
        """Another assignment's reference is mutated, graded and classified the same way."""
        (report,) = selfcheck(NORMS, runner, [2], inputs=10)
        f = report.figures
        assert f["mutants"] >= 8 and f["false_alarms"] == 0
        assert {o.mutant.function for o in report.outcomes} == {"norms"}
        assert f["equivalent"] + f["non_equivalent"] == f["mutants"]

    def test_reference_that_fails_its_own_grade_is_refused(self, runner: Runner) -> None:
        """A reference module that is not the parts' reference is reported, not tallied."""
        wrong = dataclasses.replace(NORMS, reference_module=np)
        with pytest.raises(SelfcheckError):
            selfcheck(wrong, runner, [1], inputs=2)

    def test_plugin_without_reference_module(self, runner: Runner) -> None:
        """A plugin that does not give its reference module gets a clear error."""
        bare = dataclasses.replace(NORMS, reference_module=None)
        with pytest.raises(SelfcheckError, match="reference_module"):
            selfcheck(bare, runner, [1])


class TestCommand:
    def test_report_and_json(self) -> None:
        """`autograde selfcheck` prints the figures; --json prints one document."""
        cli = CliRunner()
        text = cli.invoke(main, ["selfcheck", "softmax-backprop", "--mutants", "3",
                                 "--seed", "1", "--inputs", "3"])
        assert text.exit_code == 0, text.output
        assert "caught (score below the maximum)" in text.output
        assert "equivalent but failed (false alarms)" in text.output
        out = cli.invoke(main, ["selfcheck", "softmax-backprop", "--mutants", "3",
                                "--seed", "1", "--inputs", "3", "--json"])
        doc = json.loads(out.output)
        assert doc["assignment"] == "softmax-backprop"
        assert doc["seeds"][0]["mutants"] == 3 and len(doc["seeds"][0]["mutants_graded"]) == 3

    def test_unknown_assignment(self) -> None:
        """An unknown slug is a usage error naming the installed ones."""
        out = CliRunner().invoke(main, ["selfcheck", "no-such"])
        assert out.exit_code == 2 and "softmax-backprop" in out.output
