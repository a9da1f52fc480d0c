"""nn.mlp.state_shapes: the state of build_model(config), known without building it."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from chainrule import nn
from chainrule.nn.mlp import state_shapes

ACTIVATIONS = ["relu", "tanh", "prelu", "maxout", "linear", "elu"]


@st.composite
def configs(draw) -> dict:
    hidden = draw(st.lists(st.integers(1, 6), max_size=3))
    per_layer = draw(st.booleans()) and hidden
    activation = (draw(st.lists(st.sampled_from(ACTIVATIONS), min_size=len(hidden),
                                max_size=len(hidden))) if per_layer
                  else draw(st.sampled_from(ACTIVATIONS)))
    config = {"type": "MLP", "in_features": draw(st.integers(1, 7)), "hidden": hidden,
              "out_features": draw(st.integers(1, 5)), "activation": activation,
              "dropout": draw(st.sampled_from([0.0, 0.3])),
              "batchnorm": draw(st.booleans())}
    if isinstance(activation, str) and activation == "maxout":
        config["activation_kwargs"] = {"pieces": draw(st.integers(1, 3))}
    if isinstance(activation, str) and activation == "prelu":
        config["activation_kwargs"] = {"num_parameters": 1}
    return config


@settings(max_examples=60, deadline=None)
@given(config=configs())
def test_the_shapes_are_those_of_the_built_model(config) -> None:
    built = {k: tuple(v.shape) for k, v in nn.build_model(config).state_dict().items()}
    assert state_shapes(config) == built


@pytest.mark.parametrize("config", [
    {"in_features": 0, "hidden": [2], "out_features": 2},
    {"in_features": 2, "hidden": [2.5], "out_features": 2},
    {"in_features": 2, "hidden": "512", "out_features": 2},
    {"in_features": 2, "hidden": [2], "out_features": True},
    {"in_features": 2, "hidden": [2], "out_features": 2, "activation": 3},
    {"in_features": 2, "hidden": [2], "out_features": 2, "activation_kwargs": [1]},
    {"in_features": 2, "hidden": [2], "out_features": 2, "activation": "maxout",
     "activation_kwargs": {"pieces": 0}},
    {"in_features": 2, "hidden": [2], "out_features": 2, "activation": ["relu", "tanh"]},
    {"in_features": 2, "hidden": [2], "out_features": 2, "code": "x"},
    {"type": "CNN", "in_features": 2, "hidden": [2], "out_features": 2},
    [],
])
def test_bad_architectures_are_refused_without_building(config) -> None:
    with pytest.raises((ValueError, TypeError)):
        state_shapes(config)


@st.composite
def convnet_configs(draw) -> dict:
    blocks = draw(st.lists(st.one_of(st.integers(1, 5), st.just("pool")), min_size=1,
                           max_size=5).filter(lambda b: any(x != "pool" for x in b)))
    return {"type": "ConvNet", "in_channels": draw(st.integers(1, 3)),
            "num_classes": draw(st.integers(1, 4)), "blocks": blocks,
            "batchnorm": draw(st.booleans()), "dropout": draw(st.sampled_from([0.0, 0.25]))}


@settings(max_examples=40, deadline=None)
@given(config=convnet_configs())
def test_a_convnets_shapes_are_those_of_the_built_model(config) -> None:
    built = {k: tuple(v.shape) for k, v in nn.build_model(config).state_dict().items()}
    assert state_shapes(config) == built


@pytest.mark.parametrize("config", [
    {"type": "ConvNet", "in_channels": 0, "num_classes": 2, "blocks": [4]},
    {"type": "ConvNet", "in_channels": 1, "num_classes": 2.0, "blocks": [4]},
    {"type": "ConvNet", "in_channels": 1, "num_classes": 2, "blocks": "4 pool x"},
    {"type": "ConvNet", "in_channels": 1, "num_classes": 2, "blocks": ["pool"]},
    {"type": "ConvNet", "in_channels": 1, "num_classes": 2, "blocks": [4], "dropout": 1.5},
    {"type": "ConvNet", "in_channels": 1, "num_classes": 2, "blocks": [4], "batchnorm": "no"},
    {"type": "ConvNet", "in_channels": 1, "num_classes": 2},
])
def test_bad_convnet_architectures_are_refused_without_building(config) -> None:
    with pytest.raises((ValueError, TypeError)):
        state_shapes(config)
