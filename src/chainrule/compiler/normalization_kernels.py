"""Batch normalization's kernel: training and evaluation, running statistics included.

Training, per feature over the batch (the eager op's NumPy calls, in its order)::

    mean = sum(x) / N     var = sum((x - mean)^2) / N     inv_std = 1 / sqrt(var + eps)
    xhat = (x - mean) inv_std         out = gamma xhat + beta
    running = (1 - f) running + f batch     (var unbiased; f = momentum or 1 / count)

and the backward with ``dgamma = sum(up xhat)``, ``dbeta = sum(up)`` (one BLAS call
each), from which ``mean(dxhat) = gamma dbeta / N`` and ``mean(dxhat xhat) = gamma
dgamma / N``, so::

    dx = gamma inv_std (up - dbeta / N - xhat dgamma / N)

Evaluation normalizes with the running statistics, read on every call, and
``dx = gamma inv_std up``. In the column layout of small layers the features are rows
and the sums run along them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from chainrule.compiler.activation_kernels import ElementwiseKernel
from chainrule.compiler.plan import CONST, LEAF

if TYPE_CHECKING:
    from chainrule.compiler.codegen import Source
    from chainrule.compiler.plan import Plan

__all__ = ["BatchNormKernel"]


class BatchNormKernel(ElementwiseKernel):
    """Batch normalization of a 2-D input ``(N, F)`` over the batch."""

    __slots__ = ("b", "coef", "dbeta", "dgamma", "eps", "inv_std", "mean", "momentum", "n",
                 "ones", "running", "scratch", "training", "var", "w", "xc", "xhat")

    @classmethod
    def accepts(cls, plan: Plan, i: int) -> bool:
        """A 2-D floating input (features, normalized over the batch axis 0); parameters
        (or nothing) as gamma and beta; running statistics of the input's dtype, if any."""
        specs = plan.specs[i]
        x, w, b, rm, rv, count, training, _, _ = plan.values(i)
        if not (isinstance(x, np.ndarray) and x.ndim == 2 and x.dtype.kind == "f"
                and all(kind == CONST for kind, _ in specs[3:])):
            return False
        for (kind, _), p in ((specs[1], w), (specs[2], b)):
            if not ((kind == LEAF and p.dtype == x.dtype) or (kind == CONST and p is None)):
                return False
        if rm is None:
            return training
        return (isinstance(rm, np.ndarray) and isinstance(rv, np.ndarray)
                and rm.dtype == rv.dtype == x.dtype and isinstance(count, np.ndarray))

    def __init__(self, plan: Plan, i: int) -> None:
        super().__init__(plan, i)
        x, w, b, rm, rv, count, training, momentum, eps = plan.values(i)
        self.n = x.shape[0]
        self.w, self.b = w, b
        self.running = (rm, rv, count) if rm is not None else None
        self.momentum, self.eps, self.training = momentum, float(eps), bool(training)
        dtype = x.dtype
        features = x.shape[1]
        self.mean, self.var, self.inv_std, self.coef = (
            np.empty(features, dtype=dtype) for _ in range(4))
        self.dgamma = np.empty(features, dtype=dtype)
        self.dbeta = np.empty(features, dtype=dtype)
        self.xc, self.xhat, self.scratch = self.buffer(), self.buffer(), self.buffer()
        self.ones = np.ones(self.n, dtype=dtype)

    def describe(self) -> str:
        mode = "batch statistics" if self.training else "running statistics"
        return f"batchnorm, {mode}, {'columns' if self.col else 'rows'}"

    # ------------------------------------------------------------------ helpers
    def _per_feature(self, src: Source, a: np.ndarray, prefix: str) -> str:
        """``a`` (one value per feature) shaped to broadcast over the working layout."""
        return src.const(a[:, None] if self.col else a, prefix)

    def _sum(self, src: Source, a: str, out: str) -> None:
        """``out = sum of a over the batch`` as one BLAS call."""
        ones = src.const(self.ones, "ones")
        src.emit(f"_dot({a}, {ones}, out={out})" if self.col
                 else f"_dot({ones}, {a}, out={out})")

    # ------------------------------------------------------------------ forward
    def emit_value(self, src: Source, x: str, out: str, args: list[str]) -> None:
        c = src.const
        axis = 1 if self.col else 0
        mean, var, inv_std = c(self.mean, "mean"), c(self.var, "var"), c(self.inv_std, "inv_std")
        xc, xhat, scratch = c(self.xc, "xc"), c(self.xhat, "xhat"), c(self.scratch, "scratch")
        if self.training:
            src.emit(f"_add_reduce({x}, {axis}, None, {mean})")
            src.emit(f"_divide({mean}, {self.n}, out={mean})")
            src.emit(f"_subtract({x}, {self._per_feature(src, self.mean, 'mean')}, out={xc})")
            src.emit(f"_multiply({xc}, {xc}, out={scratch})")
            src.emit(f"_add_reduce({scratch}, {axis}, None, {var})")
            src.emit(f"_divide({var}, {self.n}, out={var})")
            if self.running is not None:
                self._emit_running_update(src, mean, var)
            stat_var = var
        else:
            rm, rv, _ = self.running
            src.emit(f"_subtract({x}, {self._per_feature(src, rm, 'running_mean')}, out={xc})")
            stat_var = c(rv, "running_var")
        src.emit(f"_add({stat_var}, {self.eps!r}, out={inv_std})")
        src.emit(f"_sqrt({inv_std}, out={inv_std})")
        src.emit(f"_divide(1.0, {inv_std}, out={inv_std})")
        src.emit(f"_multiply({xc}, {self._per_feature(src, self.inv_std, 'inv_std')}, "
                 f"out={xhat})")
        if self.w is not None:
            src.emit(f"_multiply({xhat}, {self._per_feature(src, self.w, 'gamma')}, out={out})")
        else:
            src.emit(f"_copyto({out}, {xhat})")
        if self.b is not None:
            src.emit(f"_add({out}, {self._per_feature(src, self.b, 'beta')}, out={out})")

    def _emit_running_update(self, src: Source, mean: str, var: str) -> None:
        """PyTorch's update of the running statistics, as the eager op makes it."""
        c = src.const
        rm, rv, count = (c(a, name) for a, name in zip(
            self.running, ("running_mean", "running_var", "num_batches_tracked")))
        moved = c(self.coef, "moved")
        src.emit(f"_add({count}, 1, out={count})")
        if self.momentum is None:
            src.emit(f"factor = 1.0 / float({count})")  # a cumulative average
            factor = "factor"
        else:
            factor = repr(float(self.momentum))
        src.emit(f"_multiply({rm}, 1 - {factor}, out={rm})")
        src.emit(f"_multiply({factor}, {mean}, out={moved})")
        src.emit(f"_add({rm}, {moved}, out={rm})")
        unbiased = self.n / (self.n - 1)
        src.emit(f"_multiply({var}, {unbiased!r}, out={moved})")
        src.emit(f"_multiply({factor}, {moved}, out={moved})")
        src.emit(f"_multiply({rv}, 1 - {factor}, out={rv})")
        src.emit(f"_add({rv}, {moved}, out={rv})")

    # ------------------------------------------------------------------ backward
    def emit_local(self, src: Source, up: str, grad: str, grads: list, dests: list) -> None:
        c = src.const
        xhat, scratch, coef = c(self.xhat, "xhat"), c(self.scratch, "scratch"), c(self.coef, "coef")
        dgamma = self._grad_array(src, 1, self.dgamma, grads, dests)
        dbeta = self._grad_array(src, 2, self.dbeta, grads, dests)
        src.emit(f"_multiply({up}, {xhat}, out={scratch})")
        self._sum(src, scratch, dgamma)
        self._sum(src, up, dbeta)
        # coef = gamma inv_std, one value per feature
        if self.w is not None:
            src.emit(f"_multiply({c(self.w, 'gamma')}, {c(self.inv_std, 'inv_std')}, "
                     f"out={coef})")
        else:
            src.emit(f"_copyto({coef}, {c(self.inv_std, 'inv_std')})")
        coef_b = self._per_feature(src, self.coef, "coef")
        if not self.training:
            src.emit(f"_multiply({up}, {coef_b}, out={grad})")
            return
        # dx = coef (up - dbeta / N - xhat dgamma / N)
        mean_dxhat, mean_dxhat_xhat = c(self.mean, "mean"), c(self.var, "var")
        src.emit(f"_divide({dbeta}, {self.n}, out={mean_dxhat})")
        src.emit(f"_divide({dgamma}, {self.n}, out={mean_dxhat_xhat})")
        src.emit(f"_multiply({xhat}, {self._per_feature(src, self.var, 'var')}, out={scratch})")
        src.emit(f"_subtract({up}, {scratch}, out={scratch})")
        src.emit(f"_subtract({scratch}, {self._per_feature(src, self.mean, 'mean')}, "
                 f"out={scratch})")
        src.emit(f"_multiply({scratch}, {coef_b}, out={grad})")

    def _grad_array(self, src: Source, k: int, own: np.ndarray, grads: list,
                    dests: list) -> str:
        """The array to write parameter ``k``'s gradient into (its ``.grad`` where
        offered and contiguous, else our own), recorded in ``grads[k]``."""
        dest = dests[k]
        target = dest if dest is not None and dest.flags.c_contiguous else own
        name = src.const(target, "gparam")
        if (self.w if k == 1 else self.b) is not None:
            grads[k] = (name, target is dest, target)
        return name
