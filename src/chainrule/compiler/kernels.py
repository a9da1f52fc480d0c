"""The built-in kernels of Linear and of the softmax loss, and what the kernels share.

Each is named by its op (``Linear.kernel = "chainrule.compiler.kernels:LinearKernel"``)
and writes the op's forward and backward as NumPy calls into buffers allocated once (see
:class:`~chainrule.compiler.kernel.Kernel` for the protocol).

**Layouts.** The value a kernel produces is a NumPy array of the traced shape, but not
always C-ordered. Small layers use the *column* layout of the lecture's ``h = W x + b``:
the activations are stored as ``(features, N)`` and the value is its ``.T``. That layout
lets a bias ride inside the product (a row of ones under ``x^T`` and ``[W | b]`` as one
block: one call instead of a product and a broadcast add, and ``dW, db`` from one
product) and it makes the softmax's reductions run along contiguous memory. A kernel
reads the layout of the arrays it is given and uses their transposes where that is the
contiguous side; with an input whose layout it cannot know it falls back to logical
``(N, features)`` expressions, which NumPy computes correctly for any strides.

**Labels** come from the caller on every step, so the losses over labels check their
range on every replay, as the eager loss does.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from chainrule.compiler.kernel import GenericKernel, Kernel
from chainrule.compiler.plan import CONST, INPUT, LEAF

if TYPE_CHECKING:
    from chainrule.compiler.codegen import Source
    from chainrule.compiler.plan import Plan

#: Products up to this many multiply-adds go through ``np.dot``, whose per-call overhead
#: is about 1 us below ``np.matmul``'s; the Linear layers this small use the column
#: layout.
SMALL_PRODUCT = 1 << 17

#: A row-layout Linear weight with ``in >= INPUT_MAJOR * out`` is stored transposed.
INPUT_MAJOR = 1

def transposed(a: np.ndarray | None) -> bool:
    """Whether ``a`` is stored as its transpose (column layout), i.e. ``a.T`` is C-ordered."""
    return (a is not None and a.ndim == 2 and a.T.flags.c_contiguous
            and not a.flags.c_contiguous)


def _contiguous(dest: np.ndarray | None, own: np.ndarray) -> np.ndarray:
    """``dest`` if a product can write into it (C- or F-ordered), else our ``own`` buffer."""
    if dest is not None and (dest.flags.c_contiguous or dest.flags.f_contiguous):
        return dest
    return own


class LinearKernel(Kernel):
    """``x @ W.T + b`` and its backward, into buffers allocated once.

    Row layout (large layers)::

        out = x @ W.T + b      dx = up @ W      dW = up.T @ x      db = ones @ up

    with ``W`` as the plan found it (C-ordered, or input-major: the ``.T`` of a C-ordered
    ``(in, out)`` block) so that BLAS reads the contiguous side. Column layout (small
    layers): ``out^T = W @ x^T + b`` into an ``(out, N)`` buffer; with ``block = [W | b]``
    and ``x_aug = [x^T ; 1]`` (its producer's ``aug``: ``x^T`` written above a row of
    ones, where ``Plan.feeds_bias_row`` allows; else a copy) that is
    ``out^T = block @ x_aug``, and backward is ``d block = up^T @ x_aug^T``,
    ``dx^T = W^T @ up^T``.
    """

    __slots__ = ("b", "block", "col", "gb", "gblock", "grad_block", "gw", "gx", "gxt", "mm",
                 "ones", "out", "own_xa", "upt", "w", "x", "x_array", "xa")
    buffered = True

    @classmethod
    def accepts(cls, plan: Plan, i: int) -> bool:
        """A 2-D input of the weight's dtype, a parameter as weight and a parameter (or
        nothing) as bias."""
        _, (w_kind, _), (b_kind, b) = plan.specs[i]
        if w_kind != LEAF or not (b_kind == LEAF or (b_kind == CONST and b is None)):
            return False
        x, w, _ = plan.values(i)
        return isinstance(x, np.ndarray) and x.ndim == 2 and x.dtype == w.dtype

    @classmethod
    def choose_layout(cls, plan: Plan, i: int) -> None:
        """Columns for a small product (with ``[W | b]`` as one block); in rows, a layer
        that narrows keeps its weight transposed so the forward product reads it
        contiguously."""
        x, w, _ = plan.values(i)
        weight, bias = plan.nodes[i].inputs[1:3]
        plan.columns[i] = x.shape[0] * w.size <= SMALL_PRODUCT
        if plan.columns[i]:
            if bias is not None:
                plan.bias_blocks[i] = (weight, bias)
        elif w.shape[1] >= INPUT_MAJOR * w.shape[0]:
            plan.input_major.add(id(weight))

    def __init__(self, plan: Plan, i: int) -> None:
        super().__init__(plan, i)
        x, w, b = plan.values(i)
        need = plan.needs[i]
        producer = plan.producer(i)
        x_array = producer.value if producer is not None else None
        col = plan.columns[i]
        block = plan.folded.get(i)  # ([W | b], its gradient) when packed side by side
        x_aug = getattr(producer, "aug", None) if block is not None else None
        n, size_in = x.shape
        size_out = w.shape[0]
        dtype = w.dtype
        self.w, self.b, self.x_array, self.col = w, b, x_array, col
        self.mm = "_dot" if n * w.size <= SMALL_PRODUCT else "_matmul"
        self.ones = np.ones(n, dtype=dtype)  # db = ones @ upstream: one BLAS call
        self.x = ""
        self.gx = self.gxt = self.gw = self.gb = self.upt = None
        self.block = self.grad_block = self.gblock = self.xa = None
        self.own_xa = False
        if not col:
            self.out = np.empty((n, size_out), dtype=dtype)
            self.value = self.out
            if need[0]:
                self.gx = np.empty((n, size_in), dtype=dtype)
        else:
            self.out = np.empty((size_out, n), dtype=dtype)  # out^T
            self.value = self.out.T
            self.upt = np.empty((size_out, n), dtype=dtype)  # an upstream of unknown layout
            if need[0]:
                self.gxt = np.empty((size_in, n), dtype=dtype)
            if block is not None:  # bias inside the product
                self.block, self.grad_block = block
                self.gblock = np.empty(self.block.shape, dtype=dtype)
                self.own_xa = x_aug is None
                self.xa = x_aug if x_aug is not None else np.ones((size_in + 1, n), dtype=dtype)
        if self.block is None:
            self.gw = np.empty(w.shape, dtype=dtype) if need[1] else None
            self.gb = np.empty(size_out, dtype=dtype) if (b is not None and need[2]) else None

    def describe(self) -> str:
        if not self.col:
            return "linear, rows"
        return "linear, columns" + (", bias in the product" if self.block is not None else "")

    # ------------------------------------------------------------------ forward
    def emit_forward(self, src: Source, args: list[str], i: int) -> str:
        x, _, b = args
        self.x = x
        c = src.const
        out = c(self.out, "out")
        if not self.col:
            src.emit(f"{self.mm}({x}, {c(self.w.T, 'wt')}, out={out})")
            if b != "None":
                src.emit(f"_add({out}, {b}, out={out})")
        elif self.block is not None:
            if self.own_xa:
                src.emit(f"_copyto({c(self.xa[:-1], 'xt')}, {x}.T)")
            src.emit(f"{self.mm}({c(self.block, 'block')}, {c(self.xa, 'xa')}, out={out})")
        else:
            xt = c(self.x_array.T, "xt") if self.x_array is not None else f"{x}.T"
            src.emit(f"{self.mm}({c(self.w, 'w')}, {xt}, out={out})")
            if b != "None":
                src.emit(f"_add({out}, {c(self.b[:, None], 'bcol')}, out={out})")
        return c(self.value, "v")

    # ------------------------------------------------------------------ backward
    def emit_backward(self, src: Source, up: str, i: int, seed: bool,
                      up_array: np.ndarray | None, dests: list) -> list:
        if self.col:
            return self._backward_col(src, up, up_array, dests)
        c = src.const
        # np.dot wants its output's exact dtype and layout: only for our own upstreams.
        mm = self.mm if up_array is not None else "_matmul"
        grads: list = [None, None, None]
        if self.gx is not None:
            gx = c(self.gx, "gx")
            src.emit(f"{mm}({up}, {c(self.w, 'w')}, out={gx})")
            grads[0] = (gx, False, self.gx)
        if self.gw is not None:
            # Straight into the parameter's gradient array where it is C- or F-ordered
            # (input-major: write dW.T = x.T @ upstream); a strided one (a [W | b] block
            # laid out by a column plan) gets a copy of our own buffer.
            dest = _contiguous(dests[1], self.gw)
            gw = c(dest, "gw")
            if dest.flags.c_contiguous:
                src.emit(f"{mm}({up}.T, {self.x}, out={gw})")
            else:
                src.emit(f"{mm}({self.x}.T, {up}, out={c(dest.T, 'gwt')})")
            grads[1] = (gw, dest is dests[1], dest)
        if self.gb is not None:
            dest = _contiguous(dests[2], self.gb)
            gb = c(dest, "gb")
            if up_array is not None:
                src.emit(f"_dot({c(self.ones, 'ones')}, {up}, out={gb})")
            else:
                src.emit(f"_add_reduce({up}, 0, None, {gb})")
            grads[2] = (gb, dest is dests[2], dest)
        return grads

    def _backward_col(self, src: Source, up: str, up_array: np.ndarray | None,
                      dests: list) -> list:
        c = src.const
        if transposed(up_array) and up_array.dtype == self.out.dtype:
            upt = c(up_array.T, "upt")
        else:  # one copy into the layout the products want
            upt = c(self.upt, "upt")
            src.emit(f"_copyto({upt}, {up}.T)")
        grads: list = [None, None, None]
        if self.gxt is not None:  # dx^T = W^T @ up^T
            src.emit(f"{self.mm}({c(self.w.T, 'wt')}, {upt}, out={c(self.gxt, 'gxt')})")
            grads[0] = (c(self.gxt.T, "gx"), False, self.gxt.T)
        if self.block is not None:  # [dW | db] = up^T @ x_aug^T in one product
            offered = dests[1] is not None and dests[2] is not None
            target = self.grad_block if offered else self.gblock
            src.emit(f"{self.mm}({upt}, {c(self.xa.T, 'xat')}, out={c(target, 'gblock')})")
            grads[1] = (c(target[:, :-1], "gw"), offered, target[:, :-1])
            grads[2] = (c(target[:, -1], "gb"), offered, target[:, -1])
            return grads
        if self.gw is not None:  # dW = up^T @ x, into a C-ordered array
            dest = dests[1] if dests[1] is not None and dests[1].flags.c_contiguous else self.gw
            x = c(self.x_array, "x") if self.x_array is not None else self.x
            src.emit(f"{self.mm}({upt}, {x}, out={c(dest, 'gw')})")
            grads[1] = (c(dest, "gw"), dest is dests[1], dest)
        if self.gb is not None:
            dest = _contiguous(dests[2], self.gb)
            src.emit(f"_dot({upt}, {c(self.ones, 'ones')}, out={c(dest, 'gb')})")
            grads[2] = (c(dest, "gb"), dest is dests[2], dest)
        return grads


def labels_dtype(plan: Plan, i: int) -> np.dtype | None:
    """The dtype of node ``i``'s labels (its second argument) when the caller passes
    them on every step; None for labels fixed in the graph (checked when traced)."""
    kind, k = plan.specs[i][1]
    return plan.arrays[k].dtype if kind == INPUT else None


def emit_label_check(src: Source, op: str, scores: str, labels: str, dtype: np.dtype,
                     classes: str) -> None:
    """Check the labels' range as the eager loss does; viewed as unsigned, a negative
    label is huge, so one maximum finds both ends (``check_labels`` then names the bad
    one)."""
    unsigned = src.const(np.dtype(f"u{dtype.itemsize}"), "unsigned")
    src.emit(f"if _max_reduce({labels}.view({unsigned}), None) >= {classes}: "
             f"_check_labels({op!r}, {scores}, {labels})")


class LabelledReplay(GenericKernel):
    """A loss over ``(scores, labels, ...)`` replayed by its own forward and backward,
    with the labels' range checked first on every call; ``op`` names the loss."""

    __slots__ = ("labels_dtype",)
    op = "loss"

    def __init__(self, plan: Plan, i: int) -> None:
        super().__init__(plan, i)
        self.labels_dtype = labels_dtype(plan, i)

    def emit_forward(self, src: Source, args: list[str], i: int) -> str:
        if self.labels_dtype is not None:
            emit_label_check(src, self.op, args[0], args[1], self.labels_dtype,
                             f"{args[0]}.shape[1]")
        return super().emit_forward(src, args, i)


