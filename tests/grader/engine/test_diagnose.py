"""Naming mistakes: variants with nan, per-key mistakes, constant factors in words, precision.

Scripted runners answer with what a student's code would return (no student code runs), so each
diagnosis is checked against exactly the output that should earn it.
"""

import numpy as np
import pytest

from grader.engine import grade
from grader.engine.compare import close, same
from grader.engine.factors import predicate
from grader.engine.plugin import Tolerance
from grader.engine.runner_contract import CaseReturn, ErrorInfo
from reference.softmax_backprop import solution as ref
from tests.grader.engine.test_score import A, Scripted, right

TOL = Tolerance()


def answering(part: str, wrong):  # type: ignore[no-untyped-def]
    """A runner right on every part but ``part``, where it returns ``wrong(*args)``."""
    def answer(name: str, args: tuple) -> CaseReturn:  # type: ignore[type-arg]
        if name == part:
            with np.errstate(all="ignore"):
                return CaseReturn(value=wrong(*args))
        return right(name, args)
    return Scripted(answer)


def part_of(result, name: str):  # type: ignore[no-untyped-def]
    return next(p for p in result.parts if p.name == name)


class TestSame:
    def test_nan_in_the_same_places_is_the_same(self) -> None:
        """A variant with nan matches a student value with nan in exactly those places."""
        v = np.array([[np.nan, 1.0], [np.inf, 2.0]])
        assert same(v, v.copy(), TOL)
        assert not same(v, np.array([[1.0, np.nan], [np.inf, 2.0]]), TOL)
        assert not same(v, np.array([[np.nan, 1.0], [-np.inf, 2.0]]), TOL)
        assert not close(v, v.copy(), TOL)  # as an answer, nan is never right

    def test_dicts_need_the_same_keys(self) -> None:
        """Dicts are the same only with the same keys, each the same."""
        v = {"a": np.ones(2), "b": np.zeros(2)}
        assert same(v, {"a": np.ones(2), "b": np.zeros(2)}, TOL)
        assert not same(v, {"a": np.ones(2)}, TOL)


class TestFactorWords:
    @pytest.mark.parametrize("k,words", [
        (0.0, "is missing"), (-1.0, "has the wrong sign"),
        (0.25, "is a quarter of the expected one"),
        (0.5, "is half the expected one"), (2.0, "is twice the expected one"),
        (1 / 12, "is 1/12 of the expected one"), (3.0, "is 3 times the expected one"),
        (0.38268343, "is 0.3827 times the expected one"),
    ])
    def test_factor_in_words(self, k: float, words: str) -> None:
        """A factor is said as a word, a simple fraction, or a number."""
        assert predicate(k) == words


