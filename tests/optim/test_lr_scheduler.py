"""Learning-rate schedules: PyTorch's sequences over 100 steps, the lecture's formulas."""

from __future__ import annotations

import math

import numpy as np
import pytest

from chainrule import nn, optim
from chainrule.optim import lr_scheduler as C

torch = pytest.importorskip("torch")
T = torch.optim.lr_scheduler

LR0 = 0.1
STEPS = 100


def _pair(groups: int = 2) -> tuple[optim.SGD, torch.optim.SGD]:
    """A chainrule and a torch optimizer with ``groups`` groups (lr 0.1, 0.05, ...)."""
    ps = [nn.Parameter(np.zeros(2)) for _ in range(groups)]
    tps = [torch.zeros(2, requires_grad=True) for _ in range(groups)]
    opt = optim.SGD([{"params": [p], "lr": LR0 / (i + 1)} for i, p in enumerate(ps)], lr=LR0)
    topt = torch.optim.SGD([{"params": [p], "lr": LR0 / (i + 1)} for i, p in enumerate(tps)],
                           lr=LR0)
    return opt, topt


def _sequence(sched: object, opt: object, steps: int = STEPS) -> list[list[float]]:
    out = [list(sched.get_last_lr())]
    for _ in range(steps):
        opt.step()
        sched.step()
        out.append(list(sched.get_last_lr()))
    return out


SCHEDULES = {
    "StepLR": (lambda o: C.StepLR(o, step_size=7, gamma=0.5),
               lambda o: T.StepLR(o, step_size=7, gamma=0.5)),
    "MultiStepLR-lecture": (lambda o: C.MultiStepLR(o, [30, 60, 90], gamma=0.1),
                            lambda o: T.MultiStepLR(o, [30, 60, 90], gamma=0.1)),
    "MultiStepLR-repeated": (lambda o: C.MultiStepLR(o, [10, 10, 50], gamma=0.5),
                             lambda o: T.MultiStepLR(o, [10, 10, 50], gamma=0.5)),
    "ExponentialLR": (lambda o: C.ExponentialLR(o, gamma=0.95),
                      lambda o: T.ExponentialLR(o, gamma=0.95)),
    "CosineAnnealingLR": (lambda o: C.CosineAnnealingLR(o, T_max=100),
                          lambda o: T.CosineAnnealingLR(o, T_max=100)),
    "CosineAnnealingLR-restart": (lambda o: C.CosineAnnealingLR(o, T_max=30, eta_min=0.001),
                                  lambda o: T.CosineAnnealingLR(o, T_max=30, eta_min=0.001)),
    "LinearLR": (lambda o: C.LinearLR(o), lambda o: T.LinearLR(o)),
    "LinearLR-decay": (lambda o: C.LinearLR(o, start_factor=1.0, end_factor=0.0,
                                            total_iters=80),
                       lambda o: T.LinearLR(o, start_factor=1.0, end_factor=0.0,
                                            total_iters=80)),
    "LambdaLR": (lambda o: C.LambdaLR(o, lambda t: 1 / (1 + 0.1 * t)),
                 lambda o: T.LambdaLR(o, lambda t: 1 / (1 + 0.1 * t))),
    "LambdaLR-per-group": (lambda o: C.LambdaLR(o, [lambda t: 0.9**t, lambda t: 1 + t]),
                           lambda o: T.LambdaLR(o, [lambda t: 0.9**t, lambda t: 1 + t])),
    "SequentialLR-warmup-cosine": (
        lambda o: C.SequentialLR(o, [C.LinearLR(o, start_factor=0.1, total_iters=5),
                                     C.CosineAnnealingLR(o, T_max=95)], milestones=[5]),
        lambda o: T.SequentialLR(o, [T.LinearLR(o, start_factor=0.1, total_iters=5),
                                     T.CosineAnnealingLR(o, T_max=95)], milestones=[5])),
    "SequentialLR-three": (
        lambda o: C.SequentialLR(o, [C.LinearLR(o, start_factor=0.5, total_iters=10),
                                     C.ExponentialLR(o, gamma=0.9),
                                     C.StepLR(o, step_size=10)], milestones=[10, 40]),
        lambda o: T.SequentialLR(o, [T.LinearLR(o, start_factor=0.5, total_iters=10),
                                     T.ExponentialLR(o, gamma=0.9),
                                     T.StepLR(o, step_size=10)], milestones=[10, 40])),
}


