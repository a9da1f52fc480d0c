"""Layers and activation modules: float64 gradcheck, and PyTorch with the same weights."""

from __future__ import annotations

import math

import numpy as np
import pytest

import chainrule as cr
from chainrule import nn
from chainrule.ops.linalg import Linear as LinearFunction

torch = pytest.importorskip("torch")

F64 = np.float64


def module_gradcheck(module: nn.Module, x: np.ndarray, reseed: int | None = None,
                     atol: float = 1e-6, rtol: float = 1e-4) -> None:
    """Backprop vs centered differences for the input and every parameter (float64)."""
    module.double()
    xt = cr.tensor(x, dtype=F64, requires_grad=True)
    params = [p for _, p in module.named_parameters()]

    def run() -> cr.Tensor:
        if reseed is not None:
            cr.manual_seed(reseed)
        return module(xt)

    out = run()
    upstream = np.random.default_rng(1).standard_normal(out.shape)
    grads = cr.grad(out, [xt, *params], upstream=upstream, allow_unused=True)
    for t, g in zip([xt, *params], grads):
        numeric = cr.numerical_gradient(lambda _: run().data, t, upstream=upstream)
        analytic = np.zeros_like(t.data) if g is None else g.data
        np.testing.assert_allclose(analytic, numeric, atol=atol, rtol=rtol)


def torch_compare(module: nn.Module, tmodule: torch.nn.Module, x: np.ndarray,
                  atol: float = 1e-10) -> None:
    """Same weights, same input, same upstream: same output and gradients as PyTorch."""
    module.double()
    tmodule.double()
    tmodule.load_state_dict({k: torch.from_numpy(v) for k, v in module.state_dict().items()})
    xt = cr.tensor(x, dtype=F64, requires_grad=True)
    out = module(xt)
    upstream = np.random.default_rng(2).standard_normal(out.shape)
    out.backward(upstream)
    tx = torch.tensor(x, dtype=torch.float64, requires_grad=True)
    tout = tmodule(tx)
    tout.backward(torch.from_numpy(upstream))
    np.testing.assert_allclose(out.data, tout.detach().numpy(), atol=atol)
    np.testing.assert_allclose(xt.grad, tx.grad.numpy(), atol=atol)
    tparams = dict(tmodule.named_parameters())
    assert set(tparams) == {n for n, _ in module.named_parameters()}
    for name, p in module.named_parameters():
        np.testing.assert_allclose(p.grad, tparams[name].grad.numpy(), atol=atol, err_msg=name)


def randn(*shape: int, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).standard_normal(shape)


# ----------------------------------------------------------------------------- Linear
def test_linear_gradcheck_and_torch() -> None:
    layer = nn.Linear(5, 4)
    module_gradcheck(layer, randn(3, 5))
    torch_compare(nn.Linear(5, 4), torch.nn.Linear(5, 4), randn(3, 5))


def test_linear_without_bias_and_batched_input_match_torch() -> None:
    layer = nn.Linear(5, 4, bias=False)
    assert layer.bias is None
    assert [n for n, _ in layer.named_parameters()] == ["weight"]
    torch_compare(layer, torch.nn.Linear(5, 4, bias=False), randn(2, 3, 5))
    module_gradcheck(nn.Linear(5, 4), randn(2, 3, 5))


def test_linear_is_one_fused_node() -> None:
    layer = nn.Linear(3, 2)
    x = cr.randn(4, 3)
    out = layer(x)
    assert out.grad_fn.fn is LinearFunction
    assert out.grad_fn.inputs[1] is layer.weight and out.grad_fn.inputs[2] is layer.bias


def test_linear_shape_error_names_both_shapes() -> None:
    with pytest.raises(cr.ShapeError) as err:
        nn.Linear(3, 4)(cr.randn(2, 5))
    assert str(err.value) == (
        "Linear(in_features=3, out_features=4): input of shape (2, 5) has 5 features, expected 3"
    )


def test_linear_default_init_is_pytorch_uniform() -> None:
    layer = nn.Linear(400, 300)
    bound = 1 / math.sqrt(400)
    for p in (layer.weight, layer.bias):
        assert p.dtype == np.float32
        assert np.abs(p.data).max() <= bound
        assert np.abs(p.data).max() > 0.95 * bound
    assert abs(layer.weight.data.std() - bound / math.sqrt(3)) < 0.02 * bound


