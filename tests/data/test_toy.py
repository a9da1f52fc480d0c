"""Toy 2D data sets: shapes, dtypes, reproducibility and the geometry of each."""

from __future__ import annotations

import numpy as np
import pytest

from chainrule.data import toy

MAKERS = {
    "spiral": lambda **kw: toy.spiral(**kw),
    "circles": lambda **kw: toy.circles(**kw),
    "xor": lambda **kw: toy.xor(**kw),
    "gaussians": lambda **kw: toy.gaussians(**kw),
    "moons": lambda **kw: toy.moons(**kw),
}


@pytest.mark.parametrize("name", list(MAKERS))
def test_shapes_dtypes_and_seeds(name: str) -> None:
    X, y = MAKERS[name](seed=3)
    assert X.dtype == np.float32 and y.dtype == np.int64
    assert X.ndim == 2 and X.shape[1] == 2 and y.shape == (X.shape[0],)
    X2, y2 = MAKERS[name](seed=3)
    np.testing.assert_array_equal(X, X2)
    np.testing.assert_array_equal(y, y2)
    X3, _ = MAKERS[name](seed=4)
    assert not np.array_equal(X, X3)
    assert np.all(np.isfinite(X))


def test_spiral_is_the_cs231n_formula() -> None:
    X, y = toy.spiral(n_per_class=100, classes=3, noise=0.0)
    assert X.shape == (300, 2)
    assert np.bincount(y).tolist() == [100, 100, 100]
    for j in range(3):
        r = np.linspace(0.0, 1, 100)
        t = np.linspace(j * 4, (j + 1) * 4, 100)
        np.testing.assert_allclose(X[y == j], np.c_[r * np.sin(t), r * np.cos(t)], atol=1e-6)
    X, y = toy.spiral(n_per_class=50, classes=5, noise=0.2, seed=0)
    assert X.shape == (250, 2) and set(y.tolist()) == set(range(5))
    radii = np.hypot(X[:, 0], X[:, 1])
    np.testing.assert_allclose(radii[y == 0], np.linspace(0, 1, 50), atol=1e-6)  # noise: angle


def test_circles_have_two_radii() -> None:
    X, y = toy.circles(n=200, noise=0.0, factor=0.3, seed=0)
    r = np.hypot(X[:, 0], X[:, 1])
    np.testing.assert_allclose(r[y == 0], 1.0, atol=1e-6)
    np.testing.assert_allclose(r[y == 1], 0.3, atol=1e-6)
    assert np.bincount(y).tolist() == [100, 100]
    assert np.bincount(toy.circles(n=201, seed=0)[1]).tolist() == [100, 101]


def test_xor_labels_by_quadrant() -> None:
    X, y = toy.xor(n=400, noise=0.0, seed=0)
    np.testing.assert_array_equal(y, (X[:, 0] * X[:, 1] < 0).astype(np.int64))
    assert np.abs(X).max() <= 1.0
    assert 150 < y.sum() < 250


def test_gaussians_are_two_blobs() -> None:
    X, y = toy.gaussians(n=1000, noise=0.5, seed=0)
    np.testing.assert_allclose(X[y == 0].mean(0), [-1, -1], atol=0.1)
    np.testing.assert_allclose(X[y == 1].mean(0), [1, 1], atol=0.1)
    np.testing.assert_allclose(X[y == 0].std(0), [0.5, 0.5], atol=0.05)


def test_moons_are_half_circles() -> None:
    X, y = toy.moons(n=200, noise=0.0, seed=0)
    np.testing.assert_allclose(np.hypot(X[y == 0, 0], X[y == 0, 1]), 1.0, atol=1e-6)
    assert np.all(X[y == 0, 1] >= -1e-6) and np.all(X[y == 1, 1] <= 0.5 + 1e-6)
    np.testing.assert_allclose(np.hypot(X[y == 1, 0] - 1, X[y == 1, 1] - 0.5), 1.0, atol=1e-6)


def test_bad_arguments() -> None:
    with pytest.raises(ValueError, match="noise"):
        toy.spiral(noise=-1)
    with pytest.raises(ValueError, match="factor"):
        toy.circles(factor=1.5)
    with pytest.raises(ValueError, match="points"):
        toy.moons(n=1)
    with pytest.raises(ValueError, match="classes"):
        toy.spiral(classes=0)
