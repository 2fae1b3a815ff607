"""What a submission's status says in words: shown under its heading, announced to screen
readers through a live region, and sent with each poll of ``status.json``."""

from __future__ import annotations

from grader.web.render import plural, points

#: Statuses that are not final: the page keeps polling.
PENDING = ("queued", "running")


def status_message(status: str, score: float | None, max_score: float | None,
                   queue_position: int | None = None) -> str:
    """One sentence on where grading stands.

    Args:
        queue_position: Submissions waiting ahead of this one, when the service knows it;
            said only while the submission waits.
    """
    if status == "queued":
        if queue_position is None:
            return "Waiting for a grader. This page updates by itself."
        if queue_position == 0:
            return "Waiting for a grader: yours is next. This page updates by itself."
        return (f"Waiting for a grader: {plural(queue_position, 'submission')} ahead of yours."
                " This page updates by itself.")
    if status == "running":
        return "Being graded now. This page updates by itself."
    if status == "graded":
        return f"Graded: {points(score)} of {points(max_score)} points. The results are below."
    if status == "not_gradable":
        return "Not gradable: the file could not be imported. No attempt was charged."
    if status == "grader_error":
        return "The grader failed on this submission. This is not your score."
    return status.replace("_", " ").capitalize() + "."
