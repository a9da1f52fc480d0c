"""nn.init: bounds and spreads of each initializer, fans and gains."""

from __future__ import annotations

import math

import numpy as np
import pytest

import chainrule as cr
from chainrule import nn
from chainrule.nn import init

torch = pytest.importorskip("torch")


def test_uniform_normal_constant() -> None:
    t = cr.zeros(200, 300)
    init.uniform_(t, -2.0, 3.0)
    assert t.data.min() >= -2.0 and t.data.max() < 3.0
    assert abs(t.data.mean() - 0.5) < 0.02
    init.normal_(t, 1.0, 0.5)
    assert abs(t.data.mean() - 1.0) < 0.01 and abs(t.data.std() - 0.5) < 0.01
    assert init.constant_(t, 0.3) is t and np.all(t.data == np.float32(0.3))
    init.zeros_(t)
    assert not t.data.any()
    init.ones_(t)
    assert np.all(t.data == 1)


def test_fans_follow_the_out_in_layout() -> None:
    assert init.fan_in_and_fan_out(cr.zeros(100, 50)) == (50, 100)
    assert init.fan_in_and_fan_out(np.zeros((8, 3, 5, 5), dtype=np.float32)) == (75, 200)
    with pytest.raises(ValueError, match="2 dimensions"):
        init.fan_in_and_fan_out(cr.zeros(5))


@pytest.mark.parametrize(("name", "param"), [("linear", None), ("sigmoid", None), ("tanh", None),
                                             ("relu", None), ("leaky_relu", None),
                                             ("leaky_relu", 0.2), ("selu", None)])
def test_gains_match_torch(name: str, param: float | None) -> None:
    assert init.calculate_gain(name, param) == pytest.approx(
        torch.nn.init.calculate_gain(name, param))
    with pytest.raises(ValueError, match="unsupported"):
        init.calculate_gain("swish")


def test_xavier_bounds_and_spread() -> None:
    t = cr.zeros(400, 200)
    init.xavier_uniform_(t)
    bound = math.sqrt(6 / 600)
    assert np.abs(t.data).max() <= bound and np.abs(t.data).max() > 0.99 * bound
    init.xavier_normal_(t, gain=2.0)
    assert abs(t.data.std() - 2.0 * math.sqrt(2 / 600)) < 0.002


@pytest.mark.parametrize("mode", ["fan_in", "fan_out"])
def test_kaiming_bounds_and_spread(mode: str) -> None:
    t = cr.zeros(400, 200)
    fan = 200 if mode == "fan_in" else 400
    init.kaiming_normal_(t, mode=mode, nonlinearity="relu")
    assert abs(t.data.std() - math.sqrt(2 / fan)) < 0.002
    init.kaiming_uniform_(t, mode=mode, nonlinearity="relu")
    bound = math.sqrt(2) * math.sqrt(3 / fan)
    assert np.abs(t.data).max() <= bound and np.abs(t.data).max() > 0.99 * bound
    with pytest.raises(ValueError, match="mode"):
        init.kaiming_uniform_(t, mode="fan_avg")


def test_init_uses_the_seeded_generator_and_works_on_parameters() -> None:
    layer = nn.Linear(20, 10)
    cr.manual_seed(11)
    init.xavier_uniform_(layer.weight)
    a = layer.weight.data.copy()
    cr.manual_seed(11)
    init.xavier_uniform_(layer.weight)
    np.testing.assert_array_equal(a, layer.weight.data)
    assert layer.weight.dtype == np.float32
    with pytest.raises(TypeError):
        init.normal_(np.zeros(3, dtype=np.int64))
