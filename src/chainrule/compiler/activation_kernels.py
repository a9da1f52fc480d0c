"""Kernels for the lecture's activations and for dropout: each gate's forward and its
local gradient as NumPy calls into buffers allocated once.

============  ==========================================  ===============================
op            forward                                     backward (``dx = local * up``)
============  ==========================================  ===============================
ReLU          ``max(0, x)``                               mask ``out > 0``
LeakyReLU     ``x * local``, local = 1 or slope           ``local``
PReLU         ``x * local``, local = 1 or a               ``local``; ``da = sum(up x [x<=0])``
ELU           ``alpha (e^min(x,0) - 1)``, x where x > 0   1, or ``out + alpha``
Sigmoid       ``e^-|x|`` based, stable                    ``out (1 - out)``
Tanh          ``tanh(x)``                                 ``1 - out^2``
Maxout        max over groups of ``pieces`` features      to the winner (ties share)
Dropout       ``x * mask``, mask drawn on every call      ``mask``
============  ==========================================  ===============================

Every formula is the eager op's, in the same order of operations, so a compiled step
gives the eager step's numbers. All of them work in the layout of their input: with a
small layer's ``(features, N)`` column layout they compute on the transposes and, when
they feed a Linear that folds its bias into the product, write their output above a row
of ones (the augmented input ``[x^T ; 1]`` of that product).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from chainrule.compiler.kernel import Kernel
from chainrule.compiler.kernels import transposed
from chainrule.compiler.plan import CONST, LEAF
from chainrule.random import get_rng

if TYPE_CHECKING:
    from chainrule.compiler.codegen import Source
    from chainrule.compiler.plan import Plan

__all__ = [
    "DropoutKernel", "ELUKernel", "ElementwiseKernel", "LeakyReLUKernel", "MaxoutKernel",
    "PReLUKernel", "ReLUKernel", "SigmoidKernel", "TanhKernel",
]

#: ReLU masks up to this many elements come from np.sign (see ReLUKernel).
SIGN_MASK = 4096


class ElementwiseKernel(Kernel):
    """What the activation kernels share: the layout, the output and gradient buffers.

    The buffers have the *working* shape: the logical one, or its transpose in the
    column layout (``col``). A subclass writes :meth:`emit_value` (``out`` from ``x``)
    and :meth:`emit_local` (``grad``, the input's gradient, from ``up``), both on
    working-shape names, and may allocate more buffers of the output's working shape
    with :meth:`buffer`. An op whose output is narrower than its input (maxout) says so
    in :meth:`out_shape`.
    """

    __slots__ = ("aug", "col", "grad", "nargs", "out", "x", "x_array")
    buffered = True

    @classmethod
    def accepts(cls, plan: Plan, i: int) -> bool:
        """A floating input; its other arguments are constants."""
        x = plan.values(i)[0]
        return (isinstance(x, np.ndarray) and x.dtype.kind == "f"
                and all(kind == CONST for kind, _ in plan.specs[i][1:]))

    def __init__(self, plan: Plan, i: int) -> None:
        super().__init__(plan, i)
        x = plan.values(i)[0]
        producer = plan.producer(i)
        x_array = producer.value if producer is not None else None
        self.nargs = len(plan.specs[i])
        self.x_array = x_array
        self.x = ""
        self.col = transposed(x_array) and x_array.dtype == x.dtype
        self.aug = None
        out_shape = self.out_shape(x.shape)
        if self.col:  # work on the (features, N) transposes
            n, f = out_shape
            if plan.feeds_bias_row(i):
                self.aug = np.ones((f + 1, n), dtype=x.dtype)
                self.out = self.aug[:-1]
            else:
                self.out = np.empty((f, n), dtype=x.dtype)
            self.value = self.out.T
            self.grad = np.empty(x.shape[::-1], dtype=x.dtype)
        else:
            self.out = np.empty(out_shape, dtype=x.dtype)
            self.value = self.out
            self.grad = np.empty(x.shape, dtype=x.dtype)

    def out_shape(self, shape: tuple) -> tuple:
        """The output's (logical) shape for an input of this shape."""
        return shape

    def buffer(self, dtype: np.dtype | None = None) -> np.ndarray:
        """A new array of the output's working shape (its dtype unless given)."""
        return np.empty(self.out.shape, dtype=dtype or self.out.dtype)

    def describe(self) -> str:
        name = type(self).__name__.removesuffix("Kernel").lower()
        return f"{name}, columns" if self.col else f"{name}, rows"

    def emit_forward(self, src: Source, args: list[str], i: int) -> str:
        self.x = src.const(self.x_array.T, "xt") if self.col else args[0]
        self.emit_value(src, self.x, src.const(self.out, "out"), args)
        return src.const(self.value, "v")

    def emit_backward(self, src: Source, up: str, i: int, seed: bool,
                      up_array: np.ndarray | None, dests: list) -> list:
        c = src.const
        if self.col and transposed(up_array) and up_array.dtype == self.out.dtype:
            up = c(up_array.T, "upt")
        elif self.col:  # a view of any layout: NumPy follows its strides
            up = f"{up}.T"
        grads = [None] * self.nargs
        self.emit_local(src, up, c(self.grad, "grad"), grads, dests)
        value = self.grad.T if self.col else self.grad
        grads[0] = (c(value, "g"), False, value)
        return grads

    def emit_value(self, src: Source, x: str, out: str, args: list[str]) -> None:
        raise NotImplementedError(f"{type(self).__name__}: emit_value is not defined")

    def emit_local(self, src: Source, up: str, grad: str, grads: list, dests: list) -> None:
        """Write ``grad``; the gradients of other inputs go into ``grads[k]`` as
        ``(expression, wrote_dest, array)`` (see ``Kernel.emit_backward``)."""
        raise NotImplementedError(f"{type(self).__name__}: emit_local is not defined")


class ReLUKernel(ElementwiseKernel):
    """``max(0, x)``; backward multiplies by the saved 0/1 mask.

    Operands of the input's own shape, dtype and layout (a zero array, a float mask) keep
    NumPy on its fastest loops. The mask is ``out > 0`` written as floats; below
    ``SIGN_MASK`` elements ``sign(out)`` (``out >= 0``) gives it about 2 us sooner, but
    propagates a NaN where the eager step's mask gives 0.
    """

    __slots__ = ("mask", "zeros")

    def __init__(self, plan: Plan, i: int) -> None:
        super().__init__(plan, i)
        self.zeros = np.zeros_like(self.out)
        self.mask = self.buffer()

    def emit_value(self, src: Source, x: str, out: str, args: list[str]) -> None:
        zeros, mask = src.const(self.zeros, "zeros"), src.const(self.mask, "mask")
        src.emit(f"_maximum({x}, {zeros}, out={out})")
        if self.out.size <= SIGN_MASK:
            src.emit(f"_sign({out}, out={mask})")
        else:
            src.emit(f"_greater({out}, {zeros}, out={mask})")

    def emit_local(self, src: Source, up: str, grad: str, grads: list, dests: list) -> None:
        src.emit(f"_multiply({up}, {src.const(self.mask, 'mask')}, out={grad})")


class _SlopeKernel(ElementwiseKernel):
    """``x * local`` with ``local`` 1 where ``x > 0`` and a slope elsewhere; the
    backward is ``up * local`` (both exactly the eager ``where`` of x and slope x)."""

    __slots__ = ("local", "positive")

    def __init__(self, plan: Plan, i: int) -> None:
        super().__init__(plan, i)
        self.local = self.buffer()
        self.positive = self.buffer(np.dtype(bool))

    def slope(self, src: Source, args: list[str]) -> str:
        raise NotImplementedError

    def emit_value(self, src: Source, x: str, out: str, args: list[str]) -> None:
        local, positive = src.const(self.local, "local"), src.const(self.positive, "positive")
        src.emit(f"_greater({x}, 0, out={positive})")
        src.emit(f"_copyto({local}, {self.slope(src, args)})")
        src.emit(f"_copyto({local}, 1, where={positive})")
        src.emit(f"_multiply({x}, {local}, out={out})")

    def emit_local(self, src: Source, up: str, grad: str, grads: list, dests: list) -> None:
        src.emit(f"_multiply({up}, {src.const(self.local, 'local')}, out={grad})")


class LeakyReLUKernel(_SlopeKernel):
    """``x if x > 0 else slope x``: local gradient 1 or slope."""

    __slots__ = ()

    def slope(self, src: Source, args: list[str]) -> str:
        return args[1]  # the constant slope, a Python float


class PReLUKernel(_SlopeKernel):
    """Leaky ReLU with learned slopes ``a`` (one, or one per feature of a 2-D input).

    ``da = sum of up * x * [x <= 0]`` over the batch (over everything for one slope).
    """

    __slots__ = ("ga", "gfull", "need_slope", "negative", "ones", "shared", "slope_view")

    @classmethod
    def accepts(cls, plan: Plan, i: int) -> bool:
        """A 2-D input and a parameter of its dtype holding 1 or ``features`` slopes."""
        x, a = plan.values(i)
        return (plan.specs[i][1][0] == LEAF and isinstance(x, np.ndarray) and x.ndim == 2
                and a.ndim == 1 and a.size in (1, x.shape[1]) and a.dtype == x.dtype)

    def __init__(self, plan: Plan, i: int) -> None:
        super().__init__(plan, i)
        a = plan.values(i)[1]
        self.shared = a.size == 1
        # the slopes broadcast along the features: a row (N, F), a column (F, N)
        self.slope_view = a if self.shared else (a[:, None] if self.col else a[None, :])
        self.need_slope = plan.needs[i][1]
        self.gfull = self.buffer()
        self.negative = self.buffer(np.dtype(bool))
        self.ones = np.ones(self.out.shape[1] if self.col else self.out.shape[0], a.dtype)
        self.ga = np.empty(a.shape, dtype=a.dtype)

    def slope(self, src: Source, args: list[str]) -> str:
        return src.const(self.slope_view, "slope")

    def emit_local(self, src: Source, up: str, grad: str, grads: list, dests: list) -> None:
        super().emit_local(src, up, grad, grads, dests)
        if not self.need_slope:
            return
        c = src.const
        full, negative = c(self.gfull, "gfull"), c(self.negative, "negative")
        src.emit(f"_less_equal({self.x}, 0, out={negative})")
        src.emit(f"_multiply({up}, {self.x}, out={full})")
        src.emit(f"_multiply({full}, {negative}, out={full})")
        dest = dests[1] if dests[1] is not None and dests[1].flags.c_contiguous else self.ga
        ga = c(dest, "ga")
        if self.shared:
            src.emit(f"{ga}[0] = _add_reduce({full}, None)")
        elif self.col:
            src.emit(f"_dot({full}, {c(self.ones, 'ones')}, out={ga})")
        else:
            src.emit(f"_dot({c(self.ones, 'ones')}, {full}, out={ga})")
        grads[1] = (ga, dest is dests[1], dest)


class ELUKernel(ElementwiseKernel):
    """``x if x > 0 else alpha (e^x - 1)``: local gradient 1, or ``out + alpha``."""

    __slots__ = ("alpha", "local", "positive")

    def __init__(self, plan: Plan, i: int) -> None:
        super().__init__(plan, i)
        self.alpha = float(plan.values(i)[1])
        self.local = self.buffer()
        self.positive = self.buffer(np.dtype(bool))

    def emit_value(self, src: Source, x: str, out: str, args: list[str]) -> None:
        positive = src.const(self.positive, "positive")
        src.emit(f"_minimum({x}, 0, out={out})")
        src.emit(f"_expm1({out}, out={out})")
        src.emit(f"_multiply({self.alpha!r}, {out}, out={out})")
        src.emit(f"_greater({x}, 0, out={positive})")
        src.emit(f"_copyto({out}, {x}, where={positive})")

    def emit_local(self, src: Source, up: str, grad: str, grads: list, dests: list) -> None:
        c = src.const
        local = c(self.local, "local")
        src.emit(f"_add({c(self.out, 'out')}, {self.alpha!r}, out={local})")
        src.emit(f"_copyto({local}, 1, where={c(self.positive, 'positive')})")
        src.emit(f"_multiply({up}, {local}, out={grad})")


class SigmoidKernel(ElementwiseKernel):
    """``1 / (1 + e^-x)`` computed as the eager op does, stable for large ``|x|``::

        e = e^-|x|,  r = 1 / (1 + e),  out = r where x >= 0 else e r

    Backward: ``up * out * (1 - out)``.
    """

    __slots__ = ("e", "nonnegative", "r")

    def __init__(self, plan: Plan, i: int) -> None:
        super().__init__(plan, i)
        self.e, self.r = self.buffer(), self.buffer()
        self.nonnegative = self.buffer(np.dtype(bool))

    def emit_value(self, src: Source, x: str, out: str, args: list[str]) -> None:
        c = src.const
        e, r, nonnegative = c(self.e, "e"), c(self.r, "r"), c(self.nonnegative, "nonnegative")
        src.emit(f"_copysign({x}, -1, out={e})")  # -|x|
        src.emit(f"_exp({e}, out={e})")
        src.emit(f"_add(1, {e}, out={r})")
        src.emit(f"_divide(1, {r}, out={r})")
        src.emit(f"_multiply({e}, {r}, out={out})")
        src.emit(f"_greater_equal({x}, 0, out={nonnegative})")
        src.emit(f"_copyto({out}, {r}, where={nonnegative})")

    def emit_local(self, src: Source, up: str, grad: str, grads: list, dests: list) -> None:
        c = src.const
        out, r = c(self.out, "out"), c(self.r, "r")
        src.emit(f"_multiply({up}, {out}, out={grad})")
        src.emit(f"_subtract(1, {out}, out={r})")
        src.emit(f"_multiply({grad}, {r}, out={grad})")


class TanhKernel(ElementwiseKernel):
    """``tanh(x)``; backward ``up * (1 - out^2)``."""

    __slots__ = ("local",)

    def __init__(self, plan: Plan, i: int) -> None:
        super().__init__(plan, i)
        self.local = self.buffer()

    def emit_value(self, src: Source, x: str, out: str, args: list[str]) -> None:
        src.emit(f"_tanh({x}, out={out})")

    def emit_local(self, src: Source, up: str, grad: str, grads: list, dests: list) -> None:
        c = src.const
        out, local = c(self.out, "out"), c(self.local, "local")
        src.emit(f"_multiply({out}, {out}, out={local})")
        src.emit(f"_subtract(1, {local}, out={local})")
        src.emit(f"_multiply({up}, {local}, out={grad})")


class DropoutKernel(ElementwiseKernel):
    """Inverted dropout: ``x * mask`` with ``mask = [u >= p] / (1 - p)`` and ``u`` drawn
    on every call from chainrule's generator, exactly as the eager op draws it (the
    same numbers in the same order), so seeded runs agree compiled or not."""

    __slots__ = ("draws", "keep", "mask", "scale")

    @classmethod
    def accepts(cls, plan: Plan, i: int) -> bool:
        """A floating input and ``p < 1`` (``p = 1`` draws nothing: the replay)."""
        return super().accepts(plan, i) and plan.values(i)[1] < 1.0

    def __init__(self, plan: Plan, i: int) -> None:
        super().__init__(plan, i)
        x, p = plan.values(i)
        self.draws = np.empty(x.shape)  # float64, in the input's logical (C) order
        self.keep = self.buffer(np.dtype(bool))
        self.mask = self.buffer()
        self.scale = np.asarray(1.0 / (1.0 - p), dtype=x.dtype)

    def emit_value(self, src: Source, x: str, out: str, args: list[str]) -> None:
        c = src.const
        draws = c(self.draws.T if self.col else self.draws, "draws")
        keep, mask = c(self.keep, "keep"), c(self.mask, "mask")
        src.emit(f"{c(get_rng, 'get_rng')}().random(out={c(self.draws, 'draws')})")
        src.emit(f"_greater_equal({draws}, {args[1]}, out={keep})")
        src.emit(f"_multiply({keep}, {c(self.scale, 'scale')}, out={mask})")
        src.emit(f"_multiply({x}, {mask}, out={out})")

    def emit_local(self, src: Source, up: str, grad: str, grads: list, dests: list) -> None:
        src.emit(f"_multiply({up}, {src.const(self.mask, 'mask')}, out={grad})")


class MaxoutKernel(ElementwiseKernel):
    """Max over consecutive groups of ``pieces`` features; the gradient goes to each
    group's winner, shared evenly between tied ones (as the eager op does).

    The input ``(N, F * pieces)`` is seen as ``(N, F, pieces)`` (columns: its transpose
    ``(F * pieces, N)`` as ``(F, pieces, N)``), and piece ``j`` as the view ``[..., j]``
    (``[:, j]``): a maximum of ``pieces`` views instead of a reduction over a short axis,
    which NumPy runs slowly. Backward, with ``won_j = [x_j == out]``::

        count = sum_j won_j      dx_j = (up / count) won_j
    """

    __slots__ = ("count", "grouped", "node", "pieces", "ratio", "won", "x_pieces")

    @classmethod
    def accepts(cls, plan: Plan, i: int) -> bool:
        """A 2-D floating input and a constant ``pieces`` of at least 2."""
        return (super().accepts(plan, i) and plan.values(i)[0].ndim == 2
                and plan.values(i)[1] >= 2)

    def __init__(self, plan: Plan, i: int) -> None:
        self.pieces = int(plan.values(i)[1])
        super().__init__(plan, i)
        f, n = self.out.shape if self.col else self.out.shape[::-1]
        self.grouped = (f, self.pieces, n) if self.col else (n, f, self.pieces)
        self.won = np.empty(self.grouped, dtype=self.out.dtype)
        self.count, self.ratio = self.buffer(), self.buffer()
        self.node = i
        self.x_pieces: list[str] = []

    def out_shape(self, shape: tuple) -> tuple:
        return (shape[0], shape[1] // self.pieces)

    def _piece(self, a: np.ndarray | str, j: int) -> np.ndarray | str:
        """Piece ``j`` of a grouped array (or of the name of one)."""
        if isinstance(a, str):
            return f"{a}[:, {j}]" if self.col else f"{a}[..., {j}]"
        return a[:, j] if self.col else a[..., j]

    def _pieces(self, src: Source, a: np.ndarray, prefix: str) -> list[str]:
        return [src.const(self._piece(a, j), f"{prefix}{j}") for j in range(self.pieces)]

    def emit_value(self, src: Source, x: str, out: str, args: list[str]) -> None:
        if self.x_array is not None and (self.col or self.x_array.flags.c_contiguous):
            grouped = (self.x_array.T if self.col else self.x_array).reshape(self.grouped)
            pieces = self._pieces(src, grouped, "x")
        else:  # a new array on every call: group it there
            grouped_name = f"grouped{self.node}"
            src.emit(f"{grouped_name} = {x}.reshape({self.grouped})")
            pieces = [self._piece(grouped_name, j) for j in range(self.pieces)]
        self.x_pieces = pieces
        src.emit(f"_maximum({pieces[0]}, {pieces[1]}, out={out})")
        for piece in pieces[2:]:
            src.emit(f"_maximum({out}, {piece}, out={out})")

    def emit_local(self, src: Source, up: str, grad: str, grads: list, dests: list) -> None:
        c = src.const
        out, count, ratio = c(self.out, "out"), c(self.count, "count"), c(self.ratio, "ratio")
        won = self._pieces(src, self.won, "won")
        for piece, w in zip(self.x_pieces, won):
            src.emit(f"_equal({piece}, {out}, out={w})")
        src.emit(f"_add({won[0]}, {won[1]}, out={count})")
        for w in won[2:]:
            src.emit(f"_add({count}, {w}, out={count})")
        src.emit(f"_divide({up}, {count}, out={ratio})")
        grad3 = self.grad.reshape(self.grouped)
        for j, w in enumerate(won):
            src.emit(f"_multiply({ratio}, {w}, out={c(self._piece(grad3, j), f'grad{j}')})")
