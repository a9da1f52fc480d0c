"""The gradient hook: called between backward and the update, on the packed gradients."""

from __future__ import annotations

import numpy as np
import pytest

import chainrule as cr
from chainrule import nn, optim
from chainrule.compiler.fallback import TrainStep


class Recorder:
    """A hook that records what it got and halves every gradient in place."""

    def __init__(self) -> None:
        self.calls: list[list[np.ndarray]] = []

    def __call__(self, grads):
        self.calls.append(list(grads))
        for g in grads:
            g *= 0.5


def _setup(groups: bool = False):
    cr.manual_seed(0)
    model = nn.MLP(4, [6], 3)
    params = list(model.parameters())
    if groups:
        params = [{"params": params[:2]}, {"params": params[2:], "lr": 0.05}]
    rng = np.random.default_rng(0)
    X, y = rng.standard_normal((8, 4)).astype(np.float32), rng.integers(0, 3, 8)
    return model, optim.SGD(params, lr=0.1, momentum=0.9), X, y


def _loss(model):
    return lambda xb, yb: nn.CrossEntropyLoss()(model(xb), yb)


@pytest.mark.parametrize("groups", [False, True])
def test_compiled_step_calls_the_hook_once_per_packed_group_with_its_flat_gradients(groups):
    model, opt, X, y = _setup(groups)
    hook = Recorder()
    step = cr.compile(_loss(model), opt, gradient_hook=hook)
    for _ in range(3):
        step(X, y)
    n_groups = len(opt.param_groups)
    assert len(hook.calls) == 3 * n_groups
    for call in hook.calls:
        assert len(call) == 1 and call[0].ndim == 1 and call[0].flags.c_contiguous
    assert sum(c[0].size for c in hook.calls[:n_groups]) == model.num_parameters()
    assert "gradient_hook" in step.source


@pytest.mark.parametrize("compiled", [True, False])
def test_the_hook_changes_the_gradients_the_optimizer_uses(compiled):
    """Halving the gradients in the hook == half the learning rate (plain SGD)."""
    model, _, X, y = _setup()
    reference, _, _, _ = _setup()
    step = TrainStep(_loss(model), optim.SGD(model.parameters(), lr=0.1), model=model,
                     compiled=compiled, gradient_hook=Recorder())
    ref = TrainStep(_loss(reference), optim.SGD(reference.parameters(), lr=0.05),
                    model=reference, compiled=compiled)
    for _ in range(3):
        step(cr.tensor(X), cr.tensor(y))
        ref(cr.tensor(X), cr.tensor(y))
    for p, q in zip(model.parameters(), reference.parameters()):
        np.testing.assert_allclose(p.data, q.data, rtol=1e-6, atol=1e-7)


def test_eager_step_gives_the_hook_every_gradient_in_one_call():
    model, opt, X, y = _setup(groups=True)
    hook = Recorder()
    step = TrainStep(_loss(model), opt, model=model, compiled=False, gradient_hook=hook)
    step(cr.tensor(X), cr.tensor(y))
    assert len(hook.calls) == 1
    assert [g.shape for g in hook.calls[0]] == [p.shape for p in model.parameters()]


def test_without_a_hook_the_source_has_none():
    model, opt, X, y = _setup()
    step = cr.compile(_loss(model), opt)
    step(X, y)
    assert "gradient_hook" not in step.source