@pytest.mark.filterwarnings("ignore::UserWarning")
@pytest.mark.parametrize("name", list(SCHEDULES))
def test_hundred_steps_match_torch(name: str) -> None:
    make, make_torch = SCHEDULES[name]
    opt, topt = _pair()
    ours = _sequence(make(opt), opt)
    theirs = _sequence(make_torch(topt), topt)
    np.testing.assert_allclose(np.array(ours), np.array(theirs), rtol=1e-12, atol=1e-15)
    assert [g["lr"] for g in opt.param_groups] == pytest.approx(ours[-1])


@pytest.mark.parametrize("kw", [{}, {"mode": "max"}, {"threshold_mode": "abs", "threshold": 0.05},
                                {"patience": 2, "cooldown": 3, "factor": 0.5},
                                {"patience": 0, "min_lr": 0.02}])
def test_reduce_on_plateau_matches_torch(kw: dict) -> None:
    rng = np.random.default_rng(0)
    metrics = np.concatenate([np.linspace(1, 0.5, 20), 0.5 + 0.01 * rng.standard_normal(80)])
    opt, topt = _pair()
    sched, tsched = C.ReduceLROnPlateau(opt, **kw), T.ReduceLROnPlateau(topt, **kw)
    ours, theirs = [], []
    for m in metrics:
        sched.step(m)
        tsched.step(m)
        ours.append(sched.get_last_lr())
        theirs.append(tsched.get_last_lr())
    np.testing.assert_allclose(np.array(ours), np.array(theirs), rtol=1e-12)
    assert ours[-1][0] < LR0                      # it did reduce


def test_lecture_step_schedule_multiplies_by_a_tenth_at_30_60_90() -> None:
    opt, _ = _pair(1)
    lrs = [lr[0] for lr in _sequence(C.MultiStepLR(opt, [30, 60, 90]), opt)]
    for t, lr in enumerate(lrs):
        assert lr == pytest.approx(LR0 * 0.1 ** sum(t >= m for m in (30, 60, 90)))


def test_lecture_cosine_formula() -> None:
    opt, _ = _pair(1)
    lrs = [lr[0] for lr in _sequence(C.CosineAnnealingLR(opt, T_max=STEPS), opt)]
    for t, lr in enumerate(lrs):
        assert lr == pytest.approx(LR0 / 2 * (1 + math.cos(t * math.pi / STEPS)), abs=1e-12)


def test_lecture_linear_decay_formula() -> None:
    opt, _ = _pair(2)
    lrs = _sequence(C.LinearDecayLR(opt, total_steps=80), opt, steps=STEPS)
    for t, (a, b) in enumerate(lrs):
        assert a == pytest.approx(LR0 * max(0.0, 1 - t / 80), abs=1e-15)
        assert b == pytest.approx(LR0 / 2 * max(0.0, 1 - t / 80), abs=1e-15)
    assert lrs[80] == [0.0, 0.0] and lrs[100] == [0.0, 0.0]


def test_lecture_inverse_sqrt_formula_and_t0() -> None:
    opt, _ = _pair(1)
    lrs = [lr[0] for lr in _sequence(C.InverseSqrtLR(opt), opt)]
    assert lrs[0] == LR0                          # t = 0 is defined as a_0 (like t = 1)
    for t in range(1, STEPS + 1):
        assert lrs[t] == pytest.approx(LR0 / math.sqrt(t), abs=1e-15)


