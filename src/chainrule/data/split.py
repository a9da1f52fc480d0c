"""Seeded stratified splits, per-feature standardization, and images as feature vectors.

The lecture's rule: choose hyperparameters on a validation set, touch the test set once.
:func:`train_val_split` carves the validation set out of the training data, keeping each
class's proportion; :class:`Standardizer` learns its statistics from the training split only
(fitting them on validation or test data would leak information about them into training).

>>> X = np.arange(20, dtype=np.float32).reshape(10, 2); y = np.array([0] * 5 + [1] * 5)
>>> X_tr, X_val, y_tr, y_val = train_val_split(X, y, val_fraction=0.4, seed=0)
>>> np.bincount(y_val).tolist()           # 2 of each class's 5
[2, 2]
"""

from __future__ import annotations

from typing import Any

import numpy as np

from chainrule.errors import DataError

__all__ = ["Standardizer", "images_to_features", "stratified_split_indices", "train_val_split"]


def _split_counts(class_sizes: np.ndarray, n_take: int) -> np.ndarray:
    """How many of each class go to the held-out part: proportional, summing to ``n_take``.

    Largest-remainder rounding of ``n_take * size / total``; when it can, every class with
    at least two samples keeps one on each side.
    """
    total = int(class_sizes.sum())
    exact = n_take * class_sizes / total
    counts = np.floor(exact).astype(np.int64)
    order = np.argsort(-(exact - counts), kind="stable")
    counts[order[: n_take - int(counts.sum())]] += 1
    # Nudge: a class of >= 2 samples should appear on both sides when the totals allow it.
    for c in np.flatnonzero((counts == 0) & (class_sizes >= 2)):
        donors = np.flatnonzero(counts > 1)
        if donors.size:
            counts[donors[np.argmax(counts[donors])]] -= 1
            counts[c] += 1
    for c in np.flatnonzero((counts == class_sizes) & (class_sizes >= 2)):
        takers = np.flatnonzero(counts < class_sizes - 1)
        if takers.size:
            counts[takers[np.argmin(counts[takers])]] += 1
            counts[c] -= 1
    return counts


def stratified_split_indices(
    y: np.ndarray, fraction: float, seed: int = 0, stratify: bool = True
) -> tuple[np.ndarray, np.ndarray]:
    """Indices ``(keep, held_out)`` with ``round(fraction * N)`` samples held out.

    With ``stratify`` each class is split in (nearly) the same proportion. Both index
    arrays are sorted, so the original order of the samples is kept on each side. The
    split depends only on ``y``, ``fraction`` and ``seed``.

    >>> keep, held = stratified_split_indices(np.array([0, 0, 0, 0, 1, 1, 1, 1]), 0.5, seed=1)
    >>> sorted(np.array([0, 0, 0, 0, 1, 1, 1, 1])[held].tolist())
    [0, 0, 1, 1]
    """
    y = np.asarray(y)
    if y.ndim != 1:
        raise DataError(f"split: labels must be 1-D, got shape {y.shape}")
    if not 0.0 <= fraction < 1.0:
        raise ValueError(f"split: the held-out fraction must be in [0, 1), got {fraction}")
    n = len(y)
    n_take = round(fraction * n)
    if fraction > 0 and n >= 2:
        n_take = min(max(n_take, 1), n - 1)
    rng = np.random.default_rng(seed)
    if n_take == 0:
        return np.arange(n), np.arange(0)
    if not stratify:
        held = np.sort(rng.permutation(n)[:n_take])
    else:
        classes, inverse = np.unique(y, return_inverse=True)
        sizes = np.bincount(inverse, minlength=len(classes))
        counts = _split_counts(sizes, n_take)
        parts = []
        for c in range(len(classes)):
            members = np.flatnonzero(inverse == c)
            parts.append(rng.permutation(members)[: counts[c]])
        held = np.sort(np.concatenate(parts))
    mask = np.ones(n, dtype=bool)
    mask[held] = False
    return np.flatnonzero(mask), held


