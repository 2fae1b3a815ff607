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
    "global_max": ("wrong_axis", {"softmax"}),
    "whole_matrix_softmax": ("wrong_axis", {"softmax"}),
    "float32_softmax": ("precision_loss", {"softmax"}),
    "reg_quarter": ("reg_coefficient", {"grad_W2", "gradients"}),
    "reg_over_n": ("reg_coefficient", {"grad_W2", "gradients"}),
    "batch_mean_one_key": ("missing_batch_mean", {"gradients"}),
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
        assert out.stdout.strip().splitlines()[-1].startswith("match: False (values differ")


def run_snippet(snippet: str, submission: str, tmp_path: Path) -> str:
    """Run a counterexample next to ``submission``; its last line of output."""
    import subprocess
    import sys

    (tmp_path / "submission.py").write_text(submission)
    (tmp_path / "repro.py").write_text(snippet)
    out = subprocess.run([sys.executable, "repro.py"], cwd=tmp_path, capture_output=True,
                         text=True, timeout=60, check=True)
    return out.stdout.strip().splitlines()[-1]


class TestFeedbackAgreesWithGrade:
    def test_matrix_is_a_wrong_return_not_an_exception(self, runner: Runner) -> None:
        """np.matrix from softmax_jacobian fails as 'returned np.matrix', never as 'raised'."""
        r = grade((SUBMISSIONS / "matrix_jacobian.py").read_text(), "softmax-backprop", seed=7,
                  runner=runner)
        p = next(p for p in r.parts if p.name == "softmax_jacobian")
        assert p.status == "failed" and p.score == 0
        assert "returned np.matrix; return a numpy.ndarray" in p.feedback
        assert "raised" not in p.feedback and "InvalidReturn" not in p.feedback

    def test_snippet_refuses_what_the_grader_refuses(self, runner: Runner,
                                                     tmp_path: Path) -> None:
        """The np.matrix snippet prints match: False with the grader's reason."""
        src = (SUBMISSIONS / "matrix_jacobian.py").read_text()
        r = grade(src, "softmax-backprop", seed=7, runner=runner)
        p = next(p for p in r.parts if p.name == "softmax_jacobian")
        assert p.counterexample
        last = run_snippet(p.counterexample, src, tmp_path)
        assert last == "match: False (returned np.matrix; return a numpy.ndarray)"

    def test_snippet_accepts_what_the_grader_accepts(self, tmp_path: Path) -> None:
        """A right answer returned as lists, which the grader accepts, prints match: True."""
        from grader.engine.registry import get_plugin
        from grader.engine.snippet import counterexample

        a = get_plugin("softmax-backprop")
        part = a.part("softmax")
        case = a.make_cases(7)["softmax"][0]
        snippet = counterexample(part, case, part.reference(*case.args), a.tolerance)
        last = run_snippet(snippet, (SUBMISSIONS / "correct_lists.py").read_text(), tmp_path)
        assert last == "match: True"

    def test_float32_is_precision_not_overflow(self, runner: Runner) -> None:
        """A stable softmax in float32 is told it lost precision, not that it overflows."""
        r = grade((SUBMISSIONS / "float32_softmax.py").read_text(), "softmax-backprop",
                  seed=2, runner=runner)
        p = next(p for p in r.parts if p.name == "softmax")
        assert p.diagnoses == ["precision_loss"], p.feedback
        assert "overflow" not in p.feedback and "float64" in p.feedback

    def test_softmax_cases_speak_of_c_and_n_only(self, runner: Runner) -> None:
        """Feedback on the softmax parts names C and N, never the network's D and H."""
        r = grade((SUBMISSIONS / "whole_matrix_softmax.py").read_text(), "softmax-backprop",
                  seed=7, runner=runner)
        p = next(p for p in r.parts if p.name == "softmax")
        assert "C=" in p.feedback and "D=" not in p.feedback and "H=" not in p.feedback

    def test_constant_factor_said_in_words(self, runner: Runner) -> None:
        """A regularization term of lam/2 is 'a quarter of the expected one'."""
        r = grade((SUBMISSIONS / "reg_quarter.py").read_text(), "softmax-backprop", seed=7,
                  runner=runner)
        p = next(p for p in r.parts if p.name == "grad_W2")
        assert "Your regularization term is a quarter of the expected one." in p.feedback
        g = next(p for p in r.parts if p.name == "gradients")
        assert "In 'W2', your regularization term is a quarter of the expected one." in g.feedback