def test_linear_seeded_init_reproduces() -> None:
    cr.manual_seed(3)
    a = nn.Linear(4, 3).weight.data.copy()
    cr.manual_seed(3)
    b = nn.Linear(4, 3).weight.data.copy()
    np.testing.assert_array_equal(a, b)


def test_modules_accept_numpy_inputs_in_their_dtype() -> None:
    layer = nn.Linear(3, 2)
    out = layer(np.ones((4, 3)))                 # float64 array into a float32 layer
    assert isinstance(out, cr.Tensor) and out.dtype == np.float32
    layer.double()
    assert layer(np.ones((4, 3), dtype=np.float32)).dtype == np.float64


def test_linear_rejects_bad_sizes() -> None:
    with pytest.raises(ValueError, match="in_features"):
        nn.Linear(0, 3)


# ----------------------------------------------------------------------------- containers
def test_sequential_names_indexing_and_forward() -> None:
    net = nn.Sequential(nn.Linear(2, 5), nn.ReLU(), nn.Linear(5, 3))
    assert [n for n, _ in net.named_parameters()] == ["0.weight", "0.bias", "2.weight", "2.bias"]
    assert len(net) == 3 and isinstance(net[1], nn.ReLU) and net[-1] is net[2]
    assert isinstance(net[:2], nn.Sequential) and len(net[:2]) == 2
    x = cr.randn(4, 2)
    np.testing.assert_allclose(net(x).data, net[2](net[1](net[0](x))).data)
    with pytest.raises(IndexError):
        net[3]
    torch_compare(nn.Sequential(nn.Linear(2, 5), nn.Tanh(), nn.Linear(5, 3)),
                  torch.nn.Sequential(torch.nn.Linear(2, 5), torch.nn.Tanh(),
                                      torch.nn.Linear(5, 3)), randn(4, 2))


def test_flatten_and_identity_match_torch() -> None:
    x = randn(2, 3, 4, 5)
    torch_compare(nn.Flatten(), torch.nn.Flatten(), x)
    torch_compare(nn.Flatten(0, 2), torch.nn.Flatten(0, 2), x)
    torch_compare(nn.Identity(), torch.nn.Identity(), x)
    module_gradcheck(nn.Flatten(), randn(2, 3, 4))
    ident = nn.Identity()
    t = cr.randn(3)
    assert ident(t) is t


# ----------------------------------------------------------------------------- Dropout
def test_dropout_training_drops_and_scales() -> None:
    drop = nn.Dropout(0.3)
    x = cr.ones(200, 500)
    out = drop(x).data
    zeros = (out == 0).mean()
    assert abs(zeros - 0.3) < 0.01
    np.testing.assert_allclose(out[out != 0], 1 / 0.7, rtol=1e-6)
    assert abs(out.mean() - 1.0) < 0.02            # inverted dropout keeps the expectation


def test_dropout_gradient_is_the_mask_and_gradchecks() -> None:
    drop = nn.Dropout(0.5)
    x = cr.randn(6, 7, requires_grad=True)
    out = drop(x)
    out.backward(np.ones(out.shape, dtype=np.float32))
    expected = np.where(out.data != 0, 2.0, 0.0)
    np.testing.assert_allclose(x.grad, expected)
    module_gradcheck(nn.Dropout(0.4), randn(5, 6), reseed=7)


def test_dropout_eval_and_p0_are_identity_like_torch() -> None:
    x = randn(4, 5)
    torch_compare(nn.Dropout(0.5).eval(), torch.nn.Dropout(0.5).eval(), x)
    torch_compare(nn.Dropout(0.0), torch.nn.Dropout(0.0), x)
    assert np.all(nn.Dropout(1.0)(cr.ones(3, 3)).data == 0)


def test_dropout_is_reproducible_with_seed_and_checks_p() -> None:
    cr.manual_seed(5)
    a = nn.Dropout(0.5)(cr.ones(10, 10)).data
    cr.manual_seed(5)
    b = nn.Dropout(0.5)(cr.ones(10, 10)).data
    np.testing.assert_array_equal(a, b)
    with pytest.raises(ValueError, match="Dropout"):
        nn.Dropout(1.5)


