"""Optimizers against torch.optim: same weights, same gradients, same parameters."""

from __future__ import annotations

import tracemalloc

import numpy as np
import pytest

import chainrule as cr
from chainrule import nn, optim

torch = pytest.importorskip("torch")

STEPS = 20
SHAPES = [(4, 3), (3,)]

CONFIGS = [
    ("SGD", {"lr": 0.1}),
    ("SGD", {"lr": 0.1, "momentum": 0.9}),
    ("SGD", {"lr": 0.1, "momentum": 0.9, "dampening": 0.3}),
    ("SGD", {"lr": 0.1, "momentum": 0.9, "nesterov": True}),
    ("SGD", {"lr": 0.1, "weight_decay": 0.05}),
    ("SGD", {"lr": 0.05, "momentum": 0.8, "nesterov": True, "weight_decay": 0.1}),
    ("RMSprop", {}),
    ("RMSprop", {"lr": 0.01, "alpha": 0.9}),
    ("RMSprop", {"lr": 0.01, "eps": 1e-3}),
    ("RMSprop", {"lr": 0.01, "momentum": 0.7}),
    ("RMSprop", {"lr": 0.01, "centered": True}),
    ("RMSprop", {"lr": 0.01, "weight_decay": 0.1}),
    ("RMSprop", {"lr": 0.01, "momentum": 0.5, "centered": True, "weight_decay": 0.1}),
    ("Adam", {}),
    ("Adam", {"lr": 0.01, "betas": (0.8, 0.9)}),
    ("Adam", {"lr": 0.01, "eps": 1e-3}),
    ("Adam", {"lr": 0.01, "weight_decay": 0.1}),
    ("Adam", {"lr": 0.01, "amsgrad": True}),
    ("Adam", {"lr": 0.01, "betas": (0.5, 0.7), "amsgrad": True, "weight_decay": 0.2}),
    ("AdamW", {}),
    ("AdamW", {"lr": 0.01, "weight_decay": 0.3}),
    ("AdamW", {"lr": 0.01, "amsgrad": True, "betas": (0.85, 0.95)}),
]
IDS = [f"{name}-{'-'.join(f'{k}={v}' for k, v in kw.items()) or 'default'}"
       for name, kw in CONFIGS]


def _initial() -> list[np.ndarray]:
    rng = np.random.default_rng(0)
    return [rng.standard_normal(s) for s in SHAPES]


def _gradients() -> list[list[np.ndarray]]:
    rng = np.random.default_rng(1)
    return [[rng.standard_normal(s) for s in SHAPES] for _ in range(STEPS)]


def _chainrule_run(name: str, kw: dict, grads: list, stop_at: int | None = None,
                   resume: dict | None = None, start: int = 0) -> tuple:
    params = [nn.Parameter(w) for w in _initial()] if resume is None else resume["params"]
    opt = getattr(optim, name)(params, **kw)
    if resume is not None:
        opt.load_state_dict(resume["state"])
    for t in range(start, STEPS if stop_at is None else stop_at):
        for p, g in zip(params, grads[t]):
            p.grad = g.copy()
        opt.step()
    return params, opt


def _torch_run(name: str, kw: dict, grads: list) -> list[np.ndarray]:
    params = [torch.tensor(w, requires_grad=True) for w in _initial()]
    opt = getattr(torch.optim, name)(params, **kw)
    for step_grads in grads:
        for p, g in zip(params, step_grads):
            p.grad = torch.from_numpy(g.copy())
        opt.step()
    return [p.detach().numpy() for p in params]


@pytest.mark.parametrize(("name", "kw"), CONFIGS, ids=IDS)
def test_twenty_steps_match_torch(name: str, kw: dict) -> None:
    grads = _gradients()
    params, _ = _chainrule_run(name, kw, grads)
    expected = _torch_run(name, kw, grads)
    for p, e in zip(params, expected):
        assert p.dtype == np.float64
        np.testing.assert_allclose(p.data, e, atol=1e-6, rtol=0)
        np.testing.assert_allclose(p.data, e, atol=1e-12, rtol=0)   # in fact to rounding


