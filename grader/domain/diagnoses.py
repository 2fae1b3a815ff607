"""Diagnosis codes in plain words, from the assignment plugin's mistake catalog."""

from __future__ import annotations

from functools import cache

from grader.engine.common_mistakes import GENERIC
from grader.engine.registry import UnknownAssignment, get_plugin


@cache
def messages(slug: str) -> dict[str, str]:
    """code -> message for the assignment ``slug`` (generic wording where it has none)."""
    found = {code: message for code, (_, message) in GENERIC.items()}
    try:
        plugin = get_plugin(slug)
    except UnknownAssignment:
        return found
    found.update(plugin.generic_messages)
    found.update({m.code: m.message for m in plugin.mistakes})
    return found


def message(slug: str, code: str) -> str:
    """What the diagnosis ``code`` means, or the code itself when nothing describes it."""
    return messages(slug).get(code, code.replace("_", " "))


def short(slug: str, code: str) -> str:
    """The first clause of the message, for charts: "You forgot the 1/N batch mean"."""
    text = message(slug, code)
    return text.split(":")[0].split(".")[0].strip()


def feedback_details(feedback: str, slug: str, codes: list[str]) -> str:
    """A part's feedback without the lines that repeat its diagnoses' messages."""
    known = {message(slug, code).strip() for code in codes}
    lines = [line for line in feedback.splitlines() if line.strip() not in known]
    return "\n".join(lines).strip()