# ----------------------------------------------------------------------------- BatchNorm1d
def _bn_pair(**kw: object) -> tuple[nn.BatchNorm1d, torch.nn.BatchNorm1d]:
    bn = nn.BatchNorm1d(4, **kw)
    if bn.weight is not None:
        bn.weight.data[:] = np.array([0.5, 1.5, -1.0, 2.0])
        bn.bias.data[:] = np.array([0.1, -0.2, 0.3, 0.0])
    return bn, torch.nn.BatchNorm1d(4, **kw)


@pytest.mark.parametrize("shape", [(8, 4), (5, 4, 3)])
def test_batchnorm_training_matches_torch_and_gradchecks(shape: tuple) -> None:
    bn, tbn = _bn_pair()
    torch_compare(bn, tbn, randn(*shape) * 3 + 1, atol=1e-9)
    module_gradcheck(_bn_pair()[0], randn(*shape))


def test_batchnorm_running_stats_and_eval_match_torch() -> None:
    for kw in ({}, {"momentum": None}, {"momentum": 0.3}):
        bn, tbn = _bn_pair(**kw)
        bn.double()
        tbn.double()
        tbn.load_state_dict({k: torch.from_numpy(v) for k, v in bn.state_dict().items()})
        for seed in range(3):
            x = randn(10, 4, seed=seed) * 2 + seed
            bn(x)
            tbn(torch.from_numpy(x))
        for k, v in tbn.state_dict().items():
            np.testing.assert_allclose(bn.state_dict()[k], v.numpy(), atol=1e-12, err_msg=k)
        assert int(bn.num_batches_tracked) == 3
        bn.eval()
        tbn.eval()
        torch_compare(bn, tbn, randn(6, 4, seed=9), atol=1e-9)
        module_gradcheck(bn, randn(6, 4, seed=9))


def test_batchnorm_variants_and_state_dict_names() -> None:
    bn = nn.BatchNorm1d(3)
    assert list(bn.state_dict()) == list(torch.nn.BatchNorm1d(3).state_dict())
    assert bn.state_dict()["num_batches_tracked"].dtype == np.int64
    bn, tbn = _bn_pair(affine=False)
    assert list(bn.parameters()) == []
    torch_compare(bn, tbn, randn(7, 4), atol=1e-9)
    bn, tbn = _bn_pair(track_running_stats=False)
    assert list(bn.state_dict()) == list(tbn.state_dict()) == ["weight", "bias"]
    torch_compare(bn.eval(), tbn.eval(), randn(7, 4), atol=1e-9)


def test_batchnorm_errors() -> None:
    bn = nn.BatchNorm1d(4)
    with pytest.raises(cr.ShapeError, match=r"BatchNorm1d\(4\).*\(2, 5\)"):
        bn(cr.randn(2, 5))
    with pytest.raises(ValueError, match="more than 1 value"):
        bn(cr.randn(1, 4))
    bn.eval()
    assert bn(cr.randn(1, 4)).shape == (1, 4)


# ----------------------------------------------------------------------------- Maxout
class TorchMaxout(torch.nn.Module):
    def __init__(self, d_in: int, d_out: int, pieces: int) -> None:
        super().__init__()
        self.weight = torch.nn.Parameter(torch.zeros(d_out * pieces, d_in))
        self.bias = torch.nn.Parameter(torch.zeros(d_out * pieces))
        self.pieces = pieces

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        z = torch.nn.functional.linear(x, self.weight, self.bias)
        return z.view(*z.shape[:-1], -1, self.pieces).max(dim=-1).values


def test_maxout_layer_matches_torch_and_gradchecks() -> None:
    layer = nn.Maxout(5, 3, pieces=3)
    assert layer.weight.shape == (9, 5) and layer.bias.shape == (9,)
    torch_compare(layer, TorchMaxout(5, 3, 3), randn(4, 5))
    module_gradcheck(nn.Maxout(5, 3, pieces=2), randn(4, 5))
    with pytest.raises(cr.ShapeError, match=r"Maxout\(.*input of shape \(4, 6\)"):
        nn.Maxout(5, 3)(cr.randn(4, 6))


