"""Packing gradients into one message; the collectives in a world of one."""

from __future__ import annotations

import numpy as np

import chainrule as cr
from chainrule import nn
from chainrule.distributed import gradients
from chainrule.distributed.gradients import GradientAllreduce, _Packer


def test_packer_round_trips_views_and_reuses_its_buffer():
    rng = np.random.default_rng(0)
    block = rng.standard_normal((3, 5))
    arrays = [rng.standard_normal((2, 3)), block[:, :-1], block[:, -1], np.ones(())]
    packer = _Packer()
    flat = packer.pack(arrays)
    assert flat.size == sum(a.size for a in arrays)
    expected = [a.copy() for a in arrays]
    for a in arrays:
        a[...] = 0
    packer.unpack(flat * 2, arrays)
    for a, e in zip(arrays, expected):
        np.testing.assert_array_equal(a, 2 * e)
    assert packer.pack(arrays[:1]).base is packer.buffers[np.dtype("float64")]


def test_by_dtype_keeps_one_message_per_dtype():
    groups = _Packer().by_dtype([np.zeros(2, np.float32), np.zeros(3), np.ones(1, np.float32)])
    assert {k.name: len(v) for k, v in groups.items()} == {"float32": 2, "float64": 1}


def test_world_of_one_changes_nothing(monkeypatch):
    monkeypatch.setattr(gradients, "world_size", lambda: 1)
    cr.manual_seed(0)
    model = nn.MLP(3, [4], 2)
    nn.CrossEntropyLoss()(model(cr.randn(5, 3)), np.arange(5) % 2).backward()
    before = [p.grad.copy() for p in model.parameters()]
    hook = GradientAllreduce()
    hook([p.grad for p in model.parameters()])
    cr.distributed.allreduce_gradients(model)
    cr.distributed.broadcast_parameters(model)
    assert hook.calls == 0
    for p, g in zip(model.parameters(), before):
        np.testing.assert_array_equal(p.grad, g)


def test_averaging_divides_the_sum_by_the_world_size(monkeypatch):
    """With a fake world of 4 whose all-reduce sums four equal copies, the average is the
    gradient itself: one reduction per call, in place or through the buffer."""
    monkeypatch.setattr(gradients, "world_size", lambda: 4)
    monkeypatch.setattr(gradients, "allreduce_", lambda a, op: np.multiply(a, 4, out=a))
    flat = np.arange(6.0)
    hook = GradientAllreduce()
    hook([flat])
    np.testing.assert_array_equal(flat, np.arange(6.0))
    parts = [np.ones((2, 2), np.float32), np.full(3, 2.0), np.full(2, 3.0, np.float32)]
    hook(parts)
    assert hook.calls == 3 and hook.seconds >= 0  # one per dtype
    assert parts[0].tolist() == [[1, 1], [1, 1]] and parts[1].tolist() == [2, 2, 2]
