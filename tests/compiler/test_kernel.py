"""How an op names its kernel: built-ins, a user's own kernel, and the generic replay."""

from __future__ import annotations

import numpy as np
import pytest

import chainrule as cr
import chainrule.functional as F
from chainrule.compiler.activation_kernels import ReLUKernel, TanhKernel
from chainrule.compiler.kernel import GenericKernel, Kernel, kernel_class
from chainrule.compiler.kernels import CrossEntropyKernel, LinearKernel
from chainrule.compiler.loss_kernels import MulticlassHingeKernel
from chainrule.compiler.penalty_kernels import PenaltyKernel
from chainrule.compiler.plan import Plan
from chainrule.ops.activation import ReLU, Tanh
from chainrule.ops.elementwise import Exp
from chainrule.ops.linalg import Linear
from chainrule.ops.loss import CrossEntropy, MulticlassHinge
from chainrule.ops.penalty import L1Penalty, L2Penalty


class SquareKernel(Kernel):
    """A user's kernel for :class:`Square`, float64 only: ``x * x``, backward ``2 x up``."""

    __slots__ = ("x",)

    @classmethod
    def accepts(cls, plan: object, i: int) -> bool:
        return plan.values(i)[0].dtype == np.float64

    def describe(self) -> str:
        return "square, the user's kernel"

    def emit_forward(self, src: object, args: list[str], i: int) -> str:
        self.x = args[0]
        src.emit(f"v{i} = _multiply({self.x}, {self.x})")
        return f"v{i}"

    def emit_backward(self, src: object, up: str, i: int, seed: bool,
                      up_array: object, dests: list) -> list:
        src.emit(f"o{i} = _multiply({up}, _multiply(2.0, {self.x}))")
        return [(f"o{i}", False, None)]


class Square(cr.Function):
    kernel = SquareKernel

    @staticmethod
    def forward(ctx: cr.Context, x: np.ndarray) -> np.ndarray:
        ctx.save_for_backward(x)
        return x * x

    @staticmethod
    def backward(ctx: cr.Context, upstream: np.ndarray) -> np.ndarray:
        (x,) = ctx.saved_tensors
        return upstream * 2 * x


class Cube(cr.Function):  # no kernel: a compiled step replays forward and backward
    @staticmethod
    def forward(ctx: cr.Context, x: np.ndarray) -> np.ndarray:
        ctx.save_for_backward(x)
        return x * x * x

    @staticmethod
    def backward(ctx: cr.Context, upstream: np.ndarray) -> np.ndarray:
        (x,) = ctx.saved_tensors
        return upstream * 3 * x * x


def test_built_in_ops_name_their_kernels() -> None:
    assert kernel_class(Linear) is LinearKernel
    assert kernel_class(ReLU) is ReLUKernel
    assert kernel_class(CrossEntropy) is CrossEntropyKernel
    assert kernel_class(MulticlassHinge) is MulticlassHingeKernel
    assert kernel_class(Tanh) is TanhKernel
    assert kernel_class(L1Penalty) is kernel_class(L2Penalty) is PenaltyKernel
    assert kernel_class(Exp) is None


def test_every_op_of_a_training_option_names_a_kernel() -> None:
    from chainrule.ops import activation, arithmetic, dropout, loss, normalization, shape

    ops = [activation.ReLU, activation.LeakyReLU, activation.PReLU, activation.ELU,
           activation.Sigmoid, activation.Tanh, activation.Maxout, dropout.Dropout,
           normalization.BatchNorm, loss.CrossEntropy, loss.MulticlassHinge, loss.MSE, L2Penalty,
           L1Penalty, arithmetic.Add, shape.Reshape, Linear]
    for op in ops:
        cls = kernel_class(op)
        assert cls is not None and issubclass(cls, Kernel), op.__name__
    assert kernel_class(Square) is SquareKernel


def test_a_kernel_that_is_not_a_kernel_class_is_refused() -> None:
    class Odd(cr.Function):
        kernel = object()

    with pytest.raises(TypeError, match=r"Odd\.kernel: expected a Kernel subclass"):
        kernel_class(Odd)


def _compiled_vs_eager(op: type, dtype: str) -> str:
    """Train a layer-op-layer network compiled and eagerly; returns the step's source."""
    models = []
    for _ in range(2):
        cr.manual_seed(0)
        models.append(cr.nn.MLP(3, [4], 2))
    for m in models:
        for p in m.parameters():
            p.data = p.data.astype(dtype)

    def loss_of(model: cr.nn.MLP, x: cr.Tensor, y: object) -> cr.Tensor:
        hidden = op.apply(F.linear(x, model[0].weight, model[0].bias))
        return F.cross_entropy(F.linear(hidden, model[2].weight, model[2].bias), y)

    eager, fast = models
    opt_e = cr.optim.SGD(eager.parameters(), lr=0.1)
    step = cr.compile(lambda x, y: loss_of(fast, x, y), cr.optim.SGD(fast.parameters(), lr=0.1))
    rng = np.random.default_rng(0)
    for _ in range(3):
        x, y = rng.standard_normal((5, 3)).astype(dtype), rng.integers(0, 2, 5)
        opt_e.zero_grad()
        ref = loss_of(eager, cr.tensor(x, dtype=dtype), y)
        ref.backward()
        opt_e.step()
        assert step(x, y).item() == pytest.approx(ref.item(), rel=1e-6)
    for pe, pf in zip(eager.parameters(), fast.parameters()):
        np.testing.assert_allclose(pf.data, pe.data, rtol=1e-5, atol=1e-7)
    return step.source


def test_a_users_function_runs_its_own_kernel_where_it_accepts() -> None:
    source = _compiled_vs_eager(Square, "float64")
    assert "# node 1: square, the user's kernel" in source
    assert "_multiply(2.0, " in source


def test_a_users_kernel_that_declines_falls_back_to_the_replay() -> None:
    source = _compiled_vs_eager(Square, "float32")
    assert "# node 1: square (its own forward/backward)" in source


def test_a_users_function_without_kernel_is_replayed() -> None:
    source = _compiled_vs_eager(Cube, "float64")
    assert "# node 1: cube (its own forward/backward)" in source


def test_the_generic_replay_has_a_context_of_its_own() -> None:
    w = cr.nn.Parameter(np.ones((2, 3)))
    x = cr.tensor(np.ones((4, 3)), dtype="float64", requires_grad=True)
    node = F.tanh(F.linear(x, w)).grad_fn

    plan = Plan([node], [], [])
    plan.needs = [[False]]
    kernel = GenericKernel(plan, 0)
    assert kernel.ctx is not node and kernel.ctx.needs_input_grad == [False]
    assert node.needs_input_grad == [True]
    np.testing.assert_allclose(kernel.forward(np.zeros((4, 2))), 0.0)
