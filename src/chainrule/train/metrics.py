"""Evaluate a classifier on held-out data: accuracy, per-class precision and recall, confusion.

For ``C`` classes the confusion matrix ``M`` counts ``M[t, p]`` = examples of true class ``t``
predicted as ``p``. Then

- accuracy = ``trace(M) / sum(M)``,
- precision of class ``c`` = ``M[c, c] / sum_t M[t, c]`` (of the examples predicted ``c``,
  the share that are ``c``),
- recall of class ``c`` = ``M[c, c] / sum_p M[c, p]`` (of the examples of class ``c``, the
  share found).

A class never predicted has precision 0 (scikit-learn's ``zero_division=0``). For
regression, :func:`r2_score` is the coefficient of determination
``R² = 1 - sum (y - y_hat)^2 / sum (y - mean y)^2`` (1 is perfect, 0 predicts the mean).

On K ranks (:mod:`chainrule.distributed`) :func:`evaluate` is sharded: rank ``r`` scores
examples ``r, r + K, ...``, the ranks' confusion matrices and loss sums are summed and the
predictions gathered, so every rank gets the evaluation one process would compute.

>>> ev = evaluate(model, X_test, y_test, class_names=["cat", "dog"])   # doctest: +SKIP
>>> print(f"{ev.accuracy:.1%}")                                        # doctest: +SKIP
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from chainrule import backend
from chainrule._tensor import Tensor
from chainrule.errors import DataError

__all__ = ["Evaluation", "as_arrays", "confusion_matrix", "evaluate", "model_dtype",
           "predict_scores", "r2_score"]


@dataclass
class Evaluation:
    """The result of :func:`evaluate`; ``predictions`` and ``labels`` are class indices,
    ``probabilities`` the softmax of the model's scores, ``(N, C)``."""

    accuracy: float
    loss: float | None
    precision: np.ndarray
    recall: np.ndarray
    confusion: np.ndarray
    predictions: np.ndarray
    labels: np.ndarray
    class_names: list[str]
    probabilities: np.ndarray | None = None

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


def model_dtype(model: Any) -> np.dtype:
    """The floating type a model computes in: its first floating parameter's (else float32).

    Training and prediction feed arrays to the model in this type, so a float64 array
    does not turn a float32 model's arithmetic into float64.
    """
    params = getattr(model, "parameters", None)
    for p in params() if params is not None else ():
        if p.dtype.kind == "f":
            return p.dtype
    return np.dtype(np.float32)


def r2_score(y_true: Any, y_pred: Any) -> float:
    """The coefficient of determination ``1 - SS_res / SS_tot`` (in float64), averaged over
    the output columns like scikit-learn's ``r2_score``; 1.0 for a perfect fit.

    >>> r2_score(np.array([1.0, 2.0, 3.0]), np.array([1.0, 2.0, 4.0]))
    0.5
    """
    y_true = np.asarray(y_true, dtype=np.float64)
    y_pred = np.asarray(y_pred, dtype=np.float64).reshape(y_true.shape)
    if y_true.ndim == 1:
        y_true, y_pred = y_true[:, None], y_pred[:, None]
    residual = ((y_true - y_pred) ** 2).sum(axis=0)
    total = ((y_true - y_true.mean(axis=0)) ** 2).sum(axis=0)
    scores = np.where(total > 0, 1.0 - residual / np.where(total > 0, total, 1.0),
                      np.where(residual == 0, 1.0, 0.0))
    return float(scores.mean())


def predict_scores(model: Any, X: np.ndarray, batch_size: int = 1024) -> np.ndarray:
    """The model's outputs (class scores) for ``X`` in eval mode without a graph, batch by
    batch, with ``X`` in the model's floating type (:func:`model_dtype`) and on its device;
    the outputs come back to host memory."""
    import chainrule as cr

    dtype = model_dtype(model)
    device = next((p.device for p in getattr(model, "parameters", lambda: ())()), None)
    was_training = getattr(model, "training", False)
    if hasattr(model, "eval"):
        model.eval()
    try:
        chunks = []
        with cr.no_grad():
            for start in range(0, len(X), batch_size):
                batch = cr.tensor(np.asarray(X[start:start + batch_size], dtype=dtype),
                                  device=device)
                chunks.append(backend.to_numpy(model(batch).data))
    finally:
        if was_training and hasattr(model, "train"):
            model.train()
    if not chunks:
        return np.zeros((0, 0), dtype=dtype)
    return np.concatenate(chunks)


