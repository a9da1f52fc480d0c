"""Optimizers and learning-rate schedules on every device, against NumPy in float64."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

import chainrule as cr
from chainrule import optim
from tests.portability.devices import DEVICES, assert_agree, host, skip_unless_usable

OPTIMIZERS: dict[str, Callable[[list], optim.Optimizer]] = {
    "sgd": lambda p: optim.SGD(p, lr=0.1),
    "sgd momentum dampening decay": lambda p: optim.SGD(p, lr=0.1, momentum=0.9,
                                                        dampening=0.2, weight_decay=0.01),
    "nesterov": lambda p: optim.SGD(p, lr=0.1, momentum=0.9, nesterov=True),
    "rmsprop": lambda p: optim.RMSprop(p, lr=0.01),
    "rmsprop centered momentum decay": lambda p: optim.RMSprop(
        p, lr=0.01, centered=True, momentum=0.5, weight_decay=0.1),
    "adam": lambda p: optim.Adam(p, lr=0.01),
    "adam amsgrad decay": lambda p: optim.Adam(p, lr=0.01, amsgrad=True, weight_decay=0.1),
    "adamw": lambda p: optim.AdamW(p, lr=0.01),
}

SCHEDULERS: dict[str, Callable[[optim.Optimizer], Any]] = {
    "step": lambda o: optim.lr_scheduler.StepLR(o, step_size=2, gamma=0.5),
    "cosine": lambda o: optim.lr_scheduler.CosineAnnealingLR(o, T_max=5),
    "exponential": lambda o: optim.lr_scheduler.ExponentialLR(o, gamma=0.9),
    "linear decay": lambda o: optim.lr_scheduler.LinearDecayLR(o, 6),
    "plateau": lambda o: optim.lr_scheduler.ReduceLROnPlateau(o, patience=0),
}


def _params(device: str) -> list[cr.Tensor]:
    rng = np.random.default_rng(0)
    return [cr.nn.Parameter(cr.tensor(rng.standard_normal(s), dtype="float64", device=device))
            for s in ((4, 3), (3,))]


def _train(make: Callable, device: str, steps: int = 6, schedule: Callable | None = None
           ) -> tuple[list, optim.Optimizer, list]:
    """``steps`` updates from the same gradients (those of a fixed quadratic)."""
    params = _params(device)
    opt = make(params)
    sched = schedule(opt) if schedule is not None else None
    lrs = []
    for k in range(steps):
        loss = sum(((p - 0.1 * k) ** 2 * (i + 1.0)).sum() for i, p in enumerate(params))
        opt.zero_grad()
        loss.backward()
        opt.step()
        if sched is not None:
            if isinstance(sched, optim.lr_scheduler.ReduceLROnPlateau):
                sched.step(1.0)
            else:
                sched.step()
        lrs.append(opt.param_groups[0]["lr"])
    return params, opt, lrs


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("name", list(OPTIMIZERS))
def test_optimizer_steps_agree_with_numpy(name: str, device: str) -> None:
    skip_unless_usable(device)
    got, got_opt, _ = _train(OPTIMIZERS[name], device)
    want, want_opt, _ = _train(OPTIMIZERS[name], "cpu")
    for g, w in zip(got, want):
        assert g.device == device
        assert_agree(g, w, device, f"{name}: parameter")
        for key, value in got_opt.state[g].items():
            if cr.backend.is_array(value):
                assert cr.backend.device_of(value) == device, f"{name}: state {key} moved"
            assert_agree(value if cr.backend.is_array(value) else np.asarray(value),
                         np.asarray(host(want_opt.state[w][key]) if cr.backend.is_array(
                             want_opt.state[w][key]) else want_opt.state[w][key]),
                         device, f"{name}: state {key}")


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("name", list(SCHEDULERS))
def test_schedules_agree_with_numpy(name: str, device: str) -> None:
    skip_unless_usable(device)
    got, _, got_lrs = _train(OPTIMIZERS["adam"], device, schedule=SCHEDULERS[name])
    want, _, want_lrs = _train(OPTIMIZERS["adam"], "cpu", schedule=SCHEDULERS[name])
    assert got_lrs == want_lrs
    for g, w in zip(got, want):
        assert_agree(g, w, device, f"{name}: parameter")


@pytest.mark.parametrize("device", DEVICES)
def test_state_dicts_are_numpy_and_load_onto_the_device(device: str) -> None:
    skip_unless_usable(device)
    _, opt, _ = _train(OPTIMIZERS["adam"], device, steps=3)
    state = opt.state_dict()
    for entry in state["state"].values():
        for value in entry.values():
            assert not cr.backend.is_device_array(value)  # host memory, checkpointable
    fresh = _params(device)
    restored = optim.Adam(fresh, lr=0.01)
    restored.load_state_dict(state)
    for p in fresh:
        assert cr.backend.device_of(restored.state[p]["exp_avg"]) == device


@pytest.mark.parametrize("device", DEVICES)
def test_the_state_follows_the_model_to_the_device(device: str) -> None:
    """module.to(device) after some steps: the next step moves the optimizer's state."""
    skip_unless_usable(device)
    cr.manual_seed(0)
    model = cr.nn.MLP(3, [4], 2, dtype="float64")
    opt = optim.Adam(model.parameters(), lr=0.01)
    x, y = np.random.default_rng(1).standard_normal((8, 3)), np.arange(8) % 2

    def step(m: cr.nn.Module) -> None:
        data = next(m.parameters()).device
        loss = cr.nn.CrossEntropyLoss()(m(x), cr.tensor(y, device=data))
        opt.zero_grad()
        loss.backward()
        opt.step()

    step(model)
    cr.manual_seed(0)
    reference = cr.nn.MLP(3, [4], 2, dtype="float64")
    ref_opt = optim.Adam(reference.parameters(), lr=0.01)
    for _ in range(2):
        loss = cr.nn.CrossEntropyLoss()(reference(x), y)
        ref_opt.zero_grad()
        loss.backward()
        ref_opt.step()
    model.to(device)
    step(model)
    for p, r in zip(model.parameters(), reference.parameters()):
        assert p.device == device
        assert cr.backend.device_of(opt.state[p]["exp_avg"]) == device
        assert_agree(p, r, device, "parameter after moving")