def test_maxout_is_the_lecture_formula() -> None:
    layer = nn.Maxout(2, 1, pieces=2)
    x = cr.randn(6, 2)
    w, b = layer.weight.data, layer.bias.data
    expected = np.maximum(x.data @ w[0] + b[0], x.data @ w[1] + b[1])
    np.testing.assert_allclose(layer(x).data[:, 0], expected, rtol=1e-6)


# ----------------------------------------------------------------------------- activations
ACTIVATION_PAIRS = [
    (lambda: nn.Sigmoid(), lambda: torch.nn.Sigmoid()),
    (lambda: nn.Tanh(), lambda: torch.nn.Tanh()),
    (lambda: nn.ReLU(), lambda: torch.nn.ReLU()),
    (lambda: nn.LeakyReLU(), lambda: torch.nn.LeakyReLU()),
    (lambda: nn.LeakyReLU(0.1), lambda: torch.nn.LeakyReLU(0.1)),
    (lambda: nn.PReLU(), lambda: torch.nn.PReLU()),
    (lambda: nn.PReLU(num_parameters=4, init=0.1), lambda: torch.nn.PReLU(4, init=0.1)),
    (lambda: nn.ELU(), lambda: torch.nn.ELU()),
    (lambda: nn.ELU(alpha=0.5), lambda: torch.nn.ELU(alpha=0.5)),
]


@pytest.mark.parametrize("pair", ACTIVATION_PAIRS,
                         ids=["sigmoid", "tanh", "relu", "leaky", "leaky0.1", "prelu",
                              "prelu4", "elu", "elu0.5"])
def test_activation_matches_torch_and_gradchecks(pair: tuple) -> None:
    make, make_torch = pair
    x = randn(6, 4) * 2
    torch_compare(make(), make_torch(), x)
    module_gradcheck(make(), x)


def test_prelu_learns_per_channel_slope_on_3d_input() -> None:
    torch_compare(nn.PReLU(3, init=0.2), torch.nn.PReLU(3, init=0.2), randn(2, 3, 5))
    assert nn.PReLU().weight.shape == (1,)
    assert float(nn.PReLU().weight.data[0]) == pytest.approx(0.25)


def test_maxout_pool_matches_torch_reshape_max() -> None:
    x = randn(3, 8)
    out = nn.MaxoutPool(2)(cr.tensor(x, dtype=F64))
    np.testing.assert_allclose(out.data, x.reshape(3, 4, 2).max(-1))
    module_gradcheck(nn.MaxoutPool(4), randn(3, 8))


def test_activation_helper_builds_every_name() -> None:
    expected = {"relu": nn.ReLU, "leaky_relu": nn.LeakyReLU, "prelu": nn.PReLU, "elu": nn.ELU,
                "sigmoid": nn.Sigmoid, "tanh": nn.Tanh, "linear": nn.Identity,
                "identity": nn.Identity, "maxout": nn.MaxoutPool}
    assert set(nn.ACTIVATIONS) == set(expected)
    for name, cls in expected.items():
        assert type(nn.activation(name)) is cls
    assert nn.activation("leaky_relu", negative_slope=0.1).negative_slope == 0.1
    assert nn.activation("maxout", pieces=3).pieces == 3


def test_unknown_activation_lists_the_valid_names() -> None:
    with pytest.raises(ValueError) as err:
        nn.activation("swish")
    msg = str(err.value)
    assert "'swish'" in msg
    for name in ("relu", "leaky_relu", "prelu", "elu", "sigmoid", "tanh", "linear", "maxout"):
        assert name in msg
    with pytest.raises(TypeError, match="relu"):
        nn.activation("relu", slope=3)


def test_activation_reprs() -> None:
    assert repr(nn.LeakyReLU(0.1)) == "LeakyReLU(negative_slope=0.1)"
    assert repr(nn.ELU()) == "ELU(alpha=1.0)"
    assert repr(nn.Linear(2, 3)) == "Linear(in_features=2, out_features=3, bias=True)"
