"""Sample submissions graded end to end through the real sandbox.

Correct submissions in other styles get full marks; each catalogued mistake loses marks on
exactly the parts it affects and carries its diagnosis code.
"""

from pathlib import Path

import pytest

from grader.engine import grade
from grader.engine.runner_contract import Runner

SUBMISSIONS = Path(__file__).parents[2] / "submissions" / "softmax_backprop"
STARTER = Path(__file__).parents[3] / "reference" / "softmax_backprop" / "starter.py"
SEEDS = [7, 2024]

CORRECT = ["correct", "correct_loops", "correct_einsum", "correct_inplace", "correct_ge_mask",
           "correct_lists"]

#: sample file -> (mistake code, the parts that submission gets wrong); its gradients()
#: reuses its parts.
SAMPLES = {
    "wrong_axis_bias": ("wrong_axis", {"grad_b2", "gradients"}),
}
#: mistake code -> the parts that submission (named after the code) gets wrong.
AFFECTED = {
    "missing_batch_mean": {"grad_z3", "gradients"},
    "sign_error": {"grad_b2", "gradients"},
    "reg_coefficient": {"grad_W2", "gradients"},
    "reg_wrong_weight": {"grad_W1", "gradients"},
    "missing_relu_mask": {"grad_W1", "grad_b1", "gradients"},
    "transposed": {"grad_W2", "gradients"},
    "shape_mismatch": {"grad_b2", "gradients"},
    "wrong_axis": {"softmax"},
    "numerically_unstable": {"softmax"},
    "jacobian_diagonal_only": {"softmax_jacobian", "softmax_backward"},
}

pytestmark = pytest.mark.sandbox


@pytest.mark.parametrize("seed", SEEDS)
class TestSubmissions:
    @pytest.mark.parametrize("name", CORRECT)
    def test_correct_styles_get_full_marks(self, runner: Runner, name: str, seed: int) -> None:
        """Loops, einsum, in-place updates, logsumexp, a >= mask and lists all get full marks."""
        r = grade((SUBMISSIONS / f"{name}.py").read_text(), "softmax-backprop", seed=seed,
                  runner=runner)
        assert r.status == "graded"
        assert r.score == r.max_score, {p.name: p.feedback for p in r.parts if p.score < 10}

    @pytest.mark.parametrize("sample", sorted({**{c: c for c in AFFECTED}, **SAMPLES}))
    def test_mistake_is_named_on_exactly_its_parts(
        self, runner: Runner, sample: str, seed: int
    ) -> None:
        """A catalogued mistake costs exactly the affected parts, each diagnosed by its code."""
        code, affected = SAMPLES.get(sample, (sample, AFFECTED.get(sample, set())))
        r = grade((SUBMISSIONS / f"{sample}.py").read_text(), "softmax-backprop", seed=seed,
                  runner=runner)
        assert r.status == "graded"
        lost = {p.name for p in r.parts if p.score < p.max_score}
        assert lost == affected
        for p in r.parts:
            if p.name in lost:
                assert code in p.diagnoses, (p.name, p.diagnoses, p.feedback)
                assert p.counterexample and f"from submission import {p.name}" in p.counterexample


class TestStarterAndBrokenFiles:
    def test_starter_scores_zero_friendly(self, runner: Runner) -> None:
        """The starter template scores 0 with 'not implemented yet' feedback."""
        r = grade(STARTER.read_text(), "softmax-backprop", seed=1, runner=runner)
        assert r.status == "graded" and r.score == 0
        assert all("not implemented yet" in p.feedback for p in r.parts)

    def test_syntax_error_not_gradable_with_line(self, runner: Runner) -> None:
        """A syntax error gives not_gradable and names its line."""
        code = "import numpy as np\n\ndef softmax(z)\n    return z\n"
        r = grade(code, "softmax-backprop", seed=1, runner=runner)
        assert r.status == "not_gradable" and "line 3" in r.feedback

    def test_import_exception_not_gradable(self, runner: Runner) -> None:
        """An exception at import gives not_gradable with the exception in the feedback."""
        r = grade("import numpy as np\nraise RuntimeError('boom at import')\n",
                  "softmax-backprop", seed=1, runner=runner)
        assert r.status == "not_gradable" and "boom at import" in r.feedback

    def test_counterexample_snippet_runs(self, runner: Runner, tmp_path: Path) -> None:
        """The smallest-failing-case snippet runs as is next to the submission and shows it."""
        import subprocess
        import sys

        src = (SUBMISSIONS / "missing_batch_mean.py").read_text()
        r = grade(src, "softmax-backprop", seed=7, runner=runner)
        snippet = next(p for p in r.parts if p.name == "grad_z3").counterexample
        assert snippet
        (tmp_path / "submission.py").write_text(src)
        (tmp_path / "repro.py").write_text(snippet)
        out = subprocess.run([sys.executable, "repro.py"], cwd=tmp_path, capture_output=True,
                             text=True, timeout=60, check=True)
        assert out.stdout.strip().endswith("False")
