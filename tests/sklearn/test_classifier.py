"""MLPClassifier: fit, predict, probabilities, partial_fit, labels of any kind, settings."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.datasets import load_digits, make_blobs
from sklearn.model_selection import train_test_split

import chainrule as cr
from chainrule.errors import ConfigError
from chainrule.sklearn import MLPClassifier


@pytest.fixture(scope="module")
def blobs() -> tuple[np.ndarray, np.ndarray]:
    return make_blobs(n_samples=300, centers=3, n_features=5, random_state=0)


def test_fit_predict_on_digits() -> None:
    X, y = load_digits(return_X_y=True)
    X_train, X_test, y_train, y_test = train_test_split(X / 16, y, random_state=0)
    clf = MLPClassifier(hidden=(64,), epochs=15, lr=1e-2).fit(X_train, y_train)
    assert clf.score(X_test, y_test) > 0.95
    assert list(clf.classes_) == list(range(10))
    assert clf.n_features_in_ == 64
    assert clf.n_iter_ == 15 and len(clf.loss_curve_) == 15
    assert clf.loss_curve_[-1] < clf.loss_curve_[0]


def test_the_trainer_trains_compiled(blobs) -> None:
    """fit goes through chainrule's Trainer; its steps are compiled (no eager fallback)."""
    from chainrule.train import Trainer

    seen = []
    original = Trainer._step

    def spy(self, xb, yb):
        out = original(self, xb, yb)
        seen.append(self._compiled.compiled)
        return out

    Trainer._step = spy
    try:
        MLPClassifier(hidden=(8,), epochs=2).fit(*blobs)
    finally:
        Trainer._step = original
    assert seen and all(seen)


def test_probabilities_scores_and_predictions_agree(blobs) -> None:
    X, y = blobs
    clf = MLPClassifier(hidden=(16,), epochs=20, lr=1e-2).fit(X, y)
    proba, scores = clf.predict_proba(X), clf.decision_function(X)
    assert proba.dtype == np.float64 and proba.shape == (300, 3)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0)
    np.testing.assert_array_equal(clf.predict(X), clf.classes_[scores.argmax(axis=1)])
    np.testing.assert_array_equal(proba.argmax(axis=1), scores.argmax(axis=1))
    np.testing.assert_allclose(clf.predict_log_proba(X), np.log(proba))
    assert clf.score(X, y) > 0.9


def test_binary_decision_function_is_the_second_class_margin() -> None:
    X, y = make_blobs(n_samples=100, centers=2, random_state=1)
    labels = np.where(y == 1, "dog", "cat")
    clf = MLPClassifier(hidden=(8,), epochs=20, lr=1e-2).fit(X, labels)
    margin = clf.decision_function(X)
    assert margin.shape == (100,)
    np.testing.assert_array_equal(clf.predict(X), np.where(margin > 0, "dog", "cat"))
    assert list(clf.classes_) == ["cat", "dog"]


def test_svm_loss_has_no_probabilities(blobs) -> None:
    clf = MLPClassifier(hidden=(8,), loss="svm", epochs=5).fit(*blobs)
    assert not hasattr(clf, "predict_proba")
    with pytest.raises(AttributeError, match="predict_proba"):
        clf.predict_proba(blobs[0])
    assert clf.decision_function(blobs[0]).shape == (300, 3)


def test_partial_fit_needs_classes_first_then_continues(blobs) -> None:
    X, y = blobs
    clf = MLPClassifier(hidden=(16,), lr=1e-2)
    with pytest.raises(ValueError, match="classes"):
        clf.partial_fit(X, y)
    for _ in range(5):
        clf.partial_fit(X[:150], y[:150], classes=[0, 1, 2])
    assert clf.n_iter_ == 5 and len(clf.loss_curve_) == 5
    assert clf.score(X[150:], y[150:]) > 0.8
    with pytest.raises(ValueError, match=r"not in classes \[0, 1, 2\]"):
        clf.partial_fit(X[:3], [0, 1, 7])
    with pytest.raises(ValueError, match="differ"):
        clf.partial_fit(X[:3], [0, 1, 2], classes=[0, 1])


def test_partial_fit_after_fit_uses_the_constant_learning_rate(blobs) -> None:
    clf = MLPClassifier(hidden=(8,), epochs=3, lr=0.02).fit(*blobs)
    assert clf.optimizer_.param_groups[0]["lr"] < 0.02          # cosine schedule decayed it
    clf.partial_fit(*blobs)
    assert clf.n_iter_ == 4 and clf.optimizer_.param_groups[0]["lr"] == 0.02


def test_validation_split_and_early_stopping(blobs) -> None:
    clf = MLPClassifier(hidden=(8,), epochs=40, lr=0.05, val_fraction=0.2,
                        early_stopping=2).fit(*blobs)
    assert clf.n_iter_ < 40                                     # stopped early
    assert len(clf.validation_scores_) == clf.n_iter_
    assert clf.best_validation_score_ == max(clf.validation_scores_)


def test_one_class_is_refused() -> None:
    with pytest.raises(ValueError, match="at least 2 classes"):
        MLPClassifier().fit(np.zeros((5, 2)), np.ones(5))


@pytest.mark.parametrize(("setting", "message"), [
    ({"optimizer": "lbfgs"}, "optimizer must be one of"),
    ({"activation": "swish"}, "activation must be one of"),
    ({"loss": "hinge"}, "loss must be one of"),
    ({"epochs": 0}, "epochs must be >= 1"),
    ({"early_stopping": 3}, "early stopping needs a validation split"),
    ({"dtype": "float16"}, "dtype must be 'float32' or 'float64'"),
])
def test_bad_settings_fail_at_fit_like_chainrule_train(blobs, setting, message) -> None:
    clf = MLPClassifier(**setting)                              # storing them never fails
    with pytest.raises(ConfigError, match=message):
        clf.fit(*blobs)


def test_sklearn_activation_names_are_accepted(blobs) -> None:
    clf = MLPClassifier(hidden=(4,), activation="logistic", epochs=1).fit(*blobs)
    assert type(clf.model_[1]).__name__ == "Sigmoid"


def test_float64_networks_train_and_predict_in_float64(blobs) -> None:
    clf = MLPClassifier(hidden=(8,), epochs=2, dtype="float64").fit(*blobs)
    assert all(p.dtype == np.float64 for p in clf.model_.parameters())
    clf32 = MLPClassifier(hidden=(8,), epochs=2).fit(blobs[0].astype(np.float64), blobs[1])
    assert all(p.dtype == np.float32 for p in clf32.model_.parameters())


def test_fit_leaves_the_global_random_stream_alone(blobs) -> None:
    cr.manual_seed(5)
    expected = cr.randn(3).data
    cr.manual_seed(5)
    MLPClassifier(hidden=(4,), epochs=1, dropout=0.5).fit(*blobs)
    np.testing.assert_array_equal(cr.randn(3).data, expected)
