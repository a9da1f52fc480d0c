"""The playground's 2D data: input features, generated data sets, CSV upload parsing."""

from __future__ import annotations

import numpy as np
import pytest

from chainrule.playground import limits
from chainrule.playground.datasets import FEATURES, feature_matrix, make_dataset, parse_csv
from chainrule.playground.limits import LimitError


def test_feature_matrix_formulas():
    pts = np.array([[1.0, 2.0], [-3.0, 0.5]], dtype=np.float32)
    phi = feature_matrix(pts, list(FEATURES))
    a, b = pts[:, 0], pts[:, 1]
    expected = np.stack([a, b, a * a, b * b, a * b, np.sin(a), np.sin(b), np.hypot(a, b),
                         np.arctan2(b, a)], axis=1)
    np.testing.assert_allclose(phi, expected, rtol=1e-6)
    assert phi.dtype == np.float32


@pytest.mark.parametrize("name, classes", [("circle", 2), ("xor", 2), ("gauss", 2),
                                           ("gauss", 4), ("spiral", 3), ("spiral", 5)])
def test_classification_datasets(name, classes):
    X, y = make_dataset(name, 300, 20, classes, seed=3)
    assert X.dtype == np.float32 and y.dtype == np.int64
    assert np.abs(X).max() <= limits.DOMAIN
    assert sorted(set(y.tolist())) == list(range(classes))
    X2, y2 = make_dataset(name, 300, 20, classes, seed=3)
    np.testing.assert_array_equal(X, X2)
    np.testing.assert_array_equal(y, y2)  # seeded: the same setup gives the same points


@pytest.mark.parametrize("name", ["plane", "multigauss"])
def test_regression_datasets(name):
    X, y = make_dataset(name, 200, 0, 2, seed=0)
    assert X.shape == (200, 2) and y.dtype == np.float32
    assert -1.0 <= y.min() < 0 < y.max() <= 1.0


def test_circle_is_separable_by_radius():
    X, y = make_dataset("circle", 400, 0, 2, seed=1)
    r = np.hypot(X[:, 0], X[:, 1])
    assert r[y == 1].max() < r[y == 0].min()  # inner circle is class 1


def test_parse_csv_and_its_errors():
    X, y = parse_csv("x1,x2,label\n# note\n1,2,0\n\n-1;0.5;3\n", "classification")
    assert X.tolist() == [[1.0, 2.0], [-1.0, 0.5]] and y.tolist() == [0, 3]
    X, y = parse_csv("0,0,0.5\n1,1,-1\n", "regression")
    assert y.dtype == np.float32 and y.tolist() == [0.5, -1.0]
    for text, needle, problem in [
        ("1,2,0\n", "at least 2", "classification"),
        ("1,2,0\n1,2,0.5\n", "not a class", "classification"),
        ("1,2,0\n1,2,9\n", "not a class", "classification"),
        ("0,0,2\n1,1,0\n", "outside", "regression"),
        ("1,2,0\nfoo,2,1\n", "line 2: not numbers", "classification"),
    ]:
        with pytest.raises(LimitError, match=needle):
            parse_csv(text, problem)
    many = "".join("0,0,0\n" for _ in range(limits.MAX_POINTS + 1))
    with pytest.raises(LimitError, match="more than"):
        parse_csv(many, "classification")


def test_spiral_is_the_tensorflow_playgrounds_and_cs231n_keeps_its_own() -> None:
    from chainrule.playground.datasets import tf_spiral

    X, y = make_dataset("spiral", 400, 0, 2, seed=1)
    np.testing.assert_array_equal(np.bincount(y), [200, 200])
    i = np.arange(200)
    t = 1.75 * i / 200 * 2 * np.pi
    r = i / 200 * 5
    np.testing.assert_allclose(X[y == 0], np.stack([r * np.sin(t), r * np.cos(t)], 1),
                               atol=1e-5)                     # arm 0; arm 1 is turned by pi
    np.testing.assert_allclose(X[y == 1], -X[y == 0], atol=1e-5)
    noisy, _ = tf_spiral(400, 0.5, 2, np.random.default_rng(0))
    assert np.abs(noisy - X).max() <= 0.5 + 1e-6               # uniform noise of +-0.5
    X3, y3 = make_dataset("cs231n_spiral", 300, 10, 3, seed=0)
    np.testing.assert_array_equal(np.bincount(y3), [100, 100, 100])
    assert np.hypot(*X3.T).max() < 5.5                         # the old one, scaled by 5


def test_the_spiral_needs_features_or_capacity() -> None:
    """A 4-2 tanh net on X1, X2 learns the CS231n spiral but not the Playground's."""
    from chainrule.playground.config import Config
    from chainrule.playground.session import Session

    def test_accuracy(**changes) -> float:
        s = Session(Config().updated(changes))
        s.step(80)
        return s.frame()["test_acc"]

    assert test_accuracy(dataset="cs231n_spiral") > 0.9
    assert test_accuracy(dataset="spiral") < 0.75
    assert test_accuracy(dataset="spiral", features=["x1", "x2", "sinx1", "sinx2"],
                         hidden=[8, 8], optimizer="adam", learning_rate=0.01) > 0.9
    assert test_accuracy(dataset="spiral", hidden=[8, 8, 8, 8], activation="relu",
                         optimizer="adam", learning_rate=0.01) > 0.9
