"""Loss modules: float64 gradcheck and PyTorch's losses on the same scores."""

from __future__ import annotations

import numpy as np
import pytest

import chainrule as cr
from chainrule import nn

torch = pytest.importorskip("torch")

RNG = np.random.default_rng(0)
SCORES = RNG.standard_normal((6, 4)) * 2
LABELS = np.array([0, 3, 1, 1, 2, 0])
PRED = RNG.standard_normal((5, 3))
TARGET = RNG.standard_normal((5, 3))


def _compare(loss: cr.Tensor, tloss: torch.Tensor, x: cr.Tensor, tx: torch.Tensor,
             upstream: np.ndarray) -> None:
    loss.backward(upstream)
    tloss.backward(torch.from_numpy(upstream))
    np.testing.assert_allclose(loss.data, tloss.detach().numpy(), atol=1e-12)
    np.testing.assert_allclose(x.grad, tx.grad.numpy(), atol=1e-12)


def _upstream(reduction: str, n: int) -> np.ndarray:
    return np.linspace(0.5, 1.5, n) if reduction == "none" else np.array(1.3)


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_cross_entropy_matches_torch(reduction: str) -> None:
    x = cr.tensor(SCORES, dtype="float64", requires_grad=True)
    tx = torch.tensor(SCORES, requires_grad=True)
    loss = nn.CrossEntropyLoss(reduction=reduction)(x, LABELS)
    tloss = torch.nn.CrossEntropyLoss(reduction=reduction)(tx, torch.from_numpy(LABELS))
    _compare(loss, tloss, x, tx, _upstream(reduction, 6))


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("margin", [1.0, 0.5])
def test_hinge_is_torch_multimargin_times_classes(reduction: str, margin: float) -> None:
    """PyTorch's MultiMarginLoss divides by C; the lecture's SVM loss does not."""
    c = SCORES.shape[1]
    x = cr.tensor(SCORES, dtype="float64", requires_grad=True)
    tx = torch.tensor(SCORES, requires_grad=True)
    loss = nn.MulticlassHingeLoss(margin=margin, reduction=reduction)(x, LABELS)
    tloss = c * torch.nn.MultiMarginLoss(margin=margin, reduction=reduction)(
        tx, torch.from_numpy(LABELS))
    _compare(loss, tloss, x, tx, _upstream(reduction, 6))


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_mse_matches_torch(reduction: str) -> None:
    x = cr.tensor(PRED, dtype="float64", requires_grad=True)
    tx = torch.tensor(PRED, requires_grad=True)
    loss = nn.MSELoss(reduction=reduction)(x, TARGET)
    tloss = torch.nn.MSELoss(reduction=reduction)(tx, torch.from_numpy(TARGET))
    up = np.linspace(0.5, 1.5, PRED.size).reshape(PRED.shape) if reduction == "none" \
        else np.array(1.3)
    _compare(loss, tloss, x, tx, up)


def test_l2_loss_is_half_squared_norm_per_example() -> None:
    x = cr.tensor(PRED, dtype="float64", requires_grad=True)
    tx = torch.tensor(PRED, requires_grad=True)
    n = PRED.shape[0]
    _compare(nn.L2Loss()(x, TARGET),
             0.5 / n * torch.nn.MSELoss(reduction="sum")(tx, torch.from_numpy(TARGET)),
             x, tx, np.array(1.0))
    per = nn.L2Loss(reduction="none")(cr.tensor(PRED, dtype="float64"), TARGET)
    np.testing.assert_allclose(per.data, 0.5 * ((PRED - TARGET) ** 2).sum(axis=1))
    total = nn.L2Loss(reduction="sum")(cr.tensor(PRED, dtype="float64"), TARGET)
    assert total.item() == pytest.approx(0.5 * ((PRED - TARGET) ** 2).sum())


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_losses_gradcheck(reduction: str) -> None:
    for loss_fn in (nn.CrossEntropyLoss(reduction=reduction),
                    nn.MulticlassHingeLoss(reduction=reduction)):
        assert cr.gradcheck(lambda s, f=loss_fn: f(s, LABELS), [SCORES])
    for loss_fn in (nn.MSELoss(reduction=reduction), nn.L2Loss(reduction=reduction)):
        assert cr.gradcheck(lambda p, f=loss_fn: f(p, TARGET), [PRED])


def test_lecture_softmax_loss_of_the_cat() -> None:
    loss = nn.CrossEntropyLoss()(cr.tensor([[3.2, 5.1, -1.7]]), np.array([0]))
    assert loss.item() == pytest.approx(2.04, abs=0.005)


def test_lecture_svm_loss_of_the_cat() -> None:
    # the lecture's cat scores: max(0, 5.1 - 3.2 + 1) + max(0, -1.7 - 3.2 + 1) = 2.9
    loss = nn.MulticlassHingeLoss()(cr.tensor([[3.2, 5.1, -1.7]]), np.array([0]))
    assert loss.item() == pytest.approx(2.9, abs=1e-5)


def test_loss_errors_and_repr() -> None:
    with pytest.raises(ValueError, match="reduction"):
        nn.MSELoss(reduction="avg")
    with pytest.raises(cr.ShapeError):
        nn.CrossEntropyLoss()(cr.randn(3, 4), np.array([0, 1]))
    assert repr(nn.CrossEntropyLoss()) == "CrossEntropyLoss()"
    assert repr(nn.MulticlassHingeLoss(0.5, "sum")) == \
        "MulticlassHingeLoss(margin=0.5, reduction='sum')"
