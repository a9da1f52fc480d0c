"""Losses computed from scores, each one node with a fused forward and backward.

``reduction`` is ``'mean'`` (over the batch), ``'sum'`` or ``'none'`` (one loss per example).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from chainrule import backend
from chainrule._tensor import Tensor
from chainrule.errors import ShapeError
from chainrule.function import Context
from chainrule.ops._common import Gate, exp, operand, raw

_REDUCTIONS = ("mean", "sum", "none")


def _check_reduction(op: str, reduction: str) -> None:
    if reduction not in _REDUCTIONS:
        raise ValueError(f"{op}: reduction must be one of {_REDUCTIONS}, got {reduction!r}")


def check_labels(op: str, scores: Any, labels: Any) -> Any:
    """Class indices for ``scores`` of shape ``(N, C)``: integers of shape ``(N,)`` in
    ``[0, C)`` on the scores' device, else an error naming ``op`` (a compiled step calls
    it on every replay).

    >>> check_labels("cross_entropy", np.zeros((2, 3)), [0, 2])
    array([0, 2])
    """
    y = raw(labels)
    if type(y) is not type(scores):  # lists, NumPy labels for a tensor on a GPU, ...
        y = backend.asarray(y, like=scores)
    dtype = y.dtype if type(y) is backend.NUMPY_TYPES[0] else backend.numpy_dtype(y.dtype)
    if dtype.kind not in "iu":
        raise TypeError(f"{op}: labels must be integers (class indices), got dtype {dtype}")
    if scores.ndim != 2 or y.shape != (scores.shape[0],):
        raise ShapeError(
            f"{op}: scores of shape {scores.shape} need labels of shape ({scores.shape[0]},) "
            f"with scores (N, C); got labels of shape {tuple(y.shape)}"
        )
    xp = backend.namespace(y)
    # Both tests combined where the labels are, so a GPU is waited for once per call.
    if y.size and bool((xp.min(y) < 0) | (xp.max(y) >= scores.shape[1])):
        bad = y[(y < 0) | (y >= scores.shape[1])][0]
        raise IndexError(f"{op}: label {int(bad)} is out of range for {scores.shape[1]} classes")
    return y


def _scale(upstream: Any, reduction: str, n: int) -> Any:
    """Per-example weight of the upstream gradient, shaped (N, 1)."""
    if reduction == "none":
        return backend.reshape(upstream, (n, 1))
    if reduction == "mean":
        return upstream * (1.0 / n)
    return upstream


def _reduce(per_example: Any, reduction: str, xp: Any) -> Any:
    """The per-example losses reduced as ``reduction`` says (``xp``: their namespace)."""
    if reduction == "none":
        return per_example
    total = xp.sum(per_example)
    if reduction == "mean":  # NumPy's mean divides the same sum by the count; this skips
        total = total / per_example.size  # its Python wrapper (microseconds per call)
    return total if total.dtype == per_example.dtype else backend.astype(total, per_example.dtype)


class CrossEntropy(Gate):
    """Softmax loss ``L_i = -log(e^{s_y} / sum_j e^{s_j})``, fused with its gradient.

    Backward: ``(softmax(s) - onehot(y)) * upstream`` (divided by N for the mean).
    """

    symbol = "softmax loss"
    kernel = "chainrule.compiler.kernels:CrossEntropyKernel"
    operands = ("scores",)
    parameters = ("labels", "reduction")

    @classmethod
    def local_rule(cls, k: int, inputs: Sequence[Any], output: Any) -> str:
        return "softmax(s) - onehot(y) (/N for the mean)"

    @staticmethod
    def forward(ctx: Context, scores: Any, labels: Any, reduction: str) -> Any:
        xp = backend.namespace(scores)
        shifted = scores - xp.max(scores, axis=1, keepdims=True)
        e = xp.exp(shifted)
        norm = xp.sum(e, axis=1)
        # L_i = log(sum_j e^{s_j - m}) - (s_y - m): only the label's log-probability is needed.
        rows = xp.arange(scores.shape[0], device=scores.device)  # the row of each label
        per_example = xp.log(norm) - shifted[rows, labels]
        e /= norm[:, None]  # the softmax probabilities, kept for backward
        ctx.save_for_backward(scores, e)
        ctx.labels, ctx.reduction, ctx.rows = labels, reduction, rows
        return _reduce(per_example, reduction, xp)

    @staticmethod
    def backward(ctx: Context, upstream: Any) -> tuple:
        scores, probs = ctx.saved_tensors
        labels, n = ctx.labels, scores.shape[0]
        if isinstance(upstream, Tensor):  # differentiable: softmax on the graph
            from chainrule.ops.activation import log_softmax

            data = raw(scores)
            xp = backend.namespace(data)
            onehot = xp.zeros(data.shape, dtype=data.dtype, device=data.device)
            backend.put(onehot, (ctx.rows, labels), 1.0)
            grad = exp(log_softmax(scores, 1)) - onehot
            return grad * _scale(upstream, ctx.reduction, n), None, None
        # A copy: saved values stay intact for a retain_graph=True backward.
        grad = backend.copy(probs)
        backend.scatter_add(grad, (ctx.rows, labels), -1.0, unique=True)
        grad *= _scale(upstream, ctx.reduction, n)
        return grad, None, None


class MulticlassHinge(Gate):
    """The lecture's SVM loss ``L_i = sum_{j != y_i} max(0, s_j - s_{y_i} + margin)``.

    Backward: each violating class j gets +1, the true class gets minus the count.
    """

    symbol = "SVM loss"
    kernel = "chainrule.compiler.loss_kernels:MulticlassHingeKernel"
    operands = ("scores",)
    parameters = ("labels", "margin", "reduction")

    @classmethod
    def local_rule(cls, k: int, inputs: Sequence[Any], output: Any) -> str:
        return "+1 per violating class, minus their count at the true class"

    @staticmethod
    def forward(ctx: Context, scores: Any, labels: Any, margin: float, reduction: str) -> Any:
        n = scores.shape[0]
        xp = backend.namespace(scores)
        rows = xp.arange(n, device=scores.device)
        margins = scores - scores[rows, labels][:, None] + margin
        backend.into(margins, "maximum", margins, 0)
        backend.put(margins, (rows, labels), 0.0)
        per_example = xp.sum(margins, axis=1)
        local = backend.astype(margins > 0, scores.dtype)
        backend.put(local, (rows, labels), -xp.sum(local, axis=1))
        ctx.local, ctx.reduction, ctx.n = local, reduction, n
        return _reduce(per_example, reduction, xp)

    @staticmethod
    def backward(ctx: Context, upstream: Any) -> tuple:
        return _scale(upstream, ctx.reduction, ctx.n) * ctx.local, None, None, None


class _Regression(Gate):
    """What the regression losses share: a prediction against a target."""

    operands = ("pred",)
    parameters = ("target", "reduction")

    @classmethod
    def local_rule(cls, k: int, inputs: Sequence[Any], output: Any) -> str:
        return "pred - target, scaled"


class MSE(_Regression):
    """PyTorch's ``mse_loss``: the mean of squared differences over all elements."""

    symbol = "MSE"
    kernel = "chainrule.compiler.loss_kernels:MSEKernel"

    @staticmethod
    def forward(ctx: Context, pred: Any, target: Any, reduction: str) -> Any:
        diff = pred - target
        ctx.save_for_backward(pred, target)
        ctx.reduction = reduction
        return _reduce(diff * diff, reduction, backend.namespace(diff))

    @staticmethod
    def backward(ctx: Context, upstream: Any) -> tuple:
        pred, target = ctx.saved_tensors
        diff = pred - target
        if ctx.reduction == "mean":
            g = diff * (upstream * (2.0 / diff.size))
        else:
            g = diff * (upstream * 2.0)
        need_p, need_t = ctx.needs_input_grad[:2]
        return (g if need_p else None), (-g if need_t else None), None


