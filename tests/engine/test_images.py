"""The image ops' helpers (chainrule._images): channels-last padding, window views and their
adjoint (col2im), per-channel sums, on NumPy and on a strict array API namespace; and the
allocator setting for training."""

from __future__ import annotations

import numpy as np
import pytest

from chainrule._images import (
    channel_dots,
    channel_sums,
    channels_last,
    fold_windows,
    window_view,
)
from chainrule.backend import namespace, reuse_freed_memory


def _reference_windows(x: np.ndarray, k: tuple, s: tuple, d: tuple) -> np.ndarray:
    n, h, w, c = x.shape
    ho, wo = (h - d[0] * (k[0] - 1) - 1) // s[0] + 1, (w - d[1] * (k[1] - 1) - 1) // s[1] + 1
    out = np.empty((n, ho, wo, k[0], k[1], c))
    for i in range(ho):
        for j in range(wo):
            for a in range(k[0]):
                for b in range(k[1]):
                    out[:, i, j, a, b] = x[:, i * s[0] + a * d[0], j * s[1] + b * d[1]]
    return out


@pytest.mark.parametrize(("k", "s", "d"), [((3, 3), (1, 1), (1, 1)), ((2, 3), (2, 1), (1, 2)),
                                           ((1, 1), (3, 2), (1, 1))])
def test_window_view_and_its_adjoint(k: tuple, s: tuple, d: tuple) -> None:
    rng = np.random.default_rng(0)
    x = rng.standard_normal((2, 7, 8, 3))
    win = window_view(x, k, s, d)
    np.testing.assert_array_equal(win, _reference_windows(x, k, s, d))
    # fold is the adjoint of unfold: <unfold(x), y> == <x, fold(y)>
    y = rng.standard_normal(win.shape)
    assert np.isclose((win * y).sum(), (x * fold_windows(y, x.shape, s, d)).sum())


def test_channels_last_pads_and_keeps_views() -> None:
    x = np.arange(2 * 3 * 4 * 5, dtype=np.float64).reshape(2, 3, 4, 5)
    padded = channels_last(x, ((1, 2), (0, 1)), value=-1.0)
    assert padded.shape == (2, 7, 6, 3) and padded.flags.c_contiguous
    np.testing.assert_array_equal(padded[:, 1:5, 0:5], x.transpose(0, 2, 3, 1))
    assert (padded[:, 0] == -1).all() and (padded[:, 5:] == -1).all()
    assert (padded[:, :, 5] == -1).all()
    nhwc = np.ascontiguousarray(x.transpose(0, 2, 3, 1))
    assert np.shares_memory(channels_last(nhwc.transpose(0, 3, 1, 2)), nhwc)  # no copy


def test_generic_namespace_gives_the_same_windows() -> None:
    xp = pytest.importorskip("array_api_strict")
    rng = np.random.default_rng(1)
    x = rng.standard_normal((2, 3, 6, 5))
    strict = xp.asarray(x)
    assert namespace(strict) is not np
    padded = channels_last(strict, ((1, 1), (2, 0)))
    np.testing.assert_array_equal(np.asarray(padded), channels_last(x, ((1, 1), (2, 0))))
    win = window_view(padded, (2, 2), (2, 1), (1, 2))
    expected = window_view(channels_last(x, ((1, 1), (2, 0))), (2, 2), (2, 1), (1, 2))
    np.testing.assert_array_equal(np.asarray(win), expected)
    y = rng.standard_normal(expected.shape)
    folded = fold_windows(xp.asarray(y), padded.shape, (2, 1), (1, 2))
    np.testing.assert_allclose(np.asarray(folded), fold_windows(y, padded.shape, (2, 1), (1, 2)))


def test_channel_sums_and_dots_in_any_layout() -> None:
    rng = np.random.default_rng(0)
    nhwc = rng.standard_normal((3, 4, 5, 2))
    for x in (nhwc.transpose(0, 3, 1, 2), np.ascontiguousarray(nhwc.transpose(0, 3, 1, 2))):
        np.testing.assert_allclose(channel_sums(x), x.sum(axis=(0, 2, 3)))
        np.testing.assert_allclose(channel_dots(x, 2 * x), (2 * x * x).sum(axis=(0, 2, 3)))
    xp = pytest.importorskip("array_api_strict")
    strict = xp.asarray(nhwc)
    np.testing.assert_allclose(np.asarray(channel_dots(strict, strict)),
                               (nhwc * nhwc).sum(axis=(0, 2, 3)))


def test_reuse_freed_memory_is_idempotent() -> None:
    first = reuse_freed_memory()
    assert isinstance(first, bool) and reuse_freed_memory() == first
    big = np.ones(5_000_000)  # allocations still work, and memory still comes back
    assert big.sum() == 5_000_000
