"""The engine is generic: an assignment plugin that is not softmax-backprop is found through
the entry point group and graded through the real sandbox, diagnoses included."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np
import pytest

from grader.engine import assignments as registry
from grader.engine import grade
from grader.engine.plugin import Assignment, Case, Mistake, Part
from grader.engine.runner import Arg, Value


def column_norms(x: np.ndarray) -> np.ndarray:
    return np.sqrt((x * x).sum(axis=0, keepdims=True))


def make_cases(seed: int) -> dict[str, list[Case]]:
    rng = np.random.default_rng([seed, 0])
    return {"norms": [Case(f"D={d}, N={n}", (rng.standard_normal((d, n)),))
                      for d, n in ((1, 1), (3, 4), (5, 2))]}


def _squared(part: str, args: tuple[Arg, ...]) -> Value | None:
    x = np.asarray(args[0])
    return (x * x).sum(axis=0, keepdims=True)


TOY = Assignment(
    slug="column-norms",
    title="Column norms",
    parts=(Part("norms", ("x",), column_norms, points=5.0),),
    make_cases=make_cases,
    mistakes=(Mistake("forgot_sqrt", ("norms",), "You returned the squared norm.",
                      variant=_squared),),
)


class FakeEntryPoint:
    def load(self) -> Assignment:
        return TOY


@pytest.fixture
def installed(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """TOY installed by another package, through the ``autograde.assignments`` group."""
    def entry_points(group: str) -> list[Any]:
        return [FakeEntryPoint()] if group == "autograde.assignments" else []

    monkeypatch.setattr(registry, "entry_points", entry_points)
    registry._registry.cache_clear()
    yield
    registry._registry.cache_clear()


@pytest.mark.sandbox
class TestOtherPlugins:
    def test_found_through_the_entry_point(self, installed: None) -> None:
        """A plugin from another package is listed beside the built-in ones."""
        slugs = [a.slug for a in registry.list_assignments()]
        assert "column-norms" in slugs and "softmax-backprop" in slugs
        assert registry.get_assignment("column-norms") is TOY

    def test_graded_and_diagnosed(self, installed: None, runner: Any) -> None:
        """Its own points, cases and catalog drive the grade."""
        right = "import numpy as np\ndef norms(x):\n    return np.linalg.norm(x, axis=0)[None]\n"
        wrong = "def norms(x):\n    return (x ** 2).sum(axis=0, keepdims=True)\n"
        good = grade(right, "column-norms", seed=3, runner=runner)
        assert good.score == good.max_score == 5.0
        bad = grade(wrong, "column-norms", seed=3, runner=runner)
        part = bad.parts[0]
        assert part.diagnoses == ["forgot_sqrt"] and "squared norm" in part.feedback
        assert part.counterexample and "from submission import norms" in part.counterexample
