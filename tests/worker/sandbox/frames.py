"""Hypothesis strategies for what a hostile part may write on its channel."""

from __future__ import annotations

import json
import struct

from hypothesis import strategies as st

from worker.sandbox import _wire

_DIMS = st.sampled_from([0, 1, 2, 3, 7, 2**31, 2**32 + 1, 2**62, 2**63, 2**64 - 1])
_TEXT = st.text(st.characters(codec=None, exclude_categories=()), max_size=40)


@st.composite
def array_body(draw: st.DrawFn) -> bytes:
    """An array as the wire spells it, with any dtype code, rank, shape and byte count."""
    code = draw(st.integers(0, 15))
    dims = draw(st.lists(_DIMS, max_size=10))
    head = struct.pack("<BB", code, draw(st.sampled_from([len(dims), len(dims) + 1, 255])))
    head += b"".join(struct.pack("<Q", d) for d in dims)
    size = draw(st.sampled_from([0, 1, 8, 16, 24, 64]))
    return head + draw(st.binary(min_size=size, max_size=size))


@st.composite
def value_body(draw: st.DrawFn) -> bytes:
    """A return value: an array, or a dict of arrays with any keys."""
    if draw(st.booleans()):
        return b"\x00" + draw(array_body())
    items = draw(st.lists(st.tuples(st.one_of(_TEXT.map(
        lambda t: t.encode("utf-8", "surrogatepass")), st.binary(max_size=20)), array_body()),
        max_size=4))
    count = draw(st.sampled_from([len(items), len(items) + 1, 2**32 - 1]))
    out = b"\x01" + struct.pack("<I", count)
    for key, body in items:
        out += struct.pack("<H", len(key)) + key + struct.pack("<Q", len(body)) + body
    return out + draw(st.sampled_from([b"", b"\x00"]))


_JSON = st.recursive(
    st.none() | st.booleans() | st.integers(-2**70, 2**70) | st.floats() | _TEXT,
    lambda kids: st.lists(kids, max_size=4) | st.dictionaries(_TEXT, kids, max_size=4),
    max_leaves=12)


@st.composite
def error_body(draw: st.DrawFn) -> bytes:
    """An error description: the four fields with any JSON values, or any JSON at all."""
    if draw(st.booleans()):
        doc = {"type": draw(_JSON), "message": draw(_JSON), "traceback": draw(_JSON),
               "lineno": draw(_JSON)}
    else:
        doc = draw(_JSON)
    text = json.dumps(doc, ensure_ascii=draw(st.booleans()), allow_nan=True)
    if draw(st.booleans()):
        text = "[" * draw(st.integers(0, 100_000)) + text
    return text.encode("utf-8", "surrogatepass")


@st.composite
def frame(draw: st.DrawFn) -> bytes:
    """One frame, well-formed or not, of any kind the channel knows and a few it does not."""
    kind = draw(st.sampled_from([_wire.VALUE, _wire.ERROR, _wire.MEMORY, _wire.END, 0, 99]))
    index = struct.pack("<I", draw(st.sampled_from([0, 0, 1, 2**32 - 1])))
    body = draw(st.one_of(value_body(), error_body(), st.binary(max_size=64)))
    payload = draw(st.sampled_from([index + body, body, b""]))
    length = draw(st.sampled_from([len(payload)] * 3 + [len(payload) + 1, 2**32 - 1]))
    return b"AG" + bytes([kind]) + struct.pack("<I", length) + payload


#: Any bytes at all on a part's channel: noise, or frames (good and bad) in any order.
channel_bytes = st.one_of(
    st.binary(max_size=2048),
    st.lists(frame(), min_size=1, max_size=4).map(b"".join),
)
