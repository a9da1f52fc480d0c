"""Tensor: an array, its gradient, and the graph node that made it.

Dtypes follow PyTorch's rule (:mod:`chainrule.dtypes`): a NumPy array keeps its dtype,
Python numbers and lists take the default floating type (float32 unless
``cr.set_default_dtype`` says otherwise); integer and boolean arrays (labels, masks) keep
their type and cannot require gradients. Operators delegate to the ops in
:mod:`chainrule.ops`, each a :class:`chainrule.Function`. The array is a NumPy array on
the CPU and a CuPy array on a GPU (``device=``, ``.to()``; see :mod:`chainrule.backend`);
a tensor made from a CuPy (or ``array_api_strict``) array stays where that array is.
"""

from __future__ import annotations

import operator
from collections.abc import Iterator
from typing import Any

import numpy as np

from chainrule import backend
from chainrule.devices import CPU, Device, is_device_name
from chainrule.dtypes import as_dtype, get_default_dtype
from chainrule.errors import ShapeError as _ShapeError

__all__ = ["Tensor"]


def _as_dtype(dtype: Any) -> np.dtype | None:
    """:func:`chainrule.dtypes.as_dtype`, also for another library's dtype objects."""
    try:
        return as_dtype(dtype)
    except TypeError:  # array_api_strict's dtypes: NumPy does not know them
        return backend.numpy_dtype(dtype)


def _to_array(data: Any, dtype: Any = None) -> np.ndarray:
    """Convert ``data`` to an array: a NumPy array keeps its dtype, Python floats take the
    default floating type, integers stay integers."""
    if isinstance(data, Tensor):
        data = data.data
    if backend.is_device_array(data):
        return _device_array(data, dtype)
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


def _device_array(data: Any, dtype: Any) -> Any:
    """A CuPy (or ``array_api_strict``) array by :func:`_to_array`'s rule (an array keeps
    its dtype), where it is."""
    have = backend.numpy_dtype(data.dtype)
    want = _as_dtype(dtype)
    if want is None and have.kind == "c":
        raise TypeError("tensor: complex numbers are not supported")
    if want is None and have.kind == "f" and have.itemsize > 8:
        raise TypeError(f"tensor: {have} is not supported (use float32 or float64)")
    if want is None or want == have:
        return data
    return backend.astype(data, want)


