"""The trusted side's decoders: any bytes give data of the documented shape or a WireError."""

from __future__ import annotations

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from worker.sandbox import _wire

from .frames import array_body, channel_bytes, error_body, value_body

LIMIT = 1 << 16


def _plain(arr: object) -> None:
    assert type(arr) is np.ndarray
    assert arr.dtype.newbyteorder("<") in {np.dtype(d) for d in _wire.DTYPES}
    assert arr.nbytes <= LIMIT and arr.ndim <= _wire.MAX_NDIM


def _storable(text: str) -> None:
    text.encode("utf-8")  # no lone surrogates
    assert "\0" not in text


class TestDecoders:
    @settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow])
    @given(st.one_of(value_body(), array_body().map(lambda b: b"\x00" + b), st.binary()))
    def test_values_decode_or_are_refused(self, data: bytes) -> None:
        """A value decodes to plain arrays within the limit, or raises WireError."""
        try:
            value = _wire.decode_value(data, LIMIT)
        except _wire.WireError:
            return
        if isinstance(value, dict):
            assert len(value) <= _wire.MAX_KEYS
            for key, arr in value.items():
                assert type(key) is str and key.isprintable()
                _plain(arr)
        else:
            _plain(value)

    @settings(max_examples=200, suppress_health_check=[HealthCheck.too_slow])
    @given(st.one_of(error_body(), st.binary()))
    def test_errors_decode_to_storable_text_or_are_refused(self, data: bytes) -> None:
        """An error decodes to capped, storable text fields, or raises WireError."""
        try:
            doc = _wire.decode_error(data)
        except _wire.WireError:
            return
        for text in [doc["type"], doc["message"], *doc["traceback"]]:
            _storable(text)
        assert len(doc["message"]) <= _wire.MAX_TEXT

    @settings(max_examples=200, suppress_health_check=[HealthCheck.too_slow])
    @given(channel_bytes)
    def test_frames_split_or_are_refused(self, data: bytes) -> None:
        """Splitting frames takes whole frames off the front, or raises WireError."""
        buf = bytearray(data)
        try:
            frames = _wire.split_frames(buf, LIMIT)
        except _wire.WireError:
            return
        assert sum(len(p) + _wire.HEADER.size for _, p in frames) + len(buf) == len(data)

    def test_zero_sized_huge_shape_is_refused(self) -> None:
        """A (0, 2**63) array is zero bytes but no array numpy can make: refused."""
        import struct

        data = b"\x00" + struct.pack("<BBQQ", 0, 2, 0, 2**63)
        try:
            _wire.decode_value(data, LIMIT)
        except _wire.WireError:
            return
        raise AssertionError("accepted")

    def test_storable_replaces_nul_and_surrogates_visibly(self) -> None:
        """NUL and lone surrogates become U+FFFD; other text is unchanged."""
        assert _wire.storable("a\0b\ud800c\udfffé") == "a\ufffdb\ufffdc\ufffdé"
