"""What :class:`MLPClassifier` and :class:`MLPRegressor` share: the settings, training with
chainrule's :class:`~chainrule.train.Trainer` (compiled steps included), and prediction.

The settings are those of ``chainrule train`` (:class:`~chainrule.train.TrainConfig`), and
``fit`` checks them exactly as the command does: a bad value raises
:class:`~chainrule.errors.ConfigError` (a ``ValueError``) naming the setting. ``__init__``
and ``set_params`` only store them, as scikit-learn requires.

Randomness: ``fit`` draws the initial weights, dropout masks and shuffles from a generator
of its own seeded with ``seed`` (:func:`chainrule.random.fork_rng`), so the same data give
the same model every time and the user's ``cr.manual_seed`` stream is left alone.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np
from sklearn.base import BaseEstimator
from sklearn.utils.validation import check_is_fitted, validate_data

from chainrule.errors import ConfigError
from chainrule.random import fork_rng

__all__ = ["MLPBase"]

#: scikit-learn's activation names that chainrule calls otherwise.
SKLEARN_ACTIVATIONS = {"logistic": "sigmoid", "identity": "linear"}
FLOATS = (np.float64, np.float32)


class MLPBase(BaseEstimator):
    """A fully-connected network trained by chainrule; see :class:`MLPClassifier`.

    Subclasses set ``_task`` (``'classification'`` or ``'regression'``) and define
    ``_targets`` (y as the network's training targets), ``_outputs`` (how many outputs the
    network has), ``_loss_module`` and ``_loss_name`` (the loss for the config check).
    """

    _task = "classification"

    def __init__(
        self,
        hidden: int | Sequence[int] = (100,),
        activation: str = "relu",
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
        self.hidden = hidden
        self.activation = activation
        self.optimizer = optimizer
        self.lr = lr
        self.reg = reg
        self.lr_schedule = lr_schedule
        self.epochs = epochs
        self.batch_size = batch_size
        self.dropout = dropout
        self.batchnorm = batchnorm
        self.val_fraction = val_fraction
        self.early_stopping = early_stopping
        self.seed = seed
        self.dtype = dtype
        self.verbose = verbose

    # ------------------------------------------------------------------ settings
    def _config(self) -> Any:
        """The settings as :class:`~chainrule.train.TrainConfig` checks them."""
        from chainrule.train import TrainConfig

        hidden = [self.hidden] if isinstance(self.hidden, int) else list(self.hidden)
        activation = SKLEARN_ACTIVATIONS.get(self.activation, self.activation)
        cfg = TrainConfig(
            hidden=hidden, activation=activation, loss=self._loss_name(),
            optimizer=self.optimizer, lr=self.lr, reg=self.reg, lr_schedule=self.lr_schedule,
            epochs=self.epochs, batch_size=self.batch_size, dropout=self.dropout,
            batchnorm=self.batchnorm, val_fraction=self.val_fraction,
            early_stopping=self.early_stopping, seed=self.seed, augment="none",
        )
        if self.dtype not in ("float32", "float64"):
            raise ConfigError(f"dtype must be 'float32' or 'float64', got {self.dtype!r}")
        return cfg

    def _loss_name(self) -> str:
        raise NotImplementedError

    # ------------------------------------------------------------------ training
    def _build(self, cfg: Any, n_features: int, n_outputs: int, schedule: bool,
               n_train: int) -> None:
        """The network, its optimizer and (for ``fit``) the learning-rate schedule."""
        from chainrule import nn
        from chainrule.train.factories import build_optimizer, build_scheduler

        self.model_ = nn.MLP(n_features, cfg.hidden, n_outputs, activation=cfg.activation,
                             dropout=cfg.dropout, batchnorm=cfg.batchnorm, dtype=self.dtype)
        self.optimizer_ = build_optimizer(cfg, self.model_)
        self.scheduler_, self._interval = None, "epoch"
        if schedule:
            steps_per_epoch = math.ceil(n_train / cfg.batch_size)
            self.scheduler_, self._interval = build_scheduler(cfg, self.optimizer_,
                                                              steps_per_epoch)

    def _trainer(self, cfg: Any, keep_best: bool, resume: bool) -> Any:
        """A Trainer of the network; ``resume``: go on counting from the last call, at the
        constant learning rate (``partial_fit`` after ``fit`` or ``partial_fit``)."""
        from chainrule.train import Trainer

        scheduler = None if resume else self.scheduler_
        trainer = Trainer(
            self.model_, self._loss_module(), self.optimizer_, scheduler,
            batch_size=cfg.batch_size, seed=cfg.seed, reg=cfg.reg,
            early_stopping=cfg.early_stopping, keep_best=keep_best,
            progress=bool(self.verbose), scheduler_interval=self._interval, task=self._task,
        )
        if resume:
            trainer.load_state_dict(self._trainer_state)
            for group in self.optimizer_.param_groups:
                group["lr"] = cfg.learning_rate
        return trainer

    def _train(self, X: np.ndarray, targets: np.ndarray, partial: bool) -> None:
        """``fit``: a new network, trained ``epochs`` epochs (with the schedule and the
        validation split); ``partial_fit``: one more epoch at the constant ``lr`` (a new
        network on the first call)."""
        cfg = self._config()
        new = not partial or not hasattr(self, "model_")
        with fork_rng(seed=cfg.seed, state=None if new else self._rng_state) as rng:
            train, val = (X, targets), None
            if not partial and cfg.val_fraction > 0:
                train, val = self._split(X, targets, cfg)
            if new:
                self._build(cfg, X.shape[1], self._outputs(targets), schedule=not partial,
                            n_train=len(train[0]))
                self._trainer_state = None
            trainer = self._trainer(cfg, keep_best=val is not None, resume=not new)
            trainer.fit(train, val, epochs=trainer.epoch + 1 if partial else cfg.epochs)
            self._rng_state = rng.bit_generator.state
        self._trainer_state = trainer.state_dict()
        self.history_ = trainer.history
        self.n_iter_ = trainer.epoch
        self.loss_curve_ = list(trainer.history.train_loss)
        self.loss_ = self.loss_curve_[-1] if self.loss_curve_ else math.nan
        if val is not None:
            self.validation_scores_ = list(trainer.history.val_acc)
            self.best_validation_score_ = max(self.validation_scores_)

    def _split(self, X: np.ndarray, targets: np.ndarray, cfg: Any) -> tuple:
        """Hold out ``val_fraction`` of the samples: stratified by class for a classifier,
        at random for a regressor (seeded with ``seed``)."""
        from chainrule.data.split import stratified_split_indices

        classify = self._task == "classification"
        keep, held = stratified_split_indices(targets if classify else np.zeros(len(X)),
                                              cfg.val_fraction, seed=cfg.seed,
                                              stratify=classify)
        if len(keep) == 0 or len(held) == 0:
            raise ValueError(f"val_fraction={cfg.val_fraction} leaves no training or no "
                             f"validation samples of {len(X)}")
        return (X[keep], targets[keep]), (X[held], targets[held])

    # ------------------------------------------------------------------ prediction
    def _check_X(self, X: Any, reset: bool) -> np.ndarray:
        return validate_data(self, X, reset=reset, dtype=FLOATS)

    def _network_outputs(self, X: Any) -> np.ndarray:
        """The network's outputs for ``X`` (evaluation mode, no graph) as float64."""
        from chainrule.train.metrics import predict_scores

        check_is_fitted(self, "model_")
        X = self._check_X(X, reset=False)
        return predict_scores(self.model_, X).astype(np.float64)
