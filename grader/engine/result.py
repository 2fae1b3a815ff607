"""What grading one submission produces: plain dataclasses, serialisable to the JSON contract."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Literal

PartStatus = Literal["passed", "failed", "error", "timeout", "memory", "missing"]
SubmissionStatus = Literal["graded", "not_gradable", "grader_error"]


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
    def from_dict(cls, data: dict[str, Any]) -> GradeResult:
        """Rebuild a result from :meth:`to_dict`'s output."""
        parts = [PartResult(**p) for p in data.get("parts", [])]
        fields = {k: v for k, v in data.items() if k != "parts"}
        return cls(parts=parts, **fields)
