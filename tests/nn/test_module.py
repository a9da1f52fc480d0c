"""Module and Parameter: registration, traversal, modes, state dicts, repr."""

from __future__ import annotations

import numpy as np
import pytest

import chainrule as cr
from chainrule import nn


class Block(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.fc = nn.Linear(3, 4)
        self.scale = nn.Parameter(np.ones(4))
        self.register_buffer("counter", np.zeros(1))
        self.note = "not registered"

    def forward(self, x: cr.Tensor) -> cr.Tensor:
        return self.fc(x) * self.scale


class Net(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.block = Block()
        self.drop = nn.Dropout(0.5)
        self.head = nn.Linear(4, 2)

    def forward(self, x: cr.Tensor) -> cr.Tensor:
        return self.head(self.drop(self.block(x)))


def test_parameter_is_a_tensor_that_requires_grad() -> None:
    p = nn.Parameter(np.zeros((2, 3)))
    assert isinstance(p, cr.Tensor) and p.requires_grad and p.is_leaf
    assert p.dtype == np.float64                     # floating dtype kept
    assert nn.Parameter([1, 2]).dtype == np.float32  # integers become float32
    src = np.ones(3)
    q = nn.Parameter(src)
    q.data += 1
    assert src[0] == 1                               # the data was copied
    assert repr(q).startswith("Parameter containing:")
    assert not hasattr(p, "__dict__")                # respects Tensor's __slots__


def test_registration_and_named_parameters_order() -> None:
    net = Net()
    names = [n for n, _ in net.named_parameters()]
    # PyTorch's order: a module's own parameters, then its children's, depth first
    assert names == ["block.scale", "block.fc.weight", "block.fc.bias", "head.weight",
                     "head.bias"]
    assert len(list(net.parameters())) == 5
    assert [n for n, _ in net.named_children()] == ["block", "drop", "head"]
    assert [type(m).__name__ for m in net.modules()] == ["Net", "Block", "Linear", "Dropout",
                                                         "Linear"]
    assert [n for n, _ in net.named_buffers()] == ["block.counter"]
    assert "note" not in net.block._parameters and net.block.note == "not registered"
    assert net.num_parameters() == 3 * 4 + 4 + 4 + 4 * 2 + 2


def test_shared_parameter_appears_once_and_reassignment_replaces() -> None:
    net = nn.Sequential(nn.Linear(2, 2), nn.Linear(2, 2))
    net[1].weight = net[0].weight
    assert len(list(net.parameters())) == 3
    layer = nn.Linear(2, 2)
    layer.bias = None
    assert [n for n, _ in layer.named_parameters()] == ["weight"]
    with pytest.raises(TypeError, match="Parameter"):
        layer.weight = np.zeros((2, 2))


def test_assigning_before_super_init_is_a_clear_error() -> None:
    class Bad(nn.Module):
        def __init__(self) -> None:
            self.w = nn.Parameter(np.zeros(2))

    with pytest.raises(AttributeError, match="super"):
        Bad()


def test_train_eval_propagate_and_change_behaviour() -> None:
    net = Net()
    assert all(m.training for m in net.modules())
    assert net.eval() is net
    assert not any(m.training for m in net.modules())
    x = cr.randn(5, 3)
    np.testing.assert_array_equal(net(x).data, net(x).data)   # dropout off in eval
    net.train()
    assert all(m.training for m in net.modules())


def test_zero_grad_none_or_zeros() -> None:
    net = Net()
    net(cr.randn(4, 3)).sum().backward()
    assert all(p.grad is not None for p in net.parameters())
    net.zero_grad(set_to_none=False)
    assert all(p.grad is not None and not p.grad.any() for p in net.parameters())
    net.zero_grad()
    assert all(p.grad is None for p in net.parameters())


def test_state_dict_is_numpy_copies_in_order() -> None:
    net = Net()
    sd = net.state_dict()
    assert list(sd) == ["block.scale", "block.counter", "block.fc.weight", "block.fc.bias",
                        "head.weight", "head.bias"]
    assert all(type(v) is np.ndarray for v in sd.values())
    sd["head.bias"][:] = 99
    assert not np.any(net.head.bias.data == 99)


def test_load_state_dict_round_trip_in_place() -> None:
    a, b = Net(), Net()
    weight_obj = b.head.weight
    b.load_state_dict(a.state_dict())
    assert b.head.weight is weight_obj                          # copied in place
    for (k, va), vb in zip(a.state_dict().items(), b.state_dict().values()):
        np.testing.assert_array_equal(va, vb, err_msg=k)
    x = cr.randn(3, 3)
    a.eval()
    b.eval()
    np.testing.assert_array_equal(a(x).data, b(x).data)
    b.load_state_dict({k: cr.tensor(v) for k, v in a.state_dict().items()})  # Tensors too


def test_load_state_dict_errors_name_the_keys_and_shapes() -> None:
    net = Net()
    sd = net.state_dict()
    del sd["head.bias"]
    sd["extra.weight"] = np.zeros(2)
    with pytest.raises(nn.StateDictError) as err:
        net.load_state_dict(sd)
    assert "missing keys: 'head.bias'" in str(err.value)
    assert "unexpected keys: 'extra.weight'" in str(err.value)
    result = net.load_state_dict(sd, strict=False)
    assert result.missing_keys == ["head.bias"] and result.unexpected_keys == ["extra.weight"]
    bad = net.state_dict()
    bad["head.weight"] = np.zeros((3, 4))
    with pytest.raises(nn.StateDictError) as err:
        net.load_state_dict(bad, strict=False)
    assert "'head.weight'" in str(err.value) and "(3, 4)" in str(err.value)
    assert "(2, 4)" in str(err.value)
    assert isinstance(err.value, cr.ChainruleError)


def test_load_state_dict_keeps_parameter_dtype() -> None:
    layer = nn.Linear(2, 2)
    layer.load_state_dict({"weight": np.ones((2, 2)), "bias": np.zeros(2)})
    assert layer.weight.dtype == np.float32 and layer.weight.data.sum() == 4


def test_to_double_converts_parameters_and_buffers() -> None:
    net = nn.Sequential(nn.Linear(2, 3), nn.BatchNorm1d(3))
    net.double()
    assert all(p.dtype == np.float64 for p in net.parameters())
    assert net[1].running_mean.dtype == np.float64
    assert net[1].num_batches_tracked.dtype == np.int64
    assert net(np.ones((4, 2))).dtype == np.float64
    net.float()
    assert all(p.dtype == np.float32 for p in net.parameters())


def test_repr_is_a_readable_tree() -> None:
    text = repr(Net())
    assert text.splitlines()[0] == "Net("
    assert "  (block): Block(\n    (fc): Linear(in_features=3, out_features=4, bias=True)" in text
    assert "  (drop): Dropout(p=0.5)" in text
    assert text.endswith(")")


def test_forward_must_be_defined() -> None:
    with pytest.raises(NotImplementedError, match="Empty"):
        type("Empty", (nn.Module,), {})()(cr.randn(2))


def test_requires_grad_toggle_freezes_parameters() -> None:
    layer = nn.Linear(2, 2).requires_grad_(False)
    out = layer(cr.randn(3, 2))
    assert not out.requires_grad


def test_only_modules_that_update_state_in_python_say_so() -> None:
    assert nn.Module.updates_in_training is None and nn.Linear(2, 2).updates_in_training is None
    # batch norm's op updates the running statistics itself: nothing happens in Python
    assert nn.BatchNorm1d(3).updates_in_training is None
    assert nn.BatchNorm2d(3).updates_in_training is None


def test_load_state_dict_copies_buffers_in_place() -> None:
    bn = nn.BatchNorm1d(3)
    arrays = [bn.running_mean, bn.running_var, bn.num_batches_tracked]
    bn.load_state_dict({"weight": np.full(3, 2.0), "bias": np.zeros(3),
                        "running_mean": np.arange(3.0), "running_var": np.full(3, 4.0),
                        "num_batches_tracked": np.array(7)})
    assert all(a is b for a, b in zip(arrays, [bn.running_mean, bn.running_var,
                                               bn.num_batches_tracked]))
    np.testing.assert_array_equal(bn.running_mean, [0.0, 1.0, 2.0])
    assert bn.running_var.dtype == np.float32 and int(bn.num_batches_tracked) == 7
