"""MLP: layer order and names, the PyTorch round trip, configs, and the spiral."""

from __future__ import annotations

import json

import numpy as np
import pytest

import chainrule as cr
from chainrule import nn, optim
from chainrule.data.toy import spiral

torch = pytest.importorskip("torch")


def torch_equivalent(batchnorm: bool, dropout: float) -> torch.nn.Sequential:
    layers: list[torch.nn.Module] = []
    width = 2
    for h in (16, 8):
        layers.append(torch.nn.Linear(width, h))
        if batchnorm:
            layers.append(torch.nn.BatchNorm1d(h))
        layers.append(torch.nn.ReLU())
        if dropout:
            layers.append(torch.nn.Dropout(dropout))
        width = h
    layers.append(torch.nn.Linear(width, 3))
    return torch.nn.Sequential(*layers).double()


def test_mlp_is_the_lecture_net_with_pytorch_names() -> None:
    model = nn.MLP(3072, [100], 10)
    assert isinstance(model, nn.Sequential)
    shapes = {n: p.shape for n, p in model.named_parameters()}
    assert shapes == {"0.weight": (100, 3072), "0.bias": (100,), "2.weight": (10, 100),
                      "2.bias": (10,)}
    assert [type(m).__name__ for m in model] == ["Linear", "ReLU", "Linear"]
    three = nn.MLP(3072, [100, 50], 10, activation="sigmoid")
    assert [type(m).__name__ for m in three] == ["Linear", "Sigmoid", "Linear", "Sigmoid",
                                                 "Linear"]


def test_mlp_layer_order_with_batchnorm_and_dropout() -> None:
    model = nn.MLP(2, [16, 8], 3, dropout=0.2, batchnorm=True)
    assert [type(m).__name__ for m in model] == [
        "Linear", "BatchNorm1d", "ReLU", "Dropout",
        "Linear", "BatchNorm1d", "ReLU", "Dropout", "Linear"]
    assert model[3].p == 0.2


@pytest.mark.parametrize(("batchnorm", "dropout"), [(False, 0.0), (True, 0.0), (True, 0.3),
                                                    (False, 0.5)])
def test_state_dict_round_trip_with_torch(batchnorm: bool, dropout: float) -> None:
    model = nn.MLP(2, [16, 8], 3, dropout=dropout, batchnorm=batchnorm).double()
    x = np.random.default_rng(0).standard_normal((10, 2))
    model(x)                                          # move BatchNorm's running stats
    tmodel = torch_equivalent(batchnorm, dropout)
    assert list(model.state_dict()) == list(tmodel.state_dict())
    tmodel.load_state_dict({k: torch.from_numpy(v) for k, v in model.state_dict().items()})
    model.eval()
    tmodel.eval()
    np.testing.assert_allclose(model(x).data, tmodel(torch.from_numpy(x)).detach().numpy(),
                               atol=1e-10)
    # and back: torch weights into a fresh chainrule MLP give torch's outputs
    torch.manual_seed(1)
    tmodel2 = torch_equivalent(batchnorm, dropout).eval()
    fresh = nn.MLP(2, [16, 8], 3, dropout=dropout, batchnorm=batchnorm).double().eval()
    fresh.load_state_dict(tmodel2.state_dict())
    np.testing.assert_allclose(fresh(x).data, tmodel2(torch.from_numpy(x)).detach().numpy(),
                               atol=1e-10)


def test_named_parameter_order_matches_torch_for_nested_modules() -> None:
    model = nn.MLP(2, [4], 3, batchnorm=True)
    tmodel = torch_equivalent(True, 0.0)
    assert [n for n, _ in model.named_parameters()][:4] == \
        [n for n, _ in tmodel.named_parameters()][:4]


def test_config_is_json_and_build_model_rebuilds() -> None:
    model = nn.MLP(2, [16, 8], 3, activation="leaky_relu", dropout=0.1, batchnorm=True,
                   activation_kwargs={"negative_slope": 0.1})
    cfg = json.loads(json.dumps(model.config()))
    assert cfg == {"type": "MLP", "in_features": 2, "hidden": [16, 8], "out_features": 3,
                   "activation": "leaky_relu", "dropout": 0.1, "batchnorm": True,
                   "activation_kwargs": {"negative_slope": 0.1}}
    rebuilt = nn.build_model(cfg)
    assert repr(rebuilt) == repr(model)
    rebuilt.load_state_dict(model.state_dict())


