"""Feature transforms of points: the lecture's polar coordinates.

Points on two concentric circles cannot be split by a line in ``(x, y)``, but in polar
coordinates ``f(x, y) = (r, theta)`` the radius alone separates them: a linear classifier on
the transformed points draws the boundary ``r = const``, a circle back in the plane.
"""

from __future__ import annotations

import numpy as np

from chainrule.errors import DataError, ShapeError

__all__ = ["polar"]


def polar(points: np.ndarray, center: tuple[float, float] = (0.0, 0.0)) -> np.ndarray:
    """``(x, y) -> (r, theta)`` for each point: ``r = sqrt(x^2 + y^2)``, ``theta = atan2(y, x)``.

    Args:
        points: ``(N, 2)`` array of ``(x, y)`` (or a single ``(2,)`` point).
        center: origin of the polar coordinates.

    Returns:
        ``(N, 2)`` (or ``(2,)``) float array of ``(r, theta)``, theta in ``(-pi, pi]``.

    >>> polar(np.array([[1.0, 0.0], [0.0, 2.0]]))
    array([[1.        , 0.        ],
           [2.        , 1.57079633]])
    """
    data = np.asarray(getattr(points, "data", points))
    if data.dtype.kind not in "fiu":
        raise DataError(f"polar: points must be real numbers, got dtype {data.dtype}")
    if data.shape[-1:] != (2,) or data.ndim not in (1, 2):
        raise ShapeError(f"polar: expected points shaped (N, 2) or (2,), got {data.shape}")
    dtype = np.result_type(data.dtype, np.float32)
    xy = data.astype(dtype) - np.asarray(center, dtype)
    r = np.hypot(xy[..., 0], xy[..., 1])
    theta = np.arctan2(xy[..., 1], xy[..., 0])
    return np.stack([r, theta], axis=-1)
