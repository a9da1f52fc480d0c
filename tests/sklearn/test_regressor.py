"""MLPRegressor: one or several outputs, float64 predictions, R², partial_fit."""

from __future__ import annotations

import numpy as np
import pytest

from chainrule.errors import ConfigError
from chainrule.sklearn import MLPRegressor


@pytest.fixture(scope="module")
def wave() -> tuple[np.ndarray, np.ndarray]:
    X = np.linspace(-2, 2, 256)[:, None]
    return X, np.sin(2 * X[:, 0])


def test_fits_a_curve(wave) -> None:
    X, y = wave
    reg = MLPRegressor(hidden=(32,), activation="tanh", epochs=150, lr=1e-2).fit(X, y)
    pred = reg.predict(X)
    assert pred.shape == (256,) and pred.dtype == np.float64
    assert reg.score(X, y) > 0.95
    assert reg.n_outputs_ == 1 and reg.n_iter_ == 150


def test_several_outputs(wave) -> None:
    X, y = wave
    Y = np.stack([y, np.cos(X[:, 0])], axis=1)
    reg = MLPRegressor(hidden=(32,), epochs=100, lr=1e-2).fit(X, Y)
    assert reg.n_outputs_ == 2 and reg.predict(X).shape == (256, 2)
    assert reg.score(X, Y) > 0.8


def test_validation_keeps_the_best_r2(wave) -> None:
    X, y = wave
    reg = MLPRegressor(hidden=(16,), epochs=30, lr=1e-2, val_fraction=0.25).fit(X, y)
    assert len(reg.validation_scores_) == 30
    assert reg.best_validation_score_ == max(reg.validation_scores_)
    assert -1 < reg.best_validation_score_ <= 1
    assert np.isnan(reg.history_.train_acc).all()        # no accuracy for regression


def test_partial_fit(wave) -> None:
    X, y = wave
    reg = MLPRegressor(hidden=(16,), lr=1e-2)
    for _ in range(3):
        reg.partial_fit(X, y)
    assert reg.n_iter_ == 3 and reg.loss_curve_[-1] < reg.loss_curve_[0]
    with pytest.raises(ValueError, match="outputs"):
        reg.partial_fit(X, np.stack([y, y], axis=1))


def test_only_squared_error(wave) -> None:
    with pytest.raises(ConfigError, match="squared_error"):
        MLPRegressor(loss="absolute_error").fit(*wave)


def test_verbose_prints_r2(wave, capsys) -> None:
    MLPRegressor(hidden=(4,), epochs=2, val_fraction=0.2, verbose=True).fit(*wave)
    out = capsys.readouterr().out
    assert "val R²" in out and "train acc" not in out