def test_hidden_empty_is_a_linear_classifier() -> None:
    model = nn.build_model({"in_features": 3072, "hidden": [], "out_features": 10})
    assert len(model) == 1 and isinstance(model[0], nn.Linear)
    assert list(model.state_dict()) == ["0.weight", "0.bias"]
    assert nn.MLP(5, 7, 2).hidden == [7]                    # an int is one hidden layer


def test_build_model_errors() -> None:
    with pytest.raises(ValueError, match="unknown model type"):
        nn.build_model({"type": "CNN"})
    with pytest.raises(ValueError, match="unknown MLP config keys"):
        nn.build_model({"in_features": 2, "hidden": [], "out_features": 2, "width": 3})
    with pytest.raises(ValueError, match="missing"):
        nn.build_model({"in_features": 2})


@pytest.mark.parametrize("name", sorted(nn.ACTIVATIONS))
def test_every_activation_name_builds_and_trains_a_step(name: str) -> None:
    model = nn.MLP(2, [6], 3, activation=name)
    x, y = spiral(10, 3, seed=0)
    loss = nn.CrossEntropyLoss()(model(x), y)
    loss.backward()
    assert all(p.grad is not None for p in model.parameters())
    assert model(x).shape == (30, 3)


def test_maxout_mlp_widens_the_linear_layers() -> None:
    model = nn.MLP(2, [5], 3, activation="maxout", activation_kwargs={"pieces": 3})
    assert model[0].weight.shape == (15, 2)
    assert isinstance(model[1], nn.MaxoutPool) and model[2].weight.shape == (3, 5)


def test_mlp_bad_arguments() -> None:
    with pytest.raises(ValueError, match="unknown activation 'gelu'"):
        nn.MLP(2, [4], 3, activation="gelu")
    with pytest.raises(ValueError, match="dropout"):
        nn.MLP(2, [4], 3, dropout=1.0)
    with pytest.raises(ValueError, match="hidden"):
        nn.MLP(2, [0], 3)


def _train_spiral(hidden: list[int], steps: int) -> float:
    cr.manual_seed(0)
    X, y = spiral(n_per_class=100, classes=3, seed=0)
    model = nn.MLP(2, hidden, 3)
    opt = optim.Adam(model.parameters(), lr=0.02)
    loss_fn = nn.CrossEntropyLoss()
    for _ in range(steps):
        loss = loss_fn(model(X), y)
        opt.zero_grad()
        loss.backward()
        opt.step()
    with cr.no_grad():
        return float((model(X).data.argmax(1) == y).mean())


def test_mlp_learns_the_spiral_but_a_linear_classifier_cannot() -> None:
    """The lecture's point about nonlinearity: 3 arms x 100 points."""
    assert _train_spiral([100], steps=400) > 0.95
    assert _train_spiral([], steps=400) <= 0.60


def test_one_activation_per_hidden_layer() -> None:
    model = nn.MLP(2, [8, 8, 4], 3, activation=["relu", "prelu", "maxout"])
    kinds = [type(m).__name__ for m in model.children()]
    assert kinds == ["Linear", "ReLU", "Linear", "PReLU", "Linear", "MaxoutPool", "Linear"]
    assert model[4].weight.shape == (8, 8)       # maxout: 2 pieces for each of 4 units
    assert model(cr.randn(5, 2)).shape == (5, 3)
    assert model.config()["activation"] == ["relu", "prelu", "maxout"]
    rebuilt = nn.build_model(model.config())
    assert [type(m).__name__ for m in rebuilt.children()] == kinds
    with pytest.raises(ValueError, match=r"2 activations .* for 3 hidden layers"):
        nn.MLP(2, [8, 8, 4], 3, activation=["relu", "tanh"])
    with pytest.raises(ValueError, match="activation_kwargs"):
        nn.MLP(2, [4, 4], 3, activation=["relu", "maxout"], activation_kwargs={"pieces": 3})
    with pytest.raises(ValueError, match="unknown activation"):
        nn.MLP(2, [4], 3, activation=["swish"])
