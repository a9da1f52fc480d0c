"""The parts of a run built from its config, through the nn/optim registries."""

from __future__ import annotations

import pytest

import chainrule as cr
from chainrule import nn, optim
from chainrule.optim import lr_scheduler
from chainrule.train import TrainConfig
from chainrule.train.config import SCHEDULES
from chainrule.train.factories import (
    build_loss,
    build_model,
    build_optimizer,
    build_scheduler,
)


def test_model_follows_the_config() -> None:
    model = build_model(TrainConfig(hidden=[7, 5], activation="tanh", dropout=0.2,
                                    batchnorm=True), 4, 3)
    assert model.config() == {"type": "MLP", "in_features": 4, "hidden": [7, 5],
                              "out_features": 3, "activation": "tanh", "dropout": 0.2,
                              "batchnorm": True}


@pytest.mark.parametrize("name", sorted(nn.LOSSES))
def test_loss_is_the_registry_entry(name: str) -> None:
    assert type(build_loss(TrainConfig(loss=name))) is nn.LOSSES[name]


@pytest.mark.parametrize("name", list(optim.OPTIMIZERS))
def test_optimizer_is_the_registry_entry(name: str) -> None:
    model = nn.MLP(3, [4], 2)
    ours = build_optimizer(TrainConfig(optimizer=name), model)
    theirs = optim.make_optimizer(name, model.parameters(), TrainConfig(optimizer=name)
                                  .learning_rate)
    assert type(ours) is type(theirs)
    assert [{k: v for k, v in g.items() if k != "params"} for g in ours.param_groups] == \
        [{k: v for k, v in g.items() if k != "params"} for g in theirs.param_groups]
    assert ours.param_groups[0]["params"] == list(model.parameters())


@pytest.mark.parametrize(("name", "kind", "interval"), [
    ("none", type(None), "epoch"), ("step", lr_scheduler.MultiStepLR, "epoch"),
    ("cosine", lr_scheduler.CosineAnnealingLR, "step"),
    ("linear", lr_scheduler.LinearDecayLR, "step"),
    ("invsqrt", lr_scheduler.InverseSqrtLR, "epoch"),
    ("onecycle", lr_scheduler.SequentialLR, "step"),
])
def test_each_schedule(name: str, kind: type, interval: str) -> None:
    assert name in SCHEDULES
    cfg = TrainConfig(lr_schedule=name, epochs=8)
    opt = build_optimizer(cfg, nn.MLP(2, [], 2))
    scheduler, when = build_scheduler(cfg, opt, steps_per_epoch=10)
    assert type(scheduler) is kind and when == interval
    if name == "step":
        assert sorted(scheduler.milestones.elements()) == [4, 6]  # 50% and 75% of 8 epochs
    if name == "cosine":
        assert scheduler.T_max == 80


def test_onecycle_rises_to_the_learning_rate_then_falls_to_zero() -> None:
    cfg = TrainConfig(lr_schedule="onecycle", epochs=5, optimizer="sgd", lr=1.0)
    opt = build_optimizer(cfg, nn.MLP(2, [], 2))
    scheduler, _ = build_scheduler(cfg, opt, steps_per_epoch=20)
    lrs = []
    for _ in range(100):
        lrs.append(opt.param_groups[0]["lr"])
        scheduler.step()
    assert lrs[0] == pytest.approx(0.1) and max(lrs) == pytest.approx(1.0)
    assert lrs.index(max(lrs)) == 20  # 20% of the 100 steps
    assert lrs[-1] == pytest.approx(1 / 80) and opt.param_groups[0]["lr"] == 0


def test_build_model_makes_a_convnet_sized_for_the_images() -> None:
    model = build_model(TrainConfig(model="cnn"), 0, 10, (32, 32, 3))
    assert isinstance(model, nn.ConvNet) and model.blocks == nn.default_conv_spec(32)
    small = build_model(TrainConfig(model="cnn", conv="8 pool", dropout=0.1), 0, 4, (8, 8, 1))
    assert small.in_channels == 1 and small.blocks == [8, "pool"] and small.dropout == 0.1
    with pytest.raises(cr.ConfigError, match="--model cnn needs images"):
        build_model(TrainConfig(model="cnn"), 64, 10, None)