class Tensor:
    """An n-dimensional array that remembers how it was computed.

    >>> x = cr.tensor([1.0, -2.0, 3.0], requires_grad=True)
    >>> y = (x * x).sum()
    >>> y.backward()
    >>> x.grad            # dy/dx = 2x
    array([ 2., -4.,  6.], dtype=float32)

    ``.grad`` is an array of ``.data``'s shape (and device), filled by ``backward()``;
    gradients *accumulate* across calls until ``zero_grad()`` (PyTorch's convention).
    ``.device`` says where the data lives; ``.to('cuda')`` and ``.cpu()`` move it.
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
        if type(data) is not np.ndarray and (
                isinstance(data, np.generic) or not backend.is_device_array(data)):
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
        if flag and self.dtype.kind != "f":
            raise TypeError(
                f"only floating-point tensors can require gradients; this one is "
                f"{self.dtype} (integer and boolean tensors hold labels and masks). "
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
        """The data type, as NumPy names it on every device (``dtype('float32')``)."""
        data = self.data
        return data.dtype if type(data) is np.ndarray else backend.numpy_dtype(data.dtype)

    @property
    def size(self) -> int:
        return self.data.size

    @property
    def device(self) -> Device:
        """Where the data lives: ``cpu`` (NumPy), ``cuda:N`` (CuPy), ``array_api_strict``."""
        return CPU if type(self.data) is np.ndarray else backend.device_of(self.data)

    def to(self, *args: Any, device: Any = None, dtype: Any = None) -> Tensor:
        """This tensor on ``device`` and/or in ``dtype``: ``t.to('cuda')``, ``t.to(cr.float64)``,
        ``t.to('cpu', 'float64')``, ``t.to(other)`` (other's device and dtype). Part of the
        graph: the gradient flows back to where the tensor came from. Returns the tensor
        itself when nothing changes.

        >>> cr.tensor([1, 2]).to(cr.float32)
        tensor([1., 2.])
        """
        for a in args:
            if isinstance(a, Tensor):
                device, dtype = a.device, a.dtype
            elif is_device_name(a):
                device = a
            else:
                dtype = a
        out = self
        if device is not None and not Device(device).includes(backend.device_of(self.data)):
            from chainrule.ops.device import to_device

            out = to_device(out, device)
        return out if dtype is None else out.astype(dtype)

    def cpu(self) -> Tensor:
        """This tensor on the CPU (a NumPy array); itself if it is there."""
        return self.to("cpu")

    def cuda(self, index: int | None = None) -> Tensor:
        """This tensor on GPU ``index`` (the current one by default)."""
        return self.to("cuda" if index is None else f"cuda:{index}")

    def numpy(self) -> np.ndarray:
        """The data as a NumPy array (no copy); a tensor on a GPU must be moved first."""
        if backend.is_device_array(self.data):
            raise TypeError(_host_only("numpy", self))
        return self.data

    def item(self) -> float | int | bool:
        if self.data.size != 1:
            raise ValueError(
                f"item: only one-element tensors convert to a number, not {self.shape}"
            )
        return backend.to_numpy(self.data).item()

    def tolist(self) -> Any:
        return backend.to_numpy(self.data).tolist()

    def astype(self, dtype: Any) -> Tensor:
        from chainrule.ops.elementwise import cast

        return cast(self, dtype)

    def dim(self) -> int:  # PyTorch's name for ndim
        return self.data.ndim

    def numel(self) -> int:  # PyTorch's name for size
        return self.data.size

    def float(self) -> Tensor:
        return self.astype(np.float32)

    def double(self) -> Tensor:
        return self.astype(np.float64)

    def __array__(self, dtype: Any = None, copy: Any = None) -> np.ndarray:
        if backend.is_device_array(self.data):
            raise TypeError(_host_only("__array__", self))
        if dtype is not None and dtype != self.data.dtype:
            return self.data.astype(dtype)
        return self.data

    def __len__(self) -> int:
        if self.data.ndim == 0:
            raise TypeError("len() of a 0-d tensor")
        return self.data.shape[0]

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
            backend.to_numpy(self.data), separator=", ", precision=4, threshold=50,
            prefix="tensor("
        )
        extras = []
        if backend.is_device_array(self.data):
            extras.append(f"device='{self.device}'")
        if self.dtype != get_default_dtype() and self.dtype.kind == "f":
            extras.append(f"dtype={self.dtype}")
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
        return self._inplace(other, operator.iadd, _ops.add)

    def __isub__(self, other: Any) -> Tensor:
        return self._inplace(other, operator.isub, _ops.sub)

    def __imul__(self, other: Any) -> Tensor:
        return self._inplace(other, operator.imul, _ops.mul)

    def __itruediv__(self, other: Any) -> Tensor:
        return self._inplace(other, operator.itruediv, _ops.div)

    def _inplace(self, other: Any, update: Any, op: Any) -> Tensor:
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
        update(self.data, self._other(other))  # the array's own in-place operator
        return self

    # Comparisons give boolean tensors that carry no gradient.
    def __eq__(self, other: Any) -> Tensor:  # type: ignore[override]
        return Tensor._from_op(self.data == self._other(other), None)

    def __ne__(self, other: Any) -> Tensor:  # type: ignore[override]
        return Tensor._from_op(self.data != self._other(other), None)

    def __lt__(self, other: Any) -> Tensor:
        return Tensor._from_op(self.data < self._other(other), None)

    def __le__(self, other: Any) -> Tensor:
        return Tensor._from_op(self.data <= self._other(other), None)

    def __gt__(self, other: Any) -> Tensor:
        return Tensor._from_op(self.data > self._other(other), None)

    def __ge__(self, other: Any) -> Tensor:
        return Tensor._from_op(self.data >= self._other(other), None)

    def _other(self, other: Any) -> Any:
        """The other side of a comparison: a constant goes to this tensor's device."""
        other = _raw(other)
        if type(self.data) is np.ndarray or isinstance(other, (int, float, bool)):
            return other
        return backend.asarray(other, like=self.data)

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


def _raw(x: Any) -> Any:
    return x.data if isinstance(x, Tensor) else x


def _host_only(what: str, t: Tensor) -> str:
    return (f"{what}: the tensor is on {t.device}; NumPy needs it in host memory: "
            "call .cpu() first")


from chainrule import autograd as _autograd  # noqa: E402  (both need Tensor defined first)
from chainrule import ops as _ops  # noqa: E402
