"""``MLPClassifier``: a chainrule network as a scikit-learn classifier."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from sklearn.base import ClassifierMixin
from sklearn.utils.metaestimators import available_if
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import validate_data

from chainrule.sklearn.base import FLOATS, MLPBase

__all__ = ["MLPClassifier"]


def _has_probabilities(estimator: MLPClassifier) -> bool:
    if estimator.loss != "softmax":
        raise AttributeError(f"predict_proba: only the softmax loss gives probabilities; this "
                             f"classifier uses loss={estimator.loss!r}")
    return True


class MLPClassifier(ClassifierMixin, MLPBase):
    """A fully-connected network classifier, trained by chainrule (scikit-learn's API).

    The settings are ``chainrule train``'s (same names, same checks):

    - ``hidden``: hidden layer sizes, e.g. ``(100,)`` or ``[256, 128]`` (``()``: a linear
      classifier); scikit-learn's ``hidden_layer_sizes``.
    - ``activation``: ``relu``, ``leaky_relu``, ``prelu``, ``elu``, ``tanh``, ``sigmoid``,
      ``maxout``, ``linear`` (scikit-learn's ``logistic`` and ``identity`` are accepted).
    - ``loss``: ``softmax`` (cross-entropy; gives ``predict_proba``) or ``svm``
      (multiclass hinge).
    - ``optimizer``: ``sgd``, ``momentum``, ``nesterov``, ``rmsprop``, ``adam``, ``adamw``;
      ``lr``: its learning rate (``None``: the optimizer's default, Adam's 1e-3);
      ``lr_schedule``: ``none``, ``step``, ``cosine``, ``linear``, ``invsqrt``.
    - ``reg``: L2 strength ``lambda`` on the weight matrices (scikit-learn's ``alpha``).
    - ``epochs`` (scikit-learn's ``max_iter``), ``batch_size``, ``dropout``, ``batchnorm``.
    - ``val_fraction``: hold out this share of the training data (stratified) and keep the
      weights of the epoch with the best validation accuracy; ``early_stopping``: stop
      after that many epochs without improvement (needs ``val_fraction > 0``).
    - ``seed``: initial weights, dropout and shuffling (scikit-learn's ``random_state``);
      ``dtype``: ``float32`` (default) or ``float64``, the type the network trains and
      predicts in; ``verbose``: print one line per epoch.

    Fitted attributes: ``classes_``, ``n_features_in_``, ``feature_names_in_`` (for data
    frames), ``model_`` (the :class:`chainrule.nn.MLP`), ``optimizer_``, ``history_``,
    ``n_iter_`` (epochs trained), ``loss_``, ``loss_curve_`` and, with a validation split,
    ``validation_scores_`` and ``best_validation_score_``.

    >>> from sklearn.datasets import load_digits
    >>> X, y = load_digits(return_X_y=True)
    >>> clf = MLPClassifier(hidden=(64,), epochs=20, lr=1e-2).fit(X / 16, y)
    >>> clf.score(X / 16, y) > 0.95
    True
    """

    _task = "classification"

    def __init__(
        self,
        hidden: int | Sequence[int] = (100,),
        activation: str = "relu",
        loss: str = "softmax",
        optimizer: str = "adam",
        lr: float | None = None,
        reg: float = 1e-4,
        lr_schedule: str = "cosine",
        epochs: int = 100,
        batch_size: int = 64,
        dropout: float = 0.0,
        batchnorm: bool = False,
        val_fraction: float = 0.0,
        early_stopping: int | None = None,
        seed: int = 0,
        dtype: str = "float32",
        verbose: bool = False,
    ) -> None:
        super().__init__(hidden=hidden, activation=activation, optimizer=optimizer, lr=lr,
                         reg=reg, lr_schedule=lr_schedule, epochs=epochs,
                         batch_size=batch_size, dropout=dropout, batchnorm=batchnorm,
                         val_fraction=val_fraction, early_stopping=early_stopping, seed=seed,
                         dtype=dtype, verbose=verbose)
        self.loss = loss

    def _loss_name(self) -> str:
        return self.loss

    def _loss_module(self) -> Any:
        from chainrule import nn

        return nn.loss(self.loss)

    def _outputs(self, targets: np.ndarray) -> int:
        return len(self.classes_)

    # ------------------------------------------------------------------ training
    def fit(self, X: Any, y: Any) -> MLPClassifier:
        """Train a new network on ``X`` (n_samples, n_features) and class labels ``y``."""
        X, y = validate_data(self, X, y, dtype=FLOATS)
        check_classification_targets(y)
        self.classes_, labels = np.unique(y, return_inverse=True)
        if len(self.classes_) < 2:
            raise ValueError(f"{type(self).__name__}: needs samples of at least 2 classes to "
                             f"learn from, got 1 class ({self.classes_[0]!r})")
        self._train(X, labels.reshape(-1), partial=False)
        return self

    def partial_fit(self, X: Any, y: Any, classes: Any = None) -> MLPClassifier:
        """One more epoch over ``(X, y)`` at the constant learning rate ``lr``.

        The first call builds the network and needs ``classes``, every class label there
        will be (scikit-learn's convention); later calls continue from the current weights
        and optimizer state.
        """
        first = not hasattr(self, "model_")
        if first:
            if classes is None:
                raise ValueError("partial_fit: give classes=[every class label] on the first "
                                 "call")
            self.classes_ = np.unique(classes)
        elif classes is not None and not np.array_equal(np.unique(classes), self.classes_):
            raise ValueError(f"partial_fit: classes {np.unique(classes).tolist()} differ from "
                             f"those of the first call, {self.classes_.tolist()}")
        X, y = validate_data(self, X, y, dtype=FLOATS, reset=first)
        check_classification_targets(y)
        labels = np.searchsorted(self.classes_, y)
        unknown = (labels >= len(self.classes_)) | (self.classes_[np.minimum(
            labels, len(self.classes_) - 1)] != y)
        if np.any(unknown):
            raise ValueError(f"partial_fit: y holds labels {np.unique(y[unknown]).tolist()} "
                             f"that are not in classes {self.classes_.tolist()}")
        self._train(X, labels, partial=True)
        return self

    # ------------------------------------------------------------------ prediction
    def decision_function(self, X: Any) -> np.ndarray:
        """Class scores ``(n_samples, n_classes)``; with two classes the margin of the second
        class, ``s_1 - s_0`` (positive: predicted ``classes_[1]``)."""
        scores = self._network_outputs(X)
        return scores[:, 1] - scores[:, 0] if len(self.classes_) == 2 else scores

    def predict(self, X: Any) -> np.ndarray:
        """The class of highest score for each row of ``X``."""
        scores = self._network_outputs(X)
        return self.classes_[np.argmax(scores, axis=1)]

    @available_if(_has_probabilities)
    def predict_proba(self, X: Any) -> np.ndarray:
        """Softmax of the class scores (in float64): each row sums to 1."""
        scores = self._network_outputs(X)
        scores -= scores.max(axis=1, keepdims=True)
        np.exp(scores, out=scores)
        scores /= scores.sum(axis=1, keepdims=True)
        return scores

    @available_if(_has_probabilities)
    def predict_log_proba(self, X: Any) -> np.ndarray:
        """``log(predict_proba(X))``."""
        with np.errstate(divide="ignore"):
            return np.log(self.predict_proba(X))