class TestDiagnoses:
    def test_float32_softmax_is_precision_loss(self) -> None:
        """A stable float32 softmax is a precision problem, never 'overflows'."""
        def f32(z: np.ndarray) -> np.ndarray:
            z = z.astype(np.float32)
            e = np.exp(z - z.max(axis=0, keepdims=True))
            return (e / e.sum(axis=0, keepdims=True)).astype(np.float64)
        p = part_of(grade("", A, seed=2, runner=answering("softmax", f32)), "softmax")
        assert p.status == "failed" and p.diagnoses == ["precision_loss"]
        assert "relative error up to" in p.feedback and "overflow" not in p.feedback

    def test_overflow_is_numerically_unstable(self) -> None:
        """A softmax without the shift, nan for large logits, is numerically_unstable."""
        def unshifted(z: np.ndarray) -> np.ndarray:
            e = np.exp(z)
            return e / e.sum(axis=0, keepdims=True)
        def backward(z: np.ndarray, da: np.ndarray) -> np.ndarray:
            a = unshifted(z)
            return a * (da - (a * da).sum(axis=0, keepdims=True))

        def jacobian(z: np.ndarray) -> np.ndarray:
            a = unshifted(z[:, None])[:, 0]
            return np.diag(a) - np.outer(a, a)

        for part, fn in (("softmax", unshifted), ("softmax_backward", backward),
                         ("softmax_jacobian", jacobian)):
            p = part_of(grade("", A, seed=5, runner=answering(part, fn)), part)
            assert p.diagnoses == ["numerically_unstable"], (part, p.feedback)

    def test_global_max_is_wrong_axis(self) -> None:
        """Shifting by the whole matrix's maximum (nan far below it) is wrong_axis."""
        def global_max(z: np.ndarray) -> np.ndarray:
            e = np.exp(z - z.max())
            return e / e.sum(axis=0, keepdims=True)
        p = part_of(grade("", A, seed=5, runner=answering("softmax", global_max)), "softmax")
        assert p.diagnoses == ["wrong_axis"] and "whole matrix" in p.feedback

    def test_whole_result_off_by_a_constant(self) -> None:
        """Twice the right grad_z3 is 'twice the expected one'."""
        p = part_of(grade("", A, seed=5, runner=answering(
            "grad_z3", lambda a3, y: 2 * (a3 - y) / y.shape[1])), "grad_z3")
        assert p.diagnoses == ["constant_factor"]
        assert "Your result is twice the expected one." in p.feedback

    def test_factor_that_depends_on_the_case(self) -> None:
        """A mean where a sum belongs is a factor that changes with the sizes, both quoted."""
        p = part_of(grade("", A, seed=5, runner=answering(
            "grad_b2", lambda dz3: dz3.mean(axis=1, keepdims=True))), "grad_b2")
        assert p.diagnoses == ["constant_factor"]
        assert "changes with the case's sizes" in p.feedback and "a third of" in p.feedback

    def test_missing_batch_mean_in_one_key(self) -> None:
        """gradients() forgetting 1/N in 'b2' only is missing_batch_mean."""
        def one_key(x, y, W1, b1, W2, b2, lam):  # type: ignore[no-untyped-def]
            g = ref.gradients(x, y, W1, b1, W2, b2, lam)
            return {**g, "b2": g["b2"] * y.shape[1]}
        p = part_of(grade("", A, seed=5, runner=answering("gradients", one_key)), "gradients")
        assert "missing_batch_mean" in p.diagnoses

    def test_reg_factor_per_key(self) -> None:
        """4·lam·W1 in gradients() names the key and the factor."""
        def four(x, y, W1, b1, W2, b2, lam):  # type: ignore[no-untyped-def]
            g = ref.gradients(x, y, W1, b1, W2, b2, lam)
            return {**g, "W1": g["W1"] + 2 * lam * W1}
        p = part_of(grade("", A, seed=5, runner=answering("gradients", four)), "gradients")
        assert p.diagnoses == ["reg_coefficient"]
        assert "In 'W1', your regularization term is twice the expected one." in p.feedback

    def test_missing_reg_term(self) -> None:
        """No regularization at all in grad_W1 is 'your regularization term is missing'."""
        p = part_of(grade("", A, seed=5, runner=answering(
            "grad_W1", lambda dz3, W2, z2, x, W1, lam: ref.grad_W1(dz3, W2, z2, x, W1, 0.0))),
            "grad_W1")
        assert p.diagnoses == ["reg_coefficient"]
        assert "Your regularization term is missing." in p.feedback

    def test_unexplained_values_get_no_name(self) -> None:
        """An answer no mistake explains gets no diagnosis (no false name)."""
        p = part_of(grade("", A, seed=5, runner=answering(
            "grad_W2", lambda dz3, a2, W2, lam: dz3 @ a2.T + np.sin(W2))), "grad_W2")
        assert p.status == "failed" and p.diagnoses == []


class TestRefusedReturns:
    def test_refused_value_is_a_wrong_answer(self) -> None:
        """A value the runner refused fails the case with its reason, without 'raised'."""
        err = ErrorInfo("InvalidReturn", "returned a matrix; return a plain numpy.ndarray")
        def matrix(part: str, args: tuple) -> CaseReturn:  # type: ignore[type-arg]
            return CaseReturn(error=err) if part == "softmax_jacobian" else right(part, args)
        p = part_of(grade("", A, seed=3, runner=Scripted(matrix)), "softmax_jacobian")
        assert p.status == "failed" and p.score == 0
        assert "returned np.matrix; return a numpy.ndarray" in p.feedback
        assert "raised" not in p.feedback

    def test_exceptions_still_raise(self) -> None:
        """A real exception is still reported as raised, with status error."""
        err = ErrorInfo("ValueError", "bad")
        def boom(part: str, args: tuple) -> CaseReturn:  # type: ignore[type-arg]
            return CaseReturn(error=err) if part == "grad_b2" else right(part, args)
        p = part_of(grade("", A, seed=3, runner=Scripted(boom)), "grad_b2")
        assert p.status == "error" and "raised ValueError: bad" in p.feedback


