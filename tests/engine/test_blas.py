"""chainrule._blas: the CPU's one-pass ``y += alpha * x`` (BLAS axpy) behind backend.add_scaled."""

from __future__ import annotations

import numpy as np
import pytest


def test_blas_axpy_is_found_and_agrees_with_numpy(monkeypatch: pytest.MonkeyPatch) -> None:
    from chainrule import _blas as blas

    if blas._library_candidates():  # NumPy's wheels ship scipy-openblas64: it must be used
        assert blas._axpy(np.dtype(np.float32)) is not None
        assert blas._axpy(np.dtype(np.float64)) is not None
    rng = np.random.default_rng(0)
    for order in ("C", "F"):
        x = np.asarray(rng.standard_normal((300, 200)), order=order)
        y = np.asarray(rng.standard_normal((300, 200)), order=order)
        expected = y - 0.25 * x
        x_before = x.copy()
        blas.add_scaled(y, -0.25, x, np.empty_like(y))
        np.testing.assert_allclose(y, expected, rtol=1e-14, atol=1e-14)
        np.testing.assert_array_equal(x, x_before)  # x is not the scratch: unchanged
    # mixed layouts, small arrays and a missing BLAS take NumPy's two passes
    monkeypatch.setattr(blas, "_AXPY", {})
    x = np.asfortranarray(rng.standard_normal((300, 200)))
    y = rng.standard_normal((300, 200))
    expected = y + 2.0 * x
    blas.add_scaled(y, 2.0, x, np.empty_like(y))
    np.testing.assert_allclose(y, expected, rtol=1e-15)
