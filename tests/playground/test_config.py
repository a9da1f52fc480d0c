"""The playground's setup: Config validation and the choices it offers (registry names)."""

from __future__ import annotations

import pytest

from chainrule import nn, optim
from chainrule.playground import limits
from chainrule.playground.config import ACTIVATIONS, LOSSES, OPTIMIZERS, Config
from chainrule.playground.limits import LimitError
from chainrule.playground.session import Session


def test_config_validation():
    c = Config()
    assert c.updated({"hidden": [8] * limits.MAX_LAYERS}).hidden == [8] * 6
    with pytest.raises(LimitError, match="at most 6"):
        c.updated({"hidden": [1] * 7})
    with pytest.raises(LimitError, match="unknown field"):
        c.updated({"__class__": 1})
    with pytest.raises(LimitError, match="dataset"):
        c.updated({"dataset": "plane"})  # a regression set for a classification problem
    assert c.updated({"problem": "regression", "dataset": "plane"}).dataset == "plane"
    assert c.updated({"dataset": "xor", "num_classes": 5}).num_classes == 2
    assert c.updated({"features": ["r", "x1"]}).features == ["x1", "r"]  # canonical order
    with pytest.raises(LimitError):
        c.updated({"batch_size": True})
    with pytest.raises(LimitError, match="uploaded CSV"):
        c.updated({"dataset": "custom"})


def test_choices_are_the_pages_and_names_of_the_registries():
    # issue 15: the page offers PReLU and Maxout too
    assert ACTIVATIONS == ("relu", "tanh", "sigmoid", "linear", "leaky_relu", "elu", "prelu",
                           "maxout")
    assert OPTIMIZERS == ("sgd", "momentum", "rmsprop", "adam")
    assert LOSSES == ("softmax", "svm")
    assert set(ACTIVATIONS) <= set(nn.ACTIVATIONS) and set(OPTIMIZERS) <= set(optim.OPTIMIZERS)
    assert set(LOSSES) == set(nn.LOSSES)
    with pytest.raises(LimitError, match="activation"):
        Config().updated({"activation": "identity"})  # in the registry, not offered by the page


@pytest.mark.parametrize("name", OPTIMIZERS)
def test_each_optimizer_is_built_by_the_registry(name):
    s = Session(Config(optimizer=name, learning_rate=0.05))
    expected = optim.make_optimizer(name, list(s.model.parameters()), 0.05)
    assert type(s.optimizer) is type(expected)
    assert s.optimizer.param_groups[0].keys() == expected.param_groups[0].keys()
    for key, value in expected.param_groups[0].items():
        if key != "params":
            assert s.optimizer.param_groups[0][key] == value


@pytest.mark.parametrize("name", LOSSES)
def test_each_loss_is_built_by_the_registry(name):
    s = Session(Config(loss=name))
    assert type(s.criterion) is nn.LOSSES[name]
