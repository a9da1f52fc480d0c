"""Tensor: an array, its gradient, and the graph node that made it.

Floating data is float32 unless float64 is asked for (``dtype=``); integer and boolean
arrays (labels, masks) keep their type and cannot require gradients. Operators delegate
to the ops in :mod:`chainrule.ops`, each a :class:`chainrule.Function`. The array is a
NumPy array on the CPU and a CuPy array on a GPU (``device=``, ``.to()``; see
:mod:`chainrule.backend`); a tensor made from a CuPy (or ``array_api_strict``) array
stays where that array is.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np

from chainrule import backend
from chainrule.devices import CPU, Device, is_device_name

__all__ = ["Tensor"]

DEFAULT_FLOAT = np.dtype(np.float32)
_FLOAT_KINDS = "f"


def _as_dtype(dtype: Any) -> np.dtype | None:
    if dtype is None:
        return None
    if isinstance(dtype, str) and dtype in ("float", "float32"):
        return np.dtype(np.float32)
    return backend.numpy_dtype(dtype)


def _to_array(data: Any, dtype: Any = None) -> np.ndarray:
    """Convert ``data`` to an array: floats default to float32, integers stay integers."""
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
        if arr.dtype != DEFAULT_FLOAT:
            arr = arr.astype(DEFAULT_FLOAT)
    elif kind in "iub":
        pass
    elif kind == "O":
        raise TypeError(f"tensor: cannot make a tensor from {type(data).__name__} data")
    elif kind == "c":
        raise TypeError("tensor: complex numbers are not supported")
    return arr


def _device_array(data: Any, dtype: Any) -> Any:
    """A CuPy (or ``array_api_strict``) array by :func:`_to_array`'s dtype rule, where it is."""
    have = backend.numpy_dtype(data.dtype)
    want = _as_dtype(dtype)
    if want is None and have.kind == "f":
        want = DEFAULT_FLOAT
    elif want is None and have.kind == "c":
        raise TypeError("tensor: complex numbers are not supported")
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
        """This tensor on ``device`` and/or in ``dtype``: ``t.to('cuda')``, ``t.to('float64')``,
        ``t.to('cpu', 'float64')``. Part of the graph: the gradient flows back to where the
        tensor came from. Returns the tensor itself when nothing changes.

        >>> cr.tensor([1.0, 2.0]).to("float64").dtype
        dtype('float64')
        """
        for a in args:
            if is_device_name(a):
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
        if self.dtype != DEFAULT_FLOAT and self.dtype.kind == "f":
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
    def sum(self, axis: Any = None, keepdims: bool = False) -> Tensor:
        return _ops.sum(self, axis, keepdims)

    def mean(self, axis: Any = None, keepdims: bool = False) -> Tensor:
        return _ops.mean(self, axis, keepdims)

    def max(self, axis: Any = None, keepdims: bool = False) -> Tensor:
        return _ops.max(self, axis, keepdims)

    def min(self, axis: Any = None, keepdims: bool = False) -> Tensor:
        return _ops.min(self, axis, keepdims)

    def var(self, axis: Any = None, keepdims: bool = False, ddof: int = 0) -> Tensor:
        return _ops.var(self, axis, keepdims, ddof)

    def std(self, axis: Any = None, keepdims: bool = False, ddof: int = 0) -> Tensor:
        return _ops.std(self, axis, keepdims, ddof)

    def logsumexp(self, axis: Any = None, keepdims: bool = False) -> Tensor:
        return _ops.logsumexp(self, axis, keepdims)

    def argmax(self, axis: Any = None, keepdims: bool = False) -> Tensor:
        xp = backend.namespace(self.data)
        return Tensor._from_op(xp.argmax(self.data, axis=axis, keepdims=keepdims), None)

    def argmin(self, axis: Any = None, keepdims: bool = False) -> Tensor:
        xp = backend.namespace(self.data)
        return Tensor._from_op(xp.argmin(self.data, axis=axis, keepdims=keepdims), None)

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