class CrossEntropyReplay(LabelledReplay):
    """The softmax loss where its kernel does not fit (``reduction='none'``)."""

    __slots__ = ()
    op = "cross_entropy"


class MulticlassHingeReplay(LabelledReplay):
    """The multiclass SVM loss."""

    __slots__ = ()
    op = "multiclass_hinge_loss"


class ScoresLossKernel(Kernel):
    """What the softmax and SVM loss kernels share: scores ``(N, C)`` (or their column
    layout ``(C, N)``), labels checked on every replay, each true class's score found by
    its flat index, the per-example losses summed with ``scales`` (``1/N`` for the mean),
    and a ``grad`` buffer in the scores' layout."""

    __slots__ = ("classes", "col", "flat", "grad", "labels_dtype", "n", "ones", "rows",
                 "s_array", "scale", "scales")
    buffered = True

    def __init__(self, plan: Plan, i: int, scores: np.ndarray, reduction: str) -> None:
        super().__init__(plan, i)  # value None: the loss is a new scalar on every call
        producer = plan.producer(i)
        self.s_array = producer.value if producer is not None else None
        self.labels_dtype = labels_dtype(plan, i)
        n, c = scores.shape
        self.n, self.classes = n, c
        self.col = transposed(self.s_array)
        self.grad = np.empty((c, n) if self.col else (n, c), dtype=scores.dtype)
        self.ones = np.ones(c, dtype=scores.dtype)  # sums over the classes as one BLAS call
        self.scale = 1.0 / n if reduction == "mean" else 1.0
        self.scales = np.full(n, self.scale, dtype=scores.dtype)
        # Flat index of each true class: row * C + y (rows) or y * N + column (columns).
        self.rows = np.arange(n) if self.col else np.arange(0, n * c, c)
        self.flat = np.empty(n, dtype=np.intp)


