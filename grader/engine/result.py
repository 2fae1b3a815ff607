"""What grading one submission produces: plain dataclasses, serialisable to the JSON contract."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Literal, get_args

PartStatus = Literal["passed", "failed", "error", "timeout", "memory", "missing"]
SubmissionStatus = Literal["graded", "not_gradable", "grader_error"]
#: How grading can end for a submission: the one definition of the final statuses.
FINAL_STATUSES: tuple[SubmissionStatus, ...] = get_args(SubmissionStatus)

#: What a student reads when grading failed for our own reasons (after any retries).
GRADER_ERROR_FEEDBACK = (
    "The grader failed on its side: this is not your score, and no attempt was charged."
)


@dataclass
class PartResult:
    """The grade of one part (one graded function)."""

    name: str
    score: float
    max_score: float
    status: PartStatus
    diagnoses: list[str] = field(default_factory=list)
    feedback: str = ""
    #: A ready-to-run snippet reproducing the smallest failing case, if any failed.
    counterexample: str | None = None
    #: The part's captured stdout/stderr (capped).
    output: str = ""
    cases_passed: int = 0
    cases_total: int = 0


@dataclass
class GradeResult:
    """The grade of one submission."""

    assignment: str
    seed: int
    score: float
    max_score: float
    status: SubmissionStatus
    feedback: str
    parts: list[PartResult] = field(default_factory=list)
    #: Which isolation the student code ran under.
    sandbox_level: str = "full"
    #: Output captured while importing the module.
    output: str = ""
    #: Wall-clock milliseconds per phase: "cases", "run", "compare", "total".
    timings: dict[str, float] = field(default_factory=dict)

    def to_dict(self, *, timings: bool = True) -> dict[str, Any]:
        """The JSON document of ``autograde grade --json`` (and of the API's ``parts``).

        Args:
            timings: include the wall-clock timings (left out where the same seed must give
                byte-identical output).
        """
        data = asdict(self)
        if not timings:
            del data["timings"]
        return data

    @classmethod
    def grader_error(cls, assignment: str, seed: int | None, max_score: float = 0.0) -> GradeResult:
        """The result recorded when our own code failed: never shown as the student's zero."""
        return cls(
            assignment=assignment, seed=seed if seed is not None else -1, score=0.0,
            max_score=max_score, status="grader_error", feedback=GRADER_ERROR_FEEDBACK,
        )
