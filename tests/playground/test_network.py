"""The typed network definition (playground/network.py) and what it builds."""

from __future__ import annotations

import pytest

from chainrule import nn
from chainrule.playground.config import ACTIVATIONS, Config
from chainrule.playground.limits import LimitError
from chainrule.playground.network import parse_network
from chainrule.playground.session import Session

CONVNETJS = """layer_defs = [];
layer_defs.push({type:'input', out_sx:1, out_sy:1, out_depth:2});
layer_defs.push({type:'fc', num_neurons:6, activation: 'tanh'});
layer_defs.push({type:'fc', num_neurons:2, activation: 'tanh'});
layer_defs.push({type:'softmax', num_classes:2});
"""


def parse(text: str, **kw):
    args = dict(features=2, problem="classification", num_classes=2, activations=ACTIVATIONS)
    return parse_network(text, **{**args, **kw})


def test_short_lines_and_convnetjs_definitions_mean_the_same() -> None:
    spec = parse(CONVNETJS)
    assert (spec.hidden, spec.activation, spec.loss) == ([6, 2], ["tanh", "tanh"], "softmax")
    spec = parse("input 2\nfc 6 tanh\nfc 2 tanh  # the default net of ConvNetJS\nsoftmax 2")
    assert (spec.hidden, spec.activation, spec.loss) == ([6, 2], ["tanh", "tanh"], "softmax")
    spec = parse("fc 8, prelu\n// a comment\n\nfc 4 MAXOUT\nfc 3")
    assert (spec.hidden, spec.activation, spec.loss) == ([8, 4, 3], ["prelu", "maxout",
                                                                       "linear"], None)
    assert parse("").hidden == []                          # a linear model
    assert parse("fc 4 relu\nsvm").loss == "svm"
    assert parse("fc 4 tanh\nregression 1", problem="regression").loss is None


@pytest.mark.parametrize("text, message", [
    ("fc 9 relu", "network line 1: num_neurons 9 is outside [1, 8]"),
    ("fc 0 relu", "num_neurons 0 is outside"),
    ("fc 4 swish", "network line 1: unknown activation 'swish'; choose one of relu, tanh"),
    ("fc four relu", "num_neurons must be a whole number, got 'four'"),
    ("\ninput 3\nfc 2 tanh", "network line 2: input 3, but 2 input features are switched on"),
    ("fc 2 tanh\ninput 2", "input must come first"),
    ("fc 2 tanh\nsoftmax 3", "network line 2: softmax 3, but the data have 2 classes"),
    ("fc 2 tanh\nregression 1", "regression is an output for regression, but the problem is "
                                "classification"),
    ("softmax 2\nfc 2 tanh", "network line 2: nothing may follow the output layer"),
    ("conv 3 relu", "unknown layer 'conv'"),
    ("{type:'pool', sx:2}", "unknown layer type 'pool'"),
    ("{num_neurons: 4}", "a layer needs a type"),
    ("fc 2 relu extra", "too many words"),
    ("fc\n", "fc needs num_neurons"),
    ("{type:'fc', num_neurons:4, activation:'maxout', group_size:3}", "group_size 2"),
    ("fc 2\n" * 7, "network line 7: at most 6 hidden layers"),
    ("x" * 5000, "longer than 4000 characters"),
])
def test_every_mistake_is_one_line_naming_its_line(text: str, message: str) -> None:
    with pytest.raises(LimitError) as info:
        parse(text)
    assert message in str(info.value)
    assert "\n" not in str(info.value)


def test_a_definition_sets_the_layers_their_activations_and_the_loss() -> None:
    c = Config().updated({"network": "fc 8 relu\nfc 4 prelu\nfc 3 maxout\nsvm 2"})
    assert (c.hidden, c.activation, c.loss) == ([8, 4, 3], ["relu", "prelu", "maxout"], "svm")
    assert Config().updated({"network": "fc 5 relu\nfc 3 relu"}).activation == "relu"
    with pytest.raises(LimitError, match="not both"):
        Config().updated({"network": "fc 2 relu", "hidden": [2]})
    with pytest.raises(LimitError, match="input 2, but 3 input features"):
        Config().updated({"features": ["x1", "x2", "r"], "network": "input 2\nfc 2 relu"})


def test_per_layer_activations_follow_layers_added_and_removed() -> None:
    c = Config().updated({"network": "fc 8 relu\nfc 4 maxout"})
    assert c.updated({"hidden": [8, 4, 2]}).activation == ["relu", "maxout", "maxout"]
    assert c.updated({"hidden": [8]}).activation == "relu"
    assert c.updated({"activation": "tanh"}).activation == "tanh"
    with pytest.raises(LimitError, match="a list of 2 names"):
        c.updated({"activation": ["relu"]})


def test_the_session_builds_and_trains_prelu_and_maxout_layers() -> None:
    s = Session(Config().updated({"network": "fc 6 maxout\nfc 6 prelu\nfc 4 relu"}))
    kinds = [type(m).__name__ for m in s.model.children()]
    assert kinds == ["Linear", "MaxoutPool", "Linear", "PReLU", "Linear", "ReLU", "Linear"]
    assert s.linears[0].weight.shape == (12, 2)            # 2 pieces per maxout unit
    slope = next(m for m in s.model.children() if isinstance(m, nn.PReLU)).weight
    before = slope.data.copy()
    s.step(5)
    assert (slope.data != before).any()                    # the slope is learned
    frame = s.frame()
    assert [len(layer) for layer in frame["neurons"]] == [6, 6, 4]
    assert [len(w) for w in frame["weights"]] == [12, 6, 4, 2]
    assert frame["train_loss"] is not None
    rebuilt = nn.build_model(s.model.config())
    assert [type(m).__name__ for m in rebuilt.children()] == kinds
