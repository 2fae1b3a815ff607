"""The byte format spoken between the trusted runner and the sandbox.

Every message is a frame: ``b"AG"``, a one-byte kind, a four-byte little-endian payload
length, then the payload. Arrays travel as a dtype code from a fixed whitelist, the shape and
the raw little-endian bytes; errors as a small JSON object. Nothing is ever pickled or
evaluated. The decoders are strict: any deviation raises :class:`WireError`.

Used on both sides of the boundary; imports only the standard library and numpy.
"""

from __future__ import annotations

import json
import re
import struct
from typing import Any

import numpy as np

MAGIC = b"AG"
HEADER = struct.Struct("<2sBI")

# Part channel (one per part, written by the part's process).
VALUE = 1
ERROR = 2
MEMORY = 3
END = 4
# Module channel (written by the submission's first process).
IMPORTED = 10
PART_MISSING = 11
PART_EXIT = 12
DONE = 13
PART_DONE = 14
IMPORT_FAILED = 15
# How the worker ended (last byte of PART_EXIT and IMPORT_FAILED).
ENDED = 0
TIMED_OUT = 1
BROKE_PROTOCOL = 2
NOT_REIMPORTED = 3
#: Exit code of a sandbox that failed before it read its request (our failure).
SETUP_FAILED = 75
# Zygote replies.
READY = 20
STARTED = 21
FAILED = 22
EXITED = 23

#: The only dtypes that cross the boundary: real floats, integers and booleans.
DTYPES: tuple[str, ...] = (
    "<f8", "<f4", "<f2", "<i8", "<i4", "<i2", "|i1", "<u8", "<u4", "<u2", "|u1", "|b1",
)
_DTYPE_CODE = {np.dtype(d): i for i, d in enumerate(DTYPES)}
MAX_NDIM = 8
MAX_KEYS = 64
MAX_KEY_BYTES = 200
MAX_TEXT = 2000
MAX_TRACEBACK = 40
#: Longest error description: every field at its cap, every character escaped.
MAX_JSON = 1 << 18

_ARRAY_HEAD = struct.Struct("<BB")
_DIM = struct.Struct("<Q")
_U32 = struct.Struct("<I")
_I64 = struct.Struct("<q")
_F64 = struct.Struct("<d")


class WireError(ValueError):
    """Bytes that do not follow the format exactly."""


def frame(kind: int, payload: bytes = b"") -> bytes:
    """One frame."""
    return HEADER.pack(MAGIC, kind, len(payload)) + payload


def split_frames(buf: bytearray, max_payload: int) -> list[tuple[int, bytes]]:
    """Remove and return every complete frame at the start of ``buf``."""
    out: list[tuple[int, bytes]] = []
    while len(buf) >= HEADER.size:
        magic, kind, length = HEADER.unpack_from(buf)
        if magic != MAGIC or length > max_payload:
            raise WireError("bad frame header")
        if len(buf) < HEADER.size + length:
            break
        out.append((kind, bytes(buf[HEADER.size:HEADER.size + length])))
        del buf[:HEADER.size + length]
    return out


def encode_array(a: np.ndarray) -> bytes:
    """Encode a plain array whose dtype is on the whitelist."""
    dt = a.dtype.newbyteorder("<") if a.dtype.byteorder == "=" else a.dtype
    code = _DTYPE_CODE.get(dt)
    if code is None or a.ndim > MAX_NDIM:
        raise WireError(f"cannot send dtype {a.dtype} with {a.ndim} dimensions")
    head = struct.pack(f"<BB{a.ndim}Q", code, a.ndim, *a.shape)
    return head + a.astype(dt, order="C", copy=False).tobytes()


def decode_array(data: bytes, max_bytes: int) -> np.ndarray:
    """Decode exactly one array from ``data``; the result owns its memory."""
    if len(data) < _ARRAY_HEAD.size:
        raise WireError("short array")
    code, ndim = _ARRAY_HEAD.unpack_from(data)
    if code >= len(DTYPES) or ndim > MAX_NDIM:
        raise WireError("bad dtype or rank")
    dtype = np.dtype(DTYPES[code])
    start = _ARRAY_HEAD.size + ndim * _DIM.size
    if len(data) < start:
        raise WireError("short shape")
    shape = tuple(_DIM.unpack_from(data, _ARRAY_HEAD.size + i * _DIM.size)[0]
                  for i in range(ndim))
    # Every dimension, and the product of the non-zero ones, must be an array numpy can make
    # within the byte limit: a shape like (0, 2**63) is zero bytes but no array.
    count, nonzero = 1, 1
    for n in shape:
        if n > max(max_bytes, 1):
            raise WireError("array dimension out of range")
        count *= n
        nonzero *= max(n, 1)
    if nonzero * dtype.itemsize > max(max_bytes, dtype.itemsize):
        raise WireError("array shape out of range")
    nbytes = count * dtype.itemsize
    if nbytes > max_bytes or len(data) - start != nbytes:
        raise WireError("array size does not match its shape")
    out = np.frombuffer(data, dtype=dtype, count=count, offset=start).reshape(shape)
    return np.array(out, dtype=dtype.newbyteorder("="), copy=True)


