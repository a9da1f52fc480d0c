"""TrainConfig: its checks, and choices that follow the nn/optim registries."""

from __future__ import annotations

import pytest

import chainrule as cr
from chainrule import nn, optim
from chainrule.train import TrainConfig
from chainrule.train.config import ACTIVATION_CHOICES, DEFAULT_LR


@pytest.mark.parametrize(("setting", "message"), [
    ({"epochs": 0}, "epochs must be >= 1, got 0"),
    ({"optimizer": "lbfgs"}, "optimizer must be one of sgd, momentum, nesterov, rmsprop, adam, "
                             "adamw, got 'lbfgs'"),
    ({"loss": "hinge"}, "loss must be one of softmax, svm, got 'hinge'"),
    ({"activation": "swish"}, "activation must be one of relu, leaky_relu, prelu, elu, tanh, "
                              "sigmoid, maxout, linear, got 'swish'"),
    ({"lr_schedule": "cyclic"}, "lr schedule must be one of"),
    ({"hidden": [8, 0]}, "hidden sizes must be >= 1"),
    ({"dropout": 1.0}, "dropout must be in [0, 1)"),
    ({"early_stopping": 2}, "early stopping needs a validation split"),
])
def test_bad_settings_raise_config_errors(setting: dict, message: str) -> None:
    with pytest.raises(cr.ConfigError) as err:
        TrainConfig(**setting)
    assert message in str(err.value)
    assert isinstance(err.value, ValueError) and isinstance(err.value, cr.ChainruleError)


def test_activation_choices_are_the_registry_without_aliases() -> None:
    assert ACTIVATION_CHOICES == ("relu", "leaky_relu", "prelu", "elu", "tanh", "sigmoid",
                                  "maxout", "linear")
    assert set(ACTIVATION_CHOICES) | set(nn.ACTIVATION_ALIASES) == set(nn.ACTIVATIONS)
    assert TrainConfig(activation="identity").activation == "identity"  # an alias is accepted


def test_a_registered_optimizer_and_loss_become_valid_settings(monkeypatch) -> None:
    monkeypatch.setitem(optim.OPTIMIZERS, "plain", lambda params, lr: optim.SGD(params, lr=lr))
    monkeypatch.setitem(nn.LOSSES, "hinge2", nn.MulticlassHingeLoss)
    cfg = TrainConfig(optimizer="plain", loss="hinge2", lr=0.3)
    assert (cfg.optimizer, cfg.loss, cfg.learning_rate) == ("plain", "hinge2", 0.3)


def test_every_optimizer_has_a_default_learning_rate() -> None:
    assert set(DEFAULT_LR) == set(optim.OPTIMIZERS)
    assert TrainConfig(optimizer="momentum").learning_rate == 0.05


def test_dict_round_trip_ignores_unknown_keys() -> None:
    cfg = TrainConfig(hidden=[10, 5], features="hog", val_fraction=0.1, early_stopping=3)
    assert TrainConfig.from_dict({**cfg.to_dict(), "not_a_setting": 1}) == cfg


def test_a_convnet_run_takes_its_own_defaults() -> None:
    from chainrule.train.config import MODEL_DEFAULTS

    cnn = TrainConfig(model="cnn")
    for key, value in MODEL_DEFAULTS["cnn"].items():
        assert getattr(cnn, key) == value, key
    assert (cnn.optimizer, cnn.lr_schedule, cnn.batch_size) == ("nesterov", "onecycle", 128)
    mlp = TrainConfig()
    assert (mlp.optimizer, mlp.epochs, mlp.dropout) == ("adam", 30, 0.3)  # as before
    given = TrainConfig(model="cnn", optimizer="adam", epochs=3, conv=[16, "M", 32])
    assert (given.optimizer, given.epochs, given.conv) == ("adam", 3, "16 pool 32")
    assert TrainConfig.from_dict(given.to_dict()) == given


@pytest.mark.parametrize(("setting", "message"), [
    ({"model": "rnn"}, "model must be one of mlp, cnn, got 'rnn'"),
    ({"conv": "32 pool"}, "conv blocks (--conv) need --model cnn"),
    ({"model": "cnn", "conv": "32 big"}, "conv spec: 'big' is neither"),
    ({"model": "cnn", "features": "hog"}, "a ConvNet learns its features from the pixels"),
])
def test_bad_convnet_settings(setting: dict, message: str) -> None:
    with pytest.raises(cr.ConfigError) as err:
        TrainConfig(**setting)
    assert message in str(err.value)


def test_augmentation_auto_follows_the_model_and_the_images() -> None:
    import numpy as np

    rgb, gray = np.zeros((20, 8, 8, 3), np.uint8), np.zeros((20, 8, 8, 1), np.uint8)
    assert TrainConfig(model="cnn").augmentation(rgb) == "crop-flip"
    assert TrainConfig(model="cnn").augmentation(gray) == "crop"
    assert TrainConfig().augmentation(gray) == "shift"
    assert TrainConfig().augmentation(np.zeros((20_000, 8, 8, 1), np.uint8)) == "none"
    with pytest.raises(cr.ConfigError, match="--augment crop-flip changes each batch of a "
                                             "ConvNet's images"):
        TrainConfig(augment="crop-flip").augmentation(rgb)
    with pytest.raises(cr.ConfigError, match="--augment shift needs images"):
        TrainConfig(augment="shift").augmentation(np.zeros((5, 3)))
