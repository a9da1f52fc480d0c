"""polar(): the lecture's feature transform makes concentric circles linearly separable."""

from __future__ import annotations

import numpy as np
import pytest

import chainrule as cr
import chainrule.functional as F
from chainrule.features import polar


def _circles(n: int = 400, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    try:
        from chainrule.data.toy import circles
    except ImportError:  # the toy data module is another engineer's; generate here if absent
        rng = np.random.default_rng(seed)
        t = rng.uniform(0, 2 * np.pi, n)
        radius = np.where(np.arange(n) % 2 == 0, 1.0, 0.5)
        xy = radius[:, None] * np.c_[np.cos(t), np.sin(t)] + rng.normal(0, 0.05, (n, 2))
        return xy, (np.arange(n) % 2).astype(np.int64)
    return circles(n=n, noise=0.05, factor=0.5, seed=seed)


def _linear_accuracy(X: np.ndarray, y: np.ndarray, steps: int = 300) -> float:
    """A softmax (linear) classifier trained by full-batch gradient descent with chainrule."""
    X = (X - X.mean(0)) / X.std(0)
    labels = np.asarray(y, np.int64)
    cr.manual_seed(0)
    W = cr.tensor(np.zeros((2, X.shape[1])), requires_grad=True)
    b = cr.tensor(np.zeros(2), requires_grad=True)
    inputs = cr.tensor(X)
    for _ in range(steps):
        loss = F.cross_entropy(F.linear(inputs, W, b), labels)
        W.grad = b.grad = None
        loss.backward()
        W.data -= 0.5 * W.grad
        b.data -= 0.5 * b.grad
    with cr.no_grad():
        scores = F.linear(inputs, W, b).data
    return float((scores.argmax(1) == labels).mean())


def test_values_and_shapes():
    out = polar(np.array([[1.0, 0.0], [0.0, 2.0], [-3.0, 0.0], [0.0, -1.0]]))
    np.testing.assert_allclose(out, [[1, 0], [2, np.pi / 2], [3, np.pi], [1, -np.pi / 2]])
    np.testing.assert_allclose(polar(np.array([4, 3]), center=(1, -1)), [5, np.arctan2(4, 3)])
    assert polar(np.ones((3, 2), np.float32)).dtype == np.float32


def test_polar_makes_circles_linearly_separable():
    X, y = _circles()
    raw = _linear_accuracy(X, y)
    transformed = _linear_accuracy(polar(X), y)
    assert transformed > 0.95
    assert raw < 0.75  # the point of the transform: no line separates the raw circles


def test_errors():
    with pytest.raises(cr.ShapeError, match=r"\(N, 2\)"):
        polar(np.zeros((4, 3)))
    with pytest.raises(cr.DataError, match="dtype"):
        polar(np.array([["a", "b"]]))
