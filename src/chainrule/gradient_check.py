"""Checking analytic gradients against numerical ones.

The lecture's advice: derive the analytic gradient, then check it with the numerical
one. ``gradcheck`` does that in float64 with a random upstream gradient, so every
element of the Jacobian-vector product is exercised. Tensors on any device are checked
where they are; the comparison itself is done in host memory with NumPy.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from chainrule import backend
from chainrule._tensor import Tensor
from chainrule.autograd import grad as autograd_grad

__all__ = ["GradcheckError", "gradcheck", "jacobian", "numerical_gradient", "rel_error"]

#: Largest explicit Jacobian ``jacobian()`` will build, in bytes (1 GiB).
JACOBIAN_LIMIT_BYTES = 1 << 30


class GradcheckError(AssertionError):
    """Analytic and numerical gradients disagree."""


def rel_error(a: Any, b: Any) -> float:
    """The lecture's relative error ``max |a - b| / max(1e-8, |a| + |b|)``."""
    a = backend.to_numpy(a.data if isinstance(a, Tensor) else a).astype(np.float64)
    b = backend.to_numpy(b.data if isinstance(b, Tensor) else b).astype(np.float64)
    return float(np.max(np.abs(a - b) / np.maximum(1e-8, np.abs(a) + np.abs(b))))


def numerical_gradient(
    f: Callable[[Any], Any], x: Any, h: float = 1e-5, upstream: Any = None,
    method: str = "central",
) -> np.ndarray:
    """The numerical gradient of ``f`` at ``x``, one element at a time.

    ``method="central"`` (the default) takes centered differences
    ``(f(x + h) - f(x - h)) / 2h``, whose error shrinks like ``h^2``;
    ``method="forward"`` takes the lecture's ``(f(x + h) - f(x)) / h``, whose error
    shrinks only like ``h`` (and which needs one call of ``f`` per element instead of
    two). ``x`` (an array or Tensor) is changed in place and restored; ``f(x)`` returns a
    scalar, or an array that is dotted with ``upstream``. A Tensor on another
    device gets each nudged copy of its data in turn (the gradient comes back as NumPy).

    >>> numerical_gradient(lambda a: (a ** 2).sum(), np.array([1.0, -2.0]))
    array([ 2., -4.])
    >>> numerical_gradient(lambda a: (a ** 2).sum(), np.array([1.0]), h=1e-3, method="forward")
    array([2.001])
    """
    if method not in ("central", "forward"):
        raise ValueError(f"numerical_gradient: method must be 'central' or 'forward', "
                         f"not {method!r}")
    arr = x.data if isinstance(x, Tensor) else x
    if not backend.is_array(arr) or not backend.is_floating(arr.dtype):
        raise TypeError("numerical_gradient: x must be a floating-point array or Tensor")
    up = None if upstream is None else backend.to_numpy(getattr(upstream, "data", upstream))

    def value() -> float:
        out = f(x)
        out = backend.to_numpy(out.data if isinstance(out, Tensor) else out).astype(np.float64)
        return float(out.sum() if up is None else (out * up).sum())

    if backend.is_device_array(arr):
        if not isinstance(x, Tensor):
            raise TypeError("numerical_gradient: an array on a device must be given as a Tensor")
        return _numerical_gradient_on_device(x, value, h, method)

    flat = arr.reshape(-1)
    if not np.shares_memory(flat, arr):
        raise ValueError("numerical_gradient: x must be contiguous so it can be nudged in place")
    grad = _differences(flat, value, h, method, moved=lambda: None)
    return grad.reshape(arr.shape).astype(arr.dtype, copy=False)


def _numerical_gradient_on_device(x: Tensor, value: Callable[[], float], h: float,
                                  method: str) -> np.ndarray:
    """:func:`numerical_gradient` for a Tensor whose data is on a device: nudged copies of
    the data are made in host memory and moved there, one element at a time."""
    original = x.data
    device = backend.device_of(original)
    host = backend.to_numpy(original, copy=True)

    def moved() -> None:
        x.data = backend.to_device(host, device)

    try:
        grad = _differences(host.reshape(-1), value, h, method, moved)
    finally:
        x.data = original
    return grad.reshape(host.shape).astype(host.dtype, copy=False)


def _differences(flat: np.ndarray, value: Callable[[], float], h: float, method: str,
                 moved: Callable[[], None]) -> np.ndarray:
    """Nudge each element of ``flat`` in place and return the differences as a float64
    vector; every element is restored. ``moved()`` after each nudge makes it seen (a
    device copy of the whole array is taken then, restored elements included)."""
    grad = np.zeros(flat.size, dtype=np.float64)
    at_x = value() if method == "forward" else 0.0
    for i in range(flat.size):
        old = flat[i]
        flat[i] = old + h
        moved()
        plus = value()
        if method == "forward":
            flat[i] = old
            grad[i] = (plus - at_x) / h
            continue
        flat[i] = old - h
        moved()
        minus = value()
        flat[i] = old
        grad[i] = (plus - minus) / (2 * h)
    return grad


