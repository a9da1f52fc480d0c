"""Every option `chainrule train`, the Trainer and the playground offer, compiled equals eager.

The grid: activations x softmax/SVM x no/L2/L1 penalty x dropout x batch norm x
optimizers, in float64, three steps each; and every playground option runs on kernels.
"""

from __future__ import annotations

import numpy as np
import pytest

import chainrule as cr
from tests.compiler.equivalence import mlp_data as _data
from tests.compiler.equivalence import mlp_pair as _pair

ACTIVATIONS = ["relu", "leaky_relu", "prelu", "elu", "tanh", "sigmoid", "maxout", "linear"]
OPTIMIZERS = ["sgd", "momentum", "nesterov", "rmsprop", "adam", "adamw"]


def _regularized(loss_fn: object, model: object, reg: str) -> object:
    """The objective of `chainrule train --reg` (L2) or the playground's L1."""
    if reg == "l2":
        return lambda x, y: loss_fn(model(x), y) + cr.nn.l2_penalty(model, 1e-3)
    if reg == "l1":
        return lambda x, y: loss_fn(model(x), y) + cr.nn.l1_penalty(model, 1e-3)
    return lambda x, y: loss_fn(model(x), y)


def _options_agree(sizes: tuple, batch: int, activation: str, loss: str, reg: str,
                   dropout: float, batchnorm: bool, optimizers: list[str]) -> None:
    """For each optimizer: three compiled steps equal three eager ones (float64): the
    losses to 1e-12, then every parameter and buffer."""
    from chainrule.train.config import DEFAULT_LR

    for name in optimizers:
        eager_model, fast_model = _pair(sizes, "float64", activation=activation,
                                        dropout=dropout, batchnorm=batchnorm)
        opt_e = cr.optim.make_optimizer(name, eager_model.parameters(), DEFAULT_LR[name])
        opt_f = cr.optim.make_optimizer(name, fast_model.parameters(), DEFAULT_LR[name])
        loss_fn = cr.nn.loss(loss)
        eager, fast = (_regularized(loss_fn, m, reg) for m in (eager_model, fast_model))
        step = cr.compile(fast, opt_f, model=fast_model)
        for s in range(3):
            x, y = _data(batch, sizes[0], sizes[-1], "float64", seed=s)
            cr.manual_seed(10 + s)  # the same dropout masks
            opt_e.zero_grad()
            expected = eager(cr.tensor(x, dtype="float64"), y)
            expected.backward()
            opt_e.step()
            cr.manual_seed(10 + s)
            got = step(x, y).item()
            assert got == pytest.approx(expected.item(), rel=1e-12, abs=1e-12), (name, s)
        assert "its own forward/backward" not in step.source  # a kernel for every node
        assert step.traces == 1
        # The bias of a Linear followed by batch norm has a gradient of exactly 0 in
        # theory and of rounding noise (1e-17) in practice, which RMSprop and Adam
        # divide by sqrt(v) + eps: their steps of up to lr * 1e-17 / 1e-8 differ there
        # (and so does the batch norm's running mean, which that bias shifts).
        noise = {key for k in range(len(fast_model) - 1)
                 if isinstance(fast_model[k + 1], cr.nn.BatchNorm1d)
                 for key in (f"{k}.bias", f"{k + 1}.running_mean")}
        reference = eager_model.state_dict()
        for key, value in fast_model.state_dict().items():
            np.testing.assert_allclose(value, reference[key], rtol=1e-10,
                                       atol=1e-10 if key in noise else 1e-12,
                                       err_msg=f"{name}: {key}")


@pytest.mark.parametrize("batchnorm", [False, True])
@pytest.mark.parametrize("dropout", [0.0, 0.3])
@pytest.mark.parametrize("reg", ["none", "l2", "l1"])
@pytest.mark.parametrize("loss", ["softmax", "svm"])
@pytest.mark.parametrize("activation", ACTIVATIONS)
def test_every_option_compiled_equals_eager(activation: str, loss: str, reg: str,
                                            dropout: float, batchnorm: bool) -> None:
    # 16 -> 300 -> 6 on batches of 64: the first layer in rows, the second in columns.
    _options_agree((16, 300, 6), 64, activation, loss, reg, dropout, batchnorm, OPTIMIZERS)


@pytest.mark.parametrize("batchnorm", [False, True])
@pytest.mark.parametrize("dropout", [0.0, 0.3])
@pytest.mark.parametrize("loss", ["softmax", "svm"])
@pytest.mark.parametrize("activation", ACTIVATIONS)
def test_every_option_compiled_equals_eager_in_columns(activation: str, loss: str,
                                                       dropout: float, batchnorm: bool) -> None:
    # a playground-sized net: every layer in the column layout, biases in the products
    _options_agree((3, 10, 8, 4), 12, activation, loss, "l2", dropout, batchnorm, ["momentum"])


@pytest.mark.parametrize("problem", ["classification", "regression"])
def test_every_playground_option_runs_compiled_on_kernels(problem: str) -> None:
    from chainrule.playground import config as pg
    from chainrule.playground.session import Session

    dataset = (pg.CLASSIFICATION_DATASETS if problem == "classification"
               else pg.REGRESSION_DATASETS)[0]
    losses = pg.LOSSES if problem == "classification" else pg.LOSSES[:1]
    for activation in pg.ACTIVATIONS:
        for reg in pg.REGULARIZATIONS:
            for loss in losses:
                for optimizer in pg.OPTIMIZERS:
                    session = Session(pg.Config().updated({
                        "problem": problem, "dataset": dataset, "activation": activation,
                        "regularization": reg, "reg_rate": 0.01, "loss": loss,
                        "optimizer": optimizer, "num_points": 60}))
                    session.step(1)
                    step = session._train_step
                    assert step.compiled, (activation, reg, loss, optimizer)
                    assert "its own forward/backward" not in step.compiled_step.source, (
                        activation, reg, loss, optimizer)