@pytest.mark.parametrize(("name", "kw"), CONFIGS, ids=IDS)
def test_state_dict_at_step_ten_resumes_identically(name: str, kw: dict) -> None:
    grads = _gradients()
    full, _ = _chainrule_run(name, kw, grads)
    half, opt = _chainrule_run(name, kw, grads, stop_at=10)
    saved = opt.state_dict()
    saved_params = [p.data.copy() for p in half]
    for p in half:                                   # the saved copy must not alias
        p.data += 0.0
    fresh = [nn.Parameter(w) for w in saved_params]
    resumed, _ = _chainrule_run(name, kw, grads, resume={"params": fresh, "state": saved},
                                start=10)
    for a, b in zip(full, resumed):
        np.testing.assert_array_equal(a.data, b.data)


def test_state_dict_layout_is_pytorchs() -> None:
    grads = _gradients()
    _, sgd = _chainrule_run("SGD", {"lr": 0.1, "momentum": 0.9}, grads, stop_at=2)
    sd = sgd.state_dict()
    assert sd["param_groups"][0]["params"] == [0, 1]
    assert sd["param_groups"][0]["lr"] == 0.1 and sd["param_groups"][0]["momentum"] == 0.9
    assert set(sd["state"]) == {0, 1}
    assert set(sd["state"][0]) == {"momentum_buffer"}
    assert isinstance(sd["state"][0]["momentum_buffer"], np.ndarray)
    _, adam = _chainrule_run("Adam", {"amsgrad": True}, grads, stop_at=3)
    assert set(adam.state_dict()["state"][1]) == {"step", "exp_avg", "exp_avg_sq",
                                                  "max_exp_avg_sq"}
    assert adam.state_dict()["state"][1]["step"] == 3
    _, rms = _chainrule_run("RMSprop", {"momentum": 0.5, "centered": True}, grads, stop_at=1)
    assert set(rms.state_dict()["state"][0]) == {"step", "square_avg", "momentum_buffer",
                                                 "grad_avg"}
    torch_params = [torch.tensor(w, requires_grad=True) for w in _initial()]
    topt = torch.optim.Adam(torch_params, amsgrad=True)
    for p, g in zip(torch_params, grads[0]):
        p.grad = torch.from_numpy(g)
    topt.step()
    assert set(topt.state_dict()["state"][1]) == set(adam.state_dict()["state"][1])
    state = adam.state_dict()["state"][0]
    state["exp_avg"] += 1                            # a copy: the optimizer is unchanged
    assert not np.allclose(adam.state[adam.param_groups[0]["params"][0]]["exp_avg"],
                           state["exp_avg"])


def test_param_groups_with_their_own_settings_match_torch() -> None:
    grads = _gradients()
    w = _initial()
    params = [nn.Parameter(a) for a in w]
    opt = optim.SGD([{"params": [params[0]]},
                     {"params": [params[1]], "lr": 0.01, "weight_decay": 0.0}],
                    lr=0.1, momentum=0.9, weight_decay=0.1)
    tparams = [torch.tensor(a, requires_grad=True) for a in w]
    topt = torch.optim.SGD([{"params": [tparams[0]]},
                            {"params": [tparams[1]], "lr": 0.01, "weight_decay": 0.0}],
                           lr=0.1, momentum=0.9, weight_decay=0.1)
    for step_grads in grads:
        for p, tp, g in zip(params, tparams, step_grads):
            p.grad, tp.grad = g.copy(), torch.from_numpy(g.copy())
        opt.step()
        topt.step()
    for p, tp in zip(params, tparams):
        np.testing.assert_allclose(p.data, tp.detach().numpy(), atol=1e-12)
    assert opt.param_groups[1]["momentum"] == 0.9          # defaults fill the group


@pytest.mark.parametrize(("name", "kw"), [("SGD", {"lr": 0.1, "momentum": 0.9,
                                                   "nesterov": True, "weight_decay": 0.1}),
                                          ("SGD", {"lr": 0.1, "dampening": 0.5,
                                                   "momentum": 0.5}),
                                          ("RMSprop", {"momentum": 0.5, "centered": True,
                                                       "weight_decay": 0.1}),
                                          ("Adam", {"amsgrad": True, "weight_decay": 0.1}),
                                          ("AdamW", {"amsgrad": True})])
