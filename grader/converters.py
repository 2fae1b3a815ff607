"""URL converters: ids in paths stay within the range every database can store."""

from __future__ import annotations

from typing import Any

from werkzeug.routing import IntegerConverter, Map

#: Largest id a URL may name: a 32-bit signed integer column's maximum.
MAX_ID = 2**31 - 1


class IdConverter(IntegerConverter):
    """``<int:...>`` that does not match past ``MAX_ID``: such a URL is a 404, not a crash."""

    def __init__(self, map: Map, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("max", MAX_ID)
        super().__init__(map, *args, **kwargs)
