"""What both estimators share: scikit-learn's tools (Pipeline, GridSearchCV with two
processes, cross_val_score, clone), pickling, data frames, and predictions that do not
depend on how the rows are batched."""

from __future__ import annotations

import pickle

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.datasets import load_digits, make_blobs
from sklearn.model_selection import GridSearchCV, cross_val_score
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler

from chainrule.sklearn import MLPClassifier, MLPRegressor


@pytest.fixture(scope="module")
def digits() -> tuple[np.ndarray, np.ndarray]:
    X, y = load_digits(return_X_y=True)
    return X[:600], y[:600]


def test_pipeline_and_cross_val_score(digits) -> None:
    pipe = Pipeline([("scale", StandardScaler()),
                     ("mlp", MLPClassifier(hidden=(32,), epochs=20, lr=1e-2))])
    scores = cross_val_score(pipe, *digits, cv=3)
    assert scores.shape == (3,) and scores.min() > 0.75


def test_grid_search_in_two_processes(digits) -> None:
    X, y = digits
    search = GridSearchCV(MLPClassifier(epochs=20, lr=1e-2),
                          {"hidden": [(8,), (32,)], "reg": [1e-4, 1e-2]}, cv=2, n_jobs=2)
    search.fit(X / 16, y)
    assert set(search.best_params_) == {"hidden", "reg"}
    assert search.best_score_ > 0.75
    assert search.cv_results_["mean_test_score"].shape == (4,)
    assert search.best_estimator_.score(X / 16, y) > 0.85


def test_get_params_set_params_and_clone() -> None:
    clf = MLPClassifier(hidden=(7,), lr=0.5)
    params = clf.get_params()
    assert params["hidden"] == (7,) and params["lr"] == 0.5 and params["loss"] == "softmax"
    assert clf.set_params(epochs=3, optimizer="sgd") is clf
    assert clf.epochs == 3 and clf.optimizer == "sgd"
    copy = clone(clf)
    assert copy.get_params() == clf.get_params() and copy is not clf


@pytest.mark.parametrize("make", [
    lambda: (MLPClassifier(hidden=(8,), epochs=3), make_blobs(60, random_state=0)),
    lambda: (MLPRegressor(hidden=(8,), epochs=3),
             (np.random.default_rng(0).standard_normal((60, 3)),
              np.random.default_rng(1).standard_normal(60))),
])
def test_pickling_keeps_predictions_and_training_goes_on(make) -> None:
    est, (X, y) = make()
    est.fit(X, y)
    again = pickle.loads(pickle.dumps(est))
    np.testing.assert_array_equal(again.predict(X), est.predict(X))
    extra = {"classes": np.unique(y)} if hasattr(est, "classes_") else {}
    est.partial_fit(X, y, **extra)
    again.partial_fit(X, y, **extra)
    assert again.n_iter_ == 4
    np.testing.assert_array_equal(again.predict(X), est.predict(X))


def test_fit_is_reproducible_and_seeded() -> None:
    X, y = make_blobs(80, random_state=0)
    a = MLPClassifier(hidden=(8,), epochs=3, dropout=0.2).fit(X, y).predict_proba(X)
    b = MLPClassifier(hidden=(8,), epochs=3, dropout=0.2).fit(X, y).predict_proba(X)
    c = MLPClassifier(hidden=(8,), epochs=3, dropout=0.2, seed=1).fit(X, y).predict_proba(X)
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)


@pytest.mark.parametrize(("dtype", "tolerance"), [("float32", 2e-6), ("float64", 1e-12)])
def test_predictions_do_not_depend_on_the_batching(digits, dtype, tolerance) -> None:
    """A row predicted alone, in a small batch or in the whole set gives the same numbers,
    to float32's precision (a few units of 2^-23) or float64's."""
    X, y = digits
    clf = MLPClassifier(hidden=(256,), epochs=3, dtype=dtype).fit(X / 16, y)
    whole = clf.predict_proba(X / 16)
    alone = np.concatenate([clf.predict_proba(X[i:i + 1] / 16) for i in range(len(X))])
    sevens = np.concatenate([clf.predict_proba(X[i:i + 7] / 16) for i in range(0, len(X), 7)])
    np.testing.assert_allclose(alone, whole, rtol=0, atol=tolerance)
    np.testing.assert_allclose(sevens, whole, rtol=0, atol=tolerance)
    np.testing.assert_array_equal(clf.predict(X[:50] / 16),
                                  [clf.predict(X[i:i + 1] / 16)[0] for i in range(50)])


def test_data_frames_give_feature_names() -> None:
    pd = pytest.importorskip("pandas")
    X, y = make_blobs(60, n_features=2, random_state=0)
    frame = pd.DataFrame(X, columns=["width", "height"])
    clf = MLPClassifier(hidden=(4,), epochs=2).fit(frame, y)
    assert list(clf.feature_names_in_) == ["width", "height"]
    with pytest.raises(ValueError, match="feature names"):
        clf.predict(pd.DataFrame(X, columns=["height", "width"]))
    assert not hasattr(MLPClassifier(hidden=(4,), epochs=1).fit(X, y), "feature_names_in_")