def test_steps_after_the_first_allocate_no_parameter_sized_arrays(name: str, kw: dict) -> None:
    p = nn.Parameter(np.random.default_rng(0).standard_normal(100_000))
    opt = getattr(optim, name)([p], **kw)
    p.grad = np.random.default_rng(1).standard_normal(100_000)
    data_id = id(p.data)
    opt.step()                                    # the first step creates state and scratch
    tracemalloc.start()
    try:
        for _ in range(3):
            opt.step()
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < p.data.nbytes / 10, f"{name} allocated {peak} bytes during steps"
    assert id(p.data) == data_id                  # updated in place


def test_zero_grad_set_to_none_or_zeros() -> None:
    p = nn.Parameter(np.ones(3))
    opt = optim.SGD([p], lr=0.1)
    p.grad = np.ones(3)
    opt.zero_grad(set_to_none=False)
    assert p.grad is not None and not p.grad.any()
    opt.zero_grad()
    assert p.grad is None


def test_parameters_without_gradient_are_skipped_and_closure_runs() -> None:
    a, b = nn.Parameter(np.ones(2)), nn.Parameter(np.ones(2))
    opt = optim.Adam([a, b], lr=0.1)

    def closure() -> cr.Tensor:
        opt.zero_grad()
        loss = (a * a).sum()
        loss.backward()
        return loss

    loss = opt.step(closure)
    assert loss.item() == pytest.approx(2.0)
    assert not np.allclose(a.data, 1) and np.allclose(b.data, 1)
    assert b not in opt.state


def test_training_a_model_with_each_optimizer_lowers_the_loss() -> None:
    x = np.random.default_rng(0).standard_normal((32, 4))
    y = (x[:, 0] > 0).astype(np.int64)
    for make in (lambda ps: optim.SGD(ps, lr=0.5, momentum=0.9),
                 lambda ps: optim.RMSprop(ps, lr=0.01), lambda ps: optim.Adam(ps, lr=0.05),
                 lambda ps: optim.AdamW(ps, lr=0.05)):
        cr.manual_seed(0)
        model = nn.MLP(4, [8], 2)
        opt = make(model.parameters())
        losses = []
        for _ in range(30):
            loss = nn.CrossEntropyLoss()(model(x), y)
            losses.append(loss.item())
            opt.zero_grad()
            loss.backward()
            opt.step()
        assert losses[-1] < 0.5 * losses[0]


# ----------------------------------------------------------------------------- new rules
class SignMomentum(optim.Optimizer):
    """A user's rule: ``v = beta v + g``, ``w -= lr sign(v)``, elementwise."""

    elementwise = True

    def __init__(self, params: object, lr: float = 0.1, beta: float = 0.5) -> None:
        super().__init__(params, dict(lr=lr, beta=beta))

    def update(self, group: dict, p: cr.Tensor, state: dict) -> None:
        if not state:
            state["velocity"] = np.zeros_like(p.data)
        v = state["velocity"]
        v *= group["beta"]
        v += p.grad
        p.data -= group["lr"] * np.sign(v)


def test_a_new_optimizer_is_a_constructor_and_an_update() -> None:
    p = nn.Parameter(np.array([1.0, -2.0, 3.0]))
    opt = SignMomentum([p], lr=0.5)
    for g in ([1.0, 1.0, -1.0], [-3.0, 0.5, -1.0]):
        p.grad = np.array(g)
        opt.step()
    # velocities (1, 1, -1) then (-2.5, 1, -1.5): signs (1, 1, -1) then (-1, 1, -1)
    np.testing.assert_array_equal(p.data, [1.0, -3.0, 4.0])
    np.testing.assert_array_equal(opt.state_dict()["state"][0]["velocity"], [-2.5, 1.0, -1.5])


def test_an_update_rule_is_public_and_required() -> None:
    p = nn.Parameter(np.ones(2))
    p.grad = np.ones(2)
    optim.SGD([p], lr=0.5).update({"lr": 0.5, "momentum": 0.0, "weight_decay": 0.0,
                                    "dampening": 0.0, "nesterov": False}, p, {})
    np.testing.assert_array_equal(p.data, [0.5, 0.5])

    class NoRule(optim.Optimizer):
        pass

    with pytest.raises(NotImplementedError, match="NoRule does not define update"):
        NoRule([p], {"lr": 0.1}).step()