def train_val_split(
    X: Any, y: Any, val_fraction: float = 0.1, seed: int = 0, stratify: bool = True
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Split ``(X, y)`` into ``X_train, X_val, y_train, y_val`` (scikit-learn's order).

    A seeded split holding out ``round(val_fraction * N)`` samples; with ``stratify``
    every class keeps (nearly) its proportion on both sides.

    >>> X, y = np.zeros((100, 3)), np.repeat([0, 1, 2, 3], 25)
    >>> _, X_val, _, y_val = train_val_split(X, y, val_fraction=0.2)
    >>> X_val.shape, np.bincount(y_val).tolist()
    ((20, 3), [5, 5, 5, 5])
    """
    X, y = np.asarray(X), np.asarray(y)
    if len(X) != len(y):
        raise DataError(f"train_val_split: X has {len(X):,} samples but y has {len(y):,}")
    keep, held = stratified_split_indices(y, val_fraction, seed=seed, stratify=stratify)
    return X[keep], X[held], y[keep], y[held]


def images_to_features(images: Any) -> np.ndarray:
    """Flatten ``(N, H, W, C)`` uint8 images into ``(N, H*W*C)`` float32 rows in ``[0, 1]``.

    The lecture's linear classifier sees an image as one long vector ``x`` (3072 numbers
    for a 32x32x3 CIFAR image): ``f(x, W) = W x + b``.

    >>> images_to_features(np.full((2, 2, 2, 1), 255, np.uint8))
    array([[1., 1., 1., 1.],
           [1., 1., 1., 1.]], dtype=float32)
    """
    images = np.asarray(images)
    if images.ndim < 2:
        raise DataError(f"images_to_features: expected (N, H, W, C) images, got {images.shape}")
    flat = images.reshape(len(images), -1)
    if images.dtype == np.uint8:
        return flat.astype(np.float32) * np.float32(1 / 255)
    return flat.astype(np.float32)


class Standardizer:
    """Per-feature standardization ``x' = (x - mean) / std``, fitted on training data only.

    ``mean`` and ``std`` are computed column-wise over the training rows. A feature whose
    standard deviation is below ``eps`` (e.g. an MNIST border pixel that is always 0)
    is divided by 1 instead: it is only centred, not blown up by a near-zero divisor.

    >>> s = Standardizer().fit(np.array([[1.0, 5.0], [3.0, 5.0]]))
    >>> s.mean.tolist(), s.std.tolist()
    ([2.0, 5.0], [1.0, 1.0])
    >>> s.transform(np.array([[5.0, 6.0]])).tolist()
    [[3.0, 1.0]]
    """

    def __init__(self, eps: float = 1e-8) -> None:
        self.eps = float(eps)
        self.mean: np.ndarray | None = None
        self.std: np.ndarray | None = None

    @property
    def fitted(self) -> bool:
        return self.mean is not None

    def fit(self, X: Any) -> Standardizer:
        """Learn the per-feature mean and std of ``X`` (the training split), in float64."""
        X = np.asarray(X)
        if X.ndim != 2 or len(X) == 0:
            raise DataError(f"Standardizer.fit: expected a non-empty (N, D) array, got {X.shape}")
        mean = X.mean(axis=0, dtype=np.float64)
        std = X.std(axis=0, dtype=np.float64)
        std[std < self.eps] = 1.0
        self.mean, self.std = mean.astype(np.float32), std.astype(np.float32)
        return self

    def _check(self, X: np.ndarray, op: str) -> None:
        if self.mean is None or self.std is None:
            raise RuntimeError(f"Standardizer.{op}: call fit(X_train) first")
        if X.ndim != 2 or X.shape[1] != self.mean.shape[0]:
            raise DataError(
                f"Standardizer.{op}: fitted on {self.mean.shape[0]} features, got shape {X.shape}"
            )

    def transform(self, X: Any) -> np.ndarray:
        """``(X - mean) / std`` as float32."""
        X = np.asarray(X, dtype=np.float32)
        self._check(X, "transform")
        return (X - self.mean) / self.std

    __call__ = transform

    def fit_transform(self, X: Any) -> np.ndarray:
        return self.fit(X).transform(X)

    def inverse_transform(self, X: Any) -> np.ndarray:
        """``X * std + mean``: back to the original units."""
        X = np.asarray(X, dtype=np.float32)
        self._check(X, "inverse_transform")
        return X * self.std + self.mean

    def state_dict(self) -> dict[str, np.ndarray]:
        """``{'mean': (D,), 'std': (D,)}`` float32 arrays (for checkpoints)."""
        if self.mean is None or self.std is None:
            raise RuntimeError("Standardizer.state_dict: not fitted")
        return {"mean": self.mean.copy(), "std": self.std.copy()}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        try:
            mean = np.asarray(state["mean"], dtype=np.float32).reshape(-1)
            std = np.asarray(state["std"], dtype=np.float32).reshape(-1)
        except KeyError as e:
            raise DataError(f"Standardizer: state is missing {e.args[0]!r}") from None
        if mean.shape != std.shape:
            raise DataError(f"Standardizer: mean {mean.shape} and std {std.shape} differ")
        if not (np.all(np.isfinite(std)) and np.all(std > 0)):
            raise DataError("Standardizer: std must be finite and positive")
        self.mean, self.std = mean, std

    @classmethod
    def from_state_dict(cls, state: dict[str, Any]) -> Standardizer:
        """Rebuild a fitted standardizer from :meth:`state_dict`'s output."""
        s = cls()
        s.load_state_dict(state)
        return s

    def __repr__(self) -> str:
        n = "unfitted" if self.mean is None else f"{self.mean.shape[0]} features"
        return f"Standardizer({n})"