def gradcheck(
    fn: Callable[..., Tensor],
    inputs: Sequence[Any],
    eps: float = 1e-6,
    atol: float = 1e-5,
    rtol: float = 1e-3,
    seed: int = 0,
) -> bool:
    """Compare backprop with centered differences, in float64, with a random upstream.

    Floating inputs are copied to float64 tensors that require gradients (on their own
    device); others (labels, axes) are passed as they are. Returns True, or raises
    :class:`GradcheckError` naming the input, the worst element, both values and their
    relative error.

    >>> cr.gradcheck(lambda x: cr.tanh(x) * x, [cr.randn(3, 4)])
    True
    """
    args: list[Any] = []
    checked: list[int] = []
    for i, a in enumerate(inputs):
        data = a.data if isinstance(a, Tensor) else a
        if isinstance(data, (float, np.floating)):  # a scalar input is a 0-d array
            data = np.asarray(data)
        if backend.is_array(data) and backend.is_floating(data.dtype):
            args.append(Tensor(backend.astype(data, np.float64), dtype=np.float64,
                               requires_grad=True))
            checked.append(i)
        else:
            args.append(a)
    if not checked:
        raise ValueError("gradcheck: no floating-point input to check")
    out = fn(*args)
    if not isinstance(out, Tensor):
        raise TypeError("gradcheck: fn must return a Tensor")
    rng = np.random.default_rng(seed)
    upstream = rng.standard_normal(out.shape)
    device_upstream = backend.asarray(upstream, like=out.data)
    wanted = [args[i] for i in checked]
    if out.requires_grad:
        analytic = autograd_grad(out, wanted, upstream=device_upstream, allow_unused=True)
    else:
        analytic = [None] * len(wanted)
    for k, i in enumerate(checked):
        x = args[i]

        def f(_: Any) -> np.ndarray:
            return fn(*args).data

        numeric = numerical_gradient(f, x, h=eps, upstream=upstream)
        got = (np.zeros(x.shape) if analytic[k] is None
               else backend.to_numpy(analytic[k].data))
        if got.shape != x.shape:
            raise GradcheckError(
                f"gradcheck: gradient of input {i} has shape {got.shape}, input has {x.shape}"
            )
        diff = np.abs(got - numeric)
        bound = atol + rtol * np.abs(numeric)
        if np.all(diff <= bound) and np.all(np.isfinite(got)):
            continue
        worst = np.unravel_index(int(np.argmax(diff - bound)), x.shape) if x.ndim else ()
        a_val, n_val = float(got[worst]), float(numeric[worst])
        raise GradcheckError(
            f"gradcheck: input {i} (shape {x.shape}), element {tuple(int(w) for w in worst)}: "
            f"analytic {a_val:.8g} vs numerical {n_val:.8g}, "
            f"relative error {rel_error(a_val, n_val):.3g} (atol={atol}, rtol={rtol})"
        )
    return True


def jacobian(fn: Callable[[Tensor], Tensor], x: Any, limit_bytes: int = JACOBIAN_LIMIT_BYTES
             ) -> np.ndarray:
    """The explicit Jacobian ``d fn(x) / d x`` of shape ``(out.size, x.size)``, for teaching.

    Backprop never forms it; this exists to show what it would be (the ReLU example's
    diagonal). It refuses when the matrix would exceed ``limit_bytes`` and says how
    many bytes it would need (N=64, D=M=4096 float32 needs 256 GiB).
    """
    xt = x if isinstance(x, Tensor) else Tensor(x)
    xt = Tensor(xt.data, dtype=xt.dtype, requires_grad=True)
    out = fn(xt)
    rows, cols = out.data.size, xt.data.size
    need = rows * cols * out.dtype.itemsize
    if need > limit_bytes:
        raise MemoryError(
            f"jacobian: the explicit Jacobian would be {rows} x {cols} = {need:,} bytes "
            f"({need / 2**30:.1f} GiB), over the limit of {limit_bytes:,} bytes; "
            "backprop multiplies by it implicitly instead"
        )
    jac = np.zeros((rows, cols), dtype=out.dtype)
    for r in range(rows):
        upstream = np.zeros(rows, dtype=out.dtype)
        upstream[r] = 1
        (g,) = autograd_grad(out, xt, upstream=backend.asarray(upstream.reshape(out.shape),
                                                               like=out.data),
                             retain_graph=True, allow_unused=True)
        if g is not None:
            jac[r] = backend.to_numpy(g.data).reshape(-1)
    return jac


def jacobian_size_bytes(out_shape: tuple, in_shape: tuple, itemsize: int = 4) -> int:
    """Bytes an explicit Jacobian between these shapes would take."""
    return int(np.prod(out_shape)) * int(np.prod(in_shape)) * itemsize
