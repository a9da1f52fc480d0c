"""Every op of the table in ``cases.py`` on every device: forward, backward, gradcheck and
second derivatives, each against NumPy in float64."""

from __future__ import annotations

import numpy as np
import pytest

import chainrule as cr
from tests.portability.cases import OP_CASES, OpCase, make_inputs, on_device
from tests.portability.devices import DEVICES, assert_agree, is_gpu, skip_unless_usable


def _run(case: OpCase, device: str) -> tuple[cr.Tensor, list[cr.Tensor]]:
    inputs = on_device(make_inputs(case), device)
    if case.random:
        cr.manual_seed(7)
    return case.fn(*inputs), inputs


def _upstream(out: cr.Tensor, device: str) -> cr.Tensor:
    up = np.random.default_rng(1).standard_normal(out.shape)
    return cr.tensor(up, dtype="float64", device=device)


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("case", OP_CASES, ids=str)
def test_forward_and_backward_agree_with_numpy(case: OpCase, device: str) -> None:
    skip_unless_usable(device)
    want, want_inputs = _run(case, "cpu")
    got, got_inputs = _run(case, device)
    assert got.device == device, f"{case}: the result left {device}"
    assert got.dtype == want.dtype and got.shape == want.shape
    if case.random and is_gpu(device):
        pytest.skip(f"{case}: a GPU draws its own random numbers (seeded: test_engine.py)")
    assert_agree(got, want, device, f"{case}: forward")
    if not want.requires_grad:
        return
    want.backward(_upstream(want, "cpu"))
    got.backward(_upstream(got, device))
    for k, (g, w) in enumerate(zip(got_inputs, want_inputs)):
        if w.requires_grad:
            assert g.grad is None or cr.Device(device) == cr.backend.device_of(g.grad)
            assert_agree(g.grad, w.grad, device, f"{case}: gradient of input {k}")


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("case", [c for c in OP_CASES if c.gradcheck], ids=str)
def test_gradcheck(case: OpCase, device: str) -> None:
    skip_unless_usable(device)
    inputs = on_device(make_inputs(case), device, requires_grad=False)
    assert cr.gradcheck(case.fn, inputs)


def _second_derivatives(case: OpCase, device: str) -> list[np.ndarray | None]:
    """d/dx of sum(v * dL/dx): a Hessian-vector product through the op's own backward."""
    inputs = on_device(make_inputs(case), device)
    out = case.fn(*inputs)
    wanted = [t for t in inputs if t.requires_grad]
    grads = cr.grad(out, wanted, upstream=_upstream(out, device), create_graph=True,
                    allow_unused=True)
    total = None
    for k, g in enumerate(grads):
        if g is None or not g.requires_grad:
            continue
        v = cr.tensor(np.random.default_rng(2 + k).standard_normal(g.shape), dtype="float64",
                      device=device)
        term = (g * v).sum()
        total = term if total is None else total + term
    if total is None:
        return []
    return [None if h is None else h.data
            for h in cr.grad(total, wanted, allow_unused=True)]


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("case", [c for c in OP_CASES if c.gradcheck], ids=str)
def test_second_derivatives_agree_with_numpy(case: OpCase, device: str) -> None:
    skip_unless_usable(device)
    try:
        want = _second_derivatives(case, "cpu")
    except RuntimeError as e:
        if "create_graph" not in str(e):
            raise
        pytest.skip(f"{case}: no differentiable backward")
    got = _second_derivatives(case, device)
    assert len(got) == len(want)
    for k, (g, w) in enumerate(zip(got, want)):
        assert_agree(g, w, device, f"{case}: second derivative {k}")


def test_every_op_of_the_ops_package_has_a_case() -> None:
    """A new op adds a row to OP_CASES: each Function class of chainrule.ops is run there."""
    import inspect

    import chainrule.ops as ops_package
    from chainrule.function import Function

    seen: set[type] = set()

    def record(node: cr.Context, *_: object) -> None:
        seen.add(node.fn)

    for case in OP_CASES:
        inputs = on_device(make_inputs(case), "cpu")
        if case.random:
            cr.manual_seed(0)
        out = case.fn(*inputs)
        if out.requires_grad:
            cr.autograd.backward_pass([out], [np.ones(out.shape)], retain_graph=True,
                                      collect=True, observer=record)
    modules = [m for _, m in inspect.getmembers(ops_package, inspect.ismodule)]
    defined = {cls for m in modules for _, cls in inspect.getmembers(m, inspect.isclass)
               if issubclass(cls, Function) and cls.__module__ == m.__name__
               and not cls.__name__.startswith("_") and "forward" in cls.__dict__}
    # Not ops of a formula: ScatterAdd is GetItem's backward, ToDevice moves data
    # (tests/portability/test_engine.py), Cast is run without a gradcheck.
    missing = {c.__name__ for c in defined - seen} - {"ScatterAdd", "ToDevice"}
    assert not missing, f"ops without a row in tests/portability/cases.py: {sorted(missing)}"
