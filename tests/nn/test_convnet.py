"""nn.ConvNet: its spec, its layers, its config, and a state dict that loads into the same
torch.nn.Sequential and back (outputs and gradients then agree)."""

from __future__ import annotations

import numpy as np
import pytest

import chainrule as cr
from chainrule import nn

torch = pytest.importorskip("torch")


def _torch_twin(model: nn.ConvNet) -> torch.nn.Sequential:
    """The same layers in PyTorch, built from the chainrule model's modules."""
    layers = []
    for m in model:
        kind = type(m).__name__
        if kind == "Conv2d":
            layers.append(torch.nn.Conv2d(m.in_channels, m.out_channels, m.kernel_size,
                                          padding=m.padding, bias=m.bias is not None))
        elif kind == "BatchNorm2d":
            layers.append(torch.nn.BatchNorm2d(m.num_features))
        elif kind == "Linear":
            layers.append(torch.nn.Linear(m.in_features, m.out_features))
        elif kind == "Dropout":
            layers.append(torch.nn.Dropout(m.p))
        else:
            layers.append({"ReLU": torch.nn.ReLU(), "MaxPool2d": torch.nn.MaxPool2d(2),
                           "AdaptiveAvgPool2d": torch.nn.AdaptiveAvgPool2d(1),
                           "Flatten": torch.nn.Flatten()}[kind])
    return torch.nn.Sequential(*layers)


def test_spec_parsing_and_defaults() -> None:
    assert nn.parse_conv_spec("32 32 pool 64 M,p") == [32, 32, "pool", 64, "pool", "pool"]
    assert nn.parse_conv_spec([16, "pool"]) == [16, "pool"]
    assert nn.default_conv_spec(32) == [32, "pool", 64, "pool", 128, 128, "pool"]
    assert nn.default_conv_spec(28)[-1] == "pool" and nn.default_conv_spec(8)[0] == 32
    with pytest.raises(cr.ConfigError, match=r"conv spec: 'x3' is neither a number of filters "
                                             r"nor 'pool'"):
        nn.parse_conv_spec("32 x3")
    with pytest.raises(cr.ConfigError, match="has no convolution"):
        nn.parse_conv_spec("pool")


def test_layers_config_and_rebuild() -> None:
    model = nn.ConvNet(3, 10, "8 pool 16", dropout=0.2)
    assert [type(m).__name__ for m in model] == [
        "Conv2d", "BatchNorm2d", "ReLU", "MaxPool2d", "Conv2d", "BatchNorm2d", "ReLU",
        "AdaptiveAvgPool2d", "Flatten", "Dropout", "Linear"]
    assert model[0].bias is None  # batch norm's shift takes the bias's place
    assert model.spec == "8 pool 16"
    config = model.config()
    assert config == {"type": "ConvNet", "in_channels": 3, "num_classes": 10,
                      "blocks": [8, "pool", 16], "batchnorm": True, "dropout": 0.2}
    rebuilt = nn.build_model(config)
    assert list(rebuilt.state_dict()) == list(model.state_dict())
    plain = nn.ConvNet(1, 2, [4], batchnorm=False)
    assert [type(m).__name__ for m in plain][:2] == ["Conv2d", "ReLU"]
    assert plain[0].bias is not None
    with pytest.raises(ValueError, match="unknown ConvNet config keys"):
        nn.build_model({**config, "width": 3})


def test_state_dict_round_trip_with_torch_sequential() -> None:
    cr.manual_seed(0)
    model = nn.ConvNet(3, 5, "4 4 pool 8 pool").double()
    model.train()
    model(cr.randn(6, 3, 8, 8, dtype="float64"))  # move the running statistics
    twin = _torch_twin(model).double()
    state = model.state_dict()
    assert list(state) == list(twin.state_dict())
    assert "1.num_batches_tracked" in state
    twin.load_state_dict({k: torch.from_numpy(v) for k, v in state.items()})
    # and back: a fresh model takes the torch weights
    back = nn.ConvNet(3, 5, "4 4 pool 8 pool").double()
    back.load_state_dict(twin.state_dict())
    x = np.random.default_rng(1).standard_normal((4, 3, 8, 8))
    for mode in ("eval", "train"):
        back.train(mode == "train")
        twin.train(mode == "train")
        xt = cr.tensor(x, dtype="float64", requires_grad=True)
        tx = torch.tensor(x, requires_grad=True)
        out, expected = back(xt), twin(tx)
        np.testing.assert_allclose(out.data, expected.detach().numpy(), atol=1e-10)
        out.sum().backward()
        expected.sum().backward()
        np.testing.assert_allclose(xt.grad, tx.grad.numpy(), atol=1e-10)
    for k, v in twin.state_dict().items():
        np.testing.assert_allclose(back.state_dict()[k], v.numpy(), atol=1e-12, err_msg=k)
