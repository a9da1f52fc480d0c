"""The engine on every device: factories, moves, the backward walk, errors, against NumPy."""

from __future__ import annotations

import numpy as np
import pytest

import chainrule as cr
from tests.portability.devices import (
    DEVICES,
    assert_agree,
    host,
    is_gpu,
    skip_unless_usable,
)

pytestmark = pytest.mark.parametrize("device", DEVICES)


@pytest.fixture(autouse=True)
def _usable(device: str) -> None:
    skip_unless_usable(device)


def test_factories_make_tensors_on_the_device(device: str) -> None:
    made = [
        cr.tensor([[1.0, 2.0], [3.0, 4.0]], device=device), cr.zeros(2, 3, device=device),
        cr.ones(4, dtype="float64", device=device), cr.full((2, 2), 7.0, device=device),
        cr.arange(5, device=device), cr.linspace(0, 1, 5, device=device),
        cr.eye(3, device=device),
    ]
    for t in made:
        assert t.device == device
    np.testing.assert_array_equal(host(made[0]), [[1.0, 2.0], [3.0, 4.0]])
    assert made[0].dtype == np.float32 and made[4].dtype.kind == "i"
    like = cr.zeros_like(made[0])
    assert like.device == device and like.dtype == np.float32 and like.shape == (2, 2)
    assert cr.ones_like(made[4]).dtype == np.float32  # integers give floats, as on the CPU


def test_seeded_random_tensors(device: str) -> None:
    cr.manual_seed(3)
    a = cr.randn(3, 4, dtype="float64", device=device)
    b = cr.rand(5, device=device)
    cr.manual_seed(3)
    a2 = cr.randn(3, 4, dtype="float64", device=device)
    assert a.device == device and b.device == device
    np.testing.assert_array_equal(host(a), host(a2))  # reproducible on each device
    assert ((host(b) >= 0) & (host(b) < 1)).all()
    if not is_gpu(device):  # array_api_strict draws from the CPU's generator
        cr.manual_seed(3)
        np.testing.assert_array_equal(host(a), cr.randn(3, 4, dtype="float64").numpy())


def test_moves_keep_values_and_the_gradient_flows_back(device: str) -> None:
    x = cr.tensor([1.0, -2.0, 3.0], dtype="float64", requires_grad=True)
    moved = x.to(device)
    assert moved.device == device and x.device == "cpu"
    assert moved.to(device) is moved
    (moved * moved).sum().backward()
    assert x.grad is not None and type(x.grad) is np.ndarray  # back on the CPU
    np.testing.assert_allclose(x.grad, [2.0, -4.0, 6.0])
    back = moved.cpu()
    assert back.device == "cpu"
    np.testing.assert_array_equal(back.numpy(), x.numpy())
    assert moved.to("float32").dtype == np.float32
    assert moved.to(device, "float32").device == device


def test_the_backward_walk(device: str) -> None:
    def run(dev: str) -> tuple:
        x = cr.tensor([[0.5, -1.0], [2.0, 0.25]], dtype="float64", requires_grad=True,
                      device=dev)
        w = cr.tensor([[1.0, 2.0], [-1.0, 0.5]], dtype="float64", requires_grad=True,
                      device=dev)
        h = (x @ w).tanh()
        h.retain_grad()
        y = (h * x + h).sum()  # x and h each used twice: the copy gate adds
        y.backward()
        (gx,) = cr.grad((x**3).sum(), x, create_graph=True)
        (gxx,) = cr.grad(gx.sum(), x)  # 6x
        return y, x.grad, w.grad, h.grad, gxx

    for got, want in zip(run(device), run("cpu")):
        assert_agree(got, want, device, "backward walk")


def test_gradients_stay_on_the_device_and_accumulate(device: str) -> None:
    x = cr.tensor([1.0, 2.0], dtype="float64", requires_grad=True, device=device)
    (x * 3.0).sum().backward()
    (x * x).sum().backward()
    assert cr.backend.device_of(x.grad) == device
    np.testing.assert_allclose(host(x.grad), [5.0, 7.0])
    x.zero_grad()
    assert x.grad is None


def test_operands_on_different_devices_are_refused(device: str) -> None:
    if device == "cpu":
        pytest.skip("one device")
    a = cr.ones(3, device=device, requires_grad=True)
    b = cr.ones(3)
    with pytest.raises(cr.DeviceError, match=rf"add: .*different devices, {device}.* and cpu"):
        a + b
    with pytest.raises(cr.DeviceError, match=r"matmul: .*cpu and"):
        cr.matmul(b, cr.ones(3, 3, device=device))


def test_constants_go_to_the_tensors_device(device: str) -> None:
    x = cr.tensor([1.0, 2.0, 3.0], device=device)
    ones = [1.0, 1.0, 1.0]
    for result in (x * np.array([2.0, 2.0, 2.0]), cr.ops.add(x, ones), cr.where(x > 1.5, x, 0.0),
                   x == np.array([1.0, 0.0, 3.0])):
        assert result.device == device
    np.testing.assert_array_equal(host(x[np.array([0, 2])]), [1.0, 3.0])
    np.testing.assert_array_equal(host((x > 1.5).astype("float32")), [0.0, 1.0, 1.0])


def test_host_conversions(device: str) -> None:
    x = cr.tensor([[1.5, 2.5]], device=device)
    assert x.item is not None and x.tolist() == [[1.5, 2.5]]
    assert x.sum().item() == 4.0 and float(x.sum()) == 4.0
    assert int(x.argmax(axis=1).item()) == 1 and len(x) == 1
    if device == "cpu":
        assert x.numpy() is x.data and "device" not in repr(x)
        return
    with pytest.raises(TypeError, match=f"on {device}.*call .cpu"):
        x.numpy()
    with pytest.raises(TypeError, match="cpu"):
        np.asarray(x)
    assert f"device='{device}'" in repr(x)


def test_gradcheck_on_the_device(device: str) -> None:
    x = cr.randn(3, 4, device=device)
    assert cr.gradcheck(lambda t: (t.tanh() * t).sum(axis=1), [x])
    bad = cr.tensor([1.0, 2.0], device=device)
    with pytest.raises(cr.GradcheckError):
        cr.gradcheck(lambda t: _WrongSquare.apply(t), [bad])


class _WrongSquare(cr.Function):
    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return x * x

    @staticmethod
    def backward(ctx, upstream):
        (x,) = ctx.saved_tensors
        return upstream * x  # should be 2x


def test_a_module_takes_numpy_inputs_to_its_device(device: str) -> None:
    cr.manual_seed(0)
    model = cr.nn.MLP(3, [5], 2, dtype="float64").to(device)
    assert all(p.device == device for p in model.parameters())
    out = model(np.ones((4, 3)))
    assert out.device == device and out.dtype == np.float64
    cr.manual_seed(0)
    want = cr.nn.MLP(3, [5], 2, dtype="float64")(np.ones((4, 3)))
    assert_agree(out, want, device, "MLP on numpy input")
