"""Small helpers shared by the ops.

Backward functions that support second derivatives are written once for two kinds of
values: arrays (the fast first-order pass, on any device) and Tensors
(``create_graph=True``). Operators (``* / @ .T``) already work on both, and so do
``backend.reshape``, ``backend.sum``, ``backend.permute_dims`` and ``backend.astype``;
the functions below cover the few other calls.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from chainrule import backend
from chainrule._tensor import Tensor
from chainrule.errors import ShapeError
from chainrule.function import Function


class Gate(Function):
    """A built-in op: its backward also runs on Tensors and returns new arrays."""

    differentiable_backward = True
    fresh_gradients = True


class UnaryGate(Gate):
    """A gate of one operand ``x``; its other arguments are parameters."""

    operands = ("x",)


class ElementwiseGate(UnaryGate):
    """A gate applied to each element of ``x`` on its own."""

    elementwise = True


def exp(a: Any) -> Any:
    return a.exp() if isinstance(a, Tensor) else backend.namespace(a).exp(a)


def log(a: Any) -> Any:
    return a.log() if isinstance(a, Tensor) else backend.namespace(a).log(a)


def sin(a: Any) -> Any:
    return a.sin() if isinstance(a, Tensor) else backend.namespace(a).sin(a)


def cos(a: Any) -> Any:
    return a.cos() if isinstance(a, Tensor) else backend.namespace(a).cos(a)


def expand(a: Any, shape: tuple) -> Any:
    """Copy ``a`` along its broadcast axes to ``shape``.

    For arrays the result is a new array (one allocation, cheaper than NumPy's
    ``broadcast_to`` view, and ready to become a leaf's ``.grad`` without a copy).
    """
    if isinstance(a, Tensor):
        return a.broadcast_to(shape)
    out = backend.namespace(a).empty(shape, dtype=a.dtype, device=a.device)
    out[...] = a
    return out


def swap_last(a: Any) -> Any:
    """Transpose the last two axes (the matrix transpose of a batch)."""
    if a.ndim == 2:
        return a.T
    if isinstance(a, Tensor):
        axes = list(range(a.ndim))
        axes[-1], axes[-2] = axes[-2], axes[-1]
        return a.transpose(axes)
    return backend.namespace(a).matrix_transpose(a)


def normalize_axis(axis: Any, ndim: int, op: str) -> tuple[int, ...]:
    """Axes as a sorted tuple of non-negative ints; ``None`` means all axes."""
    if axis is None:
        return tuple(range(ndim))
    if type(axis) is int and -ndim <= axis < ndim:  # the common case, fast
        return (axis % ndim,)
    axes = (axis,) if hasattr(axis, "__index__") else tuple(axis)
    out = []
    for a in axes:
        a = int(a)
        if not -ndim <= a < max(ndim, 1):
            raise ShapeError(f"{op}: axis {a} is out of range for a tensor with {ndim} dimensions")
        out.append(a % ndim if ndim else 0)
    return tuple(sorted(set(out)))


def keepdims_shape(shape: tuple, axes: tuple) -> tuple:
    return tuple(1 if i in axes else n for i, n in enumerate(shape))


def operand(other: Any, like: Tensor) -> Any:
    """Bring the other operand of a binary op into a form that keeps ``like``'s dtype.

    Python numbers stay Python numbers (NumPy then keeps the tensor's float32); NumPy
    scalars become Python numbers; arrays and lists of another float type are cast to the
    tensor's float type, so ``float32_tensor * float64_array`` stays float32. An integer or
    boolean tensor with a floating one takes its type, as in PyTorch
    (``x.unsqueeze(-1).pow(cr.tensor([1, 2, 3]))`` stays float32). A constant array goes
    to ``like``'s device; an array of another library becomes a Tensor (so the op names
    both devices).
    """
    t = type(other)
    if t is float or t is int:
        return other
    if t is Tensor or isinstance(other, Tensor):
        theirs, ours = other.data.dtype, like.data.dtype
        kinds = getattr(theirs, "kind", None), getattr(ours, "kind", None)
        if None in kinds:  # array_api_strict's dtypes: NumPy's names for them
            kinds = backend.numpy_dtype(theirs).kind, backend.numpy_dtype(ours).kind
        if kinds[0] in "iub" and kinds[1] == "f":
            return backend.astype(other.data, ours)
        return other
    if backend.is_numpy_scalar(other):
        return other.item()
    if t is bool:
        return int(other)
    data = like.data
    if backend.is_device_array(other) and backend.device_of(other) != backend.device_of(data):
        return Tensor._from_op(other, None)
    arr = backend.asarray(other, like=data)
    kind = backend.numpy_dtype(arr.dtype).kind
    if kind == "O":
        raise TypeError(f"unsupported operand of type {t.__name__} for a chainrule op")
    if like.dtype.kind == "f" and arr.dtype != data.dtype and kind in "fiub":
        arr = backend.astype(arr, data.dtype)
    return arr


def as_tensor(x: Any) -> Tensor:
    """Tensor arguments pass through; anything else becomes a constant tensor."""
    return x if isinstance(x, Tensor) else Tensor(x)


def raw(x: Any) -> Any:
    return x.data if isinstance(x, Tensor) else x


# How gates are written: the explainer's labels and rules use the same text.
def one_constant(constants: Mapping[int, float]) -> tuple[int, float] | None:
    """``(position, value)`` of a gate's only number operand, or None (see ``gate_label``)."""
    return next(iter(constants.items())) if len(constants) == 1 else None


def number_text(c: float) -> str:
    """A constant as a gate label writes it: ``2``, ``-1``, ``0.5``."""
    return str(int(c)) if math.isfinite(c) and c == int(c) and abs(c) < 1e15 else f"{c:g}"


def shape_text(shape: tuple) -> str:
    """A shape in words: ``scalar``, ``(3,)``, ``(2, 3)``."""
    if shape == ():
        return "scalar"
    return "(" + ", ".join(str(n) for n in shape) + ("," if len(shape) == 1 else "") + ")"
