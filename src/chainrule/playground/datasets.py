"""The playground's 2D data: generated sets, uploaded CSV files, and the input features.

Every point lies in the plane ``[-6, 6]^2`` (``limits.DOMAIN``). The classification sets
are the lecture's toy sets of :mod:`chainrule.data.toy`, scaled to that plane, and the
TensorFlow Playground's spiral (``spiral``: two arms of 1.75 turns, the hard one, which a
small net on X1, X2 cannot learn; it needs features or capacity); the CS231n spiral of
the lecture's case study, easier, is ``cs231n_spiral``. The regression sets are a tilted
plane and a sum of signed Gaussian bumps. The network does not
see the point ``(x1, x2)`` itself but a fixed transform of it, the input features::

    point (x1, x2) --features--> phi(x) in R^F

(X1, X2, X1^2, ..., the lecture's polar r and theta).

>>> X, y = make_dataset("circle", 100, 0, 2, seed=0)
>>> feature_matrix(X, ["x1", "x2", "r"]).shape
(100, 3)
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from chainrule.data import toy
from chainrule.playground import limits
from chainrule.playground.limits import LimitError

__all__ = [
    "CLASSIFICATION_DATASETS",
    "DATASETS",
    "FEATURES",
    "REGRESSION_DATASETS",
    "feature_matrix",
    "make_dataset",
    "parse_csv",
    "tf_spiral",
]

#: Input features: name -> (label shown on the page, function of (x1, x2)).
FEATURES: dict[str, tuple[str, Any]] = {
    "x1": ("X1", lambda a, b: a),
    "x2": ("X2", lambda a, b: b),
    "x1sq": ("X1²", lambda a, b: a * a),
    "x2sq": ("X2²", lambda a, b: b * b),
    "x1x2": ("X1·X2", lambda a, b: a * b),
    "sinx1": ("sin X1", lambda a, b: np.sin(a)),
    "sinx2": ("sin X2", lambda a, b: np.sin(b)),
    "r": ("r", lambda a, b: np.sqrt(a * a + b * b)),
    "theta": ("θ", lambda a, b: np.arctan2(b, a)),
}
CLASSIFICATION_DATASETS = ("circle", "xor", "gauss", "spiral", "cs231n_spiral")
REGRESSION_DATASETS = ("plane", "multigauss")
#: Every data set name; ``custom`` is what an uploaded CSV becomes.
DATASETS = (*CLASSIFICATION_DATASETS, *REGRESSION_DATASETS, "custom")


def feature_matrix(points: np.ndarray, features: list[str]) -> np.ndarray:
    """The input features of ``points`` ``(N, 2)``: ``(N, F)`` float32, columns in order.

    >>> feature_matrix(np.array([[1.0, 2.0]]), ["x1", "x1x2", "r"]).round(3)
    array([[1.   , 2.   , 2.236]], dtype=float32)
    """
    a = points[:, 0].astype(np.float64)
    b = points[:, 1].astype(np.float64)
    cols = [FEATURES[name][1](a, b) for name in features]
    return np.stack(cols, axis=1).astype(np.float32)


def make_dataset(
    name: str, n: int, noise: int, num_classes: int, seed: int
) -> tuple[np.ndarray, np.ndarray]:
    """Points ``(n, 2)`` in the plane ``[-6, 6]^2`` and their labels (or regression targets).

    The classification sets come from :mod:`chainrule.data.toy` (``circle``: the two
    circles, ``xor``, ``gauss``: two Gaussian blobs, or ``num_classes`` blobs on a circle,
    ``cs231n_spiral``: ``num_classes`` arms), scaled to the playground's plane;
    ``spiral`` is the TensorFlow Playground's (:func:`tf_spiral`). The regression
    sets are a tilted plane and a sum of signed Gaussian bumps, targets in ``[-1, 1]``.
    ``noise`` is a percentage (0-50) of each set's natural spread.

    >>> X, y = make_dataset("spiral", 300, 10, 3, seed=0)
    >>> X.shape, sorted(set(y.tolist()))
    ((300, 2), [0, 1, 2])
    """
    rng = np.random.default_rng(seed)
    level = noise / 100.0
    if name == "circle":
        X, y = toy.circles(n, noise=0.4 * level, factor=0.5, seed=seed)
        X = X * 4.0
    elif name == "xor":
        X, y = toy.xor(n, noise=0.4 * level, seed=seed)
        X = X * 5.0
    elif name == "gauss" and num_classes == 2:
        X, y = toy.gaussians(n, noise=0.25 + level, seed=seed)
        X = X * 2.5
    elif name == "gauss":
        y = np.arange(n) % num_classes
        angle = 2 * np.pi * y / num_classes
        centres = np.stack([np.cos(angle), np.sin(angle)], axis=1) * 3.5
        X = centres + rng.normal(0.0, 0.6 + 2.0 * level, size=(n, 2))
    elif name == "spiral":
        X, y = tf_spiral(n, level, num_classes, rng)
    elif name == "cs231n_spiral":
        per_class = max(1, n // num_classes)
        X, y = toy.spiral(per_class, classes=num_classes, noise=1.0 * level, seed=seed)
        X = X * 5.0
    elif name in REGRESSION_DATASETS:
        X = rng.uniform(-5.0, 5.0, size=(n, 2))
        target = _regression_target(name, X)
        X = np.clip(X + rng.normal(0.0, 2.0 * level, size=X.shape), -5.0, 5.0)
        return X.astype(np.float32), target.astype(np.float32)
    else:
        raise LimitError(f"dataset: unknown data set {name!r}")
    X = np.clip(X, -limits.DOMAIN, limits.DOMAIN)
    return X.astype(np.float32), np.asarray(y, dtype=np.int64)


def tf_spiral(n: int, noise: float, num_classes: int, rng: np.random.Generator
              ) -> tuple[np.ndarray, np.ndarray]:
    """The TensorFlow Playground's spiral, ``n`` points in ``num_classes`` arms.

    Point ``i`` of the ``m`` points of arm ``k`` lies at radius ``r = 5 i / m`` and angle
    ``t = 1.75 * 2 pi i / m + 2 pi k / num_classes``, at ``(r sin t, r cos t)``, moved by
    uniform noise in ``[-noise, noise]`` on each axis (``noise`` as a fraction; the
    Playground's two classes are its arms at ``0`` and ``pi``).

    >>> X, y = tf_spiral(200, 0.0, 2, np.random.default_rng(0))
    >>> X.shape, np.bincount(y).tolist(), float(np.hypot(*X.T).max()) < 5
    ((200, 2), [100, 100], True)
    """
    points, labels = [], []
    for k in range(num_classes):
        m = n // num_classes + (k < n % num_classes)
        i = np.arange(m)
        r = i / m * 5.0
        t = 1.75 * i / m * 2 * np.pi + 2 * np.pi * k / num_classes
        xy = np.stack([r * np.sin(t), r * np.cos(t)], axis=1)
        points.append(xy + rng.uniform(-1.0, 1.0, size=(m, 2)) * noise)
        labels.append(np.full(m, k))
    return np.concatenate(points), np.concatenate(labels)


def _regression_target(name: str, X: np.ndarray) -> np.ndarray:
    if name == "plane":
        return np.clip((X[:, 0] + X[:, 1]) / 10.0, -1.0, 1.0)
    centers = np.array([[-2.5, -2.5, -1.0], [2.5, 2.5, -1.0], [-2.5, 2.5, 1.0], [2.5, -2.5, 1.0],
                        [0.0, 0.0, 0.6]])
    value = np.zeros(len(X))
    for cx, cy, sign in centers:
        value += sign * np.exp(-((X[:, 0] - cx) ** 2 + (X[:, 1] - cy) ** 2) / 4.0)
    return np.clip(value, -1.0, 1.0)


def parse_csv(text: str, problem: str) -> tuple[np.ndarray, np.ndarray]:
    """Points and labels from CSV text ``x1,x2,label`` (a header line is allowed).

    Classification labels are integers ``0..MAX_CLASSES-1``; regression targets are
    numbers in ``[-1, 1]``. Coordinates must lie in ``[-6, 6]``. Every problem is
    reported with its line number.

    >>> X, y = parse_csv("x1,x2,label\\n1,2,0\\n-1,0.5,1\\n", "classification")
    >>> X.shape, y.tolist()
    ((2, 2), [0, 1])
    """
    if not isinstance(text, str):
        raise LimitError("csv: expected the file's text")
    if len(text.encode("utf-8")) > limits.MAX_CSV_BYTES:
        raise LimitError(f"csv: the file is larger than {limits.MAX_CSV_BYTES} bytes")
    points: list[tuple[float, float]] = []
    labels: list[float] = []
    for lineno, line in enumerate(text.splitlines(), start=1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        cells = [c.strip() for c in line.replace(";", ",").split(",")]
        if len(cells) != 3:
            raise LimitError(f"csv line {lineno}: expected 3 columns x1,x2,label, got {len(cells)}")
        try:
            x1, x2, lab = (float(c) for c in cells)
        except ValueError:
            if not points and lineno == 1:
                continue  # a header line
            raise LimitError(f"csv line {lineno}: not numbers: {line[:60]!r}") from None
        if not all(math.isfinite(v) for v in (x1, x2, lab)):
            raise LimitError(f"csv line {lineno}: values must be finite")
        if abs(x1) > limits.DOMAIN or abs(x2) > limits.DOMAIN:
            raise LimitError(
                f"csv line {lineno}: point ({x1}, {x2}) is outside [-{limits.DOMAIN:g}, "
                f"{limits.DOMAIN:g}]^2"
            )
        if problem == "classification":
            if lab != int(lab) or not 0 <= lab < limits.MAX_CLASSES:
                raise LimitError(
                    f"csv line {lineno}: label {lab:g} is not a class 0..{limits.MAX_CLASSES - 1}"
                )
        elif not -1.0 <= lab <= 1.0:
            raise LimitError(f"csv line {lineno}: target {lab:g} is outside [-1, 1]")
        points.append((x1, x2))
        labels.append(lab)
        if len(points) > limits.MAX_POINTS:
            raise LimitError(f"csv: more than {limits.MAX_POINTS} points")
    if len(points) < 2:
        raise LimitError("csv: need at least 2 points")
    X = np.asarray(points, dtype=np.float32)
    if problem == "classification":
        return X, np.asarray(labels, dtype=np.int64)
    return X, np.asarray(labels, dtype=np.float32)
