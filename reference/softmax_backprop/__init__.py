"""softmax-backprop: softmax, its Jacobian, and the backward pass of a 2-layer ReLU network."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from grader.engine.plugin import AssignmentPlugin, Part, Tolerance
from grader.engine.runner_contract import Arg, Limits, Value
from reference.softmax_backprop import solution as ref
from reference.softmax_backprop.cases import make_cases
from reference.softmax_backprop.domain import draw_inputs
from reference.softmax_backprop.mistakes import CATALOG, GENERIC_MESSAGES

_HERE = Path(__file__).parent


def _relu_at_one(name: str) -> Callable[..., list[Value]]:
    """Where z2 == 0 exactly the ReLU derivative may be 0 or 1: the answer with 1 is right too."""
    fn = getattr(ref, name)

    def alternatives(*args: Arg) -> list[Value]:
        return [fn(*args, at_zero=1.0)]

    return alternatives


ASSIGNMENT = AssignmentPlugin(
    slug="softmax-backprop",
    title="Softmax and backpropagation through a 2-layer network",
    parts=(
        Part("softmax", ("z",), ref.softmax),
        Part("softmax_jacobian", ("z",), ref.softmax_jacobian),
        Part("softmax_backward", ("z", "da"), ref.softmax_backward),
        Part("grad_z3", ("a3", "y"), ref.grad_z3),
        Part("grad_W2", ("dz3", "a2", "W2", "lam"), ref.grad_W2),
        Part("grad_b2", ("dz3",), ref.grad_b2),
        Part("grad_W1", ("dz3", "W2", "z2", "x", "W1", "lam"), ref.grad_W1,
             alternatives=_relu_at_one("grad_W1")),
        Part("grad_b1", ("dz3", "W2", "z2"), ref.grad_b1, alternatives=_relu_at_one("grad_b1")),
        Part("gradients", ("x", "y", "W1", "b1", "W2", "b2", "lam"), ref.gradients,
             alternatives=_relu_at_one("gradients")),
    ),
    make_cases=make_cases,
    mistakes=CATALOG,
    tolerance=Tolerance(rtol=1e-6, atol=1e-9),
    limits=Limits(),
    generic_messages=GENERIC_MESSAGES,
    handout_path=_HERE / "handout.md",
    starter_path=_HERE / "starter.py",
    reference_module=ref,
    draw_inputs=draw_inputs,
)
