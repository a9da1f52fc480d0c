"""``MLPRegressor``: a chainrule network as a scikit-learn regressor."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from sklearn.base import RegressorMixin
from sklearn.utils.validation import validate_data

from chainrule.errors import ConfigError
from chainrule.sklearn.base import FLOATS, MLPBase

__all__ = ["MLPRegressor"]


class MLPRegressor(RegressorMixin, MLPBase):
    """A fully-connected network regressor, trained by chainrule (scikit-learn's API).

    The settings are :class:`MLPClassifier`'s, with ``loss='squared_error'`` (the mean
    squared error, ``nn.MSELoss``) and ``val_fraction`` holding out a random (not
    stratified) share whose R² picks the best epoch. ``y`` may have several columns (one
    output each). Scale the targets to unit size (e.g. with scikit-learn's
    ``TransformedTargetRegressor``): the network starts with outputs near 0.

    Fitted attributes: ``n_outputs_`` and those of :class:`MLPClassifier` but
    ``classes_``.

    >>> import numpy as np
    >>> X = np.linspace(-2, 2, 200)[:, None]
    >>> reg = MLPRegressor(hidden=(32,), epochs=200, lr=1e-2).fit(X, np.sin(X[:, 0]))
    >>> reg.score(X, np.sin(X[:, 0])) > 0.95
    True
    """

    _task = "regression"

    def __init__(
        self,
        hidden: int | Sequence[int] = (100,),
        activation: str = "relu",
        loss: str = "squared_error",
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
        if self.loss != "squared_error":
            raise ConfigError(f"loss must be 'squared_error' for a regressor, got {self.loss!r}")
        return "softmax"  # TrainConfig checks classification losses; the regressor has its own

    def _loss_module(self) -> Any:
        from chainrule import nn

        return nn.MSELoss()

    def _outputs(self, targets: np.ndarray) -> int:
        return self.n_outputs_

    def _targets(self, y: np.ndarray) -> np.ndarray:
        return np.asarray(y, dtype=np.float64).reshape(len(y), -1)

    # ------------------------------------------------------------------ training
    def fit(self, X: Any, y: Any) -> MLPRegressor:
        """Train a new network on ``X`` (n_samples, n_features) and targets ``y``
        (n_samples,) or (n_samples, n_outputs)."""
        X, y = validate_data(self, X, y, dtype=FLOATS, multi_output=True, y_numeric=True)
        targets = self._targets(y)
        self.n_outputs_ = targets.shape[1]
        self._train(X, targets, partial=False)
        return self

    def partial_fit(self, X: Any, y: Any) -> MLPRegressor:
        """One more epoch over ``(X, y)`` at the constant learning rate ``lr`` (the first
        call builds the network)."""
        first = not hasattr(self, "model_")
        X, y = validate_data(self, X, y, dtype=FLOATS, multi_output=True, y_numeric=True,
                             reset=first)
        targets = self._targets(y)
        if first:
            self.n_outputs_ = targets.shape[1]
        elif targets.shape[1] != self.n_outputs_:
            raise ValueError(f"partial_fit: y has {targets.shape[1]} outputs, the network "
                             f"was built for {self.n_outputs_}")
        self._train(X, targets, partial=True)
        return self

    # ------------------------------------------------------------------ prediction
    def predict(self, X: Any) -> np.ndarray:
        """The network's outputs as float64: ``(n_samples,)`` for one output, else
        ``(n_samples, n_outputs)``."""
        out = self._network_outputs(X)
        return out[:, 0] if self.n_outputs_ == 1 else out

    def __sklearn_tags__(self) -> Any:
        tags = super().__sklearn_tags__()
        tags.target_tags.multi_output = True
        return tags
