"""A packed group's update in parts, one per thread: the same numbers as in one piece."""

from __future__ import annotations

import numpy as np
import pytest

import chainrule as cr
from chainrule.compiler import parallel
from chainrule.compiler.parallel import PartedUpdate, parts_for


class _Reassigning(cr.optim.Optimizer):
    """An elementwise rule that assigns new arrays (state and data) on every call."""

    elementwise = True

    def __init__(self, params: object, lr: float = 0.01) -> None:
        super().__init__(params, dict(lr=lr))

    def update(self, group: dict, p: cr.Tensor, state: dict) -> None:
        state["velocity"] = 0.5 * state.get("velocity", 0.0) + p.grad
        state["calls"] = state.get("calls", 0) + 1
        p.data = p.data - group["lr"] * np.sign(state["velocity"])


OPTIMIZERS = {
    "sgd": lambda p: cr.optim.SGD(p, lr=0.1),
    "nesterov": lambda p: cr.optim.SGD(p, lr=0.1, momentum=0.9, nesterov=True),
    "adam": lambda p: cr.optim.Adam(p, lr=1e-2, amsgrad=True),
    "adamw": lambda p: cr.optim.AdamW(p, lr=1e-2),
    "rmsprop": lambda p: cr.optim.RMSprop(p, lr=1e-2, momentum=0.5, centered=True),
    "reassigning": _Reassigning,
}


def _flat(size: int, seed: int = 0) -> cr.Tensor:
    rng = np.random.default_rng(seed)
    flat = cr.nn.Parameter(rng.standard_normal(size))
    flat.grad = rng.standard_normal(size)
    return flat


@pytest.mark.parametrize("name", list(OPTIMIZERS))
@pytest.mark.parametrize("count", [2, 3])
def test_parts_give_the_numbers_of_one_piece(name: str, count: int) -> None:
    whole, split = _flat(1000), _flat(1000)
    opt_whole, opt_split = OPTIMIZERS[name]([whole]), OPTIMIZERS[name]([split])
    state_whole: dict = {}
    state_split: dict = {}
    parted = PartedUpdate(opt_split, opt_split.param_groups[0], split, count)
    assert len(parted.parts) == count and parted.bounds[0] == (0, 512 if count == 2 else 384)
    for step in range(4):
        rng = np.random.default_rng(10 + step)
        whole.grad[:] = split.grad[:] = rng.standard_normal(1000)
        opt_whole.update(opt_whole.param_groups[0], whole, state_whole)
        parted.run(state_split)
        np.testing.assert_array_equal(split.data, whole.data)
        assert set(state_split) == set(state_whole)
        for key, value in state_whole.items():
            if isinstance(value, np.ndarray):
                assert state_split[key].shape == (1000,)
                np.testing.assert_array_equal(state_split[key], value)
            else:
                assert state_split[key] == value


def test_the_flat_state_stays_the_array_the_parts_write() -> None:
    flat = _flat(1000)
    opt = cr.optim.Adam([flat], lr=1e-2)
    state: dict = {}
    parted = PartedUpdate(opt, opt.param_groups[0], flat, 2)
    parted.run(state)  # the first step makes the state: copied into flat arrays
    exp_avg = state["exp_avg"]
    parted.run(state)
    assert state["exp_avg"] is exp_avg and state["step"] == 2
    assert all(np.shares_memory(s["exp_avg"], exp_avg) for s in parted.states)


def test_how_many_parts() -> None:
    threads = parallel.get_num_threads()
    try:
        parallel.set_num_threads(3)
        assert parts_for(parallel.MIN_PART - 1) == 1
        assert parts_for(2 * parallel.MIN_PART) == 2
        assert parts_for(100 * parallel.MIN_PART) == 3
        parallel.set_num_threads(1)
        assert parts_for(100 * parallel.MIN_PART) == 1
        for bad in (0, -2, 1.5):
            with pytest.raises(ValueError, match="positive int"):
                parallel.set_num_threads(bad)
    finally:
        parallel.set_num_threads(threads)


def test_a_compiled_step_runs_a_large_group_in_parts_as_eager(monkeypatch: object) -> None:
    monkeypatch.setattr(parallel, "MIN_PART", 128)
    threads = parallel.get_num_threads()
    parallel.set_num_threads(2)
    try:
        models = []
        for _ in range(2):
            cr.manual_seed(0)
            models.append(cr.nn.MLP(20, [30], 5).to(np.float64))
        eager, fast = models
        opt_e = cr.optim.Adam(eager.parameters(), lr=1e-2)
        opt_f = cr.optim.Adam(fast.parameters(), lr=1e-2)
        loss_fn = cr.nn.CrossEntropyLoss()
        step = cr.compile(lambda x, y: loss_fn(fast(x), y), opt_f, model=fast)
        rng = np.random.default_rng(0)
        for _ in range(4):
            x, y = rng.standard_normal((16, 20)), rng.integers(0, 5, 16)
            opt_e.zero_grad()
            expected = loss_fn(eager(cr.tensor(x, dtype="float64")), y)
            expected.backward()
            opt_e.step()
            assert step(x, y).item() == pytest.approx(expected.item(), rel=1e-12)
        flat_optimizer = next(v for k, v in step.plan.run.__globals__.items()
                              if k.startswith("flat_optimizer"))
        assert flat_optimizer.parted is not None and len(flat_optimizer.parted.parts) == 2
        for pe, pf in zip(eager.parameters(), fast.parameters()):
            np.testing.assert_allclose(pf.data, pe.data, rtol=1e-12, atol=1e-14)
        assert opt_f.state[fast[0].weight]["step"] == 4
    finally:
        parallel.set_num_threads(threads)


@pytest.mark.skipif(not cr.set_flush_denormal(False), reason="needs x86-64 Linux (glibc)")
@pytest.mark.parametrize("flush", [True, False])
def test_every_part_follows_the_callers_subnormal_mode(flush: bool) -> None:
    from chainrule.denormals import flushing_denormals

    flat = cr.nn.Parameter(np.full(1000, 1e-38, np.float32))
    flat.grad = np.zeros(1000, np.float32)
    opt = cr.optim.SGD([flat], lr=0.5, weight_decay=1.0)  # w -= 0.5 w: subnormal results
    parted = PartedUpdate(opt, opt.param_groups[0], flat, 2)
    with flushing_denormals(flush):
        parted.run({})
    if flush:
        assert not flat.data.any()  # the worker's part too
    else:
        np.testing.assert_array_equal(flat.data, np.float32(5e-39))
