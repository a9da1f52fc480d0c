"""A ConvNet training step compiles and equals the eager step (float64, to 1e-12):
losses, weights, optimizer state and batch norm's running statistics."""

from __future__ import annotations

import numpy as np
import pytest

import chainrule as cr
from chainrule import nn


def _pair(spec: str, dropout: float) -> tuple[nn.ConvNet, nn.ConvNet]:
    models = []
    for _ in range(2):
        cr.manual_seed(0)
        models.append(nn.ConvNet(3, 4, spec, dropout=dropout).double())
    return models[0], models[1]


@pytest.mark.parametrize(("spec", "dropout"), [("4 4 pool 8 pool", 0.0), ("6 pool 8", 0.3)])
def test_compiled_convnet_step_equals_eager(spec: str, dropout: float) -> None:
    eager, fast = _pair(spec, dropout)
    opt_e = cr.optim.SGD(eager.parameters(), lr=0.05, momentum=0.9, nesterov=True)
    opt_f = cr.optim.SGD(fast.parameters(), lr=0.05, momentum=0.9, nesterov=True)
    loss_fn = nn.CrossEntropyLoss()
    step = cr.compile(lambda x, y: loss_fn(fast(x), y), opt_f, model=fast)
    rng = np.random.default_rng(0)
    for s in range(4):
        x = rng.standard_normal((5, 3, 8, 8))
        y = rng.integers(0, 4, 5)
        cr.manual_seed(10 + s)
        opt_e.zero_grad()
        loss_e = loss_fn(eager(cr.tensor(x, dtype="float64")), y)
        loss_e.backward()
        opt_e.step()
        cr.manual_seed(10 + s)
        assert step(x, y).item() == pytest.approx(loss_e.item(), rel=1e-12)
    assert step.traces == 1
    for (key, a), b in zip(eager.state_dict().items(), fast.state_dict().values()):
        np.testing.assert_allclose(b, a, rtol=1e-12, atol=1e-13, err_msg=key)
    for pe, pf in zip(eager.parameters(), fast.parameters()):
        np.testing.assert_allclose(pf.grad, pe.grad, rtol=1e-12, atol=1e-13)
    assert int(fast[1].num_batches_tracked) == 4
