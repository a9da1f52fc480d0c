"""The parts of a run built from its :class:`~chainrule.train.TrainConfig`.

Model, loss and optimizer come from the registries (``nn.ACTIVATIONS`` through ``nn.MLP``,
or ``nn.ConvNet``; ``nn.LOSSES``, ``optim.OPTIMIZERS``); the learning-rate schedule from its name in
:data:`~chainrule.train.config.SCHEDULES`.

>>> cfg = TrainConfig(hidden=[32], loss="svm", optimizer="nesterov")
>>> model = build_model(cfg, in_features=64, num_classes=10)
>>> build_loss(cfg), type(build_optimizer(cfg, model)).__name__
(MulticlassHingeLoss(margin=1.0), 'SGD')
"""

from __future__ import annotations

import itertools
import os
from typing import Any

from chainrule import nn, optim
from chainrule.errors import ConfigError
from chainrule.optim import lr_scheduler
from chainrule.train.config import TrainConfig

__all__ = ["WARMUP", "build_loss", "build_model", "build_optimizer", "build_scheduler"]

#: The share of a one-cycle run's steps spent raising the learning rate.
WARMUP = 0.2


#: Bytes of memory a float32 parameter costs in training: the weight, its gradient, up to
#: two optimizer moments and the best epoch's copy.
BYTES_PER_PARAMETER = 5 * 4


def physical_memory() -> int | None:
    """Bytes of RAM of this machine (``None`` where the OS does not say)."""
    try:
        return int(os.sysconf("SC_PAGE_SIZE")) * int(os.sysconf("SC_PHYS_PAGES"))
    except (AttributeError, OSError, ValueError):
        return None


def build_model(cfg: TrainConfig, in_features: int, num_classes: int,
                image_shape: tuple[int, ...] | None = None) -> nn.Module:
    """The run's model: the MLP ``in_features -> cfg.hidden... -> num_classes``, or for
    ``cfg.model == 'cnn'`` the ConvNet of ``cfg.conv`` (default: sized for the images of
    ``image_shape``, ``(H, W, C)``).

    An MLP too large for this machine's memory is refused before anything is allocated
    (:class:`~chainrule.errors.ConfigError` naming ``--hidden``), instead of failing deep
    inside NumPy, or swapping, after minutes of loading data.
    """
    if cfg.model == "cnn":
        if image_shape is None or len(image_shape) != 3:
            raise ConfigError(f"--model cnn needs images; the inputs have shape {image_shape}")
        h, w, c = image_shape
        blocks = cfg.conv if cfg.conv is not None else nn.default_conv_spec(min(h, w))
        return nn.ConvNet(c, num_classes, blocks, dropout=cfg.dropout)
    widths = [int(in_features), *cfg.hidden, int(num_classes)]
    params = sum(a * b + b for a, b in itertools.pairwise(widths))
    memory = physical_memory()
    if memory is not None and params * BYTES_PER_PARAMETER > memory:
        raise ConfigError(
            f"--hidden {' '.join(map(str, cfg.hidden))}: a net of {params:,} parameters needs "
            f"about {params * BYTES_PER_PARAMETER / 2**30:,.1f} GiB to train, more than this "
            f"machine's {memory / 2**30:,.1f} GiB of memory"
        )
    return nn.MLP(in_features, list(cfg.hidden), num_classes, activation=cfg.activation,
                  dropout=cfg.dropout, batchnorm=cfg.batchnorm)


def build_loss(cfg: TrainConfig) -> nn.Module:
    """The data loss ``cfg.loss`` (softmax: cross-entropy, svm: multiclass hinge)."""
    return nn.loss(cfg.loss)


def build_optimizer(cfg: TrainConfig, model: nn.Module) -> optim.Optimizer:
    """The optimizer ``cfg.optimizer`` over the model's parameters at ``cfg.learning_rate``."""
    return optim.make_optimizer(cfg.optimizer, list(model.parameters()), cfg.learning_rate)


def build_scheduler(cfg: TrainConfig, optimizer: Any, steps_per_epoch: int) -> tuple[Any, str]:
    """The schedule of ``cfg.lr_schedule`` and when it steps (``'step'`` or ``'epoch'``).

    cosine ``a0/2 (1 + cos(pi t/T))`` and linear ``a0 (1 - t/T)`` step after every minibatch
    (``T`` = all steps of the run); step multiplies by 0.1 at 50% and 75% of the epochs;
    invsqrt ``a0 / sqrt(t)`` counts ``t`` in epochs; onecycle rises linearly from
    ``a0 / 10`` to ``a0`` over the first :data:`WARMUP` of the steps, then falls linearly
    to 0 (a large learning rate in the middle of the run, settled at the end: fast
    training for ConvNets with batch norm).
    """
    total = cfg.epochs * steps_per_epoch
    if cfg.lr_schedule == "none":
        return None, "epoch"
    if cfg.lr_schedule == "step":
        milestones = sorted({max(1, cfg.epochs // 2), max(1, (3 * cfg.epochs) // 4)})
        return lr_scheduler.MultiStepLR(optimizer, milestones=milestones, gamma=0.1), "epoch"
    if cfg.lr_schedule == "cosine":
        return lr_scheduler.CosineAnnealingLR(optimizer, T_max=total), "step"
    if cfg.lr_schedule == "linear":
        return lr_scheduler.LinearDecayLR(optimizer, total_steps=total), "step"
    if cfg.lr_schedule == "onecycle":
        warm = max(1, round(WARMUP * total))
        rise = lr_scheduler.LinearLR(optimizer, start_factor=0.1, total_iters=warm)
        fall = lr_scheduler.LinearDecayLR(optimizer, total_steps=max(1, total - warm))
        return lr_scheduler.SequentialLR(optimizer, [rise, fall], milestones=[warm]), "step"
    return lr_scheduler.InverseSqrtLR(optimizer), "epoch"