def with_forward(**change):  # type: ignore[no-untyped-def]
    """gradients() from a forward pass with one quantity computed differently."""
    def grads(x, y, W1, b1, W2, b2, lam):  # type: ignore[no-untyped-def]
        z2 = change.get("z2", lambda: W1 @ x + b1)()
        a2 = np.maximum(z2, 0.0)
        a3 = ref.softmax(W2 @ a2 + b2)
        dz3 = (a3 - y) / y.shape[1]
        mask = change.get("mask", lambda: z2 > 0)()
        dz2 = (W2.T @ dz3) * mask
        return {"W1": dz2 @ x.T + 2 * lam * W1, "b1": dz2.sum(axis=1, keepdims=True),
                "W2": dz3 @ a2.T + 2 * lam * W2, "b2": dz3.sum(axis=1, keepdims=True)}
    return grads


class TestMoreNames:
    def test_shape_errors_named_even_if_a_square_case_gives_numbers(self) -> None:
        """Raising on shapes on most cases is shape_error, though the square case answers."""
        def transposed_product(dz3: np.ndarray, a2: np.ndarray, W2: np.ndarray,
                               lam: float) -> np.ndarray:
            if dz3.shape[1] != a2.shape[1] or a2.shape[0] != dz3.shape[0]:
                raise ValueError("matmul: Input operand 1 has a mismatch in its core "
                                 "dimension 0")
            return dz3 @ a2 + 2 * lam * W2
        def answer(name: str, args: tuple) -> CaseReturn:  # type: ignore[type-arg]
            if name != "grad_W2":
                return right(name, args)
            try:
                return CaseReturn(value=transposed_product(*args))
            except ValueError as exc:
                return CaseReturn(error=ErrorInfo("ValueError", str(exc)))
        p = part_of(grade("", A, seed=5, runner=Scripted(answer)), "grad_W2")
        assert p.diagnoses == ["shape_error"] and "W1 (H, D)" in p.feedback

    def test_wrong_forward_pass_in_gradients(self) -> None:
        """gradients() without b1 in its forward pass: forward_pass."""
        def no_b1(x, y, W1, b1, W2, b2, lam):  # type: ignore[no-untyped-def]
            return with_forward(z2=lambda: W1 @ x)(x, y, W1, b1, W2, b2, lam)
        p = part_of(grade("", A, seed=5, runner=answering("gradients", no_b1)), "gradients")
        assert p.diagnoses == ["forward_pass"] and "forward pass" in p.feedback

    def test_mask_from_a2_is_fine_but_from_dz3_is_located(self) -> None:
        """A mask taken from something else than z2 is located in the first layer."""
        def mask_from_x(x, y, W1, b1, W2, b2, lam):  # type: ignore[no-untyped-def]
            rng = np.random.default_rng(0)
            shape = (W1.shape[0], x.shape[1])
            return with_forward(mask=lambda: rng.random(shape) > 0.5)(x, y, W1, b1, W2, b2,
                                                                       lam)
        p = part_of(grade("", A, seed=5, runner=answering("gradients", mask_from_x)),
                    "gradients")
        assert p.diagnoses == ["first_layer_inputs"]

    def test_wrong_derivative_at_zero(self) -> None:
        """A ReLU derivative of -1 at exactly 0 is relu_at_zero."""
        def minus_one(dz3, W2, z2):  # type: ignore[no-untyped-def]
            return ref.grad_b1(dz3, W2, z2, at_zero=-1.0)
        p = part_of(grade("", A, seed=5, runner=answering("grad_b1", minus_one)), "grad_b1")
        assert p.diagnoses == ["relu_at_zero"]

    def test_inverted_mask_and_unnormalised_softmax(self) -> None:
        """1[z2 < 0] is relu_mask_inverted; exp(z - max) alone is not_normalised."""
        def inverted(dz3, W2, z2):  # type: ignore[no-untyped-def]
            return ((W2.T @ dz3) * (z2 < 0)).sum(axis=1, keepdims=True)
        p = part_of(grade("", A, seed=5, runner=answering("grad_b1", inverted)), "grad_b1")
        assert p.diagnoses == ["relu_mask_inverted"]
        p = part_of(grade("", A, seed=5, runner=answering(
            "softmax", lambda z: np.exp(z - z.max(axis=0, keepdims=True)))), "softmax")
        assert p.diagnoses == ["not_normalised"]

    def test_single_numbers_name_nothing(self) -> None:
        """A wrong answer on 1x1 arrays alone is never called a factor of the right one."""
        def edge_only(dz3, W2, z2, x, W1, lam):  # type: ignore[no-untyped-def]
            out = ref.grad_W1(dz3, W2, z2, x, W1, lam)
            return out + 0.123 if out.shape == (1, 1) else out
        p = part_of(grade("", A, seed=5, runner=answering("grad_W1", edge_only)), "grad_W1")
        assert p.status == "failed" and p.cases_passed == p.cases_total - 1
        assert p.diagnoses == []
