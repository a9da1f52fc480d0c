"""Array backends: the array namespace an op computes with, devices, and what the standard lacks.

``Tensor.data`` is an array of some library: NumPy on the CPU, CuPy on a GPU, and (in
the portability tests) ``array_api_strict``, the Python array API standard's reference
library, which refuses everything the standard does not define. Code above this module
computes through the array API; this module is the only place that knows the libraries.

**The convention an op follows.** Take the namespace of the inputs, ``xp =
namespace(x)``, and compute with the standard's functions: ``xp.exp(x)``,
``xp.sum(x, axis=1, keepdims=True)``, ``xp.reshape(x, shape)``, ``xp.zeros(shape,
dtype=x.dtype, device=x.device)``. Four more rules keep code portable:

* a backward that also runs on Tensors (``create_graph=True``) calls the helpers
  :func:`reshape`, :func:`sum`, :func:`permute_dims` and :func:`astype` (the value's own
  method where it has one: NumPy, CuPy and Tensors do) instead of ``xp``;
* a boolean array used as a factor goes through :func:`ones_where` (the standard does not
  multiply booleans with floats), and an expression puts a Tensor before an array
  (``tensor * array``: only NumPy hands ``array * tensor`` over to the Tensor);
* indexing with NumPy's rules goes through :func:`getitem` (the standard allows less);
* what the standard lacks is a function here: :func:`scatter_add` (the index backward),
  :func:`put` (assignment at an integer-array index), :func:`inplace` (functions that
  write into ``out=``, where the library has it, and ``add_scaled``: BLAS ``axpy`` on
  the CPU), :func:`assign`, :func:`copy`, moves between devices
  (:func:`to_device`, :func:`to_numpy`) and random generators per device
  (:func:`generator`). The image ops' windows (im2col, col2im, blocked products with
  them, per-channel sums) follow the same split in :mod:`chainrule._images`.

``tests/portability/`` runs every op (a row of its ``cases.py``) on NumPy, on
``array_api_strict`` and, marked ``gpu``, on CuPy; ruff's banned-api rule keeps
``import numpy`` out of the engine, the ops, the layers and the optimizers. Helpers added
here keep to the same split: a NumPy path first (``type(a) is np.ndarray``), then
NumPy-like libraries (``_NUMPY_LIKE``: CuPy), then the standard's functions.

**The CPU path stays as fast as plain NumPy.** :func:`namespace` is one dictionary
lookup by array type. NumPy arrays get NumPy's own functions, no wrapper: the
namespace is NumPy itself, except that the standard's names for which NumPy has a slower
Python wrapper (``sum``, ``max``, ``min``, ``mean``, ``reshape``, ``permute_dims``,
``matrix_transpose``, ``astype``, ``expand_dims``) call the ufunc reduction or the
``ndarray`` method directly (:mod:`chainrule._numpy_api`).

>>> import numpy as np
>>> xp = namespace(np.ones(3))
>>> xp.exp is np.exp, float(xp.sum(np.ones(3)))
(True, 3.0)
"""

from __future__ import annotations

import importlib.util
from typing import Any

import numpy as np

from chainrule import _blas, cuda
from chainrule._dtypes import is_floating, native_dtype, numpy_dtype
from chainrule._inplace import AssigningNamespace, OutNamespace
from chainrule._memory import reuse_freed_memory
from chainrule._numpy_api import numpy_namespace
from chainrule.devices import CPU, Device
from chainrule.errors import DeviceError

__all__ = [
    "NUMPY_TYPES",
    "VIEW_TYPES",
    "add_scaled",
    "along_axis_index",
    "asarray",
    "assign",
    "astype",
    "copy",
    "device_of",
    "errstate",
    "generator",
    "getitem",
    "inplace",
    "into",
    "is_array",
    "is_device_array",
    "is_floating",
    "is_numpy_scalar",
    "namespace",
    "native_dtype",
    "numpy_dtype",
    "ones_where",
    "owns_memory",
    "permute_dims",
    "put",
    "require_device",
    "reshape",
    "reuse_freed_memory",
    "scatter_add",
    "sum",
    "to_device",
    "to_numpy",
]

# ----------------------------------------------------------------------------- NumPy
#: NumPy's functions under the array API's names (see :mod:`chainrule._numpy_api`).
NUMPY = numpy_namespace()

#: Namespace by array type, filled on first sight of each type.
_NAMESPACES: dict[type, Any] = {np.ndarray: NUMPY}
#: Array types that take ``out=`` and NumPy's type promotion (bool * float), by their
#: own module (NumPy, and CuPy once seen).
_NUMPY_LIKE: dict[type, Any] = {np.ndarray: np}
#: Array types whose ``.base`` tells a view from an array that owns its memory.
VIEW_TYPES: set[type] = {np.ndarray}


