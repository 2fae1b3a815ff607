"""The handout lists every diagnosis code the grader can give for softmax-backprop."""

from pathlib import Path

from grader.engine.common_mistakes import GENERIC
from grader.engine.diagnose import ENGINE_CODES
from grader.engine.registry import get_plugin

ROOT = Path(__file__).parents[3]


def codes() -> set[str]:
    return {m.code for m in get_plugin("softmax-backprop").mistakes} | set(GENERIC) | set(
        ENGINE_CODES)


class TestHandout:
    def test_every_code_is_explained_to_students(self) -> None:
        """Each code appears, in backticks, in the handout's table of mistakes."""
        text = (ROOT / "reference" / "softmax_backprop" / "handout.md").read_text()
        assert {c for c in codes() if f"| `{c}` |" not in text} == set()

    def test_every_code_is_in_the_docs(self) -> None:
        """Each code appears in the grading-quality docs too."""
        text = (ROOT / "docs" / "grading-quality.md").read_text()
        assert {c for c in codes() if f"`{c}`" not in text} == set()