def test_lecture_schedules_compose_with_warmup() -> None:
    opt, _ = _pair(1)
    sched = C.SequentialLR(opt, [C.LinearLR(opt, start_factor=0.1, total_iters=5),
                                 C.LinearDecayLR(opt, total_steps=95)], milestones=[5])
    lrs = [lr[0] for lr in _sequence(sched, opt)]
    assert lrs[0] == pytest.approx(0.01)
    assert lrs[5] == pytest.approx(LR0)
    assert lrs[50] == pytest.approx(LR0 * (1 - 45 / 95))
    assert lrs[100] == pytest.approx(0.0, abs=1e-15)


ALL = {
    **{k: v[0] for k, v in SCHEDULES.items() if not k.startswith("Lambda")},
    "LinearDecayLR": lambda o: C.LinearDecayLR(o, total_steps=60),
    "InverseSqrtLR": lambda o: C.InverseSqrtLR(o),
}


@pytest.mark.parametrize("name", list(ALL))
def test_state_dict_resumes_the_sequence(name: str) -> None:
    make = ALL[name]
    opt, _ = _pair()
    full = _sequence(make(opt), opt)
    opt2, _ = _pair()
    sched2 = make(opt2)
    _sequence(sched2, opt2, steps=50)
    saved_sched, saved_opt = sched2.state_dict(), opt2.state_dict()
    opt3, _ = _pair()
    sched3 = make(opt3)
    opt3.load_state_dict(saved_opt)
    sched3.load_state_dict(saved_sched)
    assert sched3.get_last_lr() == pytest.approx(full[50])
    rest = _sequence(sched3, opt3, steps=50)
    np.testing.assert_allclose(np.array(rest), np.array(full[50:]), rtol=1e-12)


def test_lambda_and_plateau_state_dicts() -> None:
    opt, _ = _pair(1)
    sched = C.LambdaLR(opt, lambda t: 0.5**t)
    _sequence(sched, opt, steps=3)
    sd = sched.state_dict()
    assert "lr_lambdas" not in sd and sd["last_epoch"] == 3
    opt2, _ = _pair(1)
    sched2 = C.LambdaLR(opt2, lambda t: 0.5**t)
    sched2.load_state_dict(sd)
    sched2.step()
    assert sched2.get_last_lr() == pytest.approx([LR0 * 0.5**4])
    plateau = C.ReduceLROnPlateau(opt, patience=1)
    for m in (1.0, 1.0, 1.0):
        plateau.step(m)
    sd = plateau.state_dict()
    other = C.ReduceLROnPlateau(_pair(1)[0], patience=1)
    other.load_state_dict(sd)
    assert other.best == 1.0 and other.num_bad_epochs == plateau.num_bad_epochs


def test_scheduler_errors() -> None:
    opt, _ = _pair(1)
    with pytest.raises(TypeError, match="not a chainrule Optimizer"):
        C.StepLR(object(), 3)
    with pytest.raises(ValueError, match="milestones"):
        C.SequentialLR(opt, [C.StepLR(opt, 3), C.StepLR(opt, 3)], milestones=[])
    with pytest.raises(ValueError, match="factor"):
        C.ReduceLROnPlateau(opt, factor=1.0)
    with pytest.raises(ValueError, match="total_steps"):
        C.LinearDecayLR(opt, total_steps=0)
    with pytest.raises(ValueError, match="start_factor"):
        C.LinearLR(opt, start_factor=0.0)
    with pytest.raises(ValueError, match="ReduceLROnPlateau"):
        C.SequentialLR(opt, [C.StepLR(opt, 3), C.ReduceLROnPlateau(opt)], milestones=[3])
    other, _ = _pair(1)
    with pytest.raises(ValueError, match="another optimizer"):
        C.SequentialLR(opt, [C.StepLR(opt, 3), C.StepLR(other, 3)], milestones=[3])