def _library(a: Any) -> str | None:
    """``'cupy'`` or ``'array_api_strict'`` for those libraries' arrays, else None."""
    module = type(a).__module__
    for name in ("cupy", "array_api_strict"):
        if module == name or module.startswith(name + "."):
            return name
    return None


def _learn(a: Any) -> Any:
    """Look up and remember the namespace of a device library's array type."""
    from array_api_compat import array_namespace

    xp = array_namespace(a)
    _NAMESPACES[type(a)] = xp
    if _library(a) == "cupy":
        _NUMPY_LIKE[type(a)] = cuda.cupy()
        VIEW_TYPES.add(type(a))
    return xp


def namespace(*arrays: Any) -> Any:
    """The array namespace (``xp``) of the first array among ``arrays``; NumPy's if none.

    Python numbers, NumPy scalars, ``None`` and Tensors are skipped (a Tensor computes
    through its operators). A device array type seen for the first time is looked up
    with ``array_api_compat.array_namespace`` and remembered.
    """
    for a in arrays:
        xp = _NAMESPACES.get(type(a))
        if xp is not None:
            return xp
        if _library(a) is not None:
            return _learn(a)
    return NUMPY


def is_array(a: Any) -> bool:
    """Whether ``a`` is a NumPy array or an array of a device library (CuPy, strict)."""
    return type(a) in _NAMESPACES or isinstance(a, np.ndarray) or _library(a) is not None


#: NumPy's array and scalar types: ``isinstance(a, NUMPY_TYPES)`` for code without NumPy.
NUMPY_TYPES = (np.ndarray, np.generic)


def is_numpy_scalar(a: Any) -> bool:
    """Whether ``a`` is a NumPy scalar (``np.float32(1)``: what NumPy reductions return)."""
    return isinstance(a, np.generic)


def is_device_array(a: Any) -> bool:
    """Whether ``a`` is an array of a library other than NumPy (CuPy, ``array_api_strict``)."""
    return _library(a) is not None


# ----------------------------------------------------------------------------- devices
def device_of(a: Any) -> Device:
    """The :class:`Device` of an array (NumPy arrays, numbers and lists: the CPU)."""
    library = _library(a)
    if library == "cupy":
        return Device("cuda", int(a.device.id))
    if library == "array_api_strict":
        return Device("array_api_strict")
    return CPU


def require_device(spec: Any) -> Device:
    """``spec`` as a :class:`Device` that can be used here, else a :class:`DeviceError`
    saying why (what to install, or that no GPU was found): a one-line check before a
    long run starts.

    >>> require_device("cpu")
    device(type='cpu')
    """
    device = Device(spec)
    if device.type == "cuda":
        cuda.current_index(device)
    elif device.type == "array_api_strict" and importlib.util.find_spec(
            "array_api_strict") is None:
        raise DeviceError("array_api_strict: not installed: pip install array-api-strict")
    return device


def to_numpy(a: Any, copy: bool = False) -> np.ndarray:
    """``a`` as a NumPy array in host memory (a copy from a device; ``copy`` for NumPy too)."""
    library = _library(a)
    if library == "cupy":
        return a.get()
    if library == "array_api_strict":
        return np.array(a, copy=True)
    return np.array(a, copy=True) if copy else np.asarray(a)


def to_device(a: Any, device: Any) -> Any:
    """``a`` (an array, or NumPy-convertible data) on ``device``; ``a`` itself if it is there.

    >>> to_device(np.arange(3), "cpu")
    array([0, 1, 2])
    """
    target = device if isinstance(device, Device) else Device(device)
    if is_array(a) and target.includes(device_of(a)):
        return a
    if target.type == "cpu":
        return to_numpy(a)
    host = to_numpy(a)
    if target.type == "cuda":
        cupy = cuda.cupy()
        with cupy.cuda.Device(cuda.current_index(target)):
            arr = cupy.array(host, copy=True)
        _learn(arr)
        return arr
    import array_api_strict

    return array_api_strict.asarray(host)


def asarray(data: Any, *, like: Any = None, device: Any = None, dtype: Any = None,
            copy: bool = False) -> Any:
    """``data`` as an array on ``like``'s device (or ``device``; by default where it is).

    Arrays stay arrays of their library; anything else (lists, numbers, NumPy scalars)
    becomes a NumPy array first. ``dtype`` (any spelling) casts; ``copy`` always copies.
    """
    if type(data) is np.ndarray and device is None and (like is None or type(like) is np.ndarray):
        if dtype is not None and not isinstance(dtype, np.dtype):
            dtype = numpy_dtype(dtype)
        return np.array(data, dtype=dtype) if copy else np.asarray(data, dtype=dtype)
    arr = data if is_array(data) else np.asarray(data)
    if like is not None and device is None:
        device = device_of(like)
    if device is not None:
        moved = to_device(arr, device)
        copy = copy and moved is arr
        arr = moved
    if dtype is not None or copy:
        return astype(arr, arr.dtype if dtype is None else dtype, copy=copy)
    return arr