def encode_value(value: np.ndarray | dict[str, np.ndarray]) -> bytes:
    """Encode an array (tag 0) or a dict of arrays (tag 1)."""
    if isinstance(value, dict):
        parts = [b"\x01", _U32.pack(len(value))]
        for key, arr in value.items():
            raw_key = key.encode()
            body = encode_array(arr)
            parts += [struct.pack("<H", len(raw_key)), raw_key, _DIM.pack(len(body)), body]
        return b"".join(parts)
    return b"\x00" + encode_array(value)


def decode_value(data: bytes, max_bytes: int) -> np.ndarray | dict[str, np.ndarray]:
    """Decode what :func:`encode_value` produced, re-checking every size and the total."""
    if not data or data[0] not in (0, 1):
        raise WireError("bad value tag")
    if data[0] == 0:
        return decode_array(data[1:], max_bytes)
    if len(data) < 5:
        raise WireError("short dict")
    (count,) = _U32.unpack_from(data, 1)
    if count > MAX_KEYS:
        raise WireError("too many keys")
    pos, total, out = 5, 0, {}
    for _ in range(count):
        if len(data) < pos + 2:
            raise WireError("short key")
        (klen,) = struct.unpack_from("<H", data, pos)
        if klen > MAX_KEY_BYTES or len(data) < pos + 2 + klen + _DIM.size:
            raise WireError("bad key")
        try:
            key = data[pos + 2:pos + 2 + klen].decode("utf-8", errors="strict")
        except UnicodeDecodeError as exc:
            raise WireError("key is not UTF-8") from exc
        if not key.isprintable():
            raise WireError("key is not printable text")
        (blen,) = _DIM.unpack_from(data, pos + 2 + klen)
        pos += 2 + klen + _DIM.size
        if key in out or len(data) < pos + blen:
            raise WireError("duplicate key or short body")
        arr = decode_array(data[pos:pos + blen], max_bytes - total)
        total += arr.nbytes
        out[key] = arr
        pos += blen
    if pos != len(data):
        raise WireError("trailing bytes")
    return out


def encode_args(args: tuple[Any, ...]) -> bytes:
    """Encode one case's positional arguments (arrays, floats, ints, bools)."""
    parts = [_U32.pack(len(args))]
    for a in args:
        if isinstance(a, np.ndarray):
            body = encode_array(a)
            parts += [b"a", _DIM.pack(len(body)), body]
        elif isinstance(a, bool | np.bool_):
            parts += [b"b", b"\x01" if a else b"\x00"]
        elif isinstance(a, int | np.integer):
            parts += [b"i", _I64.pack(int(a))]
        elif isinstance(a, float | np.floating):
            parts += [b"f", _F64.pack(float(a))]
        else:
            raise WireError(f"cannot send an argument of type {type(a).__name__}")
    return b"".join(parts)


def decode_args(data: bytes, pos: int) -> tuple[tuple[Any, ...], int]:
    """Decode arguments written by :func:`encode_args` at ``pos``; return them and the end."""
    (n,) = _U32.unpack_from(data, pos)
    pos += 4
    out: list[Any] = []
    for _ in range(n):
        tag = data[pos:pos + 1]
        pos += 1
        if tag == b"a":
            (blen,) = _DIM.unpack_from(data, pos)
            out.append(decode_array(data[pos + 8:pos + 8 + blen], 1 << 62))
            pos += 8 + blen
        elif tag == b"b":
            out.append(data[pos] == 1)
            pos += 1
        elif tag == b"i":
            out.append(_I64.unpack_from(data, pos)[0])
            pos += 8
        elif tag == b"f":
            out.append(_F64.unpack_from(data, pos)[0])
            pos += 8
        else:
            raise WireError("bad argument tag")
    return tuple(out), pos


def encode_json(obj: object) -> bytes:
    """Encode a small JSON document."""
    return json.dumps(obj, ensure_ascii=True, separators=(",", ":")).encode()


def decode_json(data: bytes) -> Any:
    """Decode a small JSON document strictly (ASCII only, no NaN, no deep nesting)."""
    if len(data) > MAX_JSON:
        raise WireError("JSON too long")
    try:
        return json.loads(data.decode("ascii"), parse_constant=_reject)
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:
        raise WireError("bad JSON") from exc


def _reject(name: str) -> None:
    raise WireError(f"bad constant {name}")


def decode_error(data: bytes) -> dict[str, Any]:
    """Decode and validate an error description: type, message, traceback, lineno."""
    doc = decode_json(data)
    if not isinstance(doc, dict) or set(doc) != {"type", "message", "traceback", "lineno"}:
        raise WireError("bad error fields")
    tb = doc["traceback"]
    lineno = doc["lineno"]
    if (not isinstance(doc["type"], str) or not isinstance(doc["message"], str)
            or not isinstance(tb, list) or len(tb) > MAX_TRACEBACK
            or not all(isinstance(line, str) for line in tb)
            or not (lineno is None or (type(lineno) is int and 0 <= lineno < 1 << 31))):
        raise WireError("bad error values")
    return {"type": storable(doc["type"][:200]), "message": storable(doc["message"][:MAX_TEXT]),
            "traceback": [storable(line[:500]) for line in tb], "lineno": lineno}


def storable(text: str) -> str:
    """``text`` as valid UTF-8 without NUL: NUL and lone surrogates become U+FFFD."""
    return _UNSTORABLE.sub(REPLACEMENT, text)


#: What stands in for a character that could not be stored.
REPLACEMENT = "\ufffd"
_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")
