"""What an assignment plugin under ``reference/`` provides to the engine."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType

import numpy as np

from grader.engine.runner_contract import Arg, ErrorInfo, Limits, Value


@dataclass(frozen=True)
class Case:
    """One call of one part: positional arguments plus a name a student can read."""

    name: str
    args: tuple[Arg, ...]
    #: Free-form labels the catalog's rules read, e.g. "large_logits" or "lam0".
    tags: frozenset[str] = frozenset()

    @property
    def size(self) -> int:
        """Total number of input elements; the smallest failing case is the one with fewest."""
        return sum(int(np.size(a)) for a in self.args)


@dataclass(frozen=True)
class Part:
    """One graded function."""

    name: str
    arg_names: tuple[str, ...]
    reference: Callable[..., Value]
    points: float = 10.0
    #: Other answers that are equally right for a case (e.g. the ReLU derivative at exactly 0).
    alternatives: Callable[..., Sequence[Value]] | None = None


@dataclass(frozen=True)
class Observation:
    """What the engine saw of one case, as a catalog rule gets it."""

    case: Case
    expected: Value
    got: Value | None
    passed: bool
    #: What the code raised instead of answering, if it did.
    error: ErrorInfo | None = None


@dataclass(frozen=True)
class Mistake:
    """A known mistake: how to recognise it, and what to tell the student.

    Either ``variant`` computes the wrong answer this mistake gives for a case (the engine
    compares the student's output with it), or ``rule`` looks at all of a part's cases at once
    (for patterns such as "right for small logits, wrong for large ones"), or ``term`` gives an
    additive term of the right answer (for a dict answer, a dict of the keys it is part of):
    the mistake is that term taken with another constant factor (missing, negated, halved...),
    and the engine says which factor ("your regularization term is a quarter of the expected
    one") before ``message``.
    """

    code: str
    parts: tuple[str, ...]
    message: str
    variant: Callable[[str, tuple[Arg, ...]], Value | list[Value] | None] | None = None
    rule: Callable[[str, Sequence[Observation]], bool] | None = None
    term: Callable[[str, tuple[Arg, ...]], Value | None] | None = None
    #: What the term is called in the feedback, e.g. "regularization term".
    term_name: str = "term"
    #: Tried only when nothing else explains the part (for hints that locate a mistake
    #: rather than name it, e.g. "the forward pass inside gradients() is off").
    fallback: bool = False


@dataclass(frozen=True)
class Tolerance:
    rtol: float = 1e-6
    atol: float = 1e-9


@dataclass(frozen=True)
class AssignmentPlugin:
    """An assignment plugin: reference, seeded cases, mistake catalog, handout, limits, points."""

    slug: str
    title: str
    parts: tuple[Part, ...]
    #: Pure function of the seed: the same seed gives the same cases on any machine.
    make_cases: Callable[[int], Mapping[str, Sequence[Case]]]
    mistakes: tuple[Mistake, ...] = ()
    tolerance: Tolerance = field(default_factory=Tolerance)
    limits: Limits = field(default_factory=Limits)
    #: This assignment's wording for the engine's generic diagnoses (sign_error, ...).
    generic_messages: Mapping[str, str] = field(default_factory=dict)
    handout_path: Path | None = None
    starter_path: Path | None = None
    #: The module the parts' reference functions are defined in: ``autograde selfcheck``
    #: grades mutants of its source to measure how well the cases and catalog catch mistakes.
    reference_module: ModuleType | None = None
    #: ``draw_inputs(part, rng)``: one valid input of a part (its positional arguments) drawn
    #: from anywhere in the ranges the handout allows, independently of ``make_cases``. The
    #: selfcheck's oracle compares a mutant with the reference on many of these.
    draw_inputs: Callable[[str, np.random.Generator], tuple[Arg, ...]] | None = None

    @property
    def max_score(self) -> float:
        return float(sum(p.points for p in self.parts))

    def part(self, name: str) -> Part:
        for p in self.parts:
            if p.name == name:
                return p
        raise KeyError(name)
