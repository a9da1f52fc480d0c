"""Optimizers and schedules refuse settings that would silently train wrong."""

from __future__ import annotations

import math

import numpy as np
import pytest

from chainrule import nn, optim
from chainrule.checks import check_int, check_real, in_range
from chainrule.optim import lr_scheduler as S


def _opt(lr: float = 0.1) -> optim.SGD:
    return optim.SGD([nn.Parameter(np.zeros(2))], lr=lr)


def test_in_range_refuses_nan_inf_and_bools() -> None:
    for bad in (math.nan, math.inf, -math.inf, True, "1", None):
        assert not in_range(bad, low=0.0)
    assert in_range(0.0, low=0.0) and not in_range(0.0, low=0.0, low_open=True)
    assert check_int("X", "n", 3.0, low=1) == 3
    with pytest.raises(ValueError, match=r"X: n must be a whole number >= 1, got 2.5"):
        check_int("X", "n", 2.5, low=1)
    with pytest.raises(ValueError, match=r"X: a must be a finite number in \[0, 1\], got nan"):
        check_real("X", "a", math.nan, low=0.0, high=1.0)


@pytest.mark.parametrize(("build", "said"), [
    (lambda o: S.ExponentialLR(o, gamma=-1), "ExponentialLR: gamma must be a finite number > 0"),
    (lambda o: S.ExponentialLR(o, gamma=0.0), "gamma"),
    (lambda o: S.ExponentialLR(o, gamma=math.nan), "gamma"),
    (lambda o: S.StepLR(o, 3, gamma=-0.5), "StepLR: gamma"),
    (lambda o: S.StepLR(o, 2.5), "StepLR: step_size must be a whole number"),
    (lambda o: S.MultiStepLR(o, [3, 6], gamma=math.inf), "MultiStepLR: gamma"),
    (lambda o: S.MultiStepLR(o, [-3]), "MultiStepLR: each milestone"),
    (lambda o: S.CosineAnnealingLR(o, T_max=10, eta_min=-0.1), "eta_min"),
    (lambda o: S.CosineAnnealingLR(o, T_max=0), "T_max"),
    (lambda o: S.LinearLR(o, total_iters=math.nan), "total_iters"),
    (lambda o: S.LinearDecayLR(o, total_steps=-1), "total_steps"),
    (lambda o: S.StepLR(o, 3, last_epoch=-2), "last_epoch"),
    (lambda o: S.ReduceLROnPlateau(o, factor=0.0), "factor must be in"),
    (lambda o: S.ReduceLROnPlateau(o, factor=-0.5), "factor"),
    (lambda o: S.ReduceLROnPlateau(o, patience=-1), "patience"),
    (lambda o: S.ReduceLROnPlateau(o, min_lr=-1.0), "min_lr"),
    (lambda o: S.ReduceLROnPlateau(o, threshold=math.nan), "threshold"),
    (lambda o: S.SequentialLR(o, [S.StepLR(o, 3), S.StepLR(o, 3), S.StepLR(o, 3)],
                              milestones=[5, 2]), "milestones must increase"),
])
def test_schedules_validate_their_arguments(build, said) -> None:
    opt = _opt()
    with pytest.raises(ValueError, match=said):
        build(opt)


def test_a_schedule_that_makes_the_learning_rate_negative_is_stopped() -> None:
    opt = _opt()
    sched = S.LambdaLR(opt, lambda t: 1.0 - t)  # 1, 0, -1: gradient ascent from step 2
    sched.step()
    assert opt.param_groups[0]["lr"] == 0.0
    with pytest.raises(ValueError, match=r"LambdaLR: step 2 gives parameter group 0 the "
                                         r"learning rate -0.1"):
        sched.step()
    assert opt.param_groups[0]["lr"] == 0.0  # unchanged


@pytest.mark.parametrize(("make", "said"), [
    (lambda p: optim.SGD(p, lr=math.nan), "invalid learning rate"),
    (lambda p: optim.SGD(p, lr=0.1, momentum=math.nan), "momentum"),
    (lambda p: optim.SGD(p, lr=0.1, dampening=2.0), "dampening"),
    (lambda p: optim.Adam(p, weight_decay=math.nan), "weight_decay"),
    (lambda p: optim.Adam(p, eps=math.inf), "epsilon"),
    (lambda p: optim.RMSprop(p, alpha=1.5), "alpha"),
    (lambda p: optim.RMSprop(p, eps=math.nan), "eps"),
])
def test_optimizers_refuse_nan_and_out_of_range_settings(make, said) -> None:
    with pytest.raises(ValueError, match=said):
        make([nn.Parameter(np.zeros(2))])