def emit_scale(src: Source, up: str, i: int, seed: bool, scale: float) -> str:
    """The factor of a loss's gradient: ``scale`` where the loss is the root (upstream 1),
    else ``upstream * scale``, computed once into ``c{i}``."""
    if seed:
        return repr(scale)
    src.emit(f"c{i} = float({up}) * {scale!r}")
    return f"c{i}"


class CrossEntropyKernel(ScoresLossKernel):
    """Softmax loss with buffers for the shifted scores, exponentials and the gradient.

    ``L_i = log(sum_j e^{s_j - m}) - (s_y - m)`` with ``m`` the row maximum, and backward
    ``(e / z - onehot) * upstream * scale``. With scores in the column layout
    ``(C, N)`` every reduction over the classes runs down contiguous rows.
    """

    __slots__ = ("dtype", "e", "logz", "m", "picked", "ratio", "shift", "z")
    fallback = CrossEntropyReplay

    @classmethod
    def accepts(cls, plan: Plan, i: int) -> bool:
        """Scores ``(N, C)`` and a mean or a sum over the batch."""
        scores, _, reduction = plan.values(i)
        return reduction in ("mean", "sum") and scores.ndim == 2

    def __init__(self, plan: Plan, i: int) -> None:
        scores, _, reduction = plan.values(i)
        super().__init__(plan, i, scores, reduction)
        n, dtype = self.n, scores.dtype
        self.dtype = dtype
        shape = self.grad.shape
        self.shift = np.empty(shape, dtype=dtype)
        self.e = np.empty(shape, dtype=dtype)
        self.m = np.empty(n if self.col else (n, 1), dtype=dtype)
        self.z = np.empty(n, dtype=dtype)
        self.logz = np.empty(n, dtype=dtype)
        self.picked = np.empty(n, dtype=dtype)
        self.ratio = np.empty(n if self.col else (n, 1), dtype=dtype)

    def describe(self) -> str:
        return "softmax loss, columns" if self.col else "softmax loss, rows"

    def emit_forward(self, src: Source, args: list[str], i: int) -> str:
        c = src.const
        s, y = args[0], args[1]
        if self.labels_dtype is not None:
            emit_label_check(src, "cross_entropy", s, y, self.labels_dtype, str(self.classes))
        flat, rows, m = c(self.flat, "flat"), c(self.rows, "rows"), c(self.m, "m")
        shift, e, z = c(self.shift, "shift"), c(self.e, "e"), c(self.z, "z")
        logz, picked = c(self.logz, "logz"), c(self.picked, "picked")
        if self.col:
            s = c(self.s_array.T, "st")
            src.emit(f"_multiply({y}, {self.n}, out={flat})")
            src.emit(f"_add({flat}, {rows}, out={flat})")
            src.emit(f"_max_reduce({s}, 0, None, {m})")
            src.emit(f"_subtract({s}, {m}, out={shift})")
            src.emit(f"_exp({shift}, out={e})")
            src.emit(f"_dot({c(self.ones, 'ones')}, {e}, out={z})")
        else:
            src.emit(f"_add({rows}, {y}, out={flat})")
            src.emit(f"_max_reduce({s}, 1, None, {m}, True)")
            src.emit(f"_subtract({s}, {m}, out={shift})")
            src.emit(f"_exp({shift}, out={e})")
            src.emit(f"_dot({e}, {c(self.ones, 'ones')}, out={z})")
        src.emit(f"_log({z}, out={logz})")
        src.emit(f"{shift}.take({flat}, None, {picked})")
        src.emit(f"_subtract({logz}, {picked}, out={logz})")
        src.emit(f"v{i} = _dot({logz}, {c(self.scales, 'scales')})")
        return f"v{i}"

    def emit_backward(self, src: Source, up: str, i: int, seed: bool,
                      up_array: np.ndarray | None, dests: list) -> list:
        c = src.const
        scale = emit_scale(src, up, i, seed, self.scale)
        grad, ratio = c(self.grad, "grad"), c(self.ratio, "ratio")
        z = c(self.z if self.col else self.z[:, None], "z")
        src.emit(f"_divide({scale}, {z}, out={ratio})")
        src.emit(f"_multiply({c(self.e, 'e')}, {ratio}, out={grad})")
        src.emit(f"{c(self.grad.reshape(-1), 'gflat')}[{c(self.flat, 'flat')}] -= {scale}")
        value = self.grad.T if self.col else self.grad
        return [(c(value, "g"), False, value), None, None]
