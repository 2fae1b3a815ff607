"""The grading engine: cases -> runner -> compare -> score -> diagnose -> result."""

from grader.engine.grade import grade
from grader.engine.result import GradeResult, PartResult

__all__ = ["GradeResult", "PartResult", "grade"]
