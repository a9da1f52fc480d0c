"""The pieces of a playground frame: the plane's grid, heat maps, neuron maps, warped plane."""

from __future__ import annotations

import base64

import numpy as np

from chainrule import nn
from chainrule.playground import limits
from chainrule.playground.frames import (
    forward_all,
    heat_maps,
    neuron_maps,
    plane_grid,
    softmax_winner,
    transform_lines,
)


def _bytes(text: str) -> np.ndarray:
    return np.frombuffer(base64.b64decode(text), dtype=np.uint8)


def test_plane_grid_runs_row_by_row_from_the_top_left():
    grid = plane_grid()
    g = limits.GRID
    assert grid.shape == (g * g, 2) and grid.dtype == np.float32
    assert grid[0].tolist() == [-limits.DOMAIN, limits.DOMAIN]
    assert grid[g - 1].tolist() == [limits.DOMAIN, limits.DOMAIN]
    assert grid[-1].tolist() == [limits.DOMAIN, -limits.DOMAIN]


def test_softmax_winner_matches_the_softmax():
    scores = np.random.default_rng(0).normal(size=(500, 5)).astype(np.float32) * 4
    winner, p = softmax_winner(scores)
    probs = np.exp(scores - scores.max(axis=1, keepdims=True))
    probs /= probs.sum(axis=1, keepdims=True)
    np.testing.assert_array_equal(winner, probs.argmax(axis=1))
    np.testing.assert_allclose(p, probs.max(axis=1), rtol=1e-5)


def test_heat_maps_encode_class_confidence_and_value():
    g = limits.GRID * limits.GRID
    scores = np.zeros((g, 3), np.float32)
    scores[:, 2] = 50.0  # class 2, certain
    scores[:10] = 0.0  # a three-way tie: no confidence
    maps = heat_maps(scores, "classification")
    assert set(maps) == {"heat_class", "heat_conf"}
    assert (_bytes(maps["heat_class"])[10:] == 2).all()
    conf = _bytes(maps["heat_conf"])
    assert (conf[:10] == 0).all() and (conf[10:] == 255).all()
    values = np.linspace(-2.0, 2.0, g, dtype=np.float32)[:, None]  # clipped to [-1, 1]
    heat = _bytes(heat_maps(values, "regression")["heat_value"])
    assert heat[0] == 0 and heat[-1] == 255 and heat[g // 2] in (127, 128)


def test_neuron_maps_scale_each_neuron_by_its_largest_magnitude():
    g = limits.GRID
    acts = np.zeros((g * g + 5, 2), np.float32)  # grid rows, then 5 data points (ignored)
    acts[0, 0] = -4.0
    acts[: g * g, 1] = 3.0
    acts[g * g:] = 1000.0
    (first, second), = neuron_maps([acts])
    first, second = _bytes(first), _bytes(second)
    assert first.size == limits.NEURON_GRID ** 2
    assert first[0] == 0 and (first[1:] == 128).all()  # -4 is -1 on its own scale; 0 is 0
    assert (second == 255).all()


def test_forward_all_returns_each_hidden_layer_and_the_plane_as_it_sees_it():
    model = nn.MLP(2, [3, 4], 2, activation="tanh")
    inputs = np.concatenate([plane_grid(), np.zeros((7, 2), np.float32)])
    out, hidden = forward_all(model, inputs)
    assert out.shape == (len(inputs), 2) and [h.shape[1] for h in hidden] == [3, 4]
    view = transform_lines(hidden, (1, 0, 3))
    assert (view["layer"], view["x"], view["y"]) == (1, 0, 3)
    assert len(view["lines"]) == 22 and len(view["points"]) == 7
    assert transform_lines(hidden, (5, 9, 9))["layer"] == 1  # clamped to the net it has
    assert transform_lines([], (0, 0, 0)) is None
