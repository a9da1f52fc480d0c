"""What the kernel tests share: a compiled step against the same step run eagerly."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import pytest

import chainrule as cr


def compare(build: Callable[[], tuple[list, Callable[..., cr.Tensor]]],
            batches: Sequence[tuple], lr: float = 0.1, model: Any = None) -> cr.CompiledStep:
    """Build two equal steps (``build()`` -> ``(parameters, loss(*inputs))``), run one
    eagerly and one compiled (SGD) over ``batches`` with the same random state per
    step, and check the losses (1e-12), the gradients and the parameters; returns the
    compiled step (its ``source`` names the kernels)."""
    cr.manual_seed(0)
    eager_params, eager = build()
    cr.manual_seed(0)
    params, fast = build()
    opt_e, opt_f = cr.optim.SGD(eager_params, lr=lr), cr.optim.SGD(params, lr=lr)
    step = cr.compile(fast, opt_f, model=model(params) if model else None)
    for s, batch in enumerate(batches):
        cr.manual_seed(100 + s)
        opt_e.zero_grad()
        expected = eager(*[cr.tensor(a, dtype=a.dtype.name) if a.dtype.kind == "f" else a
                           for a in batch])
        expected.backward()
        grads = [None if p.grad is None else p.grad.copy() for p in eager_params]
        opt_e.step()
        cr.manual_seed(100 + s)
        got = step(*batch)
        assert got.item() == pytest.approx(expected.item(), rel=1e-12, abs=1e-14), s
        for k, (g, p) in enumerate(zip(grads, params)):
            if g is not None:
                np.testing.assert_allclose(p.grad, g, rtol=1e-10, atol=1e-13, err_msg=str(k))
    for k, (a, b) in enumerate(zip(eager_params, params)):
        np.testing.assert_allclose(b.data, a.data, rtol=1e-10, atol=1e-13, err_msg=str(k))
    return step


def batches(count: int, n: int, d: int, classes: int | None = None, seed: int = 0) -> list:
    """``count`` float64 batches ``(x, labels)`` (or ``(x,)`` without classes)."""
    rng = np.random.default_rng(seed)
    out = []
    for _ in range(count):
        x = rng.standard_normal((n, d))
        out.append((x,) if classes is None else (x, rng.integers(0, classes, n)))
    return out


def param(*shape: int, seed: int = 0) -> cr.nn.Parameter:
    return cr.nn.Parameter(np.random.default_rng(seed).standard_normal(shape) * 0.5)


def mlp_pair(sizes: tuple, dtype: str = "float32", **mlp_kw: object) -> tuple:
    """Two equal MLPs (layer sizes ``sizes``; float64 moves parameters and buffers)."""
    cr.manual_seed(1)
    a = cr.nn.MLP(sizes[0], list(sizes[1:-1]), sizes[-1], **mlp_kw)
    b = cr.nn.MLP(sizes[0], list(sizes[1:-1]), sizes[-1], **mlp_kw)
    b.load_state_dict(a.state_dict())
    if dtype == "float64":
        for m in (a, b):
            m.to(np.float64)  # parameters and buffers (batch norm's running statistics)
    return a, b


def mlp_data(n: int, d: int, c: int, dtype: str = "float32", seed: int = 0) -> tuple:
    """A batch ``(x (n, d), labels < c)`` from a seeded generator."""
    rng = np.random.default_rng(seed)
    return rng.standard_normal((n, d)).astype(dtype), rng.integers(0, c, n)
