"""Evaluate a classifier on held-out data: accuracy, per-class precision and recall, confusion.

For ``C`` classes the confusion matrix ``M`` counts ``M[t, p]`` = examples of true class ``t``
predicted as ``p``. Then

- accuracy = ``trace(M) / sum(M)``,
- precision of class ``c`` = ``M[c, c] / sum_t M[t, c]`` (of the examples predicted ``c``,
  the share that are ``c``),
- recall of class ``c`` = ``M[c, c] / sum_p M[c, p]`` (of the examples of class ``c``, the
  share found).

A class never predicted has precision 0 (scikit-learn's ``zero_division=0``).

>>> ev = evaluate(model, X_test, y_test, class_names=["cat", "dog"])   # doctest: +SKIP
>>> print(f"{ev.accuracy:.1%}")                                        # doctest: +SKIP
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from chainrule.errors import DataError

__all__ = ["Evaluation", "as_arrays", "confusion_matrix", "evaluate", "predict_scores"]


@dataclass
class Evaluation:
    """The result of :func:`evaluate`; ``predictions`` and ``labels`` are class indices."""

    accuracy: float
    loss: float | None
    precision: np.ndarray
    recall: np.ndarray
    confusion: np.ndarray
    predictions: np.ndarray
    labels: np.ndarray
    class_names: list[str]

    @property
    def num_examples(self) -> int:
        return int(self.confusion.sum())

    def to_dict(self) -> dict:
        """A JSON-ready summary (what ``metrics.json`` stores)."""
        return {
            "accuracy": self.accuracy,
            "loss": self.loss,
            "num_examples": self.num_examples,
            "per_class": {
                name: {"precision": float(p), "recall": float(r), "support": int(s)}
                for name, p, r, s in zip(self.class_names, self.precision, self.recall,
                                         self.confusion.sum(axis=1))
            },
            "confusion_matrix": self.confusion.tolist(),
            "class_names": list(self.class_names),
        }

    def summary(self) -> str:
        """A small text table: one row per class."""
        width = max(10, *(len(n) for n in self.class_names))
        lines = [f"{'class':<{width}}  precision  recall  support"]
        support = self.confusion.sum(axis=1)
        for name, p, r, s in zip(self.class_names, self.precision, self.recall, support):
            lines.append(f"{name:<{width}}  {p:9.3f}  {r:6.3f}  {int(s):7d}")
        total = int(support.sum())
        lines.append(f"{'accuracy':<{width}}  {self.accuracy:9.4f}  {'':6}  {total:7d}")
        return "\n".join(lines)


def confusion_matrix(y_true: np.ndarray, y_pred: np.ndarray, num_classes: int) -> np.ndarray:
    """``M[t, p]``: how many examples of true class ``t`` were predicted as ``p``."""
    y_true = np.asarray(y_true, dtype=np.int64)
    y_pred = np.asarray(y_pred, dtype=np.int64)
    flat = np.bincount(y_true * num_classes + y_pred, minlength=num_classes * num_classes)
    return flat.reshape(num_classes, num_classes)


def predict_scores(model: Any, X: np.ndarray, batch_size: int = 1024) -> np.ndarray:
    """The model's class scores for ``X`` in eval mode without a graph, batch by batch."""
    import chainrule as cr

    was_training = getattr(model, "training", False)
    if hasattr(model, "eval"):
        model.eval()
    try:
        chunks = []
        with cr.no_grad():
            for start in range(0, len(X), batch_size):
                batch = cr.tensor(np.asarray(X[start:start + batch_size], dtype=np.float32))
                chunks.append(np.asarray(model(batch).data))
    finally:
        if was_training and hasattr(model, "train"):
            model.train()
    if not chunks:
        return np.zeros((0, 0), dtype=np.float32)
    return np.concatenate(chunks)


def evaluate(
    model: Any,
    X: Any,
    y: np.ndarray | None = None,
    batch_size: int = 1024,
    class_names: list[str] | None = None,
    loss: Any = None,
) -> Evaluation:
    """Accuracy, per-class precision and recall and the confusion matrix of ``model`` on (X, y).

    ``X`` is a float array (N, D) of inputs the model takes (or a ``(X, y)`` pair, or a
    DataLoader); ``y`` holds integer labels. ``loss`` (e.g. ``nn.CrossEntropyLoss()``), when
    given, is also averaged over the data.

    >>> ev = evaluate(model, X_test, y_test)        # doctest: +SKIP
    >>> ev.confusion.shape                          # doctest: +SKIP
    (10, 10)
    """
    X, y = as_arrays(X, y)
    if len(X) != len(y):
        raise ValueError(f"evaluate: {len(X)} inputs but {len(y)} labels")
    if len(X) == 0:
        raise ValueError("evaluate: no examples to evaluate on")
    scores = predict_scores(model, X, batch_size)
    if len(scores) == 0:
        raise DataError("evaluate: no examples to evaluate on (the split is empty)")
    finite = np.isfinite(scores).all(axis=1)
    if not finite.all():  # argmax of NaN is class 0: an accuracy that means nothing
        raise DataError(f"evaluate: the model's scores are NaN or infinite for "
                        f"{int((~finite).sum()):,} of {len(scores):,} examples: its weights "
                        "(a diverged run?) or its inputs are not finite")
    num_classes = scores.shape[1]
    if class_names is not None and len(class_names) != num_classes:
        raise ValueError(f"evaluate: {len(class_names)} class names for a model with "
                         f"{num_classes} outputs")
    names = list(class_names) if class_names is not None else [str(c) for c in range(num_classes)]
    y = np.asarray(y, dtype=np.int64)
    if y.min() < 0 or y.max() >= num_classes:
        raise ValueError(f"evaluate: labels range over {y.min()}..{y.max()} but the model has "
                         f"{num_classes} outputs")
    pred = scores.argmax(axis=1)
    cm = confusion_matrix(y, pred, num_classes)
    diag = np.diag(cm).astype(np.float64)
    predicted = cm.sum(axis=0)
    actual = cm.sum(axis=1)
    precision = np.divide(diag, predicted, out=np.zeros(num_classes), where=predicted > 0)
    recall = np.divide(diag, actual, out=np.zeros(num_classes), where=actual > 0)
    mean_loss = None
    if loss is not None:
        import chainrule as cr

        with cr.no_grad():
            mean_loss = float(loss(cr.tensor(scores), cr.tensor(y)).item())
    return Evaluation(
        accuracy=float(diag.sum() / cm.sum()),
        loss=mean_loss,
        precision=precision,
        recall=recall,
        confusion=cm,
        predictions=pred,
        labels=y,
        class_names=names,
    )


def as_arrays(X: Any, y: Any = None) -> tuple[np.ndarray, np.ndarray]:
    """``(X, y)`` as NumPy arrays from arrays, Tensors, an ``(X, y)`` pair or a loader."""
    if y is not None:
        return np.asarray(getattr(X, "data", X)), np.asarray(getattr(y, "data", y))
    if isinstance(X, tuple) and len(X) == 2:
        return as_arrays(X[0], X[1])
    xs, ys = [], []
    for xb, yb in X:
        xs.append(np.asarray(getattr(xb, "data", xb)))
        ys.append(np.asarray(getattr(yb, "data", yb)))
    if not xs:
        raise ValueError("evaluate: the data loader yielded no batches")
    return np.concatenate(xs), np.concatenate(ys)
