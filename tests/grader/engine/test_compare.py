"""Trusted comparison: only plain, finite, right-shaped numbers within tolerance count."""

import numpy as np
import pytest

from grader.engine.compare import check
from grader.engine.plugin import Tolerance

TOL = Tolerance()
EXPECTED = np.array([[1.0, 2.0], [3.0, 4.0]])


class LyingArray(np.ndarray):
    def __eq__(self, other: object) -> bool:  # type: ignore[override]
        return True


class TestCheck:
    def test_equal_arrays_pass(self) -> None:
        """An equal plain array passes."""
        assert check(EXPECTED, EXPECTED.copy(), TOL).passed

    def test_within_tolerance_passes(self) -> None:
        """A difference below rtol passes; one above fails with the errors quoted."""
        assert check(EXPECTED, EXPECTED * (1 + 1e-9), TOL).passed
        verdict = check(EXPECTED, EXPECTED + 0.5, TOL)
        assert not verdict.passed and "max absolute error 0.5" in verdict.message

    def test_integer_dtype_accepted(self) -> None:
        """Integer arrays are plain numbers too."""
        assert check(EXPECTED, EXPECTED.astype(np.int64), TOL).passed

    @pytest.mark.parametrize("value", [
        np.ma.masked_array(EXPECTED),
        EXPECTED.view(LyingArray),
        EXPECTED.astype(object),
        EXPECTED.astype(complex),
        EXPECTED.tolist(),
        "[[1, 2], [3, 4]]",
        None,
    ])
    def test_non_plain_values_refused(self, value: object) -> None:
        """Subclasses, masked, object/complex arrays and other objects never pass."""
        assert not check(EXPECTED, value, TOL).passed  # type: ignore[arg-type]

    def test_shape_must_match_exactly(self) -> None:
        """A (C,) answer for a (C, 1) question fails, naming both shapes."""
        verdict = check(np.ones((3, 1)), np.ones(3), TOL)
        assert not verdict.passed and "(3, 1)" in verdict.message and "(3,)" in verdict.message

    @pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
    def test_nan_and_inf_never_match(self, bad: float) -> None:
        """nan and inf fail even where the expected value is the same."""
        exp = np.array([1.0, bad])
        assert not check(exp, exp.copy(), TOL).passed

    def test_huge_values_fail_without_warnings(self) -> None:
        """Values near the float limit fail with an infinite error instead of a numpy warning."""
        exp = np.array([1e-300, 1.0])
        verdict = check(exp, np.array([1e308, -1e308]), TOL)
        assert not verdict.passed and "relative error inf" in verdict.message

    def test_dict_needs_exactly_the_keys(self) -> None:
        """A dict result must have exactly the expected keys, each right."""
        exp = {"W": EXPECTED, "b": np.ones((2, 1))}
        assert check(exp, {"W": EXPECTED.copy(), "b": np.ones((2, 1))}, TOL).passed
        assert not check(exp, {"W": EXPECTED.copy()}, TOL).passed
        extra = {"W": EXPECTED, "b": np.ones((2, 1)), "x": np.ones(1)}
        assert not check(exp, extra, TOL).passed
        wrong = check(exp, {"W": EXPECTED, "b": np.zeros((2, 1))}, TOL)
        assert not wrong.passed and "'b'" in wrong.message