def copy(a: Any) -> Any:
    """A new array with ``a``'s values, on ``a``'s device (NumPy scalars: a 0-d array)."""
    module = _NUMPY_LIKE.get(type(a))
    if module is not None or isinstance(a, np.generic):
        return (module or np).array(a, copy=True)
    return namespace(a).asarray(a, copy=True)


def owns_memory(a: Any) -> bool:
    """Whether ``a`` is an array that is no view of another (so it may be kept and
    changed in place); False where the library does not say (then copy it).

    On a hot path, ``type(a) in VIEW_TYPES and a.base is None`` says the same.
    """
    return type(a) in VIEW_TYPES and a.base is None


def errstate(**kwargs: str) -> Any:
    """NumPy's ``errstate`` context (e.g. ``divide='ignore'``); other libraries do not warn."""
    return np.errstate(**kwargs)


def generator(device: Device, seed: int | None) -> Any:
    """A new random generator for ``device`` seeded with ``seed``, or None.

    A GPU gets CuPy's generator, so random numbers are drawn where they are used; the
    CPU and ``array_api_strict`` (a CPU library) return None: they use chainrule's NumPy
    generator, and the numbers are moved.
    """
    if device.type != "cuda":
        return None
    cupy = cuda.cupy()
    with cupy.cuda.Device(cuda.current_index(device)):
        return cupy.random.default_rng(seed)


# ----------------------------------------------------------------------------- helpers
def reshape(a: Any, shape: tuple) -> Any:
    """``a.reshape(shape)`` for NumPy, CuPy and Tensors; ``xp.reshape`` for the rest."""
    try:
        return a.reshape(shape)
    except AttributeError:
        return namespace(a).reshape(a, tuple(shape))


def sum(a: Any, axis: Any = None, keepdims: bool = False) -> Any:
    """``a.sum(axis=axis, keepdims=keepdims)``, or ``xp.sum`` where there is no method."""
    try:
        return a.sum(axis=axis, keepdims=keepdims)
    except AttributeError:
        return namespace(a).sum(a, axis=axis, keepdims=keepdims)


def permute_dims(a: Any, axes: tuple | None) -> Any:
    """``a.transpose(axes)`` (all axes reversed for None), or ``xp.permute_dims``."""
    try:
        return a.transpose() if axes is None else a.transpose(axes)
    except AttributeError:
        order = tuple(range(a.ndim))[::-1] if axes is None else tuple(axes)
        return namespace(a).permute_dims(a, order)


def astype(a: Any, dtype: Any, copy: bool = True) -> Any:
    """``a`` cast to ``dtype`` (any spelling: NumPy's, a name, the library's own)."""
    if type(a) in _NUMPY_LIKE:
        return a.astype(numpy_dtype(dtype), copy=copy)
    if not is_array(a):  # a Tensor: its own cast (part of the graph)
        return a.astype(dtype)
    xp = namespace(a)
    return xp.astype(a, native_dtype(xp, dtype), copy=copy)


def ones_where(cond: Any, like: Any) -> Any:
    """The boolean ``cond`` as a factor for ``like``: 1 where true, 0 elsewhere.

    NumPy and CuPy multiply booleans with floats themselves (``cond`` is returned as it
    is); the standard does not, so elsewhere ``cond`` is cast to ``like``'s dtype.
    """
    if type(cond) in _NUMPY_LIKE or isinstance(cond, np.generic):
        return cond
    xp = namespace(cond)
    return xp.astype(cond, native_dtype(xp, like.dtype))


#: In-place namespaces by array type (see :func:`inplace`).
_INPLACE: dict[type, Any] = {np.ndarray: OutNamespace(np, _blas.add_scaled)}


def inplace(a: Any) -> Any:
    """The functions of ``a``'s library that write into ``out=``, and ``add_scaled``.

    NumPy's and CuPy's own ufuncs (no temporary); elsewhere each computes its result and
    assigns it into ``out``. ``xo.add_scaled(y, alpha, x, scratch)`` is ``y += alpha * x``,
    one BLAS ``axpy`` pass for large NumPy arrays (:mod:`chainrule._blas`).

    >>> xo = inplace(np.empty(2))
    >>> xo.multiply(np.array([1.0, 2.0]), 3.0, out=np.empty(2))
    array([3., 6.])
    """
    found = _INPLACE.get(type(a))
    if found is None:
        xp = namespace(a)  # learns a CuPy type
        module = _NUMPY_LIKE.get(type(a))
        found = OutNamespace(module) if module is not None else AssigningNamespace(xp)
        _INPLACE[type(a)] = found
    return found


