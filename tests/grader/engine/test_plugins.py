"""The engine is generic: an assignment plugin that is not softmax-backprop is found through
the entry point group and graded through the real sandbox, diagnoses included."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from grader.engine import grade, registry
from grader.engine.plugin import AssignmentPlugin, Case, Mistake, Part
from grader.engine.runner_contract import Arg, Value


def column_norms(x: np.ndarray) -> np.ndarray:
    return np.sqrt((x * x).sum(axis=0, keepdims=True))


def make_cases(seed: int) -> dict[str, list[Case]]:
    rng = np.random.default_rng([seed, 0])
    return {"norms": [Case(f"D={d}, N={n}", (rng.standard_normal((d, n)),))
                      for d, n in ((1, 1), (3, 4), (5, 2))]}


def _squared(part: str, args: tuple[Arg, ...]) -> Value | None:
    x = np.asarray(args[0])
    return (x * x).sum(axis=0, keepdims=True)


TOY = AssignmentPlugin(
    slug="column-norms",
    title="Column norms",
    parts=(Part("norms", ("x",), column_norms, points=5.0),),
    make_cases=make_cases,
    mistakes=(Mistake("forgot_sqrt", ("norms",), "You returned the squared norm.",
                      variant=_squared),),
)


@pytest.fixture
def installed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """TOY installed by another distribution, through the ``autograde.assignments`` group."""
    dist = tmp_path / "column_norms-1.0.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: column-norms\nVersion: 1.0\n")
    (dist / "entry_points.txt").write_text(
        "[autograde.assignments]\ncolumn-norms = tests.grader.engine.test_plugins:TOY\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    registry._registry.cache_clear()
    yield
    registry._registry.cache_clear()


@pytest.mark.sandbox
class TestOtherPlugins:
    def test_found_through_the_entry_point(self, installed: None) -> None:
        """A plugin from another package is listed beside the built-in ones."""
        slugs = [a.slug for a in registry.list_plugins()]
        assert "column-norms" in slugs and "softmax-backprop" in slugs
        assert registry.get_plugin("column-norms") is TOY

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