class L2(_Regression):
    """The lecture's ``1/2 ||pred - target||^2`` per example (summed over outputs).

    ``reduction='mean'`` averages over the batch (axis 0).
    """

    symbol = "L2 loss"

    @staticmethod
    def forward(ctx: Context, pred: Any, target: Any, reduction: str) -> Any:
        diff = pred - target
        ctx.save_for_backward(pred, target)
        ctx.reduction = reduction
        n = diff.shape[0] if diff.ndim else 1
        xp = backend.namespace(diff)
        per_example = 0.5 * xp.sum(xp.reshape(diff * diff, (n, -1)), axis=1)
        return _reduce(backend.astype(per_example, diff.dtype, copy=False), reduction, xp)

    @staticmethod
    def backward(ctx: Context, upstream: Any) -> tuple:
        pred, target = ctx.saved_tensors
        diff = pred - target
        n = diff.shape[0] if diff.ndim else 1
        if ctx.reduction == "none":
            g = diff * backend.reshape(upstream, (n,) + (1,) * (diff.ndim - 1))
        elif ctx.reduction == "mean":
            g = diff * (upstream * (1.0 / n))
        else:
            g = diff * upstream
        need_p, need_t = ctx.needs_input_grad[:2]
        return (g if need_p else None), (-g if need_t else None), None


def _scores(op: str, scores: Any, labels: Any) -> tuple:
    if not isinstance(scores, Tensor):
        scores = Tensor(scores)
    y = check_labels(op, scores.data, labels)
    return scores, y


def cross_entropy(scores: Tensor, labels: Any, reduction: str = "mean") -> Tensor:
    """Softmax (cross-entropy) loss from raw class scores ``(N, C)`` and labels ``(N,)``.

    >>> F.cross_entropy(cr.tensor([[3.2, 5.1, -1.7]]), [0])   # the lecture's cat: 2.04
    """
    _check_reduction("cross_entropy", reduction)
    scores, y = _scores("cross_entropy", scores, labels)
    return CrossEntropy.apply(scores, y, reduction)


def multiclass_hinge_loss(
    scores: Tensor, labels: Any, margin: float = 1.0, reduction: str = "mean"
) -> Tensor:
    """Multiclass SVM loss ``sum_{j != y} max(0, s_j - s_y + margin)``, mean over the batch."""
    _check_reduction("multiclass_hinge_loss", reduction)
    scores, y = _scores("multiclass_hinge_loss", scores, labels)
    return MulticlassHinge.apply(scores, y, float(margin), reduction)


def _pair(op: str, pred: Any, target: Any) -> tuple:
    if not isinstance(pred, Tensor):
        pred = Tensor(pred)
    target = operand(target, pred)
    tshape = tuple(getattr(raw(target), "shape", ()))
    if tshape != pred.shape:
        raise ShapeError(
            f"{op}: prediction of shape {pred.shape} and target of shape {tshape} differ"
        )
    return pred, target


def mse_loss(pred: Tensor, target: Any, reduction: str = "mean") -> Tensor:
    """Mean of ``(pred - target)^2`` over all elements (PyTorch's ``mse_loss``)."""
    _check_reduction("mse_loss", reduction)
    pred, target = _pair("mse_loss", pred, target)
    return MSE.apply(pred, target, reduction)


def l2_loss(pred: Tensor, target: Any, reduction: str = "mean") -> Tensor:
    """``1/2 ||pred - target||^2`` summed over outputs, averaged over the batch."""
    _check_reduction("l2_loss", reduction)
    pred, target = _pair("l2_loss", pred, target)
    return L2.apply(pred, target, reduction)
