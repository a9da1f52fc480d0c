"""Toy 2D classification sets: small enough to train on in a second, and to draw.

Each function returns ``(X, y)``: ``X`` float32 of shape ``(N, 2)``, ``y`` int64 of
shape ``(N,)``; ``seed`` makes it reproducible (``None``: fresh randomness).

* ``spiral``: the CS231n spiral, ``classes`` arms of ``n_per_class`` points; the
  lecture's example that a linear classifier cannot separate but a 2-layer net can.
* ``circles``: two concentric circles (separable in polar coordinates, the lecture's
  feature-transform example).
* ``xor``: four quadrants, opposite ones share a class.
* ``gaussians``: two Gaussian blobs (nearly linearly separable).
* ``moons``: two interleaving half circles.

>>> from chainrule.data.toy import spiral
>>> X, y = spiral(n_per_class=100, classes=3, seed=0)
>>> X.shape, y.shape, X.dtype, y.dtype
((300, 2), (300,), dtype('float32'), dtype('int64'))
"""

from __future__ import annotations

import numpy as np

__all__ = ["circles", "gaussians", "moons", "spiral", "xor"]


def _check(name: str, n: int, noise: float, minimum: int = 1) -> None:
    if int(n) < minimum:
        raise ValueError(f"{name}: need at least {minimum} points, got {n}")
    if noise < 0:
        raise ValueError(f"{name}: noise must be >= 0, got {noise}")


def _pack(X: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    return X.astype(np.float32), y.astype(np.int64)


def spiral(n_per_class: int = 100, classes: int = 3, noise: float = 0.2,
           seed: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """The CS231n spiral: for arm ``j``, radius ``r = linspace(0, 1)`` and angle
    ``t = linspace(4j, 4(j+1)) + noise * N(0, 1)``; points ``(r sin t, r cos t)``."""
    _check("spiral", n_per_class, noise)
    if classes < 1:
        raise ValueError(f"spiral: classes must be >= 1, got {classes}")
    rng = np.random.default_rng(seed)
    X = np.zeros((n_per_class * classes, 2))
    y = np.zeros(n_per_class * classes, dtype=np.int64)
    for j in range(classes):
        ix = slice(n_per_class * j, n_per_class * (j + 1))
        r = np.linspace(0.0, 1.0, n_per_class)
        t = np.linspace(j * 4, (j + 1) * 4, n_per_class) + rng.standard_normal(n_per_class) * noise
        X[ix] = np.c_[r * np.sin(t), r * np.cos(t)]
        y[ix] = j
    return _pack(X, y)


def circles(n: int = 200, noise: float = 0.1, factor: float = 0.5,
            seed: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Two concentric circles: class 0 on radius 1, class 1 on radius ``factor``
    (``0 < factor < 1``), plus Gaussian noise of std ``noise``."""
    _check("circles", n, noise, 2)
    if not 0 < factor < 1:
        raise ValueError(f"circles: factor must be in (0, 1), got {factor}")
    rng = np.random.default_rng(seed)
    n_outer = n // 2
    n_inner = n - n_outer
    t_out = np.linspace(0, 2 * np.pi, n_outer, endpoint=False)
    t_in = np.linspace(0, 2 * np.pi, n_inner, endpoint=False)
    X = np.concatenate([np.c_[np.cos(t_out), np.sin(t_out)],
                        factor * np.c_[np.cos(t_in), np.sin(t_in)]])
    y = np.concatenate([np.zeros(n_outer), np.ones(n_inner)])
    X += noise * rng.standard_normal(X.shape)
    perm = rng.permutation(n)
    return _pack(X[perm], y[perm])


def xor(n: int = 200, noise: float = 0.1, seed: int | None = None
        ) -> tuple[np.ndarray, np.ndarray]:
    """Points uniform in ``[-1, 1]^2``, class 1 where exactly one coordinate is positive
    (``x0 * x1 < 0``); labels come from the clean points, then noise of std ``noise``
    is added."""
    _check("xor", n, noise)
    rng = np.random.default_rng(seed)
    X = rng.uniform(-1.0, 1.0, size=(n, 2))
    y = (X[:, 0] * X[:, 1] < 0).astype(np.int64)
    X += noise * rng.standard_normal(X.shape)
    return _pack(X, y)


def gaussians(n: int = 200, noise: float = 0.5, seed: int | None = None
              ) -> tuple[np.ndarray, np.ndarray]:
    """Two Gaussian blobs of std ``noise`` centred at ``(-1, -1)`` (class 0) and
    ``(1, 1)`` (class 1)."""
    _check("gaussians", n, noise, 2)
    rng = np.random.default_rng(seed)
    n0 = n // 2
    y = np.concatenate([np.zeros(n0), np.ones(n - n0)]).astype(np.int64)
    centres = np.where(y[:, None] == 0, -1.0, 1.0) * np.ones((n, 2))
    X = centres + noise * rng.standard_normal((n, 2))
    perm = rng.permutation(n)
    return _pack(X[perm], y[perm])


def moons(n: int = 200, noise: float = 0.1, seed: int | None = None
          ) -> tuple[np.ndarray, np.ndarray]:
    """Two interleaving half circles: ``(cos t, sin t)`` and ``(1 - cos t, 0.5 - sin t)``
    for ``t`` in ``[0, pi]``, plus Gaussian noise of std ``noise``."""
    _check("moons", n, noise, 2)
    rng = np.random.default_rng(seed)
    n0 = n // 2
    n1 = n - n0
    t0 = np.linspace(0, np.pi, n0)
    t1 = np.linspace(0, np.pi, n1)
    X = np.concatenate([np.c_[np.cos(t0), np.sin(t0)],
                        np.c_[1 - np.cos(t1), 0.5 - np.sin(t1)]])
    y = np.concatenate([np.zeros(n0), np.ones(n1)])
    X += noise * rng.standard_normal(X.shape)
    perm = rng.permutation(n)
    return _pack(X[perm], y[perm])
