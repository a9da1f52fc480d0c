"""What the page draws, as JSON-ready pieces: heat maps, neuron maps, the warped plane.

A frame rests on ONE batched forward pass (under ``cr.no_grad``) over the 100x100 grid of
the input plane plus every data point (:func:`forward_all`); from its output come the
decision-boundary heat map (:func:`heat_maps`), from the hidden layers' outputs each
neuron's small heat map (:func:`neuron_maps`, every 4th grid point) and the plane as two
neurons of one layer see it (:func:`transform_lines`). Images travel as base64 bytes,
one byte per pixel.

>>> grid = plane_grid()
>>> grid.shape, grid[0].tolist()
((10000, 2), [-6.0, 6.0])
"""

from __future__ import annotations

import base64
from typing import Any

import numpy as np

import chainrule as cr
from chainrule import nn
from chainrule.playground import limits

__all__ = [
    "accuracy",
    "forward_all",
    "heat_maps",
    "neuron_maps",
    "plane_grid",
    "softmax_winner",
    "transform_lines",
]


def plane_grid() -> np.ndarray:
    """The ``GRID x GRID`` points of the input plane, row by row; row 0 is the top (y = +6)."""
    ticks = np.linspace(-limits.DOMAIN, limits.DOMAIN, limits.GRID, dtype=np.float32)
    gx, gy = np.meshgrid(ticks, ticks[::-1])
    return np.stack([gx.ravel(), gy.ravel()], axis=1)


def forward_all(model: nn.MLP, inputs: np.ndarray) -> tuple[np.ndarray, list[np.ndarray]]:
    """One batched pass of ``inputs``: the output and every hidden layer's output.

    ``nn.MLP`` is a ``Sequential`` of ``Linear, activation, ..., Linear`` (a linear
    activation keeps its slot as ``Identity``), so each hidden layer's output is the
    value after each module that is not a ``Linear``.
    """
    h = cr.tensor(inputs)
    hidden: list[np.ndarray] = []
    with cr.no_grad():
        for module in model.children():
            h = module(h)
            if not isinstance(module, nn.Linear):
                hidden.append(h.data)
    return h.data, hidden


def _b64(a: np.ndarray) -> str:
    return base64.b64encode(np.ascontiguousarray(a, dtype=np.uint8).tobytes()).decode("ascii")


def _unit_to_u8(v: np.ndarray) -> np.ndarray:
    """Values in [-1, 1] to bytes 0..255."""
    return np.round((np.clip(v, -1.0, 1.0) + 1.0) * 127.5).astype(np.uint8)


def heat_maps(grid_out: np.ndarray, problem: str) -> dict[str, str]:
    """The decision-boundary heat map of the network's output on the grid.

    Classification: ``heat_class`` (the winning class per grid point) and ``heat_conf``
    (its softmax probability rescaled from ``[1/K, 1]`` to ``0..255``); regression:
    ``heat_value`` (the output in ``[-1, 1]`` as ``0..255``).
    """
    if problem != "classification":
        return {"heat_value": _b64(_unit_to_u8(grid_out[:, 0]))}
    winner, p_winner = softmax_winner(grid_out)
    k = grid_out.shape[1]
    conf = (p_winner - 1.0 / k) / (1.0 - 1.0 / k)
    return {"heat_class": _b64(winner), "heat_conf": _b64(np.round(np.clip(conf, 0, 1) * 255))}


def neuron_maps(layers: list[np.ndarray]) -> list[list[str]]:
    """Each neuron's output on every 4th grid point, scaled by its largest magnitude."""
    step = limits.GRID // limits.NEURON_GRID
    g = limits.GRID
    maps = []
    for acts in layers:
        grid = acts[: g * g].reshape(g, g, -1)[::step, ::step]
        scale = np.abs(grid).max(axis=(0, 1))
        scale[scale == 0] = 1.0
        scaled = _unit_to_u8(grid / scale)
        maps.append([_b64(scaled[:, :, j]) for j in range(scaled.shape[2])])
    return maps


def transform_lines(hidden: list[np.ndarray], view: tuple[int, int, int]) -> dict[str, Any] | None:
    """Grid lines of the plane and the data points, as two neurons of one layer see them.

    ``view`` is ``(layer, i, j)``: neuron ``i`` of hidden layer ``layer`` horizontally,
    neuron ``j`` vertically (ConvNetJS's view of how a layer warps the input space);
    ``None`` when the net has no hidden layer.
    """
    if not hidden:
        return None
    layer, i, j = view
    layer = min(layer, len(hidden) - 1)  # the net may have shrunk under the view
    width = hidden[layer].shape[1]
    i, j = min(i, width - 1), min(j, width - 1)
    g = limits.GRID
    acts = hidden[layer]
    plane = acts[: g * g].reshape(g, g, -1)[:, :, [i, j]]
    every = np.linspace(0, g - 1, 11).round().astype(int)
    along = np.linspace(0, g - 1, 34).round().astype(int)
    rows = [plane[r, along] for r in every]  # lines of constant X2
    cols = [plane[along, c] for c in every]  # lines of constant X1
    points = acts[g * g:][:, [i, j]]
    return {
        "layer": layer, "x": i, "y": j,
        "lines": [np.round(line, 4).tolist() for line in rows + cols],
        "points": np.round(points, 4).tolist(),
    }


def softmax_winner(scores: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per row of ``scores`` ``(N, K)``: the winning class and its softmax probability.

    ``p_win = 1 / sum_k exp(s_k - s_max)``. Written as a loop over the few classes:
    NumPy's reductions along a short last axis are slow, and this runs every frame.
    """
    best = scores[:, 0].copy()
    winner = np.zeros(len(scores), dtype=np.uint8)
    for k in range(1, scores.shape[1]):
        better = scores[:, k] > best
        best[better] = scores[better, k]
        winner[better] = k
    total = np.zeros_like(best)
    for k in range(scores.shape[1]):
        total += np.exp(scores[:, k] - best)
    return winner, 1.0 / total


def accuracy(correct: np.ndarray) -> float | None:
    """The fraction of ``True`` in ``correct``; ``None`` when there is no point."""
    return float(correct.mean()) if correct.size else None
