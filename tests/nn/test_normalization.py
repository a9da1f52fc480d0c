"""BatchNorm2d (and BatchNorm1d through the same op): PyTorch's names, numbers and running
statistics, training and evaluation."""

from __future__ import annotations

import numpy as np
import pytest

import chainrule as cr
from chainrule import nn

torch = pytest.importorskip("torch")


@pytest.mark.parametrize("kwargs", [{}, {"momentum": None}, {"affine": False},
                                    {"track_running_stats": False}])
def test_batchnorm2d_matches_torch_in_training_and_evaluation(kwargs: dict) -> None:
    bn = nn.BatchNorm2d(3, **kwargs).double()
    tbn = torch.nn.BatchNorm2d(3, **kwargs).double()
    assert list(bn.state_dict()) == list(tbn.state_dict())
    rng = np.random.default_rng(0)
    if bn.weight is not None:
        bn.weight.data[:] = rng.standard_normal(3)
        bn.bias.data[:] = rng.standard_normal(3)
    tbn.load_state_dict({k: torch.from_numpy(v) for k, v in bn.state_dict().items()})
    for mode in ("train", "train", "eval"):
        bn.train(mode == "train")
        tbn.train(mode == "train")
        x = rng.standard_normal((4, 3, 5, 6)) * 2 + 1
        xt = cr.tensor(x, dtype="float64", requires_grad=True)
        tx = torch.tensor(x, requires_grad=True)
        out, expected = bn(xt), tbn(tx)
        np.testing.assert_allclose(out.data, expected.detach().numpy(), atol=1e-10)
        up = rng.standard_normal(out.shape)
        out.backward(up)
        expected.backward(torch.tensor(up))
        np.testing.assert_allclose(xt.grad, tx.grad.numpy(), atol=1e-10)
        for name, p in bn.named_parameters():
            np.testing.assert_allclose(p.grad, dict(tbn.named_parameters())[name].grad.numpy(),
                                       atol=1e-10)
    for key, value in tbn.state_dict().items():
        np.testing.assert_allclose(bn.state_dict()[key], value.numpy(), atol=1e-12, err_msg=key)


def test_running_statistics_are_buffers_of_the_layer() -> None:
    bn = nn.BatchNorm2d(4)
    mean = bn.running_mean
    bn(cr.randn(8, 4, 3, 3) * 2 + 5)
    assert bn.running_mean is mean and mean.mean() > 0.3  # moved in place, toward 5
    assert int(bn.num_batches_tracked) == 1
    state = bn.state_dict()
    other = nn.BatchNorm2d(4)
    kept = other.running_var
    other.load_state_dict(state)
    assert other.running_var is kept  # loaded in place: a compiled step keeps reading it
    np.testing.assert_array_equal(kept, state["running_var"])


def test_errors_name_the_layer_and_the_shapes() -> None:
    with pytest.raises(cr.ShapeError, match=r"BatchNorm2d\(4\): expected input of shape "
                                            r"\(N, 4, H, W\), got \(8, 4\)"):
        nn.BatchNorm2d(4)(cr.randn(8, 4))
    with pytest.raises(cr.ShapeError, match=r"BatchNorm1d\(4\): expected input of shape "
                                            r"\(N, 4\) or \(N, 4, L\), got \(2, 4, 3, 3\)"):
        nn.BatchNorm1d(4)(cr.randn(2, 4, 3, 3))
