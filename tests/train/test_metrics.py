"""evaluate(): accuracy, per-class precision/recall and the confusion matrix."""

from __future__ import annotations

import numpy as np
import pytest

import chainrule as cr
from chainrule import nn
from chainrule.train import confusion_matrix, evaluate


def fixed_model() -> nn.Module:
    """The identity as a Linear layer: fed one-hot rows, it predicts their classes."""
    model = nn.Linear(3, 3)
    model.load_state_dict({"weight": np.eye(3, dtype=np.float32),
                           "bias": np.zeros(3, np.float32)})
    return model


def test_matches_hand_computed_values_and_sklearn():
    from sklearn.metrics import confusion_matrix as sk_cm
    from sklearn.metrics import precision_score, recall_score

    y_true = np.array([0, 0, 0, 1, 1, 2, 2, 2, 2, 1])
    y_pred = np.array([0, 1, 0, 1, 1, 2, 0, 2, 1, 1])
    X = np.eye(3, dtype=np.float32)[y_pred]  # identity model: scores = one-hot predictions
    ev = evaluate(fixed_model(), X, y_true, class_names=["a", "b", "c"])
    assert ev.accuracy == pytest.approx(7 / 10)
    np.testing.assert_array_equal(ev.confusion, sk_cm(y_true, y_pred))
    np.testing.assert_allclose(ev.precision, precision_score(y_true, y_pred, average=None))
    np.testing.assert_allclose(ev.recall, recall_score(y_true, y_pred, average=None))
    np.testing.assert_array_equal(ev.predictions, y_pred)
    d = ev.to_dict()
    assert d["per_class"]["c"] == {"precision": 1.0, "recall": 0.5, "support": 4}
    assert d["num_examples"] == 10
    assert "accuracy" in ev.summary() and "0.7000" in ev.summary()


def test_class_never_predicted_has_zero_precision_and_batches_do_not_matter():
    y_true = np.array([0, 1, 2, 2])
    y_pred = np.array([0, 0, 0, 0])
    X = np.eye(3, dtype=np.float32)[y_pred]
    ev = evaluate(fixed_model(), X, y_true, batch_size=3)
    np.testing.assert_array_equal(ev.precision, [0.25, 0.0, 0.0])
    np.testing.assert_array_equal(ev.recall, [1.0, 0.0, 0.0])
    assert ev.class_names == ["0", "1", "2"]


def test_loss_and_pairs_and_loaders():
    X = np.eye(3, dtype=np.float32)
    y = np.array([0, 1, 2])
    model = fixed_model()
    ev = evaluate(model, (X, y), loss=nn.CrossEntropyLoss())
    expected = -np.log(np.e / (np.e + 2))
    assert ev.loss == pytest.approx(expected, rel=1e-5)
    loader = cr.data.DataLoader(X, y, batch_size=2, shuffle=False)
    assert evaluate(model, loader).accuracy == 1.0


def test_errors_are_clear():
    model = fixed_model()
    with pytest.raises(ValueError, match="2 inputs but 3 labels"):
        evaluate(model, np.zeros((2, 3), np.float32), np.zeros(3, np.int64))
    with pytest.raises(ValueError, match=r"labels range over 0\.\.5 but the model has 3 outputs"):
        evaluate(model, np.zeros((2, 3), np.float32), np.array([0, 5]))
    with pytest.raises(ValueError, match="2 class names for a model with 3 outputs"):
        evaluate(model, np.zeros((2, 3), np.float32), np.array([0, 1]), class_names=["a", "b"])


def test_model_mode_is_restored():
    model = nn.MLP(3, [4], 2, dropout=0.5)
    model.train()
    evaluate(model, np.zeros((4, 3), np.float32), np.zeros(4, np.int64))
    assert model.training


def test_confusion_matrix_counts():
    cm = confusion_matrix(np.array([1, 1, 0]), np.array([1, 0, 0]), 3)
    np.testing.assert_array_equal(cm, [[1, 0, 0], [1, 1, 0], [0, 0, 0]])