def test_elementwise_is_declared_with_each_new_rule() -> None:
    assert optim.SGD.elementwise and optim.Adam.elementwise and optim.RMSprop.elementwise
    assert optim.AdamW.elementwise  # Adam's rule, inherited
    assert not optim.Optimizer.elementwise

    class Clipped(optim.SGD):  # a rule of its own that does not say it is elementwise
        def update(self, group: dict, p: cr.Tensor, state: dict) -> None:
            p.grad = p.grad / max(1.0, float(np.linalg.norm(p.grad)))
            super().update(group, p, state)

    class Slower(optim.SGD):  # SGD's rule with other defaults
        def __init__(self, params: object) -> None:
            super().__init__(params, lr=1e-3)

    assert not Clipped.elementwise and Slower.elementwise


# ----------------------------------------------------------------------------- bad input
def _p() -> list[nn.Parameter]:
    return [nn.Parameter(np.zeros(2))]


@pytest.mark.parametrize("name", ["SGD", "RMSprop", "Adam", "AdamW"])
def test_negative_learning_rate_is_rejected(name: str) -> None:
    with pytest.raises(ValueError, match=rf"{name}: invalid learning rate -0.1"):
        getattr(optim, name)(_p(), lr=-0.1)


@pytest.mark.parametrize("name", ["Adam", "AdamW"])
@pytest.mark.parametrize(("betas", "index"), [((1.0, 0.999), 0), ((-0.1, 0.999), 0),
                                             ((0.9, 1.0), 1), ((0.9, 1.5), 1)])
def test_betas_outside_zero_one_are_rejected(name: str, betas: tuple, index: int) -> None:
    with pytest.raises(ValueError, match=rf"invalid beta parameter at index {index}.*\[0, 1\)"):
        getattr(optim, name)(_p(), betas=betas)


def test_other_bad_hyperparameters() -> None:
    with pytest.raises(ValueError, match="Nesterov"):
        optim.SGD(_p(), lr=0.1, nesterov=True)
    with pytest.raises(ValueError, match="momentum"):
        optim.SGD(_p(), lr=0.1, momentum=-1)
    with pytest.raises(ValueError, match="weight_decay"):
        optim.Adam(_p(), weight_decay=-1)
    with pytest.raises(ValueError, match="eps"):
        optim.RMSprop(_p(), eps=-1)
    with pytest.raises(ValueError, match="epsilon"):
        optim.Adam(_p(), eps=-1)
    with pytest.raises(ValueError, match="empty"):
        optim.SGD([], lr=0.1)
    with pytest.raises(TypeError, match="single Tensor"):
        optim.SGD(nn.Parameter(np.zeros(2)), lr=0.1)
    p = nn.Parameter(np.zeros(2))
    with pytest.raises(ValueError, match="more than one"):
        optim.SGD([{"params": [p]}, {"params": [p]}], lr=0.1)
    with pytest.raises(ValueError, match="non-leaf"):
        optim.SGD([p * 2], lr=0.1)


def test_load_state_dict_rejects_a_different_layout() -> None:
    a = optim.SGD(_p() + _p(), lr=0.1)
    b = optim.SGD(_p(), lr=0.1)
    with pytest.raises(ValueError, match="parameters"):
        b.load_state_dict(a.state_dict())


# ---------------------------------------------------------------- one-pass scaled add
@pytest.mark.parametrize(("name", "kw"), CONFIGS[::3], ids=IDS[::3])
@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_large_parameters_take_the_blas_update_and_match_torch(name: str, kw: dict,
                                                                dtype: str) -> None:
    from chainrule import _blas as blas

    shape = (256, 160)  # 40,960 elements: above blas.MIN_SIZE
    assert np.prod(shape) >= blas.MIN_SIZE
    rng = np.random.default_rng(3)
    w0 = rng.standard_normal(shape).astype(dtype)
    grads = [rng.standard_normal(shape).astype(dtype) for _ in range(5)]
    p = nn.Parameter(w0)
    opt = getattr(optim, name)([p], **kw)
    tp = torch.tensor(w0, requires_grad=True)
    topt = getattr(torch.optim, name)([tp], **kw)
    for g in grads:
        p.grad, tp.grad = g.copy(), torch.from_numpy(g.copy())
        opt.step()
        topt.step()
    tol = 1e-12 if dtype == "float64" else 1e-5
    np.testing.assert_allclose(p.data, tp.detach().numpy(), rtol=tol, atol=tol)
