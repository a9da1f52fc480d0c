"""The devices the portability suite runs on, and how it compares their results.

Every test of this package is parametrised over :data:`DEVICES`: NumPy (the reference),
``array_api_strict`` (the array API standard's reference library, which refuses any
NumPy-only idiom: it proves that nothing but ``chainrule.backend`` depends on NumPy) and,
marked ``gpu``, CuPy on a CUDA GPU (skipped without CuPy or a GPU). Results are compared
with NumPy's in float64: to 1e-12 on the CPU devices, and to a looser bound on the GPU,
whose reductions and matrix products add in another order.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

import chainrule as cr

DEVICES = [
    "cpu",
    "array_api_strict",
    pytest.param("cuda:0", marks=pytest.mark.gpu),
]


def is_gpu(device: str) -> bool:
    """Whether ``device`` is a GPU (its random numbers come from its own generator)."""
    return device.startswith("cuda")


def skip_unless_usable(device: str) -> None:
    """Skip the test where ``device`` cannot be used here (a GPU test without a GPU)."""
    if is_gpu(device) and not cr.cuda.is_available():
        pytest.skip("needs CuPy and a CUDA GPU")


def tolerance(device: str) -> dict[str, float]:
    """``assert_allclose`` bounds for float64 results of ``device`` against NumPy's."""
    if is_gpu(device):
        return {"rtol": 1e-9, "atol": 1e-11}
    return {"rtol": 1e-12, "atol": 1e-12}


def host(value: Any) -> Any:
    """A Tensor's or array's values as NumPy (None stays None)."""
    if value is None:
        return None
    data = value.data if isinstance(value, cr.Tensor) else value
    return cr.backend.to_numpy(data)


def assert_agree(got: Any, want: Any, device: str, what: str) -> None:
    """``got`` (from ``device``) equals NumPy's ``want`` within :func:`tolerance`."""
    if want is None or got is None:
        assert got is None and want is None, f"{what}: one side has no value"
        return
    got_np, want_np = host(got), host(want)
    assert got_np.shape == want_np.shape, f"{what}: shape {got_np.shape} vs {want_np.shape}"
    np.testing.assert_allclose(got_np, want_np, err_msg=what, **tolerance(device))