def into(out: Any, fn: str, *args: Any) -> Any:
    """``out[...] = xp.fn(*args)`` without a temporary where the library has ``out=``.

    >>> into(np.empty(2), "multiply", np.array([1.0, 2.0]), 3.0)
    array([3., 6.])
    """
    return getattr(inplace(out), fn)(*args, out=out)


def assign(target: Any, values: Any) -> Any:
    """Write ``values`` (any device, cast to ``target``'s dtype) into ``target`` in place."""
    values = asarray(values, like=target)
    if type(target) is np.ndarray:
        np.copyto(target, values.astype(target.dtype, copy=False))
    else:
        target[...] = astype(values, target.dtype, copy=False)
    return target


def add_scaled(y: Any, alpha: float, x: Any, scratch: Any) -> None:
    """``y += alpha * x`` in place; ``scratch`` (``y``'s shape) may hold ``alpha * x``.

    On the CPU, large arrays take BLAS ``axpy`` (one pass instead of two).
    """
    inplace(y).add_scaled(y, alpha, x, scratch)


def scatter_add(out: Any, index: Any, values: Any, unique: bool = False) -> Any:
    """``out[index] += values`` in place, repeated indices adding up; returns ``out``.

    NumPy's ``np.add.at``, CuPy's ``cupyx.scatter_add``; ``unique=True`` promises no
    index repeats (then a plain ``out[index] += values``). Libraries without a
    scatter-add (``array_api_strict``) add through host memory.
    """
    if type(out) is np.ndarray:
        if unique:
            out[index] += values
        else:
            np.add.at(out, index, values)
        return out
    index = _on_device_index(out, index)
    if type(out) in _NUMPY_LIKE:
        import cupyx

        cupyx.scatter_add(out, index, values)
        return out
    host = to_numpy(out)
    np.add.at(host, _host_index(index), to_numpy(values) if is_array(values) else values)
    out[...] = to_device(host, device_of(out))
    return out


def put(out: Any, index: Any, values: Any) -> Any:
    """``out[index] = values`` in place with NumPy's indexing rules; returns ``out``.

    ``array_api_strict`` does not assign through integer-array indexes: those go through
    host memory.
    """
    if type(out) is np.ndarray:
        out[index] = values
        return out
    index = _on_device_index(out, index)
    if type(out) in _NUMPY_LIKE:
        out[index] = values
        return out
    try:
        out[_complete(out, index)] = values
    except (IndexError, TypeError):
        host = to_numpy(out)
        host[_host_index(index)] = to_numpy(values) if is_array(values) else values
        out[...] = to_device(host, device_of(out))
    return out


def along_axis_index(index: Any, axis: int) -> tuple:
    """The full index that ``take_along_axis(x, index, axis)`` reads, for :func:`put` or
    :func:`scatter_add` (its transpose): ``index`` at ``axis``, every other axis its own
    positions (NumPy's ``np.ix_`` grid, built in host memory)."""
    host = to_numpy(index)
    grid = list(np.ix_(*(np.arange(n) for n in host.shape)))
    grid[axis] = host
    return tuple(grid)


def _host_index(index: Any) -> Any:
    if isinstance(index, tuple):
        return tuple(to_numpy(i) if is_array(i) else i for i in index)
    return to_numpy(index) if is_array(index) else index


def getitem(a: Any, index: Any) -> Any:
    """``a[index]`` with NumPy's indexing rules on every library.

    Index arrays and lists go to ``a``'s device. The standard defines only part of NumPy's
    indexing (one boolean mask alone, integer arrays only with integers, every axis
    named); ``array_api_strict`` takes the rest through host memory.
    """
    if type(a) is np.ndarray:
        return a[index]
    index = _on_device_index(a, index)
    if type(a) in _NUMPY_LIKE:
        return a[index]
    try:
        return a[_complete(a, index)]
    except (IndexError, TypeError):
        return to_device(to_numpy(a)[_host_index(index)], device_of(a))


def _on_device_index(a: Any, index: Any) -> Any:
    """``index`` with its arrays and lists moved to ``a``'s device."""
    parts = index if isinstance(index, tuple) else (index,)
    moved = tuple(asarray(p, like=a) if isinstance(p, list) or is_array(p) else p
                  for p in parts)
    return moved if isinstance(index, tuple) else moved[0]


def _complete(a: Any, index: Any) -> Any:
    """A basic index that leaves out trailing axes, completed with ``...`` (the standard
    does not fill them in as NumPy does)."""
    parts = index if isinstance(index, tuple) else (index,)
    if any(p is Ellipsis or is_array(p) for p in parts):
        return index
    named = len([p for p in parts if p is not None])
    return (*parts, Ellipsis) if named < a.ndim else index
