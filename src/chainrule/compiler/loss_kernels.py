"""The multiclass SVM (hinge) loss and the mean squared error as kernels with their own
buffers.

The lecture's SVM loss and its gradient, as NumPy calls into arrays allocated once::

    margins = max(0, s - s_y + margin), 0 at the true class      L = scale * sum(margins)
    ds_j = scale * [margin_j > 0]       ds_y = -scale * (number of violating classes)

(``scale = 1/N`` for the mean). With scores in the column layout ``(C, N)`` of a small
last layer, the sums over the classes run down contiguous rows, as in the softmax
kernel (:class:`~chainrule.compiler.kernels.CrossEntropyKernel`). Labels are checked on
every replay, as the eager loss checks them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from chainrule.compiler.kernel import Kernel
from chainrule.compiler.kernels import (
    MulticlassHingeReplay,
    ScoresLossKernel,
    emit_label_check,
    emit_scale,
)

if TYPE_CHECKING:
    from chainrule.compiler.codegen import Source
    from chainrule.compiler.plan import Plan

__all__ = ["MSEKernel", "MulticlassHingeKernel"]


class MulticlassHingeKernel(ScoresLossKernel):
    """``sum_{j != y} max(0, s_j - s_y + margin)`` over the batch, mean or sum."""

    __slots__ = ("count", "margin", "margins", "per_example", "picked")
    fallback = MulticlassHingeReplay

    @classmethod
    def accepts(cls, plan: Plan, i: int) -> bool:
        """Scores ``(N, C)`` and a mean or a sum over the batch."""
        scores, _, _, reduction = plan.values(i)
        return reduction in ("mean", "sum") and scores.ndim == 2

    def __init__(self, plan: Plan, i: int) -> None:
        scores, _, margin, reduction = plan.values(i)
        super().__init__(plan, i, scores, reduction)
        n, dtype = self.n, scores.dtype
        self.margin = float(margin)
        self.margins = np.empty(self.grad.shape, dtype=dtype)
        self.picked = np.empty(n, dtype=dtype)
        self.per_example = np.empty(n, dtype=dtype)
        self.count = np.empty(n, dtype=dtype)

    def describe(self) -> str:
        return "SVM loss, columns" if self.col else "SVM loss, rows"

    def emit_forward(self, src: Source, args: list[str], i: int) -> str:
        c = src.const
        s, y = args[0], args[1]
        if self.labels_dtype is not None:
            emit_label_check(src, "multiclass_hinge_loss", s, y, self.labels_dtype,
                             str(self.classes))
        flat, rows = c(self.flat, "flat"), c(self.rows, "rows")
        margins, picked = c(self.margins, "margins"), c(self.picked, "picked")
        per_example, ones = c(self.per_example, "per_example"), c(self.ones, "ones")
        if self.col:
            s = c(self.s_array.T, "st")
            src.emit(f"_multiply({y}, {self.n}, out={flat})")
            src.emit(f"_add({flat}, {rows}, out={flat})")
            src.emit(f"{s}.take({flat}, None, {picked})")
            src.emit(f"_subtract({s}, {picked}, out={margins})")
        else:
            src.emit(f"_add({rows}, {y}, out={flat})")
            src.emit(f"{s}.take({flat}, None, {picked})")
            src.emit(f"_subtract({s}, {c(self.picked[:, None], 'picked')}, out={margins})")
        src.emit(f"_add({margins}, {self.margin!r}, out={margins})")
        src.emit(f"_maximum({margins}, 0, out={margins})")
        src.emit(f"{c(self.margins.reshape(-1), 'mflat')}[{flat}] = 0")
        if self.col:
            src.emit(f"_dot({ones}, {margins}, out={per_example})")
        else:
            src.emit(f"_dot({margins}, {ones}, out={per_example})")
        src.emit(f"v{i} = _dot({per_example}, {c(self.scales, 'scales')})")
        return f"v{i}"

    def emit_backward(self, src: Source, up: str, i: int, seed: bool,
                      up_array: np.ndarray | None, dests: list) -> list:
        c = src.const
        scale = emit_scale(src, up, i, seed, self.scale)
        grad, count, ones = c(self.grad, "grad"), c(self.count, "count"), c(self.ones, "ones")
        src.emit(f"_greater({c(self.margins, 'margins')}, 0, out={grad})")
        if self.col:
            src.emit(f"_dot({ones}, {grad}, out={count})")
        else:
            src.emit(f"_dot({grad}, {ones}, out={count})")
        src.emit(f"_multiply({grad}, {scale}, out={grad})")
        src.emit(f"_multiply({count}, -{scale}, out={count})")
        src.emit(f"{c(self.grad.reshape(-1), 'gflat')}[{c(self.flat, 'flat')}] = {count}")
        value = self.grad.T if self.col else self.grad
        return [(c(value, "g"), False, value), None, None, None]


class MSEKernel(Kernel):
    """PyTorch's mean squared error ``mean((pred - target)^2)`` (or the sum), the
    playground's regression loss: backward ``2 (pred - target) / size`` (without the
    ``/ size`` for the sum), and its negative for a target that needs a gradient."""

    __slots__ = ("diff", "grad", "mean", "neg", "scale", "sq")
    buffered = True

    @classmethod
    def accepts(cls, plan: Plan, i: int) -> bool:
        """Prediction and target arrays of one shape and floating dtype; mean or sum."""
        pred, target, reduction = plan.values(i)
        return (reduction in ("mean", "sum") and isinstance(target, np.ndarray)
                and pred.shape == target.shape and pred.dtype == target.dtype
                and pred.dtype.kind == "f")

    def __init__(self, plan: Plan, i: int) -> None:
        super().__init__(plan, i)
        pred, _, reduction = plan.values(i)
        self.diff, self.sq, self.grad = (np.empty(pred.shape, pred.dtype) for _ in range(3))
        self.neg = np.empty(pred.shape, pred.dtype) if plan.needs[i][1] else None
        self.mean = reduction == "mean"
        self.scale = 2.0 / pred.size if self.mean else 2.0

    def describe(self) -> str:
        return "mean squared error" if self.mean else "squared error, summed"

    def emit_forward(self, src: Source, args: list[str], i: int) -> str:
        c = src.const
        diff, sq = c(self.diff, "diff"), c(self.sq, "sq")
        src.emit(f"_subtract({args[0]}, {args[1]}, out={diff})")
        src.emit(f"_multiply({diff}, {diff}, out={sq})")
        total = f"_add_reduce({sq}, None)"
        src.emit(f"v{i} = {total} / {self.diff.size}" if self.mean else f"v{i} = {total}")
        return f"v{i}"

    def emit_backward(self, src: Source, up: str, i: int, seed: bool,
                      up_array: np.ndarray | None, dests: list) -> list:
        c = src.const
        scale = emit_scale(src, up, i, seed, self.scale)
        grad = c(self.grad, "grad")
        src.emit(f"_multiply({c(self.diff, 'diff')}, {scale}, out={grad})")
        grads: list = [(grad, False, self.grad), None, None]
        if self.neg is not None:
            neg = c(self.neg, "neg")
            src.emit(f"_negative({grad}, out={neg})")
            grads[1] = (neg, False, self.neg)
        return grads
