"""Text the database can hold.

A result carries text the student controls (printed output, exception messages, names), and
Python strings may hold what no database column takes: lone surrogates (not encodable as
UTF-8, so neither SQLite nor PostgreSQL can store them) and NUL (PostgreSQL's text type refuses
it). The recorder passes every string through :func:`storable` so that such a submission is
graded like any other instead of failing to be stored.
"""

from __future__ import annotations

import re
from typing import Any

#: NUL and the surrogate code points: what neither database can store.
_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")
#: What replaces each of them, as a decoder replaces what it cannot read.
REPLACEMENT = "\ufffd"


def storable(text: str, limit: int | None = None) -> str:
    """``text`` with each NUL and lone surrogate replaced by U+FFFD, cut to ``limit`` characters.

    Surrogate pairs cannot occur in a ``str`` (it holds code points), so every surrogate found
    is a lone one.
    """
    text = _UNSTORABLE.sub(REPLACEMENT, text)
    return text if limit is None else text[:limit]


def storable_json(value: Any) -> Any:
    """A JSON-able value with every string in it (dict keys too) made :func:`storable`."""
    if isinstance(value, str):
        return storable(value)
    if isinstance(value, dict):
        return {storable(str(k)): storable_json(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [storable_json(v) for v in value]
    return value
