"""Tensor: a NumPy array, its gradient, and the graph node that made it.

Dtypes follow PyTorch's rule (:mod:`chainrule.dtypes`): a NumPy array keeps its dtype,
Python numbers and lists take the default floating type (float32 unless
``cr.set_default_dtype`` says otherwise); integer and boolean arrays (labels, masks) keep
their type and cannot require gradients. Operators delegate to the ops in
:mod:`chainrule.ops`, each a :class:`chainrule.Function`.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np

from chainrule.dtypes import as_dtype as _as_dtype
from chainrule.dtypes import get_default_dtype
from chainrule.errors import ShapeError as _ShapeError

__all__ = ["Tensor"]


def _to_array(data: Any, dtype: Any = None) -> np.ndarray:
    """Convert ``data`` to an array: a NumPy array keeps its dtype, Python floats take the
    default floating type, integers stay integers."""
    if isinstance(data, Tensor):
        data = data.data
    want = _as_dtype(dtype)
    if want is not None:
        return np.asarray(data, dtype=want)
    arr = np.asarray(data)
    kind = arr.dtype.kind
    if kind == "f":
        if not isinstance(data, (np.ndarray, np.generic)) and arr.dtype != get_default_dtype():
            arr = arr.astype(get_default_dtype())
        elif arr.dtype.itemsize > 8:
            raise TypeError(f"tensor: {arr.dtype} is not supported (use float32 or float64)")
    elif kind in "iub":
        pass
    elif kind == "O":
        raise TypeError(f"tensor: cannot make a tensor from {type(data).__name__} data")
    elif kind == "c":
        raise TypeError("tensor: complex numbers are not supported")
    return arr


class Tensor:
    """An n-dimensional array that remembers how it was computed.

    >>> x = cr.tensor([1.0, -2.0, 3.0], requires_grad=True)
    >>> y = (x * x).sum()
    >>> y.backward()
    >>> x.grad            # dy/dx = 2x
    array([ 2., -4.,  6.], dtype=float32)

    ``.grad`` is a NumPy array of ``.data``'s shape, filled by ``backward()``; gradients
    *accumulate* across calls until ``zero_grad()`` (PyTorch's convention).
    ``t.graph()`` is the graph that computed ``t``, drawn by the explainer (the package
    adds it: the engine does not import the explainer).
    """

    __slots__ = ("__weakref__", "data", "grad", "grad_fn", "name", "requires_grad")

    # NumPy must hand binary operators with a Tensor on the right back to us
    # (``array * tensor`` -> ``Tensor.__rmul__``) instead of converting the tensor.
    __array_ufunc__ = None

    def __init__(self, data: Any, dtype: Any = None, requires_grad: bool = False) -> None:
        arr = _to_array(data, dtype)
        self.data = arr
        self.grad: np.ndarray | None = None
        self.grad_fn = None
        self.name: str | None = None
        self.requires_grad = False
        if requires_grad:
            self.requires_grad_(True)

    @classmethod
    def _from_op(cls, data: Any, node: Any) -> Tensor:
        """Wrap an op's output without any conversion (the hot path)."""
        t = object.__new__(cls)
        if type(data) is not np.ndarray:
            data = np.asarray(data)
        t.data = data
        t.grad = None
        t.grad_fn = node
        t.requires_grad = node is not None
        t.name = None
        return t

    # ----------------------------------------------------------------- gradients
    def requires_grad_(self, flag: bool = True) -> Tensor:
        """Mark this leaf as one whose gradient is wanted (in place)."""
        if flag and self.data.dtype.kind != "f":
            raise TypeError(
                f"only floating-point tensors can require gradients; this one is "
                f"{self.data.dtype} (integer and boolean tensors hold labels and masks). "
                "Convert it first, e.g. cr.tensor(x, dtype='float32')"
            )
        if not flag and self.grad_fn is not None:
            raise RuntimeError("requires_grad_: cannot turn gradients off for a non-leaf tensor")
        self.requires_grad = bool(flag)
        return self

    @property
    def is_leaf(self) -> bool:
        return self.grad_fn is None

    def backward(
        self, upstream: Any = None, retain_graph: bool = False, create_graph: bool = False
    ) -> None:
        """Backpropagate: add ``d self / d leaf`` into every leaf's ``.grad``.

        ``upstream`` is dLoss/dself; it may be left out only for a single-element tensor
        (then it is 1). The graph's saved values are freed afterwards unless
        ``retain_graph=True``.
        """
        _autograd.backward(self, upstream, retain_graph, create_graph)

    def retain_grad(self) -> Tensor:
        """Keep this intermediate tensor's ``.grad`` after backward (leaves always do)."""
        _autograd.retain_grad_ref(self)
        return self

    def zero_grad(self) -> None:
        """Forget the accumulated gradient."""
        self.grad = None

    def detach(self) -> Tensor:
        """The same data, cut from the graph (shares memory)."""
        return Tensor._from_op(self.data, None)

    # ----------------------------------------------------------------- array facts
    @property
    def shape(self) -> tuple[int, ...]:
        return self.data.shape

    @property
    def ndim(self) -> int:
        return self.data.ndim

    @property
    def dtype(self) -> np.dtype:
        return self.data.dtype

    @property
    def size(self) -> int:
        return self.data.size

    def numpy(self) -> np.ndarray:
        """The data as a NumPy array (no copy)."""
        return self.data

    def item(self) -> float | int | bool:
        if self.data.size != 1:
            raise ValueError(
                f"item: only one-element tensors convert to a number, not {self.shape}"
            )
        return self.data.item()

    def tolist(self) -> Any:
        return self.data.tolist()

    def astype(self, dtype: Any) -> Tensor:
        from chainrule.ops.elementwise import cast

        return cast(self, dtype)

    def to(self, *args: Any, dtype: Any = None) -> Tensor:
        """PyTorch's conversion: ``x.to(cr.float64)``, ``x.to(other)`` (its dtype) or
        ``x.to("cpu")``. The data is NumPy's, on the CPU: ``"cpu"`` is the only device.

        >>> cr.tensor([1, 2]).to(cr.float32)
        tensor([1., 2.])
        """
        for arg in args:
            if isinstance(arg, Tensor):
                dtype = arg.dtype
            elif str(arg).split(":")[0] in ("cpu", "cuda", "mps", "xpu", "meta"):
                _check_device(arg)
            else:
                dtype = arg
        return self if dtype is None else self.astype(dtype)

    def cpu(self) -> Tensor:
        """The tensor itself: chainrule's data already lives in CPU memory (NumPy)."""
        return self

    def dim(self) -> int:  # PyTorch's name for ndim
        return self.data.ndim

    def numel(self) -> int:  # PyTorch's name for size
        return self.data.size

    def float(self) -> Tensor:
        return self.astype(np.float32)

    def double(self) -> Tensor:
        return self.astype(np.float64)

    def __array__(self, dtype: Any = None, copy: Any = None) -> np.ndarray:
        if dtype is not None and dtype != self.data.dtype:
            return self.data.astype(dtype)
        return self.data

    def __len__(self) -> int:
        if self.data.ndim == 0:
            raise TypeError("len() of a 0-d tensor")
        return len(self.data)

    def __iter__(self) -> Iterator[Tensor]:
        for i in range(len(self)):
            yield self[i]

    def __bool__(self) -> bool:
        return bool(self.data)

    def __float__(self) -> float:
        return float(self.item())

    def __int__(self) -> int:
        return int(self.item())

    __hash__ = object.__hash__

    def __repr__(self) -> str:
        body = np.array2string(
            self.data, separator=", ", precision=4, threshold=50, prefix="tensor("
        )
        extras = []
        if self.data.dtype != get_default_dtype() and self.data.dtype.kind == "f":
            extras.append(f"dtype={self.data.dtype}")
        if self.grad_fn is not None:
            extras.append(f"grad_fn=<{self.grad_fn.fn.__name__}Backward>")
        elif self.requires_grad:
            extras.append("requires_grad=True")
        tail = "".join(", " + e for e in extras)
        return f"tensor({body}{tail})"

    # ----------------------------------------------------------------- operators
    def __add__(self, other: Any) -> Tensor:
        return _ops.add(self, other)

    def __radd__(self, other: Any) -> Tensor:
        return _ops.add(other, self)

    def __sub__(self, other: Any) -> Tensor:
        return _ops.sub(self, other)

    def __rsub__(self, other: Any) -> Tensor:
        return _ops.sub(other, self)

    def __mul__(self, other: Any) -> Tensor:
        return _ops.mul(self, other)

    def __rmul__(self, other: Any) -> Tensor:
        return _ops.mul(other, self)

    def __truediv__(self, other: Any) -> Tensor:
        return _ops.div(self, other)

    def __rtruediv__(self, other: Any) -> Tensor:
        return _ops.div(other, self)

    def __pow__(self, other: Any) -> Tensor:
        return _ops.pow(self, other)

    def __rpow__(self, other: Any) -> Tensor:
        return _ops.pow(other, self)

    def __matmul__(self, other: Any) -> Tensor:
        return _ops.matmul(self, other)

    def __rmatmul__(self, other: Any) -> Tensor:
        return _ops.matmul(other, self)

    def __neg__(self) -> Tensor:
        return _ops.neg(self)

    def __pos__(self) -> Tensor:
        return self

    def __abs__(self) -> Tensor:
        return _ops.abs(self)

    def __getitem__(self, index: Any) -> Tensor:
        return _ops.getitem(self, index)

    # In-place updates, PyTorch's ``with no_grad(): w -= lr * w.grad``.
    def __iadd__(self, other: Any) -> Tensor:
        return self._inplace(other, np.add, _ops.add)

    def __isub__(self, other: Any) -> Tensor:
        return self._inplace(other, np.subtract, _ops.sub)

    def __imul__(self, other: Any) -> Tensor:
        return self._inplace(other, np.multiply, _ops.mul)

    def __itruediv__(self, other: Any) -> Tensor:
        return self._inplace(other, np.divide, _ops.div)

    def _inplace(self, other: Any, ufunc: Any, op: Any) -> Tensor:
        """``x op= y`` in place when no graph records it (under ``no_grad``, or nothing
        requires a gradient); else ``x op y``, a new tensor (the graph stays right). A leaf
        that requires a gradient may change in place only under ``no_grad``, as in PyTorch."""
        other_grad = isinstance(other, Tensor) and other.requires_grad
        if (self.requires_grad or other_grad) and _autograd.is_grad_enabled():
            if self.requires_grad and self.grad_fn is None:
                raise RuntimeError(
                    "a leaf tensor that requires grad is used in an in-place operation; "
                    "update it inside `with cr.no_grad():`")
            return op(self, other)
        ufunc(self.data, _raw(other), out=self.data, casting="same_kind")
        return self

    # Comparisons give boolean tensors that carry no gradient.
    def __eq__(self, other: Any) -> Tensor:  # type: ignore[override]
        return Tensor._from_op(self.data == _raw(other), None)

    def __ne__(self, other: Any) -> Tensor:  # type: ignore[override]
        return Tensor._from_op(self.data != _raw(other), None)

    def __lt__(self, other: Any) -> Tensor:
        return Tensor._from_op(self.data < _raw(other), None)

    def __le__(self, other: Any) -> Tensor:
        return Tensor._from_op(self.data <= _raw(other), None)

    def __gt__(self, other: Any) -> Tensor:
        return Tensor._from_op(self.data > _raw(other), None)

    def __ge__(self, other: Any) -> Tensor:
        return Tensor._from_op(self.data >= _raw(other), None)

    # ----------------------------------------------------------------- methods
    # Reductions take NumPy's ``axis``/``keepdims`` or PyTorch's ``dim``/``keepdim``.
    def sum(self, axis: Any = None, keepdims: bool = False, *, dim: Any = None,
            keepdim: bool | None = None) -> Tensor:
        return _ops.sum(self, axis if dim is None else dim,
                        keepdims if keepdim is None else keepdim)

    def mean(self, axis: Any = None, keepdims: bool = False, *, dim: Any = None,
             keepdim: bool | None = None) -> Tensor:
        return _ops.mean(self, axis if dim is None else dim,
                         keepdims if keepdim is None else keepdim)

    def max(self, dim: Any = None, keepdim: bool = False, *, axis: Any = None,
            keepdims: bool | None = None) -> Any:
        """PyTorch's ``x.max(dim)``: ``(values, indices)`` along the int ``dim``; without
        one (or with NumPy's ``axis=``, or a tuple of dims) the maxima as one tensor.

        >>> cr.tensor([[1.0, 5.0], [7.0, 2.0]]).max(1)    # x.max(axis=1): tensor([5., 7.])
        ValuesIndices(values=tensor([5., 7.]), indices=tensor([1, 0]))
        """
        return self._extreme(dim, keepdim, axis, keepdims, largest=True)

    def min(self, dim: Any = None, keepdim: bool = False, *, axis: Any = None,
            keepdims: bool | None = None) -> Any:
        """Like :meth:`max`: ``(values, indices)`` along an int ``dim``, else a tensor."""
        return self._extreme(dim, keepdim, axis, keepdims, largest=False)

    def _extreme(self, dim: Any, keepdim: bool, axis: Any, keepdims: bool | None,
                 largest: bool) -> Any:
        keep = keepdim if keepdims is None else keepdims
        if isinstance(dim, (int, np.integer)) and not isinstance(dim, bool):
            if axis is not None:
                raise TypeError("max/min: give dim (PyTorch) or axis (NumPy), not both")
            return _ops.selection.extreme(self, int(dim), keep, largest)
        reduce = _ops.max if largest else _ops.min
        return reduce(self, axis if dim is None else dim, keep)

    def var(self, axis: Any = None, keepdims: bool = False, ddof: int = 0) -> Tensor:
        return _ops.var(self, axis, keepdims, ddof)

    def std(self, axis: Any = None, keepdims: bool = False, ddof: int = 0) -> Tensor:
        return _ops.std(self, axis, keepdims, ddof)

    def logsumexp(self, axis: Any = None, keepdims: bool = False) -> Tensor:
        return _ops.logsumexp(self, axis, keepdims)

    def argmax(self, axis: Any = None, keepdims: bool = False, *, dim: Any = None,
               keepdim: bool | None = None) -> Tensor:
        return _ops.argmax(self, axis if dim is None else dim,
                           keepdims if keepdim is None else keepdim)

    def argmin(self, axis: Any = None, keepdims: bool = False, *, dim: Any = None,
               keepdim: bool | None = None) -> Tensor:
        return _ops.argmin(self, axis if dim is None else dim,
                           keepdims if keepdim is None else keepdim)

    def sort(self, dim: int = -1, descending: bool = False) -> Any:
        """``(values, indices)`` sorted along ``dim`` (stable), as ``torch.sort``."""
        return _ops.sort(self, dim, descending)

    def topk(self, k: int, dim: int = -1, largest: bool = True, sorted: bool = True) -> Any:
        """``(values, indices)`` of the ``k`` largest along ``dim``, as ``torch.topk``
        (always sorted, best first)."""
        return _ops.topk(self, k, dim, largest)

    def gather(self, dim: int, index: Any) -> Tensor:
        return _ops.gather(self, dim, index)

    def exp(self) -> Tensor:
        return _ops.exp(self)

    def log(self) -> Tensor:
        return _ops.log(self)

    def sqrt(self) -> Tensor:
        return _ops.sqrt(self)

    def abs(self) -> Tensor:
        return _ops.abs(self)

    def clip(self, min: Any = None, max: Any = None) -> Tensor:
        return _ops.clip(self, min, max)

    def sin(self) -> Tensor:
        return _ops.sin(self)

    def cos(self) -> Tensor:
        return _ops.cos(self)

    def pow(self, exponent: Any) -> Tensor:
        return _ops.pow(self, exponent)

    def clamp(self, min: Any = None, max: Any = None) -> Tensor:
        """PyTorch's name for :meth:`clip`: ``x.clamp(min=0)`` is ReLU."""
        return _ops.clamp(self, min, max)

    def mm(self, other: Any) -> Tensor:
        """Matrix product of two 2-D tensors (PyTorch's ``mm``; ``@`` for any rank)."""
        return _ops.mm(self, other)

    def relu(self) -> Tensor:
        return _ops.relu(self)

    def sigmoid(self) -> Tensor:
        return _ops.sigmoid(self)

    def tanh(self) -> Tensor:
        return _ops.tanh(self)

    def reshape(self, *shape: Any) -> Tensor:
        if len(shape) == 1 and isinstance(shape[0], (tuple, list)):
            shape = tuple(shape[0])
        return _ops.reshape(self, shape)

    def view(self, *shape: Any) -> Tensor:
        return self.reshape(*shape)

    def flatten(self, start_axis: int = 0, end_axis: int = -1) -> Tensor:
        return _ops.flatten(self, start_axis, end_axis)

    def transpose(self, *axes: Any) -> Tensor:
        if len(axes) == 1 and isinstance(axes[0], (tuple, list)):
            axes = tuple(axes[0])
        return _ops.transpose(self, axes or None)

    def permute(self, *axes: Any) -> Tensor:
        return self.transpose(*axes)

    def t(self) -> Tensor:
        """The transpose of a matrix (a 0-D or 1-D tensor as it is), as PyTorch's ``t()``."""
        if self.ndim > 2:
            raise _ShapeError(f"t: expects a tensor of at most 2 dimensions, got shape "
                              f"{tuple(self.shape)} (use transpose or permute)")
        return self if self.ndim < 2 else _ops.transpose(self, None)

    @property
    def T(self) -> Tensor:
        return _ops.transpose(self, None)

    def expand(self, *shape: Any) -> Tensor:
        if len(shape) == 1 and isinstance(shape[0], (tuple, list)):
            shape = tuple(shape[0])
        return _ops.broadcast_to(self, shape)

    def broadcast_to(self, shape: tuple) -> Tensor:
        return _ops.broadcast_to(self, tuple(shape))

    def squeeze(self, axis: Any = None) -> Tensor:
        return _ops.squeeze(self, axis)

    def unsqueeze(self, axis: int) -> Tensor:
        return _ops.unsqueeze(self, axis)


def _check_device(device: Any) -> None:
    if str(device) not in ("cpu", "cpu:0"):
        raise RuntimeError(f"to: chainrule computes with NumPy on the CPU; device "
                           f"{str(device)!r} is not available")


def _raw(x: Any) -> Any:
    return x.data if isinstance(x, Tensor) else x


from chainrule import autograd as _autograd  # noqa: E402  (both need Tensor defined first)
from chainrule import ops as _ops  # noqa: E402