def evaluate(
    model: Any,
    X: Any,
    y: np.ndarray | None = None,
    batch_size: int = 1024,
    class_names: list[str] | None = None,
    loss: Any = None,
    *,
    distributed: bool | None = None,
) -> Evaluation:
    """Accuracy, per-class precision and recall and the confusion matrix of ``model`` on (X, y).

    ``X`` is a float array (N, D) of inputs the model takes (or a ``(X, y)`` pair, or a
    DataLoader); ``y`` holds integer labels. ``loss`` (e.g. ``nn.CrossEntropyLoss()``), when
    given, is also averaged over the data. ``distributed`` (default: when
    :mod:`chainrule.distributed` runs more than one rank) shards the work over the ranks
    and reduces the results; every rank must then call it, with the same data.

    >>> ev = evaluate(model, X_test, y_test)        # doctest: +SKIP
    >>> ev.confusion.shape                          # doctest: +SKIP
    (10, 10)
    """
    X, y = as_arrays(X, y)
    if len(X) != len(y):
        raise ValueError(f"evaluate: {len(X)} inputs but {len(y)} labels")
    if len(X) == 0:
        raise ValueError("evaluate: no examples to evaluate on")
    from chainrule.distributed import comm

    ranks = comm.world_size() if distributed is not False else 1
    shard = slice(comm.rank(), None, ranks) if ranks > 1 else slice(None)
    scores = predict_scores(model, X[shard], batch_size)
    finite = np.isfinite(scores).all(axis=1)
    if not finite.all():  # argmax of NaN is class 0: an accuracy that means nothing
        raise DataError(f"evaluate: the model's scores are NaN or infinite for "
                        f"{int((~finite).sum()):,} of {len(scores):,} examples: its weights "
                        "(a diverged run?) or its inputs are not finite")
    num_classes = scores.shape[1]
    if ranks > 1:  # a rank without examples has no score columns
        num_classes = int(comm.allreduce_(np.array([num_classes]), "max")[0])
    if class_names is not None and len(class_names) != num_classes:
        raise ValueError(f"evaluate: {len(class_names)} class names for a model with "
                         f"{num_classes} outputs")
    names = list(class_names) if class_names is not None else [str(c) for c in range(num_classes)]
    y = np.asarray(y, dtype=np.int64)
    if y.min() < 0 or y.max() >= num_classes:
        raise ValueError(f"evaluate: labels range over {y.min()}..{y.max()} but the model has "
                         f"{num_classes} outputs")
    pred = scores.argmax(axis=1) if len(scores) else np.zeros(0, dtype=np.int64)
    cm = confusion_matrix(y[shard], pred, num_classes)
    if ranks > 1:  # sum the shards' confusion matrices; gather the predictions in order
        comm.allreduce_(cm, "sum")
        parts = comm.allgather(pred)
        pred = np.empty(len(y), dtype=np.int64)
        for r, part in enumerate(parts):
            pred[r::ranks] = part
    diag = np.diag(cm).astype(np.float64)
    predicted = cm.sum(axis=0)
    actual = cm.sum(axis=1)
    precision = np.divide(diag, predicted, out=np.zeros(num_classes), where=predicted > 0)
    recall = np.divide(diag, actual, out=np.zeros(num_classes), where=actual > 0)
    mean_loss = None
    if loss is not None:
        mean_loss = _mean_loss(loss, scores, y[shard])
        if ranks > 1:  # the mean over all examples: the sum of the shards' sums / N
            total = comm.allreduce_(np.array([mean_loss * len(scores)]), "sum")[0]
            mean_loss = float(total / len(y))
    probabilities = _softmax(scores, num_classes)
    if ranks > 1:  # gather the shards' rows in order, as the predictions
        parts = comm.allgather(probabilities)
        probabilities = np.empty((len(y), num_classes), dtype=probabilities.dtype)
        for r, part in enumerate(parts):
            probabilities[r::ranks] = part
    return Evaluation(
        accuracy=float(diag.sum() / cm.sum()),
        loss=mean_loss,
        precision=precision,
        recall=recall,
        confusion=cm,
        predictions=pred,
        labels=y,
        class_names=names,
        probabilities=probabilities,
    )


def _softmax(scores: np.ndarray, num_classes: int) -> np.ndarray:
    """The class probabilities of each row of scores (none for a rank without examples)."""
    import chainrule as cr

    if len(scores) == 0:
        return np.zeros((0, num_classes), dtype=np.float32)
    with cr.no_grad():
        return cr.softmax(cr.tensor(scores), axis=1).data


def _mean_loss(loss: Any, scores: np.ndarray, y: np.ndarray) -> float:
    import chainrule as cr

    if len(scores) == 0:
        return 0.0
    with cr.no_grad():
        return float(loss(cr.tensor(scores), cr.tensor(y)).item())


def as_arrays(X: Any, y: Any = None) -> tuple[np.ndarray, np.ndarray]:
    """``(X, y)`` as NumPy arrays from arrays, Tensors, an ``(X, y)`` pair or a loader."""
    if y is not None:
        return _host(X), _host(y)
    if isinstance(X, tuple) and len(X) == 2:
        return as_arrays(X[0], X[1])
    xs, ys = [], []
    for xb, yb in X:
        xs.append(_host(xb))
        ys.append(_host(yb))
    if not xs:
        raise ValueError("evaluate: the data loader yielded no batches")
    return np.concatenate(xs), np.concatenate(ys)


def _host(values: Any) -> np.ndarray:
    """An array, Tensor (any device) or array-like as a NumPy array in host memory."""
    data = values.data if isinstance(values, Tensor) else values
    return backend.to_numpy(data) if backend.is_array(data) else np.asarray(data)
